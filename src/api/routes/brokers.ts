/**
 * Kafka brokers and how clients reach them.
 *
 *   GET  /api/v1/brokers          every broker with its id, state, task and address
 *   POST /api/v1/brokers          {"count": N, cpus?, mem?, heap?, disk?, jvmOpts?, options?} adds brokers;
 *                                 the first call creates the cluster (layout from the count, docs/kafka.md)
 *   GET  /api/v1/brokers/{id}     one broker
 *   PATCH /api/v1/brokers/{id}    {cpus?, mem?, heap?, disk?, jvmOpts?, options?, removeOptions?}: one broker's resources
 *                                 and server.properties overrides; a change restarts it (update plan)
 *   POST /api/v1/brokers/{id}/stop | start      goal stopped (reservation and data kept) / running
 *   POST /api/v1/brokers/{id}/restart           restart one broker (update plan, roll-safety gated)
 *   POST /api/v1/brokers/restart  {"rolling": true}   every node, one at a time
 *   POST /api/v1/brokers/{id}/replace           same id on a fresh disk; Kafka re-replicates to it
 *   DELETE /api/v1/brokers/{id}   scale in: drain (reassignment), stop, release, unregister (202)
 *   GET  /api/v1/controllers      KRaft controllers, voter and leader from the quorum
 *   GET  /api/v1/endpoints        bootstrap servers for clients
 *
 * Changes that would restart nodes while the cluster is being rolled are 409 unless `?force=true`; operations
 * on a broker being removed are 409; every change is on the timeline with who made it.
 */
import { z } from 'zod';
import { defineRoute, type ApiRoute } from '../route.js';
import type { BrokerChange } from '../../kafka/broker-ops.js';
import { shownPropertyValue } from '../../kafka/sensitive-properties.js';
import type { NodeResources } from '../../kafka/cluster-model.js';
import type { BrokerView } from '../../runtime/kafka-service.js';
import { forceParam, intFromString } from '../schemas.js';
import type { ApiDeps } from './context.js';

const BrokerSchema = z
  .looseObject({
    id: z.int(),
    state: z.string().meta({ description: 'running once the broker is registered in the cluster metadata' }),
    goal: z.string(),
    unit: z.string(),
    roles: z.array(z.string()),
    ready: z.boolean(),
    host: z.string().optional(),
    port: z.int().optional(),
    taskId: z.string().optional(),
    taskState: z.string().optional(),
    agentId: z.string().optional(),
    failures: z.int(),
    lastError: z.string().optional(),
    resources: z.looseObject({ cpus: z.number(), memMb: z.number(), heapMb: z.number(), diskMb: z.number(), jvmOpts: z.string().optional() }).optional().meta({ description: 'Effective resources' }),
    overrides: z.record(z.string(), z.string()).optional().meta({ description: "This broker's own server.properties overrides" }),
    removal: z
      .looseObject({ partitionsLeft: z.int().optional(), moving: z.int().optional(), waiting: z.string().optional() })
      .optional()
      .meta({ description: 'Scale-in under way (state draining or removing): partitions still on the broker, and why it waits' }),
  })
  .meta({ id: 'Broker' });

const AddBrokersSchema = z.strictObject({
  count: z.int().min(1).max(100).meta({ description: 'How many brokers to add' }),
  cpus: z.number().positive().optional(),
  mem: z.number().positive().optional().meta({ description: 'MB: heap plus at least 256 MB of JVM non-heap memory' }),
  heap: z.int().positive().optional().meta({ description: '-Xms/-Xmx, MB' }),
  disk: z.number().positive().optional().meta({ description: 'Data disk, MB' }),
  jvmOpts: z.string().optional().meta({ description: 'Replaces the distribution\'s GC flags, e.g. -XX:+UseSerialGC' }),
  options: z.record(z.string(), z.string()).optional().meta({ description: 'server.properties overrides' }),
});

const IdParams = z.object({ id: intFromString(0, 2 ** 31 - 1).meta({ description: 'Broker (node) id' }) });
const ForceQuery = z.strictObject({ force: forceParam });

