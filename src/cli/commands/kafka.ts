/**
 * The Kafka verbs, clients of the brokers, topics and endpoints routes:
 *
 *   kmf broker list | show ID
 *   kmf broker add N [--cpus C --mem MB --heap MB --disk MB --jvm-opts S --option K=V …] [--wait]
 *   kmf topic list | show NAME | delete NAME
 *   kmf topic create NAME --partitions N --replication-factor R [--config K=V …]
 *   kmf topic partitions NAME N        grow to N partitions
 *   kmf topic config NAME [--set K=V …] [--unset K …]
 *   kmf endpoints                      the bootstrap servers (one line, for scripts: `$(kmf endpoints)`)
 */
import { InvalidArgumentError, type Command } from 'commander';
import { CliError, EXIT, print, printJson, table } from '../output.js';
import { waitForPlan } from '../wait.js';
import { apiOptions, positiveSeconds, runVerb, wholeNumber, type ApiFlags } from './api-command.js';

interface BrokerView {
  id: number;
  state: string;
  goal: string;
  unit: string;
  roles: string[];
  ready: boolean;
  host?: string;
  port?: number;
  taskId?: string;
  taskState?: string;
  failures: number;
  lastError?: string;
}

interface TopicView {
  name: string;
  internal: boolean;
  replicationFactor: number;
  partitions: Array<{ partition: number; leader: number; replicas: number[]; isr: number[]; offline?: boolean }>;
  configs?: Record<string, { value: string | null; source: string }>;
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number > 0, got "${v}"`);
  return n;
}

function keyValue(v: string, prev: Record<string, string> | undefined): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got "${v}"`);
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
}

function brokerRows(brokers: readonly BrokerView[]): string {
  return table(
    ['ID', 'STATE', 'READY', 'ROLES', 'ADDRESS', 'TASK', 'FAILURES'],
    brokers.map((b) => [
      b.id,
      b.goal === 'running' ? b.state : `${b.state} (${b.goal})`,
      b.ready ? 'yes' : 'no',
      b.roles.join(','),
      b.host === undefined ? undefined : `${b.host}:${b.port ?? '?'}`,
      b.taskState?.replace(/^TASK_/, ''),
      b.failures,
    ]),
  );
}

