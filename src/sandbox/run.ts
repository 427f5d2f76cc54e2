/**
 * `kmf sandbox`: a whole kmf installation on one machine, started in order and stopped in reverse order.
 *
 *   1. prerequisites: Java 17+, the runtime under .kmf/runtime (installed with Maven when missing)
 *   2. ZooKeeper (data in the sandbox directory: the scheduler's state survives a restart)
 *   3. `kmf mesos-sim`, a master and 3 agents whose work dirs and checkpoints are in the sandbox directory
 *   4. `kmf scheduler` (role `kmf`, so brokers get reservations and persistent volumes)
 *   5. 3 brokers, the example app's topics, the example app — or, when resuming, waiting for them to be back
 *   6. `ready` and how to use it; then it waits for Ctrl-C / SIGTERM
 *
 * A signal at any point (or a failed step) stops what was started: the scheduler first (it closes its
 * subscription; the framework stays registered, so the next run resumes it), then the sim (which stops the
 * tasks), then ZooKeeper; finally anything still running from the directory is killed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApiClient } from '../cli/api-client.js';
import { errorMessage, KmfError } from '../util/errors.js';
import { repoRoot, type RuntimeManifest } from '../util/runtime-manifest.js';
import { bootstrapServers, BROKER_REQUEST, BROKERS, ensureApp, ensureBrokers, ensureTopics, waitApp, waitBrokers, waitSchedulerReady } from './deploy.js';
import { loadOrCreateToken, readState, sandboxLayout, writePids, writeState, type SandboxLayout, type SandboxState } from './layout.js';
import { checkJava, checkLoopbackAddresses, checkMaven, installedRuntime, installRuntime } from './prerequisites.js';
import { killProcessesUnder, lockSandbox } from './processes.js';
import { spawnGroup, type SandboxChild } from './process-group.js';
import { AGENT_PORT_COUNT, pickAgentPorts, reusePort } from './ports.js';
import { createProgress, type Progress } from './progress.js';
import { wordcountAppSpec, WORD_COUNTS, WORDCOUNT_APP, WORDS_IN } from './wordcount.js';
import { startZooKeeper, waitZooKeeperServing } from './zookeeper.js';

export interface SandboxOptions {
  dir: string;
  fresh: boolean;
  json: boolean;
  /** Where progress and the ready block go (stdout). */
  write: (text: string) => void;
}

/** What `kmf sandbox produce|consume` and scripts read once the sandbox is ready (`connection.json`). */
export interface SandboxConnection {
  bootstrapServers: string;
  apiUrl: string;
  tokenFile: string;
  mesosUrl: string;
  zookeeper: string;
  pid: number;
}

export const DEFAULT_SANDBOX_DIR = path.join('.kmf', 'sandbox');
export const FRAMEWORK_NAME = 'kmf-sandbox';
export const ROLE = 'kmf';
const ZK_CHROOT = '/kmf';
/** The agents' loopback addresses (the sim's "distinct" mode gives agent n the address 127.0.0.(n+2)). */
export const AGENT_HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];

/** Each agent fits a broker (0.5 cpu, 640 MB) and the app (0.5 cpu, 384 MB) with room for a relaunch. */
export function agentResources(ports: { begin: number; end: number }): string {
  return `cpus:2;mem:3072;disk:8192;ports:[${ports.begin}-${ports.end}]`;
}

function connectionFile(layout: SandboxLayout): string {
  return path.join(layout.dir, 'connection.json');
}

export function readConnection(dir: string): SandboxConnection {
  const file = connectionFile(sandboxLayout(dir));
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as SandboxConnection;
  } catch {
    throw new KmfError('sandbox_not_ready', `no running sandbox in ${path.resolve(dir)} (no ${file}): start one with \`kmf sandbox\` and wait for "ready"`);
  }
}

class Sandbox {
  private readonly layout: SandboxLayout;
  private readonly progress: Progress;
  private readonly abort = new AbortController();
  /** In start order; stopped in reverse. */
  private readonly children: SandboxChild[] = [];
  private releaseLock: (() => void) | undefined;
  private stopReason: string | undefined;
  /** Set when a started child exits on its own: the sandbox is broken and stops. */
  private failure: string | undefined;
  private stopping = false;

  constructor(private readonly opts: SandboxOptions) {
    this.layout = sandboxLayout(opts.dir);
    this.progress = createProgress(opts.write, opts.json);
  }

