/**
 * The timeline tells an operator what kmf decided and why, through the API (`GET /api/v1/events`): one app's
 * life, as the real scheduler lives it (in-memory store, real core, the Mesos connection scripted), shows up
 * as launches, a failure with its task id and what Mesos said, the recovery relaunch, declines with the
 * constraint that failed, kills, and the operator's changes with who made them; each of those kinds can be
 * asked for alone, per unit, and paged through without losing or repeating an entry.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Call } from '../../src/mesos/types.js';
import { ALICE, apiFixture, BOB, type ApiFixture } from '../helpers/api-fixture.js';
import { offer, update } from '../helpers/fake-driver.js';

interface Entry {
  seq: number;
  at: number;
  kind: string;
  message: string;
  unit?: string;
  taskId?: string;
  who?: string;
}

interface Page {
  entries: Entry[];
  next: number;
  lastSeq: number;
  truncated: boolean;
}

let f: ApiFixture;

async function events(query: string): Promise<Page> {
  const r = await f.app.inject({ url: `/api/v1/events?${query}`, headers: { authorization: `Bearer ${BOB}` } });
  assert.equal(r.statusCode, 200, r.body);
  return r.json<Page>();
}

async function change(method: 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>): Promise<number> {
  const r = await f.app.inject({ method, url, headers: { authorization: `Bearer ${ALICE}` }, ...(payload === undefined ? {} : { payload }) });
  return r.statusCode;
}

/** Task ids launched by the ACCEPT calls made since call number `from`. */
function launchedSince(from: number): string[] {
  return f.driver
    .callsOf('ACCEPT')
    .slice(from)
    .flatMap((c: Call) => (c.accept?.operations ?? []).flatMap((o) => (o.type === 'LAUNCH' ? (o.launch?.task_infos ?? []).map((t) => t.task_id.value) : [])));
}

/** Offers one agent that fits the app, reports what got launched RUNNING, and returns the task ids. */
async function offerAndRun(agent: string): Promise<string[]> {
  const from = f.driver.callsOf('ACCEPT').length;
  f.driver.emit({ type: 'OFFERS', offers: { offers: [offer(agent, { cpus: 4, mem: 4096 }, 'fw-api-test')] } });
  await f.term().idle();
  const ids = launchedSince(from);
  for (const id of ids) f.driver.emit(update(id, agent, 'TASK_RUNNING'));
  await f.term().idle();
  return ids;
}

before(async () => {
  f = await apiFixture();
});

after(async () => {
  await f?.close();
});

describe('the timeline of one app', () => {
  let firstTask = '';
  let secondTask = '';

  test('a launch: kind launch, the unit, the task id, where and why', async () => {
    assert.equal(await change('POST', '/api/v1/apps', { name: 'tl', instances: 1, cpus: 1, mem: 128, command: 'sleep 1000' }), 201);
    f.driver.subscribe();
    await f.term().idle();
    const ids = await offerAndRun('agent-a');
    assert.equal(ids.length, 1);
    firstTask = ids[0] ?? '';
    const launches = (await events('kind=launch&unit=app-tl/0')).entries;
    assert.equal(launches.length, 1, JSON.stringify(launches));
    assert.equal(launches[0]?.taskId, firstTask);
    assert.match(launches[0]?.message ?? '', /^launching on agent-a\.example \(deploy/);
  });

  test('a failure: the task, what Mesos said, and the recovery relaunch that follows', async () => {
    f.driver.emit(update(firstTask, 'agent-a', 'TASK_FAILED', { message: 'exit status 137', reason: 'REASON_COMMAND_EXECUTOR_FAILED' }));
    await f.term().idle();
    const failures = (await events('kind=failure')).entries;
    assert.equal(failures.length, 1, JSON.stringify(failures));
    assert.equal(failures[0]?.unit, 'app-tl/0');
    assert.equal(failures[0]?.taskId, firstTask);
    assert.match(failures[0]?.message ?? '', new RegExp(`^task ${firstTask} ended unexpectedly: .*TASK_FAILED.*exit status 137`));
    // The first failure of an episode is relaunched at once (no backoff): a recovery launch.
    const ids = await offerAndRun('agent-b');
    assert.equal(ids.length, 1);
    secondTask = ids[0] ?? '';
    assert.notEqual(secondTask, firstTask);
    const relaunch = (await events('kind=launch&unit=app-tl/0')).entries.at(-1);
    assert.equal(relaunch?.taskId, secondTask);
    assert.match(relaunch?.message ?? '', /^launching on agent-b\.example \(recovery/);
  });

  test('declines carry the reason a unit could not use the offer', async () => {
    assert.equal(await change('POST', '/api/v1/apps', { name: 'big', instances: 1, cpus: 48, mem: 128, command: 'sleep 1000' }), 201);
    await f.term().idle();
    f.driver.emit({ type: 'OFFERS', offers: { offers: [offer('agent-c', { cpus: 2, mem: 512 }, 'fw-api-test')] } });
    await f.term().idle();
    const declines = (await events('kind=decline')).entries;
    assert.ok(declines.some((d) => /app-big\/0.*cpus: need 48/.test(d.message)), JSON.stringify(declines));
    assert.equal(await change('DELETE', '/api/v1/apps/big'), 204, 'nothing of it ever ran: it goes at once');
  });

  test('a removal: kills with the reason, and the operator actions with who made them', async () => {
    const status = await change('DELETE', '/api/v1/apps/tl');
    assert.equal(status, 202);
    await f.term().idle();
    const kills = (await events('kind=kill&unit=app-tl/0')).entries;
    assert.ok(kills.some((k) => k.taskId === secondTask && /^kill requested \(/.test(k.message)), JSON.stringify(kills));
    const ops = (await events('kind=operator')).entries;
    assert.deepEqual(
      ops.map((e) => [e.who, e.message.split(':')[0]]),
      [
        ['alice', 'deployed app tl'],
        ['alice', 'deployed app big'],
        ['alice', 'removed app big'],
        ['alice', 'removed app tl'],
      ],
    );
  });

  test('filters combine, and paging with next visits every entry once, oldest first', async () => {
    const all = (await events('limit=1000')).entries;
    assert.ok(all.length >= 8, `${all.length} entries`);
    const kinds = new Set(all.map((e) => e.kind));
    for (const k of ['launch', 'failure', 'decline', 'kill', 'operator']) assert.ok(kinds.has(k), `${k} in ${[...kinds].join(', ')}`);
    const mixed = (await events('kind=failure,kill&unit=app-tl/0')).entries;
    assert.ok(mixed.length >= 2 && mixed.every((e) => (e.kind === 'failure' || e.kind === 'kill') && e.unit === 'app-tl/0'));
    const seen: number[] = [];
    let after = 0;
    for (let i = 0; i < all.length + 2; i++) {
      const p = await events(`after=${after}&limit=2`);
      seen.push(...p.entries.map((e) => e.seq));
      assert.ok(p.next >= after, 'the cursor only moves forward');
      if (p.entries.length < 2) break;
      after = p.next;
    }
    assert.deepEqual(seen.slice(0, all.length), all.map((e) => e.seq));
    assert.equal(new Set(seen).size, seen.length, 'no entry twice');
  });
});
