/**
 * Framework lifecycle on the sim master (§D): ids, heartbeats, re-subscription and failover, failover
 * timeouts, TEARDOWN, and the ERROR events a refused subscription gets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster } from '../../src/sim/cluster.js';
import { testLogger } from '../../src/util/log.js';
import { DEFAULT_FRAMEWORK, eventually, followTask, launch, rawRequest, TestScheduler } from './sim-master-harness.js';
import { encodeCall } from '../../src/mesos/codec.js';

let cluster: SimCluster;
const open: TestScheduler[] = [];

async function subscribe(...args: Parameters<typeof TestScheduler.subscribe>): Promise<TestScheduler> {
  const s = await TestScheduler.subscribe(...args);
  open.push(s);
  return s;
}

void before(async () => {
  cluster = await SimCluster.start({
    logger: testLogger('sim-master-lifecycle'),
    port: 0,
    agents: 1,
    heartbeatIntervalSeconds: 0.2,
    allocationIntervalMs: 100,
  });
});

void after(async () => {
  for (const s of open) await s.close();
  await cluster.stop();
});

void describe('subscription', () => {
  void test('framework ids are <masterId>-NNNN; the heartbeat interval is announced and kept', async () => {
    const a = await subscribe(cluster.masterUrl, DEFAULT_FRAMEWORK);
    const b = await subscribe(cluster.masterUrl, DEFAULT_FRAMEWORK);
    const subA = await a.next('SUBSCRIBED');
    const subB = await b.next('SUBSCRIBED');
    const masterId = subA.subscribed.master_info?.id ?? '';
    assert.match(subA.subscribed.framework_id.value, new RegExp(`^${masterId}-\\d{4}$`));
    const n = Number(subA.subscribed.framework_id.value.slice(-4));
    assert.equal(subB.subscribed.framework_id.value, `${masterId}-${String(n + 1).padStart(4, '0')}`);
    assert.equal(subA.subscribed.heartbeat_interval_seconds, 0.2);
    // The first HEARTBEAT comes right after SUBSCRIBED, then one per interval.
    assert.equal(a.events[1]?.type, 'HEARTBEAT');
    await eventually(() => a.events.filter((e) => e.type === 'HEARTBEAT').length >= 3, 10_000, 'heartbeats');
    await a.close();
    await b.close();
  });

  void test('re-subscribing takes over: ERROR "Framework failed over" on the old stream, old offers invalid, no RESCIND', async () => {
    const info = { ...DEFAULT_FRAMEWORK, failover_timeout: 60, capabilities: [{ type: 'PARTITION_AWARE' as const }] };
    const first = await subscribe(cluster.masterUrl, info);
    await first.next('SUBSCRIBED');
    const [offer] = await first.offers();
    assert.ok(offer !== undefined);
    const second = await subscribe(cluster.masterUrl, info, { frameworkId: first.frameworkId });
    const sub = await second.next('SUBSCRIBED');
    assert.equal(sub.subscribed.framework_id.value, first.frameworkId);
    assert.notEqual(second.streamId, first.streamId);
    const error = await first.next('ERROR');
    assert.equal(error.error.message, 'Framework failed over');
    await first.ended_();

    // The offer of the previous stream was discarded without RESCIND; using it drops the task.
    await launch(second, offer, [{ id: 'stale', command: 'true' }]);
    const dropped = await second.update('stale');
    assert.equal(dropped.state, 'TASK_DROPPED');
    assert.equal(dropped.reason, 'REASON_INVALID_OFFERS');
    assert.equal(dropped.source, 'SOURCE_MASTER');
    assert.equal(dropped.message, `Task launched with invalid offers: Offer ${offer.id.value} is no longer valid`);
    assert.equal(dropped.uuid, undefined);
    assert.equal(first.events.some((e) => e.type === 'RESCIND'), false);
    assert.equal(second.events.some((e) => e.type === 'RESCIND'), false);

    // The old stream id is no longer accepted.
    const stale = await rawRequest(`${cluster.masterUrl}/api/v1/scheduler`, {
      headers: { 'content-type': 'application/json', 'mesos-stream-id': first.streamId },
      body: encodeCall({ type: 'REVIVE', framework_id: { value: first.frameworkId } }, 'application/json'),
    });
    assert.equal(stale.status, 400);
    assert.match(stale.body, /didn't match the stream ID currently associated/);
    await second.call({ type: 'TEARDOWN' });
  });

  void test('re-subscribing with another principal is refused; user and checkpoint changes are ignored', async () => {
    const info = { ...DEFAULT_FRAMEWORK, failover_timeout: 60, principal: 'p1' };
    const s = await subscribe(cluster.masterUrl, info);
    await s.next('SUBSCRIBED');
    const bad = await subscribe(cluster.masterUrl, { ...info, principal: 'p2' }, { frameworkId: s.frameworkId });
    assert.equal((await bad.next('ERROR')).error.message, "Changing framework's principal is not allowed.");
    const again = await subscribe(cluster.masterUrl, { ...info, user: 'root', checkpoint: true }, { frameworkId: s.frameworkId });
    await again.next('SUBSCRIBED');
    const state = JSON.parse((await rawRequest(`${cluster.masterUrl}/master/state`, { method: 'GET' })).body) as {
      frameworks: Array<{ id: string; user: string; checkpoint: boolean }>;
    };
    const fw = state.frameworks.find((f) => f.id === s.frameworkId);
    assert.equal(fw?.user, 'nobody');
    assert.equal(fw?.checkpoint, false);
    await again.call({ type: 'TEARDOWN' });
  });

  void test('suppressed roles must be framework roles', async () => {
    const s = await subscribe(cluster.masterUrl, { ...DEFAULT_FRAMEWORK, role: 'dev' }, { suppressedRoles: ['ops'] });
    assert.equal((await s.next('ERROR')).error.message, 'Suppressed roles { ops } are not contained in the set of roles');
  });
});

void describe('framework removal', () => {
  void test('failover_timeout 0: the framework is removed when its connection drops, and its tasks killed', async () => {
    const s = await subscribe(cluster.masterUrl, { ...DEFAULT_FRAMEWORK, failover_timeout: 0 });
    await s.next('SUBSCRIBED');
    const [offer] = await s.offers();
    assert.ok(offer !== undefined);
    await launch(s, offer, [{ id: 'long', command: 'sleep 30' }]);
    await followTask(s, 'long', 'TASK_RUNNING');
    const agentTasks = (): number => cluster.agentSummaries()[0]?.pids.length ?? 0;
    assert.ok(agentTasks() > 0);
    const { frameworkId, streamId } = s;
    await s.close();
    await eventually(() => cluster.master()?.lookupFramework(frameworkId).kind === 'unknown', 10_000, 'framework removal');
    const res = await rawRequest(`${cluster.masterUrl}/api/v1/scheduler`, {
      headers: { 'content-type': 'application/json', 'mesos-stream-id': streamId },
      body: encodeCall({ type: 'REVIVE', framework_id: { value: frameworkId } }, 'application/json'),
    });
    assert.equal(res.status, 400);
    assert.equal(res.body, 'Framework cannot be found');
    await eventually(() => agentTasks() === 0, 15_000, 'task processes killed');
  });

  void test('TEARDOWN: 202, the stream ends without ERROR, the id is gone for good', async () => {
    const s = await subscribe(cluster.masterUrl, { ...DEFAULT_FRAMEWORK, failover_timeout: 3600 });
    await s.next('SUBSCRIBED');
    const res = await s.call({ type: 'TEARDOWN' });
    assert.equal(res.status, 202);
    await s.ended_();
    assert.equal(s.events.some((e) => e.type === 'ERROR'), false);
    const after = await s.call({ type: 'REVIVE' });
    assert.equal(after.status, 400);
    assert.equal(after.body, 'Framework cannot be found');
    const again = await subscribe(cluster.masterUrl, { ...DEFAULT_FRAMEWORK, failover_timeout: 3600 }, { frameworkId: s.frameworkId });
    assert.equal((await again.next('ERROR')).error.message, 'Framework has been removed');
    await again.ended_();
  });
});
