/**
 * Leader-only loop that decides readiness of Kafka tasks (units with readiness 'external') and feeds it to
 * the core as `readiness` events:
 *   - a broker (or combined node) is ready when it is registered in the cluster metadata with the host and
 *     port of its current task, and its own listener accepts connections. The second half matters after a
 *     crash: the dead process's registration stays in the metadata until its session times out (9 s by
 *     default), with the same host and port, while the relaunched JVM is still starting; a broker opens its
 *     listener only once it has caught up with the metadata and been unfenced;
 *   - a dedicated controller is ready when it is a caught-up voter of the metadata quorum;
 *   - a combined node needs both. Its broker registers long before a replacement on a fresh disk is a voter
 *     again (it first fetches the log as an observer, then auto-join swaps its stale voter entry for the new
 *     one), and until then the quorum has one voter fewer: the next restart must wait for it.
 * It also persists `quorumFormed` the first time the quorum has a leader that committed records.
 *
 * Only changes are sent (the core's view of `ready` is the reference), so a steady cluster costs one
 * DescribeCluster and one DescribeQuorum per interval and no decisions.
 *
 * Each round also sets the controllers' replace holds (kafka-quorum-guard.ts) from the same quorum description,
 * and runs the roll gate (kafka-roll-gate.ts) on the same client and quorum description, BEFORE
 * the readiness verdicts go out: a restarted broker that becomes ready is decided on with holds computed from
 * the same metadata (it may be registered and listening but not yet back in the ISR), so the core never
 * moves to the next unit on holds older than the readiness it acts on.
 */
import net from 'node:net';
import type { UnitView } from '../core/plans.js';
import { KafkaAdmin } from '../kafka/admin.js';
import { bootstrapServers } from '../kafka/bootstrap.js';
import { controllerMembership, describeMembership, describeQuorumFromAny, unexpectedVoters, type QuorumDescription } from '../kafka/kraft-quorum.js';
import { evaluateBrokerReadiness, evaluateControllerReadiness, quorumHasFormed, registeredBrokers, type RegisteredBroker } from '../kafka/readiness.js';
import { KAFKA_BROKER_KIND, KAFKA_CONTROLLER_KIND } from '../kafka/units.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { KafkaQuorumGuard, type KafkaQuorumGuardTarget } from './kafka-quorum-guard.js';
import { KafkaRollGate, type KafkaRollGateTarget } from './kafka-roll-gate.js';

/** What the loop needs from the leadership term (LeaderTerm implements it). */
export interface KafkaReadinessTarget extends KafkaRollGateTarget, KafkaQuorumGuardTarget {
  stillLeading(): boolean;
  readonly isLoaded: boolean;
  units(): UnitView[];
  kafkaQuorumFormed(): boolean;
  markKafkaQuorumFormed(): Promise<void>;
  readiness(taskId: string, ready: boolean): void;
}

const NODE_ID = /-(\d+)$/;

