/**
 * The broker lifecycle verbs as spec changes (src/kafka/broker-ops.ts): what each changes, what it refuses
 * (404 / 409 / 400 codes) and that a refused change leaves the spec as it was; and what reaches the task
 * templates (restart counters change exactly the nodes they should, so the update plan restarts those).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  brokerPhase,
  drainTargets,
  finishDrain,
  forgetBroker,
  planRemoval,
  removalIssues,
  replaceIssue,
  restartBroker,
  restartCluster,
  setBrokerGoal,
  startRemoval,
  updateBroker,
} from '../../src/kafka/broker-ops.js';
import { addBrokers, clusterIssues, createClusterSpec, type KafkaClusterSpec } from '../../src/kafka/cluster-model.js';
import { kafkaUnits } from '../../src/kafka/units.js';
import { prepareDesired } from '../../src/model/desired.js';
import type { UnitView } from '../../src/core/plans.js';
import { KafkaDrainLoop } from '../../src/runtime/kafka-drain.js';
import type { KafkaClusterRecord } from '../../src/runtime/kafka-desired.js';
import { Timeline } from '../../src/runtime/timeline.js';
import { KmfError } from '../../src/util/errors.js';
import { testLogger } from '../../src/util/log.js';

const opts = {
  distribution: { topDir: 'kafka-4.4.0', serverStart: 'bin/kafka-server-start', storageTool: 'bin/kafka-storage' },
  tarballUrl: 'http://scheduler:8080/artifacts/kafka-4.4.0.tgz',
};

/** 3 combined nodes (0, 1, 2) plus broker 3. */
function cluster(): KafkaClusterSpec {
  return addBrokers(createClusterSpec({ version: '4.4.0', brokers: 3 }), 1).spec;
}

function throwsCode(fn: () => unknown, code: string, message?: RegExp): KmfError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KmfError, String(err));
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

/** Unit name → spec version, as the core sees them. */
function versions(spec: KafkaClusterSpec): Map<string, string> {
  const { units, phases } = kafkaUnits(spec, opts);
  return new Map(prepareDesired({ units, phases }).ordered.map((u) => [u.spec.name, u.version]));
}

function changedUnits(a: KafkaClusterSpec, b: KafkaClusterSpec): string[] {
  const va = versions(a);
  const vb = versions(b);
  return [...vb].filter(([name, v]) => va.get(name) !== v).map(([name]) => name).sort();
}

describe('update one broker', () => {
  test('resources and overrides change only that broker, and removing a key drops it', () => {
    const spec = cluster();
    const a = updateBroker(spec, 3, { resources: { memMb: 3072, heapMb: 1536 }, setOverrides: { 'num.io.threads': '16', 'log.retention.hours': '24' } });
    assert.equal(a.changed, true);
    const b3 = a.spec.brokers.nodes.find((b) => b.nodeId === 3);
    assert.deepEqual(b3?.resources, { memMb: 3072, heapMb: 1536 });
    assert.deepEqual(b3?.overrides, { 'num.io.threads': '16', 'log.retention.hours': '24' });
    assert.deepEqual(changedUnits(spec, a.spec), ['kafka/broker-3']);
    assert.deepEqual(clusterIssues(a.spec), []);

    const b = updateBroker(a.spec, 3, { removeOverrides: ['num.io.threads'] });
    assert.deepEqual(b.spec.brokers.nodes.find((x) => x.nodeId === 3)?.overrides, { 'log.retention.hours': '24' });
    const c = updateBroker(b.spec, 3, { removeOverrides: ['log.retention.hours'] });
    assert.equal(c.spec.brokers.nodes.find((x) => x.nodeId === 3)?.overrides, undefined, 'no empty override map left behind');
    assert.deepEqual(changedUnits(b.spec, c.spec), ['kafka/broker-3']);
  });

  test('setting what is already set is no change', () => {
    const spec = updateBroker(cluster(), 1, { setOverrides: { 'num.io.threads': '16' } }).spec;
    const again = updateBroker(spec, 1, { setOverrides: { 'num.io.threads': '16' } });
    assert.equal(again.changed, false);
    assert.deepEqual(changedUnits(spec, again.spec), []);
  });

  test('invalid changes are 400 kafka_cluster_invalid with every issue, and the spec is untouched', () => {
    const spec = cluster();
    const before = JSON.stringify(spec);
    const err = throwsCode(
      () => updateBroker(spec, 3, { resources: { heapMb: 4096 }, setOverrides: { 'node.id': '9', 'bad key': 'x' }, removeOverrides: ['not.there'] }),
      'kafka_cluster_invalid',
    );
    const issues = (err.details?.['issues'] ?? []) as string[];
    for (const re of [/node\.id cannot be overridden/, /"bad key" is not a server\.properties key/, /no override not\.there to remove/, /heapMb \(4096\) must leave at least 256 MB/]) {
      assert.ok(issues.some((i) => re.test(i)), `${re} in ${JSON.stringify(issues)}`);
    }
    throwsCode(() => updateBroker(spec, 3, { setOverrides: { a: '1' }, removeOverrides: ['a'] }), 'kafka_cluster_invalid', /both set and removed/);
    throwsCode(() => updateBroker(spec, 3, { setOverrides: { 'log.retention.ms': 'two\nlines' } }), 'kafka_cluster_invalid', /single line/);
    assert.equal(JSON.stringify(spec), before);
  });

  test('a cluster-wide override is not removed per broker: the message says where it is', () => {
    const spec: KafkaClusterSpec = { ...cluster(), overrides: { 'num.io.threads': '8' } };
    throwsCode(() => updateBroker(spec, 0, { removeOverrides: ['num.io.threads'] }), 'kafka_cluster_invalid', /cluster-wide override/);
  });

  test('unknown broker is not_found; a broker being removed is a conflict', () => {
    throwsCode(() => updateBroker(cluster(), 42, { setOverrides: { a: '1' } }), 'not_found', /no broker 42/);
    const draining = startRemoval(cluster(), 3).spec;
    throwsCode(() => updateBroker(draining, 3, { setOverrides: { a: '1' } }), 'conflict', /being removed/);
  });
});

