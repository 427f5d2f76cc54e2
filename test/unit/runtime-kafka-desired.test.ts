/**
 * The Kafka cluster in the desired state: stored at /desired/kafka, merged into the core's desired input next
 * to the apps, and never swept as an orphan while the spec describes it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createClusterSpec } from '../../src/kafka/cluster-model.js';
import { DesiredStore } from '../../src/runtime/desired-store.js';
import { decodeKafkaRecord, KAFKA_PATH, loadKafkaRecord, type KafkaRuntimeOptions } from '../../src/runtime/kafka-desired.js';
import { MemoryStateStore } from '../../src/state/memory-state-store.js';

const OPTIONS: KafkaRuntimeOptions = {
  version: '4.4.0',
  volumes: true,
  tarballName: 'kafka-4.4.0.tgz',
  tarballPath: '/nonexistent/kafka-4.4.0.tgz',
  unitOptions: () => ({
    distribution: { topDir: 'kafka-4.4.0', serverStart: 'bin/kafka-server-start', storageTool: 'bin/kafka-storage' },
    tarballUrl: 'http://scheduler.example:8080/artifacts/kafka-4.4.0.tgz',
    role: 'kmf',
  }),
};

function goals(store: DesiredStore, stored: readonly string[]): Record<string, string> {
  const desired = store.desired(new Map(stored.map((u) => [u, {}])));
  return Object.fromEntries([...desired.units.values()].map((u) => [u.spec.name, u.spec.goal]));
}

describe('Kafka desired state', () => {
  test('a stored cluster becomes units next to the apps; stale units are removed, described ones kept', async () => {
    const mem = new MemoryStateStore();
    const store = new DesiredStore(mem, new Map(), undefined, OPTIONS);
    await store.ensureLayout();
    assert.deepEqual(goals(store, []), {});
    const spec = createClusterSpec({ version: '4.4.0', brokers: 3 });
    const now = new Date().toISOString();
    await store.putKafka({ spec, quorumFormed: false, createdAt: now, updatedAt: now });
    const g = goals(store, ['kafka/broker-0', 'kafka/broker-7', 'app-gone/0']);
    assert.equal(g['kafka/broker-0'], 'running');
    assert.equal(g['kafka/broker-1'], 'running');
    assert.equal(g['kafka/broker-2'], 'running');
    // A stored unit nobody describes is stopped and forgotten; a described one is never an orphan.
    assert.equal(g['kafka/broker-7'], 'removed');
    assert.equal(g['app-gone/0'], 'removed');
    const unit = store.desired(new Map()).units.get('kafka/broker-1');
    assert.deepEqual(unit?.spec.task.uris, [{ value: 'http://scheduler.example:8080/artifacts/kafka-4.4.0.tgz', extract: true, cache: true }]);
    assert.equal(unit?.spec.readiness, 'external');
  });

  test('the record round-trips through the store, quorumFormed included', async () => {
    const mem = new MemoryStateStore();
    const store = new DesiredStore(mem, new Map(), undefined, OPTIONS);
    await store.ensureLayout();
    const spec = createClusterSpec({ version: '4.4.0', brokers: 1 });
    await store.putKafka({ spec, quorumFormed: true, createdAt: 'a', updatedAt: 'b' });
    const loaded = await loadKafkaRecord(mem);
    assert.equal(loaded.problem, undefined);
    assert.deepEqual(loaded.record, { spec, quorumFormed: true, createdAt: 'a', updatedAt: 'b' });
    assert.ok((await mem.get(KAFKA_PATH)) !== undefined);
  });

  test('an unreadable record is reported, not used', () => {
    assert.equal(decodeKafkaRecord(undefined).record, undefined);
    const bad = decodeKafkaRecord(Buffer.from('{"spec": 3}'));
    assert.equal(bad.record, undefined);
    assert.match(bad.problem ?? '', /\/desired\/kafka: no cluster spec/);
  });

  test('without Kafka support a stored cluster yields no units', () => {
    const mem = new MemoryStateStore();
    const spec = createClusterSpec({ version: '4.4.0', brokers: 1 });
    const store = new DesiredStore(mem, new Map(), { spec, quorumFormed: false, createdAt: 'a', updatedAt: 'a' }, undefined);
    assert.deepEqual(goals(store, []), {});
  });
});
