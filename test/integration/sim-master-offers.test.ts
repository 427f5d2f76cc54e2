/**
 * Offers on the sim master (§H, §I): their shape per framework capability, decline filters, REVIVE and
 * SUPPRESS, RESCIND, the unused part of an ACCEPT, and the RESERVE → CREATE → LAUNCH chain with a
 * persistent volume whose directory outlives the task that wrote it.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster } from '../../src/sim/cluster.js';
import type { FrameworkInfo, Offer, Resource } from '../../src/mesos/types.js';
import { testLogger } from '../../src/util/log.js';
import { DEFAULT_FRAMEWORK, eventually, followTask, launch, TestScheduler } from './sim-master-harness.js';

let cluster: SimCluster;
let current: TestScheduler[] = [];

async function subscribe(info: FrameworkInfo, opts: Parameters<typeof TestScheduler.subscribe>[2] = {}): Promise<TestScheduler> {
  const s = await TestScheduler.subscribe(cluster.masterUrl, info, opts);
  current.push(s);
  await s.next('SUBSCRIBED');
  return s;
}

void before(async () => {
  cluster = await SimCluster.start({
    logger: testLogger('sim-master-offers'),
    port: 0,
    agents: 1,
    allocationIntervalMs: 100,
    resources: 'cpus:4;mem:1024;disk:1000;ports:[31000-31099];cpus(dev):1',
    attributes: 'rack:r1;level:3',
    statusUpdateRetry: { initialMs: 200, maxMs: 1000 },
  });
});

void afterEach(async () => {
  for (const s of current) {
    if (!s.closed) await s.call({ type: 'TEARDOWN' }).catch(() => undefined);
    await s.close();
  }
  current = [];
});

void after(async () => {
  await cluster.stop();
});

const scalar = (rs: readonly Resource[] | undefined, name: string): number =>
  (rs ?? []).filter((r) => r.name === name).reduce((n, r) => n + (r.scalar?.value ?? 0), 0);

void describe('offer shape', () => {
  void test('a plain framework: role "*" gets the unreserved resources, pre-refinement format, no allocation_info', async () => {
    const s = await subscribe(DEFAULT_FRAMEWORK);
    const [offer] = await s.offers();
    assert.ok(offer !== undefined);
    const agentId = cluster.agentIds()[0] ?? '';
    assert.equal(offer.agent_id.value, agentId);
    assert.match(offer.id.value, new RegExp(`^${cluster.master()?.id ?? 'x'}-O\\d+$`));
    assert.equal(offer.allocation_info, undefined);
    assert.equal(offer.hostname, cluster.agentSummaries()[0]?.hostname);
    assert.deepEqual(offer.url?.path, '/slave(1)');
    assert.deepEqual(offer.attributes, [
      { name: 'rack', type: 'TEXT', text: { value: 'r1' } },
      { name: 'level', type: 'SCALAR', scalar: { value: 3 } },
    ]);
    for (const r of offer.resources ?? []) {
      assert.equal(r.role, '*');
      assert.equal(r.allocation_info, undefined);
      assert.equal(r.reservations, undefined);
    }
    assert.equal(scalar(offer.resources, 'cpus'), 4, 'the cpus reserved to dev are not offered to *');
    assert.deepEqual(offer.resources?.find((r) => r.name === 'ports')?.ranges, { range: [{ begin: 31000, end: 31099 }] });
  });

  void test('MULTI_ROLE + RESERVATION_REFINEMENT: allocation_info everywhere, reservations[] and no role field', async () => {
    const s = await subscribe({
      ...DEFAULT_FRAMEWORK,
      roles: ['dev'],
      capabilities: [{ type: 'MULTI_ROLE' }, { type: 'RESERVATION_REFINEMENT' }],
    });
    const [offer] = await s.offers();
    assert.ok(offer !== undefined);
    assert.deepEqual(offer.allocation_info, { role: 'dev' });
    for (const r of offer.resources ?? []) {
      assert.deepEqual(r.allocation_info, { role: 'dev' });
      assert.equal(r.role, undefined);
    }
    const reserved = (offer.resources ?? []).find((r) => r.reservations !== undefined);
    assert.deepEqual(reserved, { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, allocation_info: { role: 'dev' }, reservations: [{ type: 'STATIC', role: 'dev' }] });
    assert.equal(scalar(offer.resources, 'cpus'), 5);
  });
});

void describe('declining, filters, REVIVE and SUPPRESS', () => {
  async function noOfferFor(s: TestScheduler, ms: number): Promise<boolean> {
    s.drain();
    await new Promise((r) => setTimeout(r, ms));
    return s.peek('OFFERS').length === 0;
  }

  void test('a DECLINE filter holds back the agent until REVIVE; refuse_seconds 0 re-offers at once', async () => {
    const s = await subscribe(DEFAULT_FRAMEWORK);
    let [offer] = await s.offers();
    assert.ok(offer !== undefined);
    assert.equal((await s.call({ type: 'DECLINE', decline: { offer_ids: [offer.id], filters: { refuse_seconds: 3600 } } })).status, 202);
    assert.ok(await noOfferFor(s, 600), 'filtered');
    assert.equal((await s.call({ type: 'REVIVE' })).status, 202);
    [offer] = await s.offers();
    assert.ok(offer !== undefined);
    await s.call({ type: 'DECLINE', decline: { offer_ids: [offer.id], filters: { refuse_seconds: 0 } } });
    [offer] = await s.offers();
    assert.ok(offer !== undefined, 'offered again on the next cycle');
  });

  void test('SUPPRESS stops offers; REVIVE with an invalid role is dropped; REVIVE brings them back', async () => {
    const s = await subscribe({ ...DEFAULT_FRAMEWORK, roles: ['dev', 'ops'], capabilities: [{ type: 'MULTI_ROLE' }] });
    await s.offers();
    await s.call({ type: 'SUPPRESS' });
    // Offers already made stay valid; decline them without a filter so only suppression holds new ones back.
    for (;;) {
      const pending = s.peek('OFFERS');
      if (pending.length === 0) break;
      const e = await s.next('OFFERS');
      for (const o of e.offers.offers ?? []) await s.call({ type: 'DECLINE', decline: { offer_ids: [o.id], filters: { refuse_seconds: 0 } } });
    }
    for (const id of cluster.master()?.offerRecords().map((o) => o.offer.id) ?? []) {
      await s.call({ type: 'DECLINE', decline: { offer_ids: [id], filters: { refuse_seconds: 0 } } });
    }
    assert.ok(await noOfferFor(s, 600), 'suppressed');
    assert.equal((await s.call({ type: 'REVIVE', revive: { roles: ['dev', 'nope'] } })).status, 202);
    assert.ok(await noOfferFor(s, 600), 'a REVIVE naming a role the framework lacks is dropped entirely');
    await s.call({ type: 'REVIVE', revive: { roles: ['ops'] } });
    const [offer] = await s.offers();
    assert.deepEqual(offer?.allocation_info, { role: 'ops' });
    assert.equal(scalar(offer?.resources, 'cpus'), 4, 'ops does not get the cpus reserved to dev');
  });

  void test('the unused part of an ACCEPT is declined with accept.filters', async () => {
    const s = await subscribe(DEFAULT_FRAMEWORK);
    const [offer] = await s.offers();
    assert.ok(offer !== undefined);
    await launch(s, offer, [{ id: 'short', command: 'sleep 5', cpus: 1, mem: 64 }], { refuse_seconds: 0 });
    const [rest] = await s.offers();
    assert.equal(scalar(rest?.resources, 'cpus'), 3);
    assert.equal(scalar(rest?.resources, 'mem'), 1024 - 64);
    await s.call({ type: 'KILL', kill: { task_id: { value: 'short' } } });
    await followTask(s, 'short', 'TASK_KILLED');
  });
});

void describe('rescinding offers', () => {
  void test('removing an agent rescinds its offers and sends FAILURE', async () => {
    const extra = await cluster.addAgent({ resources: 'cpus:1;mem:64' });
    const s = await subscribe(DEFAULT_FRAMEWORK);
    let offer: Offer | undefined;
    await eventually(async () => {
      const offers = await s.offers();
      offer = offers.find((o) => o.agent_id.value === extra);
      return offer !== undefined;
    }, 10_000, 'an offer from the new agent');
    await cluster.removeAgent(extra);
    const rescind = await s.next('RESCIND', (e) => e.rescind.offer_id.value === offer?.id.value);
    assert.ok(rescind);
    const failure = await s.next('FAILURE');
    assert.deepEqual(failure.failure, { agent_id: { value: extra } });
  });

  void test('--offer-timeout rescinds offers that are held too long', async () => {
    const timed = await SimCluster.start({ logger: testLogger('sim-offer-timeout'), port: 0, agents: 1, allocationIntervalMs: 100, offerTimeoutMs: 300 });
    const s = await TestScheduler.subscribe(timed.masterUrl, DEFAULT_FRAMEWORK);
    try {
      const [offer] = await s.offers();
      const rescind = await s.next('RESCIND');
      assert.equal(rescind.rescind.offer_id.value, offer?.id.value);
    } finally {
      await s.close();
      await timed.stop();
    }
  });
});

void describe('reservations and persistent volumes', () => {
  const info: FrameworkInfo = {
    ...DEFAULT_FRAMEWORK,
    roles: ['dev'],
    principal: 'kmf',
    checkpoint: true,
    capabilities: [{ type: 'MULTI_ROLE' }, { type: 'RESERVATION_REFINEMENT' }, { type: 'PARTITION_AWARE' }],
  };
  const reservation = [{ type: 'DYNAMIC' as const, role: 'dev', principal: 'kmf' }];
  const reserved = (name: string, value: number): Resource => ({ name, type: 'SCALAR', scalar: { value }, reservations: reservation });
  const volume: Resource = {
    name: 'disk',
    type: 'SCALAR',
    scalar: { value: 100 },
    reservations: reservation,
    disk: { persistence: { id: 'data-1', principal: 'kmf' }, volume: { container_path: 'data', mode: 'RW' } },
  };

  void test('RESERVE → CREATE → LAUNCH in one ACCEPT; the volume survives the task and comes back in offers', async () => {
    const s = await subscribe(info);
    const [offer] = await s.offers();
    assert.ok(offer !== undefined);
    const task = (id: string, command: string): object => ({
      name: id,
      task_id: { value: id },
      agent_id: offer.agent_id,
      resources: [reserved('cpus', 0.5), reserved('mem', 64), volume],
      command: { value: command },
    });
    const res = await s.call({
      type: 'ACCEPT',
      accept: {
        offer_ids: [offer.id],
        operations: [
          { type: 'RESERVE', reserve: { resources: [reserved('cpus', 0.5), reserved('mem', 64), reserved('disk', 100)] } },
          { type: 'CREATE', create: { volumes: [volume] } },
          { type: 'LAUNCH', launch: { task_infos: [task('writer', 'echo hello > data/greeting') as never] } },
        ],
        filters: { refuse_seconds: 0 },
      },
    });
    assert.equal(res.status, 202);
    const states = (await followTask(s, 'writer', 'TASK_FINISHED')).map((u) => u.state);
    assert.deepEqual(states, ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);

    // The reservation and the volume are offered again (reserved resources return without a filter).
    let again: Offer | undefined;
    await eventually(async () => {
      const offers = await s.offers();
      again = offers.find((o) => (o.resources ?? []).some((r) => r.disk?.persistence?.id === 'data-1'));
      return again !== undefined;
    }, 10_000, 'the volume in an offer');
    const offered = (again?.resources ?? []).find((r) => r.disk?.persistence?.id === 'data-1');
    assert.deepEqual(offered, { ...volume, allocation_info: { role: 'dev' } });

    // A second task on the same volume sees what the first one wrote.
    assert.ok(again !== undefined);
    const reader = { ...(task('reader', 'grep -q hello data/greeting') as Record<string, unknown>), agent_id: again.agent_id };
    await s.call({ type: 'ACCEPT', accept: { offer_ids: [again.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [reader as never] } }], filters: { refuse_seconds: 0 } } });
    const last = (await followTask(s, 'reader', 'terminal')).pop();
    assert.equal(last?.state, 'TASK_FINISHED', last?.message);

    // DESTROY then UNRESERVE gives the resources back to "*".
    let third: Offer | undefined;
    await eventually(async () => {
      const offers = await s.offers();
      third = offers.find((o) => (o.resources ?? []).some((r) => r.disk?.persistence?.id === 'data-1'));
      return third !== undefined;
    }, 10_000, 'the volume offered once more');
    assert.ok(third !== undefined);
    await s.call({
      type: 'ACCEPT',
      accept: {
        offer_ids: [third.id],
        operations: [
          { type: 'DESTROY', destroy: { volumes: [volume] } },
          { type: 'UNRESERVE', unreserve: { resources: [reserved('cpus', 0.5), reserved('mem', 64), reserved('disk', 100)] } },
        ],
        filters: { refuse_seconds: 0 },
      },
    });
    await eventually(() => {
      const agent = cluster.master()?.agentRecords()[0];
      return agent !== undefined && !agent.total.some((r) => r.reservations?.some((x) => x.type === 'DYNAMIC') === true);
    }, 10_000, 'reservations released');
  });

  void test('an invalid operation with an id gets OPERATION_ERROR; one that works gets OPERATION_FINISHED', async () => {
    const s = await subscribe(info);
    const [offer] = await s.offers();
    assert.ok(offer !== undefined);
    await s.call({
      type: 'ACCEPT',
      accept: {
        offer_ids: [offer.id],
        operations: [
          { type: 'UNRESERVE', id: { value: 'op-bad' }, unreserve: { resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }] } },
          { type: 'RESERVE', id: { value: 'op-ok' }, reserve: { resources: [reserved('cpus', 1)] } },
        ],
        filters: { refuse_seconds: 0 },
      },
    });
    const bad = await s.next('UPDATE_OPERATION_STATUS', (e) => e.update_operation_status.status.operation_id?.value === 'op-bad');
    assert.equal(bad.update_operation_status.status.state, 'OPERATION_ERROR');
    assert.match(bad.update_operation_status.status.message ?? '', /is not dynamically reserved; on agent /);
    const ok = await s.next('UPDATE_OPERATION_STATUS', (e) => e.update_operation_status.status.operation_id?.value === 'op-ok');
    assert.equal(ok.update_operation_status.status.state, 'OPERATION_FINISHED');
    // Give the reservation back so the agent is clean for other tests.
    let next: Offer | undefined;
    await eventually(async () => {
      next = (await s.offers()).find((o) => (o.resources ?? []).some((r) => r.reservations?.[0]?.type === 'DYNAMIC'));
      return next !== undefined;
    }, 10_000, 'the reservation offered');
    assert.ok(next !== undefined);
    await s.call({ type: 'ACCEPT', accept: { offer_ids: [next.id], operations: [{ type: 'UNRESERVE', unreserve: { resources: [reserved('cpus', 1)] } }] } });
  });
});
