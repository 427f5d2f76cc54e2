/**
 * "Apps": the generic unit kind of kmf — N instances of a command, each a unit `app-<name>/<index>` with
 * its own resources, named ports, optional persistent volume, placement constraints and health check.
 * It lets the scheduler run (and be tested on) any process without Kafka. A `"type": "streams"` app is a
 * Kafka Streams app (src/streams/spec.ts, docs/streams.md): the same instances, of unit kind `streams`, with
 * the Streams identity, config, state volume and readiness added.
 *
 * The API takes an `AppSpec` as JSON. `validateApp` checks it field by field and reports every problem at
 * once (the API answers 400 with the list and changes nothing); `appUnitSpec` turns an instance into the
 * core's `UnitSpec`.
 */
import type { DesiredInput, HealthCheckTemplate, PhaseSpec, PlacementConstraint, UnitGoal, UnitSpec, UriTemplate } from '../model/units.js';
import { parseConstraint, validateUnit } from '../model/validate.js';
import {
  ARTIFACT_LABEL,
  BOOTSTRAP_LABEL,
  instanceCommand,
  instanceEnv,
  isArtifactUrl,
  ownBootstrap,
  parseStreamsFields,
  STATE_DIR_PATH,
  STREAMS_FIELDS,
  STREAMS_KIND,
  streamsPorts,
  type StreamsFields,
} from '../streams/spec.js';

export interface AppVolume {
  sizeMb: number;
  /** Relative to the sandbox; default `data`. */
  containerPath: string;
}

export interface AppHealthCheck {
  type: 'TCP' | 'HTTP' | 'COMMAND';
  /** Port name for TCP/HTTP (default: the first port). */
  port?: string;
  path?: string;
  command?: string;
  delaySeconds?: number;
  intervalSeconds?: number;
  timeoutSeconds?: number;
  consecutiveFailures?: number;
  gracePeriodSeconds?: number;
}

/**
 * An app as the operator gives it (normalized: defaults filled in, constraints parsed). A `streams` app
 * (docs/streams.md) carries the Streams fields too; its `command` is optional (an `artifact` replaces it).
 */
export interface AppSpec extends Partial<StreamsFields> {
  name: string;
  /** Default `command`. */
  type?: 'command' | 'streams';
  instances: number;
  cpus: number;
  /** MB. */
  mem: number;
  /** Sandbox disk, MB. */
  disk?: number;
  command?: string;
  env?: Record<string, string>;
  /** Port names (a count N in the input becomes port0 … portN-1). */
  ports?: string[];
  volume?: AppVolume;
  constraints?: PlacementConstraint[];
  healthCheck?: AppHealthCheck;
  readiness?: 'running' | 'healthy';
  role?: string;
  uris?: UriTemplate[];
  user?: string;
  killGracePeriodSeconds?: number;
  /** Deploy order of the instances: all at once (default) or one after the other. */
  strategy?: 'parallel' | 'serial';
  labels?: Record<string, string>;
  /** How many instances a rolling update may restart at once (default 1). */
  maxUnavailable?: number;
}

export const APP_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
export const MAX_APP_NAME = 60;
export const MAX_INSTANCES = 10_000;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PORT_NAME = /^[a-z][a-z0-9-]*$/;
const ROLE = /^(?!-)(?!\.\.?$)[^\s\\/][^\s\\]*$/;
const UNIT_PREFIX = 'app-';

const FIELDS = [
  'name',
  'instances',
  'cpus',
  'mem',
  'disk',
  'command',
  'env',
  'ports',
  'volume',
  'constraints',
  'healthCheck',
  'readiness',
  'role',
  'uris',
  'user',
  'killGracePeriodSeconds',
  'strategy',
  'labels',
  'maxUnavailable',
  ...STREAMS_FIELDS,
] as const;

export interface AppValidationContext {
  /** The framework's role (`--role`): the default role of apps. */
  frameworkRole: string;
}

