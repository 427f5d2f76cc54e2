/**
 * The simulated master's in-memory records: frameworks, agents, offers and tasks, plus the two seams it
 * talks through — an `EventSink` per subscription stream and an `AgentLink` per registered agent.
 */
import type {
  Attribute,
  Event,
  ExecutorInfo,
  FrameworkInfo,
  KillPolicy,
  Offer,
  Resource,
  TaskInfo,
  TaskState,
  TaskStatus,
  TimeInfo,
} from '../../mesos/types.js';
import { FrameworkFilters } from './filters.js';

/** One subscription stream (the HTTP layer implements it over a chunked RecordIO response). */
export interface EventSink {
  readonly streamId: string;
  send(event: Event): void;
  /** End the stream cleanly (after an ERROR, on TEARDOWN). */
  close(): void;
  /** Cut the connection (master crash/restart). */
  destroy(): void;
}

/** What the master can ask of an agent. Calls are fire-and-forget, like the messages a real master sends. */
export interface AgentLink {
  launchTasks(framework: FrameworkInfo, tasks: TaskInfo[]): void;
  launchGroup(framework: FrameworkInfo, executor: ExecutorInfo, tasks: TaskInfo[]): void;
  killTask(frameworkId: string, taskId: string, killPolicy?: KillPolicy): void;
  acknowledge(frameworkId: string, taskId: string, uuid: Buffer): void;
  shutdownExecutor(frameworkId: string, executorId: string): void;
  frameworkMessage(frameworkId: string, executorId: string, data: Buffer): void;
  shutdownFramework(frameworkId: string): void;
  /** The agent's checkpointed total changed (RESERVE/UNRESERVE/CREATE/DESTROY). */
  updateTotalResources(total: Resource[]): void;
  createVolume(role: string, persistenceId: string): string;
  destroyVolume(role: string, persistenceId: string): void;
}

/** A task an agent reports when it (re-)registers. */
export interface RegisteredTask {
  frameworkId: string;
  task: TaskInfo;
  /** Executor id for tasks run by a custom or default executor; absent for command tasks. */
  executorId?: string;
  state: TaskState;
  statusUpdateState?: TaskState;
  statusUpdateUuid?: Buffer;
  lastStatus?: TaskStatus;
}

/** An agent (re-)registering with the master: its identity, checkpointed total, and what it runs. */
export interface AgentRegistration {
  id: string;
  hostname: string;
  ip: string;
  port: number;
  /** Total resources including dynamic reservations and persistent volumes. */
  resources: Resource[];
  attributes: Attribute[];
  link: AgentLink;
  tasks: RegisteredTask[];
  executors: Array<{ frameworkId: string; executor: ExecutorInfo }>;
  /** FrameworkInfos of the frameworks with tasks or executors on the agent. */
  frameworks: FrameworkInfo[];
}

export interface MasterTask {
  info: TaskInfo;
  frameworkId: string;
  agentId: string;
  executorId?: string;
  /** Latest state known to the master. */
  state: TaskState;
  /** State and uuid of the update most recently forwarded to the scheduler. */
  statusUpdateState?: TaskState;
  statusUpdateUuid?: Buffer;
  /** One status per state transition (data cleared), for /master/state. */
  statuses: TaskStatus[];
  role: string;
  /** When the task became unreachable. */
  unreachableTime?: TimeInfo;
}

export interface AgentRecord {
  id: string;
  hostname: string;
  ip: string;
  port: number;
  total: Resource[];
  attributes: Attribute[];
  link: AgentLink;
  /** false between a broken connection and re-registration or removal: no offers are made. */
  connected: boolean;
  /** Unallocated sum of task and executor resources. */
  used: Resource[];
  /** Unallocated sum of outstanding offers. */
  offered: Resource[];
  offers: Set<string>;
  /** frameworkId → taskId → task. */
  tasks: Map<string, Map<string, MasterTask>>;
  /** frameworkId → executorId → executor. */
  executors: Map<string, Map<string, ExecutorInfo>>;
  registeredTime: number;
  reregisteredTime?: number;
  /** Kills the agent has not seen yet (re-sent on re-registration). */
  pendingKills: Map<string, { frameworkId: string; killPolicy?: KillPolicy }>;
  hasGpus: boolean;
}

export interface OfferRecord {
  offer: Offer;
  frameworkId: string;
  agentId: string;
  role: string;
  /** Allocated resources as stored by the master (post-refinement, with allocation_info). */
  resources: Resource[];
  timer?: NodeJS.Timeout;
}

export const COMPLETED_TASKS_KEPT = 1000;

export class FrameworkRecord {
  info: FrameworkInfo;
  readonly id: string;
  sink: EventSink | undefined;
  connected = false;
  active = false;
  /** Known only from agents' reports after a master failover; not subscribed yet. */
  recovered = false;
  suppressedRoles = new Set<string>();
  readonly filters = new FrameworkFilters();
  readonly tasks = new Map<string, MasterTask>();
  readonly unreachableTasks = new Map<string, MasterTask>();
  completedTasks: MasterTask[] = [];
  readonly offers = new Set<string>();
  /** agentId → executorId → executor. */
  readonly executors = new Map<string, Map<string, ExecutorInfo>>();
  heartbeatTimer: NodeJS.Timeout | undefined;
  failoverTimer: NodeJS.Timeout | undefined;
  registeredTime: number;
  reregisteredTime: number | undefined;
  unregisteredTime: number | undefined;

  constructor(id: string, info: FrameworkInfo, now: number) {
    this.id = id;
    this.info = { ...info, id: { value: id } };
    this.registeredTime = now;
  }

  /** MULTI_ROLE frameworks use `roles`, the others their single `role` (default "*"). */
  get roles(): string[] {
    return frameworkRoles(this.info);
  }

  hasCapability(type: string): boolean {
    return (this.info.capabilities ?? []).some((c) => c.type === type);
  }

  get partitionAware(): boolean {
    return this.hasCapability('PARTITION_AWARE');
  }

  addCompletedTask(task: MasterTask): void {
    this.completedTasks.push(task);
    if (this.completedTasks.length > COMPLETED_TASKS_KEPT) this.completedTasks.shift();
  }
}

export function frameworkRoles(info: FrameworkInfo): string[] {
  const multiRole = (info.capabilities ?? []).some((c) => c.type === 'MULTI_ROLE');
  if (multiRole) return [...(info.roles ?? [])];
  return [info.role ?? '*'];
}
