import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { TaskState, TaskStatus } from '../../src/mesos/types.js';
import { StatusUpdateManager } from '../../src/sim/agent/status-update-manager.js';
import { FakeClock } from '../helpers/sim-agent-clock.js';

function status(taskId: string, state: TaskState): TaskStatus {
  return { task_id: { value: taskId }, state, source: 'SOURCE_EXECUTOR', uuid: Buffer.from(randomUUID().replaceAll('-', ''), 'hex') };
}

function setup(retry = { initialMs: 10_000, maxMs: 600_000 }) {
  const clock = new FakeClock();
  const sent: Array<{ at: number; fw: string; status: TaskStatus; latest: TaskState }> = [];
  const sum = new StatusUpdateManager({ clock, retry, forward: (fw, s, latest) => sent.push({ at: clock.now(), fw, status: s, latest }) });
  return { clock, sent, sum };
}

void describe('status update manager', () => {
  void test('forwards one update per task and the next only after its ACK', () => {
    const { sum, sent, clock } = setup();
    const starting = status('t1', 'TASK_STARTING');
    const running = status('t1', 'TASK_RUNNING');
    const finished = status('t1', 'TASK_FINISHED');
    assert.equal(sum.update('fw', starting), 'forwarded');
    assert.equal(sum.update('fw', running), 'queued');
    assert.equal(sum.update('fw', finished), 'queued');
    assert.deepEqual(sent.map((s) => s.status.state), ['TASK_STARTING']);
    assert.equal(sent[0]?.latest, 'TASK_STARTING');
    // A retry carries the newest state the agent knows (latest_state runs ahead of the update).
    clock.advance(10_000);
    assert.deepEqual(sent.map((s) => [s.status.state, s.latest]), [['TASK_STARTING', 'TASK_STARTING'], ['TASK_STARTING', 'TASK_FINISHED']]);
    sent.length = 0;

    const ack = sum.acknowledge('fw', 't1', starting.uuid!);
    assert.equal(ack.ok, true);
    assert.deepEqual(sent.map((s) => s.status.state), ['TASK_RUNNING']);
    sum.acknowledge('fw', 't1', running.uuid!);
    assert.deepEqual(sent.map((s) => s.status.state), ['TASK_RUNNING', 'TASK_FINISHED']);
    const last = sum.acknowledge('fw', 't1', finished.uuid!);
    assert.ok(last.ok && last.terminal);
    assert.equal(sum.hasStream('fw', 't1'), false);
  });

  void test('an ACK with another uuid does not release the next update', () => {
    const { sum, sent } = setup();
    const a = status('t1', 'TASK_STARTING');
    sum.update('fw', a);
    sum.update('fw', status('t1', 'TASK_RUNNING'));
    const r = sum.acknowledge('fw', 't1', status('t1', 'TASK_RUNNING').uuid!);
    assert.deepEqual(r, { ok: false, reason: 'uuid-mismatch' });
    assert.equal(sent.length, 1);
    assert.deepEqual(sum.acknowledge('fw', 'other', a.uuid!), { ok: false, reason: 'unknown-stream' });
  });

  void test('retries the outstanding update after 10 s, doubling up to the maximum', () => {
    const { sum, sent, clock } = setup({ initialMs: 10_000, maxMs: 40_000 });
    const a = status('t1', 'TASK_RUNNING');
    sum.update('fw', a);
    clock.advance(9_999);
    assert.equal(sent.length, 1);
    clock.advance(1);
    clock.advance(20_000);
    clock.advance(40_000);
    clock.advance(40_000);
    assert.deepEqual(
      sent.map((s) => s.at),
      [0, 10_000, 30_000, 70_000, 110_000],
    );
    assert.ok(sent.every((s) => s.status.uuid!.equals(a.uuid!)), 'every retry is the same update');
    sum.acknowledge('fw', 't1', a.uuid!);
    clock.advance(1_000_000);
    assert.equal(sent.length, 5, 'no retry after the ACK');
  });

  void test('after an ACK the next update starts again at the initial retry interval', () => {
    const { sum, sent, clock } = setup({ initialMs: 1_000, maxMs: 8_000 });
    const a = status('t1', 'TASK_STARTING');
    const b = status('t1', 'TASK_RUNNING');
    sum.update('fw', a);
    sum.update('fw', b);
    clock.advance(1_000 + 2_000 + 4_000); // three retries of a
    assert.equal(sent.length, 4);
    sum.acknowledge('fw', 't1', a.uuid!);
    assert.equal(sent.at(-1)?.status.state, 'TASK_RUNNING');
    const at = clock.now();
    clock.advance(1_000);
    assert.equal(sent.at(-1)?.at, at + 1_000);
    assert.equal(sent.at(-1)?.status.state, 'TASK_RUNNING');
  });

  void test('duplicate uuids are ignored', () => {
    const { sum, sent } = setup();
    const a = status('t1', 'TASK_RUNNING');
    sum.update('fw', a);
    assert.equal(sum.update('fw', { ...a }), 'duplicate');
    assert.equal(sent.length, 1);
    assert.equal(sum.queuedCount('fw', 't1'), 0);
  });

  void test('tasks are independent and share one timer', () => {
    const { sum, sent, clock } = setup();
    for (let i = 0; i < 500; i++) sum.update('fw', status(`t${i}`, 'TASK_RUNNING'));
    assert.equal(sent.length, 500);
    assert.equal(clock.pending, 1);
    clock.advance(10_000);
    assert.equal(sent.length, 1000);
    assert.equal(clock.pending, 1);
  });

  void test('stop() ends forwarding and retries; framework cleanup drops its streams', () => {
    const { sum, sent, clock } = setup();
    sum.update('fw', status('t1', 'TASK_RUNNING'));
    sum.update('other', status('t2', 'TASK_RUNNING'));
    sum.cleanupFramework('fw');
    assert.equal(sum.hasStream('fw', 't1'), false);
    assert.equal(sum.hasStream('other', 't2'), true);
    sum.stop();
    clock.advance(100_000);
    sum.update('other', status('t3', 'TASK_RUNNING'));
    assert.equal(sent.length, 2);
  });

  void test('property: per task, forwarded updates follow input order and never two unacknowledged at once', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('update' as const), task: fc.integer({ min: 0, max: 3 }), state: fc.constantFrom<TaskState>('TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING') }),
      fc.record({ kind: fc.constant('ack' as const), task: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 50_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const { sum, sent, clock } = setup({ initialMs: 1_000, maxMs: 16_000 });
        const submitted = new Map<string, TaskStatus[]>();
        const acked = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'update') {
            const s = status(`t${o.task}`, o.state);
            submitted.set(s.task_id.value, [...(submitted.get(s.task_id.value) ?? []), s]);
            sum.update('fw', s);
          } else if (o.kind === 'ack') {
            const head = sum.outstanding('fw', `t${o.task}`);
            if (head !== undefined && sum.acknowledge('fw', `t${o.task}`, head.uuid!).ok) {
              acked.set(`t${o.task}`, (acked.get(`t${o.task}`) ?? 0) + 1);
            }
          } else clock.advance(o.ms);
        }
        for (const [task, list] of submitted) {
          // Distinct updates forwarded for the task, in first-forward order, equal a prefix of the input.
          const seen: string[] = [];
          for (const s of sent) {
            if (s.status.task_id.value !== task) continue;
            const u = s.status.uuid!.toString('hex');
            if (!seen.includes(u)) seen.push(u);
          }
          const expected = list.map((s) => s.uuid!.toString('hex'));
          assert.deepEqual(seen, expected.slice(0, seen.length));
          // Exactly the acknowledged ones plus (if any remain) the outstanding one were forwarded.
          const a = acked.get(task) ?? 0;
          assert.equal(seen.length, Math.min(list.length, a + 1));
        }
      }),
      { numRuns: 200 },
    );
  });
});
