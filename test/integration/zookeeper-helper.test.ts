import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import { fourLetterWord, startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

function connect(connectString: string): Promise<zookeeper.Client> {
  return new Promise((resolve, reject) => {
    const client = zookeeper.createClient(connectString, { sessionTimeout: 5_000, retries: 0 });
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

void describe('startZooKeeper (real ZooKeeper server)', () => {
  let zk: ZooKeeperServer;
  before(async () => {
    zk = await startZooKeeper();
  });
  after(async () => {
    await zk.stop();
  });

  void test('is serving as soon as it resolves', async () => {
    const srvr = await fourLetterWord(zk.port, 'srvr');
    assert.match(srvr, /Mode: standalone/);
    assert.match(srvr, /Zookeeper version: 3\.9\./);
  });

  void test('a client can create and read a znode', async () => {
    const client = await connect(zk.connectString);
    try {
      const created = await new Promise<string>((resolve, reject) =>
        client.create('/helper-check', Buffer.from('hello'), (err, p) => (err ? reject(new Error(err.toString())) : resolve(p))),
      );
      assert.equal(created, '/helper-check');
      const data = await new Promise<Buffer>((resolve, reject) =>
        client.getData('/helper-check', (err, d) => (err ? reject(new Error(err.toString())) : resolve(d))),
      );
      assert.equal(data.toString('utf8'), 'hello');
    } finally {
      client.close();
    }
  });

  void test('two servers get different ports and directories, and stop() removes the process and the directory', async () => {
    const other = await startZooKeeper();
    assert.notEqual(other.port, zk.port);
    assert.notEqual(other.dataDir, zk.dataDir);
    assert.ok(fs.existsSync(other.dataDir));
    const pid = other.process.pid;
    await other.stop();
    assert.equal(other.process.running(), false);
    assert.equal(fs.existsSync(other.dataDir), false);
    assert.throws(() => process.kill(-pid, 0), /ESRCH/, 'no process of the group is left');
    // stop() is idempotent.
    await other.stop();
  });

  void test('kill() is a crash: clients lose the server', async () => {
    const other = await startZooKeeper();
    const client = await connect(other.connectString);
    try {
      const disconnected = new Promise<void>((resolve) => client.once('disconnected', () => resolve()));
      await other.kill();
      await disconnected;
      assert.equal(fs.existsSync(other.dataDir), false);
    } finally {
      client.close();
    }
  });
});
