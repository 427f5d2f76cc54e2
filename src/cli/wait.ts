/**
 * `--wait`: poll until an operation has finished, showing progress on stderr when it changes (never in
 * --json mode, where stdout gets only the final document). A plan (or app) that reaches ERROR, or a wait
 * longer than --wait-timeout, ends with exit code 7 and the reason.
 */
import type { ApiClient } from './api-client.js';
import { ApiError } from './api-client.js';
import { CliError, EXIT } from './output.js';
import type { AppView, Plan, PlanStep } from './views.js';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** No progress lines (--json). */
  quiet: boolean;
}

export interface Progress<T> {
  done: boolean;
  /** Set when the operation failed for good. */
  failed?: string;
  /** One line saying where things are. */
  text: string;
  value: T;
}

export async function waitUntil<T>(what: string, poll: () => Promise<Progress<T>>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = '';
  for (;;) {
    let p: Progress<T>;
    try {
      p = await poll();
    } catch (err) {
      // A leader change or a brief outage while waiting is not the operation failing: keep polling.
      if (!(err instanceof ApiError) || (err.status !== 0 && err.status !== 503)) throw err;
      p = { done: false, text: `waiting for the API: ${err.message}`, value: undefined as T };
    }
    if (!opts.quiet && p.text !== last) process.stderr.write(`${p.text}\n`);
    last = p.text;
    if (p.failed !== undefined) throw new CliError(EXIT.waitFailed, `${what} failed: ${p.failed}`);
    if (p.done) return p.value;
    if (Date.now() >= deadline) throw new CliError(EXIT.waitFailed, `gave up waiting for ${what} after ${Math.round(opts.timeoutMs / 1000)} s: ${p.text}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1_000));
  }
}

export function steps(plan: Plan): PlanStep[] {
  return plan.phases.flatMap((ph) => ph.steps);
}

/** `deploy: 3/5 steps complete; app-web/3 WAITING: cpus: need 2 …` */
export function planProgress(plan: Plan): string {
  const all = steps(plan);
  const done = all.filter((s) => s.status === 'COMPLETE').length;
  const open = all.filter((s) => s.status !== 'COMPLETE');
  const head = `${plan.name}: ${plan.status}${plan.paused ? ' (paused)' : ''}, ${done}/${all.length} steps complete`;
  const first = open[0];
  if (first === undefined) return head;
  return `${head}; ${first.unit} ${first.status}${first.reason === undefined ? '' : `: ${first.reason}`}${open.length > 1 ? ` (+${open.length - 1} more)` : ''}`;
}

export function waitForPlan(api: ApiClient, name: string, opts: WaitOptions): Promise<Plan> {
  return waitUntil(
    `the ${name} plan`,
    async () => {
      const { plan } = await api.get<{ plan: Plan }>(`/api/v1/plans/${encodeURIComponent(name)}`);
      const failed = plan.status === 'ERROR' ? steps(plan).filter((s) => s.status === 'ERROR').map((s) => `${s.unit}: ${s.reason ?? 'ERROR'}`).join('; ') || 'ERROR' : undefined;
      return { done: plan.status === 'COMPLETE', ...(failed === undefined ? {} : { failed }), text: planProgress(plan), value: plan };
    },
    opts,
  );
}

/** The app runs as specified and no plan has unfinished steps for its instances. */
export function waitForApp(api: ApiClient, name: string, opts: WaitOptions): Promise<AppView> {
  const prefix = `app-${name}/`;
  return waitUntil(
    `app ${name}`,
    async () => {
      const [{ app }, { plans }] = await Promise.all([api.get<{ app: AppView }>(`/api/v1/apps/${encodeURIComponent(name)}`), api.get<{ plans: Plan[] }>('/api/v1/plans')]);
      const open = plans.flatMap((p) => steps(p).filter((s) => s.unit.startsWith(prefix) && s.status !== 'COMPLETE').map((s) => ({ plan: p.name, step: s })));
      const running = app.instances.filter((i) => i.state === 'running').length;
      const errors = app.instances.filter((i) => i.state === 'error').map((i) => `${i.unit}: ${i.lastError ?? i.step?.reason ?? 'ERROR'}`);
      const first = open[0];
      const text = `app ${name}: ${app.status}, ${running}/${app.spec.instances} running${first === undefined ? '' : `; ${first.plan} ${first.step.unit} ${first.step.status}${first.step.reason === undefined ? '' : `: ${first.step.reason}`}`}`;
      const settled = (app.status === 'running' || app.status === 'scaled-to-zero') && open.length === 0;
      return { done: settled, ...(errors.length > 0 ? { failed: errors.join('; ') } : {}), text, value: app };
    },
    opts,
  );
}

/** The app is gone (its instances stopped and it was forgotten). */
export function waitForAppGone(api: ApiClient, name: string, opts: WaitOptions): Promise<undefined> {
  return waitUntil(
    `the removal of app ${name}`,
    async () => {
      try {
        const { app } = await api.get<{ app: AppView }>(`/api/v1/apps/${encodeURIComponent(name)}`);
        const live = app.instances.filter((i) => i.taskState !== undefined && !/FINISHED|FAILED|KILLED|LOST|ERROR|DROPPED|GONE/.test(i.taskState)).length;
        return { done: false, text: `app ${name}: removing, ${live} instance(s) still running`, value: undefined };
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return { done: true, text: `app ${name}: removed`, value: undefined };
        throw err;
      }
    },
    opts,
  );
}
