/**
 * The sim's HTTP control API for tests and operators, served by every sim master under /sim/v1
 * (JSON in, JSON out; errors as {"error": "..."}):
 *
 *   GET    /sim/v1/cluster                         masters, leader, agents, frameworks, faults
 *   GET    /sim/v1/metrics                         process RSS and heap, counts
 *   POST   /sim/v1/agents                          {resources?, attributes?, hostname?} → {id}
 *   DELETE /sim/v1/agents/:id                      orderly removal (tasks LOST, FAILURE)
 *   POST   /sim/v1/agents/:id/crash                {restart?: true, restartDelayMs?: 0}
 *   POST   /sim/v1/agents/:id/restart              bring a crashed agent back
 *   POST   /sim/v1/agents/:id/partition            {unreachableAfterMs?: 0} → UNREACHABLE / LOST
 *   POST   /sim/v1/agents/:id/heal                 → re-registration (REASON_AGENT_REREGISTERED)
 *   POST   /sim/v1/agents/:id/unreachable          mark a crashed agent unreachable now
 *   POST   /sim/v1/agents/:id/gone                 → GONE_BY_OPERATOR / LOST, agent shut down
 *   POST   /sim/v1/master/restart                  {recoveryMs?}
 *   POST   /sim/v1/master/leader                   {index?} leader change (needs --masters 2)
 *   GET    /sim/v1/faults/status-updates           active rules
 *   POST   /sim/v1/faults/status-updates           {action: drop|delay|duplicate, agentId?, taskId?, state?, count?, delayMs?} → {id}
 *   DELETE /sim/v1/faults/status-updates[/:id]     clear all / one
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorMessage, KmfError } from '../util/errors.js';
import type { SimCluster } from './cluster.js';
import type { ExtraRoutes } from './master/http.js';
import type { StatusUpdateFaultRule } from './master/faults.js';
import { TASK_STATES, type TaskState } from '../mesos/types.js';

export const CONTROL_PREFIX = '/sim/v1/';

function send(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
  res.end(body);
}

function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  const value: unknown = JSON.parse(body.toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new KmfError('SIM_BAD_REQUEST', 'expected a JSON object');
  return value as Record<string, unknown>;
}

function optionalString(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new KmfError('SIM_BAD_REQUEST', `'${key}' must be a string`);
  return v;
}

function optionalNumber(o: Record<string, unknown>, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new KmfError('SIM_BAD_REQUEST', `'${key}' must be a number`);
  return v;
}

function faultRule(o: Record<string, unknown>): StatusUpdateFaultRule {
  const action = o['action'];
  if (action !== 'drop' && action !== 'delay' && action !== 'duplicate') {
    throw new KmfError('SIM_BAD_REQUEST', "'action' must be one of drop, delay, duplicate");
  }
  const rule: StatusUpdateFaultRule = { action };
  const agentId = optionalString(o, 'agentId');
  const taskId = optionalString(o, 'taskId');
  const state = optionalString(o, 'state');
  const count = optionalNumber(o, 'count');
  const delayMs = optionalNumber(o, 'delayMs');
  if (agentId !== undefined) rule.agentId = agentId;
  if (taskId !== undefined) rule.taskId = taskId;
  if (state !== undefined) {
    if (!(TASK_STATES as readonly string[]).includes(state)) throw new KmfError('SIM_BAD_REQUEST', `unknown task state '${state}'`);
    rule.state = state as TaskState;
  }
  if (count !== undefined) rule.count = count;
  if (delayMs !== undefined) rule.delayMs = delayMs;
  return rule;
}

/** The process's memory and the cluster's size (for benchmarks). */
function metrics(cluster: SimCluster): Record<string, unknown> {
  const mem = process.memoryUsage();
  const master = cluster.master();
  const frameworks = master?.frameworkRecords() ?? [];
  return {
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    agents: master?.agentRecords().length ?? 0,
    frameworks: frameworks.length,
    tasks: frameworks.reduce((n, f) => n + f.tasks.size, 0),
    offers: master?.offerRecords().length ?? 0,
  };
}

