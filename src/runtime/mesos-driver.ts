/**
 * What the runtime needs from a Mesos connection: the subset of `SchedulerClient` it uses, as an
 * interface, so that benchmarks can drive the runtime with scripted events (and measure it without HTTP).
 * Production passes a real `SchedulerClient`.
 */
import os from 'node:os';
import { SchedulerClient, type ClientState, type ConnectionChange, type SchedulerClientOptions } from '../mesos/client.js';
import type { Credential } from '../mesos/credentials.js';
import type { Call, Event, FrameworkInfo } from '../mesos/types.js';
import type { Logger } from '../util/log.js';

export interface MesosDriver {
  readonly state: ClientState;
  readonly masterUrl: string | undefined;
  onEvent(listener: (event: Event) => void): () => void;
  onConnection(listener: (change: ConnectionChange) => void): () => void;
  start(): void;
  /** Closes the subscription without TEARDOWN: Mesos keeps the tasks for failover_timeout. */
  stop(): Promise<void>;
  call(call: Call): Promise<void>;
  revive(roles?: readonly string[]): Promise<void>;
  suppress(roles?: readonly string[]): Promise<void>;
}

export interface FrameworkSettings {
  name: string;
  role: string;
  /** Mesos user tasks run as ('' lets each agent use its own user). */
  user: string;
  failoverTimeoutSeconds: number;
  principal?: string;
  webuiUrl?: string;
  hostname?: string;
}

/**
 * FrameworkInfo kmf registers with: checkpointing (agents keep tasks across their restarts), a long
 * failover timeout (tasks survive the scheduler's absence), PARTITION_AWARE (UNREACHABLE/GONE instead of
 * LOST), MULTI_ROLE + RESERVATION_REFINEMENT (roles and the refined reservation format the core reads).
 */
export function frameworkInfo(s: FrameworkSettings): FrameworkInfo {
  const info: FrameworkInfo = {
    user: s.user,
    name: s.name,
    roles: [s.role],
    failover_timeout: s.failoverTimeoutSeconds,
    checkpoint: true,
    hostname: s.hostname ?? os.hostname(),
    capabilities: [{ type: 'PARTITION_AWARE' }, { type: 'MULTI_ROLE' }, { type: 'RESERVATION_REFINEMENT' }, { type: 'TASK_KILLING_STATE' }],
  };
  if (s.principal !== undefined) info.principal = s.principal;
  if (s.webuiUrl !== undefined) info.webui_url = s.webuiUrl;
  return info;
}

export interface DriverFactoryInput {
  frameworkId: string | undefined;
  logger: Logger;
}

export type DriverFactory = (input: DriverFactoryInput) => MesosDriver;

export interface SchedulerClientSettings {
  master: string;
  framework: FrameworkSettings;
  credential?: Credential;
  tls?: SchedulerClientOptions['tls'];
  heartbeatMissFactor?: number;
  backoff?: SchedulerClientOptions['backoff'];
}

/** Builds a real SchedulerClient per leadership term. */
export function schedulerClientFactory(s: SchedulerClientSettings): DriverFactory {
  return ({ frameworkId, logger }) => {
    const opts: SchedulerClientOptions = {
      master: s.master,
      frameworkInfo: frameworkInfo(s.framework),
      logger,
      ...(frameworkId === undefined ? {} : { frameworkId: { value: frameworkId } }),
      ...(s.credential === undefined ? {} : { credential: s.credential }),
      ...(s.tls === undefined ? {} : { tls: s.tls }),
      ...(s.heartbeatMissFactor === undefined ? {} : { heartbeatMissFactor: s.heartbeatMissFactor }),
      ...(s.backoff === undefined ? {} : { backoff: s.backoff }),
    };
    return new SchedulerClient(opts);
  };
}
