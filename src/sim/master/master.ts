/**
 * The simulated Mesos 1.11 master's state machine: frameworks, agents, offers, tasks, the allocation
 * cycle, and the processing of every scheduler call once the HTTP layer has accepted it (http.ts does
 * the transport checks: leader, method, content type, parsing, stream ids).
 *
 * One SimMaster is one leadership term: a master restart or a leader change creates a new one (new
 * master id, empty state) and the cluster re-registers the agents with it, as agents do after a real
 * master failover. Frameworks then re-subscribe with their ids and are accepted (item 65).
 *
 * Events reach schedulers only while they are connected; status updates that cannot be delivered are
 * retried by the agents (at-least-once), master-generated ones are not (reconciliation covers them).
 */
import type {
  Call,
  Event,
  ExecutorInfo,
  Filters,
  FrameworkInfo,
  KillPolicy,
  MasterInfo,
  Offer,
  Operation,
  OperationStatus,
  Resource,
  TaskInfo,
  TaskState,
  TaskStatus,
  TimeInfo,
} from '../../mesos/types.js';
import { isTerminalState } from '../../mesos/types.js';
import type { Logger } from '../../util/log.js';
import { randomUUID } from 'node:crypto';
import { DEFAULT_MIN_ALLOCATABLE, meetsMinAllocatable, offerableTo, type MinAllocatable } from './allocator.js';
import { refuseDurationMs } from './filters.js';
import {
  FrameworkRecord,
  type AgentRecord,
  type AgentRegistration,
  type EventSink,
  type MasterTask,
  type OfferRecord,
} from './model.js';
import { reconcileTasks, type AgentStanding, type ReconcileView } from './reconcile.js';
import {
  addInto,
  addResources,
  applyConversion,
  cloneResource,
  downgradeResource,
  injectAllocationInfo,
  isPersistentVolume,
  normalize,
  popReservation,
  reservationRole,
  scalar,
  stripPersistence,
  subtractFrom,
  subtractResources,
  unallocate,
  upgradeResource,
  validateResources,
} from './resources.js';
import { masterStatus, nowSeconds, timeInfoNow } from './status.js';
import {
  validateCreate,
  validateDestroy,
  validateFrameworkInfo,
  validateFrameworkUpdate,
  validateReserve,
  validateSuppressedRoles,
  validateTask,
  validateTaskGroup,
  validateUnreserve,
  type TaskValidationContext,
} from './validation.js';
import { validateRole } from './roles.js';

export interface SimMasterOptions {
  info: MasterInfo;
  logger: Logger;
  /** SUBSCRIBED.heartbeat_interval_seconds and the HEARTBEAT period (Mesos: always 15). */
  heartbeatIntervalSeconds?: number;
  /** The allocation cycle (--allocation_interval, default 1 s). */
  allocationIntervalMs?: number;
  /** --offer_timeout: rescind unused offers after this long (default: never). */
  offerTimeoutMs?: number;
  minAllocatable?: MinAllocatable;
  /** Completed (torn down / timed out) frameworks remembered for "Framework has been removed". */
  maxCompletedFrameworks?: number;
}

/** Outcome of a non-SUBSCRIBE call for the HTTP layer. */
export interface CallResult {
  status: 200 | 202 | 400 | 403 | 501;
  body?: string;
}

export type FrameworkLookup =
  | { kind: 'unknown' }
  | { kind: 'disconnected' }
  | { kind: 'connected'; streamId: string };

const MAX_TIMER_MS = 2_147_483_647;

export class SimMaster {
  readonly info: MasterInfo;
  private readonly logger: Logger;
  private readonly heartbeatSeconds: number;
  private readonly allocationIntervalMs: number;
  private readonly offerTimeoutMs: number | undefined;
  private readonly minAllocatable: MinAllocatable;
  private readonly maxCompletedFrameworks: number;

  private readonly frameworks = new Map<string, FrameworkRecord>();
  private readonly completedFrameworks = new Map<string, FrameworkRecord>();
  private readonly agents = new Map<string, AgentRecord>();
  private readonly unreachableAgents = new Map<string, TimeInfo>();
  private readonly goneAgents = new Map<string, TimeInfo>();
  private readonly removedAgents = new Set<string>();
  /** agentId → frameworkId → unreachable task ids (to move them back on re-registration). */
  private readonly unreachableTasksByAgent = new Map<string, Map<string, Set<string>>>();
  private readonly offers = new Map<string, OfferRecord>();
  /** Operations with an id whose status was sent, until acknowledged (for RECONCILE_OPERATIONS). */
  private readonly operationStatuses = new Map<string, Map<string, OperationStatus>>();

  private nextFrameworkId = 0;
  private nextOfferId = 0;
  private allocationTimer: NodeJS.Timeout | undefined;
  private allocationPending = false;
  private roundRobin = 0;
  private stopped = false;
  readonly startTime = Date.now();
  readonly electedTime = Date.now();

  constructor(opts: SimMasterOptions) {
    this.info = opts.info;
    this.logger = opts.logger.child({ masterId: opts.info.id });
    this.heartbeatSeconds = opts.heartbeatIntervalSeconds ?? 15;
    this.allocationIntervalMs = opts.allocationIntervalMs ?? 1000;
    this.offerTimeoutMs = opts.offerTimeoutMs;
    this.minAllocatable = opts.minAllocatable ?? DEFAULT_MIN_ALLOCATABLE;
    this.maxCompletedFrameworks = opts.maxCompletedFrameworks ?? 50;
  }

  get id(): string {
    return this.info.id;
  }

  get heartbeatIntervalSeconds(): number {
    return this.heartbeatSeconds;
  }

  start(): void {
    this.allocationTimer = setInterval(() => this.allocate(), this.allocationIntervalMs);
    this.allocationTimer.unref();
  }