async function dispatch(cluster: SimCluster, method: string, parts: string[], body: Buffer): Promise<[number, unknown]> {
  const [resource, id, action] = parts;
  const input = parseJson(body);
  if (resource === 'cluster' && method === 'GET' && id === undefined) return [200, cluster.summary()];
  if (resource === 'metrics' && method === 'GET' && id === undefined) return [200, metrics(cluster)];

  if (resource === 'agents') {
    if (id === undefined) {
      if (method === 'GET') return [200, cluster.agentSummaries()];
      if (method === 'POST') {
        const opts: { resources?: string; attributes?: string; hostname?: string } = {};
        const resources = optionalString(input, 'resources');
        const attributes = optionalString(input, 'attributes');
        const hostname = optionalString(input, 'hostname');
        if (resources !== undefined) opts.resources = resources;
        if (attributes !== undefined) opts.attributes = attributes;
        if (hostname !== undefined) opts.hostname = hostname;
        return [201, { id: await cluster.addAgent(opts) }];
      }
    } else if (action === undefined && method === 'DELETE') {
      await cluster.removeAgent(id);
      return [200, { id, removed: true }];
    } else if (method === 'POST') {
      switch (action) {
        case 'crash': {
          const restart = input['restart'];
          const opts: { restart?: boolean; restartDelayMs?: number } = {};
          if (typeof restart === 'boolean') opts.restart = restart;
          const delay = optionalNumber(input, 'restartDelayMs');
          if (delay !== undefined) opts.restartDelayMs = delay;
          await cluster.crashAgent(id, opts);
          return [200, { id, crashed: true, restarted: opts.restart !== false }];
        }
        case 'restart':
          await cluster.restartAgent(id);
          return [200, { id, restarted: true }];
        case 'partition': {
          const after = optionalNumber(input, 'unreachableAfterMs');
          cluster.partitionAgent(id, after === undefined ? {} : { unreachableAfterMs: after });
          return [200, { id, partitioned: true }];
        }
        case 'heal':
          cluster.healAgent(id);
          return [200, { id, partitioned: false }];
        case 'unreachable':
          cluster.markAgentUnreachable(id);
          return [200, { id, unreachable: true }];
        case 'gone':
          await cluster.markAgentGone(id);
          return [200, { id, gone: true }];
        case undefined:
        default:
          break;
      }
    }
  }

  if (resource === 'master' && method === 'POST') {
    if (id === 'restart') {
      const recoveryMs = optionalNumber(input, 'recoveryMs');
      await cluster.restartMaster(recoveryMs === undefined ? {} : { recoveryMs });
      return [200, { restarted: true, masterUrl: cluster.masterUrl, masterId: cluster.master()?.id ?? null }];
    }
    if (id === 'leader') {
      await cluster.changeLeader(optionalNumber(input, 'index'));
      return [200, { leader: cluster.leader ?? null, masterUrl: cluster.masterUrl }];
    }
  }

  if (resource === 'faults' && id === 'status-updates') {
    if (method === 'GET' && action === undefined) return [200, cluster.faults.list()];
    if (method === 'POST' && action === undefined) return [201, { id: cluster.faults.add(faultRule(input)) }];
    if (method === 'DELETE' && action === undefined) {
      cluster.faults.clear();
      return [200, { cleared: true }];
    }
    if (method === 'DELETE' && action !== undefined) return [200, { removed: cluster.faults.remove(Number(action)) }];
  }
  return [404, { error: `no such control endpoint: ${method} /sim/v1/${parts.join('/')}` }];
}

export function controlRoutes(cluster: SimCluster): ExtraRoutes {
  return async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<boolean> => {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    if (!path.startsWith(CONTROL_PREFIX)) return false;
    const parts = path.slice(CONTROL_PREFIX.length).split('/').filter((p) => p !== '').map(decodeURIComponent);
    try {
      const [status, value] = await dispatch(cluster, req.method ?? 'GET', parts, body);
      send(res, status, value);
    } catch (err) {
      const status = err instanceof SyntaxError || (err instanceof KmfError && err.code === 'SIM_BAD_REQUEST') ? 400 : err instanceof KmfError && err.code === 'SIM_UNKNOWN_AGENT' ? 404 : 409;
      send(res, status, { error: errorMessage(err) });
    }
    return true;
  };
}
