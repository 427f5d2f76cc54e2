import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { KmfError } from '../../src/util/errors.js';
import type { Event, TaskStatus } from '../../src/mesos/types.js';
import { ClientHarness } from '../helpers/scheduler-client-harness.js';
import { chunkings, ScriptedMaster, type Chunking, type ScriptedMasterOptions } from '../helpers/scripted-master.js';

/**
 * The scheduler client against a scripted master on real sockets: real chunked RecordIO streams, real
 * redirects, real connection failures.
 */

async function master(t: TestContext, opts: ScriptedMasterOptions = {}): Promise<ScriptedMaster> {
  const m = await ScriptedMaster.start(opts);
  t.after(() => m.close());
  return m;
}

function harness(t: TestContext, opts: ConstructorParameters<typeof ClientHarness>[0]): ClientHarness {
  const h = new ClientHarness(opts);
  t.after(() => h.stop());
  return h;
}

const FID = 'fw-0000';
const AGENT = { value: '6f1b3c1e-0f4a-4a55-9a2e-2d3c0c9b7a10-S0' };
const UUID_RUNNING = Buffer.from('XyyKHptNTH6Kbw07LhxKWQ==', 'base64');

function offers(n: number): Extract<Event, { type: 'OFFERS' }> {
  return {
    type: 'OFFERS',
    offers: {
      offers: Array.from({ length: n }, (_, i) => ({
        id: { value: `${FID}-O${i}` },
        framework_id: { value: FID },
        agent_id: AGENT,
        hostname: 'a1.example.com',
        resources: [
          { name: 'cpus', type: 'SCALAR' as const, scalar: { value: 4 }, role: '*', allocation_info: { role: 'kafka' } },
          { name: 'ports', type: 'RANGES' as const, ranges: { range: [{ begin: 31000, end: 32000 }] }, role: '*', allocation_info: { role: 'kafka' } },
        ],
        attributes: [{ name: 'rack', type: 'TEXT' as const, text: { value: 'r1 — ünïcödé' } }],
        allocation_info: { role: 'kafka' },
      })),
    },
  };
}

function update(status: Partial<TaskStatus> & Pick<TaskStatus, 'task_id' | 'state'>): Extract<Event, { type: 'UPDATE' }> {
  return { type: 'UPDATE', update: { status } };
}

const agentUpdate = update({
  task_id: { value: 'broker-1' },
  state: 'TASK_RUNNING',
  source: 'SOURCE_EXECUTOR',
  agent_id: AGENT,
  executor_id: { value: 'broker-1' },
  timestamp: 1700000123.456789,
  uuid: UUID_RUNNING,
  message: 'läuft ✓',
});

const reconciliationUpdate = update({
  task_id: { value: 'broker-9' },
  state: 'TASK_UNKNOWN',
  message: 'Reconciliation: Task is unknown',
  source: 'SOURCE_MASTER',
  reason: 'REASON_RECONCILIATION',
  timestamp: 1700000200.25,
});

const isKmf = (code: string) => (e: unknown) => e instanceof KmfError && e.code === code;

