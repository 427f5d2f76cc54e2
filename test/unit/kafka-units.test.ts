import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderTaskInfo, type PlacementView } from '../../src/core/render.js';
import { prepareDesired } from '../../src/model/desired.js';
import { createClusterSpec } from '../../src/kafka/cluster-model.js';
import { parseProperties } from '../../src/kafka/server-properties.js';
import { KAFKA_BROKER_KIND, KAFKA_CONTROLLER_KIND, kafkaRenderHook, kafkaUnits } from '../../src/kafka/units.js';

const opts = {
  distribution: { topDir: 'kafka-4.4.0', serverStart: 'bin/kafka-server-start', storageTool: 'bin/kafka-storage' },
  tarballUrl: 'http://scheduler:8080/artifacts/kafka-4.4.0.tgz',
};

function envOf(task: { command?: { environment?: { variables?: Array<{ name: string; value?: string }> } } }): Map<string, string> {
  return new Map((task.command?.environment?.variables ?? []).map((v) => [v.name, v.value ?? '']));
}

void describe('Kafka units for the scheduler core', () => {
  void test('dedicated layout: controllers then brokers, valid unit specs, volumes, ports, grace periods', () => {
    const spec = createClusterSpec({ version: '4.4.0', brokers: 4 });
    const { units, phases } = kafkaUnits(spec, opts);
    assert.deepEqual(phases, [
      { name: 'kafka-controllers', strategy: 'parallel' },
      { name: 'kafka-brokers', strategy: 'parallel' },
    ]);
    assert.deepEqual(
      units.map((u) => u.name),
      ['kafka/controller-1000', 'kafka/controller-1001', 'kafka/controller-1002', 'kafka/broker-0', 'kafka/broker-1', 'kafka/broker-2', 'kafka/broker-3'],
    );
    const desired = prepareDesired({ units, phases });
    for (const u of desired.ordered) assert.deepEqual(u.issues, [], `${u.spec.name}: ${u.issues.join('; ')}`);
    const c = units[0]!;
    const b = units[3]!;
    assert.equal(c.kind, KAFKA_CONTROLLER_KIND);
    assert.deepEqual(c.ports, [{ name: 'controller' }]);
    assert.deepEqual(b.ports, [{ name: 'broker' }]);
    assert.equal(b.kind, KAFKA_BROKER_KIND);
    assert.deepEqual(b.volume, { sizeMb: 5000, containerPath: 'kafka-data' });
    assert.equal(b.task.killGracePeriodSeconds, 120);
    assert.equal(c.task.killGracePeriodSeconds, 60);
    assert.equal(b.readiness, 'external');
    // Brokers wait for every controller's placement (the quorum endpoints).
    assert.deepEqual(desired.units.get('kafka/broker-0')?.refs, ['kafka/controller-1000', 'kafka/controller-1001', 'kafka/controller-1002']);
  });

  void test('without volumes a node still reserves (same agent and ports on restart) and asks for the data disk in the sandbox', () => {
    const spec = createClusterSpec({ version: '4.4.0', brokers: 1, volumes: false });
    const [u] = kafkaUnits(spec, opts).units;
    assert.equal(u?.reserve, true);
    assert.equal(u?.volume, undefined);
    assert.equal(u?.resources.diskMb, 512 + 5000);
  });

  void test('rendered by the core: placeholders resolved to the agent host, offered ports and controller placements', () => {
    const spec = createClusterSpec({ version: '4.4.0', brokers: 3 });
    const { units, phases } = kafkaUnits(spec, { ...opts, constraints: [] });
    const desired = prepareDesired({ units, phases });
    const placements = new Map<string, PlacementView>(
      [0, 1, 2].map((i) => [`kafka/broker-${i}`, { agentId: `a${i}`, hostname: `agent-${i}.example.com`, ports: { broker: 31000 + i, controller: 32000 + i }, vars: {} }]),
    );
    const unit = desired.units.get('kafka/broker-1')!;
    const render = (formed: boolean) =>
      renderTaskInfo(
        {
          unit,
          taskId: 'kafka.broker-1__1',
          generation: 1,
          agentId: 'a1',
          hostname: 'agent-1.example.com',
          ports: { broker: 31001, controller: 32001 },
          volumePath: 'kafka-data',
          lookup: (name) => placements.get(name),
        },
        [],
        kafkaRenderHook(() => formed),
        30,
      );
    const before = render(false);
    assert.equal(before.ok, true);
    if (!before.ok) return;
    const env = envOf(before.task);
    const props = parseProperties(env.get('KMF_SERVER_PROPERTIES') ?? '');
    assert.equal(props.get('advertised.listeners'), 'BROKER://agent-1.example.com:31001,CONTROLLER://agent-1.example.com:32001');
    assert.equal(props.get('controller.quorum.bootstrap.servers'), 'agent-0.example.com:32000,agent-1.example.com:32001,agent-2.example.com:32002');
    assert.equal(props.get('log.dirs'), 'kafka-data');
    assert.equal(env.get('KMF_STORAGE_FORMAT'), 'initial-controllers');
    const dirs = spec.controllers.nodes.map((c) => c.directoryId);
    assert.equal(
      env.get('KMF_INITIAL_CONTROLLERS'),
      `0@agent-0.example.com:32000:${dirs[0]},1@agent-1.example.com:32001:${dirs[1]},2@agent-2.example.com:32002:${dirs[2]}`,
    );
    assert.ok(![...env.values()].some((v) => v.includes('{{')), 'no placeholder left');
    assert.equal(before.task.kill_policy?.grace_period?.nanoseconds, '120000000000');

    const after = render(true);
    assert.equal(after.ok && envOf(after.task).get('KMF_STORAGE_FORMAT'), 'join');
    // The template (and so the unit's version) is the same either way: the flip never restarts anything.
    assert.equal(prepareDesired({ units, phases }).units.get('kafka/broker-1')?.version, unit.version);
  });

  void test('brokers of a static quorum format plain and list the voters', () => {
    const spec = createClusterSpec({ version: '4.4.0', brokers: 4, controllers: { quorum: 'static' } });
    const b = kafkaUnits(spec, opts).units.find((u) => u.name === 'kafka/broker-0')!;
    assert.equal(b.task.env?.['KMF_STORAGE_FORMAT'], 'plain');
    assert.match(b.task.env?.['KMF_SERVER_PROPERTIES'] ?? '', /^controller\.quorum\.voters=1000@\{\{unit:kafka\/controller-1000:host\}\}:/m);
    const hooked = kafkaRenderHook(() => false)({} as never, b.task);
    assert.equal(hooked, b.task, 'the hook leaves non-dynamic-controller templates alone');
  });

  void test('an override change changes the unit version (it needs a roll); a scale-out does not touch existing units', () => {
    const spec = createClusterSpec({ version: '4.4.0', brokers: 3 });
    const v = (s: typeof spec, name: string) => prepareDesired(kafkaUnits(s, opts)).units.get(name)?.version;
    const changed = { ...spec, overrides: { 'log.retention.hours': '12' } };
    assert.notEqual(v(changed, 'kafka/broker-0'), v(spec, 'kafka/broker-0'));
    const grown = { ...spec, brokers: { ...spec.brokers, nodes: [...spec.brokers.nodes, { nodeId: 3, goal: 'running' as const }], nextBrokerId: 4 } };
    assert.equal(v(grown, 'kafka/broker-0'), v(spec, 'kafka/broker-0'));
  });
});