describe('stop, start, restart', () => {
  test('stop keeps the node in the spec with goal stopped; start brings it back; both idempotent', () => {
    const spec = cluster();
    const stopped = setBrokerGoal(spec, 3, 'stopped');
    assert.equal(stopped.changed, true);
    assert.equal(stopped.spec.brokers.nodes.find((b) => b.nodeId === 3)?.goal, 'stopped');
    assert.equal(brokerPhase(stopped.spec.brokers.nodes.find((b) => b.nodeId === 3)!), 'stopped');
    assert.equal(setBrokerGoal(stopped.spec, 3, 'stopped').changed, false);
    const started = setBrokerGoal(stopped.spec, 3, 'running');
    assert.equal(started.spec.brokers.nodes.find((b) => b.nodeId === 3)?.goal, 'running');
    assert.equal(setBrokerGoal(started.spec, 3, 'running').changed, false);
  });

  test('a combined node may stop only while a majority of the controllers keeps running', () => {
    const one = setBrokerGoal(cluster(), 0, 'stopped').spec;
    throwsCode(() => setBrokerGoal(one, 1, 'stopped'), 'conflict', /only 1 of 3 controllers would run; the metadata quorum needs 2/);
    // A plain broker is not a controller: no quorum question.
    assert.equal(setBrokerGoal(one, 3, 'stopped').changed, true);
  });

  test('restart bumps the broker counter: only that broker changes version; stopped or draining brokers are refused', () => {
    const spec = cluster();
    const r1 = restartBroker(spec, 1);
    assert.equal(r1.brokers.nodes.find((b) => b.nodeId === 1)?.restartGeneration, 1);
    assert.deepEqual(changedUnits(spec, r1), ['kafka/broker-1']);
    const r2 = restartBroker(r1, 1);
    assert.deepEqual(changedUnits(r1, r2), ['kafka/broker-1']);
    const stopped = setBrokerGoal(spec, 3, 'stopped').spec;
    throwsCode(() => restartBroker(stopped, 3), 'conflict', /stopped: start it first/);
    throwsCode(() => restartBroker(startRemoval(spec, 3).spec, 3), 'conflict', /being removed/);
    throwsCode(() => restartBroker(spec, 9), 'not_found');
  });

  test('a rolling restart changes every node, dedicated controllers included, and nothing else', () => {
    const dedicated = createClusterSpec({ version: '4.4.0', brokers: 4 });
    const rolled = restartCluster(dedicated);
    assert.equal(rolled.restartGeneration, 1);
    assert.deepEqual(changedUnits(dedicated, rolled), [...versions(dedicated).keys()].sort());
    throwsCode(() => restartCluster(startRemoval(cluster(), 3).spec), 'conflict', /being removed/);
  });

  test('a spec that never restarted keeps its task templates (no counters in the env)', () => {
    const spec = cluster();
    const env = kafkaUnits(spec, opts).units.map((u) => Object.keys(u.task.env ?? {}).filter((k) => /RESTART/.test(k)));
    assert.deepEqual(env.flat(), []);
  });
});

