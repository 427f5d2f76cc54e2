/**
 * `kmf mesos-sim`: a Mesos 1.11 master (or several) with agents that really run tasks, for tests, the
 * sandbox and benchmarks. Prints the leading master's URL on stdout once it serves; logs go to stderr.
 */
import { Command, InvalidArgumentError } from 'commander';
import { SimCluster, DEFAULT_AGENT_RESOURCES, type SimClusterOptions } from '../../sim/cluster.js';
import { controlRoutes } from '../../sim/control-api.js';
import { errorMessage } from '../../util/errors.js';
import { createLogger } from '../../util/log.js';

function integer(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

interface MesosSimFlags {
  port: number;
  host: string;
  hostname?: string;
  masters: number;
  agents: number;
  resources: string;
  attributes?: string;
  zk?: string;
  synthetic?: boolean;
  syntheticDelay: number;
  heartbeatInterval: number;
  allocationInterval: number;
  offerTimeout?: number;
  agentPingTimeout: number;
  statusUpdateRetry?: number;
  agentAddresses?: 'distinct' | 'shared';
  workDir?: string;
  recover?: boolean;
}

export function register(program: Command): void {
  program
    .command('mesos-sim')
    .description('run a simulated Mesos 1.11 master and agents (scheduler API at http://HOST:PORT/api/v1/scheduler)')
    .option('--port <n>', 'master port (0 = ephemeral)', integer(0), 5050)
    .option('--host <ip>', 'address to bind and advertise', '127.0.0.1')
    .option('--hostname <name>', 'MasterInfo.hostname (default: the address)')
    .option('--masters <n>', 'number of masters (one leads, the others answer 307)', integer(1), 1)
    .option('--agents <n>', 'number of agents', integer(0), 1)
    .option('--resources <spec>', 'agent resources, Mesos agent syntax', DEFAULT_AGENT_RESOURCES)
    .option('--attributes <spec>', 'agent attributes, e.g. "rack:r1;zone:z2"')
    .option('--zk <url>', 'register as master in ZooKeeper, e.g. zk://127.0.0.1:2181/mesos')
    .option('--synthetic', 'tasks are not processes: RUNNING after --synthetic-delay, until killed')
    .option('--synthetic-delay <ms>', 'synthetic tasks: delay before TASK_RUNNING', integer(0), 100)
    .option('--heartbeat-interval <s>', 'scheduler HEARTBEAT interval in seconds', seconds, 15)
    .option('--allocation-interval <s>', 'allocation cycle in seconds', seconds, 1)
    .option('--offer-timeout <s>', 'rescind unused offers after this many seconds (default: never)', seconds)
    .option('--agent-ping-timeout <s>', 'a crashed agent that stays down is marked unreachable after this', seconds, 75)
    .option('--status-update-retry <s>', 'first status update retry (doubles up to 10 min; Mesos: 10)', seconds)
    .option('--agent-addresses <mode>', "'distinct' loopback address per agent, or 'shared'")
    .option('--work-dir <dir>', 'agents work directory (default: a temporary directory)')
    .option('--recover', 'agents checkpoint their id, reservations and volumes in --work-dir and recover them when started again')
    .action(async (flags: MesosSimFlags) => {
      const logger = createLogger({ component: 'mesos-sim' });
      const options: SimClusterOptions = {
        logger,
        host: flags.host,
        port: flags.port,
        masters: flags.masters,
        agents: flags.agents,
        resources: flags.resources,
        heartbeatIntervalSeconds: flags.heartbeatInterval,
        allocationIntervalMs: Math.round(flags.allocationInterval * 1000),
        agentPingTimeoutMs: Math.round(flags.agentPingTimeout * 1000),
        extraRoutes: controlRoutes,
      };
      if (flags.hostname !== undefined) options.hostname = flags.hostname;
      if (flags.attributes !== undefined) options.attributes = flags.attributes;
      if (flags.zk !== undefined) options.zk = flags.zk;
      if (flags.synthetic === true) options.synthetic = { runningDelayMs: flags.syntheticDelay };
      if (flags.offerTimeout !== undefined) options.offerTimeoutMs = Math.round(flags.offerTimeout * 1000);
      if (flags.statusUpdateRetry !== undefined) {
        options.statusUpdateRetry = { initialMs: Math.round(flags.statusUpdateRetry * 1000), maxMs: 600_000 };
      }
      if (flags.agentAddresses !== undefined) {
        if (flags.agentAddresses !== 'distinct' && flags.agentAddresses !== 'shared') {
          throw new InvalidArgumentError("--agent-addresses must be 'distinct' or 'shared'");
        }
        options.agentAddresses = flags.agentAddresses;
      }
      if (flags.workDir !== undefined) options.workDir = flags.workDir;
      if (flags.recover === true) {
        if (flags.workDir === undefined) throw new InvalidArgumentError('--recover needs --work-dir (where the agents checkpoint)');
        options.recoverAgents = true;
      }

      const cluster = await SimCluster.start(options);
      let stopping = false;
      const shutdown = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        logger.info('stopping', { signal });
        cluster
          .stop()
          .catch((err: unknown) => logger.error('stop failed', { error: errorMessage(err) }))
          .finally(() => process.exit(0));
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      logger.info('mesos-sim ready', { masters: cluster.masterUrls(), agents: cluster.agentIds().length });
      process.stdout.write(`${cluster.masterUrl}\n`);
      // Serve until a signal arrives.
      await new Promise<never>(() => undefined);
    });
}
