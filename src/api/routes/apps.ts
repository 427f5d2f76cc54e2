/**
 * Apps (Kafka Streams apps, or any command): N instances, each a unit `app-<name>/<index>`.
 *
 *   GET    /api/v1/apps                                    list
 *   POST   /api/v1/apps                                    deploy (201; 409 if the name exists)
 *   GET    /api/v1/apps/{name}                             one app with its instances and their task ids
 *   PUT    /api/v1/apps/{name}                             replace the spec: changed instances restart one by one
 *                                                          (409 while a rolling update of the app runs, unless force=true)
 *   DELETE /api/v1/apps/{name}                             stop every instance, then forget the app (202; 204 if already gone)
 *   POST   /api/v1/apps/{name}/scale      {"instances": N} scale up or down (highest indexes go first)
 *   POST   /api/v1/apps/{name}/restart                     rolling restart of every instance (one at a time, each ready before the next)
 *   POST   /api/v1/apps/{name}/instances/{index}/restart   kill and relaunch one instance in place
 *   POST   /api/v1/apps/{name}/instances/{index}/replace   kill one instance and relaunch it elsewhere, fresh volume
 *
 * The body schema checks shapes and ranges; the scheduler's `validateApp` then checks what JSON Schema cannot
 * say (placeholders, a volume with the "*" role …) and answers `invalid_app` the same way.
 */
import { z } from 'zod';
import { CONSTRAINT_OPERATORS } from '../../model/units.js';
import { APP_NAME, MAX_APP_NAME, MAX_INSTANCES, parseAppUnit, type AppSpec } from '../../runtime/apps.js';
import { servedArtifacts } from '../../streams/artifacts.js';
import { streamsDeployIssues, type StreamsCheckDeps, type StreamsCheckInput } from '../../streams/deploy-checks.js';
import type { AppView } from '../../runtime/scheduler-service.js';
import type { StreamsStatusView } from '../../runtime/streams-status.js';
import { KmfError } from '../../util/errors.js';
import { defineRoute, type ApiRoute } from '../route.js';
import { AcceptedSchema, forceParam, intFromString, PlanStepSchema, SourceSchema } from '../schemas.js';
import type { ApiDeps } from './context.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PORT_NAME = /^[a-z][a-z0-9-]*$/;
/** A Mesos role: no whitespace or backslash, not starting with - or /, not . or .., not ending with /. */
const ROLE = /^(?!-)(?!\.\.?$)[^\s\\/]([^\s\\]*[^\s\\/])?$/;
/** `FIELD:OPERATOR[:VALUE]` (the operator is checked by name below, in any case). */
const constraintText = z.string().regex(/^[^:]+:[A-Za-z_]+(:.*)?$/, { error: 'must be FIELD:OPERATOR[:VALUE], e.g. hostname:UNIQUE' });

const appName = z
  .string()
  .max(MAX_APP_NAME, { error: `must be at most ${MAX_APP_NAME} characters` })
  .regex(APP_NAME, { error: (iss) => `${JSON.stringify(iss.input)} must be lower-case letters, digits and '-' (not at either end)` })
  .meta({ description: `Lower-case letters, digits and '-', at most ${MAX_APP_NAME}`, example: 'wordcount' });

