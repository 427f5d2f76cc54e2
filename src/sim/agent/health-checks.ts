/**
 * Mesos HealthCheck semantics (src/checks/health_checker.cpp, 1.11), as the command and default executors
 * apply them:
 *   - the first check runs `delay_seconds` after the task started, then one every `interval_seconds` after
 *     the previous one finished; a check taking longer than `timeout_seconds` (0 = no limit) fails;
 *   - until the first success, failures within `grace_period_seconds` of the start are ignored;
 *   - every counted failure yields `healthy: false`; the first success, and the first success after
 *     failures, yields `healthy: true`; other successes are silent;
 *   - when the count of consecutive failures reaches `consecutive_failures`, the executor kills the task.
 * Check kinds: COMMAND (shell or argv, exit 0 = healthy), HTTP (GET http(s)://<ip>:port/path, status in
 * [200, 400) = healthy; redirects are not followed), TCP (connect to <ip>:port). Mesos uses 127.0.0.1 inside
 * the task's network namespace; the simulator has no namespaces and may give each agent its own loopback
 * address, so <ip> is the agent's address (127.0.0.1 by default).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { HealthCheck } from '../../mesos/types.js';
import type { Logger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';
import { describeWaitStatus, succeeded, waitStatusOf } from './exit-status.js';
import type { ProcessGroupRegistry } from './process-registry.js';
import { applyCommandEnvironment, commandLaunchSpec } from './sandbox-env.js';
import { systemClock, type Clock } from './status-update-manager.js';

/** HealthCheck field defaults from mesos.proto. */
export const HEALTH_CHECK_DEFAULTS = {
  delaySeconds: 15,
  intervalSeconds: 10,
  timeoutSeconds: 20,
  consecutiveFailures: 3,
  gracePeriodSeconds: 10,
} as const;

export interface HealthPolicy {
  delayMs: number;
  intervalMs: number;
  /** Infinity when timeout_seconds is 0. */
  timeoutMs: number;
  gracePeriodMs: number;
  consecutiveFailures: number;
}

export function healthPolicy(check: HealthCheck): HealthPolicy {
  const secs = (v: number | undefined, dflt: number): number => (v === undefined || !Number.isFinite(v) || v < 0 ? dflt : v);
  const timeout = secs(check.timeout_seconds, HEALTH_CHECK_DEFAULTS.timeoutSeconds);
  return {
    delayMs: secs(check.delay_seconds, HEALTH_CHECK_DEFAULTS.delaySeconds) * 1000,
    intervalMs: secs(check.interval_seconds, HEALTH_CHECK_DEFAULTS.intervalSeconds) * 1000,
    timeoutMs: timeout > 0 ? timeout * 1000 : Infinity,
    gracePeriodMs: secs(check.grace_period_seconds, HEALTH_CHECK_DEFAULTS.gracePeriodSeconds) * 1000,
    consecutiveFailures: check.consecutive_failures ?? HEALTH_CHECK_DEFAULTS.consecutiveFailures,
  };
}

/** What the executor is told after a check: send `healthy`, and kill the task if `killTask`. */
export interface HealthReport {
  healthy: boolean;
  killTask: boolean;
  consecutiveFailures: number;
  message?: string;
}

/** The pure state machine of the health checker (no I/O, caller owns time). */
export class HealthState {
  private initializing = true;
  private failures = 0;

  constructor(
    private readonly policy: HealthPolicy,
    private readonly startedAt: number,
  ) {}

  /** Returns the report to send, or undefined when this success is not news. */
  success(): HealthReport | undefined {
    const report = this.initializing || this.failures > 0 ? { healthy: true, killTask: false, consecutiveFailures: 0 } : undefined;
    this.initializing = false;
    this.failures = 0;
    return report;
  }

  /** Returns the report to send, or undefined when the failure falls in the grace period. */
  failure(now: number, message: string): HealthReport | undefined {
    if (this.initializing && this.policy.gracePeriodMs > 0 && now - this.startedAt <= this.policy.gracePeriodMs) {
      return undefined;
    }
    this.failures++;
    return {
      healthy: false,
      killTask: this.failures >= this.policy.consecutiveFailures,
      consecutiveFailures: this.failures,
      message,
    };
  }
}

export interface HealthCheckContext {
  /** Working directory and environment of COMMAND checks: the task's sandbox and environment. */
  sandbox: string;
  env: Record<string, string>;
  registry: ProcessGroupRegistry;
  logger: Logger;
  clock?: Clock;
  /** Address HTTP and TCP checks connect to (default 127.0.0.1). */
  ip?: string;
}

/** Runs the checks of one task until stopped; reports through `onReport`. */
export class HealthChecker {
  private readonly policy: HealthPolicy;
  private readonly state: HealthState;
  private readonly clock: Clock;
  private timer: unknown = undefined;
  private stopped = false;
  private inFlightPgid = -1;

