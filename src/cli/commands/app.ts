/**
 * `kmf app …`: Kafka Streams apps (or any command) as N instances.
 *
 *   kmf app list | show NAME
 *   kmf app deploy [FILE|-] [--file FILE] [--name N --instances N --cpus C --mem MB --command CMD --env K=V --port NAME …] [--wait]
 *   kmf app update NAME [FILE|-] [--file FILE] [same flags: changes on top of the current spec] [--force] [--wait]
 *   kmf app scale NAME N [--wait]
 *   kmf app restart NAME [--instance I] [--force] [--wait]     (rolling, or one instance in place)
 *   kmf app replace NAME INDEX                                   (relaunch elsewhere, fresh volume)
 *   kmf app remove NAME [--wait]
 *
 * A FILE is the app as JSON (the body of POST /api/v1/apps); flags override its fields. Kafka Streams apps
 * ("type": "streams", docs/streams.md) use the same verbs; `show` adds each instance's Streams state and the
 * app's lag and autoscaler decision.
 */
import fs from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { CliError, EXIT, print, printJson, table } from '../output.js';
import type { AppView } from '../views.js';
import { waitForApp, waitForAppGone } from '../wait.js';
import { apiOptions, positiveSeconds, runVerb, wholeNumber, type ApiFlags } from './api-command.js';

interface SpecFlags {
  name?: string;
  instances?: number;
  cpus?: number;
  mem?: number;
  disk?: number;
  command?: string;
  env?: string[];
  port?: string[];
  constraint?: string[];
  role?: string;
}

