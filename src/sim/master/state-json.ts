/**
 * GET /master/state in the shape of a 1.11 master's `state` endpoint (frameworks with their tasks,
 * agents under "slaves", resource summaries as {cpus, gpus, mem, disk, ports: "[a-b]"}), built from the
 * sim master's records. Only the commonly read fields are filled.
 */
import type { Attribute, MasterInfo, Resource, TaskStatus } from '../../mesos/types.js';
import { MESOS_VERSION } from './master-info.js';
import type { AgentRecord, FrameworkRecord, MasterTask } from './model.js';
import { addResources, reservationRole, unallocate } from './resources.js';
import type { SimMaster } from './master.js';

export const BUILD_INFO = {
  build_date: '2020-11-16 22:04:47',
  build_time: 1605564287,
  build_user: 'kmf',
  git_sha: '04bc7ee1984d86fbb0bd782ccc69ce44c13ae4b9',
  git_tag: '1.11.0',
  version: MESOS_VERSION,
} as const;

type Json = Record<string, unknown>;

function rangesText(r: Resource): string {
  return `[${(r.ranges?.range ?? []).map((x) => `${x.begin}-${x.end}`).join(', ')}]`;
}

/** Mesos' model(Resources): cpus/gpus/mem/disk always present, other scalars as numbers, ranges and sets as text. */
export function resourceSummary(resources: readonly Resource[]): Json {
  const out: Json = { disk: 0, mem: 0, gpus: 0, cpus: 0 };
  const ranges = new Map<string, Resource[]>();
  const sets = new Map<string, string[]>();
  for (const r of resources) {
    if (r.type === 'SCALAR') out[r.name] = Math.round(((out[r.name] as number | undefined ?? 0) + (r.scalar?.value ?? 0)) * 1000) / 1000;
    else if (r.type === 'RANGES') ranges.set(r.name, [...(ranges.get(r.name) ?? []), r]);
    else if (r.type === 'SET') sets.set(r.name, [...(sets.get(r.name) ?? []), ...(r.set?.item ?? [])]);
  }
  for (const [name, list] of ranges) {
    const merged = addResources([], list.map((r) => ({ name, type: 'RANGES' as const, ranges: r.ranges ?? {} })));
    out[name] = merged[0] === undefined ? '[]' : rangesText(merged[0]);
  }
  for (const [name, items] of sets) out[name] = `{${items.join(',')}}`;
  return out;
}

function attributesJson(attributes: readonly Attribute[]): Json {
  const out: Json = {};
  for (const a of attributes) {
    switch (a.type) {
      case 'SCALAR':
        out[a.name] = a.scalar?.value ?? 0;
        break;
      case 'RANGES':
        out[a.name] = `[${(a.ranges?.range ?? []).map((x) => `${x.begin}-${x.end}`).join(', ')}]`;
        break;
      case 'SET':
        out[a.name] = `{${(a.set?.item ?? []).join(',')}}`;
        break;
      case 'TEXT':
        out[a.name] = a.text?.value ?? '';
        break;
    }
  }
  return out;
}

function statusJson(s: TaskStatus): Json {
  const out: Json = { state: s.state, timestamp: s.timestamp ?? 0 };
  if (s.healthy !== undefined) out['healthy'] = s.healthy;
  if (s.labels !== undefined) out['labels'] = s.labels.labels ?? [];
  if (s.container_status !== undefined) {
    const cs: Json = {};
    if (s.container_status.container_id !== undefined) cs['container_id'] = s.container_status.container_id;
    if (s.container_status.network_infos !== undefined) cs['network_infos'] = s.container_status.network_infos;
    if (s.container_status.executor_pid !== undefined) cs['executor_pid'] = s.container_status.executor_pid;
    out['container_status'] = cs;
  }
  return out;
}

function taskJson(task: MasterTask): Json {
  const out: Json = {
    id: task.info.task_id.value,
    name: task.info.name,
    framework_id: task.frameworkId,
    executor_id: task.executorId ?? '',
    slave_id: task.agentId,
    agent_id: task.agentId,
    state: task.state,
    resources: resourceSummary(unallocate(task.info.resources ?? [])),
    role: task.role,
    statuses: task.statuses.map(statusJson),
  };
  if (task.info.labels !== undefined) out['labels'] = task.info.labels.labels ?? [];
  if (task.info.container !== undefined) out['container'] = task.info.container;
  if (task.unreachableTime !== undefined) out['unreachable_time'] = task.unreachableTime;
  return out;
}

