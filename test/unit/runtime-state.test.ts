/**
 * The runtime's state plumbing: the znode codec (StoredState ↔ znodes, persist merging, transaction
 * chunking), the StateWriter (fenced multis, retries after an unknown outcome) and the desired-state
 * composition of apps (instances beyond the count stay as "removed" until the core drops them).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { PersistAction } from '../../src/core/actions.js';
import { emptyStored, type TaskRecord, type UnitRuntime } from '../../src/core/state.js';
import { appsDesiredInput, type AppRecord } from '../../src/runtime/apps.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { chunkGroups, decodeState, fullWrites, opsFor, persistWrites, taskPath, unitPath } from '../../src/runtime/state-codec.js';
import { StateWriter } from '../../src/runtime/state-writer.js';
import { MemoryStateStore } from '../../src/state/memory-state-store.js';
import type { StateOp, StateOpResult } from '../../src/state/state-store.js';
import { KmfError } from '../../src/util/errors.js';
import { testLogger } from '../../src/util/log.js';

function unit(name: string, generation = 1): UnitRuntime {
  return { name, generation, failures: 0, everReady: true, replacements: 0 };
}

function task(unitName: string, generation: number, pad = ''): TaskRecord {
  return {
    taskId: `${unitName.replaceAll('/', '.')}__g${generation}__0000000${generation % 10}`,
    unit: unitName,
    generation,
    agentId: 'agent-1',
    hostname: 'h1',
    attributes: { rack: 'r1' },
    state: 'TASK_RUNNING',
    launchedAt: 1,
    updatedAt: 2,
    specVersion: 'v1' + pad,
    ports: { http: 31000 },
    launchReason: 'deploy',
    ready: true,
  };
}

function persist(p: Partial<PersistAction>): PersistAction {
  return { type: 'persist', units: [], tasks: [], deleteUnits: [], deleteTasks: [], ...p };
}

async function writer(store = new MemoryStateStore(), limits?: { maxBytes: number; maxOps: number }): Promise<{ w: StateWriter; store: MemoryStateStore }> {
  const w = new StateWriter({ store, paths: new Set(), logger: testLogger(), metrics: new Metrics(), stillLeading: () => true, ...(limits ? { limits } : {}) });
  await w.ensureLayout();
  return { w, store };
}

describe('state codec', () => {
  test('unit names with / map to one znode each; task ids as they are', () => {
    assert.equal(unitPath('app-web/3'), '/state/units/app-web.3');
    assert.equal(taskPath('app-web.3__g2__0badcafe'), '/state/tasks/app-web.3__g2__0badcafe');
  });

  test('persist → znodes → decode gives the same stored state', async () => {
    const { w, store } = await writer();
    const stored = emptyStored();
    for (let i = 0; i < 5; i++) {
      stored.units[`app-a/${i}`] = unit(`app-a/${i}`, 2);
      const t = task(`app-a/${i}`, 2);
      stored.tasks[t.taskId] = t;
    }
    stored.controls = { paused: { deploy: true, recovery: false, update: false }, deployForced: ['app-a/1'] };
    stored.retired = [{ rid: 'r1', unit: 'app-a/0', agentId: 'agent-9', retiredAt: 5 }];
    await w.persist([fullWrites(stored)]);
    await w.writeFrameworkId('fw-42');
    const decoded = decodeState(await store.readTree('/'));
    assert.deepEqual(decoded.stored, stored);
    assert.equal(decoded.frameworkId, 'fw-42');
    assert.deepEqual(decoded.problems, []);
  });

  test('later persists win; deletes of znodes that never existed are no-ops', async () => {
    const { w, store } = await writer();
    const t1 = task('app-a/0', 1);
    await w.persist([persist({ units: [unit('app-a/0')], tasks: [t1] }), persist({ tasks: [{ ...t1, state: 'TASK_FAILED' }], deleteTasks: ['never-written'] })]);
    assert.equal(JSON.parse((await store.get(taskPath(t1.taskId)))!.data.toString()).state, 'TASK_FAILED');
    await w.persist([persist({ deleteUnits: ['app-a/0'], deleteTasks: [t1.taskId] }), persist({ units: [unit('app-a/0', 2)] })]);
    assert.equal(JSON.parse((await store.get(unitPath('app-a/0')))!.data.toString()).generation, 2);
    assert.equal(await store.get(taskPath(t1.taskId)), undefined);
  });

  test('an unknown schema refuses to load; an unreadable record is skipped and reported', () => {
    const bad = new Map([['/state', { data: Buffer.from('{"schema":99}'), version: 0 }]]);
    assert.throws(() => decodeState(bad), (e: unknown) => e instanceof KmfError && e.code === 'corrupt_state');
    const skip = decodeState(new Map([['/state/tasks/x', { data: Buffer.from('nope'), version: 0 }]]));
    assert.equal(Object.keys(skip.stored.tasks).length, 0);
    assert.equal(skip.problems.length, 1);
  });

  test('chunks stay under the limits and keep a unit with its tasks (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ n: fc.integer({ min: 0, max: 40 }), tasks: fc.integer({ min: 0, max: 4 }), pad: fc.integer({ min: 0, max: 3000 }) }), { maxLength: 40 }), fc.integer({ min: 5, max: 50 }), (units, maxOps) => {
        const maxBytes = 20_000;
        const p = persist({});
        const seen = new Set<string>();
        for (const u of units) {
          const name = `app-p/${u.n}`;
          if (seen.has(name)) continue;
          seen.add(name);
          p.units.push(unit(name));
          for (let g = 1; g <= u.tasks; g++) p.tasks.push(task(name, g, 'x'.repeat(u.pad)));
        }
        const groups = [...persistWrites([p]).values()].map((g) => opsFor(g, () => false));
        const chunks = chunkGroups(groups, { maxBytes, maxOps });
        const all = chunks.flat();
        assert.equal(all.length, p.units.length + p.tasks.length);
        const size = (op: StateOp): number => op.path.length + (op.op === 'create' || op.op === 'set' ? op.data.length : 0) + 32;
        for (const c of chunks) {
          assert.ok(c.length <= maxOps);
          const bytes = c.reduce((n, op) => n + size(op), 0);
          assert.ok(c.length === 1 || bytes <= maxBytes, `chunk of ${c.length} ops has ${bytes} bytes`);
        }
        // A unit's ops are split only when the unit alone exceeds a limit.
        for (const g of groups) {
          const fits = g.ops.length <= maxOps && g.bytes <= maxBytes;
          if (!fits || g.ops.length === 0) continue;
          const where = new Set(g.ops.map((op) => chunks.findIndex((c) => c.includes(op))));
          assert.equal(where.size, 1);
        }
      }),
    );
  });

  test('a large persist goes out as several transactions and all of it lands', async () => {
    const { w, store } = await writer(new MemoryStateStore(), { maxBytes: 4_000, maxOps: 10 });
    const p = persist({});
    for (let i = 0; i < 50; i++) {
      p.units.push(unit(`app-big/${i}`));
      p.tasks.push(task(`app-big/${i}`, 1));
    }
    const multi = store.multi.bind(store);
    let transactions = 0;
    store.multi = (ops: readonly StateOp[]): Promise<StateOpResult[]> => {
      transactions++;
      return multi(ops);
    };
    await w.persist([p]);
    assert.ok(transactions >= 10);
    assert.equal((await store.list('/state/tasks')).length, 50);
    assert.equal((await store.list('/state/units')).length, 50);
  });

  test('unavailable with an unknown outcome: re-read, retry, and the write lands once', async () => {
    const { w, store } = await writer();
    const multi = store.multi.bind(store);
    let calls = 0;
    store.multi = async (ops: readonly StateOp[]): Promise<StateOpResult[]> => {
      calls++;
      if (calls === 1) {
        // Applied on the server, but the answer was lost.
        await multi(ops);
        throw new KmfError('unavailable', 'connection lost', { retriable: true });
      }
      return multi(ops);
    };
    const t = task('app-r/0', 1);
    await w.persist([persist({ units: [unit('app-r/0')], tasks: [t] })]);
    assert.equal(calls, 2);
    assert.equal(JSON.parse((await store.get(taskPath(t.taskId)))!.data.toString()).taskId, t.taskId);
  });

  test('a waiter runs right after the transaction with its own records, which goes first; the others wait for all', async () => {
    const { w, store } = await writer(new MemoryStateStore(), { maxBytes: 4_000, maxOps: 10 });
    const p = persist({});
    for (let i = 0; i < 50; i++) {
      p.units.push(unit(`app-big/${i}`));
      p.tasks.push(task(`app-big/${i}`, 1));
    }
    const multi = store.multi.bind(store);
    let transactions = 0;
    store.multi = async (ops: readonly StateOp[]): Promise<StateOpResult[]> => {
      const r = await multi(ops);
      transactions++;
      return r;
    };
    const last = task('app-big/49', 1);
    const ran: Array<{ name: string; after: number; present: Promise<boolean> }> = [];
    const seen = (name: string, path: string) => (): void => {
      // MemoryStateStore reads at the call: the promise holds what the store had when the waiter ran.
      ran.push({ name, after: transactions, present: store.get(path).then((n) => n !== undefined) });
    };
    await w.persist(
      [p],
      [
        { taskIds: [last.taskId], units: [], run: seen('launch', taskPath(last.taskId)) },
        { taskIds: ['not-in-this-persist'], units: ['app-other/0'], run: seen('unrelated', unitPath('app-big/0')) },
      ],
    );
    assert.ok(transactions >= 10);
    assert.deepEqual(
      ran.map((r) => [r.name, r.after]),
      [
        ['launch', 1],
        ['unrelated', transactions],
      ],
    );
    for (const r of ran) assert.equal(await r.present, true);
    assert.equal((await store.list('/state/tasks')).length, 50);
  });

  test('the groups someone waits for get a transaction of their own', async () => {
    const { w, store } = await writer();
    const p = persist({});
    for (let i = 0; i < 50; i++) {
      p.units.push(unit(`app-s/${i}`));
      p.tasks.push(task(`app-s/${i}`, 1));
    }
    const multi = store.multi.bind(store);
    const transactions: string[][] = [];
    store.multi = (ops: readonly StateOp[]): Promise<StateOpResult[]> => {
      transactions.push(ops.map((o) => o.path));
      return multi(ops);
    };
    // Earlier records of app-s/30 and app-s/10, deleted by this persist (a deletion has a group of its own).
    const old30 = task('app-s/30', 7);
    const old10 = task('app-s/10', 7);
    await w.persist([persist({ tasks: [old30, old10] })]);
    transactions.length = 0;
    p.deleteTasks.push(old10.taskId, old30.taskId);
    const t = task('app-s/30', 1);
    let ranAfter = -1;
    await w.persist([p], [{ taskIds: [t.taskId], units: ['app-s/30'], run: () => (ranAfter = transactions.length) }]);
    assert.deepEqual(transactions[0], [unitPath('app-s/30'), taskPath(t.taskId), taskPath(old30.taskId)], 'the launch, with the end of the task it replaces');
    assert.equal(transactions.length, 2, 'the other 49 units and tasks (and the other deletion) in one transaction after it');
    assert.equal(transactions[1]!.length, 99);
    assert.equal(ranAfter, 1);
  });

  test('waiters run once each, with their records (and their units\' records) in the store (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.integer({ min: 0, max: 35 }), { maxLength: 6 }),
        fc.integer({ min: 2, max: 12 }),
        async (units, wanted, maxOps) => {
          const { w, store } = await writer(new MemoryStateStore(), { maxBytes: 100_000, maxOps });
          const p = persist({});
          for (let i = 0; i < units; i++) {
            p.units.push(unit(`app-p/${i}`));
            p.tasks.push(task(`app-p/${i}`, 1));
          }
          const runs = new Map<number, number>();
          const problems: string[] = [];
          const waiters = wanted.map((i, k) => {
            const t = task(`app-p/${i}`, 1);
            return {
              taskIds: [t.taskId],
              units: [`app-p/${i}`],
              run: (): void => {
                runs.set(k, (runs.get(k) ?? 0) + 1);
                if (i >= units) return;
                // MemoryStateStore reads at the call: these are the records as they were when the waiter ran.
                void Promise.all([store.get(taskPath(t.taskId)), store.get(unitPath(`app-p/${i}`))]).then(([a, b]) => {
                  if (a === undefined || b === undefined) problems.push(`waiter ${k} ran before the records of app-p/${i}`);
                });
              },
            };
          });
          await w.persist([p], waiters);
          await new Promise((r) => setImmediate(r));
          assert.deepEqual(problems, []);
          assert.deepEqual([...runs.values()], wanted.map(() => 1));
        },
      ),
      { numRuns: 50 },
    );
  });

  test('a waiter whose transaction never lands never runs', async () => {
    const { w, store } = await writer(new MemoryStateStore(), { maxBytes: 100_000, maxOps: 2 });
    const multi = store.multi.bind(store);
    let calls = 0;
    store.multi = (ops: readonly StateOp[]): Promise<StateOpResult[]> => (++calls === 2 ? Promise.reject(new KmfError('fenced', 'deposed')) : multi(ops));
    const ran: string[] = [];
    const a = task('app-a/0', 1);
    const b = task('app-b/0', 1);
    await assert.rejects(
      w.persist(
        [persist({ units: [unit('app-a/0'), unit('app-b/0')], tasks: [a, b] })],
        [
          { taskIds: [a.taskId], units: ['app-a/0'], run: () => ran.push('a') },
          { taskIds: [b.taskId], units: ['app-b/0'], run: () => ran.push('b') },
        ],
      ),
      (e: unknown) => e instanceof KmfError && e.code === 'fenced',
    );
    assert.deepEqual(ran, ['a']);
  });

  test('fenced is not retried', async () => {
    const { w, store } = await writer();
    store.multi = (): Promise<StateOpResult[]> => Promise.reject(new KmfError('fenced', 'deposed'));
    await assert.rejects(w.persist([persist({ units: [unit('app-f/0')] })]), (e: unknown) => e instanceof KmfError && e.code === 'fenced');
  });
});

describe('apps in the desired state', () => {
  const rec = (name: string, instances: number, removing = false, createdAt = '2026-01-01T00:00:00Z'): AppRecord => ({
    spec: { name, instances, cpus: 0.1, mem: 32, command: 'sleep 1' },
    removing,
    createdAt,
    updatedAt: createdAt,
  });

  test('instances beyond the count, apps being removed and orphans stay until dropped, as removed', () => {
    const apps = new Map([
      ['a', rec('a', 2)],
      ['b', rec('b', 1, true, '2026-01-02T00:00:00Z')],
    ]);
    const input = appsDesiredInput(apps, ['app-a/0', 'app-a/1', 'app-a/2', 'app-b/0', 'app-gone/0', 'broker-1']);
    const goals = Object.fromEntries(input.units.map((u) => [u.name, u.goal]));
    assert.deepEqual(goals, {
      'app-a/0': 'running',
      'app-a/1': 'running',
      'app-a/2': 'removed',
      'app-b/0': 'removed',
      'app-gone/0': 'removed',
      'broker-1': 'removed',
    });
    assert.deepEqual(
      input.phases?.map((p) => p.name),
      ['app-a', 'app-b'],
    );
  });
});