interface WaitFlags extends ApiFlags {
  wait?: boolean;
  waitTimeout: number;
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number > 0, got "${v}"`);
  return n;
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

function specOptions(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'app name (lower-case letters, digits, -)')
    .option('--instances <n>', 'number of instances', wholeNumber(0))
    .option('--cpus <n>', 'cpus per instance', positiveNumber)
    .option('--mem <mb>', 'memory per instance, MB', positiveNumber)
    .option('--disk <mb>', 'sandbox disk per instance, MB', positiveNumber)
    .option('--command <cmd>', 'shell command of each instance')
    .option('--env <K=V>', 'environment variable (repeatable)', collect)
    .option('--port <name>', 'named port (repeatable)', collect)
    .option('--constraint <c>', 'placement constraint, e.g. hostname:UNIQUE (repeatable)', collect)
    .option('--role <role>', 'Mesos role');
}

function waitOptions(cmd: Command): Command {
  return cmd.option('--wait', 'wait until every instance runs as specified, showing progress').option('--wait-timeout <s>', 'give up waiting after this many seconds (exit 7)', positiveSeconds, 600);
}

function readSpecFile(file: string | undefined): Record<string, unknown> {
  if (file === undefined) return {};
  let text: string;
  try {
    text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(EXIT.usage, `cannot read ${file === '-' ? 'the app from stdin' : file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new CliError(EXIT.usage, `${file === '-' ? 'stdin' : file} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CliError(EXIT.usage, `${file === '-' ? 'stdin' : file} must hold a JSON object (the app)`);
  return v as Record<string, unknown>;
}

/** The spec from a file (or nothing) with the flags on top. */
function specFrom(base: Record<string, unknown>, flags: SpecFlags): Record<string, unknown> {
  const spec: Record<string, unknown> = { ...base };
  for (const k of ['name', 'instances', 'cpus', 'mem', 'disk', 'command', 'role'] as const) if (flags[k] !== undefined) spec[k] = flags[k];
  if (flags.env !== undefined) {
    const env: Record<string, string> = { ...(base['env'] as Record<string, string> | undefined) };
    for (const kv of flags.env) {
      const i = kv.indexOf('=');
      if (i <= 0) throw new CliError(EXIT.usage, `--env ${kv}: expected NAME=VALUE`);
      env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    spec['env'] = env;
  }
  if (flags.port !== undefined) spec['ports'] = flags.port;
  if (flags.constraint !== undefined) spec['constraints'] = flags.constraint;
  return spec;
}

/** What GET /api/v1/apps/{name} adds for a streams app. */
interface StreamsView {
  instances: Record<string, { taskId: string; state: string; at: string } | undefined>;
  lag?: number;
  lagByTopic?: Record<string, number>;
  partitions?: number;
  lagAt?: string;
  lagError?: string;
  autoscaler?: { action: string; target: number; desired?: number; reason: string; at: string };
}

function streamsLines(app: AppView & { streams?: StreamsView }): string[] {
  const s = app.spec;
  if (s['type'] !== 'streams') return [`  ${s.instances} instance(s) × ${s.cpus} cpus, ${s.mem} MB; command: ${s.command}`];
  const what = typeof s['artifact'] === 'string' ? `artifact ${s['artifact']}${typeof s['mainClass'] === 'string' ? ` (${s['mainClass']})` : ''}` : `command: ${s.command}`;
  const out = [`  streams app ${String(s['applicationId'])}: ${s.instances} instance(s) × ${s.cpus} cpus, ${s.mem} MB; ${what}`];
  const auto = s['autoscale'] as { min: number; max: number; targetLagPerInstance: number; cooldownSeconds: number; inputTopics: string[] } | undefined;
  if (auto !== undefined) out.push(`  autoscale ${auto.min}..${auto.max} at ${auto.targetLagPerInstance} lag/instance, cooldown ${auto.cooldownSeconds} s, inputs ${auto.inputTopics.join(', ')}`);
  const st = app.streams;
  if (st?.lag !== undefined) {
    const topics = Object.entries(st.lagByTopic ?? {}).map(([t, n]) => `${t}: ${n}`).join(', ');
    out.push(`  lag ${st.lag}${topics === '' ? '' : ` (${topics})`}${st.partitions === undefined ? '' : `, ${st.partitions} input partition(s)`}${st.lagAt === undefined ? '' : ` at ${st.lagAt}`}`);
  } else if (st?.lagError !== undefined) out.push(`  lag unknown: ${st.lagError}`);
  if (st?.autoscaler !== undefined) out.push(`  autoscaler: ${st.autoscaler.reason} (${st.autoscaler.at})`);
  return out;
}

export function renderApp(app: AppView & { streams?: StreamsView }): string {
  const streams = app.spec['type'] === 'streams';
  const head = [`app ${app.name}: ${app.status}`, ...streamsLines(app), `  created ${app.createdAt}, updated ${app.updatedAt}`, ''].join('\n');
  if (app.instances.length === 0) return `${head}(no instances)\n`;
  return (
    head +
    table(
      ['#', 'STATE', ...(streams ? ['STREAMS'] : []), 'TASK', 'HOST', 'PORTS', 'STEP'],
      app.instances.map((i) => [
        i.index,
        i.goal === 'running' ? i.state : `${i.state} (${i.goal})`,
        ...(streams ? [app.streams?.instances[i.unit]?.state] : []),
        i.taskId === undefined ? undefined : `${i.taskId} ${i.taskState?.replace(/^TASK_/, '') ?? ''}`.trim(),
        i.hostname,
        i.ports === undefined || Object.keys(i.ports).length === 0 ? undefined : Object.entries(i.ports).map(([k, v]) => `${k}:${v}`).join(','),
        i.step === undefined ? undefined : `${i.step.plan} ${i.step.status}${i.step.reason === undefined ? '' : `: ${i.step.reason}`}`,
      ]),
    )
  );
}

function show(app: AppView, json: boolean): void {
  if (json) printJson({ app });
  else print(renderApp(app));
}

function path(name: string): string {
  return `/api/v1/apps/${encodeURIComponent(name)}`;
}

export function register(program: Command): void {
  const app = program.command('app').description('Kafka Streams apps (or any command): deploy, scale, update, restart, remove');

  apiOptions(app.command('list').description('list apps')).action(async (flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      const r = await api.get<{ apps: AppView[] }>('/api/v1/apps');
      if (flags.json === true) {
        printJson(r);
        return;
      }
      print(
        table(
          ['NAME', 'STATUS', 'RUNNING', 'CPUS', 'MEM', 'UPDATED'],
          r.apps.map((a) => [a.name, a.status, `${a.instances.filter((i) => i.state === 'running').length}/${a.spec.instances}`, a.spec.cpus, a.spec.mem, a.updatedAt]),
        ),
      );
    }),
  );

  apiOptions(app.command('show').description('show an app with its instances and tasks').argument('<name>')).action(async (name: string, flags: ApiFlags) =>
    runVerb(flags, async (api) => show((await api.get<{ app: AppView }>(path(name))).app, flags.json === true)),
  );

  apiOptions(
    waitOptions(
      specOptions(app.command('deploy').description('deploy an app (a command, or a Kafka Streams app: docs/streams.md) from a JSON file (or - for stdin) and/or flags').argument('[file]')).option(
        '--file <file>',
        'the app as JSON (same as the FILE argument)',
      ),
    ),
  ).action(
    async (file: string | undefined, flags: WaitFlags & SpecFlags & { file?: string }) =>
      runVerb(flags, async (api) => {
        if (file !== undefined && flags.file !== undefined) throw new CliError(EXIT.usage, 'give the spec file once: as FILE or with --file');
        const spec = specFrom(readSpecFile(file ?? flags.file), flags);
        const created = (await api.post<{ app: AppView }>('/api/v1/apps', spec)).app;
        const result = flags.wait === true ? await waitForApp(api, created.name, { timeoutMs: flags.waitTimeout * 1000, quiet: flags.json === true }) : created;
        show(result, flags.json === true);
      }),
  );

  apiOptions(
    waitOptions(
      specOptions(app.command('update').description('change an app: a JSON file and/or flags on top of its current spec; changed instances restart one at a time').argument('<name>').argument('[file]'))
        .option('--file <file>', 'the new spec as JSON (same as the FILE argument)')
        .option('--force', 'change it even while a previous update is still rolling'),
    ),
  ).action(async (name: string, fileArg: string | undefined, flags: WaitFlags & SpecFlags & { force?: boolean; file?: string }) =>
    runVerb(flags, async (api) => {
      if (fileArg !== undefined && flags.file !== undefined) throw new CliError(EXIT.usage, 'give the spec file once: as FILE or with --file');
      const file = fileArg ?? flags.file;
      const current = (await api.get<{ app: AppView }>(path(name))).app;
      const base = file === undefined ? specInput(current.spec) : readSpecFile(file);
      const spec = specFrom(base, flags);
      const updated = (await api.put<{ app: AppView }>(path(name), spec, flags.force === true ? { force: true } : undefined)).app;
      const result = flags.wait === true ? await waitForApp(api, name, { timeoutMs: flags.waitTimeout * 1000, quiet: flags.json === true }) : updated;
      show(result, flags.json === true);
    }),
  );

  apiOptions(waitOptions(app.command('scale').description('set the number of instances').argument('<name>').argument('<instances>', 'number of instances', wholeNumber(0)))).action(
    async (name: string, instances: number, flags: WaitFlags) =>
      runVerb(flags, async (api) => {
        const scaled = (await api.post<{ app: AppView }>(`${path(name)}/scale`, { instances })).app;
        const result = flags.wait === true ? await waitForApp(api, name, { timeoutMs: flags.waitTimeout * 1000, quiet: flags.json === true }) : scaled;
        show(result, flags.json === true);
      }),
  );

  apiOptions(
    waitOptions(
      app
        .command('restart')
        .description('rolling restart of every instance (one at a time, each ready before the next), or --instance I in place')
        .argument('<name>')
        .option('--instance <index>', 'restart only this instance, in place', wholeNumber(0))
        .option('--force', 'restart even while an update is rolling'),
    ),
  ).action(async (name: string, flags: WaitFlags & { instance?: number; force?: boolean }) =>
    runVerb(flags, async (api) => {
      if (flags.instance !== undefined) await api.post(`${path(name)}/instances/${flags.instance}/restart`);
      else await api.post(`${path(name)}/restart`, undefined, flags.force === true ? { force: true } : undefined);
      const result = flags.wait === true ? await waitForApp(api, name, { timeoutMs: flags.waitTimeout * 1000, quiet: flags.json === true }) : (await api.get<{ app: AppView }>(path(name))).app;
      show(result, flags.json === true);
    }),
  );

  apiOptions(app.command('replace').description('kill one instance and relaunch it on another agent with a fresh volume (its data is lost)').argument('<name>').argument('<index>', 'instance index', wholeNumber(0))).action(
    async (name: string, index: number, flags: ApiFlags) =>
      runVerb(flags, async (api) => {
        await api.post(`${path(name)}/instances/${index}/replace`);
        show((await api.get<{ app: AppView }>(path(name))).app, flags.json === true);
      }),
  );

  apiOptions(waitOptions(app.command('remove').description('stop every instance, then forget the app').argument('<name>'))).action(async (name: string, flags: WaitFlags) =>
    runVerb(flags, async (api) => {
      const r = await api.delete<{ app: AppView } | undefined>(path(name));
      if (flags.wait === true) await waitForAppGone(api, name, { timeoutMs: flags.waitTimeout * 1000, quiet: flags.json === true });
      const gone = flags.wait === true || r === undefined;
      if (flags.json === true) printJson(gone ? { removed: name } : r);
      else print(gone ? `app ${name} removed` : `app ${name}: stopping ${r?.app.instances.length ?? 0} instance(s); kmf app show ${name} follows it`);
    }),
  );
}

/** A spec as the API shows it, back into the input form (constraints as FIELD:OPERATOR[:VALUE]). */
function specInput(spec: AppView['spec']): Record<string, unknown> {
  const out: Record<string, unknown> = { ...spec };
  const constraints = spec['constraints'];
  if (Array.isArray(constraints)) {
    out['constraints'] = constraints.map((c: { field: string; operator: string; value?: string }) => [c.field, c.operator, ...(c.value === undefined ? [] : [c.value])]);
  }
  return out;
}
