/**
 * Master failover on the sim (§D, §O): a restart drops every stream and frameworks come back with their
 * ids; a second master answers 307 to the leader and takes over on a leader change; with ZooKeeper the
 * masters register as `json.info_` members and leadership follows the group.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import zookeeper from 'node-zookeeper-client';
import { SimCluster } from '../../src/sim/cluster.js';
import { controlRoutes } from '../../src/sim/control-api.js';
import { encodeCall } from '../../src/mesos/codec.js';
import type { FrameworkInfo } from '../../src/mesos/types.js';
import { testLogger } from '../../src/util/log.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';
import { DEFAULT_FRAMEWORK, eventually, followTask, launch, rawRequest, TestScheduler } from './sim-master-harness.js';

const INFO: FrameworkInfo = { ...DEFAULT_FRAMEWORK, failover_timeout: 600, checkpoint: true, capabilities: [{ type: 'PARTITION_AWARE' }] };
const SUBSCRIBE_BODY = encodeCall({ type: 'SUBSCRIBE', subscribe: { framework_info: INFO } }, 'application/json');

void describe('master restart', () => {
  let cluster: SimCluster;
  void before(async () => {
    cluster = await SimCluster.start({ logger: testLogger('sim-master-restart'), port: 0, agents: 1, allocationIntervalMs: 100, extraRoutes: controlRoutes });
  });
  void after(async () => {
    await cluster.stop();
  });

  void test('streams drop; the framework re-subscribes with its id; its running task is still there', async () => {
    const s = await TestScheduler.subscribe(cluster.masterUrl, INFO);
    const sub = await s.next('SUBSCRIBED');
    const oldMasterId = sub.subscribed.master_info?.id;
    const [offer] = await s.offers();
    assert.ok(offer !== undefined);
    await launch(s, offer, [{ id: 'survivor', command: 'sleep 60' }]);
    await followTask(s, 'survivor', 'TASK_RUNNING');

    const restarted = await rawRequest(`${cluster.masterUrl}/sim/v1/master/restart`, { headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(restarted.status, 200);
    await s.ended_();
    await s.close();

    const again = await TestScheduler.subscribe(cluster.masterUrl, INFO, { frameworkId: s.frameworkId });
    const resub = await again.next('SUBSCRIBED');
    assert.equal(resub.subscribed.framework_id.value, s.frameworkId);
    assert.notEqual(resub.subscribed.master_info?.id, oldMasterId, 'a new master id after the restart');
    await again.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'survivor' }, agent_id: offer.agent_id }] } });
    assert.equal((await again.update('survivor')).state, 'TASK_RUNNING');
    await again.call({ type: 'KILL', kill: { task_id: { value: 'survivor' } } });
    assert.equal((await followTask(again, 'survivor', 'terminal')).pop()?.state, 'TASK_KILLED');
    // New frameworks get ids from the new master.
    const fresh = await TestScheduler.subscribe(cluster.masterUrl, DEFAULT_FRAMEWORK);
    assert.ok((await fresh.next('SUBSCRIBED')).subscribed.framework_id.value.startsWith(`${resub.subscribed.master_info?.id ?? ''}-`));
    await fresh.close();
    await again.call({ type: 'TEARDOWN' });
    await again.close();
  });

  void test('a recovering master answers 503', async () => {
    await cluster.restartMaster({ recoveryMs: 60_000 });
    const res = await rawRequest(`${cluster.masterUrl}/api/v1/scheduler`, { headers: { 'content-type': 'application/json' }, body: SUBSCRIBE_BODY });
    assert.equal(res.status, 503);
    assert.equal(res.body, 'Master has not finished recovery');
    await cluster.restartMaster();
  });
});

void describe('two masters', () => {
  let cluster: SimCluster;
  void before(async () => {
    cluster = await SimCluster.start({ logger: testLogger('sim-master-two'), port: 0, masters: 2, agents: 1, allocationIntervalMs: 100, extraRoutes: controlRoutes });
  });
  void after(async () => {
    await cluster.stop();
  });

  void test('the standby answers 307 with a protocol-relative Location; a leader change moves everything over', async () => {
    const [first, second] = cluster.masterUrls() as [string, string];
    assert.equal(cluster.masterUrl, first);
    const redirect = await rawRequest(`${second}/api/v1/scheduler?x=1`, { headers: { 'content-type': 'application/json' }, body: SUBSCRIBE_BODY });
    assert.equal(redirect.status, 307);
    assert.equal(redirect.headers['location'], `//${new URL(first).host}/api/v1/scheduler?x=1`);
    assert.equal(redirect.body, '');
    // The 307 comes before any other check, even the method.
    assert.equal((await rawRequest(`${second}/api/v1/scheduler`, { method: 'GET' })).status, 307);

    const s = await TestScheduler.subscribe(first, INFO);
    await s.next('SUBSCRIBED');
    const [offer] = await s.offers();
    assert.ok(offer !== undefined);
    await launch(s, offer, [{ id: 'mover', command: 'sleep 60' }]);
    await followTask(s, 'mover', 'TASK_RUNNING');

    const changed = await rawRequest(`${second}/sim/v1/master/leader`, { headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(changed.status, 200);
    assert.equal(cluster.masterUrl, second);
    await s.ended_();
    await s.close();
    const back = await rawRequest(`${first}/api/v1/scheduler`, { headers: { 'content-type': 'application/json' }, body: SUBSCRIBE_BODY });
    assert.equal(back.status, 307);
    assert.equal(back.headers['location'], `//${new URL(second).host}/api/v1/scheduler`);

    const again = await TestScheduler.subscribe(second, INFO, { frameworkId: s.frameworkId });
    await again.next('SUBSCRIBED');
    await again.call({ type: 'RECONCILE', reconcile: {} });
    assert.equal((await again.update('mover')).state, 'TASK_RUNNING');
    await again.call({ type: 'TEARDOWN' });
    await again.close();
  });
});

void describe('ZooKeeper registration', () => {
  let zk: ZooKeeperServer;
  let cluster: SimCluster | undefined;
  void before(async () => {
    zk = await startZooKeeper();
  });
  void after(async () => {
    await cluster?.stop();
    await zk.stop();
  });

  function children(client: zookeeper.Client, path: string): Promise<string[]> {
    return new Promise((resolve, reject) => client.getChildren(path, (err, c) => (err === null ? resolve(c) : reject(new Error(String(err))))));
  }
  function data(client: zookeeper.Client, path: string): Promise<string> {
    return new Promise((resolve, reject) => client.getData(path, (err, d) => (err === null ? resolve(d.toString('utf8')) : reject(new Error(String(err))))));
  }

  void test('masters are ephemeral sequential json.info_ members; the lowest leads; leadership moves when it leaves', async () => {
    cluster = await SimCluster.start({
      logger: testLogger('sim-master-zk'),
      port: 0,
      masters: 2,
      agents: 1,
      zk: `zk://${zk.connectString}/mesos`,
      zkSessionTimeoutMs: 4000,
      extraRoutes: controlRoutes,
    });
    const client = zookeeper.createClient(zk.connectString);
    await new Promise<void>((resolve) => {
      client.once('connected', () => resolve());
      client.connect();
    });
    try {
      const members = (await children(client, '/mesos')).filter((c) => c.startsWith('json.info_')).sort();
      assert.equal(members.length, 2);
      for (const m of members) assert.match(m, /^json\.info_\d{10}$/);
      const leaderJson = await data(client, `/mesos/${members[0] ?? ''}`);
      const leaderInfo = JSON.parse(leaderJson) as { id: string; port: number; address: { ip: string } };
      assert.deepEqual(Object.keys(leaderInfo), ['address', 'capabilities', 'hostname', 'id', 'ip', 'pid', 'port', 'version']);
      assert.ok(leaderJson.includes('{"type":"QUOTA_V2"}'));
      assert.equal(cluster.master()?.id, leaderInfo.id);
      assert.equal(cluster.masterUrl, `http://${leaderInfo.address.ip}:${leaderInfo.port}`);

      const oldLeader = cluster.masterUrl;
      await cluster.changeLeader();
      await eventually(() => cluster?.masterUrl !== oldLeader, 10_000, 'a new leader');
      const after = (await children(client, '/mesos')).filter((c) => c.startsWith('json.info_')).sort();
      assert.equal(after.length, 2);
      assert.equal(after.includes(members[0] ?? ''), false, 'the old leader left and rejoined with a new sequence number');
      const res = await rawRequest(`${oldLeader}/api/v1/scheduler`, { headers: { 'content-type': 'application/json' }, body: SUBSCRIBE_BODY });
      assert.equal(res.status, 307);
      assert.equal(res.headers['location'], `//${new URL(cluster.masterUrl).host}/api/v1/scheduler`);
      const s = await TestScheduler.subscribe(cluster.masterUrl, DEFAULT_FRAMEWORK);
      assert.equal((await s.next('SUBSCRIBED')).subscribed.master_info?.id, cluster.master()?.id);
      await s.close();
    } finally {
      client.close();
    }
  });
});
