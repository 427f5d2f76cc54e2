/**
 * The Kafka verbs, clients of the brokers, topics and endpoints routes:
 *
 *   kmf broker list | show ID
 *   kmf broker add N [--cpus C --mem MB --heap MB --disk MB --jvm-opts S --option K=V …] [--wait]
 *   kmf broker update ID [--cpus C --mem MB --heap MB --disk MB --jvm-opts S --option K=V … --remove-option K …] [--force] [--wait]
 *   kmf broker stop ID [--force] [--wait] | start ID [--wait]
 *   kmf broker restart ID [--force] [--wait]          one broker (update plan)
 *   kmf broker restart --rolling [--force] [--wait]   every node, one at a time
 *   kmf broker replace ID [--force] [--wait]          same id on a fresh disk
 *   kmf broker remove ID [--wait]                     scale in: drain, stop, release, unregister
 *   kmf controller list                               KRaft controllers: voter, leader
 *   kmf topic list | show NAME | delete NAME
 *   kmf topic create NAME --partitions N --replication-factor R [--config K=V …]
 *   kmf topic partitions NAME N        grow to N partitions
 *   kmf topic config NAME [--set K=V …] [--unset K …]
 *   kmf endpoints                      the bootstrap servers (one line, for scripts: `$(kmf endpoints)`)
 */
import { InvalidArgumentError, type Command } from 'commander';
import { CliError, EXIT, print, printJson, table } from '../output.js';
import { ApiError, type ApiClient } from '../api-client.js';
import { waitForPlan, waitUntil } from '../wait.js';
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
  agentId?: string;
  removal?: { partitionsLeft?: number; moving?: number; waiting?: string };
}

interface ControllerView {
  id: number;
  kind: string;
  state: string;
  host?: string;
  port?: number;
  taskState?: string;
  voter?: boolean;
  leader?: boolean;
}

