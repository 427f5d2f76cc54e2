/**
 * `kmf scheduler`: one scheduler instance. Run several on the same --zk for hot standbys: one leads
 * (subscribes to Mesos, writes state), the others wait and take over when it goes. Every flag can also come
 * from a KMF_* environment variable (docs/configuration.md lists them all). A bad flag exits with status 2
 * and says what is wrong and how to fix it. Once the admin API listens, one line goes to stdout:
 * `kmf scheduler api <URL>`; logs are JSON on stderr. SIGTERM/SIGINT stop gracefully (exit 0).
 */
import os from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadApiAuth, type ApiAuthConfig } from '../../api/auth.js';
import { parseListenAddress } from '../../api/server.js';
import { coreConfig, type CoreConfig } from '../../core/config.js';
import { loadCredential, type Credential } from '../../mesos/credentials.js';
import { parseMasterList } from '../../mesos/master-detector.js';
import { isZkUrl, parseZkUrl } from '../../mesos/zk-url.js';
import { startScheduler, type SchedulerConfig } from '../../runtime/scheduler-main.js';
import { parseZkStateSpec } from '../../state/zk-config.js';
import { errorMessage, KmfError } from '../../util/errors.js';
import { createLogger } from '../../util/log.js';

interface SchedulerFlags {
  master: string;
  zk: string;
  api: string;
  apiAdvertise?: string;
  frameworkName: string;
  role: string;
  user?: string;
  principal?: string;
  secretFile?: string;
  mesosCaFile?: string;
  failoverTimeout: number;
  zkSessionTimeout: number;
  permanentFailureTimeout: number;
  backoffInitial: number;
  backoffMax: number;
  unreachableLimit: number;
  launchTimeout: number;
  reconcileInterval: number;
  reviveInterval: number;
  coreConfig?: string;
  insecureNoAuth?: boolean;
  apiTokensFile?: string;
  apiTlsCert?: string;
  apiTlsKey?: string;
  kafkaBindHost?: string;
}

function seconds(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min) throw new InvalidArgumentError(`expected a number of seconds >= ${min}, got "${value}"`);
    return n;
  };
}

function checkMaster(value: string): string {
  try {
    if (isZkUrl(value)) parseZkUrl(value);
    else parseMasterList(value);
  } catch (err) {
    throw new InvalidArgumentError(`${errorMessage(err)}; expected http://HOST:5050[,http://HOST2:5050] or zk://HOST:2181[,HOST2:2181]/mesos`);
  }
  return value;
}

function checkZk(value: string): string {
  try {
    if (/\s/.test(value)) throw new Error(`"${value}" contains whitespace`);
    parseZkStateSpec(value, {});
  } catch (err) {
    throw new InvalidArgumentError(`${errorMessage(err)}; expected HOST:PORT[,HOST:PORT…]/CHROOT, e.g. 10.0.0.1:2181,10.0.0.2:2181/kmf`);
  }
  return value;
}

function checkApi(value: string): string {
  try {
    parseListenAddress(value);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
  return value;
}

function checkRole(value: string): string {
  if (!/^(?!-)(?!\.\.?$)[^\s\\/][^\s\\]*$/.test(value) || value.endsWith('/')) {
    throw new InvalidArgumentError(`"${value}" is not a Mesos role name (no whitespace, not starting with "-" or "/")`);
  }
  return value;
}

function checkName(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('the framework name cannot be empty');
  return value;
}

function checkUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new InvalidArgumentError(`"${value}" is not an http(s) URL (e.g. http://kmf-1.example:8080)`);
  }
  return value.replace(/\/+$/, '');
}