describe('replace', () => {
  test('a plain broker, or a combined node of a dynamic quorum of three, may be replaced', () => {
    const spec = cluster();
    assert.equal(replaceIssue(spec, 3), undefined);
    assert.equal(replaceIssue(spec, 0), undefined);
  });

  test('a controller of a static quorum or the only controller keeps its disk', () => {
    const stat = createClusterSpec({ version: '4.4.0', brokers: 3, controllers: { quorum: 'static' } });
    assert.match(replaceIssue(stat, 0) ?? '', /static quorum/);
    const single = createClusterSpec({ version: '4.4.0', brokers: 1 });
    assert.match(replaceIssue(single, 0) ?? '', /only KRaft controller/);
    throwsCode(() => replaceIssue(setBrokerGoal(cluster(), 3, 'stopped').spec, 3), 'conflict');
  });
});

describe('scale in', () => {
  test('combined nodes, the last broker, a second removal and the internal topics refuse', () => {
    const spec = cluster();
    assert.match(removalIssues(spec, 0).join(), /also a KRaft controller/);
    throwsCode(() => startRemoval(spec, 1), 'conflict', /combined mode/);
    assert.deepEqual(removalIssues(spec, 3), []);
    const single = createClusterSpec({ version: '4.4.0', brokers: 1, controllers: { mode: 'dedicated', count: 1 } });
    assert.match(removalIssues(single, 0).join(), /last broker/);
    // Dedicated controllers, 3 brokers: the internal topics were created with RF 3.
    const three = createClusterSpec({ version: '4.4.0', brokers: 3, controllers: { mode: 'dedicated' } });
    assert.match(removalIssues(three, 0).join(), /offsets\.topic\.replication\.factor=3 needs at least 3 brokers/);
    const five = addBrokers(createClusterSpec({ version: '4.4.0', brokers: 4 }), 1).spec;
    const first = startRemoval(five, 0).spec;
    assert.match(removalIssues(first, 1).join(), /broker\(s\) 0 are being removed: one removal at a time/);
  });

  test('the lifecycle: draining → removed → forgotten, each step idempotent, ids never reused', () => {
    const spec = cluster();
    const d = startRemoval(spec, 3);
    assert.equal(d.changed, true);
    const node = d.spec.brokers.nodes.find((b) => b.nodeId === 3)!;
    assert.equal(node.draining, true);
    assert.equal(node.goal, 'running', 'the broker keeps running while its replicas move');
    assert.equal(brokerPhase(node), 'draining');
    assert.deepEqual(changedUnits(spec, d.spec), [], 'marking a drain restarts nothing');
    assert.equal(startRemoval(d.spec, 3).changed, false);
    assert.deepEqual(drainTargets(d.spec, 3), [0, 1, 2]);

    const removed = finishDrain(d.spec, 3);
    const r3 = removed.brokers.nodes.find((b) => b.nodeId === 3)!;
    assert.equal(r3.goal, 'removed');
    assert.equal(r3.draining, undefined);
    assert.equal(brokerPhase(r3), 'removing');
    assert.equal(finishDrain(removed, 3), removed);
    const { units } = kafkaUnits(removed, opts);
    assert.equal(units.find((u) => u.name === 'kafka/broker-3')?.goal, 'removed');

    const gone = forgetBroker(removed, 3);
    assert.deepEqual(gone.brokers.nodes.map((b) => b.nodeId), [0, 1, 2]);
    assert.equal(forgetBroker(gone, 3), gone);
    assert.equal(forgetBroker(d.spec, 3), d.spec, 'a broker still draining is not dropped');
    const again = addBrokers(gone, 1);
    assert.deepEqual(again.added, [4]);
  });

  test('the partitions must fit on the brokers that stay', () => {
    const spec = cluster();
    const ok = planRemoval(spec, 3, [
      { topic: 't', partition: 0, replicas: [3, 0, 1] },
      { topic: 't', partition: 1, replicas: [0, 1, 2] },
    ]);
    assert.ok(ok.ok);
    assert.deepEqual(ok.moves, [{ topic: 't', partition: 0, replicas: [2, 0, 1] }]);
    const tooWide = planRemoval(spec, 3, [{ topic: 'wide', partition: 0, replicas: [0, 1, 2, 3] }]);
    assert.equal(tooWide.ok, false);
    // A stopped broker cannot take replicas (it would never catch up).
    const stopped = setBrokerGoal(spec, 2, 'stopped').spec;
    assert.deepEqual(drainTargets(stopped, 3), [0, 1]);
    assert.equal(planRemoval(stopped, 3, [{ topic: 't', partition: 0, replicas: [3, 0, 1] }]).ok, false);
  });

  test('property: any sequence of verbs keeps the spec valid, and refused verbs change nothing', () => {
    type Verb = { op: 'stop' | 'start' | 'restart' | 'remove' | 'finish' | 'forget' | 'update'; id: number } | { op: 'roll' };
    const verb = fc.oneof(
      fc.record({ op: fc.constantFrom('stop', 'start', 'restart', 'remove', 'finish', 'forget', 'update'), id: fc.integer({ min: 0, max: 5 }) }),
      fc.constant({ op: 'roll' as const }),
    ) as fc.Arbitrary<Verb>;
    fc.assert(
      fc.property(fc.array(verb, { maxLength: 25 }), (verbs) => {
        let spec = addBrokers(createClusterSpec({ version: '4.4.0', brokers: 3 }), 2).spec;
        for (const v of verbs) {
          const before = JSON.stringify(spec);
          try {
            switch (v.op) {
              case 'stop':
              case 'start':
                spec = setBrokerGoal(spec, v.id, v.op === 'stop' ? 'stopped' : 'running').spec;
                break;
              case 'restart':
                spec = restartBroker(spec, v.id);
                break;
              case 'remove':
                spec = startRemoval(spec, v.id).spec;
                break;
              case 'finish':
                spec = finishDrain(spec, v.id);
                break;
              case 'forget':
                spec = forgetBroker(spec, v.id);
                break;
              case 'update':
                spec = updateBroker(spec, v.id, { setOverrides: { 'num.io.threads': String(v.id + 1) } }).spec;
                break;
              case 'roll':
                spec = restartCluster(spec);
                break;
            }
          } catch (err) {
            assert.ok(err instanceof KmfError && ['conflict', 'not_found', 'kafka_cluster_invalid'].includes(err.code), String(err));
            assert.equal(JSON.stringify(spec), before);
          }
          assert.deepEqual(clusterIssues(spec), []);
          // Combined nodes never leave, and at most one removal runs at a time.
          for (const id of [0, 1, 2]) assert.ok(spec.brokers.nodes.some((b) => b.nodeId === id && b.goal !== 'removed'));
          assert.ok(spec.brokers.nodes.filter((b) => b.draining === true || b.goal === 'removed').length <= 1);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('the drain loop picks the removal up from the record alone (what a new leader does)', () => {
  function target(record: KafkaClusterRecord, units: UnitView[]): { writes: number; term: ConstructorParameters<typeof KafkaDrainLoop>[0] } {
    const t = {
      writes: 0,
      term: {
        stillLeading: () => true,
        isLoaded: true,
        units: () => units,
        kafka: () => record,
        mutateDesired: <T>(): Promise<T> => {
          t.writes++;
          return Promise.reject(new Error('no write expected'));
        },
      },
    };
    return t;
  }

  function unitView(name: string, state: UnitView['state']): UnitView {
    return { name, kind: 'kafka-broker', goal: 'removed', state, plan: undefined, generation: 1, failures: 0, version: 'v', issues: [] };
  }

  test('a draining broker with no broker running to ask waits, and says why once on the timeline', async () => {
    const now = new Date(0).toISOString();
    const record: KafkaClusterRecord = { spec: startRemoval(cluster(), 3).spec, quorumFormed: true, createdAt: now, updatedAt: now };
    const timeline = new Timeline();
    const t = target(record, []);
    const loop = new KafkaDrainLoop(t.term, timeline, testLogger('drain'), { clock: () => 1 });
    await loop.round();
    await loop.round();
    assert.deepEqual(loop.progress().get(3), { brokerId: 3, phase: 'draining', waiting: 'no broker is running to ask Kafka' });
    assert.deepEqual(timeline.page({ limit: 100 }).entries.map((e) => e.message), ['removal of broker 3 waits: no broker is running to ask Kafka']);
    assert.equal(t.writes, 0);
  });

  test('a removed broker waits for its task to stop before it is unregistered; a broker no longer in the record is forgotten', async () => {
    const now = new Date(0).toISOString();
    const spec = finishDrain(startRemoval(cluster(), 3).spec, 3);
    const record: KafkaClusterRecord = { spec, quorumFormed: true, createdAt: now, updatedAt: now };
    const t = target(record, [unitView('kafka/broker-3', 'stopping')]);
    const loop = new KafkaDrainLoop(t.term, new Timeline(), testLogger('drain'));
    await loop.round();
    assert.deepEqual(loop.progress().get(3), { brokerId: 3, phase: 'removing', waiting: 'its task is being stopped (stopping)' });
    record.spec = forgetBroker(spec, 3);
    await loop.round();
    assert.equal(loop.progress().size, 0);
    assert.equal(t.writes, 0);
  });
});
