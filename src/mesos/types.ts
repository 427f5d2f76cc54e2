/**
 * TypeScript view of the Mesos v1 messages kmf uses, in the shape of the Mesos JSON mapping
 * (proto field names in snake_case, ids as `{ value }`, enums by v1 name). Both codecs
 * (`application/json` and `application/x-protobuf`) decode to, and encode from, exactly this shape:
 *   - `bytes` fields are Buffers (base64 only exists on the JSON wire);
 *   - int32/uint32/double are numbers; int64 fields that can exceed 2^53 (TimeInfo/DurationInfo
 *     nanoseconds) are decimal strings so nothing is lost; other int64 fields are numbers;
 *   - an absent optional field is `undefined` (JSON `null` decodes to absent).
 * Field names and numbers live in proto/*.proto; this file only mirrors them for the compiler.
 */

export interface Id {
  value: string;
}
export type FrameworkID = Id;
export type OfferID = Id;
export type AgentID = Id;
export type TaskID = Id;
export type ExecutorID = Id;
export type ContainerID = Id & { parent?: ContainerID };
export type OperationID = Id;
export type ResourceProviderID = Id;

export interface TimeInfo {
  /** Nanoseconds since the epoch, as a decimal string (exceeds 2^53). */
  nanoseconds: string;
}
export interface DurationInfo {
  nanoseconds: string;
}

export interface Label {
  key: string;
  value?: string;
}
export interface Labels {
  labels?: Label[];
}

export interface Address {
  hostname?: string;
  ip?: string;
  port: number;
}
export interface URL {
  scheme: string;
  address: Address;
  path?: string;
  query?: Label[];
  fragment?: string;
}

// ---- Values, resources, attributes -------------------------------------------------------------

export type ValueType = 'SCALAR' | 'RANGES' | 'SET' | 'TEXT';
export interface Scalar {
  value: number;
}
export interface Range {
  begin: number;
  end: number;
}
export interface Ranges {
  range?: Range[];
}
export interface ValueSet {
  item?: string[];
}
export interface Text {
  value: string;
}

export interface Attribute {
  name: string;
  type: ValueType;
  scalar?: Scalar;
  ranges?: Ranges;
  set?: ValueSet;
  text?: Text;
}

export interface AllocationInfo {
  role?: string;
}

export type ReservationType = 'UNKNOWN' | 'STATIC' | 'DYNAMIC';
export interface ReservationInfo {
  type?: ReservationType;
  role?: string;
  principal?: string;
  labels?: Labels;
}

export type VolumeMode = 'RW' | 'RO';
export interface Volume {
  mode?: VolumeMode;
  container_path: string;
  host_path?: string;
  source?: VolumeSource;
}
export interface VolumeSource {
  type?: 'UNKNOWN' | 'DOCKER_VOLUME' | 'HOST_PATH' | 'SANDBOX_PATH' | 'SECRET' | 'CSI_VOLUME';
  sandbox_path?: { type?: 'UNKNOWN' | 'SELF' | 'PARENT'; path: string };
  host_path?: { path: string };
}

export interface DiskInfo {
  persistence?: { id: string; principal?: string };
  volume?: Volume;
  source?: {
    type: 'UNKNOWN' | 'PATH' | 'MOUNT' | 'BLOCK' | 'RAW';
    path?: { root?: string };
    mount?: { root?: string };
    id?: string;
    profile?: string;
  };
}

export interface Resource {
  provider_id?: ResourceProviderID;
  name: string;
  type: ValueType;
  scalar?: Scalar;
  ranges?: Ranges;
  set?: ValueSet;
  /** Deprecated pre-refinement role; `"*"` when unreserved. */
  role?: string;
  allocation_info?: AllocationInfo;
  /** Deprecated pre-refinement single reservation. */
  reservation?: ReservationInfo;
  reservations?: ReservationInfo[];
  disk?: DiskInfo;
  revocable?: Record<string, never>;
  shared?: Record<string, never>;
}

// ---- Framework, master, agent ------------------------------------------------------------------

export type FrameworkCapabilityType =
  | 'UNKNOWN'
  | 'REVOCABLE_RESOURCES'
  | 'TASK_KILLING_STATE'
  | 'GPU_RESOURCES'
  | 'SHARED_RESOURCES'
  | 'PARTITION_AWARE'
  | 'MULTI_ROLE'
  | 'RESERVATION_REFINEMENT'
  | 'REGION_AWARE';

export interface FrameworkInfo {
  user: string;
  name: string;
  id?: FrameworkID;
  failover_timeout?: number;
  checkpoint?: boolean;
  role?: string;
  roles?: string[];
  hostname?: string;
  principal?: string;
  webui_url?: string;
  capabilities?: Array<{ type?: FrameworkCapabilityType }>;
  labels?: Labels;
}

export interface MasterInfo {
  id: string;
  ip: number;
  port: number;
  pid?: string;
  hostname?: string;
  version?: string;
  address?: Address;
  capabilities?: Array<{ type?: 'UNKNOWN' | 'AGENT_UPDATE' | 'AGENT_DRAINING' }>;
}

