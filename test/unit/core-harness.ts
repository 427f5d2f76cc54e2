/**
 * Test harness for the pure core: a miniature Mesos (agents, offers, RESERVE/CREATE/LAUNCH/DESTROY/
 * UNRESERVE, task states) with its own resource accounting, independent of src/core/resources.ts, and a
 * driver that feeds events to a Core, applies its actions and checks the invariants on every step:
 *   - every task launched by an ACCEPT has its record persisted earlier in the action list (or before);
 *   - an ACCEPT never uses more than its offers hold (scalars, ports, reservations, volumes);
 *   - the core never launches a unit that still has a live task, nor keeps two live tasks of a unit.
 */
import assert from 'node:assert/strict';
import type { Label, Offer, Resource, TaskState, TaskStatus } from '../../src/mesos/types.js';
import { isTerminalState } from '../../src/mesos/types.js';
import { prepareDesired, type DesiredState } from '../../src/model/desired.js';
import type { DesiredInput, UnitSpec } from '../../src/model/units.js';
import type { AcceptAction, Action } from '../../src/core/actions.js';
import { applyPersist, Core } from '../../src/core/core.js';
import type { CoreConfig } from '../../src/core/config.js';
import type { CoreEvent } from '../../src/core/events.js';
import { seededRng } from '../../src/core/rng.js';
import { emptyStored, isLive, type StoredState } from '../../src/core/state.js';
import { parseTaskId } from '../../src/core/task-ids.js';

// ---- the cluster model ---------------------------------------------------------------------------

interface Reservation {
  role: string;
  principal?: string;
  labels: Label[];
}

interface Piece {
  name: string;
  milli: number;
  res?: Reservation;
  volume?: { id: string; path: string };
  usedBy?: string;
}

interface PortPiece {
  port: number;
  res?: Reservation;
  usedBy?: string;
}

export interface AgentSpec {
  id: string;
  hostname: string;
  attributes?: Record<string, string>;
  cpus: number;
  mem: number;
  disk: number;
  ports: Array<[number, number]>;
}

interface Agent {
  spec: AgentSpec;
  pieces: Piece[];
  ports: PortPiece[];
  /** Bumped by every ACCEPT on the agent: resources freed before and untouched since can be re-taken. */
  opSeq: number;
}

export type Format = 'pre-refinement' | 'refinement';

const milli = (v: number): number => Math.round(v * 1000);

function resKey(r: Reservation | undefined): string {
  if (!r) return '*';
  const labels = [...r.labels].sort((a, b) => a.key.localeCompare(b.key)).map((l) => `${l.key}=${l.value ?? ''}`);
  return `${r.role}|${r.principal ?? ''}|${labels.join(',')}`;
}

/** The reservation a resource names (either wire format), independent of the core's parser. */
function reservationOf(r: Resource): Reservation | undefined {
  if (r.reservations && r.reservations.length > 0) {
    const top = r.reservations[r.reservations.length - 1]!;
    const out: Reservation = { role: top.role ?? '*', labels: top.labels?.labels ?? [] };
    if (top.principal !== undefined) out.principal = top.principal;
    return out;
  }
  if (r.role !== undefined && r.role !== '*') {
    const out: Reservation = { role: r.role, labels: r.reservation?.labels?.labels ?? [] };
    if (r.reservation?.principal !== undefined) out.principal = r.reservation.principal;
    return out;
  }
  return undefined;
}

function portsOf(r: Resource): number[] {
  const out: number[] = [];
  for (const x of r.ranges?.range ?? []) for (let p = x.begin; p <= x.end; p++) out.push(p);
  return out;
}

export class ClusterError extends Error {}

export class Cluster {
  readonly agents = new Map<string, Agent>();
  /** Outstanding offers: id -> agent, plus the offer as sent (for the independent accept check). */
  readonly outstanding = new Map<string, Offer>();
  /** Tasks as Mesos sees them: the last state the harness reported. */
  readonly tasks = new Map<string, { agentId: string; unit: string; state: TaskState; unreachableAt?: number }>();
  private offerSeq = 0;
  private readonly freed = new Map<string, { pieces: Piece[]; ports: PortPiece[]; opSeq: number }>();

