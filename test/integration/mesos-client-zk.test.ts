import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import { ClientHarness } from '../helpers/scheduler-client-harness.js';
import { ScriptedMaster } from '../helpers/scripted-master.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

/**
 * Master detection in a real ZooKeeper: two scripted masters contend the way Mesos masters do (ephemeral
 * sequential `json.info_` znodes holding their JSON MasterInfo), the group is readable only with digest
 * credentials, and the leader's session ends mid-subscription.
 */

const USER = 'kmf';
const PASSWORD = 'zk-pa55';
const DIGEST_ID = `${USER}:${createHash('sha1').update(`${USER}:${PASSWORD}`).digest('base64')}`;
const ACLS = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', DIGEST_ID))];

function session(connectString: string, auth: boolean): Promise<zookeeper.Client> {
  return new Promise((resolve, reject) => {
    const client = zookeeper.createClient(connectString, { sessionTimeout: 5_000, retries: 0 });
    if (auth) client.addAuthInfo('digest', Buffer.from(`${USER}:${PASSWORD}`));
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`no ZooKeeper session with ${connectString}`));
    }, 10_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

function zkCall<T>(fn: (cb: (err: Error | zookeeper.Exception | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    fn((err, value) => {
      if (err !== null) reject(err instanceof Error ? err : new Error(err.toString()));
      else resolve(value);
    }),
  );
}

function closeSession(client: zookeeper.Client): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 2_000);
    client.once('disconnected', () => {
      clearTimeout(t);
      resolve();
    });
    client.close();
  });
}

/** MasterInfo as a Mesos master writes it into ZooKeeper: JSON::protobuf, keys in alphabetical order, v0 names. */
function masterInfoJson(m: ScriptedMaster, id: string): Buffer {
  const port = m.port;
  return Buffer.from(
    JSON.stringify({
      address: { hostname: '127.0.0.1', ip: '127.0.0.1', port },
      capabilities: [{ type: 'AGENT_UPDATE' }, { type: 'AGENT_DRAINING' }, { type: 'QUOTA_V2' }],
      hostname: '127.0.0.1',
      id,
      ip: 16777343,
      pid: `master@127.0.0.1:${port}`,
      port,
      version: '1.11.0',
    }),
  );
}

void describe('SchedulerClient with ZooKeeper master detection (real ZooKeeper)', () => {
  let zk: ZooKeeperServer;
  let m1: ScriptedMaster;
  let m2: ScriptedMaster;
  const sessions: zookeeper.Client[] = [];
  let h: ClientHarness | undefined;

  before(async () => {
    zk = await startZooKeeper();
    m1 = await ScriptedMaster.start();
    m2 = await ScriptedMaster.start();
  });
  after(async () => {
    await h?.stop();
    for (const s of sessions) await closeSession(s);
    await m1?.close();
    await m2?.close();
    await zk?.stop();
  });

  void test('follows the leader (lowest json.info_ sequence) and switches master when it goes away', async () => {
    const admin = await session(zk.connectString, true);
    sessions.push(admin);
    await zkCall<string>((cb) => admin.create('/mesos', Buffer.alloc(0), ACLS, zookeeper.CreateMode.PERSISTENT, cb));
    // Not a group member: must be ignored.
    await zkCall<string>((cb) => admin.create('/mesos/log_replicas', Buffer.alloc(0), ACLS, zookeeper.CreateMode.PERSISTENT, cb));

    // Each master contends in its own session, like a real master process.
    const leaderSession = await session(zk.connectString, true);
    sessions.push(leaderSession);
    const first = await zkCall<string>((cb) =>
      leaderSession.create('/mesos/json.info_', masterInfoJson(m1, 'master-1'), ACLS, zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, cb),
    );
    const standbySession = await session(zk.connectString, true);
    sessions.push(standbySession);
    const second = await zkCall<string>((cb) =>
      standbySession.create('/mesos/json.info_', masterInfoJson(m2, 'master-2'), ACLS, zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, cb),
    );
    assert.ok(first < second);

    // Without the digest credentials the group can't be read: the client must authenticate.
    const anonymous = await session(zk.connectString, false);
    sessions.push(anonymous);
    await assert.rejects(zkCall<Buffer>((cb) => anonymous.getData(first, cb)), /NO_AUTH/);

    h = new ClientHarness({ master: `zk://${USER}:${PASSWORD}@${zk.connectString}/mesos` });
    h.start();
    const subscribed = await h.change('subscribed');
    assert.equal(subscribed.masterUrl, m1.url);
    assert.equal(m2.callsOfType('SUBSCRIBE').length, 0);

    // The leader's session ends: its znode vanishes and the standby's becomes the lowest.
    const mark = h.changes.length;
    const oldStream = m1.streams[0]!;
    await closeSession(leaderSession);
    const moved = await h.change('subscribed', mark);
    assert.equal(moved.masterUrl, m2.url);
    assert.equal(moved.resubscribed, true);
    const lost = h.changes.slice(mark).find((c) => c.type === 'disconnected');
    assert.ok(lost?.type === 'disconnected');
    assert.equal(lost.error.code, 'MESOS_LEADER_CHANGED');
    await oldStream.closed; // the client dropped the old master's stream

    const [resub] = m2.callsOfType('SUBSCRIBE');
    assert.equal(resub?.call?.framework_id?.value, subscribed.frameworkId.value);
    assert.equal(resub?.call?.subscribe?.framework_info.id?.value, subscribed.frameworkId.value);
    assert.equal(resub?.headers['mesos-stream-id'], undefined);
    await h.client.reconcile([]);
    assert.equal(m2.callsOfType('RECONCILE').length, 1);
  });
});
