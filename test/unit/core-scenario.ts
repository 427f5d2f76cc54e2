/**
 * Random scenarios for the core's property tests: an operation language over the harness, and its
 * interpreter that checks the cross-step invariants after every operation.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TaskState } from '../../src/mesos/types.js';
import { isTerminalState } from '../../src/mesos/types.js';
import type { UnitSpec } from '../../src/model/units.js';
import { agents, appSpec, brokerSpec, Cluster, Sim } from './core-harness.js';

export type Op =
  | { t: 'offer'; agent: number }
  | { t: 'offerAll' }
  | { t: 'run'; k: number }
  | { t: 'end'; k: number; state: TaskState }
  | { t: 'unreachable'; k: number }
  | { t: 'resurrect'; k: number }
  | { t: 'answerKills' }
  | { t: 'advance'; ms: number }
  | { t: 'restart' }
  | { t: 'resubscribe' }
  | { t: 'spec'; unit: number }
  | { t: 'goal'; unit: number; goal: 'running' | 'stopped' | 'removed' }
  | { t: 'intent'; unit: number; kind: 'restart' | 'replace' }
  | { t: 'pause'; on: boolean };

const ENDS: TaskState[] = ['TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_FINISHED', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR'];

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('offer' as const), agent: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.constant({ t: 'offerAll' as const }) },
  { weight: 8, arbitrary: fc.record({ t: fc.constant('run' as const), k: fc.nat(9) }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('end' as const), k: fc.nat(9), state: fc.constantFrom(...ENDS) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('unreachable' as const), k: fc.nat(9) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('resurrect' as const), k: fc.nat(9) }) },
  { weight: 4, arbitrary: fc.constant({ t: 'answerKills' as const }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.constantFrom(1_000, 5_000, 30_000, 60_000, 4 * 60_000, 21 * 60_000) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'resubscribe' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('spec' as const), unit: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('goal' as const), unit: fc.nat(4), goal: fc.constantFrom('running' as const, 'stopped' as const, 'removed' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('intent' as const), unit: fc.nat(4), kind: fc.constantFrom('restart' as const, 'replace' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('pause' as const), on: fc.boolean() }) },
);

function pick<T>(list: T[], k: number): T | undefined {
  return list.length === 0 ? undefined : list[k % list.length];
}

/**
 * Variant 0: pre-refinement offers, roomy agents. Variant 1: RESERVATION_REFINEMENT offers, tight agents
 * (units compete for cpus and ports, constraints bite, a rack-spread app group).
 */