  constructor(
    agents: AgentSpec[],
    readonly format: Format = 'pre-refinement',
    readonly role = 'kafka',
  ) {
    for (const a of agents) this.addAgent(a);
  }

  addAgent(a: AgentSpec): void {
    this.agents.set(a.id, {
      spec: a,
      pieces: [
        { name: 'cpus', milli: milli(a.cpus) },
        { name: 'mem', milli: milli(a.mem) },
        { name: 'disk', milli: milli(a.disk) },
      ],
      ports: a.ports.flatMap(([b, e]) => Array.from({ length: e - b + 1 }, (_, i) => ({ port: b + i }))),
      opSeq: 0,
    });
  }

  private agent(id: string): Agent {
    const a = this.agents.get(id);
    if (!a) throw new ClusterError(`no agent ${id}`);
    return a;
  }

  private render(base: Omit<Resource, 'type'> & { type: Resource['type'] }, res: Reservation | undefined): Resource {
    const r: Resource = { ...base, allocation_info: { role: this.role } };
    if (this.format === 'pre-refinement') {
      r.role = res ? res.role : '*';
      if (res) r.reservation = res.principal === undefined ? { labels: { labels: res.labels } } : { principal: res.principal, labels: { labels: res.labels } };
    } else if (res) {
      const info: NonNullable<Resource['reservations']>[number] = { type: 'DYNAMIC', role: res.role, labels: { labels: res.labels } };
      if (res.principal !== undefined) info.principal = res.principal;
      r.reservations = [info];
    }
    return r;
  }

  /** An offer of everything unused on the agent (one outstanding offer per agent at a time). */
  offer(agentId: string): Offer {
    const a = this.agent(agentId);
    for (const [id, o] of this.outstanding) if (o.agent_id.value === agentId) this.outstanding.delete(id);
    const groups = new Map<string, { name: string; milli: number; res?: Reservation; volume?: Piece['volume'] }>();
    for (const p of a.pieces) {
      if (p.usedBy !== undefined || p.milli <= 0) continue;
      const key = `${p.name}#${resKey(p.res)}#${p.volume?.id ?? ''}`;
      const g = groups.get(key);
      if (g) g.milli += p.milli;
      else groups.set(key, { name: p.name, milli: p.milli, ...(p.res ? { res: p.res } : {}), ...(p.volume ? { volume: p.volume } : {}) });
    }
    const resources: Resource[] = [];
    for (const g of groups.values()) {
      const r = this.render({ name: g.name, type: 'SCALAR', scalar: { value: g.milli / 1000 } }, g.res);
      if (g.volume) r.disk = { persistence: { id: g.volume.id }, volume: { container_path: g.volume.path, mode: 'RW' } };
      resources.push(r);
    }
    const portGroups = new Map<string, { res?: Reservation; ports: number[] }>();
    for (const p of a.ports) {
      if (p.usedBy !== undefined) continue;
      const key = resKey(p.res);
      const g = portGroups.get(key) ?? { ...(p.res ? { res: p.res } : {}), ports: [] };
      g.ports.push(p.port);
      portGroups.set(key, g);
    }
    for (const g of portGroups.values()) {
      const sorted = [...g.ports].sort((x, y) => x - y);
      const range: Array<{ begin: number; end: number }> = [];
      for (const p of sorted) {
        const last = range[range.length - 1];
        if (last && p === last.end + 1) last.end = p;
        else range.push({ begin: p, end: p });
      }
      resources.push(this.render({ name: 'ports', type: 'RANGES', ranges: { range } }, g.res));
    }
    const id = `O${this.offerSeq++}`;
    const offer: Offer = {
      id: { value: id },
      framework_id: { value: 'fw' },
      agent_id: { value: agentId },
      hostname: a.spec.hostname,
      resources,
      attributes: Object.entries(a.spec.attributes ?? {}).map(([name, value]) => ({ name, type: 'TEXT' as const, text: { value } })),
      allocation_info: { role: this.role },
    };
    this.outstanding.set(id, offer);
    return offer;
  }

  decline(offerIds: string[]): void {
    for (const id of offerIds) this.outstanding.delete(id);
  }