  /**
   * End this leadership term. 'crash' cuts every subscription connection (a master process dying);
   * 'graceful' ends the streams cleanly. Agents and their tasks are untouched.
   */
  stop(mode: 'crash' | 'graceful'): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.allocationTimer !== undefined) clearInterval(this.allocationTimer);
    for (const offer of this.offers.values()) if (offer.timer !== undefined) clearTimeout(offer.timer);
    for (const fw of this.frameworks.values()) {
      this.clearFrameworkTimers(fw);
      const sink = fw.sink;
      fw.sink = undefined;
      fw.connected = false;
      if (sink !== undefined) {
        if (mode === 'crash') sink.destroy();
        else sink.close();
      }
    }
    for (const fw of this.completedFrameworks.values()) this.clearFrameworkTimers(fw);
  }

  // ---- framework lookup for the HTTP layer ------------------------------------------------------

  lookupFramework(frameworkId: string): FrameworkLookup {
    const fw = this.frameworks.get(frameworkId);
    if (fw === undefined) return { kind: 'unknown' };
    if (!fw.connected || fw.sink === undefined) return { kind: 'disconnected' };
    return { kind: 'connected', streamId: fw.sink.streamId };
  }

  // ---- SUBSCRIBE ----------------------------------------------------------------------------------

  /** Process a SUBSCRIBE whose HTTP response (200, stream id) is already open on `sink`. */
  subscribe(call: Call, sink: EventSink, onClosed: (listener: () => void) => void): void {
    const subscribe = call.subscribe;
    if (subscribe === undefined) return;
    const requested: FrameworkInfo = { ...subscribe.framework_info };
    const fail = (message: string): void => {
      this.logger.warn('subscription refused', { message });
      sink.send({ type: 'ERROR', error: { message } });
      sink.close();
    };

    const infoError = validateFrameworkInfo(requested);
    if (infoError !== undefined) return fail(infoError);
    const suppressed = subscribe.suppressed_roles ?? [];
    const suppressedError = validateSuppressedRoles(requested, suppressed);
    if (suppressedError !== undefined) return fail(suppressedError);

    const requestedId = requested.id?.value;
    let fw: FrameworkRecord | undefined;
    if (requestedId !== undefined && requestedId !== '') {
      if (this.completedFrameworks.has(requestedId)) return fail('Framework has been removed');
      fw = this.frameworks.get(requestedId);
      if (fw !== undefined) {
        if (fw.info.principal !== requested.principal) return fail("Changing framework's principal is not allowed.");
        this.failover(fw, requested);
      } else {
        // A framework the master has never seen, e.g. after a master failover: accept its id (item 65).
        fw = new FrameworkRecord(requestedId, requested, Date.now());
        this.frameworks.set(requestedId, fw);
        this.logger.info('framework re-subscribed with an id unknown to this master', { frameworkId: requestedId });
      }
    } else {
      const id = `${this.info.id}-${String(this.nextFrameworkId++).padStart(4, '0')}`;
      fw = new FrameworkRecord(id, requested, Date.now());
      this.frameworks.set(id, fw);
      this.logger.info('framework registered', { frameworkId: id, name: requested.name });
    }

    const record = fw;
    record.recovered = false;
    record.sink = sink;
    record.connected = true;
    record.active = true;
    record.suppressedRoles = new Set(suppressed);
    if (record.failoverTimer !== undefined) clearTimeout(record.failoverTimer);
    record.failoverTimer = undefined;
    record.unregisteredTime = undefined;

    onClosed(() => this.streamClosed(record, sink));

    sink.send({
      type: 'SUBSCRIBED',
      subscribed: { framework_id: { value: record.id }, heartbeat_interval_seconds: this.heartbeatSeconds, master_info: this.info },
    });
    sink.send({ type: 'HEARTBEAT' });
    if (record.heartbeatTimer !== undefined) clearInterval(record.heartbeatTimer);
    record.heartbeatTimer = setInterval(() => {
      if (record.sink === sink) sink.send({ type: 'HEARTBEAT' });
    }, this.heartbeatSeconds * 1000);
    record.heartbeatTimer.unref();
    this.scheduleAllocation();
  }

  /** Re-subscription of a known framework: replace the old stream, drop its offers silently (item 61). */
  private failover(fw: FrameworkRecord, requested: FrameworkInfo): void {
    const old = fw.sink;
    if (old !== undefined) {
      fw.sink = undefined;
      old.send({ type: 'ERROR', error: { message: 'Framework failed over' } });
      old.close();
    }
    for (const offerId of [...fw.offers]) {
      const offer = this.offers.get(offerId);
      if (offer !== undefined) this.removeOffer(offer, { rescind: false });
    }
    // user and checkpoint cannot change; everything else is updated (item 64).
    const next: FrameworkInfo = { ...requested, user: fw.info.user, id: { value: fw.id } };
    if (fw.info.checkpoint === undefined) delete next.checkpoint;
    else next.checkpoint = fw.info.checkpoint;
    this.updateFrameworkInfo(fw, next);
    fw.reregisteredTime = Date.now();
  }

  private updateFrameworkInfo(fw: FrameworkRecord, next: FrameworkInfo): void {
    const oldRoles = new Set(fw.roles);
    fw.info = next;
    const newRoles = new Set(fw.roles);
    for (const role of oldRoles) {
      if (newRoles.has(role)) continue;
      for (const offerId of [...fw.offers]) {
        const offer = this.offers.get(offerId);
        if (offer !== undefined && offer.role === role) this.removeOffer(offer, { rescind: true });
      }
      fw.filters.clear([role]);
      fw.suppressedRoles.delete(role);
    }
  }

  private streamClosed(fw: FrameworkRecord, sink: EventSink): void {
    if (fw.sink !== sink || this.stopped) return;
    this.logger.info('framework disconnected', { frameworkId: fw.id });
    this.disconnectFramework(fw);
  }

  private disconnectFramework(fw: FrameworkRecord): void {
    fw.sink = undefined;
    fw.connected = false;
    fw.active = false;
    fw.unregisteredTime = Date.now();
    if (fw.heartbeatTimer !== undefined) clearInterval(fw.heartbeatTimer);
    fw.heartbeatTimer = undefined;
    for (const offerId of [...fw.offers]) {
      const offer = this.offers.get(offerId);
      if (offer !== undefined) this.removeOffer(offer, { rescind: false });
    }
    const seconds = fw.info.failover_timeout ?? 0;
    const ms = Math.min(MAX_TIMER_MS, Math.max(0, seconds * 1000));
    fw.failoverTimer = setTimeout(() => {
      fw.failoverTimer = undefined;
      if (!fw.connected && this.frameworks.get(fw.id) === fw) {
        this.logger.info('framework failover timeout', { frameworkId: fw.id, failoverTimeoutSeconds: seconds });
        this.removeFramework(fw);
      }
    }, ms);
    fw.failoverTimer.unref();
  }

  private clearFrameworkTimers(fw: FrameworkRecord): void {
    if (fw.heartbeatTimer !== undefined) clearInterval(fw.heartbeatTimer);
    if (fw.failoverTimer !== undefined) clearTimeout(fw.failoverTimer);
    fw.heartbeatTimer = undefined;
    fw.failoverTimer = undefined;
  }

  // ---- other calls --------------------------------------------------------------------------------

  /** A call from the framework's current stream owner (stream id already checked). */
  handleCall(call: Call): CallResult {
    const fw = this.frameworks.get(call.framework_id?.value ?? '');
    if (fw === undefined) return { status: 400, body: 'Framework cannot be found' };
    const type = call.type ?? 'UNKNOWN';
    switch (type) {
      case 'SUBSCRIBE':
        return { status: 400, body: 'Unexpected SUBSCRIBE' };
      case 'TEARDOWN':
        this.logger.info('framework teardown', { frameworkId: fw.id });
        this.removeFramework(fw);
        return { status: 202 };
      case 'ACCEPT':
        this.accept(fw, call.accept ?? {});
        return { status: 202 };
      case 'DECLINE':
        for (const offerId of call.decline?.offer_ids ?? []) {
          const offer = this.offers.get(offerId.value);
          if (offer !== undefined && offer.frameworkId === fw.id) {
            this.removeOffer(offer, { rescind: false, filters: call.decline?.filters ?? {} });
          }
        }
        return { status: 202 };
      case 'ACCEPT_INVERSE_OFFERS':
      case 'DECLINE_INVERSE_OFFERS':
      case 'REQUEST':
        // No maintenance schedules in the sim, so no inverse offers; REQUEST is ignored by the allocator.
        return { status: 202 };
      case 'REVIVE':
        this.revive(fw, call.revive?.roles ?? []);
        return { status: 202 };
      case 'SUPPRESS':
        this.suppress(fw, call.suppress?.roles ?? []);
        return { status: 202 };
      case 'KILL':
        if (call.kill !== undefined) this.kill(fw, call.kill.task_id.value, call.kill.agent_id?.value, call.kill.kill_policy);
        return { status: 202 };
      case 'SHUTDOWN': {
        const agent = call.shutdown === undefined ? undefined : this.agents.get(call.shutdown.agent_id.value);
        if (agent !== undefined && agent.connected && call.shutdown !== undefined) {
          agent.link.shutdownExecutor(fw.id, call.shutdown.executor_id.value);
        }
        return { status: 202 };
      }
      case 'ACKNOWLEDGE':
        if (call.acknowledge !== undefined) {
          this.acknowledge(fw, call.acknowledge.agent_id.value, call.acknowledge.task_id.value, call.acknowledge.uuid);
        }
        return { status: 202 };
      case 'ACKNOWLEDGE_OPERATION_STATUS': {
        const ack = call.acknowledge_operation_status;
        if (ack !== undefined) this.operationStatuses.get(fw.id)?.delete(ack.operation_id.value);
        return { status: 202 };
      }
      case 'RECONCILE':
        for (const status of reconcileTasks(this.reconcileView(fw), call.reconcile?.tasks ?? [])) this.sendUpdate(fw, status);
        return { status: 202 };
      case 'RECONCILE_OPERATIONS':
        this.reconcileOperations(fw, call.reconcile_operations?.operations ?? []);
        return { status: 202 };
      case 'MESSAGE': {
        const message = call.message;
        const agent = message === undefined ? undefined : this.agents.get(message.agent_id.value);
        if (agent !== undefined && agent.connected && message !== undefined) {
          agent.link.frameworkMessage(fw.id, message.executor_id.value, message.data);
        }
        return { status: 202 };
      }
      case 'UPDATE_FRAMEWORK':
        return this.updateFramework(fw, call);
      case 'UNKNOWN':
        return { status: 501 };
    }
  }

  private updateFramework(fw: FrameworkRecord, call: Call): CallResult {
    const update = call.update_framework;
    if (update === undefined) return { status: 400, body: "Expecting 'update_framework' to be present" };
    const info: FrameworkInfo = { ...update.framework_info, id: { value: fw.id } };
    const infoError = validateFrameworkInfo(info);
    if (infoError !== undefined) return { status: 400, body: `Supplied FrameworkInfo is not valid: ${infoError}` };
    const updateError = validateFrameworkUpdate(fw.info, info);
    if (updateError !== undefined) return { status: 400, body: `FrameworkInfo update is not valid: ${updateError}` };
    const suppressed = update.suppressed_roles ?? [];
    const suppressedError = validateSuppressedRoles(info, suppressed);
    if (suppressedError !== undefined) return { status: 400, body: `Supplied FrameworkInfo is not valid: ${suppressedError}` };
    this.updateFrameworkInfo(fw, info);
    fw.suppressedRoles = new Set(suppressed);
    this.scheduleAllocation();
    return { status: 200 };
  }

  /** Roles named in REVIVE/SUPPRESS must all be valid roles of the framework, else the call is dropped. */
  private checkedRoles(fw: FrameworkRecord, roles: readonly string[], call: string): string[] | undefined {
    const own = new Set(fw.roles);
    for (const role of roles) {
      if (validateRole(role) !== undefined || !own.has(role)) {
        this.logger.warn(`dropping ${call}: role is invalid or not a framework role`, { frameworkId: fw.id, role });
        return undefined;
      }
    }
    return roles.length === 0 ? [...own] : [...new Set(roles)];
  }

  private revive(fw: FrameworkRecord, roles: readonly string[]): void {
    const target = this.checkedRoles(fw, roles, 'REVIVE');
    if (target === undefined) return;
    fw.filters.clear(target);
    for (const role of target) fw.suppressedRoles.delete(role);
    this.scheduleAllocation();
  }

  private suppress(fw: FrameworkRecord, roles: readonly string[]): void {
    const target = this.checkedRoles(fw, roles, 'SUPPRESS');
    if (target === undefined) return;
    for (const role of target) fw.suppressedRoles.add(role);
  }

  private kill(fw: FrameworkRecord, taskId: string, agentId: string | undefined, killPolicy: KillPolicy | undefined): void {
    const task = fw.tasks.get(taskId);
    if (task === undefined) {
      // Unknown task: answered as an explicit reconciliation of it (item 156).
      const request: { task_id: { value: string }; agent_id?: { value: string } } = { task_id: { value: taskId } };
      if (agentId !== undefined) request.agent_id = { value: agentId };
      for (const status of reconcileTasks(this.reconcileView(fw), [request])) this.sendUpdate(fw, status);
      return;
    }
    if (agentId !== undefined && agentId !== task.agentId) {
      this.logger.warn('ignoring KILL for a task on another agent', { frameworkId: fw.id, taskId, agentId });
      return;
    }
    const agent = this.agents.get(task.agentId);
    if (agent === undefined) return;
    const pending: { frameworkId: string; killPolicy?: KillPolicy } = { frameworkId: fw.id };
    if (killPolicy !== undefined) pending.killPolicy = killPolicy;
    agent.pendingKills.set(`${fw.id}\u0000${taskId}`, pending);
    if (agent.connected) agent.link.killTask(fw.id, taskId, killPolicy);
  }

  private acknowledge(fw: FrameworkRecord, agentId: string, taskId: string, uuid: Buffer): void {
    const agent = this.agents.get(agentId);
    if (agent === undefined || !agent.connected) return; // item 148
    const task = agent.tasks.get(fw.id)?.get(taskId);
    if (
      task !== undefined &&
      task.statusUpdateUuid !== undefined &&
      task.statusUpdateUuid.equals(uuid) &&
      task.statusUpdateState !== undefined &&
      isTerminalState(task.statusUpdateState)
    ) {
      this.removeTask(task, false);
      fw.addCompletedTask(task);
    }
    agent.link.acknowledge(fw.id, taskId, uuid);
  }

  private reconcileOperations(
    fw: FrameworkRecord,
    requested: ReadonlyArray<{ operation_id: { value: string }; agent_id?: { value: string } }>,
  ): void {
    const known = this.operationStatuses.get(fw.id) ?? new Map<string, OperationStatus>();
    const send = (status: OperationStatus): void => {
      const copy: OperationStatus = { ...status };
      delete copy.uuid;
      this.send(fw, { type: 'UPDATE_OPERATION_STATUS', update_operation_status: { status: copy } });
    };
    if (requested.length === 0) {
      for (const status of known.values()) send(status);
      return;
    }
    for (const r of requested) {
      const status = known.get(r.operation_id.value);
      if (status !== undefined) {
        send(status);
        continue;
      }
      const agentId = r.agent_id?.value;
      const standing = agentId === undefined ? 'unknown' : this.agentStanding(agentId);
      const state: OperationStatus['state'] =
        standing === 'unreachable' ? 'OPERATION_UNREACHABLE' : standing === 'gone' ? 'OPERATION_GONE_BY_OPERATOR' : 'OPERATION_UNKNOWN';
      const out: OperationStatus = { operation_id: { value: r.operation_id.value }, state };
      if (agentId !== undefined) out.agent_id = { value: agentId };
      send(out);
    }
  }

  // ---- ACCEPT -------------------------------------------------------------------------------------

  private accept(fw: FrameworkRecord, accept: NonNullable<Call['accept']>): void {
    const offerIds = (accept.offer_ids ?? []).map((o) => o.value);
    const operations = accept.operations ?? [];
    const error = offerIds.length === 0 ? 'No offers specified' : this.validateOffers(fw, offerIds);
    if (error !== undefined) {
      for (const id of offerIds) {
        const offer = this.offers.get(id);
        if (offer !== undefined) this.removeOffer(offer, { rescind: false });
      }
      const state: TaskState = fw.partitionAware ? 'TASK_DROPPED' : 'TASK_LOST';
      for (const op of operations) {
        const tasks = launchedTasks(op);
        if (tasks === undefined) {
          this.dropOperation(fw, op, `Operation attempted with invalid offers: ${error}`);
          continue;
        }
        for (const task of tasks) {
          this.sendUpdate(
            fw,
            masterStatus({
              taskId: task.task_id.value,
              agentId: task.agent_id.value,
              state,
              message: `Task launched with invalid offers: ${error}`,
              reason: 'REASON_INVALID_OFFERS',
            }),
          );
        }
      }
      return;
    }

    const first = this.offers.get(offerIds[0] ?? '');
    if (first === undefined) return;
    const role = first.role;
    const agentId = first.agentId;

    // Validate and upgrade the resources of every operation; inject the offer's allocation info.
    const accepted: Operation[] = [];
    for (const original of operations) {
      const op = structuredClone(original);
      let opError = upgradeOperationResources(op);
      if (opError === undefined && op.type === 'RESERVE' && (op.reserve?.source ?? []).length > 0) {
        opError = 'Reservation updates are not yet implemented for the scheduler API.';
      }
      if (opError !== undefined) {
        if (op.type === 'LAUNCH' || op.type === 'LAUNCH_GROUP') {
          this.taskErrors(fw, launchedTasks(op) ?? [], opError, op.type === 'LAUNCH' ? 'REASON_TASK_INVALID' : 'REASON_TASK_GROUP_INVALID');
        } else {
          this.dropOperation(fw, op, `Operation attempted with invalid resources: ${opError}`);
        }
        continue;
      }
      if (op.id !== undefined && (op.type === 'LAUNCH' || op.type === 'LAUNCH_GROUP')) {
        this.taskErrors(
          fw,
          launchedTasks(op) ?? [],
          `The \`id\` field cannot be set on ${op.type} operations`,
          op.type === 'LAUNCH' ? 'REASON_TASK_INVALID' : 'REASON_TASK_GROUP_INVALID',
        );
        continue;
      }
      normalizeOperation(op, role, fw.id);
      accepted.push(op);
    }

    const agent = this.agents.get(agentId);
    if (agent === undefined || !agent.connected) {
      const state: TaskState = fw.partitionAware ? 'TASK_DROPPED' : 'TASK_LOST';
      for (const op of accepted) {
        for (const task of launchedTasks(op) ?? []) {
          this.sendUpdate(
            fw,
            masterStatus({
              taskId: task.task_id.value,
              agentId: task.agent_id.value,
              state,
              message: agent === undefined ? 'Agent removed' : 'Agent disconnected',
              reason: agent === undefined ? 'REASON_AGENT_REMOVED' : 'REASON_AGENT_DISCONNECTED',
            }),
          );
        }
      }
      for (const id of offerIds) {
        const offer = this.offers.get(id);
        if (offer !== undefined) this.removeOffer(offer, { rescind: false });
      }
      return;
    }

    let offered: Resource[] = [];
    for (const id of offerIds) {
      const offer = this.offers.get(id);
      if (offer === undefined) continue;
      offered = addResources(offered, offer.resources);
      this.removeOffer(offer, { rescind: false, keepResources: true });
    }
    let remaining = offered;
    const where = `; on agent ${this.describeAgent(agent)}`;

    /**
     * RESERVE, UNRESERVE, CREATE and DESTROY all turn some resources of the offer (`from`) into others (`to`):
     * validate, apply to what is left of the offer and to the agent, and report the operation. False when the
     * operation was dropped.
     */
    const convert = (op: Operation, invalid: string | undefined, from: Resource[], to: Resource[], reported: Resource[]): boolean => {
      if (invalid !== undefined) {
        this.dropOperation(fw, op, invalid + where);
        return false;
      }
      const next = applyConversion(remaining, from, to);
      if (!next.ok) {
        this.dropOperation(fw, op, next.error);
        return false;
      }
      remaining = next.resources;
      this.convertAgentResources(agent, from, to);
      this.operationFinished(fw, agent, op, reported);
      return true;
    };

    for (const op of accepted) {
      switch (op.type) {
        case 'RESERVE': {
          const resources = op.reserve?.resources ?? [];
          convert(op, validateReserve(resources, fw.info), resources.map(popReservation), resources, resources);
          break;
        }
        case 'UNRESERVE': {
          const resources = op.unreserve?.resources ?? [];
          const converted = resources.map(popReservation);
          convert(op, validateUnreserve(resources), resources, converted, converted);
          break;
        }
        case 'CREATE': {
          const volumes = op.create?.volumes ?? [];
          const invalid = validateCreate(volumes, agent.total.filter((r) => (r.reservations ?? []).length > 0), fw.info);
          if (convert(op, invalid, volumes.map(stripPersistence), volumes, volumes)) {
            for (const v of volumes) agent.link.createVolume(reservationRole(v), v.disk?.persistence?.id ?? '');
          }
          break;
        }
        case 'DESTROY': {
          const volumes = op.destroy?.volumes ?? [];
          const invalid = validateDestroy(volumes, agent.total, agent.used);
          if (invalid === undefined) {
            // Other outstanding offers holding one of these volumes are rescinded.
            for (const offerId of [...agent.offers]) {
              const other = this.offers.get(offerId);
              if (other !== undefined && volumes.some((v) => other.resources.some((r) => isPersistentVolume(r) && sameVolume(r, v)))) {
                this.removeOffer(other, { rescind: true });
              }
            }
          }
          const converted = volumes.map(stripPersistence);
          if (convert(op, invalid, volumes, converted, converted)) {
            for (const v of volumes) agent.link.destroyVolume(reservationRole(v), v.disk?.persistence?.id ?? '');
          }
          break;
        }
        case 'LAUNCH': {
          for (const task of op.launch?.task_infos ?? []) {
            const err = validateTask(task, this.taskContext(fw, agent), remaining);
            if (err !== undefined) {
              this.taskErrors(fw, [task], err, 'REASON_TASK_INVALID');
              continue;
            }
            let consumed = normalize(task.resources ?? []);
            const executor = task.executor;
            const newExecutor = executor !== undefined && fw.executors.get(agent.id)?.has(executor.executor_id.value) !== true;
            if (executor !== undefined && newExecutor) {
              this.addExecutor(fw, agent, executor);
              consumed = addResources(consumed, executor.resources ?? []);
            }
            this.addTask(fw, agent, task, executor?.executor_id.value);
            remaining = subtractResources(remaining, consumed);
            agent.link.launchTasks(fw.info, [task]);
          }
          break;
        }
        case 'LAUNCH_GROUP': {
          const group = op.launch_group;
          if (group === undefined) break;
          const tasks = group.task_group.tasks ?? [];
          const err = validateTaskGroup(tasks, group.executor, this.taskContext(fw, agent), remaining);
          if (err !== undefined) {
            this.taskErrors(fw, tasks, err, 'REASON_TASK_GROUP_INVALID');
            break;
          }
          let consumed = normalize(tasks.flatMap((t) => t.resources ?? []));
          if (fw.executors.get(agent.id)?.has(group.executor.executor_id.value) !== true) {
            this.addExecutor(fw, agent, group.executor);
            consumed = addResources(consumed, group.executor.resources ?? []);
          }
          for (const task of tasks) this.addTask(fw, agent, task, group.executor.executor_id.value);
          remaining = subtractResources(remaining, consumed);
          agent.link.launchGroup(fw.info, group.executor, tasks);
          break;
        }
        case 'GROW_VOLUME':
        case 'SHRINK_VOLUME':
        case 'CREATE_DISK':
        case 'DESTROY_DISK':
          this.dropOperation(fw, op, `${op.type} is not supported by the simulated agents${where}`);
          break;
        case 'UNKNOWN':
          this.logger.warn('ignoring unknown operation', { frameworkId: fw.id });
          break;
      }
    }

    // Net resources created by speculative operations come back without a filter; the rest of the
    // offer is implicitly declined with accept.filters (item 118).
    const converted = subtractResources(remaining, offered);
    const declined = subtractResources(remaining, converted);
    const duration = refuseDurationMs(accept.filters, this.allocationIntervalMs);
    if (duration !== undefined && declined.length > 0) fw.filters.add(role, agent.id, declined, duration, Date.now());
    if (converted.length > 0) this.scheduleAllocation();
  }

  private validateOffers(fw: FrameworkRecord, ids: readonly string[]): string | undefined {
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) return `Duplicate offer ${id} in offer list`;
      seen.add(id);
    }
    for (const id of ids) if (!this.offers.has(id)) return `Offer ${id} is no longer valid`;
    for (const id of ids) {
      const offer = this.offers.get(id);
      if (offer !== undefined && offer.frameworkId !== fw.id) {
        return `Offer ${id} has invalid framework ${offer.frameworkId} while framework ${fw.id} is expected`;
      }
    }
    let role: string | undefined;
    for (const id of ids) {
      const offer = this.offers.get(id);
      if (offer === undefined) continue;
      if (role === undefined) role = offer.role;
      else if (offer.role !== role) {
        return `Aggregated offers must be allocated to the same role. Offer ${id} uses role '${offer.role} but another is using role '${role}`;
      }
    }
    let agentId: string | undefined;
    for (const id of ids) {
      const offer = this.offers.get(id);
      if (offer === undefined) continue;
      if (agentId === undefined) agentId = offer.agentId;
      else if (offer.agentId !== agentId) {
        return `Aggregated offers must belong to one single agent. Offer ${id} uses agent ${offer.agentId} and agent ${agentId}`;
      }
    }
    return undefined;
  }

  private taskContext(fw: FrameworkRecord, agent: AgentRecord): TaskValidationContext {
    return {
      frameworkId: fw.id,
      agentId: agent.id,
      existingTask: (taskId) => (fw.tasks.has(taskId) ? 'live' : fw.unreachableTasks.has(taskId) ? 'unreachable' : undefined),
      existingExecutor: (executorId) => agent.executors.get(fw.id)?.get(executorId),
    };
  }

  private taskErrors(fw: FrameworkRecord, tasks: readonly TaskInfo[], message: string, reason: string): void {
    for (const task of tasks) {
      this.sendUpdate(
        fw,
        masterStatus({ taskId: task.task_id.value, agentId: task.agent_id.value, state: 'TASK_ERROR', message, reason }),
      );
    }
  }

  /** An operation that failed validation: OPERATION_ERROR if it asked for feedback, else just a log line. */
  private dropOperation(fw: FrameworkRecord, op: Operation, message: string): void {
    this.logger.warn('dropping operation', { frameworkId: fw.id, type: op.type, message });
    if (op.id === undefined) return;
    this.send(fw, {
      type: 'UPDATE_OPERATION_STATUS',
      update_operation_status: { status: { operation_id: op.id, state: 'OPERATION_ERROR', message } },
    });
  }

  /** Operations with an id get OPERATION_FINISHED feedback (agents here have AGENT_OPERATION_FEEDBACK). */
  private operationFinished(fw: FrameworkRecord, agent: AgentRecord, op: Operation, converted: readonly Resource[]): void {
    if (op.id === undefined) return;
    const status: OperationStatus = {
      operation_id: op.id,
      state: 'OPERATION_FINISHED',
      converted_resources: this.formatResources(fw, converted),
      uuid: { value: uuidBytes() },
      agent_id: { value: agent.id },
    };
    let known = this.operationStatuses.get(fw.id);
    if (known === undefined) {
      known = new Map();
      this.operationStatuses.set(fw.id, known);
    }
    known.set(op.id.value, status);
    this.send(fw, { type: 'UPDATE_OPERATION_STATUS', update_operation_status: { status } });
  }

  private convertAgentResources(agent: AgentRecord, consumed: readonly Resource[], converted: readonly Resource[]): void {
    const next = applyConversion(agent.total, unallocate(consumed), unallocate(converted));
    if (!next.ok) {
      this.logger.error('agent total does not hold converted resources', { agentId: agent.id, error: next.error });
      return;
    }
    agent.total = next.resources;
    agent.link.updateTotalResources(agent.total.map(cloneResource));
  }

  private describeAgent(agent: AgentRecord): string {
    return `${agent.id} at slave(1)@${agent.ip}:${agent.port} (${agent.hostname})`;
  }

  // ---- tasks and executors ------------------------------------------------------------------------

  private addTask(fw: FrameworkRecord, agent: AgentRecord, info: TaskInfo, executorId: string | undefined): void {
    const task: MasterTask = {
      info,
      frameworkId: fw.id,
      agentId: agent.id,
      state: 'TASK_STAGING',
      statuses: [],
      role: info.resources?.[0]?.allocation_info?.role ?? fw.roles[0] ?? '*',
    };
    if (executorId !== undefined) task.executorId = executorId;
    fw.tasks.set(info.task_id.value, task);
    let byFramework = agent.tasks.get(fw.id);
    if (byFramework === undefined) {
      byFramework = new Map();
      agent.tasks.set(fw.id, byFramework);
    }
    byFramework.set(info.task_id.value, task);
    addInto(agent.used, unallocate(info.resources ?? []));
  }

  private addExecutor(fw: FrameworkRecord, agent: AgentRecord, executor: ExecutorInfo): void {
    let onAgent = fw.executors.get(agent.id);
    if (onAgent === undefined) {
      onAgent = new Map();
      fw.executors.set(agent.id, onAgent);
    }
    onAgent.set(executor.executor_id.value, executor);
    let byFramework = agent.executors.get(fw.id);
    if (byFramework === undefined) {
      byFramework = new Map();
      agent.executors.set(fw.id, byFramework);
    }
    byFramework.set(executor.executor_id.value, executor);
    addInto(agent.used, unallocate(executor.resources ?? []));
  }

  private removeExecutor(agent: AgentRecord, frameworkId: string, executorId: string): void {
    const executor = agent.executors.get(frameworkId)?.get(executorId);
    if (executor === undefined) return;
    agent.executors.get(frameworkId)?.delete(executorId);
    if (agent.executors.get(frameworkId)?.size === 0) agent.executors.delete(frameworkId);
    this.frameworks.get(frameworkId)?.executors.get(agent.id)?.delete(executorId);
    subtractFrom(agent.used, unallocate(executor.resources ?? []));
  }

  /** Record a state change; release resources when the task turns terminal or unreachable. */
  private updateTaskState(task: MasterTask, status: TaskStatus, latestState?: TaskState): void {
    const wasDone = isTerminalState(task.state) || task.state === 'TASK_UNREACHABLE';
    if (!isTerminalState(task.state)) task.state = latestState ?? status.state;
    const nowDone = isTerminalState(task.state) || task.state === 'TASK_UNREACHABLE';
    // Only what /master/state and reconciliation read is kept (Mesos drops `data`; the rest is noise here).
    const stored: TaskStatus = { task_id: status.task_id, state: status.state };
    if (status.timestamp !== undefined) stored.timestamp = status.timestamp;
    if (status.healthy !== undefined) stored.healthy = status.healthy;
    if (status.labels !== undefined) stored.labels = status.labels;
    if (status.container_status !== undefined) stored.container_status = status.container_status;
    const last = task.statuses[task.statuses.length - 1];
    if (last !== undefined && last.state === status.state) task.statuses.pop();
    task.statuses.push(stored);
    if (!wasDone && nowDone) {
      const agent = this.agents.get(task.agentId);
      if (agent !== undefined) subtractFrom(agent.used, unallocate(task.info.resources ?? []));
    }
  }

  /** Remove a task from the framework and agent maps (resources were released when it turned terminal). */
  private removeTask(task: MasterTask, unreachable: boolean): void {
    const agent = this.agents.get(task.agentId);
    if (!isTerminalState(task.state) && task.state !== 'TASK_UNREACHABLE' && agent !== undefined) {
      subtractFrom(agent.used, unallocate(task.info.resources ?? []));
    }
    const fw = this.frameworks.get(task.frameworkId);
    const taskId = task.info.task_id.value;
    if (fw !== undefined) {
      fw.tasks.delete(taskId);
      if (unreachable) {
        fw.unreachableTasks.set(taskId, task);
        let byAgent = this.unreachableTasksByAgent.get(task.agentId);
        if (byAgent === undefined) {
          byAgent = new Map();
          this.unreachableTasksByAgent.set(task.agentId, byAgent);
        }
        const ids = byAgent.get(fw.id) ?? new Set<string>();
        ids.add(taskId);
        byAgent.set(fw.id, ids);
      }
    }
    agent?.tasks.get(task.frameworkId)?.delete(taskId);
    if (agent?.tasks.get(task.frameworkId)?.size === 0) agent.tasks.delete(task.frameworkId);
    agent?.pendingKills.delete(`${task.frameworkId}\u0000${taskId}`);
  }

  // ---- events to frameworks -----------------------------------------------------------------------

  private send(fw: FrameworkRecord, event: Event): void {
    if (!fw.connected || fw.sink === undefined) return;
    fw.sink.send(event);
  }

  private sendUpdate(fw: FrameworkRecord, status: TaskStatus): void {
    this.send(fw, { type: 'UPDATE', update: { status } });
  }

  /** Resources as a framework sees them: allocation info only for MULTI_ROLE, pre-refinement format without RESERVATION_REFINEMENT. */
  formatResources(fw: FrameworkRecord, resources: readonly Resource[]): Resource[] {
    const multiRole = fw.hasCapability('MULTI_ROLE');
    const refinement = fw.hasCapability('RESERVATION_REFINEMENT');
    const out: Resource[] = [];
    for (const r of resources) {
      const copy = cloneResource(r);
      if (!multiRole) delete copy.allocation_info;
      if (refinement) {
        out.push(copy);
      } else {
        const down = downgradeResource(copy);
        if (down !== undefined) out.push(down);
      }
    }
    return out;
  }

  // ---- offers and allocation ----------------------------------------------------------------------

  /** Run an allocation round soon (after a framework or agent joins, REVIVE, …). */
  scheduleAllocation(): void {
    if (this.allocationPending || this.stopped) return;
    this.allocationPending = true;
    setImmediate(() => {
      this.allocationPending = false;
      this.allocate();
    });
  }

  /** One allocation round: offer every agent's available resources to the frameworks' unsuppressed roles. */
  allocate(): void {
    if (this.stopped) return;
    const now = Date.now();
    const candidates = [...this.frameworks.values()].filter((fw) => fw.connected && fw.active);
    if (candidates.length === 0) return;
    // Round-robin the framework order between rounds (a simple stand-in for DRF ordering).
    const start = this.roundRobin++ % candidates.length;
    const ordered = [...candidates.slice(start), ...candidates.slice(0, start)];
    const batches = new Map<FrameworkRecord, Offer[]>();

    for (const agent of this.agents.values()) {
      if (!agent.connected) continue;
      let available = subtractResources(agent.total, addResources(agent.used, agent.offered));
      if (available.length === 0) continue;
      for (const fw of ordered) {
        if (agent.hasGpus && !fw.hasCapability('GPU_RESOURCES')) continue;
        const refinement = fw.hasCapability('RESERVATION_REFINEMENT');
        for (const role of fw.roles) {
          if (fw.suppressedRoles.has(role)) continue;
          const offerable = offerableTo(available, role, refinement);
          if (offerable.length === 0 || !meetsMinAllocatable(offerable, this.minAllocatable)) continue;
          if (fw.filters.filtered(role, agent.id, offerable, now)) continue;
          const offer = this.createOffer(fw, agent, role, offerable);
          const batch = batches.get(fw) ?? [];
          batch.push(offer);
          batches.set(fw, batch);
          available = subtractResources(available, offerable);
          if (available.length === 0) break;
        }
        if (available.length === 0) break;
      }
    }
    for (const [fw, offers] of batches) this.send(fw, { type: 'OFFERS', offers: { offers } });
  }

  private createOffer(fw: FrameworkRecord, agent: AgentRecord, role: string, resources: Resource[]): Offer {
    const allocated = resources.map((r) => ({ ...cloneResource(r), allocation_info: { role } }));
    const id = `${this.info.id}-O${this.nextOfferId++}`;
    const offer: Offer = {
      id: { value: id },
      framework_id: { value: fw.id },
      agent_id: { value: agent.id },
      hostname: agent.hostname,
      url: { scheme: 'http', address: { hostname: agent.hostname, ip: agent.ip, port: agent.port }, path: '/slave(1)' },
      resources: this.formatResources(fw, allocated),
    };
    if (agent.attributes.length > 0) offer.attributes = agent.attributes;
    const executors = [...(fw.executors.get(agent.id)?.keys() ?? [])];
    if (executors.length > 0) offer.executor_ids = executors.map((value) => ({ value }));
    if (fw.hasCapability('MULTI_ROLE')) offer.allocation_info = { role };
    const record: OfferRecord = { offer, frameworkId: fw.id, agentId: agent.id, role, resources: allocated };
    if (this.offerTimeoutMs !== undefined) {
      record.timer = setTimeout(() => {
        const current = this.offers.get(id);
        if (current !== undefined) this.removeOffer(current, { rescind: true });
      }, this.offerTimeoutMs);
      record.timer.unref();
    }
    this.offers.set(id, record);
    fw.offers.add(id);
    agent.offers.add(id);
    addInto(agent.offered, unallocate(allocated));
    return offer;
  }

  /**
   * Take an offer out. `rescind` sends RESCIND; `filters` installs a decline filter for its resources;
   * `keepResources` is for ACCEPT, which consumes the resources itself.
   */
  private removeOffer(offer: OfferRecord, opts: { rescind: boolean; filters?: Filters; keepResources?: boolean }): void {
    const id = offer.offer.id.value;
    if (!this.offers.delete(id)) return;
    if (offer.timer !== undefined) clearTimeout(offer.timer);
    const fw = this.frameworks.get(offer.frameworkId);
    const agent = this.agents.get(offer.agentId);
    fw?.offers.delete(id);
    if (agent !== undefined) {
      agent.offers.delete(id);
      subtractFrom(agent.offered, unallocate(offer.resources));
    }
    if (fw !== undefined && opts.rescind) this.send(fw, { type: 'RESCIND', rescind: { offer_id: { value: id } } });
    if (fw !== undefined && opts.filters !== undefined && opts.keepResources !== true) {
      const duration = refuseDurationMs(opts.filters, this.allocationIntervalMs);
      if (duration !== undefined) fw.filters.add(offer.role, offer.agentId, offer.resources, duration, Date.now());
    }
  }

  // ---- agents -------------------------------------------------------------------------------------

  /** An agent registers for the first time or re-registers (after a partition, crash, or master failover). */
  registerAgent(reg: AgentRegistration): void {
    if (this.goneAgents.has(reg.id)) {
      this.logger.warn('refusing registration of an agent marked gone', { agentId: reg.id });
      return;
    }
    const wasUnreachable = this.unreachableAgents.has(reg.id);
    this.unreachableAgents.delete(reg.id);
    this.removedAgents.delete(reg.id);

    // A framework the master does not know yet (master failover): recover it from the agent's report.
    for (const info of reg.frameworks) {
      const fid = info.id?.value;
      if (fid === undefined || this.frameworks.has(fid) || this.completedFrameworks.has(fid)) continue;
      const fw = new FrameworkRecord(fid, info, Date.now());
      fw.recovered = true;
      this.frameworks.set(fid, fw);
    }

    let agent = this.agents.get(reg.id);
    const reregistering = agent !== undefined;
    if (agent === undefined) {
      agent = {
        id: reg.id,
        hostname: reg.hostname,
        ip: reg.ip,
        port: reg.port,
        total: normalize(reg.resources),
        attributes: reg.attributes,
        link: reg.link,
        connected: true,
        used: [],
        offered: [],
        offers: new Set(),
        tasks: new Map(),
        executors: new Map(),
        registeredTime: Date.now(),
        pendingKills: new Map(),
        hasGpus: scalar(reg.resources, 'gpus') > 0,
      };
      this.agents.set(reg.id, agent);
    } else {
      agent.link = reg.link;
      agent.connected = true;
      agent.total = normalize(reg.resources);
      agent.reregisteredTime = Date.now();
    }
    const record = agent;

    for (const { frameworkId, executor } of reg.executors) {
      const fw = this.frameworks.get(frameworkId);
      if (fw === undefined || record.executors.get(frameworkId)?.has(executor.executor_id.value) === true) continue;
      this.addExecutor(fw, record, executor);
    }

    const readded: MasterTask[] = [];
    for (const t of reg.tasks) {
      const fw = this.frameworks.get(t.frameworkId);
      if (fw === undefined) continue;
      const taskId = t.task.task_id.value;
      if (record.tasks.get(fw.id)?.has(taskId) === true) continue;
      const task: MasterTask = fw.unreachableTasks.get(taskId) ?? {
        info: t.task,
        frameworkId: fw.id,
        agentId: record.id,
        state: t.state,
        statuses: t.lastStatus === undefined ? [] : [t.lastStatus],
        role: t.task.resources?.[0]?.allocation_info?.role ?? fw.roles[0] ?? '*',
      };
      fw.unreachableTasks.delete(taskId);
      task.state = t.state;
      delete task.unreachableTime;
      if (t.executorId !== undefined) task.executorId = t.executorId;
      if (t.statusUpdateState !== undefined) task.statusUpdateState = t.statusUpdateState;
      if (t.statusUpdateUuid !== undefined) task.statusUpdateUuid = t.statusUpdateUuid;
      fw.tasks.set(taskId, task);
      let byFramework = record.tasks.get(fw.id);
      if (byFramework === undefined) {
        byFramework = new Map();
        record.tasks.set(fw.id, byFramework);
      }
      byFramework.set(taskId, task);
      if (!isTerminalState(task.state)) addInto(record.used, unallocate(task.info.resources ?? []));
      readded.push(task);
    }
    this.unreachableTasksByAgent.delete(record.id);

    if (wasUnreachable) {
      // Tell the frameworks the current state of what came back (item 167).
      for (const task of readded) {
        const fw = this.frameworks.get(task.frameworkId);
        if (fw === undefined) continue;
        const fields: Parameters<typeof masterStatus>[0] = {
          taskId: task.info.task_id.value,
          agentId: record.id,
          state: task.state,
          message: 'Agent reregistered',
          reason: 'REASON_AGENT_REREGISTERED',
        };
        if (task.executorId !== undefined) fields.executorId = task.executorId;
        this.sendUpdate(fw, masterStatus(fields));
      }
    }
    if (reregistering || wasUnreachable) {
      for (const [key, pending] of record.pendingKills) {
        const taskId = key.split('\u0000')[1] ?? '';
        if (record.tasks.get(pending.frameworkId)?.has(taskId) === true) {
          record.link.killTask(pending.frameworkId, taskId, pending.killPolicy);
        } else {
          record.pendingKills.delete(key);
        }
      }
    }
    this.logger.info(reregistering || wasUnreachable ? 'agent reregistered' : 'agent registered', { agentId: record.id });
    this.scheduleAllocation();
  }

  /** The connection to an agent broke (agent process crashed): non-checkpointing frameworks lose their tasks now (item 168). */
  agentDisconnected(agentId: string): void {
    const agent = this.agents.get(agentId);
    if (agent === undefined || !agent.connected) return;
    agent.connected = false;
    for (const [frameworkId, tasks] of [...agent.tasks]) {
      const fw = this.frameworks.get(frameworkId);
      if (fw === undefined || fw.info.checkpoint === true) continue;
      for (const task of [...tasks.values()]) {
        const fields: Parameters<typeof masterStatus>[0] = {
          taskId: task.info.task_id.value,
          agentId,
          state: 'TASK_LOST',
          message: `Agent ${agent.hostname} disconnected`,
          reason: 'REASON_AGENT_DISCONNECTED',
        };
        if (task.executorId !== undefined) fields.executorId = task.executorId;
        const status = masterStatus(fields);
        this.updateTaskState(task, status);
        this.removeTask(task, false);
        fw.addCompletedTask(task);
        this.sendUpdate(fw, status);
      }
      for (const executorId of [...(agent.executors.get(frameworkId)?.keys() ?? [])]) this.removeExecutor(agent, frameworkId, executorId);
    }
    for (const offerId of [...agent.offers]) {
      const offer = this.offers.get(offerId);
      if (offer !== undefined) this.removeOffer(offer, { rescind: true });
    }
  }

  /** Health checks failed (partition or a crashed agent that stays away): TASK_UNREACHABLE / TASK_LOST (item 166). */
  markAgentUnreachable(agentId: string, message = 'health check timed out'): void {
    const agent = this.agents.get(agentId);
    if (agent === undefined) return;
    const when = timeInfoNow();
    this.unreachableAgents.set(agentId, when);
    this.removeAgentRecord(agent, { message, unreachableTime: when });
  }

  /** The operator marked the agent gone (reachable or not): TASK_GONE_BY_OPERATOR / TASK_LOST. */
  markAgentGone(agentId: string): void {
    const message = 'Agent has been marked gone';
    const when = timeInfoNow();
    this.goneAgents.set(agentId, when);
    const agent = this.agents.get(agentId);
    if (agent !== undefined) {
      this.removeAgentRecord(agent, { message });
      return;
    }
    if (!this.unreachableAgents.delete(agentId)) return;
    const byFramework = this.unreachableTasksByAgent.get(agentId);
    this.unreachableTasksByAgent.delete(agentId);
    for (const [frameworkId, taskIds] of byFramework ?? []) {
      const fw = this.frameworks.get(frameworkId);
      if (fw === undefined) continue;
      for (const taskId of taskIds) {
        const task = fw.unreachableTasks.get(taskId);
        if (task === undefined) continue;
        const fields: Parameters<typeof masterStatus>[0] = {
          taskId,
          agentId,
          state: fw.partitionAware ? 'TASK_GONE_BY_OPERATOR' : 'TASK_LOST',
          message,
          reason: fw.partitionAware ? 'REASON_AGENT_REMOVED_BY_OPERATOR' : 'REASON_AGENT_REMOVED',
        };
        if (task.executorId !== undefined) fields.executorId = task.executorId;
        const status = masterStatus(fields);
        task.state = status.state;
        task.statuses.push(status);
        fw.unreachableTasks.delete(taskId);
        fw.addCompletedTask(task);
        this.sendUpdate(fw, status);
      }
    }
  }

  /** The agent unregistered (orderly shutdown or removal): its tasks are TASK_LOST. */
  removeAgent(agentId: string, cause = 'the agent unregistered'): void {
    const agent = this.agents.get(agentId);
    if (agent === undefined) return;
    this.removedAgents.add(agentId);
    for (const [frameworkId, tasks] of [...agent.tasks]) {
      const fw = this.frameworks.get(frameworkId);
      for (const task of [...tasks.values()]) {
        const fields: Parameters<typeof masterStatus>[0] = {
          taskId: task.info.task_id.value,
          agentId,
          state: 'TASK_LOST',
          message: `Agent ${agent.hostname} removed: ${cause}`,
          reason: 'REASON_AGENT_REMOVED',
        };
        if (task.executorId !== undefined) fields.executorId = task.executorId;
        const status = masterStatus(fields);
        this.updateTaskState(task, status);
        this.removeTask(task, false);
        if (fw !== undefined) {
          fw.addCompletedTask(task);
          this.sendUpdate(fw, status);
        }
      }
    }
    this.finishAgentRemoval(agent);
  }

  /**
   * Common part of unreachable / gone: tasks become UNREACHABLE (with unreachable_time) or GONE_BY_OPERATOR
   * for PARTITION_AWARE frameworks, LOST otherwise; then offers are rescinded and FAILURE is sent.
   */
  private removeAgentRecord(agent: AgentRecord, opts: { message: string; unreachableTime?: TimeInfo }): void {
    const unreachable = opts.unreachableTime !== undefined;
    for (const [frameworkId, tasks] of [...agent.tasks]) {
      const fw = this.frameworks.get(frameworkId);
      let state: TaskState = unreachable ? 'TASK_UNREACHABLE' : 'TASK_GONE_BY_OPERATOR';
      let reason = unreachable ? 'REASON_AGENT_REMOVED' : 'REASON_AGENT_REMOVED_BY_OPERATOR';
      let keepUnreachable = unreachable;
      if (fw === undefined || !fw.partitionAware) {
        state = 'TASK_LOST';
        reason = 'REASON_AGENT_REMOVED';
        keepUnreachable = unreachable;
      }
      for (const task of [...tasks.values()]) {
        const fields: Parameters<typeof masterStatus>[0] = {
          taskId: task.info.task_id.value,
          agentId: agent.id,
          state,
          message: opts.message,
          reason,
        };
        if (task.executorId !== undefined) fields.executorId = task.executorId;
        if (opts.unreachableTime !== undefined) fields.unreachableTime = opts.unreachableTime;
        const status = masterStatus(fields);
        // TASK_LOST for an unreachable agent still keeps the task among the unreachable ones, so it comes
        // back on re-registration; the update itself is what the framework sees.
        if (!isTerminalState(task.state) && task.state !== 'TASK_UNREACHABLE') {
          subtractFrom(agent.used, unallocate(task.info.resources ?? []));
        }
        task.state = keepUnreachable ? 'TASK_UNREACHABLE' : state;
        if (opts.unreachableTime !== undefined) task.unreachableTime = opts.unreachableTime;
        task.statuses.push(status);
        this.removeTask(task, keepUnreachable);
        if (fw !== undefined) {
          if (!keepUnreachable) fw.addCompletedTask(task);
          this.sendUpdate(fw, status);
        }
      }
    }
    this.finishAgentRemoval(agent);
  }

  private finishAgentRemoval(agent: AgentRecord): void {
    for (const [frameworkId, executors] of [...agent.executors]) {
      for (const executorId of [...executors.keys()]) this.removeExecutor(agent, frameworkId, executorId);
    }
    for (const offerId of [...agent.offers]) {
      const offer = this.offers.get(offerId);
      if (offer !== undefined) this.removeOffer(offer, { rescind: true });
    }
    this.agents.delete(agent.id);
    for (const fw of this.frameworks.values()) {
      fw.filters.clearAgent(agent.id);
      this.send(fw, { type: 'FAILURE', failure: { agent_id: { value: agent.id } } });
    }
  }

  // ---- agent uplink -------------------------------------------------------------------------------

  /** An agent-originated status update (carries a uuid; retried by the agent until acknowledged). */
  agentStatusUpdate(agentId: string, frameworkId: string, status: TaskStatus, latestState?: TaskState): void {
    const agent = this.agents.get(agentId);
    if (agent === undefined || !agent.connected) return;
    const fw = this.frameworks.get(frameworkId);
    if (fw === undefined) {
      this.logger.warn('dropping status update for an unknown framework', { agentId, frameworkId });
      return;
    }
    const update: TaskStatus = { ...status, agent_id: status.agent_id ?? { value: agentId } };
    update.timestamp ??= nowSeconds();
    const task = agent.tasks.get(frameworkId)?.get(update.task_id.value);
    if (task !== undefined) {
      // The agent's latest state may be ahead of the update it forwards (older ones await their ACK):
      // resources are released as soon as that latest state is terminal (item 147).
      this.updateTaskState(task, update, latestState);
      if (update.uuid !== undefined) {
        task.statusUpdateState = update.state;
        task.statusUpdateUuid = update.uuid;
      }
    }
    this.sendUpdate(fw, update);
  }

  agentExecutorMessage(agentId: string, frameworkId: string, executorId: string, data: Buffer): void {
    const agent = this.agents.get(agentId);
    const fw = this.frameworks.get(frameworkId);
    if (agent === undefined || !agent.connected || fw === undefined) return;
    this.send(fw, { type: 'MESSAGE', message: { agent_id: { value: agentId }, executor_id: { value: executorId }, data } });
  }

  /** A custom or default executor exited: release its resources, FAILURE to its framework (item 99). */
  agentExecutorExited(agentId: string, frameworkId: string, executorId: string, waitStatus: number): void {
    const agent = this.agents.get(agentId);
    if (agent === undefined || !agent.connected) return;
    if (agent.executors.get(frameworkId)?.has(executorId) !== true) return;
    this.removeExecutor(agent, frameworkId, executorId);
    const fw = this.frameworks.get(frameworkId);
    if (fw !== undefined) {
      this.send(fw, {
        type: 'FAILURE',
        failure: { agent_id: { value: agentId }, executor_id: { value: executorId }, status: waitStatus },
      });
    }
  }

  // ---- framework removal --------------------------------------------------------------------------

  /** TEARDOWN or failover timeout: kill everything of the framework and forget it (item 59, 66). */
  removeFramework(fw: FrameworkRecord): void {
    this.clearFrameworkTimers(fw);
    const sink = fw.sink;
    fw.sink = undefined;
    fw.connected = false;
    fw.active = false;
    sink?.close();
    for (const offerId of [...fw.offers]) {
      const offer = this.offers.get(offerId);
      if (offer !== undefined) this.removeOffer(offer, { rescind: false });
    }
    for (const task of [...fw.tasks.values()]) {
      if (!isTerminalState(task.state)) {
        const fields: Parameters<typeof masterStatus>[0] = {
          taskId: task.info.task_id.value,
          agentId: task.agentId,
          state: 'TASK_KILLED',
          message: `Framework ${fw.id} removed`,
          reason: 'REASON_FRAMEWORK_REMOVED',
        };
        if (task.executorId !== undefined) fields.executorId = task.executorId;
        this.updateTaskState(task, masterStatus(fields));
      }
      this.removeTask(task, false);
      fw.addCompletedTask(task);
    }
    for (const task of fw.unreachableTasks.values()) fw.addCompletedTask(task);
    fw.unreachableTasks.clear();
    for (const agent of this.agents.values()) {
      for (const executorId of [...(agent.executors.get(fw.id)?.keys() ?? [])]) this.removeExecutor(agent, fw.id, executorId);
      if (agent.connected) agent.link.shutdownFramework(fw.id);
    }
    this.operationStatuses.delete(fw.id);
    this.frameworks.delete(fw.id);
    fw.unregisteredTime = Date.now();
    this.completedFrameworks.set(fw.id, fw);
    while (this.completedFrameworks.size > this.maxCompletedFrameworks) {
      const oldest = this.completedFrameworks.keys().next().value;
      if (oldest === undefined) break;
      this.completedFrameworks.delete(oldest);
    }
  }

  // ---- reconciliation view ------------------------------------------------------------------------

  private agentStanding(agentId: string): AgentStanding {
    if (this.agents.has(agentId)) return 'registered';
    if (this.unreachableAgents.has(agentId)) return 'unreachable';
    if (this.goneAgents.has(agentId)) return 'gone';
    return 'unknown';
  }

  private reconcileView(fw: FrameworkRecord): ReconcileView {
    return {
      partitionAware: fw.partitionAware,
      task: (taskId) => fw.tasks.get(taskId),
      tasks: () => fw.tasks.values(),
      agentStanding: (agentId) => this.agentStanding(agentId),
      unreachableTime: (agentId) => this.unreachableAgents.get(agentId),
      anyAgentRecovering: () => false,
    };
  }

  // ---- introspection (control API, /master/state, tests) -------------------------------------------

  frameworkRecords(): FrameworkRecord[] {
    return [...this.frameworks.values()];
  }

  completedFrameworkRecords(): FrameworkRecord[] {
    return [...this.completedFrameworks.values()];
  }

  agentRecords(): AgentRecord[] {
    return [...this.agents.values()];
  }

  offerRecords(): OfferRecord[] {
    return [...this.offers.values()];
  }

  unreachableAgentIds(): string[] {
    return [...this.unreachableAgents.keys()];
  }

  goneAgentIds(): string[] {
    return [...this.goneAgents.keys()];
  }

  hasAgent(agentId: string): boolean {
    return this.agents.has(agentId);
  }

  /** The agent's record when registered and connected. */
  connectedAgent(agentId: string): AgentRecord | undefined {
    const agent = this.agents.get(agentId);
    return agent?.connected === true ? agent : undefined;
  }
}