function nodeIdOf(unit: string): number | undefined {
  const m = NODE_ID.exec(unit);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export class KafkaReadinessLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private admin: { key: string; client: KafkaAdmin } | undefined;
  private readonly gate: KafkaRollGate;
  private readonly guard: KafkaQuorumGuard;
  private lastMembership: string | undefined;

  constructor(
    private readonly term: KafkaReadinessTarget,
    private readonly log: Logger,
    private readonly intervalMs = 1_000,
  ) {
    this.gate = new KafkaRollGate(term, log.child({ component: 'kafka-roll-gate' }));
    this.guard = new KafkaQuorumGuard(term, log.child({ component: 'kafka-quorum-guard' }));
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
    await this.admin?.client.close().catch(() => undefined);
    this.admin = undefined;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch((err: unknown) => {
          this.log.debug('kafka readiness round failed', { error: errorMessage(err) });
        })
        .finally(() => {
          this.running = undefined;
          this.schedule(this.intervalMs);
        });
    }, delay);
  }

  private adminFor(servers: string[]): KafkaAdmin {
    const key = servers.join(',');
    if (this.admin?.key === key) return this.admin.client;
    const old = this.admin?.client;
    if (old !== undefined) void old.close().catch(() => undefined);
    const client = new KafkaAdmin({ brokers: servers, clientId: 'kmf-readiness', connectionTimeoutMs: 1_000, requestTimeoutMs: 3_000, retries: 0, callTimeoutMs: 4_000 });
    this.admin = { key, client };
    return client;
  }

  private async round(): Promise<void> {
    if (this.stopped || !this.term.isLoaded || !this.term.stillLeading()) return;
    const units = this.term.units().filter((u) => u.kind === KAFKA_BROKER_KIND || u.kind === KAFKA_CONTROLLER_KIND);
    const running = units.filter((u) => u.task?.state === 'TASK_RUNNING');
    if (running.length === 0) {
      await this.gate.evaluate(units, undefined, undefined);
      this.guard.evaluate(units, undefined, 'no Kafka node is running');
      return;
    }
    const brokers = running.filter((u) => u.kind === KAFKA_BROKER_KIND && u.task?.ports['broker'] !== undefined);
    const placements = brokers.flatMap((u) => {
      const id = nodeIdOf(u.name);
      const port = u.task?.ports['broker'];
      return id === undefined || port === undefined || u.task === undefined ? [] : [{ nodeId: id, host: u.task.hostname, port, running: true }];
    });
    const servers = bootstrapServers(placements);
    let registered: RegisteredBroker[] | undefined;
    let quorum: QuorumDescription | undefined;
    let quorumError: string | undefined;
    if (servers.length > 0) {
      registered = await registeredBrokers(this.adminFor(servers)).catch((err: unknown) => {
        this.log.debug('describeCluster failed', { error: errorMessage(err) });
        return undefined;
      });
      // Brokers forward DescribeQuorum to the active controller.
      quorum = await describeQuorumFromAny(servers, { timeoutMs: 3_000 }).catch((err: unknown) => {
        quorumError = errorMessage(err);
        return undefined;
      });
    }
    if (this.stopped || !this.term.stillLeading()) return;
    await this.gate.evaluate(units, servers.length > 0 ? this.adminFor(servers) : undefined, quorum);
    // A fixed reason (the error text changes from round to round and would change the holds every round).
    if (quorumError !== undefined) this.log.debug('DescribeQuorum failed', { error: quorumError });
    this.guard.evaluate(units, quorum, servers.length === 0 ? 'no broker is running to ask' : 'no broker answered DescribeQuorum');
    if (this.stopped || !this.term.stillLeading()) return;
    const controllerIds = new Set(this.term.kafka()?.spec.controllers.nodes.map((c) => c.nodeId) ?? []);
    for (const u of running) {
      const task = u.task;
      const id = nodeIdOf(u.name);
      if (task === undefined || id === undefined) continue;
      const combined = u.kind === KAFKA_BROKER_KIND && controllerIds.has(id);
      let ready: boolean;
      // Unknown (the cluster did not answer) is not "not ready": keep the last verdict.
      let known: boolean;
      if (u.kind === KAFKA_BROKER_KIND) {
        const port = task.ports['broker'];
        const brokerReady =
          registered !== undefined &&
          port !== undefined &&
          evaluateBrokerReadiness(registered, id, { host: task.hostname, port }).ready &&
          (await listening(task.hostname, port));
        ready = brokerReady && (!combined || (quorum !== undefined && evaluateControllerReadiness(quorum, id).ready));
        // A combined node whose broker is ready but whose quorum could not be read is unknown.
        known = registered !== undefined && (!combined || !brokerReady || quorum !== undefined);
      } else {
        ready = quorum !== undefined && evaluateControllerReadiness(quorum, id).ready;
        known = quorum !== undefined;
      }
      if (known && ready !== task.ready) this.term.readiness(task.taskId, ready);
    }
    if (quorum !== undefined) this.logMembership(quorum, controllerIds);
    if (quorum !== undefined && !this.term.kafkaQuorumFormed() && quorumHasFormed(quorum)) {
      this.log.info('the Kafka metadata quorum has formed', { leaderId: quorum.leaderId, voters: quorum.voters.map((v) => v.replicaId) });
      await this.term.markKafkaQuorumFormed();
    }
  }

  /**
   * Logs where each controller stands in the voter set whenever that changes: a controller moving to a fresh
   * disk shows as stale voter → joining → voter in the scheduler's log (see docs/kafka.md, Controller moves).
   */
  private logMembership(quorum: QuorumDescription, controllerIds: ReadonlySet<number>): void {
    const states = [...controllerIds].sort((a, b) => a - b).map((id) => ({ id, m: controllerMembership(quorum, id) }));
    const unexpected = unexpectedVoters(quorum, controllerIds);
    const key = JSON.stringify([states.map((s) => [s.id, s.m.kind, s.m.kind === 'absent' ? '' : s.m.directoryId]), unexpected]);
    if (key === this.lastMembership) return;
    this.lastMembership = key;
    const whole = unexpected.length === 0 && states.every((s) => s.m.kind === 'voter');
    const fields = { leaderId: quorum.leaderId, controllers: states.map((s) => describeMembership(s.id, s.m)), unexpectedVoters: unexpected };
    if (whole) this.log.info('kafka quorum membership changed', fields);
    else this.log.warn('kafka quorum membership changed: the voter set is not whole', fields);
  }
}

/** Whether host:port accepts a TCP connection within a second. */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