interface WaitFlags extends ApiFlags {
  wait?: boolean;
  waitTimeout: number;
  force?: boolean;
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

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

/** `draining (4 partitions left)`, `stopped`, `running` … */
function stateText(b: BrokerView): string {
  if (b.removal !== undefined) {
    const left = b.removal.partitionsLeft === undefined ? '' : ` (${b.removal.partitionsLeft} partition(s) left)`;
    return `${b.state}${left}`;
  }
  return b.goal === 'running' ? b.state : `${b.state} (${b.goal})`;
}

function brokerRows(brokers: readonly BrokerView[]): string {
  return table(
    ['ID', 'STATE', 'READY', 'ROLES', 'ADDRESS', 'TASK', 'FAILURES'],
    brokers.map((b) => [
      b.id,
      stateText(b),
      b.ready ? 'yes' : 'no',
      b.roles.join(','),
      b.host === undefined ? undefined : `${b.host}:${b.port ?? '?'}`,
      b.taskState?.replace(/^TASK_/, ''),
      b.failures,
    ]),
  );
}

export function register(program: Command): void {
  const broker = program.command('broker').description('Kafka brokers: list, show, add, update, stop, start, restart, replace, remove');

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
      else {
        const waiting = b.removal?.waiting === undefined ? '' : `removal waits: ${b.removal.waiting}\n`;
        print(brokerRows([b]) + waiting + (b.lastError === undefined ? '' : `last error: ${b.lastError}\n`));
      }
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

  brokerLifecycle(broker);

  const controller = program.command('controller').description('KRaft controllers');
  apiOptions(controller.command('list').description('controllers with their task, and voter / leader from the metadata quorum')).action(async (flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      const r = await api.get<{ controllers: ControllerView[]; quorum: { reachable: boolean; leaderId?: number; error?: string } }>('/api/v1/controllers');
      if (flags.json === true) {
        printJson(r);
        return;
      }
      const yesNo = (v: boolean | undefined): string => (v === undefined ? '?' : v ? 'yes' : 'no');
      print(
        table(
          ['ID', 'KIND', 'STATE', 'ADDRESS', 'TASK', 'VOTER', 'LEADER'],
          r.controllers.map((c) => [c.id, c.kind, c.state, c.host === undefined ? undefined : `${c.host}:${c.port ?? '?'}`, c.taskState?.replace(/^TASK_/, ''), yesNo(c.voter), yesNo(c.leader)]),
        ) + (r.quorum.reachable ? '' : `quorum not reachable${r.quorum.error === undefined ? '' : `: ${r.quorum.error}`}\n`),
      );
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

function waitOptions(cmd: Command, what: string): Command {
  return cmd.option('--wait', what).option('--wait-timeout <s>', 'give up waiting after this many seconds (exit 7)', positiveSeconds, 900);
}

function forceOption(cmd: Command): Command {
  return cmd.option('--force', 'do it even while the cluster is being rolled');
}

function forceQuery(flags: WaitFlags): string {
  return flags.force === true ? '?force=true' : '';
}

/** Polls one broker until `done` says so (the text shows where it is). */
function waitForBroker(api: ApiClient, id: number, flags: WaitFlags, what: string, done: (b: BrokerView) => boolean): Promise<BrokerView> {
  return waitUntil(
    what,
    async () => {
      const b = await api.get<BrokerView>(`/api/v1/brokers/${id}`);
      return { done: done(b), text: `broker ${id}: ${stateText(b)}${b.ready ? ', ready' : ''}${b.removal?.waiting === undefined ? '' : ` (${b.removal.waiting})`}`, value: b };
    },
    { timeoutMs: flags.waitTimeout * 1000, quiet: flags.json === true },
  );
}

function showBroker(flags: ApiFlags, b: BrokerView, line: string): void {
  if (flags.json === true) printJson(b);
  else print(`${line}\n${brokerRows([b])}`.trimEnd());
}

function brokerLifecycle(broker: Command): void {
  apiOptions(
    waitOptions(
      forceOption(
        broker
          .command('update')
          .description("change one broker's resources and server.properties overrides; a change restarts it (update plan)")
          .argument('<id>', 'broker id', wholeNumber(0))
          .option('--cpus <n>', 'cpus', positiveNumber)
          .option('--mem <mb>', 'memory, MB (heap + at least 256 MB)', positiveNumber)
          .option('--heap <mb>', 'JVM heap, MB', wholeNumber(1))
          .option('--disk <mb>', 'data disk, MB (an existing volume keeps its size until the broker is replaced)', positiveNumber)
          .option('--jvm-opts <flags>', 'JVM flags replacing the GC defaults')
          .option('--option <K=V>', 'server.properties override of this broker (repeatable)', keyValue)
          .option('--remove-option <K>', "drop one of this broker's overrides (repeatable)", collect),
      ),
      'wait until the update plan is COMPLETE',
    ),
  ).action(
    async (
      id: number,
      flags: WaitFlags & { cpus?: number; mem?: number; heap?: number; disk?: number; jvmOpts?: string; option?: Record<string, string>; removeOption?: string[] },
    ) =>
      runVerb(flags, async (api) => {
        const body: Record<string, unknown> = {};
        for (const k of ['cpus', 'mem', 'heap', 'disk', 'jvmOpts'] as const) if (flags[k] !== undefined) body[k] = flags[k];
        if (flags.option !== undefined) body['options'] = flags.option;
        if (flags.removeOption !== undefined) body['removeOptions'] = flags.removeOption;
        if (Object.keys(body).length === 0) throw new CliError(EXIT.usage, 'nothing to change: give --cpus, --mem, --heap, --disk, --jvm-opts, --option K=V or --remove-option K');
        const r = await api.send<{ broker: BrokerView; changed: boolean }>('PATCH', `/api/v1/brokers/${id}${forceQuery(flags)}`, body);
        if (flags.wait === true && r.changed) await waitForPlan(api, 'update', { timeoutMs: flags.waitTimeout * 1000, quiet: flags.json === true });
        const b = flags.wait === true ? await api.get<BrokerView>(`/api/v1/brokers/${id}`) : r.broker;
        showBroker(flags, b, r.changed ? `broker ${id} updated${flags.wait === true ? ' and restarted' : '; it restarts through the update plan'}` : `broker ${id}: nothing changed`);
      }),
  );

  apiOptions(waitOptions(forceOption(broker.command('stop').description('stop a broker (its reservation and data stay)').argument('<id>', 'broker id', wholeNumber(0))), 'wait until it is stopped')).action(
    async (id: number, flags: WaitFlags) =>
      runVerb(flags, async (api) => {
        const r = await api.post<{ broker: BrokerView }>(`/api/v1/brokers/${id}/stop${forceQuery(flags)}`);
        const b = flags.wait === true ? await waitForBroker(api, id, flags, `broker ${id} to stop`, (x) => x.state === 'stopped') : r.broker;
        showBroker(flags, b, `broker ${id}: stop requested`);
      }),
  );

  apiOptions(waitOptions(broker.command('start').description('start a stopped broker').argument('<id>', 'broker id', wholeNumber(0)), 'wait until it is running and ready')).action(
    async (id: number, flags: WaitFlags) =>
      runVerb(flags, async (api) => {
        const r = await api.post<{ broker: BrokerView }>(`/api/v1/brokers/${id}/start`);
        const b = flags.wait === true ? await waitForBroker(api, id, flags, `broker ${id} to start`, (x) => x.state === 'running' && x.ready) : r.broker;
        showBroker(flags, b, `broker ${id}: start requested`);
      }),
  );

  apiOptions(
    waitOptions(
      forceOption(
        broker
          .command('restart')
          .description('restart one broker, or every node one at a time with --rolling (the update plan, roll-safety gated)')
          .argument('[id]', 'broker id', wholeNumber(0))
          .option('--rolling', 'restart every node of the cluster, one at a time'),
      ),
      'wait until the update plan is COMPLETE',
    ),
  ).action(async (id: number | undefined, flags: WaitFlags & { rolling?: boolean }) =>
    runVerb(flags, async (api) => {
      if ((id === undefined) === (flags.rolling !== true)) throw new CliError(EXIT.usage, 'give either a broker id or --rolling (for every node)');
      let shown: { brokers: BrokerView[] } | BrokerView;
      if (id === undefined) shown = await api.post<{ brokers: BrokerView[] }>(`/api/v1/brokers/restart${forceQuery(flags)}`, { rolling: true });
      else shown = (await api.post<{ broker: BrokerView }>(`/api/v1/brokers/${id}/restart${forceQuery(flags)}`)).broker;
      if (flags.wait === true) {
        await waitForPlan(api, 'update', { timeoutMs: flags.waitTimeout * 1000, quiet: flags.json === true });
        shown = id === undefined ? await api.get<{ brokers: BrokerView[] }>('/api/v1/brokers') : await api.get<BrokerView>(`/api/v1/brokers/${id}`);
      }
      if (flags.json === true) printJson(shown);
      else {
        const what = id === undefined ? 'rolling restart of every node' : `restart of broker ${id}`;
        print(`${what} ${flags.wait === true ? 'done' : 'planned (kmf plan show update)'}\n${brokerRows('brokers' in shown ? shown.brokers : [shown])}`.trimEnd());
      }
    }),
  );

  apiOptions(
    waitOptions(
      forceOption(broker.command('replace').description('relaunch a broker with the same id on a fresh disk; Kafka re-replicates to it').argument('<id>', 'broker id', wholeNumber(0))),
      'wait until it runs again on a new task and is ready',
    ),
  ).action(async (id: number, flags: WaitFlags) =>
    runVerb(flags, async (api) => {
      const before = await api.get<BrokerView>(`/api/v1/brokers/${id}`);
      const r = await api.post<{ broker: BrokerView }>(`/api/v1/brokers/${id}/replace${forceQuery(flags)}`);
      const b =
        flags.wait === true
          ? await waitForBroker(api, id, flags, `broker ${id} to be replaced`, (x) => x.state === 'running' && x.ready && x.taskId !== undefined && x.taskId !== before.taskId)
          : r.broker;
      showBroker(flags, b, `broker ${id}: replacement requested`);
    }),
  );

  apiOptions(
    waitOptions(
      broker.command('remove').description('scale in: move its partitions away, stop it, release its reservation, unregister it').argument('<id>', 'broker id', wholeNumber(0)),
      'wait until the broker is gone, showing the drain progress',
    ),
  ).action(async (id: number, flags: WaitFlags) =>
    runVerb(flags, async (api) => {
      const r = await api.delete<{ broker: BrokerView }>(`/api/v1/brokers/${id}`);
      if (flags.wait !== true) {
        showBroker(flags, r.broker, `broker ${id}: removal under way (kmf broker show ${id})`);
        return;
      }
      await waitUntil(
        `the removal of broker ${id}`,
        async () => {
          try {
            const b = await api.get<BrokerView>(`/api/v1/brokers/${id}`);
            return { done: false, text: `broker ${id}: ${stateText(b)}${b.removal?.waiting === undefined ? '' : ` (${b.removal.waiting})`}`, value: undefined };
          } catch (err) {
            if (err instanceof ApiError && err.status === 404) return { done: true, text: `broker ${id}: removed`, value: undefined };
            throw err;
          }
        },
        { timeoutMs: flags.waitTimeout * 1000, quiet: flags.json === true },
      );
      if (flags.json === true) printJson({ removed: id });
      else print(`broker ${id} removed`);
    }),
  );
}