export type AppValidation = { ok: true; app: AppSpec } | { ok: false; issues: string[] };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(label: string, v: unknown, issues: string[], keyPattern?: RegExp): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) {
    issues.push(`${label} must be an object of strings`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') issues.push(`${label}.${k} must be a string`);
    else if (keyPattern !== undefined && !keyPattern.test(k)) issues.push(`${label}: "${k}" is not a valid name (${keyPattern.source})`);
    else out[k] = val;
  }
  return out;
}

function num(label: string, v: unknown, issues: string[], opts: { min: number; exclusiveMin?: boolean; integer?: boolean; max?: number }): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    issues.push(`${label} must be a number`);
    return undefined;
  }
  if (opts.integer === true && !Number.isInteger(v)) issues.push(`${label} must be an integer`);
  else if (opts.exclusiveMin === true ? v <= opts.min : v < opts.min) issues.push(`${label} must be ${opts.exclusiveMin === true ? '>' : '>='} ${opts.min}`);
  else if (opts.max !== undefined && v > opts.max) issues.push(`${label} must be <= ${opts.max}`);
  else return v;
  return undefined;
}

function suggestion(field: string): string {
  const lower = field.toLowerCase();
  const near = FIELDS.find((f) => f.toLowerCase() === lower || f.toLowerCase().startsWith(lower) || lower.startsWith(f.toLowerCase()));
  return near === undefined ? '' : ` (did you mean "${near}"?)`;
}

function parsePorts(v: unknown, issues: string[]): string[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 100) {
      issues.push('ports must be a count from 0 to 100 or a list of names');
      return undefined;
    }
    return Array.from({ length: v }, (_, i) => `port${i}`);
  }
  if (!Array.isArray(v)) {
    issues.push('ports must be a count or a list of names');
    return undefined;
  }
  const names: string[] = [];
  for (const p of v) {
    if (typeof p !== 'string' || !PORT_NAME.test(p)) issues.push(`port name ${JSON.stringify(p)} must match ${PORT_NAME.source}`);
    else if (names.includes(p)) issues.push(`port name "${p}" is listed twice`);
    else names.push(p);
  }
  return names;
}

function parseVolume(v: unknown, issues: string[]): AppVolume | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) {
    issues.push('volume must be an object {"sizeMb": N, "containerPath": "data"}');
    return undefined;
  }
  for (const k of Object.keys(v)) if (k !== 'sizeMb' && k !== 'containerPath') issues.push(`volume: unknown field "${k}"`);
  const sizeMb = num('volume.sizeMb', v['sizeMb'], issues, { min: 0, exclusiveMin: true });
  if (v['sizeMb'] === undefined) issues.push('volume.sizeMb is required');
  const cp = v['containerPath'] ?? 'data';
  if (typeof cp !== 'string' || cp === '' || cp.startsWith('/') || cp.split('/').includes('..')) {
    issues.push('volume.containerPath must be a relative path inside the sandbox');
    return undefined;
  }
  return sizeMb === undefined ? undefined : { sizeMb, containerPath: cp };
}

function parseConstraints(v: unknown, issues: string[]): PlacementConstraint[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    issues.push('constraints must be a list like ["hostname:UNIQUE"] or [["hostname", "MAX_PER", "2"]]');
    return undefined;
  }
  const out: PlacementConstraint[] = [];
  for (const c of v) {
    const parsed =
      typeof c === 'string' || (Array.isArray(c) && c.every((x) => typeof x === 'string')) ? parseConstraint(c) : undefined;
    if (parsed === undefined) issues.push(`constraint ${JSON.stringify(c)} is not FIELD:OPERATOR[:VALUE] with an operator of UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS`);
    else out.push(parsed);
  }
  return out;
}