const PROPERTY_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const UpdateBrokerSchema = z
  .strictObject({
    cpus: z.number().positive().optional(),
    mem: z.number().positive().optional().meta({ description: 'MB: heap plus at least 256 MB of JVM non-heap memory' }),
    heap: z.int().positive().optional().meta({ description: '-Xms/-Xmx, MB' }),
    disk: z.number().positive().optional().meta({ description: 'Data disk, MB (an existing volume keeps its size until the broker is replaced)' }),
    jvmOpts: z.string().optional().meta({ description: "Replaces the distribution's GC flags" }),
    options: z.record(z.string(), z.string()).optional().meta({ description: 'server.properties overrides to set on this broker' }),
    removeOptions: z
      .array(z.string().regex(PROPERTY_KEY, { error: 'must be a server.properties key' }))
      .max(1000)
      .optional()
      .meta({ description: "This broker's overrides to drop (the cluster's value applies again)" }),
    force: z.boolean().optional().meta({ description: 'Change it even while the cluster is being rolled (same as ?force=true)' }),
  })
  .superRefine((b, ctx) => {
    const { force: _force, ...change } = b;
    if (Object.values(change).every((v) => v === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'nothing to change: give at least one of cpus, mem, heap, disk, jvmOpts, options, removeOptions' });
    }
  });
const RollingRestartSchema = z.strictObject({
  rolling: z.literal(true, { error: 'must be true (the cluster restarts one node at a time; restart one broker with POST /api/v1/brokers/{id}/restart)' }),
  force: z.boolean().optional().meta({ description: 'Restart even while the cluster is being rolled (same as ?force=true)' }),
});
const BrokerEnvelope = z.looseObject({ broker: BrokerSchema, changed: z.boolean().optional() });
const ControllerSchema = z
  .looseObject({
    id: z.int(),
    kind: z.enum(['dedicated', 'combined']),
    unit: z.string(),
    state: z.string(),
    host: z.string().optional(),
    port: z.int().optional(),
    taskId: z.string().optional(),
    taskState: z.string().optional(),
    voter: z.boolean().optional().meta({ description: "In the quorum's voter set (absent when the quorum did not answer)" }),
    leader: z.boolean().optional().meta({ description: 'The active controller' }),
  })
  .meta({ id: 'Controller' });

function forced(force: boolean | undefined): string {
  return force === true ? ' (forced)' : '';
}

function changeText(b: { cpus?: number; mem?: number; heap?: number; disk?: number; jvmOpts?: string; options?: Record<string, string>; removeOptions?: string[] }): string {
  const parts: string[] = [];
  for (const k of ['cpus', 'mem', 'heap', 'disk', 'jvmOpts'] as const) if (b[k] !== undefined) parts.push(`${k}=${String(b[k])}`);
  for (const [k, v] of Object.entries(b.options ?? {})) parts.push(`${k}=${shownPropertyValue(k, v)}`);
  for (const k of b.removeOptions ?? []) parts.push(`${k} removed`);
  return parts.join(', ');
}

function unitOf(b: BrokerView): string {
  return b.unit;
}