  private takeScalar(a: Agent, name: string, m: number, res: Reservation | undefined, volumeId: string | undefined, usedBy: string | undefined): Piece {
    const key = resKey(res);
    const candidates = a.pieces.filter((p) => p.name === name && p.usedBy === undefined && resKey(p.res) === key && (p.volume?.id ?? undefined) === volumeId);
    const total = candidates.reduce((n, p) => n + p.milli, 0);
    if (total < m) throw new ClusterError(`${name}: need ${m / 1000} (${key}${volumeId ? `, volume ${volumeId}` : ''}), agent has ${total / 1000}`);
    if (volumeId !== undefined) {
      const p = candidates[0]!;
      if (p.milli !== m) throw new ClusterError(`volume ${volumeId} has ${p.milli / 1000}, task names ${m / 1000}`);
      if (usedBy !== undefined) p.usedBy = usedBy;
      return p;
    }
    let left = m;
    for (const p of candidates) {
      if (left === 0) break;
      const take = Math.min(left, p.milli);
      p.milli -= take;
      left -= take;
    }
    a.pieces = a.pieces.filter((p) => p.milli > 0 || p.volume !== undefined);
    const out: Piece = { name, milli: m };
    if (res) out.res = res;
    if (usedBy !== undefined) out.usedBy = usedBy;
    a.pieces.push(out);
    return out;
  }

  private takePort(a: Agent, port: number, res: Reservation | undefined): PortPiece {
    const p = a.ports.find((x) => x.port === port);
    if (!p) throw new ClusterError(`port ${port} does not exist`);
    if (p.usedBy !== undefined) throw new ClusterError(`port ${port} is in use by ${p.usedBy}`);
    if (resKey(p.res) !== resKey(res)) throw new ClusterError(`port ${port} is ${resKey(p.res)}, operation names ${resKey(res)}`);
    return p;
  }

  /** Apply an ACCEPT like the master would; throws ClusterError on anything invalid. */
  accept(action: AcceptAction): string[] {
    const offers = action.offerIds.map((id) => {
      const o = this.outstanding.get(id);
      if (!o) throw new ClusterError(`offer ${id} is not outstanding`);
      return o;
    });
    checkAcceptAgainstOffers(action, offers);
    const agentIds = new Set(offers.map((o) => o.agent_id.value));
    if (agentIds.size !== 1) throw new ClusterError('offers of several agents');
    const a = this.agent([...agentIds][0]!);
    a.opSeq += 1;
    for (const id of action.offerIds) this.outstanding.delete(id);
    const launched: string[] = [];
    for (const op of action.operations) {
      switch (op.type) {
        case 'RESERVE':
          for (const r of op.reserve?.resources ?? []) {
            const target = reservationOf(r);
            if (!target) throw new ClusterError('RESERVE of an unreserved resource');
            if (r.name === 'ports') for (const p of portsOf(r)) this.takePort(a, p, undefined).res = target;
            else this.takeScalar(a, r.name, milli(r.scalar?.value ?? 0), undefined, undefined, undefined).res = target;
          }
          break;
        case 'CREATE':
          for (const r of op.create?.volumes ?? []) {
            const id = r.disk?.persistence?.id;
            if (!id || !r.disk?.volume) throw new ClusterError('CREATE without persistence/volume');
            if (a.pieces.some((p) => p.volume?.id === id)) throw new ClusterError(`volume ${id} exists`);
            const res = reservationOf(r);
            if (!res) throw new ClusterError('CREATE on unreserved disk');
            const piece = this.takeScalar(a, 'disk', milli(r.scalar?.value ?? 0), res, undefined, undefined);
            piece.volume = { id, path: r.disk.volume.container_path };
          }
          break;
        case 'LAUNCH':
          for (const t of op.launch?.task_infos ?? []) {
            const taskId = t.task_id.value;
            if (t.agent_id.value !== a.spec.id) throw new ClusterError('task agent_id differs from the offer');
            if (this.tasks.has(taskId) && !isTerminalState(this.tasks.get(taskId)!.state)) throw new ClusterError(`duplicate task id ${taskId}`);
            for (const r of t.resources ?? []) {
              const res = reservationOf(r);
              if (r.name === 'ports') for (const p of portsOf(r)) this.takePort(a, p, res).usedBy = taskId;
              else this.takeScalar(a, r.name, milli(r.scalar?.value ?? 0), res, r.disk?.persistence?.id, taskId);
            }
            this.tasks.set(taskId, { agentId: a.spec.id, unit: parseTaskId(taskId)?.unit ?? '?', state: 'TASK_STAGING' });
            launched.push(taskId);
          }
          break;
        case 'DESTROY':
          for (const r of op.destroy?.volumes ?? []) {
            const p = a.pieces.find((x) => x.volume?.id === r.disk?.persistence?.id);
            if (!p) throw new ClusterError('DESTROY of a missing volume');
            if (p.usedBy !== undefined) throw new ClusterError('DESTROY of a volume in use');
            delete p.volume;
          }
          break;
        case 'UNRESERVE':
          for (const r of op.unreserve?.resources ?? []) {
            const res = reservationOf(r);
            if (!res) throw new ClusterError('UNRESERVE of unreserved resources');
            if (r.name === 'ports') for (const p of portsOf(r)) delete this.takePort(a, p, res).res;
            else delete this.takeScalar(a, r.name, milli(r.scalar?.value ?? 0), res, undefined, undefined).res;
          }
          break;
        case 'UNKNOWN':
        case 'LAUNCH_GROUP':
        case 'GROW_VOLUME':
        case 'SHRINK_VOLUME':
        case 'CREATE_DISK':
        case 'DESTROY_DISK':
          throw new ClusterError(`unexpected operation ${op.type}`);
      }
    }
    return launched;
  }