void describe('SchedulerClient against a scripted master', () => {
  const chunkingCases: Array<[string, Chunking]> = [
    ['whole writes', chunkings.whole],
    ['one byte per chunk', chunkings.bytewise],
    ['random cuts', chunkings.random(7)],
  ];
  for (const [name, chunking] of chunkingCases) {
    void test(`subscribes, decodes events (${name}), sends calls with the stream id and exact headers`, async (t) => {
      const m = await master(t, { chunking });
      const h = harness(t, { master: m.url }).start();

      const subscribed = await h.change('subscribed');
      assert.equal(subscribed.frameworkId.value, FID);
      assert.equal(subscribed.streamId, m.currentStreamId);
      assert.equal(subscribed.masterUrl, m.url);
      assert.equal(subscribed.heartbeatIntervalSeconds, 15);
      assert.equal(subscribed.resubscribed, false);
      assert.equal(h.client.frameworkId?.value, FID);

      const [sub] = m.callsOfType('SUBSCRIBE');
      assert.ok(sub !== undefined);
      assert.equal(sub.method, 'POST');
      assert.equal(sub.path, '/api/v1/scheduler');
      assert.equal(sub.headers['content-type'], 'application/json');
      assert.equal(sub.headers['accept'], 'application/json');
      assert.equal(sub.headers['mesos-stream-id'], undefined);
      assert.equal(sub.call?.framework_id, undefined);
      assert.equal(sub.call?.subscribe?.framework_info.id, undefined);
      assert.equal(sub.call?.subscribe?.framework_info.user, 'kmf');
      assert.equal(sub.call?.subscribe?.framework_info.name, 'kmf-test');

      // Several records in one write, then cut by the chunking: records span chunks, chunks span records.
      const stream = m.streams[0]!;
      stream.sendAll([offers(3), agentUpdate, reconciliationUpdate, { type: 'HEARTBEAT' }]);
      await h.until('4 more events', () => (h.events.length >= 6 ? true : undefined));
      assert.deepEqual(
        h.events.map((e) => e.type),
        ['SUBSCRIBED', 'HEARTBEAT', 'OFFERS', 'UPDATE', 'UPDATE', 'HEARTBEAT'],
      );
      const got = h.events[2];
      assert.ok(got?.type === 'OFFERS');
      assert.equal(got.offers.offers?.length, 3);
      assert.equal(got.offers.offers?.[1]?.id.value, `${FID}-O1`);
      assert.equal(got.offers.offers?.[0]?.attributes?.[0]?.text?.value, 'r1 — ünïcödé');
      const upd = h.events[3];
      assert.ok(upd?.type === 'UPDATE');
      assert.equal(upd.update.status.message, 'läuft ✓');
      assert.deepEqual(upd.update.status.uuid, UUID_RUNNING);

      await h.client.decline([{ value: `${FID}-O0` }], { refuse_seconds: 60 });
      const [decline] = m.callsOfType('DECLINE');
      assert.ok(decline !== undefined);
      assert.equal(decline.headers['content-type'], 'application/json');
      assert.equal(decline.headers['mesos-stream-id'], subscribed.streamId);
      assert.equal(decline.call?.framework_id?.value, FID);
      assert.deepEqual(decline.call?.decline, { offer_ids: [{ value: `${FID}-O0` }], filters: { refuse_seconds: 60 } });
      // The calls connection is not the subscription's (item 11): the stream is still alive and well.
      assert.notEqual(decline.remotePort, sub.remotePort);
      assert.equal(stream.open, true);
      assert.equal(h.client.state, 'subscribed');
    });
  }

  void test('protobuf calls and events; JSON calls with protobuf events', async (t) => {
    for (const [callCt, eventCt] of [
      ['application/x-protobuf', 'application/x-protobuf'],
      ['application/json', 'application/x-protobuf'],
    ] as const) {
      const m = await master(t, { chunking: chunkings.random(3) });
      const h = harness(t, { master: m.url, callContentType: callCt, eventContentType: eventCt }).start();
      await h.change('subscribed');
      const [sub] = m.callsOfType('SUBSCRIBE');
      assert.equal(sub?.headers['content-type'], callCt);
      assert.equal(sub?.headers['accept'], eventCt);
      assert.equal(m.streams[0]?.contentType, 'application/x-protobuf');
      m.streams[0].sendAll([agentUpdate, offers(1)]);
      const got = await h.event('OFFERS');
      assert.equal(got.offers.offers?.[0]?.hostname, 'a1.example.com');
      const u = await h.event('UPDATE');
      assert.deepEqual(u.update.status.uuid, UUID_RUNNING);
      assert.equal(u.update.status.message, 'läuft ✓');
      await h.client.revive(['kafka']);
      const [revive] = m.callsOfType('REVIVE');
      assert.equal(revive?.headers['content-type'], callCt);
      assert.deepEqual(revive?.call?.revive, { roles: ['kafka'] });
    }
  });

  void test('307 to another master (protocol-relative Location) is followed by hand, then calls go there', async (t) => {
    const m1 = await master(t);
    const m2 = await master(t);
    m1.next('SUBSCRIBE', (_req, reply) => reply.redirect(`//${m2.hostPort}/api/v1/scheduler`));
    const h = harness(t, { master: m1.url }).start();

    const subscribed = await h.change('subscribed');
    assert.equal(subscribed.masterUrl, m2.url);
    const steps = h.changes.map((c) => (c.type === 'disconnected' ? `disconnected:${c.error.code}:${c.retryInMs}` : c.type === 'subscribing' ? `subscribing:${c.masterUrl}` : c.type));
    assert.deepEqual(steps, [`subscribing:${m1.url}`, 'disconnected:MESOS_REDIRECT:0', `subscribing:${m2.url}`, 'subscribed']);
    assert.equal(m1.callsOfType('SUBSCRIBE').length, 1);
    assert.equal(m2.callsOfType('SUBSCRIBE')[0]?.headers['mesos-stream-id'], undefined);

    await h.client.suppress();
    assert.equal(m2.callsOfType('SUPPRESS').length, 1);
    assert.equal(m1.callsOfType('SUPPRESS').length, 0);

    // A 307 on a call: not followed either; the client re-subscribes at the new leader with its framework id.
    m2.next('KILL', (_req, reply) => reply.redirect(`//${m1.hostPort}/api/v1/scheduler`));
    const mark = h.changes.length;
    await assert.rejects(h.client.kill({ value: 'broker-1' }, AGENT), isKmf('MESOS_REDIRECT'));
    const again = await h.change('subscribed', mark);
    assert.equal(again.masterUrl, m1.url);
    assert.equal(again.resubscribed, true);
    assert.equal(m1.callsOfType('KILL').length, 0);
    const resub = m1.callsOfType('SUBSCRIBE')[1];
    assert.equal(resub?.call?.framework_id?.value, FID);
    assert.equal(resub?.call?.subscribe?.framework_info.id?.value, FID);
    assert.equal(resub?.headers['mesos-stream-id'], undefined);
    // Suppression survives the re-subscription.
    assert.deepEqual(resub?.call?.subscribe?.suppressed_roles, ['kafka']);
  });

  void test('503 then success, with capped jittered backoff between attempts', async (t) => {
    const m = await master(t);
    m.next('SUBSCRIBE', (_req, reply) => reply.status(503, 'No leader elected'));
    m.next('SUBSCRIBE', (_req, reply) => reply.status(503, 'Master has not finished recovery'));
    m.next('SUBSCRIBE', (_req, reply) => reply.status(404, ''));
    const h = harness(t, { master: m.url, backoff: { initialMs: 8, maxMs: 20, factor: 2, jitter: 0.5 } }).start();
    await h.change('subscribed');
    const retries = h.changes.filter((c) => c.type === 'disconnected');
    assert.deepEqual(
      retries.map((c) => c.error.code),
      ['MESOS_UNAVAILABLE', 'MESOS_UNAVAILABLE', 'MESOS_NOT_FOUND'],
    );
    assert.match(retries[0]!.reason, /No leader elected/);
    assert.match(retries[1]!.reason, /Master has not finished recovery/);
    // Delays follow the policy: [d/2, d] for d = 8, 16, then capped at 20.
    const bounds = [[4, 8], [8, 16], [10, 20]];
    retries.forEach((c, i) => {
      const [lo, hi] = bounds[i]!;
      assert.ok(c.retryInMs >= lo! && c.retryInMs <= hi!, `retry ${i}: ${c.retryInMs} in [${lo}, ${hi}]`);
    });
    assert.equal(m.callsOfType('SUBSCRIBE').length, 4);
  });

  void test('a refused connection moves on to the next master in the list', async (t) => {
    const m = await master(t);
    const closedPort = await unusedPort();
    const h = harness(t, { master: `127.0.0.1:${closedPort},${m.hostPort}` }).start();
    const subscribed = await h.change('subscribed');
    assert.equal(subscribed.masterUrl, m.url);
    const failure = h.changes.find((c) => c.type === 'disconnected');
    assert.ok(failure?.type === 'disconnected');
    assert.equal(failure.error.code, 'MESOS_CONNECTION_REFUSED');
    assert.equal(failure.error.retriable, true);
  });

  for (const how of ['reset', 'end'] as const) {
    void test(`stream cut mid-record (${how}) ⇒ re-subscribe with the framework id in both places, no stream id`, async (t) => {
      const m = await master(t);
      const h = harness(t, { master: m.url }).start();
      const first = await h.change('subscribed');
      const mark = h.changes.length;
      m.streams[0]!.cutMidRecord(offers(2), 100, how);

      const lost = await h.change('disconnected', mark);
      assert.equal(lost.error.retriable, true);
      if (how === 'end') assert.equal(lost.error.code, 'MESOS_STREAM_TRUNCATED');
      const again = await h.change('subscribed', mark);
      assert.equal(again.resubscribed, true);
      assert.equal(again.frameworkId.value, FID);
      assert.notEqual(again.streamId, first.streamId);
      assert.equal(h.events.some((e) => e.type === 'OFFERS'), false, 'half an OFFERS record is never delivered');

      const resub = m.callsOfType('SUBSCRIBE')[1];
      assert.ok(resub !== undefined);
      assert.equal(resub.call?.framework_id?.value, FID);
      assert.equal(resub.call?.subscribe?.framework_info.id?.value, FID);
      assert.equal(resub.headers['mesos-stream-id'], undefined);

      // Later calls carry the new stream id (the scripted master answers 400 to a stale one).
      await h.client.reconcile([]);
      assert.equal(m.callsOfType('RECONCILE')[0]?.headers['mesos-stream-id'], again.streamId);
    });
  }

  void test('heartbeats stopping ⇒ the watchdog drops the stream and re-subscribes', async (t) => {
    const m = await master(t, { heartbeatIntervalSeconds: 0.1, autoHeartbeatMs: 20 });
    const h = harness(t, { master: m.url, heartbeatMissFactor: 4 }).start();
    const first = await h.change('subscribed');
    assert.equal(first.heartbeatIntervalSeconds, 0.1);
    const stream = m.streams[0]!;
    const mark = h.changes.length;
    stream.stopHeartbeats();

    const lost = await h.change('disconnected', mark, (c) => c.error.code === 'MESOS_HEARTBEAT_TIMEOUT');
    assert.match(lost.reason, /4 heartbeat intervals/);
    await stream.closed; // the client hung up on the silent stream
    const again = await h.change('subscribed', mark);
    assert.equal(again.resubscribed, true);
    assert.equal(m.callsOfType('SUBSCRIBE')[1]?.call?.framework_id?.value, FID);
  });

  void test('an ERROR event ends the stream; the client re-subscribes', async (t) => {
    const m = await master(t);
    const h = harness(t, { master: m.url }).start();
    await h.change('subscribed');
    const mark = h.changes.length;
    const stream = m.streams[0]!;
    stream.sendAll([{ type: 'ERROR', error: { message: 'Framework failed over' } }, offers(1)]);

    const err = await h.event('ERROR');
    assert.equal(err.error.message, 'Framework failed over');
    const lost = await h.change('disconnected', mark);
    assert.equal(lost.error.code, 'MESOS_ERROR_EVENT');
    assert.match(lost.reason, /Framework failed over/);
    await stream.closed;
    await h.change('subscribed', mark);
    // Whatever followed the ERROR on the abandoned stream was ignored (item 63).
    assert.equal(h.events.some((e) => e.type === 'OFFERS'), false);
  });

  void test('ERROR "Framework has been removed" is fatal', async (t) => {
    const m = await master(t);
    const h = harness(t, { master: m.url }).start();
    await h.change('subscribed');
    m.streams[0]!.send({ type: 'ERROR', error: { message: 'Framework has been removed' } });
    const fatal = await h.change('fatal');
    assert.equal(fatal.error.code, 'MESOS_FRAMEWORK_REMOVED');
    assert.equal(h.client.state, 'failed');
    assert.equal(m.callsOfType('SUBSCRIBE').length, 1);
    await assert.rejects(h.client.revive(), isKmf('MESOS_NOT_SUBSCRIBED'));
  });

  void test('an ERROR as first event is a refused subscription, retried', async (t) => {
    const m = await master(t);
    m.next('SUBSCRIBE', (_req, reply) => {
      const s = reply.stream();
      s.send({ type: 'ERROR', error: { message: "Role 'kafka' is not present in the master's --roles" } });
      s.end();
    });
    const h = harness(t, { master: m.url }).start();
    await h.change('subscribed');
    const [refused] = h.changes.filter((c) => c.type === 'disconnected');
    assert.ok(refused?.type === 'disconnected');
    assert.equal(refused.error.code, 'MESOS_ERROR_EVENT');
    assert.match(refused.reason, /--roles/);
    assert.equal(h.changes.filter((c) => c.type === 'subscribed').length, 1);
    assert.equal(h.events[0]?.type, 'SUBSCRIBED', 'the refusal is a connection change, not an event');
  });

  void test('acknowledges exactly the updates that carry a uuid, echoing them verbatim', async (t) => {
    const m = await master(t);
    const h = harness(t, { master: m.url }).start();
    await h.change('subscribed');
    const acks: Array<Promise<boolean>> = [];
    h.client.onEvent((e) => {
      if (e.type === 'UPDATE') acks.push(h.client.acknowledge(e.update.status));
    });
    m.streams[0]!.sendAll([agentUpdate, reconciliationUpdate]);
    // Listeners run in registration order within one delivery; by the time this wait resumes, ours ran too.
    await h.until('two updates', () => (h.events.filter((e) => e.type === 'UPDATE').length === 2 ? true : undefined));
    assert.equal(acks.length, 2);
    assert.deepEqual(await Promise.all(acks), [true, false]);
    const sent = m.callsOfType('ACKNOWLEDGE');
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]?.call?.acknowledge, { agent_id: AGENT, task_id: { value: 'broker-1' }, uuid: UUID_RUNNING });
    assert.match(sent[0].body.toString('utf8'), /"uuid":"XyyKHptNTH6Kbw07LhxKWQ=="/);
  });

  void test('a 400 answer surfaces its body in the error; the subscription stays up', async (t) => {
    const m = await master(t);
    const h = harness(t, { master: m.url }).start();
    await h.change('subscribed');
    m.next('KILL', (_req, reply) => reply.status(400, "Failed to validate scheduler::Call: Expecting 'kill' to be present"));
    await assert.rejects(h.client.kill({ value: 'broker-1' }), (e: unknown) => {
      assert.ok(e instanceof KmfError);
      assert.equal(e.code, 'MESOS_BAD_REQUEST');
      assert.equal(e.retriable, false);
      assert.match(e.message, /Expecting 'kill' to be present/);
      return true;
    });
    assert.equal(h.client.state, 'subscribed');
    await h.client.kill({ value: 'broker-1' });
  });

  void test('calls are sent one at a time on one connection, in call order', async (t) => {
    const m = await master(t);
    const h = harness(t, { master: m.url }).start();
    await h.change('subscribed');
    let acceptAnswered = false;
    let killSeenBeforeAcceptAnswer = false;
    m.next('ACCEPT', async (_req, reply) => {
      // Hold the answer: a client that used another connection would send the KILL meanwhile.
      await new Promise((r) => setTimeout(r, 100));
      acceptAnswered = true;
      reply.status(202);
    });
    m.next('KILL', (_req, reply) => {
      killSeenBeforeAcceptAnswer = !acceptAnswered;
      reply.status(202);
    });
    const accept = h.client.accept([{ value: `${FID}-O0` }], []);
    const kill = h.client.kill({ value: 'broker-1' }, AGENT);
    const burst = Array.from({ length: 12 }, (_, i) => h.client.reconcile([{ task_id: { value: `t${i}` } }]));
    await Promise.all([accept, kill, ...burst]);
    assert.equal(killSeenBeforeAcceptAnswer, false);
    const order = m.requests.filter((r) => r.callType !== 'SUBSCRIBE').map((r) => r.callType === 'RECONCILE' ? r.call?.reconcile?.tasks?.[0]?.task_id.value : r.callType);
    assert.deepEqual(order, ['ACCEPT', 'KILL', ...Array.from({ length: 12 }, (_, i) => `t${i}`)]);
    const ports = new Set(m.requests.filter((r) => r.callType !== 'SUBSCRIBE').map((r) => r.remotePort));
    assert.equal(ports.size, 1, 'all calls share one connection');
    assert.ok(!ports.has(m.callsOfType('SUBSCRIBE')[0]?.remotePort), 'and it is not the subscription connection');
  });

  void test('a listener that stops the client mid-chunk sees nothing more from that stream', async (t) => {
    const m = await master(t);
    const h = harness(t, { master: m.url }).start();
    await h.change('subscribed');
    const stopped: Array<Promise<void>> = [];
    h.client.onEvent((e) => {
      if (e.type === 'OFFERS') stopped.push(h.client.stop());
    });
    m.streams[0]!.sendAll([offers(1), agentUpdate, { type: 'HEARTBEAT' }]);
    await h.change('stopped');
    await Promise.all(stopped);
    assert.deepEqual(h.events.map((e) => e.type), ['SUBSCRIBED', 'HEARTBEAT', 'OFFERS']);
    assert.equal(m.callsOfType('TEARDOWN').length, 0, 'stop() does not tear the framework down');
    await m.streams[0]!.closed;
  });

  void test('teardown sends TEARDOWN and stops without re-subscribing, even when the stream closes first', async (t) => {
    const m = await master(t);
    const h = harness(t, { master: m.url }).start();
    await h.change('subscribed');
    const stream = m.streams[0]!;
    m.next('TEARDOWN', async (_req, reply) => {
      // Mesos closes the stream before the 202 goes out (item 66).
      stream.end();
      await stream.closed;
      reply.status(202);
    });
    await h.client.teardown();
    assert.equal(h.client.state, 'stopped');
    assert.equal(m.callsOfType('TEARDOWN')[0]?.headers['mesos-stream-id'], stream.streamId);
    assert.equal(m.callsOfType('SUBSCRIBE').length, 1);
    assert.equal(h.changes.at(-1)?.type, 'stopped');
    assert.equal(h.changes.some((c) => c.type === 'disconnected'), false);
  });

  void test('calls before SUBSCRIBED are refused as retriable; a persisted framework id fails over', async (t) => {
    const m = await master(t);
    const h = harness(t, { master: m.url, frameworkId: { value: 'fw-persisted' } });
    await assert.rejects(h.client.revive(), (e: unknown) => e instanceof KmfError && e.code === 'MESOS_NOT_SUBSCRIBED' && e.retriable);
    h.start();
    const s = await h.change('subscribed');
    assert.equal(s.frameworkId.value, 'fw-persisted');
    assert.equal(s.resubscribed, true);
    const [sub] = m.callsOfType('SUBSCRIBE');
    assert.equal(sub?.call?.framework_id?.value, 'fw-persisted');
    assert.equal(sub?.call?.subscribe?.framework_info.id?.value, 'fw-persisted');
  });

  void test('a silent master times out: SUBSCRIBE is retried, a call is rejected as retriable', async (t) => {
    const m = await master(t);
    // 200 and a stream id, then nothing: no SUBSCRIBED ever comes.
    m.next('SUBSCRIBE', (_req, reply) => {
      reply.stream();
    });
    const h = harness(t, { master: m.url, subscribeTimeoutMs: 300, callTimeoutMs: 300 }).start();
    await h.change('subscribed');
    const [timedOut] = h.changes.filter((c) => c.type === 'disconnected');
    assert.ok(timedOut?.type === 'disconnected');
    assert.equal(timedOut.error.code, 'MESOS_TIMEOUT');
    await m.streams[0]!.closed;

    m.next('KILL', () => {
      // Never answered.
    });
    await assert.rejects(h.client.kill({ value: 'broker-1' }), (e: unknown) => e instanceof KmfError && e.code === 'MESOS_TIMEOUT' && e.retriable);
    // The calls connection recovers for the next call.
    await h.client.kill({ value: 'broker-1' });
    assert.equal(m.callsOfType('KILL').length, 2);
  });

  void test('401 on SUBSCRIBE is fatal', async (t) => {
    const m = await master(t);
    m.next('SUBSCRIBE', (_req, reply) => reply.status(401, '', { 'www-authenticate': 'Basic realm="mesos-master-scheduler"' }));
    const h = harness(t, { master: m.url }).start();
    const fatal = await h.change('fatal');
    assert.equal(fatal.error.code, 'MESOS_UNAUTHENTICATED');
    assert.equal(m.callsOfType('SUBSCRIBE').length, 1);
  });
});

/** A port nothing listens on: bind one, note it, close it. */
async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
