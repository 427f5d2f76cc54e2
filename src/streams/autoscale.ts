/**
 * The lag autoscaler's decision, pure: given the app's total lag over its input topics, how many instances it
 * should run.
 *
 *   wanted  = ceil(lag / targetLagPerInstance)
 *   desired = min(max(wanted, min), max, input partitions)      (an instance beyond the partitions owns no task)
 *
 * Up: as soon as desired > current (a backlog grows while we wait).
 * Down, with hysteresis and a cooldown, because a scale-down costs a rebalance and a Streams app's lag swings
 * with every commit:
 *   - the lower count must keep each instance below DOWN_FACTOR × target (a lag that would put the smaller app
 *     right at its target is not low enough: it would scale straight back up);
 *   - that must have held without a break for cooldownSeconds;
 *   - and the last change of the app must be at least cooldownSeconds old.
 * Nothing moves while `paused` (the brokers roll: lag read during a roll is noise, and new instances would
 * join a cluster that is moving leaders) or while the lag is unknown.
 */

export interface AutoscalePolicy {
  min: number;
  max: number;
  targetLagPerInstance: number;
  cooldownSeconds: number;
}

/** Scale down only to a count that keeps each instance under this share of the target. */
export const DOWN_FACTOR = 0.8;

export interface AutoscaleInput {
  policy: AutoscalePolicy;
  /** Instances the spec asks for now. */
  current: number;
  /** Total lag of the app's group over its input topics; undefined when it could not be read. */
  lag: number | undefined;
  /** Largest partition count among the input topics; undefined when unknown. */
  partitions: number | undefined;
  now: number;
  /** When the autoscaler (or an operator) last changed the instance count. */
  lastChangeAt: number | undefined;
  /** Since when a scale-down has been continuously possible (carried from the previous decision). */
  lowSince: number | undefined;
  /** Why decisions are suspended (e.g. "the Kafka brokers are rolling"), if they are. */
  paused?: string;
}

export type AutoscaleAction = 'up' | 'down' | 'hold';
/** Why, as a code: a change of code (or target) is what the timeline records. */
export type AutoscaleCode = 'paused' | 'lag-unknown' | 'up' | 'steady' | 'band' | 'low-wait' | 'cooldown' | 'down';

export interface AutoscaleDecision {
  action: AutoscaleAction;
  code: AutoscaleCode;
  /** The instance count to set (equals `current` on hold). */
  target: number;
  /** The clamped count the lag asks for (undefined when the lag is unknown). */
  desired: number | undefined;
  /** Carry into the next decision's `lowSince`. */
  lowSince: number | undefined;
  /** Why, with the numbers. */
  reason: string;
}

/** The upper bound: max, and the partition count when known. */
export function instanceCap(policy: AutoscalePolicy, partitions: number | undefined): number {
  return partitions === undefined ? policy.max : Math.max(0, Math.min(policy.max, partitions));
}

/** Instances for `lag` at `perInstance` lag each, clamped to [min, cap]. */
export function clampedInstances(lag: number, perInstance: number, policy: AutoscalePolicy, partitions: number | undefined): number {
  const wanted = lag <= 0 ? 0 : Math.ceil(lag / perInstance);
  return Math.min(Math.max(wanted, policy.min), instanceCap(policy, partitions));
}

export function decideScale(input: AutoscaleInput): AutoscaleDecision {
  const { policy, current, lag, partitions, now } = input;
  const hold = (code: AutoscaleCode, reason: string, desired: number | undefined, lowSince: number | undefined): AutoscaleDecision => ({ action: 'hold', code, target: current, desired, lowSince, reason });
  if (input.paused !== undefined) return hold('paused', `paused: ${input.paused}`, undefined, undefined);
  if (lag === undefined || !Number.isFinite(lag) || lag < 0) return hold('lag-unknown', 'lag unknown (the group offsets or the topics could not be read)', undefined, undefined);
  const numbers = `lag ${lag}, target ${policy.targetLagPerInstance}/instance, ${current} running, bounds ${policy.min}..${policy.max}${partitions === undefined ? '' : `, ${partitions} partition(s)`}`;
  const desired = clampedInstances(lag, policy.targetLagPerInstance, policy, partitions);
  if (desired > current) return { action: 'up', code: 'up', target: desired, desired, lowSince: undefined, reason: `scale up to ${desired}: ${numbers}` };
  if (desired === current) return hold('steady', `steady at ${current}: ${numbers}`, desired, undefined);
  // desired < current: the hysteresis band first.
  const down = clampedInstances(lag, policy.targetLagPerInstance * DOWN_FACTOR, policy, partitions);
  const cap = instanceCap(policy, partitions);
  const forced = current > cap; // above max or the partition count: no band, only the cooldown
  const target = forced ? Math.min(cap, Math.max(down, desired)) : down;
  if (!forced && target >= current) return hold('band', `within the hysteresis band (fewer instances would run above ${Math.round(DOWN_FACTOR * 100)}% of target): ${numbers}`, desired, undefined);
  const lowSince = input.lowSince ?? now;
  const cooldownMs = policy.cooldownSeconds * 1000;
  const lowFor = now - lowSince;
  if (lowFor < cooldownMs) return hold('low-wait', `scale down to ${target} in ${Math.ceil((cooldownMs - lowFor) / 1000)} s if the lag stays low: ${numbers}`, desired, lowSince);
  const sinceChange = input.lastChangeAt === undefined ? Number.POSITIVE_INFINITY : now - input.lastChangeAt;
  if (sinceChange < cooldownMs) return hold('cooldown', `scale down to ${target} waits for the cooldown after the last change (${Math.ceil((cooldownMs - sinceChange) / 1000)} s left): ${numbers}`, desired, lowSince);
  return { action: 'down', code: 'down', target, desired, lowSince: undefined, reason: `scale down to ${target} (low for ${Math.round(lowFor / 1000)} s): ${numbers}` };
}