export interface AgentInfo {
  hostname: string;
  port?: number;
  resources?: Resource[];
  attributes?: Attribute[];
  id?: AgentID;
}

// ---- Offers and operations ---------------------------------------------------------------------

export interface Offer {
  id: OfferID;
  framework_id: FrameworkID;
  agent_id: AgentID;
  hostname: string;
  url?: URL;
  allocation_info?: AllocationInfo;
  resources?: Resource[];
  attributes?: Attribute[];
  executor_ids?: ExecutorID[];
  /** Planned maintenance of the agent (start, optional duration). */
  unavailability?: { start: TimeInfo; duration?: DurationInfo };
}

export type OperationType =
  | 'UNKNOWN'
  | 'LAUNCH'
  | 'LAUNCH_GROUP'
  | 'RESERVE'
  | 'UNRESERVE'
  | 'CREATE'
  | 'DESTROY'
  | 'GROW_VOLUME'
  | 'SHRINK_VOLUME'
  | 'CREATE_DISK'
  | 'DESTROY_DISK';

export interface Operation {
  type: OperationType;
  id?: OperationID;
  launch?: { task_infos?: TaskInfo[] };
  launch_group?: { executor: ExecutorInfo; task_group: TaskGroupInfo };
  reserve?: { source?: Resource[]; resources?: Resource[] };
  unreserve?: { resources?: Resource[] };
  create?: { volumes?: Resource[] };
  destroy?: { volumes?: Resource[] };
}

export interface Filters {
  refuse_seconds?: number;
}

// ---- Tasks -------------------------------------------------------------------------------------

export interface EnvironmentVariable {
  name: string;
  type?: 'UNKNOWN' | 'VALUE' | 'SECRET';
  value?: string;
}
export interface Environment {
  variables?: EnvironmentVariable[];
}

export interface CommandURI {
  value: string;
  executable?: boolean;
  extract?: boolean;
  cache?: boolean;
  output_file?: string;
}

export interface CommandInfo {
  uris?: CommandURI[];
  environment?: Environment;
  shell?: boolean;
  value?: string;
  arguments?: string[];
  user?: string;
}

export interface ContainerInfo {
  type: 'MESOS' | 'DOCKER';
  volumes?: Volume[];
  hostname?: string;
}

export interface KillPolicy {
  grace_period?: DurationInfo;
}

export interface HealthCheck {
  delay_seconds?: number;
  interval_seconds?: number;
  timeout_seconds?: number;
  consecutive_failures?: number;
  grace_period_seconds?: number;
  type?: 'UNKNOWN' | 'COMMAND' | 'HTTP' | 'TCP';
  command?: CommandInfo;
  http?: { protocol?: 'IPv4' | 'IPv6'; scheme?: string; port: number; path?: string; statuses?: number[] };
  tcp?: { protocol?: 'IPv4' | 'IPv6'; port: number };
}

export interface ExecutorInfo {
  type?: 'UNKNOWN' | 'DEFAULT' | 'CUSTOM';
  executor_id: ExecutorID;
  framework_id?: FrameworkID;
  command?: CommandInfo;
  container?: ContainerInfo;
  resources?: Resource[];
  name?: string;
  source?: string;
  data?: Buffer;
  shutdown_grace_period?: DurationInfo;
  labels?: Labels;
}

export interface TaskInfo {
  name: string;
  task_id: TaskID;
  agent_id: AgentID;
  resources?: Resource[];
  executor?: ExecutorInfo;
  command?: CommandInfo;
  container?: ContainerInfo;
  health_check?: HealthCheck;
  kill_policy?: KillPolicy;
  data?: Buffer;
  labels?: Labels;
  max_completion_time?: DurationInfo;
  /** Resource limits above the requested resources (cpus, mem); since 1.11. */
  limits?: Record<string, Scalar>;
}

export interface TaskGroupInfo {
  tasks?: TaskInfo[];
}

export const TASK_STATES = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_UNREACHABLE',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** The master's isTerminalState set (mesos-http-api.md item 151). */
export function isTerminalState(s: TaskState): boolean {
  switch (s) {
    case 'TASK_FINISHED':
    case 'TASK_FAILED':
    case 'TASK_KILLED':
    case 'TASK_LOST':
    case 'TASK_ERROR':
    case 'TASK_DROPPED':
    case 'TASK_GONE':
    case 'TASK_GONE_BY_OPERATOR':
      return true;
    case 'TASK_STAGING':
    case 'TASK_STARTING':
    case 'TASK_RUNNING':
    case 'TASK_KILLING':
    case 'TASK_UNREACHABLE':
    case 'TASK_UNKNOWN':
      return false;
  }
}

export type TaskStatusSource = 'SOURCE_MASTER' | 'SOURCE_AGENT' | 'SOURCE_EXECUTOR';

/** v1 TaskStatus.Reason names used by kmf and the simulator (the proto lists them all). */
export type TaskStatusReason = string;

export interface NetworkInfo {
  ip_addresses?: Array<{ protocol?: 'IPv4' | 'IPv6'; ip_address?: string }>;
  name?: string;
}

export interface ContainerStatus {
  container_id?: ContainerID;
  network_infos?: NetworkInfo[];
  executor_pid?: number;
}