  /** Record a state the harness reports; terminal states free the task's resources. */
  setState(taskId: string, state: TaskState, at: number): void {
    const t = this.tasks.get(taskId);
    if (!t) return;
    t.state = state;
    if (state === 'TASK_UNREACHABLE') t.unreachableAt ??= at;
    else delete t.unreachableAt;
    if (isTerminalState(state)) {
      const a = this.agents.get(t.agentId);
      if (!a) return;
      const pieces = a.pieces.filter((p) => p.usedBy === taskId);
      const ports = a.ports.filter((p) => p.usedBy === taskId);
      for (const p of pieces) delete p.usedBy;
      for (const p of ports) delete p.usedBy;
      if (pieces.length + ports.length > 0) this.freed.set(taskId, { pieces, ports, opSeq: a.opSeq });
    }
  }

  /**
   * A task reported over that turns out to be running (an agent back from a partition). Only possible
   * while its resources were not handed to anything else; returns whether it happened.
   */
  resurrect(taskId: string): boolean {
    const t = this.tasks.get(taskId);
    const f = this.freed.get(taskId);
    const a = t ? this.agents.get(t.agentId) : undefined;
    if (!t || !f || !a || a.opSeq !== f.opSeq) return false;
    if (![...f.pieces, ...f.ports].every((p) => p.usedBy === undefined)) return false;
    for (const p of [...f.pieces, ...f.ports]) p.usedBy = taskId;
    this.freed.delete(taskId);
    t.state = 'TASK_RUNNING';
    return true;
  }

  /** Remove an agent's reservations' users, as if the agent had been wiped (for "agent gone" tests). */
  removeAgent(agentId: string): void {
    this.agents.delete(agentId);
    for (const [id, o] of this.outstanding) if (o.agent_id.value === agentId) this.outstanding.delete(id);
  }

  reservationsOn(agentId: string): { volumes: string[]; reservedMilli: number } {
    const a = this.agent(agentId);
    return {
      volumes: a.pieces.filter((p) => p.volume).map((p) => p.volume!.id),
      reservedMilli: a.pieces.filter((p) => p.res).reduce((n, p) => n + p.milli, 0),
    };
  }
}

/**
 * Independent check of an ACCEPT against the offers it names: launched and reserved amounts per resource
 * name never exceed what the offers hold, ports are offered and used once.
 */