/** `--core-config` JSON: advanced tuning of the core (docs/configuration.md); unknown keys are refused. */
function parseCoreConfig(text: string | undefined): Partial<CoreConfig> {
  if (text === undefined || text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new KmfError('invalid_config', `--core-config is not JSON: ${errorMessage(err)}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new KmfError('invalid_config', '--core-config must be a JSON object');
  const known = Object.keys(coreConfig());
  for (const k of Object.keys(v)) {
    if (!known.includes(k) || k === 'renderers') throw new KmfError('invalid_config', `--core-config: unknown key "${k}" (known: ${known.filter((x) => x !== 'renderers').join(', ')})`);
  }
  return v;
}

function opt(flags: string, description: string, env: string): Option {
  return new Option(flags, description).env(env);
}

export function register(program: Command): void {
  program
    .command('scheduler')
    .description('run a kmf scheduler instance (several on the same --zk are hot standbys; one leads)')
    .addOption(opt('--master <url>', 'Mesos master(s): http://HOST:5050[,…] or zk://HOST:2181[,…]/mesos', 'KMF_MASTER').argParser(checkMaster).makeOptionMandatory())
    .addOption(opt('--zk <spec>', "ZooKeeper for kmf's own state and leader election: HOST:PORT[,…]/CHROOT", 'KMF_ZK').argParser(checkZk).makeOptionMandatory())
    .addOption(opt('--api <host:port>', 'admin API listen address', 'KMF_API').argParser(checkApi).default('0.0.0.0:8080'))
    .addOption(opt('--api-advertise <url>', 'URL of this instance\'s API for clients and other instances (default: from --api and the hostname)', 'KMF_API_ADVERTISE').argParser(checkUrl))
    .addOption(opt('--framework-name <name>', 'Mesos framework name (also labels kmf\'s reservations)', 'KMF_FRAMEWORK_NAME').argParser(checkName).default('kmf'))
    .addOption(opt('--role <role>', 'Mesos role to register with, reserve and launch in', 'KMF_ROLE').argParser(checkRole).default('kmf'))
    .addOption(opt('--user <user>', 'user tasks run as (default: the user running the scheduler)', 'KMF_USER'))
    .addOption(opt('--principal <principal>', 'Mesos principal (framework authentication, reservations)', 'KMF_PRINCIPAL'))
    .addOption(opt('--secret-file <path>', 'file with the principal\'s secret (or set KMF_MESOS_SECRET)', 'KMF_SECRET_FILE'))
    .addOption(opt('--mesos-ca-file <path>', 'CA certificates (PEM) to verify https:// masters', 'KMF_MESOS_CA_FILE'))
    .addOption(opt('--failover-timeout <s>', 'how long Mesos keeps the tasks while no scheduler is subscribed', 'KMF_FAILOVER_TIMEOUT').argParser(seconds(0)).default(604_800))
    .addOption(opt('--zk-session-timeout <s>', 'ZooKeeper session timeout (a dead leader is replaced after about this long)', 'KMF_ZK_SESSION_TIMEOUT').argParser(seconds(1)).default(10))
    .addOption(opt('--permanent-failure-timeout <s>', 'a unit with a volume whose task is gone this long is replaced on another agent', 'KMF_PERMANENT_FAILURE_TIMEOUT').argParser(seconds(0)).default(1200))
    .addOption(opt('--backoff-initial <s>', 'relaunch delay after the second failure in a row (doubles)', 'KMF_BACKOFF_INITIAL').argParser(seconds(0)).default(2))
    .addOption(opt('--backoff-max <s>', 'longest relaunch delay', 'KMF_BACKOFF_MAX').argParser(seconds(0)).default(60))
    .addOption(opt('--unreachable-limit <s>', 'an UNREACHABLE task without a reservation is given up (and replaced) after this', 'KMF_UNREACHABLE_LIMIT').argParser(seconds(0)).default(180))
    .addOption(opt('--launch-timeout <s>', 'a task not RUNNING this long after launch is killed and relaunched', 'KMF_LAUNCH_TIMEOUT').argParser(seconds(1)).default(300))
    .addOption(opt('--reconcile-interval <s>', 'period of task reconciliation with the master', 'KMF_RECONCILE_INTERVAL').argParser(seconds(1)).default(600))
    .addOption(opt('--revive-interval <s>', 'minimum time between two REVIVE calls', 'KMF_REVIVE_INTERVAL').argParser(seconds(0)).default(5))
    .addOption(opt('--core-config <json>', 'advanced: JSON overrides of the core tunables (docs/configuration.md)', 'KMF_CORE_CONFIG'))
    .addOption(opt('--insecure-no-auth', 'serve the admin API without tokens (development only)', 'KMF_INSECURE_NO_AUTH'))
    .addOption(opt('--api-tokens-file <path>', 'admin API tokens, one "ROLE NAME TOKEN" per line (ROLE admin or read); besides KMF_API_TOKEN / KMF_API_READ_TOKEN', 'KMF_API_TOKENS_FILE'))
    .addOption(opt('--api-tls-cert <path>', 'serve the admin API over HTTPS with this certificate chain (PEM; needs --api-tls-key)', 'KMF_API_TLS_CERT'))
    .addOption(opt('--api-tls-key <path>', 'private key (PEM) of --api-tls-cert', 'KMF_API_TLS_KEY'))
    .addOption(opt('--kafka-bind-host <host>', 'address Kafka listeners bind to (default 0.0.0.0; "{{host}}" = the agent\'s address, for agents sharing one host)', 'KMF_KAFKA_BIND_HOST'))
    .action(async (flags: SchedulerFlags, cmd: Command) => {
      const logger = createLogger({ component: 'kmf-scheduler' });
      let auth: ApiAuthConfig;
      let tuning: Partial<CoreConfig>;
      let credential: Credential | undefined;
      try {
        auth = loadApiAuth(process.env, flags.insecureNoAuth === true, flags.apiTokensFile === undefined ? {} : { tokensFile: flags.apiTokensFile });
        if ((flags.apiTlsCert === undefined) !== (flags.apiTlsKey === undefined)) {
          throw new KmfError('invalid_config', '--api-tls-cert and --api-tls-key go together: give both (PEM files) or neither');
        }
        tuning = parseCoreConfig(flags.coreConfig);
        if (flags.principal !== undefined) {
          const source = flags.secretFile !== undefined ? { principal: flags.principal, file: flags.secretFile } : { principal: flags.principal, env: 'KMF_MESOS_SECRET' };
          credential = process.env['KMF_MESOS_SECRET'] === undefined && flags.secretFile === undefined ? undefined : await loadCredential(source);
        } else if (flags.secretFile !== undefined) {
          throw new KmfError('invalid_config', '--secret-file needs --principal');
        }
      } catch (err) {
        cmd.error(`error: ${errorMessage(err)}`, { exitCode: 2 });
      }
      const api = parseListenAddress(flags.api);
      const base = coreConfig();
      const config: SchedulerConfig = {
        master: flags.master,
        zk: flags.zk,
        api,
        framework: {
          name: flags.frameworkName,
          role: flags.role,
          user: flags.user ?? os.userInfo().username,
          failoverTimeoutSeconds: flags.failoverTimeout,
          ...(flags.principal === undefined ? {} : { principal: flags.principal }),
        },
        zkSessionTimeoutMs: Math.round(flags.zkSessionTimeout * 1000),
        coreConfig: {
          permanentFailureAfterMs: Math.round(flags.permanentFailureTimeout * 1000),
          unreachableLimitMs: Math.round(flags.unreachableLimit * 1000),
          launchTimeoutMs: Math.round(flags.launchTimeout * 1000),
          reviveMinIntervalMs: Math.round(flags.reviveInterval * 1000),
          ...tuning,
          backoff: {
            ...base.backoff,
            initialMs: Math.round(flags.backoffInitial * 1000),
            maxMs: Math.round(flags.backoffMax * 1000),
            ...(tuning.backoff ?? {}),
          },
          reconcile: { ...base.reconcile, intervalMs: Math.round(flags.reconcileInterval * 1000), ...(tuning.reconcile ?? {}) },
        },
        auth,
        logger,
        ...(flags.apiAdvertise === undefined ? {} : { apiAdvertise: flags.apiAdvertise }),
        ...(flags.apiTlsCert === undefined || flags.apiTlsKey === undefined ? {} : { apiTls: { certFile: flags.apiTlsCert, keyFile: flags.apiTlsKey } }),
        ...(credential === undefined ? {} : { credential }),
        ...(flags.mesosCaFile === undefined ? {} : { mesosCaFile: flags.mesosCaFile }),
        ...(flags.kafkaBindHost === undefined ? {} : { kafkaBindHost: flags.kafkaBindHost }),
      };
      const handle = await startScheduler(config);
      process.stdout.write(`kmf scheduler api ${handle.apiUrl}\n`);
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          logger.warn('second signal: exiting now', { signal });
          process.exit(1);
        }
        stopping = true;
        logger.info('stopping', { signal });
        handle
          .shutdown()
          .then(() => process.exit(0))
          .catch((err: unknown) => {
            logger.error('shutdown failed', { error: errorMessage(err) });
            process.exit(1);
          });
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      await new Promise<never>(() => undefined);
    });
}