function parseHealthCheck(v: unknown, ports: readonly string[], issues: string[]): AppHealthCheck | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) {
    issues.push('healthCheck must be an object');
    return undefined;
  }
  const type = v['type'];
  if (type !== 'TCP' && type !== 'HTTP' && type !== 'COMMAND') {
    issues.push('healthCheck.type must be TCP, HTTP or COMMAND');
    return undefined;
  }
  const hc: AppHealthCheck = { type };
  const known = new Set(['type', 'port', 'path', 'command', 'delaySeconds', 'intervalSeconds', 'timeoutSeconds', 'consecutiveFailures', 'gracePeriodSeconds']);
  for (const k of Object.keys(v)) if (!known.has(k)) issues.push(`healthCheck: unknown field "${k}"`);
  if (type === 'COMMAND') {
    if (typeof v['command'] !== 'string' || v['command'] === '') issues.push('healthCheck.command is required for a COMMAND check');
    else hc.command = v['command'];
  } else {
    const port = v['port'] ?? ports[0];
    if (typeof port !== 'string' || !ports.includes(port)) {
      issues.push(ports.length === 0 ? `a ${type} health check needs a port: give the app "ports"` : `healthCheck.port must be one of ${ports.join(', ')}`);
    } else hc.port = port;
    if (type === 'HTTP' && v['path'] !== undefined) {
      if (typeof v['path'] !== 'string' || !v['path'].startsWith('/')) issues.push('healthCheck.path must start with /');
      else hc.path = v['path'];
    }
  }
  for (const k of ['delaySeconds', 'intervalSeconds', 'timeoutSeconds', 'gracePeriodSeconds'] as const) {
    const n = num(`healthCheck.${k}`, v[k], issues, { min: 0 });
    if (n !== undefined) hc[k] = n;
  }
  const cf = num('healthCheck.consecutiveFailures', v['consecutiveFailures'], issues, { min: 1, integer: true });
  if (cf !== undefined) hc.consecutiveFailures = cf;
  return hc;
}

function parseUris(v: unknown, issues: string[]): UriTemplate[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    issues.push('uris must be a list of URLs or {"value": URL, "extract": bool, "executable": bool, "cache": bool, "outputFile": name}');
    return undefined;
  }
  const out: UriTemplate[] = [];
  for (const u of v) {
    if (typeof u === 'string' && u !== '') out.push({ value: u });
    else if (isObject(u) && typeof u['value'] === 'string' && u['value'] !== '') {
      const t: UriTemplate = { value: u['value'] };
      for (const k of ['extract', 'executable', 'cache'] as const) {
        if (u[k] === undefined) continue;
        if (typeof u[k] !== 'boolean') issues.push(`uris: ${k} must be true or false`);
        else t[k] = u[k];
      }
      if (u['outputFile'] !== undefined) {
        if (typeof u['outputFile'] !== 'string') issues.push('uris: outputFile must be a string');
        else t.outputFile = u['outputFile'];
      }
      out.push(t);
    } else issues.push(`uri ${JSON.stringify(u)} is not a URL or {"value": URL}`);
  }
  return out;
}