const portsField = z
  .union([
    z.int().min(0).max(100).meta({ description: 'A count N: ports named port0 … portN-1' }),
    z
      .array(z.string().regex(PORT_NAME, { error: `must match ${PORT_NAME.source}` }))
      .max(100)
      .superRefine((names, ctx) => {
        const seen = new Set<string>();
        for (const n of names) {
          if (seen.has(n)) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(n)} is listed twice` });
          seen.add(n);
        }
      })
      .meta({ description: 'Port names; each gets an offered port, in env PORT_<NAME>, PORT0 … and {{port:NAME}}' }),
  ])
  .meta({ description: 'Named ports (a count or a list of names)' });

const healthCheck = z
  .strictObject({
    type: z.enum(['TCP', 'HTTP', 'COMMAND']),
    port: z.string().optional().meta({ description: 'TCP/HTTP: port name (default: the first port)' }),
    path: z.string().startsWith('/', { error: 'must start with /' }).optional(),
    command: z.string().min(1).optional().meta({ description: 'COMMAND: shell command, exit 0 = healthy' }),
    delaySeconds: z.number().min(0).optional(),
    intervalSeconds: z.number().min(0).optional(),
    timeoutSeconds: z.number().min(0).optional(),
    consecutiveFailures: z.int().min(1).optional(),
    gracePeriodSeconds: z.number().min(0).optional(),
  })
  .meta({ description: 'A Mesos health check' });

const uri = z.union([
  z.string().min(1),
  z.strictObject({
    value: z.string().min(1),
    extract: z.boolean().optional(),
    executable: z.boolean().optional(),
    cache: z.boolean().optional(),
    outputFile: z.string().optional(),
  }),
]);

/** Fields of `"type": "streams"` apps (docs/streams.md); the scheduler checks how they combine. */
const streamsFields = {
  type: z.enum(['command', 'streams']).optional().meta({ description: 'command (default) or streams: a Kafka Streams app (docs/streams.md)' }),
  applicationId: z.string().min(1).max(200).optional().meta({ description: 'Streams application.id (default: the name)' }),
  artifact: z.string().min(1).max(2000).optional().meta({ description: 'The jar: a file name served at GET /artifacts/<name>, or an http(s) URL', example: 'wordcount-1.0.jar' }),
  mainClass: z.string().min(1).optional().meta({ description: 'Main class (default: java -jar)' }),
  args: z.array(z.string()).optional(),
  heap: z.int().min(16).optional().meta({ description: 'JVM heap, MB (default: half of mem)' }),
  jvmOpts: z.string().optional(),
  streamsConfig: z.record(z.string().min(1), z.string()).optional().meta({ description: 'Streams/client properties; bootstrap.servers defaults to the managed cluster' }),
  stateVolume: z.int().min(1).optional().meta({ description: 'MB: state.dir on a sticky persistent volume' }),
  autoscale: z
    .strictObject({
      min: z.int().min(0).optional(),
      max: z.int().min(1),
      targetLagPerInstance: z.int().min(1),
      cooldownSeconds: z.number().min(0).optional(),
      inputTopics: z.array(z.string().min(1)).min(1),
    })
    .optional()
    .meta({ description: 'Lag autoscaler: instances = clamp(ceil(lag / targetLagPerInstance), min, max, input partitions)' }),
};

const appFields = {
  name: appName,
  instances: z.int().min(0).max(MAX_INSTANCES).optional().meta({ description: 'Number of instances (default 1)' }),
  cpus: z.number({ error: (iss) => (iss.input === undefined ? 'is required (e.g. 0.5)' : undefined) }).gt(0, { error: 'must be > 0' }),
  mem: z.number({ error: (iss) => (iss.input === undefined ? 'is required, in MB (e.g. 256)' : undefined) }).gt(0, { error: 'must be > 0' }).meta({ description: 'Memory, MB' }),
  disk: z.number().min(0).optional().meta({ description: 'Sandbox disk, MB' }),
  command: z
    .string()
    .regex(/\S/, { error: 'is required (run through /bin/sh -c)' })
    .optional()
    .meta({ description: 'Shell command (placeholders such as {{port:http}} and {{host}} are resolved at launch); required unless a streams app gives an artifact' }),
  env: z.record(z.string().regex(ENV_NAME, { error: `must be an environment variable name (${ENV_NAME.source})` }), z.string()).optional(),
  ports: portsField.optional(),
  volume: z
    .strictObject({
      sizeMb: z.number({ error: (iss) => (iss.input === undefined ? 'is required' : undefined) }).gt(0),
      containerPath: z.string().min(1).optional().meta({ description: 'Relative to the sandbox (default data)' }),
    })
    .optional()
    .meta({ description: 'A persistent volume on a dynamic reservation: the instance keeps its agent and data across restarts' }),
  constraints: z
    .array(z.union([constraintText, z.array(z.string().min(1)).min(2).max(3)]))
    .optional()
    .superRefine((list, ctx) => {
      for (const [i, c] of (list ?? []).entries()) {
        const op = typeof c === 'string' ? c.split(':')[1] : c[1];
        if (op === undefined || op === '') continue; // the shape is reported already
        if (!(CONSTRAINT_OPERATORS as readonly string[]).includes(op.toUpperCase())) {
          ctx.addIssue({ code: 'custom', path: [i], message: `has the unknown operator "${op}" (operators: ${CONSTRAINT_OPERATORS.join(', ')})` });
        }
      }
    })
    .meta({ description: `Marathon constraints, e.g. ["hostname:UNIQUE"] or [["rack", "GROUP_BY", "2"]]; operators ${CONSTRAINT_OPERATORS.join(', ')}` }),
  healthCheck: healthCheck.optional(),
  readiness: z.enum(['running', 'healthy']).optional().meta({ description: 'When an instance counts as ready (default: healthy with a health check, else running)' }),
  role: z
    .string()
    .regex(ROLE, { error: 'must be a Mesos role name (no whitespace or backslash, not starting with "-" or "/", not "." or "..", not ending with "/")' })
    .optional()
    .meta({ description: 'Mesos role (default: the scheduler\'s --role)' }),
  uris: z.array(uri).optional().meta({ description: 'Files the Mesos fetcher downloads into the sandbox' }),
  user: z.string().min(1).optional(),
  killGracePeriodSeconds: z.number().min(0).optional(),
  strategy: z.enum(['parallel', 'serial']).optional().meta({ description: 'Deploy instances all at once (default) or one after the other' }),
  labels: z.record(z.string(), z.string()).optional(),
  maxUnavailable: z.int().min(1).max(MAX_INSTANCES).optional().meta({ description: 'How many instances a rolling update may restart at once (default 1)' }),
  ...streamsFields,
};

export const AppInputSchema = z.strictObject(appFields).meta({ description: 'An app to deploy' });
/** PUT: the name comes from the URL (a name in the body must match it). */
const AppUpdateSchema = z.strictObject({ ...appFields, name: appName.optional() }).meta({ description: 'The complete new spec of the app' });

const ScaleSchema = z.strictObject({
  instances: z.int({ error: (iss) => (iss.input === undefined ? 'is required' : undefined) }).min(0).max(MAX_INSTANCES),
});

const AppSpecSchema = z
  .looseObject({
    name: z.string(),
    instances: z.number(),
    cpus: z.number(),
    mem: z.number(),
    command: z.string().optional(),
  })
  .meta({ id: 'AppSpec', description: 'The normalized spec (defaults filled in, constraints parsed)' });

const InstanceSchema = z
  .looseObject({
    index: z.number(),
    unit: z.string(),
    goal: z.string(),
    state: z.string(),
    generation: z.number(),
    failures: z.number(),
    taskId: z.string().optional(),
    taskState: z.string().optional(),
    agentId: z.string().optional(),
    hostname: z.string().optional(),
    ports: z.record(z.string(), z.number()).optional(),
    ready: z.boolean().optional(),
    healthy: z.boolean().optional(),
    step: z.looseObject({ plan: z.string(), status: PlanStepSchema.shape.status, reason: z.string().optional() }).optional(),
    lastError: z.string().optional(),
  })
  .meta({ id: 'AppInstance' });

const AppViewSchema = z
  .looseObject({
    name: z.string(),
    status: z.enum(['running', 'deploying', 'waiting', 'error', 'removing', 'scaled-to-zero']),
    removing: z.boolean(),
    spec: AppSpecSchema,
    instances: z.array(InstanceSchema),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'App' });

const AppEnvelope = z.looseObject({ app: AppViewSchema });
const NameParams = z.strictObject({ name: appName });
const InstanceParams = z.strictObject({
  name: appName,
  index: intFromString(0, MAX_INSTANCES).meta({ description: 'Instance index (0-based)' }),
});
const ForceQuery = z.strictObject({ force: forceParam });

/** Units of `app` that the update plan has not finished rolling. */
async function rollInProgress(deps: ApiDeps, app: string): Promise<string[]> {
  const { plan } = await deps.service.plan('update');
  return plan.phases.flatMap((ph) => ph.steps).filter((s) => s.status !== 'COMPLETE' && parseAppUnit(s.unit)?.app === app).map((s) => s.unit);
}

async function refuseDuringRoll(deps: ApiDeps, app: string, force: boolean | undefined, what: string): Promise<void> {
  if (force === true) return;
  const busy = await rollInProgress(deps, app);
  if (busy.length === 0) return;
  throw new KmfError('conflict', `app "${app}" is being rolled to a new spec (${busy.join(', ')} not done yet); ${what} now would start another roll on top: wait for the update plan (kmf plan show update --wait), or pass force=true`, {
    details: { plan: 'update', steps: busy },
  });
}

function kafkaArtifactExists(deps: ApiDeps, name: string): boolean {
  try {
    deps.service.kafka.artifact(name);
    return true;
  } catch {
    return false;
  }
}

function streamsCheckDeps(deps: ApiDeps): StreamsCheckDeps {
  const artifacts = servedArtifacts();
  return {
    artifactExists: (name) => artifacts.find(name) !== undefined || kafkaArtifactExists(deps, name),
    artifactNames: () => artifacts.names(),
    partitions: async (topic) => {
      // Only a cluster with a running broker is asked (a cluster still deploying would make the request wait).
      const { bootstrapServers } = await deps.service.kafka.endpoints();
      if (bootstrapServers.length === 0) return undefined;
      return (await deps.service.kafka.describeTopic(topic)).partitions.length;
    },
  };
}

/** 400 (invalid_app, nothing changed) when a streams app names an artifact nobody serves or more instances than partitions. */
async function refuseBadStreams(deps: ApiDeps, input: StreamsCheckInput): Promise<void> {
  const issues = await streamsDeployIssues(input, streamsCheckDeps(deps));
  if (issues.length > 0) throw new KmfError('invalid_app', `the app is not valid: ${issues.join('; ')}`, { details: { issues } });
}

/** A streams app's view with what the leader observed: instance states, lag, the autoscaler's last decision. */
function withStreams(deps: ApiDeps, app: AppView): AppView & { streams?: StreamsStatusView } {
  if (app.spec.type !== 'streams') return app;
  const status = deps.service.streamsStatus();
  return { ...app, streams: status?.view(app.name, app.instances.map((i) => i.unit)) ?? { instances: {} } };
}

function summary(app: AppView): string {
  return `${app.spec.instances} instance(s) of ${app.spec.cpus} cpus / ${app.spec.mem} MB`;
}

export function appRoutes(deps: ApiDeps): ApiRoute[] {
  const { service } = deps;
  const tags = ['apps'];
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps',
      operationId: 'listApps',
      summary: 'List apps',
      tags,
      access: 'read',
      responses: { 200: { description: 'Every app, by name', schema: z.looseObject({ source: SourceSchema, apps: z.array(AppViewSchema) }) } },
      handler: async () => {
        const r = await service.listApps();
        return { body: { ...r, apps: r.apps.map((a) => withStreams(deps, a)) } };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps',
      operationId: 'deployApp',
      summary: 'Deploy an app',
      description: 'Creates the app and starts its instances (deploy plan). 409 if an app of that name exists: change it with PUT.',
      tags,
      access: 'admin',
      body: AppInputSchema,
      invalidCode: 'invalid_app',
      errors: [409],
      responses: { 201: { description: 'Created; Location names the app', schema: AppEnvelope } },
      handler: async ({ body }) => {
        await refuseBadStreams(deps, body);
        const app = await service.deployApp(body);
        return { status: 201, headers: { location: `/api/v1/apps/${app.name}` }, body: { app }, audit: `deployed app ${app.name}: ${summary(app)}` };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{name}',
      operationId: 'getApp',
      summary: 'Show an app with its instances and their tasks',
      tags,
      access: 'read',
      params: NameParams,
      responses: { 200: { description: 'The app', schema: z.looseObject({ source: SourceSchema, app: AppViewSchema }) } },
      handler: async ({ params }) => {
        const r = await service.getApp(params.name);
        return { body: { ...r, app: withStreams(deps, r.app) } };
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/api/v1/apps/{name}',
      operationId: 'updateApp',
      summary: 'Replace the spec of an app',
      description: 'Instances whose spec changed are restarted one at a time (update plan). 409 while a previous update of the app is still rolling, unless force=true.',
      tags,
      access: 'admin',
      params: NameParams,
      query: ForceQuery,
      body: AppUpdateSchema,
      invalidCode: 'invalid_app',
      errors: [409],
      responses: { 200: { description: 'The app with its new spec', schema: AppEnvelope } },
      handler: async ({ params, query, body }) => {
        await service.getApp(params.name); // 404 before 409
        await refuseDuringRoll(deps, params.name, query.force, 'changing it');
        await refuseBadStreams(deps, body);
        const app = await service.updateApp(params.name, body);
        return { body: { app }, audit: `updated app ${app.name}: ${summary(app)}${query.force === true ? ' (forced)' : ''}` };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/apps/{name}',
      operationId: 'removeApp',
      summary: 'Remove an app',
      description: 'Stops every instance; the app disappears once they are all gone (202). 204 if nothing was running.',
      tags,
      access: 'admin',
      params: NameParams,
      responses: {
        202: { description: 'Instances are being stopped', schema: AppEnvelope },
        204: { description: 'The app is gone' },
      },
      handler: async ({ params }) => {
        const removing = await service.removeApp(params.name);
        const audit = `removed app ${params.name}`;
        return removing === undefined ? { status: 204, audit } : { status: 202, body: { app: removing }, audit };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps/{name}/scale',
      operationId: 'scaleApp',
      summary: 'Scale an app',
      description: 'Sets the number of instances; scaling down stops the highest indexes first.',
      tags,
      access: 'admin',
      params: NameParams,
      body: ScaleSchema,
      responses: { 200: { description: 'The app', schema: AppEnvelope } },
      handler: async ({ params, body }) => {
        const current = (await service.getApp(params.name)).app.spec;
        const before = current.instances;
        await refuseBadStreams(deps, { ...current, instances: body.instances, artifact: undefined });
        const app = await service.scaleApp(params.name, body.instances);
        return { body: { app }, audit: `scaled app ${app.name} from ${before} to ${body.instances} instance(s)` };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps/{name}/restart',
      operationId: 'restartApp',
      summary: 'Rolling restart of every instance',
      description:
        'Restarts the instances one at a time, each ready before the next (the update plan), by stamping the spec with a restart label ' +
        '(kmf.restartedAt). 409 while an update of the app is rolling, unless force=true.',
      tags,
      access: 'admin',
      params: NameParams,
      query: ForceQuery,
      errors: [409],
      responses: { 200: { description: 'The app; follow the update plan for progress', schema: AppEnvelope } },
      handler: async ({ params, query }) => {
        const { app: current } = await service.getApp(params.name);
        await refuseDuringRoll(deps, params.name, query.force, 'restarting it');
        const spec: AppSpec = { ...current.spec, labels: { ...current.spec.labels, 'kmf.restartedAt': new Date().toISOString() } };
        const app = await service.updateApp(params.name, specInput(spec));
        return { body: { app }, audit: `rolling restart of app ${app.name} (${app.spec.instances} instance(s))` };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps/{name}/instances/{index}/restart',
      operationId: 'restartAppInstance',
      summary: 'Restart one instance in place',
      description: 'Kills the instance and relaunches it on the same agent, with the same reservation and volume, without backoff.',
      tags,
      access: 'admin',
      params: InstanceParams,
      responses: { 202: { description: 'The restart was requested', schema: AcceptedSchema } },
      handler: async ({ params }) => {
        await service.restartInstance(params.name, params.index);
        return { status: 202, body: { accepted: true }, audit: `restarted instance ${params.index} of app ${params.name}`, auditUnit: `app-${params.name}/${params.index}` };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps/{name}/instances/{index}/replace',
      operationId: 'replaceAppInstance',
      summary: 'Replace one instance elsewhere',
      description: 'Kills the instance and relaunches it on another agent with a fresh reservation and volume (its data is lost).',
      tags,
      access: 'admin',
      params: InstanceParams,
      responses: { 202: { description: 'The replacement was requested', schema: AcceptedSchema } },
      handler: async ({ params }) => {
        await service.replaceInstance(params.name, params.index);
        return { status: 202, body: { accepted: true }, audit: `replaced instance ${params.index} of app ${params.name}`, auditUnit: `app-${params.name}/${params.index}` };
      },
    }),
  ];
}

/** A normalized spec back into the input form (constraints as FIELD:OPERATOR[:VALUE] strings). */
function specInput(spec: AppSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { ...spec };
  if (spec.constraints !== undefined) out['constraints'] = spec.constraints.map((c) => [c.field, c.operator, ...(c.value === undefined ? [] : [c.value])]);
  return out;
}