  /** Runs until stopped; resolves with the exit code. */
  async run(): Promise<number> {
    const onSignal = (sig: NodeJS.Signals): void => this.onSignal(sig);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    let code = 0;
    try {
      await this.start();
      await this.serve();
    } catch (err) {
      if (!this.abort.signal.aborted) {
        process.stderr.write(`error: ${errorMessage(err)}\n`);
        if (!(err instanceof KmfError && err.code === 'sandbox_prerequisite') && fs.existsSync(this.layout.logsDir)) {
          process.stderr.write(`logs: ${this.layout.logsDir}\n`);
        }
        code = 1;
      }
    } finally {
      if (this.failure !== undefined) {
        process.stderr.write(`error: ${this.failure}\n`);
        code = 1;
      }
      await this.stopAll();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
    }
    return code;
  }

  private onSignal(sig: NodeJS.Signals): void {
    if (this.abort.signal.aborted) {
      // A second Ctrl-C: no more waiting for graceful stops.
      this.progress.warn(`${sig} again: killing everything now`);
      for (const c of this.children) c.killNow();
      const release = this.releaseLock;
      if (release === undefined) process.exit(130);
      void killProcessesUnder(this.layout.dir).finally(() => {
        release();
        process.exit(130);
      });
      return;
    }
    this.stopReason = sig;
    this.progress.step(`${sig}: stopping (press Ctrl-C again to kill everything at once)`);
    this.abort.abort(new KmfError('sandbox_aborted', `stopped by ${sig}`));
  }

  private get signal(): AbortSignal {
    return this.abort.signal;
  }

  private checkAborted(): void {
    if (this.signal.aborted) throw new KmfError('sandbox_aborted', 'stopped');
  }

  private track(child: SandboxChild): SandboxChild {
    this.children.push(child);
    writePids(this.layout, { sandbox: process.pid, children: this.children.map((c) => ({ name: c.name, pid: c.pid })) });
    return child;
  }

  /**
   * From now on (the child has started), its exit is a failure that stops the sandbox. Before, the step that
   * waits for it to start notices the exit and says why.
   */
  private watch(child: SandboxChild): void {
    void child.exited.then((e) => {
      if (this.stopping || this.signal.aborted) return;
      this.failure = `${child.name} exited on its own (code ${String(e.code)}, signal ${String(e.signal)}); its log is in ${this.layout.logsDir}`;
      this.abort.abort(new KmfError('sandbox_child_exited', this.failure));
    });
  }