/** Checks and normalizes an app given as JSON. Every problem is reported, with the field it concerns. */
export function validateApp(input: unknown, ctx: AppValidationContext): AppValidation {
  const issues: string[] = [];
  if (!isObject(input)) return { ok: false, issues: ['the body must be a JSON object describing the app'] };
  for (const k of Object.keys(input)) {
    if (!(FIELDS as readonly string[]).includes(k)) issues.push(`unknown field "${k}"${suggestion(k)}`);
  }
  const name = input['name'];
  if (typeof name !== 'string' || name === '') issues.push('name is required');
  else if (name.length > MAX_APP_NAME || !APP_NAME.test(name)) {
    issues.push(`name "${name}" must be at most ${MAX_APP_NAME} lower-case letters, digits and '-' (not at either end)`);
  }
  const instances = input['instances'] === undefined ? 1 : num('instances', input['instances'], issues, { min: 0, integer: true, max: MAX_INSTANCES });
  const cpus = num('cpus', input['cpus'], issues, { min: 0, exclusiveMin: true });
  if (input['cpus'] === undefined) issues.push('cpus is required (e.g. 0.5)');
  const mem = num('mem', input['mem'], issues, { min: 0, exclusiveMin: true });
  if (input['mem'] === undefined) issues.push('mem is required, in MB (e.g. 256)');
  const disk = num('disk', input['disk'], issues, { min: 0 });
  const type = input['type'] ?? 'command';
  if (type !== 'command' && type !== 'streams') issues.push('type must be "command" (default) or "streams"');
  const command = input['command'];
  const hasCommand = typeof command === 'string' && command.trim() !== '';
  if (type !== 'streams' && !hasCommand) issues.push('command is required (run through /bin/sh -c)');
  if (command !== undefined && !hasCommand && type === 'streams') issues.push('command must be a non-empty shell command');
  if (type !== 'streams') {
    for (const k of STREAMS_FIELDS) if (k !== 'type' && input[k] !== undefined) issues.push(`${k} is a field of streams apps: add "type": "streams"`);
  }
  const maxUnavailable = num('maxUnavailable', input['maxUnavailable'], issues, { min: 1, integer: true, max: MAX_INSTANCES });
  const env = stringMap('env', input['env'], issues, ENV_NAME);
  const labels = stringMap('labels', input['labels'], issues);
  const ports = parsePorts(input['ports'], issues);
  const volume = parseVolume(input['volume'], issues);
  const constraints = parseConstraints(input['constraints'], issues);
  // A streams app always has the port "state" (first): its health check may use it.
  const healthCheck = parseHealthCheck(input['healthCheck'], input['type'] === 'streams' ? streamsPorts(ports) : (ports ?? []), issues);
  const readiness = input['readiness'];
  if (readiness !== undefined && readiness !== 'running' && readiness !== 'healthy') issues.push('readiness must be "running" or "healthy"');
  if (readiness === 'healthy' && input['healthCheck'] === undefined) issues.push('readiness "healthy" needs a healthCheck');
  const role = input['role'];
  if (role !== undefined && (typeof role !== 'string' || !ROLE.test(role) || role.endsWith('/'))) {
    issues.push('role must be a Mesos role name (no whitespace or backslash, not starting with "-" or "/", not "." or "..")');
  }
  const effectiveRole = typeof role === 'string' && role !== '' ? role : ctx.frameworkRole;
  if (input['volume'] !== undefined && effectiveRole === '*') {
    issues.push('an app with a volume needs a Mesos role other than "*" (its reservation is made for that role): set "role" or start kmf scheduler with --role');
  }
  const user = input['user'];
  if (user !== undefined && (typeof user !== 'string' || user === '')) issues.push('user must be a non-empty string');
  const uris = parseUris(input['uris'], issues);
  const grace = num('killGracePeriodSeconds', input['killGracePeriodSeconds'], issues, { min: 0 });
  const strategy = input['strategy'];
  if (strategy !== undefined && strategy !== 'parallel' && strategy !== 'serial') issues.push('strategy must be "parallel" or "serial"');
  const streams = type === 'streams' ? parseStreamsFields(input, { name, mem, instances, hasCommand, role: effectiveRole }, issues) : undefined;
  if (issues.length > 0 || typeof name !== 'string' || instances === undefined || cpus === undefined || mem === undefined || (type === 'streams' ? streams === undefined : !hasCommand)) {
    return { ok: false, issues: issues.length > 0 ? issues : ['invalid app'] };
  }
  const app: AppSpec = { name, instances, cpus, mem };
  if (hasCommand) app.command = command;
  if (streams !== undefined) Object.assign(app, { type: 'streams' }, streams);
  if (disk !== undefined) app.disk = disk;
  if (env !== undefined) app.env = env;
  if (ports !== undefined && ports.length > 0) app.ports = ports;
  if (volume !== undefined) app.volume = volume;
  if (constraints !== undefined && constraints.length > 0) app.constraints = constraints;
  if (healthCheck !== undefined) app.healthCheck = healthCheck;
  if (readiness === 'running' || readiness === 'healthy') app.readiness = readiness;
  if (typeof role === 'string' && role !== '') app.role = role;
  if (uris !== undefined && uris.length > 0) app.uris = uris;
  if (typeof user === 'string') app.user = user;
  if (grace !== undefined) app.killGracePeriodSeconds = grace;
  if (strategy === 'parallel' || strategy === 'serial') app.strategy = strategy;
  if (labels !== undefined) app.labels = labels;
  if (maxUnavailable !== undefined) app.maxUnavailable = maxUnavailable;
  // Last line of defence: the unit the core will see must validate too (placeholders in command and env…).
  const unitIssues = validateUnit(appUnitSpec(app, 0, 'running'), new Set());
  if (unitIssues.length > 0) return { ok: false, issues: unitIssues };
  return { ok: true, app };
}

