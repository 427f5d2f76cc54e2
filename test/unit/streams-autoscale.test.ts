import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { clampedInstances, decideScale, DOWN_FACTOR, instanceCap, type AutoscaleInput, type AutoscalePolicy } from '../../src/streams/autoscale.js';

const POLICY: AutoscalePolicy = { min: 1, max: 6, targetLagPerInstance: 1000, cooldownSeconds: 60 };
const T0 = Date.UTC(2026, 0, 1);

function input(over: Partial<AutoscaleInput>): AutoscaleInput {
  return { policy: POLICY, current: 2, lag: 0, partitions: 4, now: T0, lastChangeAt: undefined, lowSince: undefined, ...over };
}

void describe('lag autoscaler decision', () => {
  void test('scales up at once to ceil(lag / target), capped by the partitions', () => {
    const d = decideScale(input({ lag: 2_500 }));
    assert.equal(d.action, 'up');
    assert.equal(d.target, 3);
    assert.match(d.reason, /lag 2500/);
    assert.equal(decideScale(input({ lag: 100_000 })).target, 4, 'never more than the 4 partitions');
    assert.equal(decideScale(input({ lag: 100_000, partitions: undefined })).target, 6, 'max without a partition count');
    assert.equal(decideScale(input({ lag: 100_000, lastChangeAt: T0 - 1 })).action, 'up', 'no cooldown for going up');
  });

  void test('steady when the lag asks for what runs', () => {
    const d = decideScale(input({ lag: 1_500 }));
    assert.equal(d.action, 'hold');
    assert.equal(d.code, 'steady');
  });

  void test('hysteresis: a lag just under the lower count is not low enough', () => {
    // 3 running; 1 999 lag fits 2 instances (target 1 000) but at >80 % of target each.
    const d = decideScale(input({ current: 3, lag: 1_999 }));
    assert.equal(d.code, 'band');
    assert.equal(d.action, 'hold');
    const low = decideScale(input({ current: 3, lag: 1_500 }));
    assert.equal(low.code, 'low-wait', 'under 80 %: the cooldown clock starts');
  });

  void test('scales down only after the lag stayed low for the cooldown, and the cooldown after the last change', () => {
    let d = decideScale(input({ current: 4, lag: 0 }));
    assert.equal(d.code, 'low-wait');
    assert.equal(d.lowSince, T0);
    d = decideScale(input({ current: 4, lag: 0, now: T0 + 59_000, lowSince: d.lowSince }));
    assert.equal(d.action, 'hold');
    d = decideScale(input({ current: 4, lag: 0, now: T0 + 60_000, lowSince: d.lowSince, lastChangeAt: T0 + 30_000 }));
    assert.equal(d.code, 'cooldown');
    d = decideScale(input({ current: 4, lag: 0, now: T0 + 90_000, lowSince: d.lowSince, lastChangeAt: T0 + 30_000 }));
    assert.equal(d.action, 'down');
    assert.equal(d.target, 1, 'straight to min when drained');
    assert.equal(d.lowSince, undefined);
  });

  void test('a lag burst resets the low clock', () => {
    const d = decideScale(input({ current: 4, lag: 3_500, now: T0 + 10_000, lowSince: T0 }));
    assert.equal(d.code, 'steady');
    assert.equal(d.lowSince, undefined);
  });

  void test('paused or unknown lag: hold, and the low clock restarts', () => {
    const p = decideScale(input({ lag: 50_000, paused: 'the Kafka brokers are being rolled' }));
    assert.equal(p.action, 'hold');
    assert.equal(p.code, 'paused');
    assert.match(p.reason, /brokers are being rolled/);
    const u = decideScale(input({ lag: undefined, current: 5, lowSince: T0 - 3_600_000 }));
    assert.equal(u.code, 'lag-unknown');
    assert.equal(u.lowSince, undefined);
  });

  void test('more instances than partitions come down after the cooldown even with a lag in the band', () => {
    const d = decideScale(input({ current: 6, partitions: 4, lag: 3_900, now: T0 + 61_000, lowSince: T0 }));
    assert.equal(d.action, 'down');
    assert.equal(d.target, 4);
  });

  void test('min above the partitions: the partitions win', () => {
    assert.equal(clampedInstances(0, 1000, { ...POLICY, min: 5 }, 3), 3);
    assert.equal(instanceCap(POLICY, 2), 2);
  });

  const policies = fc
    .record({ min: fc.integer({ min: 0, max: 5 }), extra: fc.integer({ min: 0, max: 10 }), target: fc.integer({ min: 1, max: 10_000 }), cooldown: fc.integer({ min: 0, max: 600 }) })
    .map(({ min, extra, target, cooldown }): AutoscalePolicy => ({ min, max: Math.max(1, min + extra), targetLagPerInstance: target, cooldownSeconds: cooldown }));
  const inputs = fc.record({
    policy: policies,
    current: fc.integer({ min: 0, max: 20 }),
    lag: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: undefined }),
    partitions: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
    sinceLow: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: undefined }),
    sinceChange: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: undefined }),
    paused: fc.option(fc.constant('brokers rolling'), { nil: undefined }),
  });
  interface Generated {
    policy: AutoscalePolicy;
    current: number;
    lag: number | undefined;
    partitions: number | undefined;
    sinceLow: number | undefined;
    sinceChange: number | undefined;
    paused: string | undefined;
  }
  const build = (v: Generated): AutoscaleInput => ({
    policy: v.policy,
    current: v.current,
    lag: v.lag,
    partitions: v.partitions,
    now: T0,
    lowSince: v.sinceLow === undefined ? undefined : T0 - v.sinceLow,
    lastChangeAt: v.sinceChange === undefined ? undefined : T0 - v.sinceChange,
    ...(v.paused === undefined ? {} : { paused: v.paused }),
  });

  void test('property: a change never goes above max or the partitions, and only in the direction the lag asks', () => {
    fc.assert(
      fc.property(inputs, (v) => {
        const i = build(v);
        const d = decideScale(i);
        if (d.action === 'hold') {
          assert.equal(d.target, i.current);
          return;
        }
        assert.ok(d.target <= i.policy.max);
        if (i.partitions !== undefined) assert.ok(d.target <= i.partitions);
        assert.ok(d.target >= 0);
        assert.equal(i.paused, undefined, 'nothing moves while paused');
        assert.notEqual(i.lag, undefined, 'nothing moves on an unknown lag');
        if (d.action === 'up') {
          assert.ok(d.target > i.current);
          assert.equal(d.target, d.desired);
        } else {
          assert.ok(d.target < i.current);
          const cooldown = i.policy.cooldownSeconds * 1000;
          if (cooldown > 0) assert.ok(i.lowSince !== undefined && i.now - i.lowSince >= cooldown, 'down only after the lag stayed low for the cooldown');
          if (i.lastChangeAt !== undefined) assert.ok(i.now - i.lastChangeAt >= cooldown, 'down only after the cooldown since the last change');
        }
      }),
      { numRuns: 2_000 },
    );
  });

  void test('property: after a scale-down, the lag per remaining instance is under the hysteresis bound (unless capped)', () => {
    fc.assert(
      fc.property(inputs, (v) => {
        const i = build(v);
        const d = decideScale(i);
        if (d.action !== 'down' || i.lag === undefined) return;
        const capped = i.current > instanceCap(i.policy, i.partitions);
        if (!capped && d.target > 0) assert.ok(i.lag <= d.target * i.policy.targetLagPerInstance * DOWN_FACTOR + 1e-9, `${i.lag} over ${d.target} instances`);
        // Right after, the same lag never asks to go straight back up.
        const again = decideScale({ ...i, current: d.target, lowSince: undefined, lastChangeAt: i.now });
        assert.notEqual(again.action, 'up');
      }),
      { numRuns: 2_000 },
    );
  });

  void test('property: more lag never wants fewer instances', () => {
    fc.assert(
      fc.property(policies, fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 1_000_000 }), fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }), (p, a, b, parts) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        assert.ok(clampedInstances(lo, p.targetLagPerInstance, p, parts) <= clampedInstances(hi, p.targetLagPerInstance, p, parts));
      }),
    );
  });
});
