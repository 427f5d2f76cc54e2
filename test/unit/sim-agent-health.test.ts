import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthState, healthPolicy } from '../../src/sim/agent/health-checks.js';
import { DelayQueue } from '../../src/sim/agent/synthetic.js';
import { FakeClock } from '../helpers/sim-agent-clock.js';

void describe('health check policy', () => {
  void test('mesos.proto defaults', () => {
    assert.deepEqual(healthPolicy({ type: 'TCP', tcp: { port: 1 } }), {
      delayMs: 15_000,
      intervalMs: 10_000,
      timeoutMs: 20_000,
      gracePeriodMs: 10_000,
      consecutiveFailures: 3,
    });
    assert.equal(healthPolicy({ type: 'TCP', tcp: { port: 1 }, timeout_seconds: 0 }).timeoutMs, Infinity);
  });
});

void describe('health state machine (src/checks/health_checker.cpp semantics)', () => {
  const policy = { delayMs: 0, intervalMs: 1000, timeoutMs: 1000, gracePeriodMs: 5000, consecutiveFailures: 3 };

  void test('failures inside the grace period before the first success are ignored', () => {
    const s = new HealthState(policy, 0);
    assert.equal(s.failure(1000, 'x'), undefined);
    assert.equal(s.failure(5000, 'x'), undefined);
    assert.deepEqual(s.failure(5001, 'x'), { healthy: false, killTask: false, consecutiveFailures: 1, message: 'x' });
  });

  void test('after the first success the grace period no longer applies', () => {
    const s = new HealthState(policy, 0);
    assert.deepEqual(s.success(), { healthy: true, killTask: false, consecutiveFailures: 0 });
    assert.equal(s.failure(100, 'x')?.healthy, false);
  });

  void test('healthy is reported on the first success and on recovery only', () => {
    const s = new HealthState(policy, 0);
    assert.ok(s.success());
    assert.equal(s.success(), undefined);
    assert.equal(s.failure(10_000, 'x')?.consecutiveFailures, 1);
    assert.deepEqual(s.success(), { healthy: true, killTask: false, consecutiveFailures: 0 });
    assert.equal(s.success(), undefined);
  });

  void test('every counted failure is reported, and the kill comes at consecutive_failures', () => {
    const s = new HealthState(policy, 0);
    const r = [s.failure(6000, 'a'), s.failure(7000, 'b'), s.failure(8000, 'c'), s.failure(9000, 'd')];
    assert.deepEqual(
      r.map((x) => [x?.healthy, x?.killTask, x?.consecutiveFailures]),
      [
        [false, false, 1],
        [false, false, 2],
        [false, true, 3],
        [false, true, 4],
      ],
    );
  });

  void test('a zero grace period counts failures right away', () => {
    const s = new HealthState({ ...policy, gracePeriodMs: 0 }, 0);
    assert.equal(s.failure(0, 'x')?.consecutiveFailures, 1);
  });
});

void describe('synthetic RUNNING delay queue', () => {
  void test('runs callbacks delayMs after push, in order, with one timer', () => {
    const clock = new FakeClock();
    const q = new DelayQueue(100, clock);
    const fired: string[] = [];
    q.push(() => fired.push('a'));
    clock.advance(50);
    q.push(() => fired.push('b'));
    q.push(() => fired.push('c'));
    assert.equal(clock.pending, 1);
    clock.advance(50);
    assert.deepEqual(fired, ['a']);
    clock.advance(49);
    assert.deepEqual(fired, ['a']);
    clock.advance(1);
    assert.deepEqual(fired, ['a', 'b', 'c']);
    assert.equal(clock.pending, 0);
    assert.equal(q.size, 0);
  });

  void test('clear() drops everything queued', () => {
    const clock = new FakeClock();
    const q = new DelayQueue(10, clock);
    let n = 0;
    for (let i = 0; i < 5000; i++) q.push(() => n++);
    q.clear();
    clock.advance(100);
    assert.equal(n, 0);
    assert.equal(clock.pending, 0);
  });

  void test('many batches drain completely', () => {
    const clock = new FakeClock();
    const q = new DelayQueue(10, clock);
    let n = 0;
    for (let batch = 0; batch < 10; batch++) {
      for (let i = 0; i < 500; i++) q.push(() => n++);
      clock.advance(5);
    }
    clock.advance(20);
    assert.equal(n, 5000);
    assert.equal(q.size, 0);
  });
});