export function appUnitName(app: string, index: number): string {
  return `${UNIT_PREFIX}${app}/${index}`;
}

export function appPhaseName(app: string): string {
  return `${UNIT_PREFIX}${app}`;
}

/** `app-<name>/<index>` → {app, index}; undefined for units of other kinds. */
export function parseAppUnit(unit: string): { app: string; index: number } | undefined {
  if (!unit.startsWith(UNIT_PREFIX)) return undefined;
  const slash = unit.lastIndexOf('/');
  if (slash < 0) return undefined;
  const app = unit.slice(UNIT_PREFIX.length, slash);
  const idx = unit.slice(slash + 1);
  if (!APP_NAME.test(app) || !/^(0|[1-9]\d*)$/.test(idx)) return undefined;
  return { app, index: Number(idx) };
}

function healthTemplate(hc: AppHealthCheck): HealthCheckTemplate {
  const timings: Omit<AppHealthCheck, 'type' | 'port' | 'path' | 'command'> = {};
  for (const k of ['delaySeconds', 'intervalSeconds', 'timeoutSeconds', 'consecutiveFailures', 'gracePeriodSeconds'] as const) {
    if (hc[k] !== undefined) timings[k] = hc[k];
  }
  switch (hc.type) {
    case 'TCP':
      return { type: 'TCP', port: hc.port ?? '', ...timings };
    case 'HTTP':
      return { type: 'HTTP', port: hc.port ?? '', ...(hc.path === undefined ? {} : { path: hc.path }), ...timings };
    case 'COMMAND':
      return { type: 'COMMAND', command: hc.command ?? '', ...timings };
  }
}

/** The Streams fields of a streams app (undefined for a command app). */
export function streamsFieldsOf(app: AppSpec): StreamsFields | undefined {
  if (app.type !== 'streams' || app.applicationId === undefined) return undefined;
  const out: StreamsFields = { applicationId: app.applicationId };
  for (const k of ['artifact', 'mainClass', 'args', 'heap', 'jvmOpts', 'streamsConfig', 'stateVolume', 'autoscale'] as const) {
    if (app[k] !== undefined) Object.assign(out, { [k]: app[k] });
  }
  return out;
}