  constructor(
    private readonly check: HealthCheck,
    private readonly ctx: HealthCheckContext,
    private readonly onReport: (r: HealthReport) => void,
  ) {
    this.clock = ctx.clock ?? systemClock;
    this.policy = healthPolicy(check);
    this.state = new HealthState(this.policy, this.clock.now());
  }

  start(): void {
    this.schedule(this.policy.delayMs);
  }

  /** Stop checking (task being killed or gone). An in-flight COMMAND check is killed. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlightPgid > 0) this.ctx.registry.signal(this.inFlightPgid, 'SIGKILL');
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.runOnce();
    }, ms);
  }

  private async runOnce(): Promise<void> {
    if (this.stopped) return;
    let failure: string | undefined;
    try {
      failure = await this.perform();
    } catch (err) {
      failure = errorMessage(err);
    }
    if (this.stopped) return;
    const type = this.check.type ?? 'UNKNOWN';
    const report =
      failure === undefined ? this.state.success() : this.state.failure(this.clock.now(), `${type} health check failed: ${failure}`);
    if (failure !== undefined) {
      this.ctx.logger.info('health check failed', { failure, counted: report !== undefined });
    }
    if (report !== undefined) this.onReport(report);
    this.schedule(this.policy.intervalMs);
  }

  /** Resolves undefined on success, or the failure text. */
  private perform(): Promise<string | undefined> {
    switch (this.check.type) {
      case 'COMMAND':
        return this.commandCheck();
      case 'HTTP':
        return this.httpCheck();
      case 'TCP':
        return this.tcpCheck();
      case 'UNKNOWN':
      case undefined:
        return Promise.resolve(`unsupported health check type '${String(this.check.type)}'`);
    }
  }

  private async commandCheck(): Promise<string | undefined> {
    const command = this.check.command;
    if (command === undefined) return 'no command';
    const spec = commandLaunchSpec(command);
    const env = { ...this.ctx.env };
    applyCommandEnvironment(env, command);
    const p = this.ctx.registry.spawn(spec.file, spec.args, {
      cwd: this.ctx.sandbox,
      env,
      stdio: 'ignore',
      ...(spec.argv0 === undefined ? {} : { argv0: spec.argv0 }),
    });
    this.inFlightPgid = p.pgid;
    let timer: unknown;
    const timeout = new Promise<'timeout'>((resolve) => {
      if (Number.isFinite(this.policy.timeoutMs)) timer = this.clock.setTimeout(() => resolve('timeout'), this.policy.timeoutMs);
    });
    const res = await Promise.race([p.exited, timeout]);
    if (timer !== undefined) this.clock.clearTimeout(timer);
    this.inFlightPgid = -1;
    if (res === 'timeout') {
      this.ctx.registry.signal(p.pgid, 'SIGKILL');
      return `Command has not returned after ${this.policy.timeoutMs / 1000}secs; aborting`;
    }
    const status = waitStatusOf(res.code, res.signal);
    return succeeded(status) ? undefined : `Command returned ${describeWaitStatus(status)}`;
  }

  private httpCheck(): Promise<string | undefined> {
    const http = this.check.http;
    if (http === undefined) return Promise.resolve('no http');
    const scheme = http.scheme ?? 'http';
    const path = http.path ?? '/';
    const requester = scheme === 'https' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      let settled = false;
      let timer: unknown;
      const done = (v: string | undefined): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) this.clock.clearTimeout(timer);
        // One connection per check, closed as soon as the status is known (a body is never needed).
        req.destroy();
        resolve(v);
      };
      const req = requester(
        { host: this.ctx.ip ?? '127.0.0.1', port: http.port, path: path.startsWith('/') ? path : `/${path}`, method: 'GET', rejectUnauthorized: false, agent: false },
        (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          done(code >= 200 && code < 400 ? undefined : `Unexpected HTTP response code: ${code}`);
        },
      );
      if (Number.isFinite(this.policy.timeoutMs)) {
        timer = this.clock.setTimeout(() => {
          req.destroy();
          done(`HTTP request has not returned after ${this.policy.timeoutMs / 1000}secs; aborting`);
        }, this.policy.timeoutMs);
      }
      req.on('error', (err) => {
        if (!settled) done(errorMessage(err));
      });
      req.end();
    });
  }

  private tcpCheck(): Promise<string | undefined> {
    const tcp = this.check.tcp;
    if (tcp === undefined) return Promise.resolve('no tcp');
    return new Promise((resolve) => {
      let settled = false;
      let timer: unknown;
      const host = this.ctx.ip ?? '127.0.0.1';
      const sock = connect({ host, port: tcp.port });
      const done = (v: string | undefined): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) this.clock.clearTimeout(timer);
        sock.destroy();
        resolve(v);
      };
      if (Number.isFinite(this.policy.timeoutMs)) {
        timer = this.clock.setTimeout(() => done(`TCP connection has not been established after ${this.policy.timeoutMs / 1000}secs`), this.policy.timeoutMs);
      }
      sock.once('connect', () => done(undefined));
      sock.once('error', (err) => done(`Failed to connect to ${host}:${tcp.port}: ${errorMessage(err)}`));
    });
  }
}
