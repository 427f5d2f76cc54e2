import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KmfError } from '../../src/util/errors.js';
import { FencedStateStore, type Fence } from '../../src/state/fenced-state-store.js';
import { EPOCH_PATH, LeaderElection, type ElectionEvent } from '../../src/state/leader-election.js';
import { parseJsonData } from '../../src/state/state-store.js';
import { ZooKeeperStateStore } from '../../src/state/zookeeper-state-store.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { expireSession } from '../helpers/zk-sessions.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

const WAIT_MS = 20_000;

let zk: ZooKeeperServer;
let chrootCounter = 0;
const open: Contender[] = [];
const proxies: TcpProxy[] = [];

before(async () => {
  zk = await startZooKeeper();
});
after(async () => {
  for (const c of open) await c.close();
  for (const p of proxies) await p.close();
  await zk.stop();
});

interface Contender {
  readonly name: string;
  readonly store: ZooKeeperStateStore;
  readonly election: LeaderElection;
  readonly fenced: FencedStateStore;
  /** Resolves with the next event of this type not consumed yet (including ones already emitted). */
  next<T extends ElectionEvent['type']>(type: T): Promise<Extract<ElectionEvent, { type: T }>>;
  events(): ElectionEvent[];
  close(): Promise<void>;
}

async function contender(name: string, chroot: string, opts: { port?: number; sessionTimeoutMs?: number } = {}): Promise<Contender> {
  const store = await ZooKeeperStateStore.connect(`127.0.0.1:${opts.port ?? zk.port}${chroot}`, {
    sessionTimeoutMs: opts.sessionTimeoutMs ?? 4_000,
    opTimeoutMs: 5_000,
    spinDelayMs: 200,
  });
  const election = new LeaderElection(store.session, { address: `http://${name}.example:8080`, memberId: name });
  const seen: ElectionEvent[] = [];
  const consumed = new Set<ElectionEvent>();
  const waiters: (() => void)[] = [];
  election.on((e) => {
    seen.push(e);
    for (const w of waiters.splice(0)) w();
  });
  let closed = false;
  const c: Contender = {
    name,
    store,
    election,
    fenced: new FencedStateStore(store, election),
    events: () => [...seen],
    next: <T extends ElectionEvent['type']>(type: T) =>
      new Promise<Extract<ElectionEvent, { type: T }>>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name}: no '${type}' event within ${WAIT_MS} ms (saw ${seen.map((e) => e.type).join(', ')})`)),
          WAIT_MS,
        );
        const look = (): void => {
          const e = seen.find((x) => x.type === type && !consumed.has(x));
          if (e !== undefined) {
            consumed.add(e);
            clearTimeout(timer);
            resolve(e as Extract<ElectionEvent, { type: T }>);
          } else {
            waiters.push(look);
          }
        };
        look();
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      await election.close();
      await store.close();
    },
  };
  open.push(c);
  await election.start();
  return c;
}

function freshChroot(): string {
  return `/election-${chrootCounter++}`;
}

const isFenced = (err: unknown): boolean => err instanceof KmfError && err.code === 'fenced';

async function epochOf(store: ZooKeeperStateStore): Promise<number> {
  const v = await store.get(EPOCH_PATH);
  assert.ok(v !== undefined);
  return (parseJsonData(v.data) as { epoch: number }).epoch;
}

void describe('LeaderElection (real ZooKeeper)', () => {
  void test('two contenders: exactly one leads, the other follows and can name the leader', async () => {
    const root = freshChroot();
    const a = await contender('a', root);
    const elected = await a.next('elected');
    assert.equal(elected.epoch, 1);
    const b = await contender('b', root);
    const following = await b.next('following');
    assert.equal(following.predecessor, a.election.memberZnode());

    assert.equal(a.election.isLeader(), true);
    assert.equal(b.election.isLeader(), false);
    assert.ok(!b.events().some((e) => e.type === 'elected'));
    const leader = await b.election.currentLeader();
    assert.equal(leader?.memberId, 'a');
    assert.equal(leader?.address, 'http://a.example:8080');

    await a.fenced.put('/framework-id', Buffer.from('fw-1'), 'any');
    await assert.rejects(b.fenced.put('/framework-id', Buffer.from('fw-2'), 'any'), isFenced);
    assert.equal((await b.store.get('/framework-id'))?.data.toString(), 'fw-1');
    await a.close();
    await b.close();
  });

  void test('when the leader leaves, the follower is elected with the next epoch', async () => {
    const root = freshChroot();
    const a = await contender('a', root);
    await a.next('elected');
    const b = await contender('b', root);
    await b.next('following');
    await a.close();
    const elected = await b.next('elected');
    assert.equal(elected.epoch, 2);
    assert.equal(await epochOf(b.store), 2);
    await b.fenced.put('/written-by-b', Buffer.from('ok'), 'absent');
    await b.close();
  });

  void test('each member watches only its predecessor: a middle member leaving changes nothing for the leader', async () => {
    const root = freshChroot();
    const a = await contender('a', root);
    await a.next('elected');
    const b = await contender('b', root);
    await b.next('following');
    const c = await contender('c', root);
    const cFollows = await c.next('following');
    assert.equal(cFollows.predecessor, b.election.memberZnode());

    await b.close();
    const cNow = await c.next('following');
    assert.equal(cNow.predecessor, a.election.memberZnode());
    assert.equal(a.election.isLeader(), true);
    assert.equal(a.events().filter((e) => e.type === 'elected').length, 1);
    assert.equal(c.election.isLeader(), false);

    await a.close();
    assert.equal((await c.next('elected')).epoch, 2);
    await c.close();
  });

  void test('session expiry deposes the leader; the follower takes over; the old leader rejoins as a follower and its writes are fenced', async () => {
    const root = freshChroot();
    const a = await contender('a', root);
    await a.next('elected');
    const staleFence: Fence | undefined = a.election.fence();
    assert.ok(staleFence !== undefined);
    const b = await contender('b', root);
    await b.next('following');

    // Expire a's session from outside (see test/helpers/zk-sessions.ts for how).
    await expireSession(`127.0.0.1:${zk.port}${root}`, a.store.session.rawClient());
    const deposed = await a.next('deposed');
    assert.equal(deposed.reason, 'session_expired');
    assert.equal((await b.next('elected')).epoch, 2);

    // a is back in the election on its new session, behind b.
    const aFollows = await a.next('following');
    assert.equal(aFollows.predecessor, b.election.memberZnode());
    assert.equal(a.election.isLeader(), false);

    // Locally: a knows it is not the leader.
    await assert.rejects(a.fenced.put('/framework-id', Buffer.from('from-a'), 'any'), isFenced);
    // On the server: a write carrying a's old fence (a leader that has not noticed yet) fails as a whole.
    const stale = new FencedStateStore(a.store, { fence: () => staleFence });
    await assert.rejects(
      stale.multi([
        { op: 'create', path: '/tasks', data: Buffer.from('') },
        { op: 'create', path: '/tasks/t1', data: Buffer.from('from-a') },
      ]),
      isFenced,
    );
    assert.equal(await a.store.get('/tasks'), undefined);
    await b.fenced.put('/tasks', Buffer.from('from-b'), 'absent');
    await a.close();
    await b.close();
  });

  void test('a partitioned leader is suspended, then deposed after its session timeout; the other member leads; after healing its session is expired and its old fence is refused', async () => {
    const root = freshChroot();
    const proxy = await startTcpProxy(zk.port);
    proxies.push(proxy);
    // a reaches ZooKeeper only through the proxy, with a short session.
    const a = await contender('a', root, { port: proxy.port, sessionTimeoutMs: 2_000 });
    await a.next('elected');
    const staleFence = a.election.fence();
    assert.ok(staleFence !== undefined);
    const b = await contender('b', root);
    await b.next('following');

    proxy.partition();
    await a.next('suspended');
    // While suspended a is still the leader as far as it knows, but its writes cannot reach ZooKeeper.
    await assert.rejects(a.fenced.put('/x', Buffer.from('1'), 'any'), (err: unknown) => err instanceof KmfError && err.code === 'unavailable');
    // The server expires a's session; b is elected; a gives up on its own after the session timeout.
    assert.equal((await b.next('elected')).epoch, 2);
    assert.equal((await a.next('deposed')).reason, 'session_lost');
    await b.fenced.put('/owner', Buffer.from('b'), 'any');

    proxy.heal();
    // On reconnecting, a learns that its session is gone and joins again behind b.
    await a.next('following');
    assert.equal(a.election.isLeader(), false);
    const stale = new FencedStateStore(a.store, { fence: () => staleFence });
    await assert.rejects(stale.put('/owner', Buffer.from('a'), 'any'), isFenced);
    assert.equal((await b.store.get('/owner'))?.data.toString(), 'b');
    await a.close();
    await b.close();
  });

  void test('deleting the leader’s member znode (a forced failover) deposes it and elects the next member', async () => {
    const root = freshChroot();
    const a = await contender('a', root);
    await a.next('elected');
    const b = await contender('b', root);
    await b.next('following');
    const znode = a.election.memberZnode();
    assert.ok(znode !== undefined);
    await b.store.delete(znode, 'any');
    assert.equal((await a.next('deposed')).reason, 'znode_deleted');
    assert.equal((await b.next('elected')).epoch, 2);
    await a.next('following');
    await a.close();
    await b.close();
  });
});
