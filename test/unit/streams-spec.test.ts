import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RenderContext } from '../../src/core/render.js';
import { prepareDesired } from '../../src/model/desired.js';
import { appsDesiredInput, appUnitSpec, validateApp, type AppSpec } from '../../src/runtime/apps.js';
import { StreamsReadinessLoop } from '../../src/runtime/streams-readiness-loop.js';
import { StreamsStatus } from '../../src/runtime/streams-status.js';
import { streamsRenderHook } from '../../src/streams/render.js';
import { artifactFileName, instanceCommand, propertiesText } from '../../src/streams/spec.js';
import { parseStateBody, readinessFromState } from '../../src/streams/state-probe.js';
import type { UnitView } from '../../src/core/plans.js';
import { testLogger } from '../../src/util/log.js';
import { renderApp } from '../../src/cli/commands/app.js';
import { inputPartitions, streamsDeployIssues } from '../../src/streams/deploy-checks.js';

function valid(input: Record<string, unknown>, role = 'kmf'): AppSpec {
  const v = validateApp(input, { frameworkRole: role });
  assert.ok(v.ok, JSON.stringify(v));
  return v.app;
}

const WC = { name: 'wordcount', type: 'streams', artifact: 'wordcount-1.0.jar', mainClass: 'io.kmf.examples.WordCount', args: ["it's"], instances: 2, cpus: 0.5, mem: 512, stateVolume: 64 };

