/**
 * The leader term against the in-memory store and a scripted Mesos driver: the runtime's ordering rules
 * (framework id persisted before the core hears of the subscription, task record written before the
 * ACCEPT that launches it, update acknowledged after the persist that recorded it), fencing, void offers
 * after a disconnection, and ACCEPT failures fed back to the core.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRng } from '../../src/core/rng.js';
import type { Call } from '../../src/mesos/types.js';
import type { AppRecord } from '../../src/runtime/apps.js';
import { LeaderTerm } from '../../src/runtime/leader-term.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { Timeline } from '../../src/runtime/timeline.js';
import { FencedStateStore, type Fence, type Leadership } from '../../src/state/fenced-state-store.js';
import { MemoryStateStore } from '../../src/state/memory-state-store.js';
import type { StateOp, StateOpResult } from '../../src/state/state-store.js';
import { KmfError } from '../../src/util/errors.js';
import { testLogger } from '../../src/util/log.js';
import { FakeDriver, offer, update } from '../helpers/fake-driver.js';

class MutableLeadership implements Leadership {
  current: Fence | undefined = { epoch: 1, checks: [] };
  fence(): Fence | undefined {
    return this.current;
  }
}

interface Setup {
  term: LeaderTerm;
  driver: FakeDriver;
  store: MemoryStateStore;
  log: string[];
  leadership: MutableLeadership;
  failures: Array<{ why: string; err: unknown }>;
}

async function setup(): Promise<Setup> {
  const log: string[] = [];
  const store = new MemoryStateStore();
  const multi = store.multi.bind(store);
  store.multi = async (ops: readonly StateOp[]): Promise<StateOpResult[]> => {
    const r = await multi(ops);
    log.push(`write:${ops.filter((o) => o.op !== 'check').map((o) => `${o.op} ${o.path}`).join(',')}`);
    return r;
  };
  const leadership = new MutableLeadership();
  const driver = new FakeDriver('fw-1', log);
  const failures: Setup['failures'] = [];
  const term = new LeaderTerm({
    store: new FencedStateStore(store, leadership),
    leadership,
    epoch: 1,
    driverFactory: () => driver,
    coreConfig: { role: 'kmf', frameworkName: 'kmf-test', reviveMinIntervalMs: 0 },
    logger: testLogger('leader-term'),
    metrics: new Metrics(),
    timeline: new Timeline(),
    rng: seededRng(7),
    onFailed: (why, err) => failures.push({ why, err }),
    onFatal: (err) => failures.push({ why: 'fatal', err }),
  });
  await term.start();
  return { term, driver, store, log, leadership, failures };
}

const app = (instances: number): AppRecord => ({
  spec: { name: 'web', instances, cpus: 0.5, mem: 64, command: 'sleep 100' },
  removing: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
});

function launchedTaskIds(c: Call): string[] {
  return (c.accept?.operations ?? []).flatMap((o) => (o.type === 'LAUNCH' ? (o.launch?.task_infos ?? []).map((t) => t.task_id.value) : []));
}

describe('leader term', () => {
  test('framework id persisted before the core acts; record written before ACCEPT; ack after persist', async () => {
    const { term, driver, store, log } = await setup();
    driver.subscribe();
    await term.idle();
    const fid = await store.get('/framework-id');
    assert.ok(fid !== undefined);
    assert.equal(JSON.parse(fid.data.toString()).value, 'fw-1');
    const fidWrite = log.findIndex((l) => l.includes('/framework-id'));
    const firstCall = log.findIndex((l) => l.startsWith('call:'));
    assert.ok(fidWrite >= 0 && fidWrite < firstCall, log.join('\n'));

    await term.mutateDesired((d) => d.put(app(1)));
    log.length = 0;
    driver.emit({ type: 'OFFERS', offers: { offers: [offer('agent-1', { cpus: 4, mem: 4096 })] } });
    await term.idle();
    const accept = driver.callsOf('ACCEPT').at(-1);
    assert.ok(accept !== undefined, 'an ACCEPT was sent');
    const [taskId] = launchedTaskIds(accept);
    assert.ok(taskId !== undefined);
    const recordWrite = log.findIndex((l) => l.startsWith('write:') && l.includes(`/state/tasks/${taskId}`));
    const acceptCall = log.indexOf('call:ACCEPT');
    assert.ok(recordWrite >= 0 && recordWrite < acceptCall, `record before ACCEPT:\n${log.join('\n')}`);
    assert.equal(JSON.parse((await store.get(`/state/tasks/${taskId}`))!.data.toString()).state, 'TASK_STAGING');

    log.length = 0;
    driver.emit(update(taskId, 'agent-1', 'TASK_RUNNING'));
    await term.idle();
    const stateWrite = log.findIndex((l) => l.startsWith('write:') && l.includes(`/state/tasks/${taskId}`));
    const ack = log.indexOf('call:ACKNOWLEDGE');
    assert.ok(stateWrite >= 0 && ack > stateWrite, `persist before ACKNOWLEDGE:\n${log.join('\n')}`);
    assert.equal(JSON.parse((await store.get(`/state/tasks/${taskId}`))!.data.toString()).state, 'TASK_RUNNING');
    assert.equal(term.units().find((u) => u.name === 'app-web/0')?.state, 'running');
    await term.stop('test');
    assert.equal(driver.stopped, true);
  });

  test('a relaunch batched with a burst: its ACCEPT follows the transaction with its records, not the whole burst', async () => {
    const { term, driver, store, log } = await setup();
    driver.subscribe();
    await term.idle();
    // Enough instances that one batch failing all but one of them is written as two transactions (1,000 ops each).
    const n = 520;
    await term.mutateDesired((d) => d.put(app(n)));
    driver.emit({ type: 'OFFERS', offers: { offers: Array.from({ length: 6 }, (_, i) => offer(`agent-${i}`, { cpus: 50, mem: 10_000 })) } });
    await term.idle();
    const running = driver.callsOf('ACCEPT').flatMap((c) => (c.accept?.operations ?? []).flatMap((o) => o.launch?.task_infos ?? []));
    assert.equal(running.length, n);
    for (const t of running) driver.emit(update(t.task_id.value, t.agent_id.value, 'TASK_RUNNING'));
    await term.idle();

    log.length = 0;
    try {
      const present: Array<Promise<boolean>> = [];
      driver.callListeners.push((c) => {
        // MemoryStateStore reads at the call: whether the launched records were there when the ACCEPT left.
        for (const id of launchedTaskIds(c)) present.push(store.get(`/state/tasks/${id}`).then((r) => r !== undefined));
      });
      for (const t of running.slice(1)) driver.emit(update(t.task_id.value, t.agent_id.value, 'TASK_FAILED'));
      driver.emit({ type: 'OFFERS', offers: { offers: [offer('agent-9', { cpus: 0.5, mem: 64 })] } });
      await term.idle();
      const writes = log.map((l, i) => (l.startsWith('write:') ? i : -1)).filter((i) => i >= 0);
      assert.ok(writes.length >= 2, `the burst took several transactions:\n${writes.length}`);
      const accept = log.indexOf('call:ACCEPT');
      assert.ok(accept > writes[0]! && accept < writes.at(-1)!, 'the ACCEPT went between the first and the last transaction');
      const relaunched = launchedTaskIds(driver.callsOf('ACCEPT').at(-1)!);
      assert.equal(relaunched.length, 1);
      assert.ok(log.slice(writes[0], accept).some((l) => l.includes(`/state/tasks/${relaunched[0]}`)), 'its record was written before it');
      assert.deepEqual(await Promise.all(present), [true]);
      const prefix = `${relaunched[0]!.split('__')[0]!}__`;
      const replaced = running.find((t) => t.task_id.value.startsWith(prefix))!.task_id.value;
      assert.ok(log.slice(writes[0], accept).some((l) => l.includes(`/state/tasks/${replaced}`)), 'the end of the task it replaces was written before it too');
      const acks = log.map((l, i) => (l === 'call:ACKNOWLEDGE' ? i : -1)).filter((i) => i >= 0);
      assert.equal(acks.length, n - 1);
      assert.ok(acks.every((i) => i > writes.at(-1)!), 'every ACKNOWLEDGE after the whole persist');
    } finally {
      await term.stop('test');
    }
  });

  test('a fenced write ends the term and no call of that decision goes out', async () => {
    const { term, driver, leadership, failures } = await setup();
    driver.subscribe();
    await term.idle();
    await term.mutateDesired((d) => d.put(app(1)));
    leadership.current = undefined; // deposed: every write now fails `fenced`
    const before = driver.calls.length;
    driver.emit({ type: 'OFFERS', offers: { offers: [offer('agent-1', { cpus: 4, mem: 4096 })] } });
    await term.idle();
    assert.equal(failures.length, 1);
    assert.ok(failures[0]!.err instanceof KmfError && failures[0]!.err.code === 'fenced');
    assert.equal(driver.calls.length, before, 'no ACCEPT or DECLINE after the failed persist');
    await term.stop('test');
  });

  test('offers received before a disconnection are void', async () => {
    const { term, driver } = await setup();
    driver.subscribe();
    await term.idle();
    await term.mutateDesired((d) => d.put(app(1)));
    const before = driver.calls.length;
    driver.emit({ type: 'OFFERS', offers: { offers: [offer('agent-1', { cpus: 4, mem: 4096 })] } });
    driver.disconnect();
    await term.idle();
    assert.deepEqual(
      driver.calls.slice(before).map((c) => c.call.type),
      [],
      'neither ACCEPT nor DECLINE for offers of a lost subscription',
    );
    await term.stop('test');
  });

  test('an ACCEPT that certainly failed is reported to the core, which relaunches', async () => {
    const { term, driver, store } = await setup();
    driver.subscribe();
    await term.idle();
    await term.mutateDesired((d) => d.put(app(1)));
    driver.failNext(new KmfError('MESOS_BAD_REQUEST', 'refused'));
    driver.emit({ type: 'OFFERS', offers: { offers: [offer('agent-1', { cpus: 4, mem: 4096 })] } });
    await term.idle();
    await new Promise((r) => setImmediate(r));
    await term.idle();
    const first = launchedTaskIds(driver.callsOf('ACCEPT')[0]!)[0]!;
    const rec = await store.get(`/state/tasks/${first}`);
    // The failed launch is recorded as dropped (or already superseded and deleted).
    assert.ok(rec === undefined || JSON.parse(rec.data.toString()).state === 'TASK_DROPPED');
    driver.emit({ type: 'OFFERS', offers: { offers: [offer('agent-1', { cpus: 4, mem: 4096 })] } });
    await term.idle();
    const second = launchedTaskIds(driver.callsOf('ACCEPT')[1]!)[0]!;
    assert.notEqual(second, first);
    assert.match(second, /__g2__/);
    await term.stop('test');
  });

  test('apps deploy independently; declines of one round go out as one DECLINE per filter', async () => {
    const { term, driver } = await setup();
    driver.subscribe();
    await term.idle();
    const huge: AppRecord = { ...app(1), spec: { ...app(1).spec, name: 'huge', cpus: 100 } };
    await term.mutateDesired((d) => d.put(huge));
    await term.mutateDesired((d) => d.put({ ...app(1), createdAt: '2026-01-02T00:00:00.000Z' }));
    const before = driver.calls.length;
    driver.emit({ type: 'OFFERS', offers: { offers: [offer('agent-1', { cpus: 1, mem: 1024 }), offer('agent-2', { cpus: 1, mem: 1024 }), offer('agent-3', { cpus: 1, mem: 1024 })] } });
    await term.idle();
    const calls = driver.calls.slice(before).map((c) => c.call);
    const accepts = calls.filter((c) => c.type === 'ACCEPT');
    assert.equal(accepts.length, 1, 'web launched although huge (deployed first) can never be placed');
    assert.match(launchedTaskIds(accepts[0]!)[0]!, /^app-web\.0__/);
    const declines = calls.filter((c) => c.type === 'DECLINE');
    assert.equal(declines.length, 1);
    assert.equal(declines[0]!.decline?.offer_ids?.length, 2);
    const step = term.plans().find((p) => p.name === 'deploy')?.phases.find((p) => p.name === 'app-huge')?.steps[0];
    assert.equal(step?.status, 'WAITING');
    assert.match(step?.reason ?? '', /cpus: need 100/);
    await term.stop('test');
  });

  test('an app marked removing is deleted once its last unit is gone', async () => {
    const { term, driver, store } = await setup();
    driver.subscribe();
    await term.idle();
    await term.mutateDesired((d) => d.put(app(1)));
    driver.emit({ type: 'OFFERS', offers: { offers: [offer('agent-1', { cpus: 4, mem: 4096 })] } });
    await term.idle();
    const taskId = launchedTaskIds(driver.callsOf('ACCEPT')[0]!)[0]!;
    driver.emit(update(taskId, 'agent-1', 'TASK_RUNNING'));
    await term.idle();
    await term.mutateDesired((d) => d.put({ ...app(1), removing: true }));
    assert.ok(driver.callsOf('KILL').some((c) => c.kill?.task_id.value === taskId));
    assert.ok((await store.get('/desired/apps/web')) !== undefined, 'kept while its instance runs');
    driver.emit(update(taskId, 'agent-1', 'TASK_KILLED'));
    await term.idle();
    assert.equal(await store.get('/desired/apps/web'), undefined);
    assert.equal(term.apps().size, 0);
    assert.deepEqual(await store.list('/state/tasks'), []);
    assert.deepEqual(await store.list('/state/units'), []);
    await term.stop('test');
  });
});