export function checkAcceptAgainstOffers(action: AcceptAction, offers: Offer[]): void {
  const offered = new Map<string, number>();
  const unreserved = new Map<string, number>();
  const offeredPorts = new Set<number>();
  for (const o of offers) {
    for (const r of o.resources ?? []) {
      if (r.name === 'ports') for (const p of portsOf(r)) offeredPorts.add(p);
      else {
        offered.set(r.name, (offered.get(r.name) ?? 0) + milli(r.scalar?.value ?? 0));
        if (!reservationOf(r)) unreserved.set(r.name, (unreserved.get(r.name) ?? 0) + milli(r.scalar?.value ?? 0));
      }
    }
  }
  const launched = new Map<string, number>();
  const reserved = new Map<string, number>();
  const usedPorts = new Set<number>();
  for (const op of action.operations) {
    if (op.type === 'RESERVE') {
      for (const r of op.reserve?.resources ?? []) if (r.name !== 'ports') reserved.set(r.name, (reserved.get(r.name) ?? 0) + milli(r.scalar?.value ?? 0));
    }
    if (op.type !== 'LAUNCH') continue;
    for (const t of op.launch?.task_infos ?? []) {
      for (const r of t.resources ?? []) {
        if (r.name === 'ports') {
          for (const p of portsOf(r)) {
            if (!offeredPorts.has(p)) throw new ClusterError(`port ${p} launched but not offered`);
            if (usedPorts.has(p)) throw new ClusterError(`port ${p} used twice in one accept`);
            usedPorts.add(p);
          }
        } else launched.set(r.name, (launched.get(r.name) ?? 0) + milli(r.scalar?.value ?? 0));
      }
    }
  }
  for (const [name, m] of launched) {
    if (m > (offered.get(name) ?? 0)) throw new ClusterError(`${name}: launched ${m / 1000} > offered ${(offered.get(name) ?? 0) / 1000}`);
  }
  for (const [name, m] of reserved) {
    if (m > (unreserved.get(name) ?? 0)) throw new ClusterError(`${name}: reserved ${m / 1000} > unreserved offered ${(unreserved.get(name) ?? 0) / 1000}`);
  }
}

// ---- specs ---------------------------------------------------------------------------------------

export function brokerSpec(i: number, over: Partial<UnitSpec> = {}): UnitSpec {
  return {
    name: `broker-${i}`,
    kind: 'broker',
    goal: 'running',
    resources: { cpus: 1, memMb: 1024 },
    ports: [{ name: 'broker' }],
    volume: { sizeMb: 1000, containerPath: 'data' },
    constraints: [{ field: 'hostname', operator: 'UNIQUE' }],
    task: {
      command: 'bin/kafka-server-start.sh config --override listeners=PLAINTEXT://{{host}}:{{port:broker}} --override log.dirs={{volume}}',
      env: { NODE_ID: '{{var:nodeId}}' },
      killGracePeriodSeconds: 60,
    },
    vars: { nodeId: String(i) },
    ...over,
  };
}

export function appSpec(name: string, over: Partial<UnitSpec> = {}): UnitSpec {
  return {
    name,
    kind: 'streams',
    goal: 'running',
    resources: { cpus: 0.5, memMb: 512 },
    ports: [{ name: 'http' }],
    task: { command: 'java -jar app.jar --port {{port:http}}' },
    ...over,
  };
}

export function agents(n: number, over: Partial<AgentSpec> = {}): AgentSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `S${i}`,
    hostname: `a${i}`,
    attributes: { rack: `r${i % 3}` },
    cpus: 4,
    mem: 8192,
    disk: 20000,
    ports: [[31000, 31009]] as Array<[number, number]>,
    ...over,
  }));
}

// ---- the driver ----------------------------------------------------------------------------------

export const TEST_CONFIG: Partial<CoreConfig> = { role: 'kafka', frameworkName: 'kmf-test', principal: 'kmf' };

export class Sim {
  core: Core;
  desired: DesiredState;
  desiredInput: DesiredInput;
  now = Date.UTC(2026, 0, 1);
  /** The state store: every persist action applied, in order. */
  store: StoredState = emptyStored();
  readonly history: Action[][] = [];
  /** Every task the core ever launched, in order. */
  readonly launches: Array<{ taskId: string; unit: string; agentId: string; at: number }> = [];
  readonly kills: string[] = [];
  /** RECONCILE calls not answered yet (see answerReconciliation). */
  readonly reconcileQueue: Array<Array<{ taskId: string; agentId?: string }>> = [];
  seed: number;

