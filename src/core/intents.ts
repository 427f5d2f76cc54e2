/**
 * Operator intents change stored state (and may kill a task); the next decision does the rest.
 * An intent that cannot apply is reported on the timeline, never thrown.
 */
import type { DecisionContext, Draft } from './draft.js';
import type { OperatorIntent } from './events.js';
import { isLive, type KillReason, type TaskRecord } from './state.js';

function liveTask(d: Draft, unit: string): TaskRecord | undefined {
  return [...d.tasks.values()]
    .filter((t) => t.unit === unit && isLive(t))
    .sort((a, b) => b.generation - a.generation)[0];
}

function killFor(d: Draft, ctx: DecisionContext, t: TaskRecord, reason: KillReason): void {
  if (t.kill) return;
  d.putTask({ ...t, kill: { at: ctx.now, reason } });
  const grace = ctx.desired.units.get(t.unit)?.spec.task.killGracePeriodSeconds ?? ctx.config.defaultKillGraceSeconds;
  d.kill(ctx.now, t.taskId, t.agentId || undefined, reason, grace);
}

export function applyIntent(d: Draft, ctx: DecisionContext, intent: OperatorIntent): void {
  const { now, desired } = ctx;
  switch (intent.kind) {
    case 'pause':
    case 'resume':
      d.setControls({ ...d.controls, paused: { ...d.controls.paused, [intent.plan]: intent.kind === 'pause' } });
      d.event(now, 'intent', `${intent.plan} plan ${intent.kind === 'pause' ? 'paused' : 'resumed'}`);
      return;
    case 'forceComplete': {
      const unit = d.units.get(intent.unit);
      const prepared = desired.units.get(intent.unit);
      if (!prepared) {
        d.event(now, 'intent', `force-complete ignored: no unit ${intent.unit}`);
        return;
      }
      switch (intent.plan) {
        case 'deploy':
          if (!d.controls.deployForced.includes(intent.unit)) {
            d.setControls({ ...d.controls, deployForced: [...d.controls.deployForced, intent.unit].sort() });
          }
          break;
        case 'update':
          if (unit) d.updateUnit(unit.name, { acceptedVersion: prepared.version });
          break;
        case 'recovery':
          if (unit) {
            d.updateUnit(unit.name, {
              failures: 0,
              firstFailedAt: undefined,
              delayUntil: undefined,
              recovery: undefined,
              replaceRequested: undefined,
            });
          }
          break;
      }
      d.event(now, 'intent', `${intent.plan} step force-completed`, intent.unit);
      return;
    }
    case 'restart':
    case 'replace': {
      const unit = d.units.get(intent.unit);
      const spec = desired.units.get(intent.unit)?.spec;
      if (!unit || spec?.goal !== 'running') {
        d.event(now, 'intent', `${intent.kind} ignored: unit is not running`, intent.unit);
        return;
      }
      const t = liveTask(d, intent.unit);
      if (intent.kind === 'restart') {
        const hold = desired.stopHolds[intent.unit];
        if (t && hold !== undefined) {
          d.event(now, 'intent', `restart refused: ${hold}`, intent.unit);
          return;
        }
        if (t) killFor(d, ctx, t, 'restart');
        else d.updateUnit(unit.name, { delayUntil: undefined });
        d.event(now, 'intent', 'restart requested', intent.unit);
        return;
      }
      // Replacing a task that runs and is ready stops it (and drops its data), so the stop holds apply too:
      // a Kafka broker replaced while another one is down could take the last in-sync copy of a partition.
      // A task that is down or not ready stops nothing the cluster still counts on.
      const liveAndReady = t !== undefined && t.state === 'TASK_RUNNING' && t.ready;
      const hold = desired.replaceHolds[intent.unit] ?? (liveAndReady ? desired.stopHolds[intent.unit] : undefined);
      if (hold !== undefined) {
        d.event(now, 'intent', `replace refused: ${hold}`, intent.unit);
        return;
      }
      d.updateUnit(unit.name, { replaceRequested: true, delayUntil: undefined });
      if (t) killFor(d, ctx, t, 'replace');
      d.event(now, 'intent', 'replace requested', intent.unit);
      return;
    }
  }
}