export function register(program: Command): void {
  const broker = program.command('broker').description('Kafka brokers: list, show, add');

  apiOptions(broker.command('list').description('list brokers with their state and address')).action(async (flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      const r = await api.get<{ brokers: BrokerView[] }>('/api/v1/brokers');
      if (flags.json === true) printJson(r);
      else print(brokerRows(r.brokers));
    }),
  );

  apiOptions(broker.command('show').description('show one broker').argument('<id>', 'broker id', wholeNumber(0))).action(async (id: number, flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      const b = await api.get<BrokerView>(`/api/v1/brokers/${id}`);
      if (flags.json === true) printJson(b);
      else print(brokerRows([b]) + (b.lastError === undefined ? '' : `last error: ${b.lastError}\n`));
    }),
  );

  apiOptions(
    broker
      .command('add')
      .description('add brokers (the first add creates the cluster); --wait follows the deploy plan')
      .argument('<count>', 'how many brokers', wholeNumber(1))
      .option('--cpus <n>', 'cpus per broker', positiveNumber)
      .option('--mem <mb>', 'memory per broker, MB (heap + at least 256 MB)', positiveNumber)
      .option('--heap <mb>', 'JVM heap, MB', wholeNumber(1))
      .option('--disk <mb>', 'data disk, MB', positiveNumber)
      .option('--jvm-opts <flags>', 'JVM flags replacing the GC defaults')
      .option('--option <K=V>', 'server.properties override (repeatable)', keyValue)
      .option('--wait', 'wait until the deploy plan is COMPLETE')
      .option('--wait-timeout <s>', 'give up waiting after this many seconds (exit 7)', positiveSeconds, 900),
  ).action(
    async (
      count: number,
      flags: ApiFlags & { cpus?: number; mem?: number; heap?: number; disk?: number; jvmOpts?: string; option?: Record<string, string>; wait?: boolean; waitTimeout: number },
    ) =>
      runVerb(flags, async (api) => {
        const body: Record<string, unknown> = { count };
        for (const k of ['cpus', 'mem', 'heap', 'disk', 'jvmOpts'] as const) if (flags[k] !== undefined) body[k] = flags[k];
        if (flags.option !== undefined) body['options'] = flags.option;
        const r = await api.post<{ brokers: BrokerView[] }>('/api/v1/brokers', body);
        if (flags.wait === true) await waitForPlan(api, 'deploy', { timeoutMs: flags.waitTimeout * 1000, quiet: flags.json === true });
        const shown = flags.wait === true ? await api.get<{ brokers: BrokerView[] }>('/api/v1/brokers') : r;
        if (flags.json === true) printJson(shown);
        else print(brokerRows(shown.brokers));
      }),
  );

  const topic = program.command('topic').description('Kafka topics: list, show, create, add partitions, change configs, delete');

  apiOptions(topic.command('list').description('list topics (internal ones left out)')).action(async (flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      const r = await api.get<{ topics: string[] }>('/api/v1/topics');
      if (flags.json === true) printJson(r);
      else print(r.topics.length === 0 ? '(no topics)' : r.topics.join('\n'));
    }),
  );

  apiOptions(topic.command('show').description('partitions, leaders, ISR and configs of a topic').argument('<name>')).action(async (name: string, flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      const t = await api.get<TopicView>(`/api/v1/topics/${encodeURIComponent(name)}`);
      if (flags.json === true) {
        printJson(t);
        return;
      }
      print(`topic ${t.name}: ${t.partitions.length} partition(s), replication factor ${t.replicationFactor}${t.internal ? ' (internal)' : ''}`);
      print(table(['PARTITION', 'LEADER', 'REPLICAS', 'ISR'], t.partitions.map((p) => [p.partition, p.offline === true ? 'offline' : p.leader, p.replicas.join(','), p.isr.join(',')])));
      const set = Object.entries(t.configs ?? {}).filter(([, c]) => c.source === 'topic');
      if (set.length > 0) print(table(['CONFIG', 'VALUE'], set.map(([k, c]) => [k, c.value ?? ''])));
    }),
  );

  apiOptions(
    topic
      .command('create')
      .description('create a topic')
      .argument('<name>')
      .requiredOption('--partitions <n>', 'number of partitions', wholeNumber(1))
      .requiredOption('--replication-factor <n>', 'replicas of each partition', wholeNumber(1))
      .option('--config <K=V>', 'topic config (repeatable), e.g. retention.ms=86400000', keyValue),
  ).action(async (name: string, flags: ApiFlags & { partitions: number; replicationFactor: number; config?: Record<string, string> }) =>
    runVerb(flags, async (api) => {
      const t = await api.post<TopicView>('/api/v1/topics', {
        name,
        partitions: flags.partitions,
        replicationFactor: flags.replicationFactor,
        ...(flags.config === undefined ? {} : { configs: flags.config }),
      });
      if (flags.json === true) printJson(t);
      else print(`created topic ${t.name}: ${t.partitions.length} partition(s), replication factor ${t.replicationFactor}`);
    }),
  );

  apiOptions(topic.command('partitions').description('grow a topic to N partitions (Kafka cannot remove partitions)').argument('<name>').argument('<partitions>', 'the new total', wholeNumber(1))).action(
    async (name: string, partitions: number, flags: ApiFlags) =>
      runVerb(flags, async (api) => {
        const t = await api.post<TopicView>(`/api/v1/topics/${encodeURIComponent(name)}/partitions`, { partitions });
        if (flags.json === true) printJson(t);
        else print(`topic ${t.name}: ${t.partitions.length} partition(s)`);
      }),
  );

  apiOptions(
    topic
      .command('config')
      .description('set (--set K=V) or reset to the broker default (--unset K) topic configs; other overrides are kept')
      .argument('<name>')
      .option('--set <K=V>', 'set a config (repeatable)', keyValue)
      .option('--unset <K>', 'remove an override (repeatable)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
  ).action(async (name: string, flags: ApiFlags & { set?: Record<string, string>; unset?: string[] }) =>
    runVerb(flags, async (api) => {
      const configs: Record<string, string | null> = { ...flags.set };
      for (const k of flags.unset ?? []) configs[k] = null;
      if (Object.keys(configs).length === 0) throw new CliError(EXIT.usage, 'nothing to change: give --set K=V and/or --unset K');
      const t = await api.send<TopicView>('PATCH', `/api/v1/topics/${encodeURIComponent(name)}/config`, { configs });
      if (flags.json === true) printJson(t);
      else {
        const set = Object.entries(t.configs ?? {}).filter(([, c]) => c.source === 'topic');
        print(set.length === 0 ? `topic ${t.name}: no overrides` : table(['CONFIG', 'VALUE'], set.map(([k, c]) => [k, c.value ?? ''])));
      }
    }),
  );

  apiOptions(topic.command('delete').description('delete a topic').argument('<name>')).action(async (name: string, flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      await api.delete(`/api/v1/topics/${encodeURIComponent(name)}`);
      if (flags.json === true) printJson({ deleted: name });
      else print(`deleted topic ${name}`);
    }),
  );

  apiOptions(program.command('endpoints').description('the Kafka bootstrap servers')).action(async (flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      const r = await api.get<{ bootstrapServers: string[]; bootstrap: string }>('/api/v1/endpoints');
      if (flags.json === true) printJson(r);
      else print(r.bootstrap);
    }),
  );
}