  private async start(): Promise<void> {
    const { layout, progress } = this;
    const resumeCheck = fs.existsSync(layout.stateFile);
    fs.mkdirSync(layout.dir, { recursive: true });
    this.releaseLock = lockSandbox(layout);
    const leftovers = await killProcessesUnder(layout.dir);
    if (leftovers.length > 0) progress.warn(`killed ${leftovers.length} process(es) left running from an earlier sandbox in ${layout.dir}`);
    if (this.opts.fresh && resumeCheck) {
      progress.step(`--fresh: wiping ${layout.dir}`);
      for (const entry of fs.readdirSync(layout.dir)) {
        if (path.join(layout.dir, entry) !== layout.pidFile) fs.rmSync(path.join(layout.dir, entry), { recursive: true, force: true });
      }
    }
    fs.mkdirSync(layout.logsDir, { recursive: true });
    fs.rmSync(connectionFile(layout), { force: true });

    // 1. Prerequisites.
    const javaBin = checkJava();
    let manifest = installedRuntime();
    if (manifest === undefined) {
      checkMaven();
      progress.step('installing the Kafka/ZooKeeper runtime into .kmf/runtime (Maven Central; the first time takes a few minutes)');
      manifest = await installRuntime((line) => progress.step(`  runtime: ${line}`), path.join(layout.logsDir, 'runtime-install.log'), this.signal);
    }
    progress.step(`runtime: Kafka ${manifest.kafka.version}, ZooKeeper ${manifest.zookeeper.version}, Java ${javaBin}`);
    this.checkAborted();

    // Ports and token.
    const previous = readState(layout);
    const resuming = previous !== undefined;
    await checkLoopbackAddresses(AGENT_HOSTS);
    const agentPorts = previous?.agentPorts ?? (await pickAgentPorts(AGENT_HOSTS));
    const state: SandboxState = {
      version: 1,
      createdAt: previous?.createdAt ?? new Date().toISOString(),
      ports: {
        zookeeper: await reusePort(previous?.ports.zookeeper),
        mesos: await reusePort(previous?.ports.mesos),
        api: await reusePort(previous?.ports.api),
      },
      agentPorts,
    };
    writeState(layout, state);
    const token = loadOrCreateToken(layout);
    progress.step(resuming ? `resuming the sandbox in ${layout.dir}` : `new sandbox in ${layout.dir}`);

    // 2. ZooKeeper.
    const zkPort = await this.startZooKeeper(manifest, state);
    for (const c of this.children) this.watch(c);
    const zookeeper = `127.0.0.1:${zkPort}`;
    progress.step(`ZooKeeper serving on ${zookeeper}`);

    // 3. The Mesos sim.
    const kmf = path.join(repoRoot(), 'bin', 'kmf.js');
    const sim = this.track(
      spawnGroup({
        name: 'kmf-sandbox-mesos-sim',
        command: process.execPath,
        args: [
          kmf,
          'mesos-sim',
          '--port',
          String(state.ports.mesos),
          '--host',
          '127.0.0.1',
          '--agents',
          '3',
          '--resources',
          agentResources(agentPorts),
          '--agent-addresses',
          'distinct',
          '--work-dir',
          layout.mesosDir,
          '--recover',
        ],
        logFile: path.join(layout.logsDir, 'mesos-sim.log'),
      }),
    );
    const mesosUrl = (await sim.waitForStdout(/^https?:\/\/\S+$/, 60_000, this.signal)).trim();
    this.watch(sim);
    progress.step(`Mesos master (kmf mesos-sim) at ${mesosUrl} with 3 agents (${AGENT_PORT_COUNT} ports each from ${agentPorts.begin})`);

    // 4. The scheduler.
    const apiListen = `127.0.0.1:${state.ports.api}`;
    const scheduler = this.track(
      spawnGroup({
        name: 'kmf-sandbox-scheduler',
        command: process.execPath,
        args: [
          kmf,
          'scheduler',
          '--master',
          mesosUrl,
          '--zk',
          `${zookeeper}${ZK_CHROOT}`,
          '--api',
          apiListen,
          '--api-advertise',
          `http://${apiListen}`,
          '--framework-name',
          FRAMEWORK_NAME,
          '--role',
          ROLE,
          // The agents share this machine: each broker binds its agent's own loopback address.
          '--kafka-bind-host',
          '{{host}}',
        ],
        // The token goes through the environment, never the command line (visible to every user in ps).
        env: { ...process.env, KMF_API_TOKEN: token },
        logFile: path.join(layout.logsDir, 'scheduler.log'),
      }),
    );
    const apiUrl = /^kmf scheduler api (\S+)$/.exec(await scheduler.waitForStdout(/^kmf scheduler api \S+$/, 60_000, this.signal))?.[1] ?? `http://${apiListen}`;
    this.watch(scheduler);
    const api = new ApiClient({ url: apiUrl, token, timeoutMs: 30_000 });
    try {
      await waitSchedulerReady(api, 90_000, this.signal);
      progress.step(`scheduler leading and subscribed; admin API at ${apiUrl}`);

      // 5. Brokers, topics, app.
      if (await ensureBrokers(api)) {
        progress.step(`deploying ${BROKERS} brokers (heap ${BROKER_REQUEST.heap} MB each)`);
      } else {
        progress.step('the scheduler resumed its framework: waiting for its brokers to come back');
      }
      await waitBrokers(api, (l) => progress.step(`  ${l}`), 300_000, this.signal);
      const bootstrap = await bootstrapServers(api);
      progress.step(`Kafka ready: ${bootstrap}`);
      await ensureTopics(api, (l) => progress.step(`  ${l}`), this.signal);
      if (await ensureApp(api, wordcountAppSpec(manifest))) progress.step(`deploying the example Streams app ${WORDCOUNT_APP}`);
      else progress.step(`waiting for the example Streams app ${WORDCOUNT_APP}`);
      await waitApp(api, (l) => progress.step(`  ${l}`), 300_000, this.signal);

      // 6. Ready.
      const connection: SandboxConnection = { bootstrapServers: bootstrap, apiUrl, tokenFile: layout.tokenFile, mesosUrl, zookeeper, pid: process.pid };
      fs.writeFileSync(connectionFile(layout), JSON.stringify(connection, null, 2) + '\n');
      this.printReady(connection, token, resuming);
    } finally {
      await api.close();
    }
  }

