/**
 * Turns the core's Mesos-facing actions into scheduler calls. Calls are *issued* strictly in the order of
 * the action list without waiting for each answer: the client writes them on one connection in call order
 * (docs/mesos-client.md, "Call ordering"), so the master handles them in that order, and a slow DECLINE does
 * not hold up the decision loop. Persists are not handled here: the leader term writes them first and only
 * then hands the rest of the list over (except a launching ACCEPT, which it issues through `execute` as
 * soon as the transaction with its own records is acknowledged, ahead of the rest of the list).
 *
 * Failures: calls are at most once and never retried here. An ACCEPT that certainly did not reach the
 * master (not subscribed, refused with 4xx, redirected, 503) is reported back to the core as
 * `acceptFailed`, so its launches are redone; an ACCEPT whose outcome is unknown (stream cut, timeout) is
 * left to the core's STAGING reconciliation. Lost KILLs are re-sent by the core; lost ACKNOWLEDGEs make
 * the agent resend the update; a lost REVIVE is redone after the next SUBSCRIBED.
 */
import type { AcceptAction, Action, DeclineAction, KillAction, ReconcileAction } from '../core/actions.js';
import type { Call, KillPolicy } from '../mesos/types.js';
import { KmfError, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { MesosDriver } from './mesos-driver.js';
import { RUNTIME_METRICS, type Metrics } from './metrics.js';
import type { Timeline } from './timeline.js';

/** Errors after which the master certainly did not apply the call. */
const NOT_APPLIED = new Set([
  'MESOS_NOT_SUBSCRIBED',
  'MESOS_BAD_CALL',
  'MESOS_BAD_REQUEST',
  'MESOS_UNAUTHENTICATED',
  'MESOS_FORBIDDEN',
  'MESOS_NOT_FOUND',
  'MESOS_REDIRECT',
  'MESOS_UNAVAILABLE',
  'MESOS_CONNECTION_REFUSED',
  'MESOS_CLIENT_STOPPED',
]);

export function certainlyNotApplied(err: unknown): boolean {
  return err instanceof KmfError && NOT_APPLIED.has(err.code);
}

export interface ActionExecutorOptions {
  driver: MesosDriver;
  logger: Logger;
  metrics: Metrics;
  timeline: Timeline;
  /** An ACCEPT that certainly did not happen: tell the core. */
  onAcceptFailed: (a: AcceptAction, err: KmfError) => void;
  /** Whether failures still matter (false once the term is stopping). */
  active: () => boolean;
}

function nanos(seconds: number): string {
  return (BigInt(Math.round(seconds * 1000)) * 1_000_000n).toString();
}

export function killCall(a: KillAction): Call {
  const kill: NonNullable<Call['kill']> = { task_id: { value: a.taskId } };
  if (a.agentId !== undefined && a.agentId !== '') kill.agent_id = { value: a.agentId };
  if (a.gracePeriodSeconds !== undefined) {
    const policy: KillPolicy = { grace_period: { nanoseconds: nanos(a.gracePeriodSeconds) } };
    kill.kill_policy = policy;
  }
  return { type: 'KILL', kill };
}

export function reconcileCall(a: ReconcileAction): Call {
  return {
    type: 'RECONCILE',
    reconcile: {
      tasks: a.tasks.map((t) => (t.agentId === undefined || t.agentId === '' ? { task_id: { value: t.taskId } } : { task_id: { value: t.taskId }, agent_id: { value: t.agentId } })),
    },
  };
}

export function acceptCall(a: AcceptAction): Call {
  return {
    type: 'ACCEPT',
    accept: { offer_ids: a.offerIds.map((value) => ({ value })), operations: a.operations, filters: { refuse_seconds: a.refuseSeconds } },
  };
}

/** Several declines with the same filter as one (reasons: the first few distinct ones). */
export function mergeDeclines(group: readonly DeclineAction[]): DeclineAction {
  const reasons = [...new Set(group.flatMap((d) => d.reasons))].slice(0, 10);
  return { type: 'decline', offerIds: group.flatMap((d) => d.offerIds), refuseSeconds: group[0]?.refuseSeconds ?? 5, reasons };
}

export class ActionExecutor {
  private readonly log: Logger;
  /** ACKNOWLEDGEs queued or in flight (task id + uuid). */
  private readonly acksInFlight = new Set<string>();
  /** Reasons of the last decline put on the timeline: the same reasons again are not repeated. */
  private lastDeclineReasons = '';
  /** performance.now() of the first explicit RECONCILE of the round in progress. */
  private reconcileStartedAt: number | undefined;

  constructor(private readonly opts: ActionExecutorOptions) {
    this.log = opts.logger;
  }

  /** Issues every non-persist action of the list, in order. */
  executeAll(actions: readonly Action[]): void {
    // One DECLINE per distinct filter instead of one per agent: a round of offers from 1,000 agents would
    // otherwise be 1,000 calls queued on the one calls connection (a DECLINE takes any number of offers,
    // and declines never depend on the order of other calls). Each merged DECLINE goes out where the
    // first decline of its group stood.
    const groups = new Map<number, DeclineAction[]>();
    for (const a of actions) {
      if (a.type !== 'decline') continue;
      const g = groups.get(a.refuseSeconds);
      if (g === undefined) groups.set(a.refuseSeconds, [a]);
      else g.push(a);
    }
    for (const a of actions) {
      if (a.type !== 'decline') {
        this.execute(a);
        continue;
      }
      const group = groups.get(a.refuseSeconds);
      if (group === undefined) continue; // already sent with its group
      groups.delete(a.refuseSeconds);
      this.execute(group.length === 1 ? a : mergeDeclines(group));
    }
  }

  execute(a: Action): void {
    const { driver, metrics } = this.opts;
    metrics.inc(RUNTIME_METRICS.actions, { type: a.type });
    switch (a.type) {
      case 'persist':
        throw new KmfError('internal', 'persist actions are written by the leader term before the calls');
      case 'accept':
        metrics.inc(RUNTIME_METRICS.offersUsed, undefined, a.offerIds.length);
        this.log.info('ACCEPT', { agentId: a.agentId, offers: a.offerIds.length, operations: a.operations.map((o) => o.type), launched: a.launched });
        driver.call(acceptCall(a)).catch((err: unknown) => {
          this.failed('ACCEPT', err);
          if (this.opts.active() && certainlyNotApplied(err)) this.opts.onAcceptFailed(a, err as KmfError);
        });
        return;
      case 'decline':
        metrics.inc(RUNTIME_METRICS.offersDeclined, undefined, a.offerIds.length);
        this.declineOnTimeline(a.offerIds.length, a.refuseSeconds, a.reasons);
        driver
          .call({ type: 'DECLINE', decline: { offer_ids: a.offerIds.map((value) => ({ value })), filters: { refuse_seconds: a.refuseSeconds } } })
          .catch((err: unknown) => this.failed('DECLINE', err));
        return;
      case 'kill':
        this.log.info('KILL', { taskId: a.taskId, agentId: a.agentId, reason: a.reason });
        driver.call(killCall(a)).catch((err: unknown) => this.failed('KILL', err));
        return;
      case 'acknowledge': {
        // An agent resends an update until it is acknowledged; while our ACKNOWLEDGE of that very update
        // (same uuid) is still queued or in flight, a second one would only lengthen the queue.
        const key = `${a.taskId}\u0000${a.uuid.toString('hex')}`;
        if (this.acksInFlight.has(key)) return;
        this.acksInFlight.add(key);
        driver
          .call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: a.agentId }, task_id: { value: a.taskId }, uuid: a.uuid } })
          .catch((err: unknown) => this.failed('ACKNOWLEDGE', err))
          .finally(() => this.acksInFlight.delete(key));
        return;
      }
      case 'reconcile':
        this.log.info('RECONCILE', { tasks: a.tasks.length, implicit: a.tasks.length === 0 });
        // A round is explicit RECONCILEs (retried for the unanswered) ended by one implicit RECONCILE.
        if (a.tasks.length > 0) this.reconcileStartedAt ??= performance.now();
        else if (this.reconcileStartedAt !== undefined) {
          metrics.observe(RUNTIME_METRICS.reconciliationSeconds, (performance.now() - this.reconcileStartedAt) / 1000);
          this.reconcileStartedAt = undefined;
        }
        driver.call(reconcileCall(a)).catch((err: unknown) => this.failed('RECONCILE', err));
        return;
      case 'revive':
        this.log.info('REVIVE');
        driver.revive().catch((err: unknown) => this.failed('REVIVE', err));
        return;
      case 'suppress':
        this.log.info('SUPPRESS');
        driver.suppress().catch((err: unknown) => this.failed('SUPPRESS', err));
        return;
      case 'wakeAt':
        // Handled by the leader term (one timer, the latest decision's answer).
        return;
      case 'event': {
        const entry: Parameters<Timeline['add']>[0] = { at: a.at, kind: a.kind, message: a.message };
        if (a.unit !== undefined) entry.unit = a.unit;
        if (a.taskId !== undefined) entry.taskId = a.taskId;
        this.opts.timeline.add(entry);
        const meta = { kind: a.kind, unit: a.unit, taskId: a.taskId };
        if (a.kind === 'task-status' || a.kind === 'reconciliation') this.log.debug(a.message, meta);
        else this.log.info(a.message, meta);
        return;
      }
    }
  }

  /** Declines that say why (a unit wanted offers and none fit) go on the timeline, once per change of reasons. */
  private declineOnTimeline(offers: number, refuseSeconds: number, reasons: readonly string[]): void {
    const text = reasons.join('; ');
    if (text === this.lastDeclineReasons) return;
    this.lastDeclineReasons = text;
    if (text === '') return;
    this.opts.timeline.add({ at: Date.now(), kind: 'decline', message: `declined ${offers} offer(s) for ${refuseSeconds} s: ${text}` });
  }

  private failed(type: string, err: unknown): void {
    const code = err instanceof KmfError ? err.code : 'unexpected';
    this.opts.metrics.inc(RUNTIME_METRICS.callFailures, { call: type, code });
    if (!this.opts.active()) return;
    // Not subscribed: expected while the connection is re-established; the core redoes what matters.
    if (code === 'MESOS_NOT_SUBSCRIBED' || code === 'MESOS_CLIENT_STOPPED') this.log.debug(`${type} not sent`, { code, error: errorMessage(err) });
    else this.log.warn(`${type} failed`, { code, error: errorMessage(err) });
  }
}
