/**
 * The environment and argv a Mesos 1.11 agent gives an executor, and through the command executor, a
 * command task (reference item 185). Pure functions, unit-tested.
 *
 * Layering, lowest to highest precedence (what the Mesos containerizer does when the agent runs without
 * --executor_environment_variables): the agent's own environment, then the MESOS_* variables, then
 * CommandInfo.environment.
 */
import type { CommandInfo, DurationInfo } from '../../mesos/types.js';
import { KmfError } from '../../util/errors.js';

/** 5 s: --executor_shutdown_grace_period default. */
export const DEFAULT_EXECUTOR_SHUTDOWN_GRACE_NS = 5_000_000_000n;
/** 15 min: --recovery_timeout default, given to executors of checkpointing frameworks. */
export const DEFAULT_RECOVERY_TIMEOUT_NS = 15n * 60n * 1_000_000_000n;
/** 2 s: --executor_reregistration_timeout default (MESOS_SUBSCRIPTION_BACKOFF_MAX). */
export const DEFAULT_SUBSCRIPTION_BACKOFF_MAX_NS = 2_000_000_000n;

const NS_PER = {
  us: 1_000n,
  ms: 1_000_000n,
  secs: 1_000_000_000n,
  mins: 60_000_000_000n,
  hrs: 3_600_000_000_000n,
  days: 86_400_000_000_000n,
  weeks: 604_800_000_000_000n,
} as const;

/**
 * stout's Duration text: the largest unit the value reaches, the value printed with 15 significant digits
 * and no trailing zeros (`5secs`, `15mins`, `1.5secs`, `250ms`, `0ns`).
 */
export function formatStoutDuration(ns: bigint): string {
  const abs = ns < 0n ? -ns : ns;
  const pick = (): [bigint, string] => {
    if (abs < NS_PER.us) return [1n, 'ns'];
    if (abs < NS_PER.ms) return [NS_PER.us, 'us'];
    if (abs < NS_PER.secs) return [NS_PER.ms, 'ms'];
    if (abs < NS_PER.mins) return [NS_PER.secs, 'secs'];
    if (abs < NS_PER.hrs) return [NS_PER.mins, 'mins'];
    if (abs < NS_PER.days) return [NS_PER.hrs, 'hrs'];
    if (abs < NS_PER.weeks) return [NS_PER.days, 'days'];
    return [NS_PER.weeks, 'weeks'];
  };
  const [unit, suffix] = pick();
  const value = Number(ns) / Number(unit);
  return `${Number(value.toPrecision(15)).toString()}${suffix}`;
}

/** DurationInfo (nanoseconds as a decimal string, or a number from a lenient decoder) → bigint ns. */
export function durationNs(d: DurationInfo | undefined): bigint | undefined {
  if (d === undefined) return undefined;
  const raw: unknown = d.nanoseconds;
  if (typeof raw === 'bigint') return raw;
  if (typeof raw === 'number' && Number.isFinite(raw)) return BigInt(Math.trunc(raw));
  if (typeof raw === 'string' && /^-?\d+$/.test(raw)) return BigInt(raw);
  return undefined;
}

/** Nanoseconds → milliseconds for timers, clamped to [0, 2^31-1] (setTimeout's range). */
export function nsToTimerMs(ns: bigint): number {
  if (ns <= 0n) return 0;
  const ms = ns / 1_000_000n;
  return ms > 2_147_483_647n ? 2_147_483_647 : Number(ms);
}

export interface ExecutorEnvParams {
  frameworkId: string;
  executorId: string;
  /** Host path of the sandbox (MESOS_DIRECTORY); without a container image MESOS_SANDBOX is the same path. */
  directory: string;
  agentId: string;
  agentIp: string;
  agentPort: number;
  checkpoint: boolean;
  /** ExecutorInfo.shutdown_grace_period, if any. */
  shutdownGracePeriod?: DurationInfo;
  /** The agent's --http_command_executor flag (false by default in 1.11). */
  httpCommandExecutor?: boolean;
  /** The agent's own environment (inherited by executors when no executor env is configured). */
  base?: NodeJS.ProcessEnv;
  /** CommandInfo whose environment is layered on top. */
  command?: CommandInfo;
}

/** Environment for an executor process, or for a command task run by the command executor. */
export function executorEnvironment(p: ExecutorEnvParams): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.base ?? {})) {
    if (v !== undefined) env[k] = v;
  }
  const endpoint = `${p.agentIp}:${p.agentPort}`;
  env['MESOS_FRAMEWORK_ID'] = p.frameworkId;
  env['MESOS_EXECUTOR_ID'] = p.executorId;
  env['MESOS_DIRECTORY'] = p.directory;
  env['MESOS_SANDBOX'] = p.directory;
  env['MESOS_SLAVE_ID'] = p.agentId;
  env['MESOS_SLAVE_PID'] = `slave(1)@${endpoint}`;
  env['MESOS_AGENT_ENDPOINT'] = endpoint;
  env['MESOS_CHECKPOINT'] = p.checkpoint ? '1' : '0';
  env['MESOS_HTTP_COMMAND_EXECUTOR'] = p.httpCommandExecutor === true ? '1' : '0';
  env['MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD'] = formatStoutDuration(
    durationNs(p.shutdownGracePeriod) ?? DEFAULT_EXECUTOR_SHUTDOWN_GRACE_NS,
  );
  if (p.checkpoint) {
    env['MESOS_RECOVERY_TIMEOUT'] = formatStoutDuration(DEFAULT_RECOVERY_TIMEOUT_NS);
    env['MESOS_SUBSCRIPTION_BACKOFF_MAX'] = formatStoutDuration(DEFAULT_SUBSCRIPTION_BACKOFF_MAX_NS);
  }
  // libprocess-based executors must not grab the agent's port.
  env['LIBPROCESS_PORT'] = '0';
  applyCommandEnvironment(env, p.command);
  return env;
}

/** CommandInfo.environment wins over everything the agent set. SECRET variables are not supported here. */
export function applyCommandEnvironment(env: Record<string, string>, command: CommandInfo | undefined): void {
  for (const v of command?.environment?.variables ?? []) {
    if (v.type === 'SECRET') continue;
    env[v.name] = v.value ?? '';
  }
}

export interface LaunchSpec {
  file: string;
  args: string[];
  /** argv[0] when it differs from `file` (shell=false with explicit arguments). */
  argv0?: string;
}

/**
 * How CommandInfo becomes a process: shell=true (the default) runs `/bin/sh -c <value>`; shell=false
 * execvp()s `value` with `arguments` as the complete argv (arguments[0] is argv[0], as in Mesos).
 */
export function commandLaunchSpec(command: CommandInfo): LaunchSpec {
  const value = command.value;
  if (value === undefined || value === '') {
    throw new KmfError(
      'SIM_COMMAND_INVALID',
      command.shell === false ? 'Executable of the command is not specified' : 'Shell command is not specified',
    );
  }
  if (command.shell !== false) return { file: '/bin/sh', args: ['-c', value], argv0: 'sh' };
  const argv = command.arguments ?? [];
  const [first, ...rest] = argv;
  return first === undefined ? { file: value, args: [] } : { file: value, args: rest, argv0: first };
}