  /** Starts ZooKeeper, on a new port if the one chosen was taken meanwhile; returns the port. */
  private async startZooKeeper(manifest: RuntimeManifest, state: SandboxState): Promise<number> {
    let port = state.ports.zookeeper;
    for (let attempt = 1; ; attempt++) {
      const zk = this.track(startZooKeeper(this.layout, manifest, port));
      try {
        await waitZooKeeperServing(zk, port, 60_000, this.signal);
        if (port !== state.ports.zookeeper) writeState(this.layout, { ...state, ports: { ...state.ports, zookeeper: port } });
        return port;
      } catch (err) {
        if (!(err instanceof KmfError && err.retriable) || attempt >= 3) throw err;
        await zk.stop(2_000);
        this.children.splice(this.children.indexOf(zk), 1);
        port = await reusePort(undefined);
      }
    }
  }

  private printReady(c: SandboxConnection, token: string, resumed: boolean): void {
    const cli = path.relative(process.cwd(), path.join(repoRoot(), 'bin', 'kmf.js')) || 'bin/kmf.js';
    const kmfCmd = cli.startsWith('.') || cli.startsWith('/') ? cli : `./${cli}`;
    const dirArg = path.resolve(this.opts.dir) === path.resolve(repoRoot(), DEFAULT_SANDBOX_DIR) ? '' : ` --dir ${this.layout.dir}`;
    const took = (this.progress.elapsedMs() / 1000).toFixed(1);
    this.progress.block(
      [
        'ready',
        `bootstrap servers: ${c.bootstrapServers}`,
        `admin API: ${c.apiUrl}`,
        `admin API token: ${token}   (also in ${c.tokenFile})`,
        `Mesos master: ${c.mesosUrl}`,
        `ZooKeeper: ${c.zookeeper} (kmf state under ${ZK_CHROOT})`,
        `example app: ${WORDCOUNT_APP} counts the words of topic ${WORDS_IN} into topic ${WORD_COUNTS}`,
        'try it:',
        `  produce:  echo "hello kafka hello mesos" | ${kmfCmd} sandbox produce ${WORDS_IN}${dirArg}`,
        `  consume:  ${kmfCmd} sandbox consume ${WORD_COUNTS}${dirArg}`,
        `  kmf CLI:  KMF_API_URL=${c.apiUrl} KMF_API_TOKEN_FILE=${c.tokenFile} ${kmfCmd} broker list   (also: status, topic list, app show ${WORDCOUNT_APP})`,
        `  any Kafka client works with the bootstrap servers, e.g. kafka-console-producer.sh --bootstrap-server ${c.bootstrapServers.split(',')[0] ?? ''} --topic ${WORDS_IN}`,
        `logs: ${this.layout.logsDir}`,
        `stop: Ctrl-C here (or kill -INT ${process.pid}); run it again to resume, with --fresh to start over`,
        `${resumed ? 'warm' : 'cold'} start: ready in ${took} s`,
      ],
      { event: 'ready', ...c, token, resumed, seconds: Number(took) },
    );
  }

  /** Waits until a signal, or until a child exits on its own (see watch()). */
  private async serve(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.signal.aborted) resolve();
      this.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  private async stopAll(): Promise<void> {
    this.stopping = true;
    const graceMs: Record<string, number> = { 'kmf-sandbox-scheduler': 20_000, 'kmf-sandbox-mesos-sim': 30_000, 'kmf-sandbox-zookeeper': 15_000 };
    const running = this.children.filter((c) => c.running());
    if (running.length > 0 || this.stopReason !== undefined) this.progress.step('stopping: scheduler, then Mesos sim and its tasks, then ZooKeeper');
    for (const child of [...this.children].reverse()) {
      if (!child.running()) {
        await child.stop(0).catch(() => undefined);
        continue;
      }
      const exit = await child.stop(graceMs[child.name] ?? 10_000).catch((err: unknown) => {
        this.progress.warn(`${child.name}: ${errorMessage(err)}`);
        return undefined;
      });
      this.progress.step(`  stopped ${child.name.replace('kmf-sandbox-', '')}${exit?.signal === 'SIGKILL' ? ' (killed: it did not stop in time)' : ''}`);
    }
    // Only the holder of the directory sweeps it: a sandbox refused because another one runs there must not
    // touch that one's processes or files.
    if (this.releaseLock === undefined) return;
    const leftovers = await killProcessesUnder(this.layout.dir);
    if (leftovers.length > 0) this.progress.warn(`killed ${leftovers.length} process(es) still running from ${this.layout.dir}`);
    fs.rmSync(connectionFile(this.layout), { force: true });
    this.releaseLock();
    if (this.children.length > 0) this.progress.step('stopped; nothing left running');
  }
}

export function runSandbox(opts: SandboxOptions): Promise<number> {
  return new Sandbox(opts).run();
}
