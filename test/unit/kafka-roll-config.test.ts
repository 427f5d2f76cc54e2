/**
 * What a rolling change starts from: the cluster config change (src/kafka/cluster-model.ts
 * updateClusterConfig), and the stable artifact URI that keeps a scheduler failover from rolling anything
 * (src/kafka/units.ts kmf-artifact: URIs, resolved by kafkaRenderHook at launch).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderTaskInfo } from '../../src/core/render.js';
import { createClusterSpec, updateClusterConfig } from '../../src/kafka/cluster-model.js';
import { artifactUri, kafkaRenderHook, kafkaUnits, resolveArtifactUri, type KafkaUnitsOptions } from '../../src/kafka/units.js';
import { prepareDesired } from '../../src/model/desired.js';
import { KmfError } from '../../src/util/errors.js';
import { ALICE, apiFixture, BOB } from '../helpers/api-fixture.js';

const spec = createClusterSpec({ version: '4.4.0', brokers: 3, overrides: { 'log.retention.hours': '72' } });

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KmfError);
    assert.equal(err.code, 'kafka_cluster_invalid');
    return (err.details as { issues: string[] }).issues;
  }
  assert.fail('expected kafka_cluster_invalid');
}

describe('cluster config changes', () => {
  test('set and remove overrides, say what changed', () => {
    const r = updateClusterConfig(spec, { set: { 'num.io.threads': '4', 'log.retention.hours': '96' } });
    assert.deepEqual(r.spec.overrides, { 'log.retention.hours': '96', 'num.io.threads': '4' });
    assert.deepEqual(r.changes.sort(), ['log.retention.hours=96 (was 72)', 'num.io.threads=4']);
    const removed = updateClusterConfig(r.spec, { remove: ['num.io.threads'] });
    assert.deepEqual(removed.spec.overrides, { 'log.retention.hours': '96' });
    assert.deepEqual(removed.changes, ['removed num.io.threads']);
    assert.deepEqual(spec.overrides, { 'log.retention.hours': '72' }, 'the input spec is not modified');
  });

  test('the same values are no change', () => {
    assert.deepEqual(updateClusterConfig(spec, { set: { 'log.retention.hours': '72' } }).changes, []);
  });

  test('replacing the override map removes the keys left out', () => {
    const r = updateClusterConfig(spec, { replaceOverrides: { 'num.network.threads': '2' } });
    assert.deepEqual(r.spec.overrides, { 'num.network.threads': '2' });
    assert.deepEqual(r.changes.sort(), ['num.network.threads=2', 'removed log.retention.hours']);
  });

  test('broker resources and JVM options', () => {
    const r = updateClusterConfig(spec, { brokerResources: { heapMb: 512, memMb: 1024, jvmOpts: '-XX:+UseSerialGC' } });
    assert.equal(r.spec.brokers.resources.heapMb, 512);
    assert.equal(r.spec.brokers.resources.jvmOpts, '-XX:+UseSerialGC');
    assert.deepEqual(r.changes, ['brokers.memMb=1024', 'brokers.heapMb=512', 'brokers.jvmOpts=-XX:+UseSerialGC']);
    const cleared = updateClusterConfig(r.spec, { brokerResources: { jvmOpts: '' } });
    assert.equal(cleared.spec.brokers.resources.jvmOpts, undefined);
    assert.deepEqual(cleared.changes, ['brokers.jvmOpts=(default)']);
  });

  test('refused: kmf-owned properties, bad resources, disk on volumes, downgrades, unknown removals', () => {
    assert.ok(issues(() => updateClusterConfig(spec, { set: { listeners: 'PLAINTEXT://:9092' } })).some((i) => /listeners cannot be overridden: kmf binds the listeners/.test(i)));
    assert.ok(issues(() => updateClusterConfig(spec, { set: { 'node.id': '7' } })).some((i) => /node\.id cannot be overridden/.test(i)));
    assert.ok(issues(() => updateClusterConfig(spec, { brokerResources: { heapMb: 4000 } })).some((i) => /heapMb \(4000\) must leave/.test(i)));
    assert.ok(issues(() => updateClusterConfig(spec, { brokerResources: { diskMb: 9000 } })).some((i) => /diskMb cannot change/.test(i)));
    assert.ok(issues(() => updateClusterConfig(spec, { version: '4.3.0' })).some((i) => /downgrades are not supported/.test(i)));
    assert.ok(issues(() => updateClusterConfig(spec, { remove: ['num.io.threads'] })).some((i) => /not a cluster override/.test(i)));
    assert.ok(issues(() => updateClusterConfig(spec, { controllerResources: { cpus: 1 } })).some((i) => /dedicated controllers only/.test(i)));
  });

  test('a version upgrade is a change', () => {
    const r = updateClusterConfig(spec, { version: '4.5.0' });
    assert.equal(r.spec.version, '4.5.0');
    assert.deepEqual(r.changes, ['version 4.4.0 → 4.5.0']);
  });
});

describe('stable artifact URI', () => {
  const options = (tarballUrl: string): KafkaUnitsOptions => ({
    distribution: { topDir: 'kafka-4.4.0', serverStart: 'bin/kafka-server-start', storageTool: 'bin/kafka-storage' },
    tarballUrl,
    role: 'kmf',
  });

  test('two artifact servers (two leaders) give the same spec versions; the URI resolves at launch', () => {
    const uri = artifactUri('kafka-4.4.0.tgz');
    const one = prepareDesired(kafkaUnits(spec, options(uri)));
    const two = prepareDesired(kafkaUnits(spec, options(uri)));
    const versions = (d: typeof one): string[] => d.ordered.map((u) => u.version);
    assert.deepEqual(versions(one), versions(two));

    const unit = one.units.get('kafka/broker-0')!;
    const render = (base: string): { uri: string | undefined; version: string | undefined } => {
      const r = renderTaskInfo(
        { unit, taskId: 't1', generation: 1, agentId: 'a1', hostname: 'h1', ports: { broker: 31000, controller: 31001 }, lookup: () => ({ agentId: 'a1', hostname: 'h1', ports: { controller: 31001 }, vars: {} }) },
        [],
        kafkaRenderHook(() => true, () => base),
        60,
      );
      assert.ok(r.ok, r.ok ? '' : r.reason);
      return { uri: r.task.command?.uris?.[0]?.value, version: r.task.labels?.labels?.find((l) => l.key === 'kmf_version')?.value };
    };
    const a = render('http://10.0.0.1:8080');
    const b = render('https://10.0.0.2:9443/');
    assert.equal(a.uri, 'http://10.0.0.1:8080/artifacts/kafka-4.4.0.tgz');
    assert.equal(b.uri, 'https://10.0.0.2:9443/artifacts/kafka-4.4.0.tgz');
    assert.ok(a.version !== undefined && a.version === unit.version);
    assert.equal(b.version, a.version, 'tasks launched by either leader carry the same spec version');
  });

  test('an unknown artifact server address is a render error, not a crash', () => {
    const unit = prepareDesired(kafkaUnits(spec, options(artifactUri('kafka-4.4.0.tgz')))).units.get('kafka/broker-1')!;
    const r = renderTaskInfo({ unit, taskId: 't1', generation: 1, agentId: 'a1', hostname: 'h1', ports: { broker: 1, controller: 2 }, lookup: () => ({ agentId: 'a1', hostname: 'h1', ports: { controller: 2 }, vars: {} }) }, [], kafkaRenderHook(() => true, () => ''), 60);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /artifact server is not known yet/);
  });

  test('other URIs pass through', () => {
    assert.equal(resolveArtifactUri('file:///opt/kafka.tgz', 'http://x'), 'file:///opt/kafka.tgz');
  });
});

describe('cluster config routes', () => {
  test('404 without a cluster; PATCH and PUT change it, refuse owned keys, and the timeline says who', async (t) => {
    const f = await apiFixture();
    t.after(() => f.close());
    const call = async (method: 'GET' | 'PATCH' | 'PUT', payload?: Record<string, unknown>, token = ALICE): Promise<{ status: number; body: Record<string, unknown> }> => {
      const r = await f.app.inject({ method, url: '/api/v1/cluster/config', headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload }) });
      return { status: r.statusCode, body: r.json<Record<string, unknown>>() };
    };
    assert.equal((await call('GET')).status, 404);
    assert.equal((await call('PATCH', { set: { 'log.retention.hours': '1' } })).status, 404);

    const now = new Date().toISOString();
    await f.term().mutateDesired((s) => s.putKafka({ spec, quorumFormed: true, createdAt: now, updatedAt: now }));
    const got = await call('GET', undefined, BOB);
    assert.equal(got.status, 200);
    assert.deepEqual((got.body['config'] as { overrides: unknown }).overrides, { 'log.retention.hours': '72' });

    const patched = await call('PATCH', { set: { 'num.io.threads': '4' }, remove: ['log.retention.hours'], brokers: { heap: 768 } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual((patched.body['changes'] as string[]).sort(), ['brokers.heapMb=768', 'num.io.threads=4', 'removed log.retention.hours']);
    assert.deepEqual(f.term().kafka()?.spec.overrides, { 'num.io.threads': '4' });
    assert.equal(f.term().kafka()?.spec.brokers.resources.heapMb, 768);

    const owned = await call('PATCH', { set: { 'advertised.listeners': 'PLAINTEXT://x:1' } });
    assert.equal(owned.status, 400);
    assert.ok((owned.body['details'] as { issues: string[] }).issues.some((i) => /advertised\.listeners cannot be overridden/.test(i)));
    assert.equal((await call('PATCH', {})).status, 400, 'an empty change is refused');
    assert.equal((await call('PATCH', { set: { 'num.io.threads': '8' } }, BOB)).status, 403, 'read-only tokens cannot change it');

    const put = await call('PUT', { overrides: { 'log.retention.hours': '24' } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(f.term().kafka()?.spec.overrides, { 'log.retention.hours': '24' });

    const audit = f.timeline.page({ limit: 1000 }).entries.map((e) => `${e.message} ${JSON.stringify(e)}`);
    assert.ok(audit.some((m) => /changed the Kafka cluster config: .*num\.io\.threads=4/.test(m) && m.includes('alice')), audit.join('\n'));
  });
});
