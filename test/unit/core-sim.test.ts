/**
 * Scripted simulations of the pure core: "send offer / status update; expect launch / decline / revive /
 * plan status". The harness checks persist-before-accept, resource bounds and one-live-task on every step.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { agents, appSpec, brokerSpec, Cluster, launchedIn, ofType, opTypes, Sim } from './core-harness.js';

function threeBrokers(): Sim {
  const sim = new Sim(new Cluster(agents(3)), { units: [brokerSpec(0), brokerSpec(1), brokerSpec(2)] });
  sim.subscribe();
  sim.deployAll();
  sim.advance(60_000);
  return sim;
}

describe('deploy', () => {
  test('subscribe reconciles, revives, then offers become RESERVE + CREATE + LAUNCH after the records are written', () => {
    const sim = new Sim(new Cluster(agents(3)), { units: [brokerSpec(0), brokerSpec(1), brokerSpec(2)] });
    const sub = sim.subscribe();
    assert.deepEqual(ofType(sub, 'reconcile'), [{ type: 'reconcile', tasks: [] }], 'no known tasks: straight to implicit');
    assert.equal(ofType(sub, 'revive').length, 1, 'three units want offers');
    assert.equal(sim.plan('deploy').status, 'PENDING');

    const acts = sim.offerAll();
    assert.equal(acts[0]?.type, 'persist', 'the persist action comes first');
    assert.equal(ofType(acts, 'suppress').length, 1, 'nothing else wants offers: suppress');
    const persist = ofType(acts, 'persist')[0]!;
    assert.equal(persist.tasks.length, 3);
    assert.ok(persist.tasks.every((t) => t.state === 'TASK_STAGING'));
    const accepts = ofType(acts, 'accept');
    assert.equal(accepts.length, 3, 'hostname:UNIQUE puts one broker per agent');
    for (const a of accepts) assert.deepEqual(a.operations.map((o) => o.type), ['RESERVE', 'CREATE', 'LAUNCH']);
    const task = accepts[0]!.operations[2]!.launch!.task_infos![0]!;
    const env = Object.fromEntries((task.command?.environment?.variables ?? []).map((v) => [v.name, v.value]));
    const port = env['KMF_PORT_BROKER'];
    assert.ok(port);
    assert.ok(task.command?.value?.includes(`listeners=PLAINTEXT://${accepts[0]!.launched[0] ? task.agent_id.value.replace('S', 'a') : ''}:${port}`));
    assert.ok(task.resources?.some((r) => r.disk?.persistence?.id !== undefined && r.disk.volume?.container_path === 'data'));
    assert.equal(task.kill_policy?.grace_period?.nanoseconds, '60000000000');
    assert.equal(sim.plan('deploy').status, 'STARTING');

    for (const l of sim.launches) sim.status(l.taskId, 'TASK_RUNNING');
    assert.equal(sim.plan('deploy').status, 'COMPLETE');
    const last = sim.history[sim.history.length - 1]!;
    assert.ok(ofType(last, 'acknowledge').length === 1, 'updates with a uuid are acknowledged');
    const idx = last.findIndex((a) => a.type === 'acknowledge');
    assert.ok(last.findIndex((a) => a.type === 'persist') < idx, 'the ack follows the persist');
  });

  test('an offer nothing can use is declined with a long filter; a too-small one with a short filter', () => {
    const sim = threeBrokers();
    const acts = sim.offer('S0');
    const d = ofType(acts, 'decline')[0]!;
    assert.ok(d.refuseSeconds >= 3600 * 0.9 && d.refuseSeconds <= 3600, `long decline, got ${d.refuseSeconds}`);
    assert.deepEqual(d.reasons, ['nothing to launch']);

    const sim2 = new Sim(new Cluster(agents(1, { cpus: 0.5 })), { units: [brokerSpec(0)] });
    sim2.subscribe();
    const short = ofType(sim2.offerAll(), 'decline')[0]!;
    assert.equal(short.refuseSeconds, 15);
    assert.deepEqual(short.reasons, ['broker-0: cpus: need 1, offer has 0.5']);
  });

  test('serial phases: brokers wait for the controllers phase', () => {
    const controller = (i: number) => brokerSpec(i, { name: `controller-${i}`, kind: 'controller', vars: { nodeId: String(100 + i) }, constraints: [] });
    const sim = new Sim(new Cluster(agents(3)), {
      units: [brokerSpec(0), controller(0), controller(1)],
      phases: [{ name: 'controller', strategy: 'serial' }, { name: 'broker', strategy: 'parallel' }],
    });
    sim.subscribe();
    let acts = sim.offerAll();
    assert.deepEqual(launchedIn(acts).map((l) => l.unit), ['controller-0']);
    assert.equal(sim.step('deploy', 'controller-1')?.status, 'WAITING');
    assert.match(sim.step('deploy', 'controller-1')?.reason ?? '', /serial phase controller: waiting for controller-0/);
    assert.match(sim.step('deploy', 'broker-0')?.reason ?? '', /waiting for phase controller/);
    sim.status(sim.launches[0]!.taskId, 'TASK_RUNNING');
    acts = sim.offerAll();
    assert.deepEqual(launchedIn(acts).map((l) => l.unit), ['controller-1']);
    sim.status(sim.launches[1]!.taskId, 'TASK_RUNNING');
    acts = sim.offerAll();
    assert.deepEqual(launchedIn(acts).map((l) => l.unit), ['broker-0']);
  });
});

describe('self-healing', () => {
  test('TASK_FAILED: immediate relaunch into the same reservation, volume and port', () => {
    const sim = threeBrokers();
    const old = sim.taskOf('broker-1')!;
    const agent = sim.cluster.tasks.get(old)!.agentId;
    const failed = sim.status(old, 'TASK_FAILED', { message: 'Command exited with status 1' });
    assert.equal(failed[0]?.type, 'persist');
    assert.equal(ofType(failed, 'revive').length, 1, 'new work: revive');
    assert.equal(sim.step('recovery', 'broker-1')?.status, 'PENDING');
    assert.equal(sim.step('recovery', 'broker-1')?.recovery, 'TRANSIENT');

    const acts = sim.offer(agent);
    assert.deepEqual(opTypes(acts), ['LAUNCH'], 'no new reservation, no new volume');
    const launched = launchedIn(acts)[0]!;
    assert.equal(launched.unit, 'broker-1');
    assert.match(launched.taskId, /^broker-1__g2__/);
    const rec = sim.core.stored.tasks[launched.taskId]!;
    const prev = sim.store.units['broker-1']!;
    assert.equal(rec.volumeId, prev.reservation?.volumeId);
    assert.equal(sim.store.tasks[old], undefined, 'the ended record of the old generation is dropped');
    sim.status(launched.taskId, 'TASK_RUNNING');
    assert.equal(sim.step('recovery', 'broker-1')?.status, 'COMPLETE');
    assert.equal(sim.core.stored.units['broker-1']?.failures, 1);
    assert.equal(sim.core.stored.units['broker-1']?.firstFailedAt, undefined, 'running again: the outage clock stops');
  });

  test('repeated failures back off; offers meanwhile are declined until the backoff ends', () => {
    const sim = threeBrokers();
    let id = sim.taskOf('broker-0')!;
    const agent = sim.cluster.tasks.get(id)!.agentId;
    sim.status(id, 'TASK_FAILED');
    sim.offer(agent);
    id = sim.taskOf('broker-0')!;
    sim.status(id, 'TASK_RUNNING');
    sim.status(id, 'TASK_FAILED');
    const step = sim.step('recovery', 'broker-0')!;
    assert.equal(step.status, 'DELAYED');
    assert.ok(step.until !== undefined && step.until > sim.now && step.until <= sim.now + 2000);
    const decline = ofType(sim.offer(agent), 'decline')[0]!;
    assert.ok(decline.refuseSeconds >= 1 && decline.refuseSeconds <= 2, `refuse until the backoff ends, got ${decline.refuseSeconds}`);
    const wake = ofType(sim.history[sim.history.length - 1]!, 'wakeAt')[0]!;
    assert.equal(wake.at, step.until);
    sim.now = step.until!;
    sim.send({ type: 'tick' });
    assert.deepEqual(launchedIn(sim.offer(agent)).map((l) => l.unit), ['broker-0']);
  });

  test('a relaunch waits for its own agent; other agents are declined with the reason', () => {
    const sim = threeBrokers();
    const id = sim.taskOf('broker-0')!;
    const agent = sim.cluster.tasks.get(id)!.agentId;
    sim.status(id, 'TASK_LOST', { source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REMOVED' });
    const others = [...sim.cluster.agents.keys()].filter((a) => a !== agent);
    const acts = sim.offer(...others);
    assert.equal(ofType(acts, 'accept').length, 0);
    const reasons = ofType(acts, 'decline').flatMap((d) => d.reasons);
    assert.ok(reasons.every((r) => r.startsWith('broker-0: waits for its reservation on a')), reasons.join('|'));
    assert.ok(ofType(acts, 'decline').every((d) => d.refuseSeconds >= 3000), 'those agents cannot help before escalation (which revives)');
    assert.match(sim.step('recovery', 'broker-0')?.reason ?? '', /waits for its reservation on a\d/);
  });
});

describe('permanent failure', () => {
  test('an unreachable agent: TRANSIENT wait, then PERMANENT replacement with a fresh volume after 20 min; a restart does not reset the clock', () => {
    const cluster = new Cluster(agents(4));
    const sim = new Sim(cluster, { units: [brokerSpec(0), brokerSpec(1), brokerSpec(2)] });
    sim.subscribe();
    sim.deployAll();
    sim.advance(60_000);
    const id = sim.taskOf('broker-0')!;
    const lostAgent = cluster.tasks.get(id)!.agentId;
    const oldRes = sim.store.units['broker-0']!.reservation!;
    const goneAt = sim.now;
    sim.status(id, 'TASK_UNREACHABLE', { source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REMOVED', unreachable_time: { nanoseconds: `${BigInt(goneAt) * 1_000_000n}` } });
    assert.equal(sim.store.units['broker-0']?.firstFailedAt, goneAt, 'the outage clock is persisted');
    const step = sim.step('recovery', 'broker-0')!;
    assert.equal(step.status, 'WAITING');
    assert.equal(step.permanentAt, goneAt + 20 * 60_000);
    assert.match(step.reason ?? '', /unreachable since/);

    sim.advance(10 * 60_000);
    sim.restart();
    sim.subscribe();
    const spare = [...cluster.agents.keys()].find((a) => ![...cluster.tasks.values()].some((t) => t.agentId === a))!;
    assert.equal(launchedIn(sim.offer(spare)).length, 0, 'still TRANSIENT after the restart');

    sim.now = goneAt + 20 * 60_000;
    const esc = sim.send({ type: 'tick' });
    assert.ok(ofType(esc, 'event').some((e) => e.kind === 'escalated'));
    assert.ok(ofType(esc, 'kill').some((k) => k.taskId === id), 'the unreachable task is killed in case it returns');
    assert.equal(sim.store.units['broker-0']?.reservation, undefined);
    assert.equal(sim.store.retired[0]?.rid, oldRes.rid);
    assert.equal(sim.step('recovery', 'broker-0')?.recovery, 'PERMANENT');
    sim.advance(5_000);
    const acts = sim.offer(spare);
    assert.deepEqual(opTypes(acts), ['RESERVE', 'CREATE', 'LAUNCH'], 'fresh reservation and volume');
    const newTask = launchedIn(acts)[0]!.taskId;
    assert.notEqual(sim.core.stored.tasks[newTask]?.volumeId, oldRes.volumeId);
    sim.status(newTask, 'TASK_RUNNING');
    assert.equal(sim.store.units['broker-0']?.replacements, 1);

    // The old agent comes back: its old task is killed, its retired reservation destroyed.
    const back = sim.status(id, 'TASK_RUNNING', { source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REREGISTERED' });
    assert.ok(ofType(back, 'kill').some((k) => k.taskId === id));
    sim.status(id, 'TASK_KILLED');
    const cleanup = sim.offer(lostAgent);
    assert.deepEqual(opTypes(cleanup), ['DESTROY', 'UNRESERVE']);
    assert.deepEqual(cluster.reservationsOn(lostAgent), { volumes: [], reservedMilli: 0 });
    sim.offer(lostAgent);
    assert.deepEqual(sim.store.retired, [], 'forgotten once the agent no longer offers it');
  });

  test('an unreachable unit past its permanent-failure time shows its replace hold in the plan', () => {
    const cluster = new Cluster(agents(4));
    const sim = new Sim(cluster, { units: [brokerSpec(0)], replaceHolds: { 'broker-0': 'the quorum has no majority without it' } });
    sim.subscribe();
    sim.deployAll();
    const id = sim.taskOf('broker-0')!;
    const goneAt = sim.now;
    sim.status(id, 'TASK_UNREACHABLE', { source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REMOVED', unreachable_time: { nanoseconds: `${BigInt(goneAt) * 1_000_000n}` } });
    assert.doesNotMatch(sim.step('recovery', 'broker-0')?.reason ?? '', /replacement held/, 'not due yet: only unreachable');
    sim.now = goneAt + 20 * 60_000;
    sim.send({ type: 'tick' });
    const step = sim.step('recovery', 'broker-0')!;
    assert.equal(step.status, 'WAITING');
    assert.match(step.reason ?? '', /unreachable since .*; replacement held: the quorum has no majority without it/);
    assert.ok(sim.store.units['broker-0']?.reservation, 'held: not replaced');
  });

  test('GONE_BY_OPERATOR escalates at once; a replace hold keeps the unit waiting with the reason', () => {
    const sim = new Sim(new Cluster(agents(4)), { units: [brokerSpec(0)], replaceHolds: { 'broker-0': 'partition t-0 has no other in-sync replica' } });
    sim.subscribe();
    sim.deployAll();
    const id = sim.taskOf('broker-0')!;
    sim.status(id, 'TASK_GONE_BY_OPERATOR', { source: 'SOURCE_MASTER' });
    assert.ok(sim.store.units['broker-0']?.reservation, 'held: not replaced');
    assert.equal(sim.step('recovery', 'broker-0')?.status, 'WAITING');
    assert.match(sim.step('recovery', 'broker-0')?.reason ?? '', /replacement held: partition t-0/);
    sim.setDesired({ units: [brokerSpec(0)] });
    assert.equal(sim.store.units['broker-0']?.reservation, undefined, 'hold lifted: escalated');
    sim.advance(6_000);
    assert.deepEqual(opTypes(sim.offerAll()).filter((o) => o !== 'DESTROY' && o !== 'UNRESERVE'), ['RESERVE', 'CREATE', 'LAUNCH']);
  });
});

describe('reconciliation', () => {
  test('after a restart: explicit for known tasks, then implicit; unknown tasks killed; unanswered ones lost; others not blocked', () => {
    const cluster = new Cluster(agents(3));
    const sim = new Sim(cluster, { units: [brokerSpec(0), brokerSpec(1)] });
    sim.subscribe();
    sim.deployAll();
    const t0 = sim.taskOf('broker-0')!;
    const t1 = sim.taskOf('broker-1')!;
    sim.restart();
    // While the scheduler was down, broker-1's task failed.
    cluster.setState(t1, 'TASK_FAILED', sim.now);
    const sub = sim.subscribe();
    const explicit = ofType(sub, 'reconcile')[0]!;
    assert.deepEqual(explicit.tasks.map((t) => t.taskId).sort(), [t0, t1].sort());
    assert.ok(explicit.tasks.every((t) => t.agentId !== undefined), 'agent ids help the master answer');

    sim.status(t1, 'TASK_FAILED', { source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION', uuid: undefined });
    const acts = sim.offerAll();
    assert.deepEqual(launchedIn(acts).map((l) => l.unit), ['broker-1'], 'reconciliation does not block a unit whose task is known to be over');

    // No answer for t0 yet: retried with backoff.
    const retry = sim.advance(4_000);
    assert.deepEqual(ofType(retry, 'reconcile')[0]?.tasks.map((t) => t.taskId), [t0]);
    const answered = sim.status(t0, 'TASK_RUNNING', { source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION', uuid: undefined });
    assert.equal(ofType(answered, 'acknowledge').length, 0, 'reconciliation updates carry no uuid and are not acknowledged');
    assert.deepEqual(ofType(answered, 'reconcile'), [{ type: 'reconcile', tasks: [] }], 'all answered: implicit');

    // The implicit answer reports a task kmf never launched: killed.
    const unknown = sim.send({ type: 'status', status: { task_id: { value: 'stray-task' }, state: 'TASK_RUNNING', agent_id: { value: 'S2' }, source: 'SOURCE_MASTER' } });
    assert.deepEqual(ofType(unknown, 'kill').map((k) => [k.taskId, k.agentId]), [['stray-task', 'S2']]);
    const zombie = sim.send({ type: 'status', status: { task_id: { value: 'broker-0__g0__deadbeef' }, state: 'TASK_STAGING', agent_id: { value: 'S2' }, source: 'SOURCE_MASTER' } });
    assert.equal(ofType(zombie, 'kill').length, 1);

    // Periodic round after 10 minutes.
    const periodic = sim.advance(10 * 60_000);
    const round = ofType(periodic, 'reconcile')[0]?.tasks.map((t) => t.taskId) ?? [];
    assert.ok(round.includes(t0) && round.includes(sim.taskOf('broker-1')!), round.join());
    assert.ok(round.includes('broker-0__g0__deadbeef'), 'the task being killed is followed too');
  });

  test('a task nobody answers for is lost when reconciliation ends, then relaunched', () => {
    const cluster = new Cluster(agents(3));
    const sim = new Sim(cluster, { units: [brokerSpec(0)] });
    sim.subscribe();
    sim.deployAll();
    const t0 = sim.taskOf('broker-0')!;
    const agent = cluster.tasks.get(t0)!.agentId;
    sim.restart();
    sim.subscribe();
    let sent = 0;
    for (let i = 0; i < 40; i++) sent += ofType(sim.advance(30_000), 'reconcile').filter((r) => r.tasks.length > 0).length;
    assert.ok(sent >= 10 && sent <= 40, `retried ${sent} times with a 30 s cap`);
    assert.equal(sim.store.tasks[t0]?.state, 'TASK_LOST');
    assert.ok(sim.kills.includes(t0));
    cluster.setState(t0, 'TASK_LOST', sim.now);
    assert.deepEqual(launchedIn(sim.offer(agent)).map((l) => l.unit), ['broker-0']);
  });

  test('a task thought lost that reports RUNNING again is adopted when nothing replaced it', () => {
    const cluster = new Cluster(agents(1));
    const sim = new Sim(cluster, { units: [brokerSpec(0)] });
    sim.subscribe();
    sim.deployAll();
    sim.advance(10_000);
    const t0 = sim.taskOf('broker-0')!;
    sim.status(t0, 'TASK_LOST', { source: 'SOURCE_MASTER', reason: 'REASON_AGENT_DISCONNECTED', uuid: undefined });
    assert.equal(sim.taskOf('broker-0'), undefined);
    const back = sim.status(t0, 'TASK_RUNNING', { source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REREGISTERED', uuid: undefined });
    assert.equal(ofType(back, 'kill').length, 0);
    assert.equal(sim.taskOf('broker-0'), t0);
    assert.equal(launchedIn(sim.offerAll()).length, 0);
  });
});

describe('waiting with a reason, never a crash', () => {
  test('a spec that can never be placed: WAITING with the resource and the constraint', () => {
    const sim = new Sim(new Cluster(agents(3)), {
      units: [brokerSpec(0, { resources: { cpus: 64, memMb: 1024 } }), brokerSpec(1, { constraints: [{ field: 'rack', operator: 'IS', value: 'r9' }] })],
    });
    sim.subscribe();
    assert.equal(sim.step('deploy', 'broker-0')?.status, 'PENDING');
    assert.equal(sim.step('deploy', 'broker-0')?.reason, 'waiting for offers');
    const acts = sim.offerAll();
    assert.equal(ofType(acts, 'accept').length, 0);
    const s0 = sim.step('deploy', 'broker-0')!;
    assert.equal(s0.status, 'WAITING');
    assert.match(s0.reason ?? '', /^cpus: need 64, best offer has 4 \(a\d\)$/);
    const s1 = sim.step('deploy', 'broker-1')!;
    assert.equal(s1.status, 'WAITING');
    assert.equal(s1.reason, 'constraint rack:IS:r9 excludes a0, a1, a2');
    assert.equal(sim.plan('deploy').status, 'WAITING');
    assert.ok(ofType(acts, 'decline').every((d) => d.refuseSeconds === 15));
  });

  test('UNIQUE exhausted: the third broker waits with the hosts excluded', () => {
    const sim = new Sim(new Cluster(agents(2)), { units: [brokerSpec(0), brokerSpec(1), brokerSpec(2)] });
    sim.subscribe();
    sim.deployAll(3);
    const s = sim.step('deploy', 'broker-2')!;
    assert.equal(s.status, 'WAITING');
    assert.equal(s.reason, 'constraint hostname:UNIQUE excludes a0, a1');
  });

  test('invalid specs are ERROR steps; a role of "*" cannot reserve; TASK_ERROR shows its message', () => {
    const sim = new Sim(new Cluster(agents(2)), {
      units: [brokerSpec(0, { resources: { cpus: 0, memMb: 10 } }), brokerSpec(1, { role: '*' }), brokerSpec(2)],
    });
    sim.subscribe();
    sim.offerAll();
    assert.equal(sim.step('deploy', 'broker-0')?.status, 'ERROR');
    assert.match(sim.step('deploy', 'broker-0')?.reason ?? '', /resources.cpus must be > 0/);
    assert.match(sim.step('deploy', 'broker-1')?.reason ?? '', /role other than "\*"/);
    const id = sim.taskOf('broker-2')!;
    sim.status(id, 'TASK_ERROR', { source: 'SOURCE_MASTER', reason: 'REASON_TASK_INVALID', message: 'Task uses more resources than available', uuid: undefined });
    let step = sim.step('deploy', 'broker-2')!;
    assert.equal(step.status, 'ERROR');
    assert.equal(step.reason, 'Task uses more resources than available');
    sim.advance(10_000);
    const again = launchedIn(sim.offerAll())[0]!.taskId;
    sim.status(again, 'TASK_ERROR', { message: 'Task uses more resources than available', uuid: undefined });
    step = sim.step('deploy', 'broker-2')!;
    assert.equal(step.status, 'ERROR', 'retried with backoff, still shown as an error');
    assert.match(step.reason ?? '', /backoff after Task uses more resources/);
  });
});

describe('update plan', () => {
  test('a spec change rolls one unit at a time, honours stop holds, and relaunches in place with a top-up RESERVE', () => {
    const sim = threeBrokers();
    const bigger = (i: number) => brokerSpec(i, { resources: { cpus: 1, memMb: 2048 } });
    let acts = sim.setDesired({ units: [bigger(0), bigger(1), bigger(2)], stopHolds: { 'broker-0': 'partition t-1 would drop below min.insync.replicas' } });
    const kills = ofType(acts, 'kill');
    assert.deepEqual(kills.map((k) => k.reason), ['update']);
    const victim = kills[0]!.taskId;
    assert.ok(victim.startsWith('broker-1__'), 'broker-0 is held, broker-1 goes first');
    assert.equal(kills[0]!.gracePeriodSeconds, 60);
    assert.equal(sim.step('update', 'broker-0')?.status, 'WAITING');
    assert.match(sim.step('update', 'broker-0')?.reason ?? '', /held: partition t-1/);
    assert.equal(sim.step('update', 'broker-1')?.status, 'PREPARED');
    assert.equal(sim.step('update', 'broker-2')?.status, 'PENDING');
    assert.equal(sim.plan('update').status, 'STARTING');

    acts = sim.status(victim, 'TASK_KILLED');
    assert.equal(sim.store.units['broker-1']?.failures, 0, 'a requested kill is not a failure');
    const agent = sim.cluster.tasks.get(victim)!.agentId;
    acts = sim.offer(agent);
    assert.deepEqual(opTypes(acts), ['RESERVE', 'LAUNCH'], 'the extra 1024 MB are reserved next to the old reservation');
    const next = launchedIn(acts)[0]!.taskId;
    assert.equal(sim.core.stored.tasks[next]?.launchReason, 'update');
    assert.equal(ofType(sim.advance(1000), 'kill').length, 0, 'one at a time');
    acts = sim.status(next, 'TASK_RUNNING');
    const k2 = ofType(acts, 'kill');
    assert.equal(k2.length, 1);
    assert.ok(k2[0]!.taskId.startsWith('broker-2__'));
    sim.status(k2[0]!.taskId, 'TASK_KILLED');
    sim.offerAll();
    sim.status(sim.taskOf('broker-2')!, 'TASK_RUNNING');
    sim.setDesired({ units: [bigger(0), bigger(1), bigger(2)] });
    const k3 = ofType(sim.history[sim.history.length - 1]!, 'kill');
    assert.ok(k3[0]?.taskId.startsWith('broker-0__'), 'hold lifted: broker-0 rolls');
    sim.status(k3[0]!.taskId, 'TASK_KILLED');
    sim.offerAll();
    sim.status(sim.taskOf('broker-0')!, 'TASK_RUNNING');
    assert.equal(sim.plan('update').status, 'COMPLETE');
    assert.equal(sim.plan('recovery').status, 'COMPLETE');
  });

  test('pause, resume and force-complete', () => {
    const sim = threeBrokers();
    sim.send({ type: 'intent', intent: { kind: 'pause', plan: 'update' } });
    const changed = [0, 1, 2].map((i) => brokerSpec(i, { task: { command: 'new-command' } }));
    assert.equal(ofType(sim.setDesired({ units: changed }), 'kill').length, 0);
    assert.equal(sim.plan('update').status, 'WAITING');
    assert.equal(sim.plan('update').paused, true);
    sim.send({ type: 'intent', intent: { kind: 'forceComplete', plan: 'update', unit: 'broker-0' } });
    assert.equal(sim.step('update', 'broker-0')?.status, 'COMPLETE', 'accepted without a restart');
    const acts = sim.send({ type: 'intent', intent: { kind: 'resume', plan: 'update' } });
    assert.deepEqual(ofType(acts, 'kill').map((k) => k.taskId.split('__')[0]), ['broker-1']);
  });
});

describe('goals and operator intents', () => {
  test('stop keeps the reservation; start relaunches in place; remove destroys it', () => {
    const sim = threeBrokers();
    const id = sim.taskOf('broker-0')!;
    const agent = sim.cluster.tasks.get(id)!.agentId;
    const units = (goal: 'running' | 'stopped' | 'removed') => [brokerSpec(0, { goal }), brokerSpec(1), brokerSpec(2)];
    let acts = sim.setDesired({ units: units('stopped') });
    assert.deepEqual(ofType(acts, 'kill').map((k) => [k.taskId, k.reason]), [[id, 'stop']]);
    sim.status(id, 'TASK_KILLED');
    assert.equal(launchedIn(sim.offer(agent)).length, 0);
    assert.ok(sim.store.units['broker-0']?.reservation);
    assert.equal(sim.core.units(sim.desired, sim.now).find((u) => u.name === 'broker-0')?.state, 'stopped');

    sim.advance(10_000);
    acts = sim.setDesired({ units: units('running') });
    assert.equal(ofType(acts, 'revive').length, 1);
    acts = sim.offer(agent);
    assert.deepEqual(opTypes(acts), ['LAUNCH']);
    assert.equal(sim.core.stored.tasks[launchedIn(acts)[0]!.taskId]?.launchReason, 'start');
    const again = launchedIn(acts)[0]!.taskId;
    sim.status(again, 'TASK_RUNNING');

    acts = sim.setDesired({ units: units('removed') });
    assert.deepEqual(ofType(acts, 'kill').map((k) => k.reason), ['remove']);
    sim.status(again, 'TASK_KILLED');
    assert.equal(sim.store.units['broker-0'], undefined, 'unit state dropped');
    assert.equal(sim.store.retired.length, 1);
    assert.deepEqual(opTypes(sim.offer(agent)), ['DESTROY', 'UNRESERVE']);
    assert.equal(sim.core.units(sim.desired, sim.now).find((u) => u.name === 'broker-0')?.state, 'removed');
  });

  test('restart relaunches in place without backoff; replace moves to another agent with a fresh volume', () => {
    const cluster = new Cluster(agents(4));
    const sim = new Sim(cluster, { units: [brokerSpec(0), brokerSpec(1), brokerSpec(2)] });
    sim.subscribe();
    sim.deployAll();
    sim.advance(10_000);
    const id = sim.taskOf('broker-2')!;
    const agent = cluster.tasks.get(id)!.agentId;
    let acts = sim.send({ type: 'intent', intent: { kind: 'restart', unit: 'broker-2' } });
    assert.deepEqual(ofType(acts, 'kill').map((k) => k.reason), ['restart']);
    sim.status(id, 'TASK_KILLED');
    acts = sim.offer(agent);
    assert.deepEqual(opTypes(acts), ['LAUNCH']);
    const id2 = launchedIn(acts)[0]!.taskId;
    sim.status(id2, 'TASK_RUNNING');
    assert.equal(sim.store.units['broker-2']?.failures, 0);

    sim.advance(10_000);
    acts = sim.send({ type: 'intent', intent: { kind: 'replace', unit: 'broker-2' } });
    assert.deepEqual(ofType(acts, 'kill').map((k) => k.reason), ['replace']);
    sim.status(id2, 'TASK_KILLED');
    assert.equal(sim.store.units['broker-2']?.reservation, undefined);
    sim.advance(6_000);
    acts = sim.offerAll();
    const placed = ofType(acts, 'accept').find((a) => a.launched.length > 0)!;
    assert.notEqual(placed.agentId, agent, 'not back on the agent it left');
    assert.deepEqual(placed.operations.map((o) => o.type), ['RESERVE', 'CREATE', 'LAUNCH']);
    assert.ok(ofType(acts, 'accept').some((a) => a.agentId === agent && a.operations.map((o) => o.type).join() === 'DESTROY,UNRESERVE'));
  });
});

describe('stateless units, references, formats and edge cases', () => {
  test('a unit without reservation moves on after the UNREACHABLE limit; its old task is killed if it returns', () => {
    const cluster = new Cluster(agents(2));
    const sim = new Sim(cluster, { units: [appSpec('app/0', { constraints: [{ field: 'hostname', operator: 'UNIQUE' }] })] });
    sim.subscribe();
    sim.deployAll();
    sim.advance(10_000);
    const id = sim.taskOf('app/0')!;
    const agent = cluster.tasks.get(id)!.agentId;
    sim.status(id, 'TASK_UNREACHABLE', { source: 'SOURCE_MASTER', uuid: undefined });
    const other = [...cluster.agents.keys()].find((a) => a !== agent)!;
    assert.equal(launchedIn(sim.offer(other)).length, 0, 'not before the limit');
    const wake = ofType(sim.history[sim.history.length - 1]!, 'wakeAt')[0]!;
    assert.equal(wake.at, sim.now + 3 * 60_000 - 0);
    sim.now = wake.at;
    const acts = sim.send({ type: 'tick' });
    assert.ok(ofType(acts, 'kill').some((k) => k.taskId === id && k.reason === 'unreachable'));
    assert.equal(sim.store.units['app/0']?.failures, 1);
    sim.advance(6_000);
    const placed = launchedIn(sim.offer(other));
    assert.deepEqual(placed.map((l) => l.unit), ['app/0']);
    assert.match(placed[0]!.taskId, /^app-?\.0__g2__|^app\.0__g2__/);
    sim.status(placed[0]!.taskId, 'TASK_RUNNING');
    const back = sim.status(id, 'TASK_RUNNING', { source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REREGISTERED', uuid: undefined });
    assert.deepEqual(ofType(back, 'kill').map((k) => k.taskId), [id]);
    assert.equal(sim.taskOf('app/0'), placed[0]!.taskId);
  });

  test('units that reference each other reserve first, then launch with the peers endpoints', () => {
    const ctl = (i: number, peer: number) =>
      brokerSpec(i, {
        name: `controller-${i}`,
        kind: 'controller',
        task: { command: `kafka --voters {{unit:controller-${peer}:host}}:{{unit:controller-${peer}:port:broker}} --me {{host}}:{{port:broker}}` },
      });
    const sim = new Sim(new Cluster(agents(2)), { units: [ctl(0, 1), ctl(1, 0)] });
    sim.subscribe();
    const first = sim.offer('S0');
    assert.deepEqual(opTypes(first), ['RESERVE', 'CREATE'], 'pins controller-0 without launching');
    assert.equal(sim.step('deploy', 'controller-0')?.status, 'PREPARED');
    const second = sim.offer('S1');
    assert.deepEqual(opTypes(second), ['RESERVE', 'CREATE', 'LAUNCH'], 'controller-1 sees controller-0 and launches');
    const cmd1 = ofType(second, 'accept')[0]!.operations[2]!.launch!.task_infos![0]!.command!.value!;
    const p0 = sim.store.units['controller-0']!.reservation!.ports['broker'];
    assert.ok(cmd1.startsWith(`kafka --voters a0:${p0} --me a1:`), cmd1);
    const third = sim.offer('S0');
    assert.deepEqual(opTypes(third), ['LAUNCH'], 'controller-0 launches into its reservation');
    const cmd0 = ofType(third, 'accept')[0]!.operations[0]!.launch!.task_infos![0]!.command!.value!;
    assert.ok(cmd0.startsWith('kafka --voters a1:'), cmd0);
  });

  test('offers in the RESERVATION_REFINEMENT format are answered in that format', () => {
    const cluster = new Cluster(agents(1), 'refinement');
    const sim = new Sim(cluster, { units: [brokerSpec(0)] });
    sim.subscribe();
    const acts = sim.offerAll();
    const reserve = ofType(acts, 'accept')[0]!.operations[0]!.reserve!.resources!;
    assert.ok(reserve.every((r) => r.role === undefined && r.reservations?.[0]?.type === 'DYNAMIC' && r.reservations[0].role === 'kafka'));
    const id = sim.taskOf('broker-0')!;
    sim.status(id, 'TASK_RUNNING');
    sim.status(id, 'TASK_FAILED');
    assert.deepEqual(opTypes(sim.offerAll()), ['LAUNCH'], 'reservation recognised in refinement format');
  });

  test('a launch dropped for invalid offers (or an ACCEPT never sent) is retried at once, not counted as a failure', () => {
    const sim = new Sim(new Cluster(agents(2)), { units: [brokerSpec(0), appSpec('web', { phase: 'broker' })] });
    sim.subscribe();
    const acts = sim.offer('S0');
    const ids = launchedIn(acts).map((l) => l.taskId);
    const broker = ids.find((i) => i.startsWith('broker'))!;
    sim.status(broker, 'TASK_DROPPED', { source: 'SOURCE_MASTER', reason: 'REASON_INVALID_OFFERS', uuid: undefined });
    assert.equal(sim.store.units['broker-0']?.failures, 0);
    assert.equal(sim.store.units['broker-0']?.reservation, undefined, 'its RESERVE never happened either');
    const web = ids.find((i) => i.startsWith('web'))!;
    sim.send({ type: 'acceptFailed', offerIds: [], taskIds: [web], message: 'ZooKeeper write failed' });
    assert.equal(sim.store.tasks[web]?.state, 'TASK_DROPPED');
    assert.equal(sim.store.units['web']?.failures, 0);
    sim.cluster.setState(web, 'TASK_DROPPED', sim.now);
    assert.deepEqual(launchedIn(sim.offer('S1')).map((l) => l.unit).sort(), ['broker-0', 'web']);
  });

  test('REVIVE is rate-limited to one per 5 s, and comes when the limit ends', () => {
    const sim = new Sim(new Cluster(agents(3)), { units: [appSpec('a'), appSpec('b')] });
    sim.subscribe();
    sim.deployAll();
    sim.advance(60_000);
    const a = sim.taskOf('a')!;
    const b = sim.taskOf('b')!;
    assert.equal(ofType(sim.status(a, 'TASK_FAILED'), 'revive').length, 1);
    sim.advance(1000);
    const second = sim.status(b, 'TASK_FAILED');
    assert.equal(ofType(second, 'revive').length, 0);
    const wake = ofType(second, 'wakeAt')[0]!;
    assert.equal(wake.why, 'revive rate limit');
    sim.now = wake.at;
    assert.equal(ofType(sim.send({ type: 'tick' }), 'revive').length, 1);
  });

  test('duplicate and out-of-order updates are idempotent', () => {
    const sim = threeBrokers();
    const id = sim.taskOf('broker-0')!;
    const before = JSON.stringify(sim.store);
    const dup = sim.status(id, 'TASK_RUNNING');
    assert.equal(ofType(dup, 'persist').length, 0, 'nothing changed, nothing written');
    assert.equal(ofType(dup, 'acknowledge').length, 1, 'but acknowledged');
    assert.equal(JSON.stringify(sim.store), before);
    sim.status(id, 'TASK_FAILED');
    const failures = sim.store.units['broker-0']?.failures;
    sim.status(id, 'TASK_FAILED');
    sim.status(id, 'TASK_KILLED');
    assert.equal(sim.store.units['broker-0']?.failures, failures, 'a repeated end is not another failure');
  });

  test('readiness: healthy and external units complete only when ready', () => {
    const sim = new Sim(new Cluster(agents(2)), {
      units: [
        appSpec('h', { readiness: 'healthy', task: { command: 'x', healthCheck: { type: 'TCP', port: 'http' } } }),
        appSpec('e', { readiness: 'external' }),
      ],
    });
    sim.subscribe();
    sim.offerAll();
    const h = sim.taskOf('h')!;
    const e = sim.taskOf('e')!;
    sim.status(h, 'TASK_RUNNING');
    sim.status(e, 'TASK_RUNNING');
    assert.equal(sim.step('deploy', 'h')?.status, 'STARTED');
    assert.equal(sim.step('deploy', 'e')?.status, 'STARTED');
    sim.status(h, 'TASK_RUNNING', { healthy: true });
    sim.send({ type: 'readiness', taskId: e, ready: true });
    assert.equal(sim.plan('deploy').status, 'COMPLETE');
  });
});