  constructor(
    readonly cluster: Cluster,
    input: DesiredInput,
    readonly config: Partial<CoreConfig> = TEST_CONFIG,
    seed = 1,
  ) {
    this.seed = seed;
    this.desiredInput = input;
    this.desired = prepareDesired(input);
    this.core = new Core(seededRng(seed), config);
  }

  setDesired(input: DesiredInput): Action[] {
    this.desiredInput = input;
    this.desired = prepareDesired(input);
    return this.send({ type: 'tick' });
  }

  /** A scheduler restart: a new core built from what the store holds (after a JSON round trip). */
  restart(): void {
    const stored = JSON.parse(JSON.stringify(this.store)) as StoredState;
    this.seed += 1000;
    this.core = new Core(seededRng(this.seed), this.config, stored);
  }

  /**
   * The scheduler dies right after the ZooKeeper write of this step: the persist lands in the store,
   * nothing else (no ACCEPT, no DECLINE, no KILL) reaches Mesos.
   */
  crashAfterPersist(event: CoreEvent): Action[] {
    const actions = this.core.step(event, this.desired, this.now);
    for (const a of actions) if (a.type === 'persist') this.store = applyPersist(this.store, a);
    this.cluster.outstanding.clear();
    this.restart();
    return actions;
  }

  send(event: CoreEvent): Action[] {
    const actions = this.core.step(event, this.desired, this.now);
    this.history.push(actions);
    this.apply(actions);
    this.checkCoreInvariants();
    return actions;
  }