void describe('streams app spec → units', () => {
  void test('an instance: kind streams, external readiness, "state" port first, identity and config in its environment', () => {
    const app = valid({ ...WC, ports: ['http'], streamsConfig: { 'commit.interval.ms': '100', 'session.timeout.ms': '6000' } });
    assert.equal(app.applicationId, 'wordcount', 'applicationId defaults to the name');
    const u = appUnitSpec(app, 1, 'running');
    assert.equal(u.kind, 'streams');
    assert.equal(u.readiness, 'external');
    assert.deepEqual(u.ports?.map((p) => p.name), ['state', 'http']);
    assert.equal(u.task.env?.['PORT'], '{{port:state}}');
    assert.equal(u.task.env?.['GROUP_INSTANCE_ID'], 'wordcount-1');
    assert.equal(u.task.env?.['APPLICATION_ID'], 'wordcount');
    const props = u.task.env?.['KMF_STREAMS_CONFIG'] ?? '';
    assert.match(props, /^group\.instance\.id=wordcount-1$/m);
    assert.match(props, /^application\.id=wordcount$/m);
    assert.match(props, /^session\.timeout\.ms=6000$/m, 'the app may change the session timeout');
    assert.match(props, /^commit\.interval\.ms=100$/m);
    assert.equal(u.task.labels?.['kmf_streams_artifact'], 'wordcount-1.0.jar');
    assert.equal(u.task.labels?.['kmf_streams_bootstrap'], 'managed');
    assert.deepEqual(u.volume, { sizeMb: 64, containerPath: 'streams-state' });
    assert.match(u.task.command, /-Xms256m -Xmx256m -cp wordcount-1\.0\.jar io\.kmf\.examples\.WordCount 'it'\\''s'$/);
    assert.match(u.task.command, /STATE_DIR="\$\{MESOS_SANDBOX:-\$PWD\}\/streams-state"/);
  });

  void test('the normalized spec validates again as input (the CLI and restart send it back)', () => {
    const app = valid({ ...WC, autoscale: { max: 3, targetLagPerInstance: 10, inputTopics: ['in'] } });
    assert.deepEqual(valid(JSON.parse(JSON.stringify(app)) as Record<string, unknown>), app);
    assert.deepEqual(app.autoscale, { min: 1, max: 3, targetLagPerInstance: 10, cooldownSeconds: 300, inputTopics: ['in'] });
  });

  void test('instances get distinct identities; the spec hash ignores the instance count', () => {
    const app = valid(WC);
    const a = prepareDesired(appsDesiredInput(new Map([['wordcount', { spec: app, removing: false, createdAt: '', updatedAt: '' }]]), []));
    const b = prepareDesired(appsDesiredInput(new Map([['wordcount', { spec: { ...app, instances: 3 }, removing: false, createdAt: '', updatedAt: '' }]]), []));
    assert.equal(a.units.get('app-wordcount/1')?.version, b.units.get('app-wordcount/1')?.version);
    assert.notEqual(a.units.get('app-wordcount/0')?.spec.task.env?.['GROUP_INSTANCE_ID'], a.units.get('app-wordcount/1')?.spec.task.env?.['GROUP_INSTANCE_ID']);
    const changed = prepareDesired(appsDesiredInput(new Map([['wordcount', { spec: { ...app, streamsConfig: { 'commit.interval.ms': '50' } }, removing: false, createdAt: '', updatedAt: '' }]]), []));
    assert.notEqual(a.units.get('app-wordcount/0')?.version, changed.units.get('app-wordcount/0')?.version, 'a config change rolls');
  });

  void test('maxUnavailable reaches the phase', () => {
    const app = valid({ ...WC, maxUnavailable: 2 });
    const input = appsDesiredInput(new Map([['wordcount', { spec: app, removing: false, createdAt: '', updatedAt: '' }]]), []);
    assert.equal(input.phases?.[0]?.maxUnavailable, 2);
  });

  void test('an own bootstrap.servers is used as given (nothing injected); a command works instead of an artifact', () => {
    const app = valid({ name: 'ext', type: 'streams', command: 'exec ./run.sh', cpus: 0.1, mem: 256, streamsConfig: { 'bootstrap.servers': 'k1:9092' } });
    const u = appUnitSpec(app, 0, 'running');
    assert.equal(u.task.labels?.['kmf_streams_bootstrap'], undefined);
    assert.equal(u.task.env?.['BOOTSTRAP_SERVERS'], 'k1:9092');
    assert.match(u.task.command, /; exec \.\/run\.sh$/);
  });

  void test('a URL artifact is fetched as given; its file name is the last path segment', () => {
    const app = valid({ ...WC, artifact: 'https://repo.example/app/my%20app.jar?x=1' });
    const u = appUnitSpec(app, 0, 'running');
    assert.deepEqual(u.task.uris, [{ value: 'https://repo.example/app/my%20app.jar?x=1' }]);
    assert.equal(artifactFileName('https://repo.example/app/my%20app.jar?x=1'), 'my app.jar');
    assert.match(instanceCommand({ applicationId: 'a', artifact: 'https://h/x/my%20app.jar' }, 300, undefined), /-jar 'my app\.jar'$/);
  });

  void test('properties text escapes what Properties.load would misread', () => {
    assert.equal(propertiesText({ 'a=b': ' x\\y', k: 'v' }), 'a\\=b=\\ x\\\\y\nk=v\n');
  });
});

void describe('streams render hook', () => {
  const app = valid(WC);
  const unit = prepareDesired({ units: [appUnitSpec(app, 0, 'running')] }).units.get('app-wordcount/0')!;
  const ctx = (placed: Record<string, { hostname: string; ports: Record<string, number> }>): RenderContext => ({
    unit,
    taskId: 't',
    generation: 1,
    agentId: 'a',
    hostname: 'h',
    ports: { state: 31000 },
    lookup: (u) => {
      const p = placed[u];
      return p === undefined ? undefined : { agentId: 'x', hostname: p.hostname, ports: p.ports, vars: {} };
    },
  });
  const hook = streamsRenderHook({ artifactBaseUrl: () => 'http://sched:8080/', brokerUnits: () => ['kafka/broker-0', 'kafka/broker-1'], javaHome: () => '/opt/jre' });

  void test('injects the placed brokers and the artifact URI at launch', () => {
    const t = hook(ctx({ 'kafka/broker-1': { hostname: '10.0.0.2', ports: { broker: 9092 } } }), unit.spec.task);
    assert.equal(t.env?.['BOOTSTRAP_SERVERS'], '10.0.0.2:9092');
    assert.match(t.env?.['KMF_STREAMS_CONFIG'] ?? '', /^bootstrap\.servers=10\.0\.0\.2:9092$/m);
    assert.deepEqual(t.uris, [{ value: 'http://sched:8080/artifacts/wordcount-1.0.jar', cache: false }]);
    assert.equal(t.env?.['JAVA_HOME'], '/opt/jre');
  });

  void test('no broker placed: the launch waits with a reason', () => {
    assert.throws(() => hook(ctx({}), unit.spec.task), /no broker of the managed Kafka cluster is placed yet/);
  });
});

void describe('streams readiness', () => {
  void test('the /state contract: JSON or a bare state name', () => {
    assert.equal(parseStateBody('{"state":"RUNNING"}'), 'RUNNING');
    assert.equal(parseStateBody('REBALANCING\n'), 'REBALANCING');
    assert.equal(parseStateBody('{"state":"SLEEPY"}'), undefined);
    assert.equal(parseStateBody('<html>'), undefined);
  });

  void test('ready on RUNNING, kept through REBALANCING, lost otherwise', () => {
    assert.equal(readinessFromState('RUNNING', false), true);
    assert.equal(readinessFromState('REBALANCING', false), false);
    assert.equal(readinessFromState('REBALANCING', true), true);
    assert.equal(readinessFromState('PENDING_SHUTDOWN', true), false);
    assert.equal(readinessFromState(undefined, true), false);
  });

  void test('the loop sends only changes, for running streams instances', async () => {
    const sent: Array<[string, boolean]> = [];
    const view = (name: string, kind: string, ready: boolean, port: number, state = 'TASK_RUNNING'): UnitView =>
      ({ name, kind, goal: 'running', state: 'running', plan: undefined, generation: 1, failures: 0, version: 'v', issues: [], task: { taskId: `${name}-t`, state, agentId: 'a', hostname: 'h', ports: { state: port }, ready, version: 'v' } });
    const units = [view('app-a/0', 'streams', false, 1), view('app-a/1', 'streams', true, 2), view('app-a/2', 'streams', false, 3, 'TASK_STAGING'), view('app-b/0', 'app', false, 4)];
    const byPort: Record<number, 'RUNNING' | 'REBALANCING'> = { 1: 'RUNNING', 2: 'REBALANCING', 3: 'RUNNING', 4: 'RUNNING' };
    const probed: number[] = [];
    const status = new StreamsStatus();
    const loop = new StreamsReadinessLoop(
      { stillLeading: () => true, isLoaded: true, units: () => units, readiness: (id, r) => sent.push([id, r]) },
      status,
      testLogger('streams-readiness'),
      1_000,
      (_host, port) => {
        probed.push(port);
        return Promise.resolve(byPort[port]);
      },
    );
    await loop.round();
    assert.deepEqual(probed.sort(), [1, 2], 'only running streams instances are asked');
    assert.deepEqual(sent, [['app-a/0-t', true]], 'instance 0 became ready; instance 1 stays ready while rebalancing');
    assert.equal(status.view('a', ['app-a/0', 'app-a/1']).instances['app-a/1']?.state, 'REBALANCING');
  });
});

void describe('kmf app show for a streams app', () => {
  void test('shows the artifact, the autoscale policy, the lag, the last decision and each instance\'s Streams state', () => {
    const text = renderApp({
      name: 'wc',
      status: 'running',
      spec: { name: 'wc', type: 'streams', applicationId: 'wc-app', artifact: 'wordcount-1.0.jar', instances: 1, cpus: 0.5, mem: 512, command: '', autoscale: { min: 1, max: 4, targetLagPerInstance: 200, cooldownSeconds: 15, inputTopics: ['words-in'] } },
      instances: [{ index: 0, unit: 'app-wc/0', goal: 'running', state: 'running', taskId: 'app-wc/0__1', taskState: 'TASK_RUNNING' }],
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
      streams: {
        instances: { 'app-wc/0': { taskId: 'app-wc/0__1', state: 'RUNNING', at: '2026-01-01T00:00:01Z' } },
        lag: 12,
        lagByTopic: { 'words-in': 12 },
        partitions: 4,
        autoscaler: { action: 'hold', target: 1, reason: 'steady at 1: lag 12', at: '2026-01-01T00:00:02Z' },
      },
    });
    assert.match(text, /streams app wc-app: 1 instance\(s\) × 0\.5 cpus, 512 MB; artifact wordcount-1\.0\.jar/);
    assert.match(text, /autoscale 1\.\.4 at 200 lag\/instance, cooldown 15 s, inputs words-in/);
    assert.match(text, /lag 12 \(words-in: 12\), 4 input partition\(s\)/);
    assert.match(text, /autoscaler: steady at 1: lag 12/);
    assert.match(text, /STREAMS/);
    assert.match(text, /RUNNING/);
  });
});

void describe('streams health checks', () => {
  void test('an HTTP health check on the implicit "state" port is accepted and defaults to it', () => {
    const app = valid({ ...WC, healthCheck: { type: 'HTTP', path: '/state', gracePeriodSeconds: 120 } });
    const u = appUnitSpec(app, 0, 'running');
    assert.deepEqual(u.task.healthCheck, { type: 'HTTP', port: 'state', path: '/state', gracePeriodSeconds: 120 });
    assert.equal(u.readiness, 'external', 'readiness stays the Streams state');
  });
});

void describe('streams readiness opt-out', () => {
  void test('an app that does not serve /state may choose Mesos-level readiness', () => {
    assert.equal(appUnitSpec(valid({ ...WC, readiness: 'running' }), 0, 'running').readiness, 'running');
    assert.equal(appUnitSpec(valid(WC), 0, 'running').readiness, 'external');
  });
});

void describe('streams deploy checks that need the cluster', () => {
  const deps = (parts: Record<string, number>) => ({
    artifactExists: (n: string) => n === 'a.jar',
    artifactNames: () => ['a.jar'],
    partitions: (t: string) => (t in parts ? Promise.resolve(parts[t]) : Promise.reject(new Error('unknown topic'))),
  });
  const auto = (max: number, topics: string[]) => ({ max, inputTopics: topics });

  void test('more instances or a higher autoscale.max than the largest input topic has partitions is refused', async () => {
    const issues = await streamsDeployIssues({ type: 'streams', artifact: 'a.jar', instances: 5, autoscale: auto(4, ['in', 'other']) }, deps({ in: 3, other: 2 }));
    assert.equal(issues.length, 3, JSON.stringify(issues));
    assert.match(issues.join('\n'), /instances \(5\) is more than autoscale\.max \(4\)/);
    assert.match(issues.join('\n'), /instances \(5\) is more than the input topics' 3 partition/);
    assert.match(issues.join('\n'), /autoscale\.max \(4\) is more than the input topics' 3 partition/);
  });

  void test('unknown partition counts and URLs are not held against the spec; command apps are not checked', async () => {
    assert.deepEqual(await streamsDeployIssues({ type: 'streams', artifact: 'https://h/x.jar', instances: 9, autoscale: auto(9, ['missing']) }, deps({})), []);
    assert.deepEqual(await streamsDeployIssues({ artifact: 'nope.jar' }, deps({})), []);
    assert.match((await streamsDeployIssues({ type: 'streams', artifact: 'nope.jar' }, deps({})))[0] ?? '', /not served by kmf.*served: a\.jar/);
    assert.equal(await inputPartitions(deps({ a: 2, b: 6 }), ['a', 'b', 'c']), 6);
  });
});