// ---- operation helpers ----------------------------------------------------------------------------

function launchedTasks(op: Operation): TaskInfo[] | undefined {
  if (op.type === 'LAUNCH') return op.launch?.task_infos ?? [];
  if (op.type === 'LAUNCH_GROUP') return op.launch_group?.task_group.tasks ?? [];
  return undefined;
}

function sameVolume(a: Resource, b: Resource): boolean {
  return (
    a.disk?.persistence?.id === b.disk?.persistence?.id && reservationRole(unallocate([a])[0] ?? a) === reservationRole(unallocate([b])[0] ?? b)
  );
}

/** Every resource list inside an operation (task, executor, reserve, create …). */
function operationResourceLists(op: Operation): Array<{ get: () => Resource[] | undefined; set: (rs: Resource[]) => void }> {
  const lists: Array<{ get: () => Resource[] | undefined; set: (rs: Resource[]) => void }> = [];
  const task = (t: TaskInfo): void => {
    lists.push({ get: () => t.resources, set: (rs) => (t.resources = rs) });
    const executor = t.executor;
    if (executor !== undefined) lists.push({ get: () => executor.resources, set: (rs) => (executor.resources = rs) });
  };
  switch (op.type) {
    case 'LAUNCH':
      for (const t of op.launch?.task_infos ?? []) task(t);
      break;
    case 'LAUNCH_GROUP': {
      const group = op.launch_group;
      if (group !== undefined) {
        lists.push({ get: () => group.executor.resources, set: (rs) => (group.executor.resources = rs) });
        for (const t of group.task_group.tasks ?? []) task(t);
      }
      break;
    }
    case 'RESERVE': {
      const reserve = op.reserve;
      if (reserve !== undefined) {
        lists.push({ get: () => reserve.resources, set: (rs) => (reserve.resources = rs) });
        lists.push({ get: () => reserve.source, set: (rs) => (reserve.source = rs) });
      }
      break;
    }
    case 'UNRESERVE': {
      const unreserve = op.unreserve;
      if (unreserve !== undefined) lists.push({ get: () => unreserve.resources, set: (rs) => (unreserve.resources = rs) });
      break;
    }
    case 'CREATE': {
      const create = op.create;
      if (create !== undefined) lists.push({ get: () => create.volumes, set: (rs) => (create.volumes = rs) });
      break;
    }
    case 'DESTROY': {
      const destroy = op.destroy;
      if (destroy !== undefined) lists.push({ get: () => destroy.volumes, set: (rs) => (destroy.volumes = rs) });
      break;
    }
    case 'GROW_VOLUME':
    case 'SHRINK_VOLUME':
    case 'CREATE_DISK':
    case 'DESTROY_DISK':
    case 'UNKNOWN':
      break;
  }
  return lists;
}