export function runScenario(ops: Op[], seed: number, variant: 0 | 1 = 0): Sim {
  const specs: UnitSpec[] =
    variant === 0
      ? [brokerSpec(0), brokerSpec(1), brokerSpec(2), appSpec('app/0', { phase: 'broker' }), appSpec('app/1', { phase: 'broker', reserve: true })]
      : [
          brokerSpec(0),
          brokerSpec(1),
          brokerSpec(2),
          appSpec('app/0', { phase: 'broker', resources: { cpus: 1, memMb: 512 }, constraints: [{ field: 'rack', operator: 'GROUP_BY' }] }),
          appSpec('app/1', { phase: 'broker', resources: { cpus: 1, memMb: 512 }, constraints: [{ field: 'rack', operator: 'GROUP_BY' }], volume: { sizeMb: 500, containerPath: 'state' } }),
        ];
  const cluster =
    variant === 0
      ? new Cluster(agents(4, { cpus: 2.5, mem: 4096, ports: [[31000, 31003]] }))
      : new Cluster(agents(4, { cpus: 1.5, mem: 2048, disk: 1600, ports: [[31000, 31001]] }), 'refinement');
  const sim = new Sim(cluster, { units: specs }, undefined, seed);
  sim.subscribe();
  sim.answerReconciliation();
  for (const op of ops) {
    const tasks = [...cluster.tasks.entries()];
    switch (op.t) {
      case 'offer':
        sim.offer(`S${op.agent}`);
        break;
      case 'offerAll':
        sim.offerAll();
        break;
      case 'run': {
        const t = pick(tasks.filter(([, x]) => x.state === 'TASK_STAGING' || x.state === 'TASK_STARTING'), op.k);
        if (t) sim.status(t[0], 'TASK_RUNNING');
        break;
      }
      case 'end': {
        const t = pick(tasks.filter(([, x]) => !isTerminalState(x.state)), op.k);
        if (t) sim.status(t[0], op.state, op.state === 'TASK_DROPPED' || op.state === 'TASK_GONE' ? { source: 'SOURCE_MASTER', uuid: undefined } : {});
        break;
      }
      case 'unreachable': {
        const t = pick(tasks.filter(([, x]) => x.state === 'TASK_RUNNING'), op.k);
        if (t) sim.status(t[0], 'TASK_UNREACHABLE', { source: 'SOURCE_MASTER', uuid: undefined });
        break;
      }
      case 'resurrect': {
        const t = pick(tasks.filter(([, x]) => x.state === 'TASK_LOST' || x.state === 'TASK_UNREACHABLE' || x.state === 'TASK_GONE'), op.k);
        if (!t) break;
        if (t[1].state === 'TASK_UNREACHABLE') {
          sim.status(t[0], 'TASK_RUNNING', { source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REREGISTERED', uuid: undefined });
        } else if (cluster.resurrect(t[0])) {
          sim.send({ type: 'status', status: { task_id: { value: t[0] }, state: 'TASK_RUNNING', agent_id: { value: t[1].agentId }, source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REREGISTERED' } });
        }
        break;
      }
      case 'answerKills':
        for (const id of new Set(sim.kills)) {
          const t = cluster.tasks.get(id);
          if (t && !isTerminalState(t.state) && t.state !== 'TASK_UNREACHABLE') sim.status(id, 'TASK_KILLED');
        }
        sim.kills.length = 0;
        break;
      case 'advance':
        sim.advance(op.ms);
        break;
      case 'restart':
        sim.restart();
        sim.subscribe();
        break;
      case 'resubscribe':
        sim.send({ type: 'disconnected' });
        cluster.outstanding.clear();
        sim.subscribe();
        break;
      case 'spec': {
        const s = specs[op.unit]!;
        specs[op.unit] = { ...s, resources: { ...s.resources, memMb: s.resources.memMb === 512 ? 640 : s.resources.memMb === 1024 ? 1280 : s.resources.memMb === 640 ? 512 : 1024 } };
        sim.setDesired({ units: specs });
        break;
      }
      case 'goal':
        specs[op.unit] = { ...specs[op.unit]!, goal: op.goal };
        sim.setDesired({ units: specs });
        break;
      case 'intent':
        sim.send({ type: 'intent', intent: { kind: op.kind, unit: specs[op.unit]!.name } });
        break;
      case 'pause':
        sim.send({ type: 'intent', intent: { kind: op.on ? 'pause' : 'resume', plan: 'update' } });
        break;
    }
    // The master answers reconciliation promptly (an agent that cannot answer is modelled by UNREACHABLE).
    sim.answerReconciliation();
    // The durable half of the core is exactly what the persist actions wrote.
    assert.deepEqual(JSON.parse(JSON.stringify(sim.store)), JSON.parse(JSON.stringify(sim.core.stored)), `store diverged after ${op.t}`);
    // Plans are derived without throwing; one plan acts on a unit at most.
    const plans = sim.core.plans(sim.desired, sim.now);
    const acting = new Map<string, string[]>();
    for (const p of plans) {
      for (const ph of p.phases) {
        for (const st of ph.steps) {
          if (st.status === 'COMPLETE' || (st.status === 'WAITING' && st.reason?.startsWith('in the '))) continue;
          acting.set(st.unit, [...(acting.get(st.unit) ?? []), p.name]);
        }
      }
    }
    for (const [unit, names] of acting) assert.ok(names.length <= 1, `${unit} is in ${names.join(' and ')}`);
  }
  return sim;
}