  private apply(actions: Action[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'persist':
          this.store = applyPersist(this.store, a);
          break;
        case 'accept': {
          for (const l of a.launched) {
            assert.ok(this.store.tasks[l.taskId], `task ${l.taskId} launched before its record was persisted`);
          }
          for (const op of a.operations) {
            for (const t of op.launch?.task_infos ?? []) {
              const unit = parseTaskId(t.task_id.value)?.unit ?? '?';
              this.assertNoLiveTask(unit, t.task_id.value);
              assert.ok(this.store.tasks[t.task_id.value], `LAUNCH of ${t.task_id.value} without a persisted record`);
            }
          }
          const ids = this.cluster.accept(a);
          for (const id of ids) this.launches.push({ taskId: id, unit: parseTaskId(id)?.unit ?? '?', agentId: a.agentId, at: this.now });
          break;
        }
        case 'decline':
          this.cluster.decline(a.offerIds);
          break;
        case 'kill':
          this.kills.push(a.taskId);
          break;
        case 'reconcile':
          this.reconcileQueue.push(a.tasks);
          break;
        case 'acknowledge':
        case 'revive':
        case 'suppress':
        case 'wakeAt':
        case 'event':
          break;
      }
    }
    // Offers are never held: every outstanding offer of this step was answered.
  }

  /** At a launch, every other task of the unit must be over (or unreachable past the core's limit). */
  private assertNoLiveTask(unit: string, launching: string): void {
    const cfg = this.core.config;
    for (const [id, t] of this.cluster.tasks) {
      if (t.unit !== unit || id === launching || isTerminalState(t.state)) continue;
      if (t.state === 'TASK_UNREACHABLE' && t.unreachableAt !== undefined) {
        const limit = Math.min(cfg.unreachableLimitMs, cfg.permanentFailureAfterMs);
        if (this.now - t.unreachableAt >= limit) continue;
      }
      assert.fail(`launching ${launching} while ${id} of ${unit} is ${t.state}`);
    }
  }

  private checkCoreInvariants(): void {
    const byUnit = new Map<string, string[]>();
    for (const t of Object.values(this.core.stored.tasks)) {
      if (!isLive(t) || t.kill) continue;
      byUnit.set(t.unit, [...(byUnit.get(t.unit) ?? []), t.taskId]);
    }
    for (const [unit, ids] of byUnit) assert.ok(ids.length <= 1, `unit ${unit} has ${ids.length} live tasks: ${ids.join(', ')}`);
  }

  /**
   * Answer queued RECONCILE calls the way the master does (reference §K): explicit → the task's latest
   * state, or TASK_GONE when the agent does not have it; implicit → every non-terminal task except the
   * unreachable ones. No uuid (never acknowledged).
   */
  answerReconciliation(): void {
    while (this.reconcileQueue.length > 0) {
      const req = this.reconcileQueue.shift()!;
      const answers: Array<{ id: string; state: TaskState; agentId?: string }> = [];
      if (req.length === 0) {
        for (const [id, t] of this.cluster.tasks) {
          if (!isTerminalState(t.state) && t.state !== 'TASK_UNREACHABLE') answers.push({ id, state: t.state, agentId: t.agentId });
        }
      } else {
        for (const r of req) {
          const t = this.cluster.tasks.get(r.taskId);
          if (t && !isTerminalState(t.state)) answers.push({ id: r.taskId, state: t.state, agentId: t.agentId });
          else answers.push({ id: r.taskId, state: 'TASK_GONE', ...(r.agentId === undefined ? {} : { agentId: r.agentId }) });
        }
      }
      for (const a of answers) {
        const status: TaskStatus = { task_id: { value: a.id }, state: a.state, source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION' };
        if (a.agentId !== undefined) status.agent_id = { value: a.agentId };
        this.send({ type: 'status', status });
      }
    }
  }

  subscribe(): Action[] {
    return this.send({ type: 'subscribed', frameworkId: 'fw' });
  }

  offer(...agentIds: string[]): Action[] {
    const offers = agentIds.map((id) => this.cluster.offer(id));
    return this.send({ type: 'offers', offers });
  }

  offerAll(): Action[] {
    return this.offer(...[...this.cluster.agents.keys()]);
  }

  status(taskId: string, state: TaskState, extra: Partial<TaskStatus> = {}): Action[] {
    const t = this.cluster.tasks.get(taskId);
    this.cluster.setState(taskId, state, this.now);
    const status: TaskStatus = {
      task_id: { value: taskId },
      state,
      source: 'SOURCE_EXECUTOR',
      uuid: Buffer.from('0123456789abcdef'),
      ...(t ? { agent_id: { value: t.agentId } } : {}),
      ...extra,
    };
    return this.send({ type: 'status', status });
  }

  advance(ms: number): Action[] {
    this.now += ms;
    return this.send({ type: 'tick' });
  }

  /** Launch and run everything the desired state asks for, with offers from every agent. */
  deployAll(maxRounds = 10): void {
    for (let i = 0; i < maxRounds; i++) {
      this.offerAll();
      const pending = [...this.cluster.tasks].filter(([, t]) => t.state === 'TASK_STAGING');
      for (const [id] of pending) this.status(id, 'TASK_RUNNING');
      const views = this.core.units(this.desired, this.now);
      if (views.every((v) => v.goal !== 'running' || v.state === 'running')) return;
      this.advance(1000);
    }
  }

  /** The live task id of a unit according to the core. */
  taskOf(unit: string): string | undefined {
    return Object.values(this.core.stored.tasks).find((t) => t.unit === unit && isLive(t))?.taskId;
  }

  plan(name: 'deploy' | 'recovery' | 'update'): ReturnType<Core['plans']>[number] {
    const p = this.core.plans(this.desired, this.now).find((x) => x.name === name);
    assert.ok(p);
    return p;
  }

  step(plan: 'deploy' | 'recovery' | 'update', unit: string): ReturnType<Core['plans']>[number]['phases'][number]['steps'][number] | undefined {
    for (const ph of this.plan(plan).phases) for (const s of ph.steps) if (s.unit === unit) return s;
    return undefined;
  }
}

export function ofType<T extends Action['type']>(actions: Action[], type: T): Array<Extract<Action, { type: T }>> {
  return actions.filter((a): a is Extract<Action, { type: T }> => a.type === type);
}

export function launchedIn(actions: Action[]): Array<{ unit: string; taskId: string }> {
  return ofType(actions, 'accept').flatMap((a) => a.launched);
}

export function opTypes(actions: Action[]): string[] {
  return ofType(actions, 'accept').flatMap((a) => a.operations.map((o) => o.type));
}