export function brokerRoutes({ service }: ApiDeps): ApiRoute[] {
  const kafka = service.kafka;
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/brokers',
      operationId: 'listBrokers',
      summary: 'List brokers',
      tags: ['kafka'],
      access: 'read',
      responses: { 200: { description: 'Brokers', schema: z.looseObject({ brokers: z.array(BrokerSchema) }) } },
      handler: async () => ({ body: { brokers: await kafka.listBrokers() } }),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/brokers',
      operationId: 'addBrokers',
      summary: 'Add brokers',
      description: 'Adds brokers; the first call creates the Kafka cluster.',
      tags: ['kafka'],
      access: 'admin',
      body: AddBrokersSchema,
      responses: { 202: { description: 'The brokers added (being deployed)', schema: z.looseObject({ brokers: z.array(BrokerSchema) }) } },
      handler: async ({ body }) => {
        const added = await kafka.addBrokers(body);
        return { status: 202, body: { brokers: added }, audit: `added broker(s) ${added.map((b) => b.id).join(', ')}` };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/brokers/{id}',
      operationId: 'getBroker',
      summary: 'One broker',
      tags: ['kafka'],
      access: 'read',
      params: IdParams,
      errors: [404],
      responses: { 200: { description: 'The broker', schema: BrokerSchema } },
      handler: async ({ params }) => ({ body: await kafka.getBroker(params.id) }),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/api/v1/brokers/{id}',
      operationId: 'updateBroker',
      summary: "Change one broker's resources and overrides",
      description:
        'Sets resources and server.properties overrides of one broker (removeOptions drops its own overrides). A change restarts the broker ' +
        'through the update plan, behind the roll-safety gates. 409 while the cluster is being rolled (unless force=true) or while the broker is being removed.',
      tags: ['kafka'],
      access: 'admin',
      params: IdParams,
      query: ForceQuery,
      body: UpdateBrokerSchema,
      invalidCode: 'kafka_cluster_invalid',
      errors: [404, 409],
      responses: { 200: { description: 'The broker (changed: false when the change was a no-op)', schema: BrokerEnvelope } },
      handler: async ({ params, query, body }) => {
        const change: BrokerChange = {};
        const resources: Partial<NodeResources> = {};
        if (body.cpus !== undefined) resources.cpus = body.cpus;
        if (body.mem !== undefined) resources.memMb = body.mem;
        if (body.heap !== undefined) resources.heapMb = body.heap;
        if (body.disk !== undefined) resources.diskMb = body.disk;
        if (body.jvmOpts !== undefined) resources.jvmOpts = body.jvmOpts;
        if (Object.keys(resources).length > 0) change.resources = resources;
        if (body.options !== undefined) change.setOverrides = body.options;
        if (body.removeOptions !== undefined) change.removeOverrides = body.removeOptions;
        const force = body.force ?? query.force;
        const r = await kafka.updateBroker(params.id, change, force);
        return { body: r, ...(r.changed ? { audit: `updated broker ${params.id}: ${changeText(body)}${forced(force)}`, auditUnit: unitOf(r.broker) } : {}) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/brokers/{id}/stop',
      operationId: 'stopBroker',
      summary: 'Stop a broker',
      description: 'Goal stopped: the task is killed (controlled shutdown); its reservation and data stay for a later start. 409 while it is being removed, or when a combined node would leave the metadata quorum without a majority.',
      tags: ['kafka'],
      access: 'admin',
      params: IdParams,
      query: ForceQuery,
      errors: [404, 409],
      responses: { 202: { description: 'The broker is being stopped', schema: BrokerEnvelope } },
      handler: async ({ params, query }) => {
        const r = await kafka.setBrokerGoal(params.id, 'stopped', query.force);
        return { status: 202, body: r, ...(r.changed ? { audit: `stopped broker ${params.id}${forced(query.force)}`, auditUnit: unitOf(r.broker) } : {}) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/brokers/{id}/start',
      operationId: 'startBroker',
      summary: 'Start a stopped broker',
      description: 'Goal running: the broker is relaunched on its reservation, with its data.',
      tags: ['kafka'],
      access: 'admin',
      params: IdParams,
      errors: [404, 409],
      responses: { 202: { description: 'The broker is being started', schema: BrokerEnvelope } },
      handler: async ({ params }) => {
        const r = await kafka.setBrokerGoal(params.id, 'running');
        return { status: 202, body: r, ...(r.changed ? { audit: `started broker ${params.id}`, auditUnit: unitOf(r.broker) } : {}) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/brokers/{id}/restart',
      operationId: 'restartBroker',
      summary: 'Restart one broker',
      description: 'Restarts the broker in place through the update plan (roll-safety gated). 409 if it is stopped or being removed, or while the cluster is being rolled (unless force=true).',
      tags: ['kafka'],
      access: 'admin',
      params: IdParams,
      query: ForceQuery,
      errors: [404, 409],
      responses: { 202: { description: 'The restart is planned; follow the update plan', schema: BrokerEnvelope } },
      handler: async ({ params, query }) => {
        const broker = await kafka.restartBroker(params.id, query.force);
        return { status: 202, body: { broker }, audit: `restarted broker ${params.id}${forced(query.force)}`, auditUnit: unitOf(broker) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/brokers/restart',
      operationId: 'restartBrokers',
      summary: 'Rolling restart of the cluster',
      description: 'Restarts every Kafka node one at a time (update plan, roll-safety gated). 409 while a roll or a broker removal runs (unless force=true for a roll).',
      tags: ['kafka'],
      access: 'admin',
      query: ForceQuery,
      body: RollingRestartSchema,
      errors: [404, 409],
      responses: { 202: { description: 'The roll is planned; follow the update plan', schema: z.looseObject({ brokers: z.array(BrokerSchema) }) } },
      handler: async ({ query, body }) => {
        const force = body.force ?? query.force;
        const brokers = await kafka.restartCluster(force);
        return { status: 202, body: { brokers }, audit: `rolling restart of the Kafka cluster (${brokers.length} broker(s))${forced(force)}` };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/brokers/{id}/replace',
      operationId: 'replaceBroker',
      summary: 'Replace a broker on a fresh disk',
      description:
        'Kills the broker and relaunches it with the same id on a new reservation and volume (its data is lost); it registers again and Kafka ' +
        're-replicates its partitions to it. 409 if it is stopped or being removed, a controller that cannot take a fresh disk, or while the cluster is being rolled (unless force=true).',
      tags: ['kafka'],
      access: 'admin',
      params: IdParams,
      query: ForceQuery,
      errors: [404, 409],
      responses: { 202: { description: 'The replacement was requested', schema: BrokerEnvelope } },
      handler: async ({ params, query }) => {
        const broker = await kafka.replaceBroker(params.id, query.force);
        return { status: 202, body: { broker }, audit: `replaced broker ${params.id} (fresh disk)${forced(query.force)}`, auditUnit: unitOf(broker) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/brokers/{id}',
      operationId: 'removeBroker',
      summary: 'Remove a broker (scale in)',
      description:
        'Moves every partition replica off the broker by reassignment, then stops it, releases its reservation and volume, and unregisters it ' +
        'from the cluster metadata. The broker shows state draining (with the partitions left), then removing, then disappears. 409 for a ' +
        'combined broker+controller, the last broker, another removal under way, or when the brokers left could not hold every partition or the internal topics.',
      tags: ['kafka'],
      access: 'admin',
      params: IdParams,
      errors: [404, 409],
      responses: { 202: { description: 'The removal is under way', schema: BrokerEnvelope } },
      handler: async ({ params }) => {
        const r = await kafka.removeBroker(params.id);
        return { status: 202, body: r, ...(r.changed ? { audit: `removing broker ${params.id}: draining its partitions`, auditUnit: unitOf(r.broker) } : {}) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/controllers',
      operationId: 'listControllers',
      summary: 'List the KRaft controllers',
      description: 'Every controller node (dedicated or combined with a broker) with its task, and whether it is a voter and the active controller when the quorum answers.',
      tags: ['kafka'],
      access: 'read',
      responses: {
        200: {
          description: 'Controllers and the quorum',
          schema: z.looseObject({
            controllers: z.array(ControllerSchema),
            quorum: z.looseObject({
              reachable: z.boolean(),
              leaderId: z.int().optional(),
              leaderEpoch: z.int().optional(),
              highWatermark: z.number().optional(),
              observers: z.array(z.int()).optional(),
              error: z.string().optional(),
            }),
          }),
        },
      },
      handler: async () => ({ body: await kafka.listControllers() }),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/endpoints',
      operationId: 'getEndpoints',
      summary: 'Bootstrap servers',
      tags: ['kafka'],
      access: 'read',
      responses: { 200: { description: 'Bootstrap servers', schema: z.looseObject({ bootstrapServers: z.array(z.string()), bootstrap: z.string() }) } },
      handler: async () => ({ body: await kafka.endpoints() }),
    }),
  ];
}
