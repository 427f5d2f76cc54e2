/**
 * `kmf cluster config get` and `kmf cluster config set KEY=VALUE … [--remove KEY] [--version V] [--wait]`:
 * the Kafka cluster's configuration. A change rolls the nodes it concerns (the update plan, one node at a
 * time behind the roll gate); --wait follows that plan until it is complete.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { CliError, EXIT, print, printJson, table } from '../output.js';
import type { Plan } from '../views.js';
import { waitForPlan } from '../wait.js';
import { apiOptions, positiveSeconds, runVerb, type ApiFlags } from './api-command.js';
import { renderPlan } from './plan.js';

interface Resources {
  cpus: number;
  memMb: number;
  heapMb: number;
  diskMb: number;
  jvmOpts?: string;
}

interface ClusterConfig {
  name: string;
  clusterId: string;
  version: string;
  servedVersion?: string;
  overrides: Record<string, string>;
  defaults: Record<string, string>;
  brokers: { resources: Resources; count: number };
  controllers: { mode: string; quorum: string; nodeIds: number[]; resources: Resources; overrides: Record<string, string> };
  roll: { inProgress: boolean; paused: boolean; pending: string[] };
  allowUnsatisfiableRolls?: boolean;
}

interface SetFlags extends ApiFlags {
  remove: string[];
  version?: string;
  cpus?: number;
  mem?: number;
  heap?: number;
  disk?: number;
  jvmOpts?: string;
  allowUnsatisfiableRolls?: boolean;
  force?: boolean;
  wait?: boolean;
  waitTimeout: number;
}

/** `key=value` → [key, value]; the value may contain '='. A usage error (exit 2) otherwise. */
export function parseAssignment(text: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) throw new CliError(EXIT.usage, `expected KEY=VALUE, got "${text}"`);
  return [text.slice(0, i), text.slice(i + 1)];
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function booleanWord(v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new InvalidArgumentError(`expected true or false, got "${v}"`);
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${v}"`);
  return n;
}

function resources(r: Resources): string {
  return `${r.cpus} cpus, ${r.memMb} MB mem, ${r.heapMb} MB heap, ${r.diskMb} MB disk${r.jvmOpts === undefined ? '' : `, JVM ${r.jvmOpts}`}`;
}

export function renderClusterConfig(c: ClusterConfig): string {
  const lines = [
    `cluster ${c.name} (${c.clusterId}): Kafka ${c.version}${c.servedVersion !== undefined && c.servedVersion !== c.version ? ` (served: ${c.servedVersion})` : ''}`,
    `brokers: ${c.brokers.count}, ${resources(c.brokers.resources)}`,
    `controllers: ${c.controllers.mode}, ${c.controllers.quorum} quorum, nodes ${c.controllers.nodeIds.join(', ')}${c.controllers.mode === 'dedicated' ? `, ${resources(c.controllers.resources)}` : ''}`,
    c.roll.inProgress ? `roll in progress${c.roll.paused ? ' (paused)' : ''}: ${c.roll.pending.join(', ')}` : 'no roll in progress',
    `rolls stop brokers of partitions with replication factor ≤ min.insync.replicas: ${c.allowUnsatisfiableRolls === true ? 'yes (allowUnsatisfiableRolls)' : 'no, they wait'}`,
    '',
  ];
  const keys = [...new Set([...Object.keys(c.defaults), ...Object.keys(c.overrides)])].sort();
  const rows = keys.map((k) => [k, c.overrides[k] ?? c.defaults[k], c.overrides[k] !== undefined ? 'override' : 'kmf default']);
  return lines.join('\n') + '\n' + (rows.length === 0 ? '(no overrides)\n' : table(['KEY', 'VALUE', 'SOURCE'], rows));
}

export function register(program: Command): void {
  const cluster = program.command('cluster').description('the Kafka cluster as a whole');
  const config = cluster.command('config').description('cluster-level configuration: server.properties overrides, resources, version');

  apiOptions(config.command('get').description('show the cluster configuration and any roll in progress')).action(async (flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      const r = await api.get<{ config: ClusterConfig }>('/api/v1/cluster/config');
      if (flags.json === true) printJson(r);
      else print(renderClusterConfig(r.config));
    }),
  );

  apiOptions(
    config
      .command('set')
      .description('set or remove cluster overrides, change broker resources or the version; the nodes roll one at a time (update plan)')
      .argument('[assignments...]', 'server.properties overrides as KEY=VALUE')
      .option('--remove <key>', 'remove an override (repeatable)', collect, [])
      .option('--version <version>', 'Kafka version of every node')
      .option('--cpus <n>', 'broker cpus', positiveNumber)
      .option('--mem <mb>', 'broker memory, MB', positiveNumber)
      .option('--heap <mb>', 'broker heap, MB', positiveNumber)
      .option('--disk <mb>', 'broker data disk, MB (not for data on persistent volumes: they keep their size)', positiveNumber)
      .option('--jvm-opts <flags>', 'broker JVM flags replacing the GC defaults ("" removes them)')
      .option('--allow-unsatisfiable-rolls <bool>', 'true: rolls may stop a broker of partitions whose replication factor is not above min.insync.replicas (restarts nothing)', booleanWord)
      .option('--force', 'change it even while an earlier roll is still going')
      .option('--wait', 'wait until the roll (update plan) is complete')
      .option('--wait-timeout <s>', 'give up waiting after this many seconds (exit 7)', positiveSeconds, 1800),
  ).action(async (assignments: string[], flags: SetFlags) =>
    runVerb(flags, async (api) => {
      const set = Object.fromEntries(assignments.map(parseAssignment));
      const brokers: Record<string, number | string> = {};
      if (flags.cpus !== undefined) brokers['cpus'] = flags.cpus;
      if (flags.mem !== undefined) brokers['mem'] = flags.mem;
      if (flags.heap !== undefined) brokers['heap'] = flags.heap;
      if (flags.disk !== undefined) brokers['disk'] = flags.disk;
      if (flags.jvmOpts !== undefined) brokers['jvmOpts'] = flags.jvmOpts;
      const body: Record<string, unknown> = {};
      if (Object.keys(set).length > 0) body['set'] = set;
      if (flags.remove.length > 0) body['remove'] = flags.remove;
      if (flags.version !== undefined) body['version'] = flags.version;
      if (Object.keys(brokers).length > 0) body['brokers'] = brokers;
      if (flags.allowUnsatisfiableRolls !== undefined) body['allowUnsatisfiableRolls'] = flags.allowUnsatisfiableRolls;
      if (flags.force === true) body['force'] = true;
      const r = await api.send<{ config: ClusterConfig; changes: string[] }>('PATCH', '/api/v1/cluster/config', body);
      let plan: Plan | undefined;
      if (flags.wait === true && r.changes.length > 0) plan = await waitForPlan(api, 'update', { timeoutMs: flags.waitTimeout * 1000, quiet: flags.json === true });
      if (flags.json === true) printJson(plan === undefined ? r : { ...r, plan });
      else {
        print(r.changes.length === 0 ? 'nothing changed' : `changed: ${r.changes.join(', ')}`);
        print(plan === undefined ? renderClusterConfig(r.config) : renderPlan(plan));
      }
    }),
  );
}