/** The core's view of one instance of the app. */
export function appUnitSpec(app: AppSpec, index: number, goal: UnitGoal): UnitSpec {
  const streams = streamsFieldsOf(app);
  const ports = streams === undefined ? (app.ports ?? []) : streamsPorts(app.ports);
  const env: Record<string, string> = { KMF_APP: app.name, KMF_INSTANCE: String(index) };
  ports.forEach((p, i) => {
    env[`PORT${i}`] = `{{port:${p}}}`;
    if (i === 0) env['PORT'] = `{{port:${p}}}`;
  });
  if (streams !== undefined) Object.assign(env, instanceEnv(streams, index));
  Object.assign(env, app.env ?? {});
  const labels: Record<string, string> = { ...(app.labels ?? {}), kmf_app: app.name };
  let uris = app.uris;
  if (streams?.artifact !== undefined) {
    if (isArtifactUrl(streams.artifact)) uris = [...(uris ?? []), { value: streams.artifact }];
    else labels[ARTIFACT_LABEL] = streams.artifact;
  }
  if (streams !== undefined && ownBootstrap(streams) === undefined) labels[BOOTSTRAP_LABEL] = 'managed';
  const spec: UnitSpec = {
    name: appUnitName(app.name, index),
    kind: streams === undefined ? 'app' : STREAMS_KIND,
    group: appPhaseName(app.name),
    phase: appPhaseName(app.name),
    goal,
    resources: { cpus: app.cpus, memMb: app.mem, ...(app.disk === undefined ? {} : { diskMb: app.disk }) },
    task: {
      command: streams === undefined ? (app.command ?? '') : instanceCommand(streams, app.mem, app.command),
      env,
      labels,
      ...(uris === undefined ? {} : { uris }),
      ...(app.user === undefined ? {} : { user: app.user }),
      ...(app.killGracePeriodSeconds === undefined ? {} : { killGracePeriodSeconds: app.killGracePeriodSeconds }),
      ...(app.healthCheck === undefined ? {} : { healthCheck: healthTemplate(app.healthCheck) }),
    },
    vars: { app: app.name, instance: String(index) },
  };
  if (ports.length > 0) spec.ports = ports.map((name) => ({ name }));
  if (app.volume !== undefined) spec.volume = { sizeMb: app.volume.sizeMb, containerPath: app.volume.containerPath };
  if (streams?.stateVolume !== undefined) spec.volume = { sizeMb: streams.stateVolume, containerPath: STATE_DIR_PATH };
  if (app.constraints !== undefined) spec.constraints = app.constraints;
  if (app.role !== undefined) spec.role = app.role;
  // A Streams instance is ready when its /state says RUNNING (streams-readiness-loop.ts), unless the app opts
  // out with an explicit readiness (an app that does not serve /state).
  spec.readiness = app.readiness ?? (streams !== undefined ? 'external' : app.healthCheck !== undefined ? 'healthy' : 'running');
  return spec;
}

/**
 * A stored unit nobody describes any more (its app record is gone): enough of a spec for the core to
 * stop it and free its reservation.
 */
export function orphanUnitSpec(name: string): UnitSpec {
  return { name, kind: 'app', phase: 'orphans', goal: 'removed', resources: { cpus: 0.01, memMb: 32 }, task: { command: 'true' } };
}

/** An app record as kept in ZooKeeper (`/desired/apps/<name>`). */
export interface AppRecord {
  spec: AppSpec;
  /** DELETE was asked: every instance is being stopped; the record goes once they are all gone. */
  removing: boolean;
  createdAt: string;
  updatedAt: string;
}

/**
 * The desired input from the apps and the units the state still holds. Instances beyond the count, and
 * instances of apps being removed, stay in the desired state with goal `removed` until the core has
 * stopped them and dropped their records (a unit missing from the desired state would be forgotten while
 * its task runs on).
 */
export function appsDesiredInput(apps: ReadonlyMap<string, AppRecord>, storedUnits: Iterable<string>): DesiredInput {
  const units: UnitSpec[] = [];
  const phases: PhaseSpec[] = [];
  const ordered = [...apps.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.spec.name.localeCompare(b.spec.name));
  const covered = new Set<string>();
  for (const rec of ordered) {
    const app = rec.spec;
    // Apps are unrelated: one app's deploy never waits for another's.
    phases.push({
      name: appPhaseName(app.name),
      strategy: app.strategy ?? 'parallel',
      independent: true,
      ...(app.maxUnavailable === undefined ? {} : { maxUnavailable: app.maxUnavailable }),
    });
    const count = rec.removing ? 0 : app.instances;
    for (let i = 0; i < count; i++) {
      const spec = appUnitSpec(app, i, 'running');
      units.push(spec);
      covered.add(spec.name);
    }
  }
  const lingering = [...storedUnits].filter((u) => !covered.has(u)).sort();
  for (const name of lingering) {
    const parsed = parseAppUnit(name);
    const rec = parsed === undefined ? undefined : apps.get(parsed.app);
    units.push(rec !== undefined && parsed !== undefined ? appUnitSpec(rec.spec, parsed.index, 'removed') : orphanUnitSpec(name));
  }
  return { units, phases };
}