function frameworkJson(master: SimMaster, fw: FrameworkRecord): Json {
  const tasks = [...fw.tasks.values()];
  const used = tasks
    .filter((t) => t.state !== 'TASK_UNREACHABLE')
    .reduce<Resource[]>((acc, t) => addResources(acc, unallocate(t.info.resources ?? [])), []);
  const offers = master.offerRecords().filter((o) => o.frameworkId === fw.id);
  const offered = offers.reduce<Resource[]>((acc, o) => addResources(acc, unallocate(o.resources)), []);
  const counts: Json = {};
  for (const state of ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_FINISHED', 'TASK_KILLED', 'TASK_FAILED', 'TASK_LOST', 'TASK_ERROR', 'TASK_UNREACHABLE']) {
    counts[state] = tasks.filter((t) => t.state === state).length;
  }
  const out: Json = {
    id: fw.id,
    name: fw.info.name,
    user: fw.info.user,
    hostname: fw.info.hostname ?? '',
    webui_url: fw.info.webui_url ?? '',
    failover_timeout: fw.info.failover_timeout ?? 0,
    checkpoint: fw.info.checkpoint ?? false,
    capabilities: (fw.info.capabilities ?? []).map((c) => c.type).filter((t) => t !== undefined),
    active: fw.active,
    connected: fw.connected,
    recovered: fw.recovered,
    registered_time: fw.registeredTime / 1000,
    unregistered_time: (fw.unregisteredTime ?? 0) / 1000,
    ...counts,
    used_resources: resourceSummary(used),
    offered_resources: resourceSummary(offered),
    resources: resourceSummary(addResources(used, offered)),
    allocated_resources: resourceSummary(used),
    tasks: tasks.map(taskJson),
    unreachable_tasks: [...fw.unreachableTasks.values()].map(taskJson),
    completed_tasks: fw.completedTasks.map(taskJson),
    offers: offers.map((o) => ({
      id: o.offer.id.value,
      framework_id: o.frameworkId,
      slave_id: o.agentId,
      resources: resourceSummary(unallocate(o.resources)),
      allocation_info: { role: o.role },
    })),
    executors: [...fw.executors.entries()].flatMap(([agentId, executors]) =>
      [...executors.values()].map((e) => ({
        executor_id: e.executor_id.value,
        name: e.name ?? '',
        framework_id: fw.id,
        slave_id: agentId,
        resources: resourceSummary(unallocate(e.resources ?? [])),
      })),
    ),
  };
  if (fw.info.principal !== undefined) out['principal'] = fw.info.principal;
  if ((fw.info.capabilities ?? []).some((c) => c.type === 'MULTI_ROLE')) out['roles'] = fw.roles;
  else out['role'] = fw.info.role ?? '*';
  if (fw.reregisteredTime !== undefined) out['reregistered_time'] = fw.reregisteredTime / 1000;
  return out;
}

function agentJson(agent: AgentRecord): Json {
  const reservedByRole = new Map<string, Resource[]>();
  const unreserved: Resource[] = [];
  for (const r of agent.total) {
    if ((r.reservations ?? []).length === 0) unreserved.push(r);
    else reservedByRole.set(reservationRole(r), [...(reservedByRole.get(reservationRole(r)) ?? []), r]);
  }
  const reserved: Json = {};
  const reservedFull: Json = {};
  for (const [role, rs] of reservedByRole) {
    reserved[role] = resourceSummary(rs);
    reservedFull[role] = rs;
  }
  const out: Json = {
    id: agent.id,
    hostname: agent.hostname,
    port: agent.port,
    pid: `slave(1)@${agent.ip}:${agent.port}`,
    attributes: attributesJson(agent.attributes),
    registered_time: agent.registeredTime / 1000,
    resources: resourceSummary(agent.total),
    used_resources: resourceSummary(agent.used),
    offered_resources: resourceSummary(agent.offered),
    reserved_resources: reserved,
    unreserved_resources: resourceSummary(unreserved),
    reserved_resources_full: reservedFull,
    unreserved_resources_full: unreserved,
    used_resources_full: agent.used,
    offered_resources_full: agent.offered,
    active: agent.connected,
    deactivated: false,
    version: MESOS_VERSION,
    capabilities: ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT', 'RESOURCE_PROVIDER', 'RESIZE_VOLUME', 'AGENT_OPERATION_FEEDBACK', 'AGENT_DRAINING', 'TASK_RESOURCE_LIMITS'],
  };
  if (agent.reregisteredTime !== undefined) out['reregistered_time'] = agent.reregisteredTime / 1000;
  return out;
}

export function masterStateJson(master: SimMaster, leaderInfo: MasterInfo, flags: Record<string, string>): Json {
  const info = master.info;
  const agents = master.agentRecords();
  return {
    ...BUILD_INFO,
    start_time: master.startTime / 1000,
    elected_time: master.electedTime / 1000,
    id: info.id,
    pid: info.pid,
    hostname: info.hostname,
    capabilities: ['AGENT_UPDATE', 'AGENT_DRAINING', 'QUOTA_V2'],
    activated_slaves: agents.filter((a) => a.connected).length,
    deactivated_slaves: agents.filter((a) => !a.connected).length,
    unreachable_slaves: master.unreachableAgentIds().length,
    leader: leaderInfo.pid,
    leader_info: leaderInfo,
    flags,
    slaves: agents.map(agentJson),
    recovered_slaves: [],
    frameworks: master.frameworkRecords().map((fw) => frameworkJson(master, fw)),
    completed_frameworks: master.completedFrameworkRecords().map((fw) => frameworkJson(master, fw)),
    orphan_tasks: [],
    unregistered_frameworks: [],
  };
}
