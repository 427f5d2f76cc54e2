/**
 * `kmf mesos-sim` as a library: one or more simulated masters (one leads) and a set of agents, plus the
 * faults tests need — agents added, removed, crashed, partitioned, marked gone; master restarts and
 * leader changes (by hand or through ZooKeeper); dropped, delayed or duplicated status updates.
 *
 * The masters share the agents, as real masters share a cluster: only the leader has them registered,
 * and a new leader gets them re-registered with the tasks they run (reference items 65 and 167).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MasterInfo, Resource, TaskStatus } from '../mesos/types.js';
import { errorMessage, KmfError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { SimAgentOptions } from './agent/agent.js';
import { AgentHandle } from './master/agent-handle.js';
import { StatusUpdateFaults } from './master/faults.js';
import { MasterHttpServer, type ExtraRoutes, type Leadership } from './master/http.js';
import { createMasterInfo } from './master/master-info.js';
import { SimMaster } from './master/master.js';
import { ZooKeeperContender, type ZooKeeperLeader } from './master/zookeeper.js';
import { parseAttributes, parseResources } from './resources-syntax.js';

export const DEFAULT_AGENT_RESOURCES = 'cpus:4;mem:8192;disk:20000;ports:[31000-32000]';

export interface SimClusterOptions {
  logger: Logger;
  /** Address the masters bind and advertise (default 127.0.0.1). */
  host?: string;
  /** MasterInfo.hostname (default: the host address, so a 307 Location resolves without DNS). */
  hostname?: string;
  /** Port of the first master (0 = ephemeral); further masters take port+1, … or ephemeral ports. */
  port?: number;
  /** Number of masters (default 1). */
  masters?: number;
  agents?: number;
  /** Agent resources in Mesos agent syntax (default cpus:4;mem:8192;disk:20000;ports:[31000-32000]). */
  resources?: string;
  attributes?: string;
  /**
   * Agent addresses: 'distinct' gives agent n the loopback address 127.0.x.y of its own (so tasks on
   * different agents can use the same port), 'shared' gives every agent the master's host address.
   */
  agentAddresses?: 'distinct' | 'shared';
  /** Tasks are records, not processes: RUNNING after runningDelayMs (benchmarks with thousands of agents). */
  synthetic?: { runningDelayMs: number };
  heartbeatIntervalSeconds?: number;
  allocationIntervalMs?: number;
  offerTimeoutMs?: number;
  /** How long a crashed, not restarted agent stays before it is marked unreachable (Mesos: 15 s × 5). */
  agentPingTimeoutMs?: number;
  statusUpdateRetry?: { initialMs: number; maxMs: number };
  agentTimings?: SimAgentOptions['timings'];
  /** Root of the agents' work dirs (default: a fresh temporary directory, removed on stop). */
  workDir?: string;
  /**
   * Agents checkpoint their id and total resources (reservations, volumes) in `workDir`, and a cluster started
   * again on the same `workDir` recovers them, as restarted Mesos agents recover from their meta directory
   * (their tasks are gone: a new master reports them TASK_GONE on reconciliation). Needs `workDir`.
   */
  recoverAgents?: boolean;
  /** zk://host:port/path: register the masters in ZooKeeper; leadership follows the group. */
  zk?: string;
  zkSessionTimeoutMs?: number;
  /** Extra HTTP routes on every master (the control API). */
  extraRoutes?: (cluster: SimCluster) => ExtraRoutes;
}

/** An agent's checkpoint (see SimClusterOptions.recoverAgents), or undefined when there is none yet. */
function readAgentCheckpoint(file: string): { id: string; resources: Resource[] } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const v: unknown = JSON.parse(text);
  if (typeof v !== 'object' || v === null) throw new KmfError('SIM_BAD_CHECKPOINT', `${file} is not an agent checkpoint`);
  const { id, resources } = v as { id?: unknown; resources?: unknown };
  if (typeof id !== 'string' || !Array.isArray(resources)) throw new KmfError('SIM_BAD_CHECKPOINT', `${file} is not an agent checkpoint`);
  return { id, resources: resources as Resource[] };
}

export interface AddAgentOptions {
  resources?: string;
  attributes?: string;
  hostname?: string;
}

interface MasterNode {
  index: number;
  http: MasterHttpServer;
  info: MasterInfo;
  master: SimMaster | undefined;
  zk: ZooKeeperContender | undefined;
  /** Leader known from ZooKeeper when it is not one of ours. */
  externalLeader: { hostname: string; port: number } | undefined;
  recoveringUntil: number;
}

