/**
 * The broker lifecycle routes against the real scheduler service (in-memory store, real core; a Kafka
 * cluster record written as the first `POST /api/v1/brokers` would, with no Kafka processes): bad input is
 * 400 and changes nothing, unknown ids 404, conflicting operations 409 with the reason and nothing written,
 * read-only tokens 403, and every accepted change is on the timeline with who made it. The paths that need
 * a live Kafka cluster (drain, controllers' quorum, replace) run in test/integration/kafka-broker-ops.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { addBrokers, createClusterSpec } from '../../src/kafka/cluster-model.js';
import { startRemoval } from '../../src/kafka/broker-ops.js';
import type { KafkaClusterSpec } from '../../src/kafka/cluster-model.js';
import { ADMIN, ALICE, apiFixture, READER, type ApiFixture } from '../helpers/api-fixture.js';

type Json = Record<string, unknown>;

let f: ApiFixture;

async function call(method: string, url: string, payload?: unknown, token = ALICE): Promise<{ status: number; body: Json }> {
  const r = await f.app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(payload === undefined ? {} : { payload: payload as Json }),
  });
  return { status: r.statusCode, body: r.body === '' ? {} : r.json<Json>() };
}

function error(r: { status: number; body: Json }, status: number, code: string, message?: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body['error'], code, JSON.stringify(r.body));
  if (message !== undefined) assert.match(String(r.body['message']), message);
}

async function putSpec(spec: KafkaClusterSpec): Promise<void> {
  await f.term().mutateDesired(async (store) => {
    const now = new Date().toISOString();
    await store.putKafka({ spec, quorumFormed: true, createdAt: now, updatedAt: now });
  });
}

function spec(): KafkaClusterSpec {
  return f.term().kafka()!.spec;
}

function operatorEvents(): Array<{ who?: string; message: string; unit?: string }> {
  return f.timeline.page({ kinds: ['operator'], limit: 1000 }).entries;
}

before(async () => {
  f = await apiFixture();
});

after(async () => {
  await f?.close();
});

beforeEach(async () => {
  // 3 combined nodes (0, 1, 2) and broker 3.
  await putSpec(addBrokers(createClusterSpec({ version: '4.4.0', brokers: 3 }), 1).spec);
});

describe('broker lifecycle routes', () => {
  test('without a cluster: 404 naming how to create one', async () => {
    const s = await apiFixture();
    try {
      const r = await s.app.inject({ method: 'POST', url: '/api/v1/brokers/0/stop', headers: { authorization: `Bearer ${ADMIN}` } });
      assert.equal(r.statusCode, 404);
      assert.match(r.json<{ message: string }>().message, /POST \/api\/v1\/brokers/);
    } finally {
      await s.close();
    }
  });

  test('PATCH: bad input is 400 with every issue, and nothing is written', async () => {
    const before = await f.snapshot();
    const cases: Array<[unknown, RegExp]> = [
      [{}, /nothing to change/],
      [{ force: true }, /nothing to change/],
      [{ cpus: 1, force: 'yes' }, /force must be true or false/],
      [{ cpus: -1 }, /cpus must be > 0/],
      [{ mem: 'lots' }, /mem must be a number/],
      [{ options: { 'num.io.threads': 8 } }, /options\.num\.io\.threads must be a string/],
      [{ removeOptions: ['bad key'] }, /must be a server\.properties key/],
      [{ cpu: 1 }, /unknown field "cpu" \(did you mean "cpus"\?\)/],
      [{ heap: 4096 }, /heapMb \(4096\) must leave at least 256 MB/],
      [{ options: { 'node.id': '7' } }, /node\.id cannot be overridden/],
      [{ removeOptions: ['not.set'] }, /broker 3 has no override not\.set to remove/],
    ];
    for (const [body, re] of cases) {
      const r = await call('PATCH', '/api/v1/brokers/3', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.match(String(r.body['message']), re, JSON.stringify(body));
    }
    error(await call('PATCH', '/api/v1/brokers/3?force=perhaps', { cpus: 1 }), 400, 'invalid_request');
    assert.equal(await f.snapshot(), before);
  });

  test('unknown and malformed ids are 404 on every broker verb, changing nothing', async () => {
    const before = await f.snapshot();
    for (const [method, path, body] of [
      ['GET', '/api/v1/brokers/77', undefined],
      ['PATCH', '/api/v1/brokers/77', { cpus: 1 }],
      ['POST', '/api/v1/brokers/77/stop', undefined],
      ['POST', '/api/v1/brokers/77/start', undefined],
      ['POST', '/api/v1/brokers/77/restart', undefined],
      ['POST', '/api/v1/brokers/77/replace', undefined],
      ['DELETE', '/api/v1/brokers/77', undefined],
    ] as const) {
      error(await call(method, path, body), 404, 'not_found', /broker 77/);
      error(await call(method, path.replace('77', 'x'), body), 404, 'not_found');
    }
    assert.equal(await f.snapshot(), before);
  });

  test('PATCH sets and removes overrides and resources, answers the broker, and records who did it', async () => {
    const r = await call('PATCH', '/api/v1/brokers/3', { mem: 3072, heap: 1536, options: { 'num.io.threads': '16', 'log.retention.hours': '24' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const b = r.body['broker'] as { id: number; overrides: Json; resources: Json };
    assert.equal(r.body['changed'], true);
    assert.equal(b.id, 3);
    assert.deepEqual(b.overrides, { 'num.io.threads': '16', 'log.retention.hours': '24' });
    assert.equal(b.resources['memMb'], 3072);
    assert.equal(b.resources['heapMb'], 1536);
    const ev = operatorEvents().at(-1);
    assert.equal(ev?.who, 'alice');
    assert.match(ev?.message ?? '', /^updated broker 3: mem=3072, heap=1536, num\.io\.threads=16, log\.retention\.hours=24$/);
    assert.equal(ev?.unit, 'kafka/broker-3');

    const removed = await call('PATCH', '/api/v1/brokers/3', { removeOptions: ['num.io.threads'] });
    assert.deepEqual((removed.body['broker'] as { overrides: Json }).overrides, { 'log.retention.hours': '24' });
    assert.deepEqual(spec().brokers.nodes.find((n) => n.nodeId === 3)?.overrides, { 'log.retention.hours': '24' });

    // The same again changes nothing: no write, no timeline entry.
    const before = await f.snapshot();
    const events = operatorEvents().length;
    const same = await call('PATCH', '/api/v1/brokers/3', { options: { 'log.retention.hours': '24' } });
    assert.equal(same.status, 200);
    assert.equal(same.body['changed'], false);
    assert.equal(await f.snapshot(), before);
    assert.equal(operatorEvents().length, events);
  });

  test('stop and start: goal changes, timeline entries; a combined node that would break the quorum majority is 409', async () => {
    const stop = await call('POST', '/api/v1/brokers/0/stop');
    assert.equal(stop.status, 202, JSON.stringify(stop.body));
    assert.equal((stop.body['broker'] as { goal: string }).goal, 'stopped');
    assert.match(operatorEvents().at(-1)?.message ?? '', /^stopped broker 0$/);
    const before = await f.snapshot();
    error(await call('POST', '/api/v1/brokers/1/stop'), 409, 'conflict', /also a KRaft controller .* only 1 of 3 controllers would run/);
    error(await call('POST', '/api/v1/brokers/0/restart'), 409, 'conflict', /stopped: start it first/);
    error(await call('POST', '/api/v1/brokers/0/replace'), 409, 'conflict', /stopped/);
    assert.equal(await f.snapshot(), before);
    const start = await call('POST', '/api/v1/brokers/0/start');
    assert.equal(start.status, 202);
    assert.equal((start.body['broker'] as { goal: string }).goal, 'running');
    assert.match(operatorEvents().at(-1)?.message ?? '', /^started broker 0$/);
  });

  test('stopping a broker the roll gate holds is 409 with the reason, unless forced', async () => {
    f.term().setKafkaStopHolds({ 'kafka/broker-3': 'stopping broker 3 would leave orders-0 with 1 in-sync replica (min.insync.replicas=2)' });
    const before = await f.snapshot();
    error(await call('POST', '/api/v1/brokers/3/stop'), 409, 'conflict', /stopping broker 3 now is not safe: stopping broker 3 would leave orders-0 with 1 in-sync replica/);
    assert.equal(await f.snapshot(), before, 'refused: nothing written');
    const forced = await call('POST', '/api/v1/brokers/3/stop?force=true');
    assert.equal(forced.status, 202, JSON.stringify(forced.body));
    assert.equal((forced.body['broker'] as { goal: string }).goal, 'stopped');
    f.term().setKafkaStopHolds({});
  });

  test('restart one broker bumps its counter; a rolling restart bumps the cluster counter', async () => {
    const one = await call('POST', '/api/v1/brokers/2/restart');
    assert.equal(one.status, 202, JSON.stringify(one.body));
    assert.equal(spec().brokers.nodes.find((n) => n.nodeId === 2)?.restartGeneration, 1);
    assert.match(operatorEvents().at(-1)?.message ?? '', /^restarted broker 2$/);
    const before = await f.snapshot();
    error(await call('POST', '/api/v1/brokers/restart', { rolling: false }), 400, 'invalid_request', /rolling must be true/);
    error(await call('POST', '/api/v1/brokers/restart'), 400, 'invalid_request');
    error(await call('POST', '/api/v1/brokers/restart', { rolling: true, force: 1 }), 400, 'invalid_request', /force must be true or false/);
    assert.equal(await f.snapshot(), before);
    const all = await call('POST', '/api/v1/brokers/restart', { rolling: true });
    assert.equal(all.status, 202, JSON.stringify(all.body));
    assert.equal((all.body['brokers'] as unknown[]).length, 4);
    assert.equal(spec().restartGeneration, 1);
    assert.match(operatorEvents().at(-1)?.message ?? '', /^rolling restart of the Kafka cluster \(4 broker\(s\)\)$/);
    const forced = await call('POST', '/api/v1/brokers/restart', { rolling: true, force: true });
    assert.equal(forced.status, 202);
    assert.equal(spec().restartGeneration, 2);
    assert.match(operatorEvents().at(-1)?.message ?? '', /\(forced\)$/);
  });

  test('remove: a combined node is 409 with the reason; a broker being removed refuses the other verbs', async () => {
    const before = await f.snapshot();
    error(await call('DELETE', '/api/v1/brokers/1'), 409, 'conflict', /also a KRaft controller \(combined mode\)/);
    assert.equal(await f.snapshot(), before);

    // Broker 3 draining, as DELETE leaves it once Kafka agreed (the drain itself needs Kafka: integration test).
    await putSpec(startRemoval(spec(), 3).spec);
    const shown = await call('GET', '/api/v1/brokers/3');
    assert.equal(shown.body['state'], 'draining');
    assert.ok(shown.body['removal'] !== undefined);
    const during = await f.snapshot();
    for (const [method, path, body] of [
      ['PATCH', '/api/v1/brokers/3', { cpus: 2 }],
      ['POST', '/api/v1/brokers/3/stop', undefined],
      ['POST', '/api/v1/brokers/3/start', undefined],
      ['POST', '/api/v1/brokers/3/restart', undefined],
      ['POST', '/api/v1/brokers/3/replace', undefined],
      ['POST', '/api/v1/brokers/restart', { rolling: true }],
    ] as const) {
      error(await call(method, path, body), 409, 'conflict', /being removed/);
    }
    // Asking again is fine (202, nothing new written).
    const again = await call('DELETE', '/api/v1/brokers/3');
    assert.equal(again.status, 202, JSON.stringify(again.body));
    assert.equal(again.body['changed'], false);
    assert.equal(await f.snapshot(), during);
  });

  test('a read-only token cannot change brokers (403), no token is 401; nothing changes', async () => {
    const before = await f.snapshot();
    for (const [method, path, body] of [
      ['PATCH', '/api/v1/brokers/3', { cpus: 2 }],
      ['POST', '/api/v1/brokers/3/stop', undefined],
      ['POST', '/api/v1/brokers/restart', { rolling: true }],
      ['DELETE', '/api/v1/brokers/3', undefined],
    ] as const) {
      error(await call(method, path, body, READER), 403, 'forbidden');
      const anon = await f.app.inject({ method, url: path, ...(body === undefined ? {} : { payload: body }) });
      assert.equal(anon.statusCode, 401);
    }
    assert.equal(await f.snapshot(), before);
    assert.equal((await call('GET', '/api/v1/controllers', undefined, READER)).status, 200);
  });

  test('controllers: the combined nodes, kind and task state; the quorum is reported unreachable without brokers', async () => {
    const r = await call('GET', '/api/v1/controllers', undefined, READER);
    assert.equal(r.status, 200);
    const cs = r.body['controllers'] as Array<{ id: number; kind: string; voter?: boolean }>;
    assert.deepEqual(cs.map((c) => [c.id, c.kind]), [[0, 'combined'], [1, 'combined'], [2, 'combined']]);
    assert.ok(cs.every((c) => c.voter === undefined), 'voter is unknown when the quorum does not answer');
    assert.deepEqual(r.body['quorum'], { reachable: false, error: 'no broker is running to ask' });
  });
});