/** Validate every resource of the operation, then convert them to the post-refinement format. */
function upgradeOperationResources(op: Operation): string | undefined {
  for (const list of operationResourceLists(op)) {
    const rs = list.get();
    if (rs === undefined) continue;
    const error = validateResources(rs);
    if (error !== undefined) return `Invalid resources: ${error}`;
  }
  for (const list of operationResourceLists(op)) {
    const rs = list.get();
    if (rs !== undefined) list.set(rs.map(upgradeResource));
  }
  return undefined;
}

/** What the master adjusts before processing: allocation info, executor framework ids, health check types. */
function normalizeOperation(op: Operation, role: string, frameworkId: string): void {
  if (op.type === 'LAUNCH_GROUP' && op.launch_group !== undefined) {
    const executor = op.launch_group.executor;
    executor.framework_id ??= { value: frameworkId };
    executor.resources = injectAllocationInfo(executor.resources, role);
    for (const task of op.launch_group.task_group.tasks ?? []) {
      task.resources = injectAllocationInfo(task.resources, role);
      task.executor ??= structuredClone(executor);
    }
    return;
  }
  for (const list of operationResourceLists(op)) {
    const rs = list.get();
    if (rs !== undefined) list.set(injectAllocationInfo(rs, role));
  }
  if (op.type === 'LAUNCH') {
    for (const task of op.launch?.task_infos ?? []) {
      if (task.executor !== undefined) task.executor.framework_id ??= { value: frameworkId };
      const check = task.health_check;
      if (check !== undefined && check.type === undefined) {
        if (check.command !== undefined && check.http === undefined) check.type = 'COMMAND';
        else if (check.http !== undefined && check.command === undefined) check.type = 'HTTP';
      }
    }
  }
}

/** 16 random bytes of a version-4 UUID. */
function uuidBytes(): Buffer {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
}
