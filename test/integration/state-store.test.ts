import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import { KmfError } from '../../src/util/errors.js';
import { ZooKeeperStateStore } from '../../src/state/zookeeper-state-store.js';
import { digestId } from '../../src/state/zk-config.js';
import { stateStoreConformance } from '../helpers/state-store-conformance.js';
import { expireSession } from '../helpers/zk-sessions.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

let zk: ZooKeeperServer;
let store: ZooKeeperStateStore;

before(async () => {
  zk = await startZooKeeper();
  store = await ZooKeeperStateStore.connect(`${zk.connectString}/kmf-conformance`);
});
after(async () => {
  await store?.close();
  await zk?.stop();
});

stateStoreConformance('ZooKeeperStateStore (real ZooKeeper)', () => store);

/** A plain client without chroot, to look at what the store really wrote. */
function rawClient(connectString: string, auth?: string): Promise<zookeeper.Client> {
  return new Promise((resolve, reject) => {
    const c = zookeeper.createClient(connectString, { sessionTimeout: 5_000, retries: 0 });
    if (auth !== undefined) c.addAuthInfo('digest', Buffer.from(auth));
    const timer = setTimeout(() => reject(new Error('no session')), 10_000);
    c.once('connected', () => {
      clearTimeout(timer);
      resolve(c);
    });
    c.connect();
  });
}

function rawGetData(c: zookeeper.Client, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => c.getData(path, (err, data) => (err ? reject(new Error(err.toString())) : resolve(data))));
}

function rawGetAcl(c: zookeeper.Client, path: string): Promise<zookeeper.ACL[]> {
  return new Promise((resolve, reject) => c.getACL(path, (err, acls) => (err ? reject(new Error(err.toString())) : resolve(acls))));
}

const isCode = (code: string) => (err: unknown) => err instanceof KmfError && err.code === code;

void describe('ZooKeeperStateStore specifics', () => {
  void test('the chroot is created on connect (also when nested) and paths are relative to it', async () => {
    const nested = await ZooKeeperStateStore.connect(`${zk.connectString}/deep/er/kmf`);
    try {
      await nested.create('/framework-id', Buffer.from('fw-1'));
      const raw = await rawClient(zk.connectString);
      try {
        assert.equal((await rawGetData(raw, '/deep/er/kmf/framework-id')).toString(), 'fw-1');
      } finally {
        raw.close();
      }
    } finally {
      await nested.close();
    }
  });

  void test('with digest credentials only kmf’s identity can read or write its znodes', async () => {
    const auth = { user: 'kmf', password: 's3cret' };
    const secured = await ZooKeeperStateStore.connect({ servers: [zk.connectString], chroot: '/secured', auth });
    try {
      await secured.create('/state', Buffer.from('private'));
      assert.equal((await secured.get('/state'))?.data.toString(), 'private');

      const raw = await rawClient(zk.connectString);
      try {
        await assert.rejects(rawGetData(raw, '/secured/state'), /NO_AUTH/);
      } finally {
        raw.close();
      }
      const rawWrong = await rawClient(zk.connectString, 'kmf:guess');
      try {
        await assert.rejects(rawGetData(rawWrong, '/secured/state'), /NO_AUTH/);
      } finally {
        rawWrong.close();
      }
      const rawRight = await rawClient(zk.connectString, 'kmf:s3cret');
      try {
        assert.equal((await rawGetData(rawRight, '/secured/state')).toString(), 'private');
        // ZooKeeper 3.9 wants READ or ADMIN to even show an ACL.
        for (const p of ['/secured', '/secured/state']) {
          const acls = await rawGetAcl(rawRight, p);
          assert.deepEqual(
            // The library's ACL objects carry `permission` (its typings say `perms`).
            acls.map((a) => [(a as unknown as { permission: number }).permission, a.id.scheme, a.id.id]),
            [[zookeeper.Permission.ALL, 'digest', digestId(auth)]],
            p,
          );
        }
      } finally {
        rawRight.close();
      }
      // The store maps ZooKeeper's NO_AUTH to `forbidden`.
      const peek = await ZooKeeperStateStore.connect({ servers: [zk.connectString], chroot: '/secured', auth: { user: 'kmf', password: 'guess' } }).catch(
        (err: unknown) => err,
      );
      // Creating the chroot is a no-op when it exists, so connecting works; reading does not.
      assert.ok(peek instanceof ZooKeeperStateStore);
      try {
        await assert.rejects(peek.get('/state'), isCode('forbidden'));
        await assert.rejects(peek.put('/state', Buffer.from('x'), 'any'), isCode('forbidden'));
      } finally {
        await peek.close();
      }
    } finally {
      await secured.close();
    }
  });

  void test('after its session expires the store opens a new one and keeps working', async () => {
    const s = await ZooKeeperStateStore.connect(`${zk.connectString}/expiry`, { sessionTimeoutMs: 2_000 });
    try {
      await s.put('/before', Buffer.from('1'), 'any');
      const oldSession = s.session.sessionId();
      const expired = new Promise<void>((resolve) => {
        const off = s.session.on((e) => {
          if (e.type === 'expired') {
            off();
            resolve();
          }
        });
      });
      await expireSession(zk.connectString + '/expiry', s.session.rawClient());
      await expired;
      // Calls made now are queued on the new session and answered once it is up.
      assert.equal((await s.get('/before'))?.data.toString(), '1');
      assert.notEqual(s.session.sessionId(), oldSession);
    } finally {
      await s.close();
    }
  });

  void test('with the server gone, calls fail as unavailable (retriable) instead of hanging', async () => {
    const other = await startZooKeeper();
    const s = await ZooKeeperStateStore.connect(`${other.connectString}/down`, { opTimeoutMs: 1_500 });
    try {
      await other.kill();
      await assert.rejects(s.get('/x'), (err: unknown) => err instanceof KmfError && err.code === 'unavailable' && err.retriable);
    } finally {
      await s.close();
    }
  });
});