export class SimCluster {
  readonly logger: Logger;
  readonly faults = new StatusUpdateFaults();
  private readonly opts: SimClusterOptions;
  private readonly nodes: MasterNode[] = [];
  private readonly agents = new Map<string, AgentHandle>();
  private readonly pingTimers = new Map<string, NodeJS.Timeout>();
  private leaderIndex: number | undefined;
  private agentCounter = 0;
  private workDir = '';
  private ownsWorkDir = false;
  private stopped = false;
  private readonly leaderWaiters: Array<() => void> = [];

  private constructor(opts: SimClusterOptions) {
    this.opts = opts;
    this.logger = opts.logger;
  }

  static async start(opts: SimClusterOptions): Promise<SimCluster> {
    const cluster = new SimCluster(opts);
    try {
      await cluster.init();
    } catch (err) {
      await cluster.stop().catch(() => undefined);
      throw err;
    }
    return cluster;
  }

  private get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }

  private async init(): Promise<void> {
    if (this.opts.workDir !== undefined) {
      this.workDir = this.opts.workDir;
      fs.mkdirSync(this.workDir, { recursive: true });
    } else {
      this.workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-mesos-sim-'));
      this.ownsWorkDir = true;
    }
    // Validate the agent syntax before anything starts.
    parseResources(this.opts.resources ?? DEFAULT_AGENT_RESOURCES);
    parseAttributes(this.opts.attributes ?? '');

    const count = Math.max(1, this.opts.masters ?? 1);
    for (let i = 0; i < count; i++) {
      const index = i;
      const basePort = this.opts.port ?? 0;
      const http = new MasterHttpServer({
        host: this.host,
        port: basePort === 0 ? 0 : basePort + i,
        logger: this.logger.child({ component: 'sim-master', master: i }),
        leadership: () => this.leadershipFor(index),
        recovering: () => Date.now() < (this.nodes[index]?.recoveringUntil ?? 0),
        flags: this.flags(),
        ...(this.opts.extraRoutes === undefined ? {} : { extraRoutes: this.opts.extraRoutes(this) }),
      });
      const address = await http.listen();
      this.nodes.push({
        index,
        http,
        info: this.newInfo(address.port),
        master: undefined,
        zk: undefined,
        externalLeader: undefined,
        recoveringUntil: 0,
      });
    }

    if (this.opts.zk === undefined) {
      this.becomeLeader(0);
    } else {
      for (const node of this.nodes) await this.contend(node);
      await this.waitForLeader(20_000);
    }
    for (let i = 0; i < (this.opts.agents ?? 0); i++) await this.addAgent();
  }

  private flags(): Record<string, string> {
    return {
      allocation_interval: `${(this.opts.allocationIntervalMs ?? 1000) / 1000}secs`,
      offer_timeout: this.opts.offerTimeoutMs === undefined ? '' : `${this.opts.offerTimeoutMs / 1000}secs`,
      min_allocatable_resources: 'cpus:0.01|mem:32',
      zk: this.opts.zk ?? '',
      hostname_lookup: 'false',
      work_dir: this.workDir,
    };
  }

  private newInfo(port: number): MasterInfo {
    return createMasterInfo({ hostname: this.opts.hostname ?? this.host, ip: this.host, port });
  }

  // ---- leadership ---------------------------------------------------------------------------------

  private leadershipFor(index: number): Leadership {
    const node = this.nodes[index];
    if (node === undefined) return { kind: 'none' };
    if (this.leaderIndex === index && node.master !== undefined) return { kind: 'leader', master: node.master };
    const leader = this.leaderIndex === undefined ? undefined : this.nodes[this.leaderIndex];
    if (leader !== undefined) {
      return { kind: 'follower', leader: { hostname: leader.info.hostname ?? this.host, port: leader.info.port } };
    }
    if (node.externalLeader !== undefined) return { kind: 'follower', leader: node.externalLeader };
    return { kind: 'none' };
  }

  /** The leading SimMaster (undefined while no master leads). */
  master(): SimMaster | undefined {
    return this.leaderIndex === undefined ? undefined : this.nodes[this.leaderIndex]?.master;
  }

  /** http://host:port of the leading master (or of the first master when none leads). */
  get masterUrl(): string {
    const node = this.nodes[this.leaderIndex ?? 0];
    return `http://${this.host}:${node?.info.port ?? 0}`;
  }

  masterUrls(): string[] {
    return this.nodes.map((n) => `http://${this.host}:${n.info.port}`);
  }

  get leader(): number | undefined {
    return this.leaderIndex;
  }

  private becomeLeader(index: number): void {
    const node = this.nodes[index];
    if (node === undefined) return;
    const master = new SimMaster({
      info: node.info,
      logger: this.logger.child({ component: 'sim-master', master: index }),
      ...(this.opts.heartbeatIntervalSeconds === undefined ? {} : { heartbeatIntervalSeconds: this.opts.heartbeatIntervalSeconds }),
      ...(this.opts.allocationIntervalMs === undefined ? {} : { allocationIntervalMs: this.opts.allocationIntervalMs }),
      ...(this.opts.offerTimeoutMs === undefined ? {} : { offerTimeoutMs: this.opts.offerTimeoutMs }),
    });
    master.start();
    node.master = master;
    this.leaderIndex = index;
    this.logger.info('master elected', { master: index, masterId: node.info.id, port: node.info.port });
    for (const agent of this.agents.values()) {
      if (agent.reachable) master.registerAgent(agent.registration());
    }
    for (const waiter of this.leaderWaiters.splice(0)) waiter();
  }

  /**
   * A master that loses leadership (or restarts) drops its state and cuts every subscription connection.
   * Idle keep-alive connections stay open: their next request meets the new master (or a 307), which
   * is what a client reconnecting after a real restart would see.
   */
  private demote(index: number): void {
    const node = this.nodes[index];
    if (node === undefined) return;
    node.master?.stop('crash');
    node.master = undefined;
    if (this.leaderIndex === index) this.leaderIndex = undefined;
  }

  private async contend(node: MasterNode): Promise<void> {
    const zkUrl = this.opts.zk;
    if (zkUrl === undefined) return;
    const contender = new ZooKeeperContender({
      url: zkUrl,
      info: node.info,
      logger: this.logger.child({ component: 'sim-master-zk', master: node.index }),
      ...(this.opts.zkSessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: this.opts.zkSessionTimeoutMs }),
      onLeader: (leader) => this.zkLeader(node, contender, leader),
    });
    node.zk = contender;
    await contender.start();
  }

  private zkLeader(node: MasterNode, contender: ZooKeeperContender, leader: ZooKeeperLeader | undefined): void {
    if (this.stopped || node.zk !== contender || leader === undefined) return;
    if (leader.self) {
      node.externalLeader = undefined;
      if (this.leaderIndex === node.index) return;
      if (this.leaderIndex !== undefined) this.demote(this.leaderIndex);
      this.becomeLeader(node.index);
      return;
    }
    const mine = this.nodes.find((n) => n.info.id === leader.info.id);
    if (mine !== undefined) return; // that node gets its own callback
    const hostname = leader.info.hostname ?? leader.info.address?.hostname ?? leader.info.address?.ip ?? this.host;
    const port = leader.info.port ?? leader.info.address?.port ?? 5050;
    node.externalLeader = { hostname, port };
    if (this.leaderIndex === node.index) this.demote(node.index);
  }

  /** Resolves once some master leads (ZooKeeper elections are asynchronous). */
  waitForLeader(timeoutMs = 10_000): Promise<void> {
    if (this.master() !== undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new KmfError('SIM_NO_LEADER', 'no sim master was elected in time')), timeoutMs);
      this.leaderWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Restart the leading master: every subscription stream drops, state is lost, a new master id is
   * drawn, agents re-register with their tasks, frameworks must re-subscribe. `recoveryMs` keeps the
   * new master answering 503 `Master has not finished recovery` for a while.
   */
  async restartMaster(opts: { recoveryMs?: number } = {}): Promise<void> {
    const index = this.leaderIndex ?? 0;
    const node = this.nodes[index];
    if (node === undefined) throw new KmfError('SIM_NO_MASTER', 'no master to restart');
    this.demote(index);
    node.info = this.newInfo(node.info.port);
    node.recoveringUntil = Date.now() + (opts.recoveryMs ?? 0);
    if (this.opts.zk === undefined) {
      this.becomeLeader(index);
      return;
    }
    await node.zk?.close();
    node.zk = undefined;
    await this.contend(node);
    await this.waitForLeader();
  }

  /**
   * Move leadership to another master (default: the next one). The old leader behaves like a master
   * that lost leadership: it drops its connections and comes back as a standby with a new id, answering
   * 307 to the new leader. With ZooKeeper the old leader leaves and rejoins the group, and the group decides.
   */
  async changeLeader(to?: number): Promise<void> {
    if (this.nodes.length < 2) throw new KmfError('SIM_ONE_MASTER', 'leader change needs at least two masters (--masters 2)');
    const from = this.leaderIndex;
    if (this.opts.zk === undefined) {
      const target = to ?? ((from ?? -1) + 1) % this.nodes.length;
      if (target === from) return;
      if (this.nodes[target] === undefined) throw new KmfError('SIM_BAD_MASTER', `no master #${target}`);
      if (from !== undefined) {
        this.demote(from);
        const old = this.nodes[from];
        if (old !== undefined) old.info = this.newInfo(old.info.port);
      }
      this.becomeLeader(target);
      return;
    }
    if (from === undefined) return this.waitForLeader();
    const old = this.nodes[from];
    if (old === undefined) return;
    await old.zk?.close();
    old.zk = undefined;
    this.demote(from);
    old.info = this.newInfo(old.info.port);
    await this.contend(old);
    await this.waitForLeader();
  }

  // ---- agents -------------------------------------------------------------------------------------

  private agentAddress(n: number): string {
    const mode = this.opts.agentAddresses ?? (process.platform === 'linux' ? 'distinct' : 'shared');
    if (mode === 'shared') return this.host;
    // 127.0.0.2 onwards (the masters use 127.0.0.1); every 127/8 address reaches the loopback interface on Linux.
    return `127.${Math.floor(n / 62_500) % 250}.${Math.floor(n / 250) % 250}.${2 + (n % 250)}`;
  }

  /** Register a new agent with the leading master; returns its AgentID. */
  async addAgent(options: AddAgentOptions = {}): Promise<string> {
    const base = this.nodes[this.leaderIndex ?? 0]?.info.id ?? 'sim';
    const n = this.agentCounter++;
    const agentDir = path.join(this.workDir, `agent-${n}`);
    const checkpointFile = this.opts.recoverAgents === true ? path.join(agentDir, 'meta', 'agent.json') : undefined;
    const recovered = checkpointFile === undefined ? undefined : readAgentCheckpoint(checkpointFile);
    const id = recovered?.id ?? `${base}-S${n}`;
    const ip = this.agentAddress(n);
    const handle = new AgentHandle({
      id,
      hostname: options.hostname ?? ip,
      ip,
      workDir: agentDir,
      resources: recovered?.resources ?? parseResources(options.resources ?? this.opts.resources ?? DEFAULT_AGENT_RESOURCES),
      ...(checkpointFile === undefined ? {} : { checkpointFile }),
      attributes: parseAttributes(options.attributes ?? this.opts.attributes ?? ''),
      logger: this.logger,
      router: { master: () => this.master(), faults: this.faults },
      ...(this.opts.synthetic === undefined ? {} : { synthetic: this.opts.synthetic }),
      ...(this.opts.statusUpdateRetry === undefined ? {} : { statusUpdateRetry: this.opts.statusUpdateRetry }),
      ...(this.opts.agentTimings === undefined ? {} : { timings: this.opts.agentTimings }),
    });
    await handle.start();
    handle.writeCheckpoint();
    if (recovered !== undefined) this.logger.info('agent recovered from its checkpoint', { agentId: id, workDir: agentDir });
    this.agents.set(id, handle);
    this.master()?.registerAgent(handle.registration());
    return id;
  }

  private agent(id: string): AgentHandle {
    const handle = this.agents.get(id);
    if (handle === undefined) throw new KmfError('SIM_UNKNOWN_AGENT', `unknown agent ${id}`);
    return handle;
  }

  agentIds(): string[] {
    return [...this.agents.keys()];
  }

  agentSummaries(): Array<{ id: string; hostname: string; ip: string; state: string; partitioned: boolean; tasks: number; pids: number[] }> {
    return [...this.agents.values()].map((a) => ({
      id: a.id,
      hostname: a.hostname,
      ip: a.ip,
      state: a.lifecycle,
      partitioned: a.partitioned,
      tasks: a.taskCount(),
      pids: a.pids(),
    }));
  }

  /** Orderly removal: the agent stops its tasks and unregisters (tasks TASK_LOST, FAILURE to frameworks). */
  async removeAgent(id: string): Promise<void> {
    const handle = this.agent(id);
    this.clearPingTimer(id);
    await handle.stop();
    this.master()?.removeAgent(id);
    this.agents.delete(id);
  }

  /**
   * Crash the agent: its processes die at once. The master notices the broken connection (tasks of
   * non-checkpointing frameworks: TASK_LOST now). With `restart` (default) the agent comes back with the
   * same id and work dir and reports the tasks it lost (TASK_GONE / TASK_LOST per PARTITION_AWARE);
   * without, the master marks it unreachable after the ping timeout.
   */
  async crashAgent(id: string, opts: { restart?: boolean; restartDelayMs?: number } = {}): Promise<void> {
    const handle = this.agent(id);
    await handle.crash();
    this.master()?.agentDisconnected(id);
    if (opts.restart === false) {
      this.clearPingTimer(id);
      const timer = setTimeout(() => {
        this.pingTimers.delete(id);
        if (handle.lifecycle === 'down') this.master()?.markAgentUnreachable(id);
      }, this.opts.agentPingTimeoutMs ?? 75_000);
      timer.unref();
      this.pingTimers.set(id, timer);
      return;
    }
    const delay = opts.restartDelayMs ?? 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    await this.restartAgent(id);
  }

  /** Bring a crashed agent back (same id and work dir). */
  async restartAgent(id: string): Promise<void> {
    const handle = this.agent(id);
    if (handle.lifecycle === 'up') return;
    this.clearPingTimer(id);
    const lost: Array<{ frameworkId: string; status: TaskStatus }> = await handle.restart();
    this.master()?.registerAgent(handle.registration());
    handle.reportLost(lost);
  }

  /**
   * Cut the agent off: nothing passes either way, and the master marks it unreachable (TASK_UNREACHABLE /
   * TASK_LOST, RESCIND, FAILURE) — at once, or after `unreachableAfterMs` (the stand-in for Mesos' missed
   * pings). Healing before then is a blip the master never noticed.
   */
  partitionAgent(id: string, opts: { unreachableAfterMs?: number } = {}): void {
    const handle = this.agent(id);
    if (handle.partitioned) return;
    handle.partitioned = true;
    const delay = opts.unreachableAfterMs ?? 0;
    if (delay <= 0) {
      this.master()?.markAgentUnreachable(id);
      return;
    }
    this.clearPingTimer(id);
    const timer = setTimeout(() => {
      this.pingTimers.delete(id);
      if (handle.partitioned) this.master()?.markAgentUnreachable(id);
    }, delay);
    timer.unref();
    this.pingTimers.set(id, timer);
  }

  /** End the partition: the agent re-registers; frameworks get REASON_AGENT_REREGISTERED updates. */
  healAgent(id: string): void {
    const handle = this.agent(id);
    if (!handle.partitioned) return;
    handle.partitioned = false;
    this.clearPingTimer(id);
    if (handle.lifecycle === 'up') this.master()?.registerAgent(handle.registration());
  }

  /** Mark the agent unreachable now (e.g. a crashed agent, without waiting for the ping timeout). */
  markAgentUnreachable(id: string): void {
    this.agent(id);
    this.clearPingTimer(id);
    this.master()?.markAgentUnreachable(id);
  }

  /** The operator marks the agent gone: its tasks are TASK_GONE_BY_OPERATOR / TASK_LOST and it shuts down. */
  async markAgentGone(id: string): Promise<void> {
    const handle = this.agent(id);
    this.clearPingTimer(id);
    this.master()?.markAgentGone(id);
    await handle.stop();
    this.agents.delete(id);
  }

  private clearPingTimer(id: string): void {
    const timer = this.pingTimers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.pingTimers.delete(id);
  }

  // ---- status and shutdown ------------------------------------------------------------------------

  summary(): Record<string, unknown> {
    const master = this.master();
    return {
      leader: this.leaderIndex ?? null,
      masterUrl: this.masterUrl,
      masters: this.nodes.map((n) => ({
        index: n.index,
        url: `http://${this.host}:${n.info.port}`,
        id: n.info.id,
        leading: this.leaderIndex === n.index && n.master !== undefined,
        znode: n.zk?.znode ?? null,
      })),
      agents: this.agentSummaries(),
      frameworks: (master?.frameworkRecords() ?? []).map((f) => ({
        id: f.id,
        name: f.info.name,
        connected: f.connected,
        tasks: f.tasks.size,
        unreachableTasks: f.unreachableTasks.size,
        offers: f.offers.size,
      })),
      faults: this.faults.list(),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.pingTimers.values()) clearTimeout(timer);
    this.pingTimers.clear();
    for (const node of this.nodes) {
      node.master?.stop('graceful');
      node.master = undefined;
    }
    this.leaderIndex = undefined;
    const results = await Promise.allSettled([...this.agents.values()].map((a) => a.stop()));
    for (const r of results) if (r.status === 'rejected') this.logger.warn('agent stop failed', { error: errorMessage(r.reason) });
    this.agents.clear();
    for (const node of this.nodes) {
      await node.zk?.close().catch(() => undefined);
      await node.http.close();
    }
    if (this.ownsWorkDir) fs.rmSync(this.workDir, { recursive: true, force: true });
  }
}
