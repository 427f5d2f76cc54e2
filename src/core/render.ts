/**
 * Turn a unit's task template and its placement (agent, host, chosen ports, volume) into a Mesos TaskInfo.
 * Pure: a unit kind may supply a `RenderHook` that rewrites the template from the placement (e.g. to list
 * controller voters); it must not do I/O either.
 */
import type { EnvironmentVariable, HealthCheck, Resource, TaskInfo } from '../mesos/types.js';
import type { PreparedUnit } from '../model/desired.js';
import { parseTemplate, type Placeholder } from '../model/placeholders.js';
import type { HealthCheckTemplate, TaskTemplate } from '../model/units.js';
import { recordToLabels } from './resources.js';

export interface PlacementView {
  agentId: string;
  hostname: string;
  ports: Record<string, number>;
  vars: Record<string, string>;
}

export interface RenderContext {
  unit: PreparedUnit;
  taskId: string;
  generation: number;
  agentId: string;
  hostname: string;
  ports: Record<string, number>;
  /** Where the persistent volume is mounted, relative to the sandbox. */
  volumePath?: string;
  /** Placement of another unit (live task, or reservation), for `{{unit:X:…}}`. */
  lookup: (unit: string) => PlacementView | undefined;
}

export type RenderHook = (ctx: RenderContext, template: TaskTemplate) => TaskTemplate;

export type RenderResult = { ok: true; task: TaskInfo } | { ok: false; reason: string };

class MissingValue extends Error {}

function resolve(p: Placeholder, ctx: RenderContext): string {
  switch (p.kind) {
    case 'host':
      return ctx.hostname;
    case 'agentId':
      return ctx.agentId;
    case 'taskId':
      return ctx.taskId;
    case 'unit':
      return ctx.unit.spec.name;
    case 'generation':
      return String(ctx.generation);
    case 'volume':
      if (ctx.volumePath === undefined) throw new MissingValue('the unit has no volume');
      return ctx.volumePath;
    case 'port': {
      const v = ctx.ports[p.name];
      if (v === undefined) throw new MissingValue(`no port named ${p.name}`);
      return String(v);
    }
    case 'var': {
      const v = ctx.unit.spec.vars?.[p.name];
      if (v === undefined) throw new MissingValue(`no var ${p.name}`);
      return v;
    }
    case 'otherHost':
    case 'otherPort':
    case 'otherVar': {
      const other = p.unit === ctx.unit.spec.name ? selfView(ctx) : ctx.lookup(p.unit);
      if (!other) throw new MissingValue(`unit ${p.unit} has no placement yet`);
      if (p.kind === 'otherHost') return other.hostname;
      const v = p.kind === 'otherPort' ? other.ports[p.name] : other.vars[p.name];
      if (v === undefined) throw new MissingValue(`unit ${p.unit} has no ${p.kind === 'otherPort' ? 'port' : 'var'} ${p.name}`);
      return String(v);
    }
  }
}

function selfView(ctx: RenderContext): PlacementView {
  return { agentId: ctx.agentId, hostname: ctx.hostname, ports: ctx.ports, vars: ctx.unit.spec.vars ?? {} };
}

function fill(text: string, ctx: RenderContext): string {
  return parseTemplate(text)
    .parts.map((part) => ('placeholder' in part ? resolve(part.placeholder, ctx) : part.text))
    .join('');
}

/** Units referenced by the template that have no placement yet. */
export function missingRefs(unit: PreparedUnit, lookup: (unit: string) => PlacementView | undefined): string[] {
  return unit.refs.filter((r) => lookup(r) === undefined);
}

export function envName(portName: string): string {
  return portName.toUpperCase().replaceAll('-', '_');
}

