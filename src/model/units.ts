/**
 * Desired-state types for the units kmf runs. A *unit* is one logical slot of a workload
 * (`controller-0`, `broker-2`, `app-wordcount/3`) that should have at most one Mesos task at a time.
 *
 * Everything here is plain, serializable data (no functions), so a spec can be stored in ZooKeeper,
 * sent through the admin API and hashed into a version. Kafka- and Streams-specific factories build
 * these specs; the core only understands the generic shape below.
 */

/** What the operator wants for the unit. `stopped` keeps its reservation and volume; `removed` frees them. */
export type UnitGoal = 'running' | 'stopped' | 'removed';

export interface ResourceSpec {
  /** Mesos `cpus`; handled with 3 decimals, like Mesos. */
  cpus: number;
  /** Mesos `mem`, in MB. */
  memMb: number;
  /** Scratch (sandbox) disk in MB, not persistent. The persistent data disk is `volume`. */
  diskMb?: number;
}

/**
 * A named port. The core picks a concrete port from the offer's `ports` ranges unless `port` pins one.
 * Chosen ports are exposed to the task as `{{port:NAME}}` placeholders and `KMF_PORT_<NAME>` variables.
 */
export interface PortSpec {
  name: string;
  port?: number;
}

/** A persistent volume (RESERVE + CREATE), mounted at `containerPath` (relative: inside the sandbox). */
export interface VolumeSpec {
  sizeMb: number;
  containerPath: string;
}

/** Marathon's placement operators. */
export const CONSTRAINT_OPERATORS = ['UNIQUE', 'CLUSTER', 'GROUP_BY', 'LIKE', 'UNLIKE', 'MAX_PER', 'IS'] as const;
export type ConstraintOperator = (typeof CONSTRAINT_OPERATORS)[number];

/**
 * A placement constraint evaluated against the other units of the same `group`.
 * `field` is `hostname` (or `@hostname`) or the name of an agent attribute.
 */
export interface PlacementConstraint {
  field: string;
  operator: ConstraintOperator;
  value?: string;
}

export interface HealthCheckTimings {
  delaySeconds?: number;
  intervalSeconds?: number;
  timeoutSeconds?: number;
  consecutiveFailures?: number;
  gracePeriodSeconds?: number;
}

/** Health checks run by the agent (Mesos-native), against a named port of the unit. */
export type HealthCheckTemplate =
  | ({ type: 'TCP'; port: string } & HealthCheckTimings)
  | ({ type: 'HTTP'; port: string; path?: string; scheme?: 'http' | 'https'; statuses?: number[] } & HealthCheckTimings)
  | ({ type: 'COMMAND'; command: string } & HealthCheckTimings);

export interface UriTemplate {
  value: string;
  extract?: boolean;
  executable?: boolean;
  cache?: boolean;
  outputFile?: string;
}

/**
 * A function-free description of the Mesos TaskInfo to launch. String fields may hold placeholders,
 * resolved when the unit is placed:
 *   {{host}} {{agentId}} {{taskId}} {{unit}} {{generation}} {{volume}} {{port:NAME}} {{var:NAME}}
 *   {{unit:OTHER:host}} {{unit:OTHER:port:NAME}} {{unit:OTHER:var:NAME}}
 * A reference to another unit waits until that unit has a placement (a live task or a reservation).
 */
export interface TaskTemplate {
  command: string;
  /** Default true: `command` runs through `/bin/sh -c`. */
  shell?: boolean;
  arguments?: string[];
  env?: Record<string, string>;
  uris?: UriTemplate[];
  user?: string;
  healthCheck?: HealthCheckTemplate;
  /** SIGTERM-to-SIGKILL grace; Kafka needs time for a controlled shutdown. */
  killGracePeriodSeconds?: number;
  labels?: Record<string, string>;
}

/**
 * When a unit counts as up: as soon as Mesos says RUNNING, when its health check passes,
 * or when an external check (e.g. "broker rejoined the ISR") reports it ready.
 */
export type Readiness = 'running' | 'healthy' | 'external';

export interface UnitSpec {
  /** `name` or `name/index`: lower-case segments of [a-z0-9-] joined by `/` (see validate.ts). */
  name: string;
  /** Free text used by factories and renderers, e.g. `broker`, `controller`, `streams`. */
  kind: string;
  /** Units of one group are counted together by placement constraints. Default: `kind`. */
  group?: string;
  /** Deploy phase name. Default: `kind`. */
  phase?: string;
  goal: UnitGoal;
  /** Mesos role; default: the framework's role. */
  role?: string;
  resources: ResourceSpec;
  ports?: PortSpec[];
  volume?: VolumeSpec;
  /**
   * Keep a dynamic reservation for the unit even without a volume (host and ports stay the same across
   * restarts). Units with a volume always reserve.
   */
  reserve?: boolean;
  constraints?: PlacementConstraint[];
  task: TaskTemplate;
  readiness?: Readiness;
  /** Extra values for `{{var:NAME}}` (e.g. a Kafka node id). */
  vars?: Record<string, string>;
}

export type PlanStrategy = 'serial' | 'parallel';

export interface PhaseSpec {
  name: string;
  strategy: PlanStrategy;
  /** Deploys without waiting for the phases before it (e.g. unrelated apps). Default false. */
  independent?: boolean;
  /** How many of its units a rolling update may restart at once. Default 1. */
  maxUnavailable?: number;
}

/** Everything the operator (through the API and factories) wants; input of `prepareDesired`. */
export interface DesiredInput {
  units: UnitSpec[];
  /** Deploy order and strategy of phases; phases not listed follow in order of first appearance, parallel. */
  phases?: PhaseSpec[];
  /**
   * Units that must not be stopped right now, with the reason (e.g. a Kafka roll-safety gate:
   * "partition t-3 would drop below min.insync.replicas"). Updates and operator restarts wait;
   * failures are not affected.
   */
  stopHolds?: Record<string, string>;
  /** Units whose permanent replacement (fresh volume elsewhere) must wait, with the reason. */
  replaceHolds?: Record<string, string>;
}
