/**
 * `kmf plan list | show NAME [--wait] | pause NAME | resume NAME | abort NAME | force-complete NAME UNIT`.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { print, printJson, table, when } from '../output.js';
import type { Plan } from '../views.js';
import { steps, waitForPlan } from '../wait.js';
import { apiOptions, positiveSeconds, runVerb, type ApiFlags } from './api-command.js';

const PLANS = ['deploy', 'recovery', 'update'];

function planName(v: string): string {
  if (!PLANS.includes(v)) throw new InvalidArgumentError(`expected one of ${PLANS.join(', ')}`);
  return v;
}

export function renderPlan(plan: Plan): string {
  const rows = plan.phases.flatMap((ph) =>
    ph.steps.map((s) => [ph.name, s.unit, s.status, [s.recovery, s.until === undefined ? undefined : `until ${when(s.until)}`, s.reason].filter((x) => x !== undefined).join('; ') || undefined]),
  );
  const all = steps(plan);
  const head = `${plan.name}: ${plan.status}${plan.paused ? ' (paused)' : ''}, ${all.filter((s) => s.status === 'COMPLETE').length}/${all.length} steps complete\n`;
  return rows.length === 0 ? `${head}(no steps)\n` : head + table(['PHASE', 'STEP', 'STATUS', 'DETAIL'], rows);
}

interface WaitFlags extends ApiFlags {
  wait?: boolean;
  waitTimeout: number;
}

function control(program: Command, verb: 'pause' | 'resume', description: string): void {
  apiOptions(program.command(verb).description(description).argument('<name>', 'deploy, recovery or update', planName)).action(async (name: string, flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      const r = await api.post<{ plan: Plan }>(`/api/v1/plans/${name}/${verb}`);
      if (flags.json === true) printJson(r);
      else print(renderPlan(r.plan));
    }),
  );
}

export function register(program: Command): void {
  const plan = program.command('plan').description('deploy, recovery and update plans: show them, wait for them, control them');

  apiOptions(plan.command('list').description('list the plans')).action(async (flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      const r = await api.get<{ plans: Plan[] }>('/api/v1/plans');
      if (flags.json === true) printJson(r);
      else {
        print(
          table(
            ['PLAN', 'STATUS', 'PAUSED', 'STEPS'],
            r.plans.map((p) => [p.name, p.status, p.paused ? 'yes' : 'no', `${steps(p).filter((s) => s.status === 'COMPLETE').length}/${steps(p).length} complete`]),
          ),
        );
      }
    }),
  );

  apiOptions(
    plan
      .command('show')
      .description('show a plan\'s phases and steps; --wait follows it until COMPLETE (exit 7 on ERROR or timeout)')
      .argument('<name>', 'deploy, recovery or update', planName)
      .option('--wait', 'wait until the plan is COMPLETE, showing progress')
      .option('--wait-timeout <s>', 'give up waiting after this many seconds (exit 7)', positiveSeconds, 600),
  ).action(async (name: string, flags: WaitFlags) =>
    runVerb(flags, async (api) => {
      const result = flags.wait === true ? await waitForPlan(api, name, { timeoutMs: flags.waitTimeout * 1000, quiet: flags.json === true }) : (await api.get<{ plan: Plan }>(`/api/v1/plans/${name}`)).plan;
      if (flags.json === true) printJson({ plan: result });
      else print(renderPlan(result));
    }),
  );

  control(plan, 'pause', 'pause a plan: steps not started yet wait');
  control(plan, 'resume', 'resume a paused plan');
  apiOptions(
    plan
      .command('abort')
      .description('give up every unfinished step of a plan (update: units not rolled keep their task); runs in the background, --wait follows it')
      .argument('<name>', 'deploy, recovery or update', planName)
      .option('--wait', 'wait until the plan is COMPLETE')
      .option('--wait-timeout <s>', 'give up waiting after this many seconds (exit 7)', positiveSeconds, 600),
  ).action(async (name: string, flags: WaitFlags) =>
    runVerb(flags, async (api) => {
      const r = await api.post<{ plan: Plan; aborting: string[] }>(`/api/v1/plans/${name}/abort`);
      const result = flags.wait === true && r.aborting.length > 0 ? await waitForPlan(api, name, { timeoutMs: flags.waitTimeout * 1000, quiet: flags.json === true }) : r.plan;
      if (flags.json === true) printJson({ plan: result, aborting: r.aborting });
      else {
        print(r.aborting.length === 0 ? 'nothing was left to do' : `giving up ${r.aborting.length} step(s): ${r.aborting.slice(0, 10).join(', ')}${r.aborting.length > 10 ? ' …' : ''}`);
        print(renderPlan(result));
      }
    }),
  );

  apiOptions(
    plan
      .command('force-complete')
      .description('mark one step complete (deploy: deployed; update: accept the running version; recovery: end the failure episode)')
      .argument('<name>', 'deploy, recovery or update', planName)
      .argument('<unit>', 'the step\'s unit, e.g. app-web/0'),
  ).action(async (name: string, unit: string, flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      const r = await api.post<{ plan: Plan }>(`/api/v1/plans/${name}/force-complete`, { unit });
      if (flags.json === true) printJson(r);
      else print(renderPlan(r.plan));
    }),
  );
}