export interface TaskStatus {
  task_id: TaskID;
  state: TaskState;
  message?: string;
  source?: TaskStatusSource;
  reason?: TaskStatusReason;
  data?: Buffer;
  agent_id?: AgentID;
  executor_id?: ExecutorID;
  timestamp?: number;
  uuid?: Buffer;
  healthy?: boolean;
  labels?: Labels;
  container_status?: ContainerStatus;
  unreachable_time?: TimeInfo;
  /** Set with REASON_CONTAINER_LIMITATION*: the resources whose limit was hit. */
  limitation?: { resources?: Resource[] };
}

// ---- Scheduler Call ----------------------------------------------------------------------------

export type CallType =
  | 'UNKNOWN'
  | 'SUBSCRIBE'
  | 'TEARDOWN'
  | 'ACCEPT'
  | 'DECLINE'
  | 'ACCEPT_INVERSE_OFFERS'
  | 'DECLINE_INVERSE_OFFERS'
  | 'REVIVE'
  | 'KILL'
  | 'SHUTDOWN'
  | 'ACKNOWLEDGE'
  | 'ACKNOWLEDGE_OPERATION_STATUS'
  | 'RECONCILE'
  | 'RECONCILE_OPERATIONS'
  | 'MESSAGE'
  | 'REQUEST'
  | 'SUPPRESS'
  | 'UPDATE_FRAMEWORK';

export interface Call {
  framework_id?: FrameworkID;
  type?: CallType;
  subscribe?: { framework_info: FrameworkInfo; suppressed_roles?: string[] };
  accept?: { offer_ids?: OfferID[]; operations?: Operation[]; filters?: Filters };
  decline?: { offer_ids?: OfferID[]; filters?: Filters };
  accept_inverse_offers?: { inverse_offer_ids?: OfferID[]; filters?: Filters };
  decline_inverse_offers?: { inverse_offer_ids?: OfferID[]; filters?: Filters };
  revive?: { roles?: string[] };
  kill?: { task_id: TaskID; agent_id?: AgentID; kill_policy?: KillPolicy };
  shutdown?: { executor_id: ExecutorID; agent_id: AgentID };
  acknowledge?: { agent_id: AgentID; task_id: TaskID; uuid: Buffer };
  acknowledge_operation_status?: { agent_id?: AgentID; resource_provider_id?: ResourceProviderID; uuid: Buffer; operation_id: OperationID };
  reconcile?: { tasks?: Array<{ task_id: TaskID; agent_id?: AgentID }> };
  reconcile_operations?: { operations?: Array<{ operation_id: OperationID; agent_id?: AgentID; resource_provider_id?: ResourceProviderID }> };
  message?: { agent_id: AgentID; executor_id: ExecutorID; data: Buffer };
  request?: { requests?: Array<{ agent_id?: AgentID; resources?: Resource[] }> };
  suppress?: { roles?: string[] };
  update_framework?: { framework_info: FrameworkInfo; suppressed_roles?: string[] };
}

// ---- Scheduler Event (a discriminated union on `type`) -----------------------------------------

export interface Subscribed {
  framework_id: FrameworkID;
  heartbeat_interval_seconds?: number;
  master_info?: MasterInfo;
}

export type OperationState =
  | 'OPERATION_UNSUPPORTED'
  | 'OPERATION_PENDING'
  | 'OPERATION_FINISHED'
  | 'OPERATION_FAILED'
  | 'OPERATION_ERROR'
  | 'OPERATION_DROPPED'
  | 'OPERATION_UNREACHABLE'
  | 'OPERATION_GONE_BY_OPERATOR'
  | 'OPERATION_RECOVERING'
  | 'OPERATION_UNKNOWN';

export interface OperationStatus {
  operation_id?: OperationID;
  state: OperationState;
  message?: string;
  converted_resources?: Resource[];
  uuid?: { value: Buffer };
  agent_id?: AgentID;
  resource_provider_id?: ResourceProviderID;
}

export type Event =
  | { type: 'SUBSCRIBED'; subscribed: Subscribed }
  | { type: 'OFFERS'; offers: { offers?: Offer[] } }
  | { type: 'INVERSE_OFFERS'; inverse_offers: { inverse_offers?: unknown[] } }
  | { type: 'RESCIND'; rescind: { offer_id: OfferID } }
  | { type: 'RESCIND_INVERSE_OFFER'; rescind_inverse_offer: { inverse_offer_id: OfferID } }
  | { type: 'UPDATE'; update: { status: TaskStatus } }
  | { type: 'UPDATE_OPERATION_STATUS'; update_operation_status: { status: OperationStatus } }
  | { type: 'MESSAGE'; message: { agent_id: AgentID; executor_id: ExecutorID; data: Buffer } }
  | { type: 'FAILURE'; failure: { agent_id?: AgentID; executor_id?: ExecutorID; status?: number } }
  | { type: 'ERROR'; error: { message: string } }
  | { type: 'HEARTBEAT' }
  /** An event type this build does not know (forward compatibility, item 103). */
  | { type: 'UNKNOWN' };

export type EventType = Event['type'];
