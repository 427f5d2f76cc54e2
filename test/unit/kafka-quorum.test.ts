import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clusterNodes, createClusterSpec } from '../../src/kafka/cluster-model.js';
import {
  bootstrapServersString,
  initialControllersString,
  planControllerMove,
  quorumFaultTolerance,
  quorumMajority,
  quorumProperties,
  rollOrder,
  storageFormat,
  storageFormatArgs,
  votersString,
  type ControllerEndpoint,
} from '../../src/kafka/quorum.js';

const endpoints: ControllerEndpoint[] = [
  { nodeId: 1001, directoryId: 'dir1001aaaaaaaaaaaaaaa', host: 'agent-b', port: 31002 },
  { nodeId: 1000, directoryId: 'dir1000aaaaaaaaaaaaaaa', host: 'agent-a', port: 31001 },
  { nodeId: 1002, directoryId: 'dir1002aaaaaaaaaaaaaaa', host: 'agent-c', port: '{{unit:kafka/controller-1002:port:controller}}' },
];

void describe('quorum strings', () => {
  void test('voters, bootstrap servers and initial controllers are ordered by node id', () => {
    assert.equal(votersString(endpoints), '1000@agent-a:31001,1001@agent-b:31002,1002@agent-c:{{unit:kafka/controller-1002:port:controller}}');
    assert.equal(bootstrapServersString(endpoints), 'agent-a:31001,agent-b:31002,agent-c:{{unit:kafka/controller-1002:port:controller}}');
    assert.equal(
      initialControllersString(endpoints),
      '1000@agent-a:31001:dir1000aaaaaaaaaaaaaaa,1001@agent-b:31002:dir1001aaaaaaaaaaaaaaa,1002@agent-c:{{unit:kafka/controller-1002:port:controller}}:dir1002aaaaaaaaaaaaaaa',
    );
  });

  void test('majority and fault tolerance', () => {
    assert.deepEqual([1, 3, 5].map(quorumMajority), [1, 2, 3]);
    assert.deepEqual([1, 3, 5].map(quorumFaultTolerance), [0, 1, 2]);
    assert.equal(quorumFaultTolerance(4), 1, 'an even count tolerates no more than one less');
  });
});

void describe('quorum properties and storage format', () => {
  const dynamic = createClusterSpec({ version: '4.4.0', brokers: 4 });
  const staticSpec = createClusterSpec({ version: '4.4.0', brokers: 4, controllers: { quorum: 'static' } });
  const [controller, , , broker] = clusterNodes(dynamic);

  void test('dynamic: bootstrap servers everywhere, auto-join on controllers only', () => {
    assert.deepEqual(quorumProperties(dynamic, controller!, endpoints), {
      'controller.quorum.bootstrap.servers': bootstrapServersString(endpoints),
      'controller.quorum.auto.join.enable': 'true',
    });
    assert.deepEqual(quorumProperties(dynamic, broker!, endpoints), { 'controller.quorum.bootstrap.servers': bootstrapServersString(endpoints) });
  });

  void test('static: the voter list everywhere', () => {
    const [c] = clusterNodes(staticSpec);
    assert.deepEqual(quorumProperties(staticSpec, c!, endpoints), { 'controller.quorum.voters': votersString(endpoints) });
  });

  void test('format: initial controllers until the quorum formed, then join; brokers and static nodes plain', () => {
    assert.deepEqual(storageFormat(dynamic, controller!, endpoints, false), { kind: 'initial-controllers', initialControllers: initialControllersString(endpoints) });
    assert.deepEqual(storageFormat(dynamic, controller!, endpoints, true), { kind: 'join' });
    assert.deepEqual(storageFormat(dynamic, broker!, endpoints, false), { kind: 'plain' });
    assert.deepEqual(storageFormat(staticSpec, clusterNodes(staticSpec)[0]!, endpoints, false), { kind: 'plain' });
    assert.deepEqual(storageFormatArgs({ kind: 'join' }), ['--no-initial-controllers']);
    assert.deepEqual(storageFormatArgs({ kind: 'initial-controllers', initialControllers: 'x' }), ['--initial-controllers', 'x']);
    assert.deepEqual(storageFormatArgs({ kind: 'plain' }), []);
  });
});

void describe('roll order', () => {
  void test('dedicated: follower controllers, the leader, then brokers by id', () => {
    const s = createClusterSpec({ version: '4.4.0', brokers: 4 });
    assert.deepEqual(rollOrder(clusterNodes(s), 1000), [1001, 1002, 1000, 0, 1, 2, 3]);
    assert.deepEqual(rollOrder(clusterNodes(s)), [1000, 1001, 1002, 0, 1, 2, 3]);
  });

  void test('combined: broker-only nodes and non-leader combined nodes first, the quorum leader last', () => {
    const s = createClusterSpec({ version: '4.4.0', brokers: 3 });
    assert.deepEqual(rollOrder(clusterNodes(s), 0), [1, 2, 0]);
  });
});

void describe('controller moves', () => {
  void test('dynamic: the moved controller joins by itself, nothing else restarts', () => {
    const s = createClusterSpec({ version: '4.4.0', brokers: 4 });
    const plan = planControllerMove(s, clusterNodes(s), 1001, 1000);
    assert.equal(plan.ok, true);
    if (!plan.ok) return;
    assert.deepEqual(plan.format, { kind: 'join' });
    assert.deepEqual(plan.restart, []);
    assert.equal(plan.othersNeeded, 2);
  });

  void test('static: every other node restarts with the new voters, in roll order', () => {
    const s = createClusterSpec({ version: '4.4.0', brokers: 4, controllers: { quorum: 'static' } });
    const plan = planControllerMove(s, clusterNodes(s), 1001, 1000);
    assert.equal(plan.ok, true);
    if (!plan.ok) return;
    assert.deepEqual(plan.restart, [1002, 1000, 0, 1, 2, 3]);
    assert.deepEqual(plan.format, { kind: 'plain' });
  });

  void test('a single controller cannot move without its disk; a non-controller is not a controller move', () => {
    const one = createClusterSpec({ version: '4.4.0', brokers: 1 });
    const p = planControllerMove(one, clusterNodes(one), 0);
    assert.equal(p.ok, false);
    assert.match(p.ok ? '' : p.reason, /only copy of the cluster metadata/);
    const s = createClusterSpec({ version: '4.4.0', brokers: 4 });
    assert.deepEqual(planControllerMove(s, clusterNodes(s), 2), { ok: false, reason: 'node 2 is not a controller' });
  });
});