function healthCheck(t: HealthCheckTemplate, ctx: RenderContext): HealthCheck {
  const hc: HealthCheck = {};
  if (t.delaySeconds !== undefined) hc.delay_seconds = t.delaySeconds;
  if (t.intervalSeconds !== undefined) hc.interval_seconds = t.intervalSeconds;
  if (t.timeoutSeconds !== undefined) hc.timeout_seconds = t.timeoutSeconds;
  if (t.consecutiveFailures !== undefined) hc.consecutive_failures = t.consecutiveFailures;
  if (t.gracePeriodSeconds !== undefined) hc.grace_period_seconds = t.gracePeriodSeconds;
  switch (t.type) {
    case 'TCP':
      hc.type = 'TCP';
      hc.tcp = { port: portOf(t.port, ctx) };
      break;
    case 'HTTP':
      hc.type = 'HTTP';
      hc.http = { port: portOf(t.port, ctx), path: fill(t.path ?? '/', ctx) };
      if (t.scheme !== undefined) hc.http.scheme = t.scheme;
      if (t.statuses !== undefined) hc.http.statuses = [...t.statuses];
      break;
    case 'COMMAND':
      hc.type = 'COMMAND';
      hc.command = { shell: true, value: fill(t.command, ctx) };
      break;
  }
  return hc;
}

function portOf(name: string, ctx: RenderContext): number {
  const p = ctx.ports[name];
  if (p === undefined) throw new MissingValue(`health check port ${name} was not allocated`);
  return p;
}

export function renderTaskInfo(
  ctx: RenderContext,
  resources: Resource[],
  hook: RenderHook | undefined,
  defaultKillGraceSeconds: number,
): RenderResult {
  try {
    const t = hook ? hook(ctx, ctx.unit.spec.task) : ctx.unit.spec.task;
    const variables: EnvironmentVariable[] = [
      { name: 'KMF_UNIT', value: ctx.unit.spec.name },
      { name: 'KMF_TASK_ID', value: ctx.taskId },
      { name: 'KMF_GENERATION', value: String(ctx.generation) },
      { name: 'KMF_HOST', value: ctx.hostname },
      { name: 'KMF_AGENT_ID', value: ctx.agentId },
    ];
    for (const [name, port] of Object.entries(ctx.ports)) variables.push({ name: `KMF_PORT_${envName(name)}`, value: String(port) });
    if (ctx.volumePath !== undefined) variables.push({ name: 'KMF_VOLUME', value: ctx.volumePath });
    const own = new Set(variables.map((v) => v.name));
    for (const [name, value] of Object.entries(t.env ?? {})) {
      if (own.has(name)) {
        const i = variables.findIndex((v) => v.name === name);
        variables.splice(i, 1);
      }
      variables.push({ name, value: fill(value, ctx) });
    }
    const command: NonNullable<TaskInfo['command']> = {
      shell: t.shell ?? true,
      value: fill(t.command, ctx),
      environment: { variables },
    };
    if (t.arguments !== undefined) command.arguments = t.arguments.map((a) => fill(a, ctx));
    if (t.user !== undefined) command.user = t.user;
    if (t.uris !== undefined) {
      command.uris = t.uris.map((u) => {
        const uri: NonNullable<typeof command.uris>[number] = { value: fill(u.value, ctx) };
        if (u.extract !== undefined) uri.extract = u.extract;
        if (u.executable !== undefined) uri.executable = u.executable;
        if (u.cache !== undefined) uri.cache = u.cache;
        if (u.outputFile !== undefined) uri.output_file = u.outputFile;
        return uri;
      });
    }
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(t.labels ?? {})) labels[k] = fill(v, ctx);
    labels['kmf_unit'] = ctx.unit.spec.name;
    labels['kmf_generation'] = String(ctx.generation);
    labels['kmf_version'] = ctx.unit.version;
    const grace = t.killGracePeriodSeconds ?? defaultKillGraceSeconds;
    const task: TaskInfo = {
      name: ctx.unit.spec.name,
      task_id: { value: ctx.taskId },
      agent_id: { value: ctx.agentId },
      resources,
      command,
      kill_policy: { grace_period: { nanoseconds: (BigInt(Math.round(grace * 1000)) * 1_000_000n).toString() } },
      labels: recordToLabels(labels),
    };
    if (t.healthCheck) task.health_check = healthCheck(t.healthCheck, ctx);
    return { ok: true, task };
  } catch (err) {
    if (err instanceof MissingValue) return { ok: false, reason: err.message };
    // A render hook is unit-kind code; a bug in it must show on the unit, not crash the scheduler loop.
    return { ok: false, reason: `render failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}
