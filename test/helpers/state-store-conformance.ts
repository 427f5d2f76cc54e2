import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { KmfError } from '../../src/util/errors.js';
import { MemoryStateStore } from '../../src/state/memory-state-store.js';
import { MAX_NODE_BYTES, type StateOp, type StateStore } from '../../src/state/state-store.js';

/**
 * The contract of StateStore, run against every implementation (MemoryStateStore in a unit test,
 * ZooKeeperStateStore against a real ZooKeeper in an integration test). Each test works under its own fresh
 * path, so the cases share one store and one server.
 */
export function stateStoreConformance(name: string, getStore: () => StateStore): void {
  let counter = 0;
  const fresh = async (): Promise<{ store: StateStore; base: string }> => {
    const store = getStore();
    const base = `/conformance-${process.pid}-${Date.now().toString(36)}-${counter++}`;
    await store.create(base, Buffer.alloc(0));
    return { store, base };
  };
  const b = (s: string): Buffer => Buffer.from(s, 'utf8');

  async function rejectsWith(p: Promise<unknown>, code: string, details: Record<string, unknown> = {}): Promise<KmfError> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof KmfError, `expected a KmfError, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      for (const [k, v] of Object.entries(details)) assert.deepEqual(err.details?.[k], v, `details.${k} of: ${err.message}`);
      return err;
    }
    assert.fail(`expected a rejection with code ${code}`);
  }

  void describe(`StateStore conformance: ${name}`, () => {
    void test('missing nodes: get is undefined, list is empty', async () => {
      const { store, base } = await fresh();
      assert.equal(await store.get(`${base}/nope`), undefined);
      assert.deepEqual(await store.list(`${base}/nope`), []);
    });

    void test('create, then get returns the bytes at version 0; a second create is a conflict', async () => {
      const { store, base } = await fresh();
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      assert.equal(await store.create(`${base}/a`, bytes), 0);
      const got = await store.get(`${base}/a`);
      assert.deepEqual(got, { data: bytes, version: 0 });
      await rejectsWith(store.create(`${base}/a`, b('again')), 'conflict', { reason: 'exists' });
      assert.deepEqual((await store.get(`${base}/a`))?.data, bytes);
    });

    void test('empty data round-trips as an empty buffer', async () => {
      const { store, base } = await fresh();
      await store.create(`${base}/empty`, Buffer.alloc(0));
      const got = await store.get(`${base}/empty`);
      assert.equal(got?.data.length, 0);
      assert.ok(Buffer.isBuffer(got?.data));
    });

    void test('create under a missing parent is not_found', async () => {
      const { store, base } = await fresh();
      await rejectsWith(store.create(`${base}/no/child`, b('x')), 'not_found');
    });

    void test('put with a version is compare-and-set', async () => {
      const { store, base } = await fresh();
      const p = `${base}/cas`;
      await store.create(p, b('v0'));
      assert.equal(await store.put(p, b('v1'), 0), 1);
      assert.equal(await store.put(p, b('v2'), 1), 2);
      await rejectsWith(store.put(p, b('stale'), 1), 'conflict', { reason: 'bad_version' });
      assert.deepEqual(await store.get(p), { data: b('v2'), version: 2 });
      await rejectsWith(store.put(`${base}/missing`, b('x'), 0), 'conflict', { reason: 'no_node' });
    });

    void test("put 'absent' creates only; put 'any' creates or overwrites", async () => {
      const { store, base } = await fresh();
      const p = `${base}/upsert`;
      assert.equal(await store.put(p, b('first'), 'absent'), 0);
      await rejectsWith(store.put(p, b('again'), 'absent'), 'conflict', { reason: 'exists' });
      assert.equal(await store.put(`${base}/u2`, b('new'), 'any'), 0);
      assert.equal(await store.put(`${base}/u2`, b('over'), 'any'), 1);
      assert.deepEqual(await store.get(`${base}/u2`), { data: b('over'), version: 1 });
    });

    void test('delete: versioned, idempotent with any, refuses nodes with children', async () => {
      const { store, base } = await fresh();
      const p = `${base}/d`;
      await store.create(p, b('x'));
      await store.put(p, b('y'), 0);
      await rejectsWith(store.delete(p, 0), 'conflict', { reason: 'bad_version' });
      assert.equal(await store.delete(p, 1), true);
      assert.equal(await store.get(p), undefined);
      assert.equal(await store.delete(p, 'any'), false);
      await rejectsWith(store.delete(p, 3), 'conflict', { reason: 'no_node' });
      await store.create(`${base}/parent`, b(''));
      await store.create(`${base}/parent/kid`, b(''));
      await rejectsWith(store.delete(`${base}/parent`, 'any'), 'not_empty');
    });

    void test('list gives child names, sorted', async () => {
      const { store, base } = await fresh();
      for (const c of ['task-3', 'task-1', 'broker-0', 'task-10']) await store.create(`${base}/${c}`, b(c));
      assert.deepEqual(await store.list(base), ['broker-0', 'task-1', 'task-10', 'task-3']);
    });

    void test('multi applies create, set, delete and check together', async () => {
      const { store, base } = await fresh();
      await store.create(`${base}/keep`, b('k0'));
      await store.create(`${base}/gone`, b('g'));
      await store.create(`${base}/guard`, b('g'));
      const results = await store.multi([
        { op: 'check', path: `${base}/guard`, version: 0 },
        { op: 'create', path: `${base}/new`, data: b('n') },
        { op: 'create', path: `${base}/new/child`, data: b('c') },
        { op: 'set', path: `${base}/keep`, data: b('k1'), version: 0 },
        { op: 'delete', path: `${base}/gone`, version: 0 },
      ]);
      assert.deepEqual(results, [
        { op: 'check', path: `${base}/guard` },
        { op: 'create', path: `${base}/new`, version: 0 },
        { op: 'create', path: `${base}/new/child`, version: 0 },
        { op: 'set', path: `${base}/keep`, version: 1 },
        { op: 'delete', path: `${base}/gone` },
      ]);
      assert.deepEqual(await store.get(`${base}/keep`), { data: b('k1'), version: 1 });
      assert.equal(await store.get(`${base}/gone`), undefined);
      assert.deepEqual(await store.get(`${base}/new/child`), { data: b('c'), version: 0 });
    });

    void test('multi is all-or-nothing and names the failing op', async () => {
      const { store, base } = await fresh();
      await store.create(`${base}/x`, b('x0'));
      await rejectsWith(
        store.multi([
          { op: 'create', path: `${base}/would-be`, data: b('w') },
          { op: 'set', path: `${base}/x`, data: b('x1'), version: 7 },
          { op: 'delete', path: `${base}/x`, version: 'any' },
        ]),
        'conflict',
        { index: 1, path: `${base}/x`, reason: 'bad_version' },
      );
      assert.equal(await store.get(`${base}/would-be`), undefined);
      assert.deepEqual(await store.get(`${base}/x`), { data: b('x0'), version: 0 });
      await rejectsWith(store.multi([{ op: 'create', path: `${base}/missing/child`, data: b('') }]), 'not_found', { index: 0 });
      await rejectsWith(store.multi([{ op: 'check', path: `${base}/missing`, version: 'any' }]), 'conflict', { index: 0, reason: 'no_node' });
      await rejectsWith(store.multi([{ op: 'create', path: `${base}/x`, data: b('') }]), 'conflict', { index: 0, reason: 'exists' });
    });

    void test('multi honours version 0 (a check/set/delete of a node just created is not unconditional)', async () => {
      const { store, base } = await fresh();
      const p = `${base}/v0`;
      await store.create(p, b('a'));
      await store.put(p, b('b'), 0); // now at version 1
      await rejectsWith(store.multi([{ op: 'check', path: p, version: 0 }]), 'conflict', { reason: 'bad_version' });
      await rejectsWith(store.multi([{ op: 'set', path: p, data: b('c'), version: 0 }]), 'conflict', { reason: 'bad_version' });
      await rejectsWith(store.multi([{ op: 'delete', path: p, version: 0 }]), 'conflict', { reason: 'bad_version' });
      assert.deepEqual(await store.get(p), { data: b('b'), version: 1 });
      await store.create(`${base}/fresh`, b('f'));
      await store.multi([
        { op: 'check', path: `${base}/fresh`, version: 0 },
        { op: 'set', path: `${base}/fresh`, data: b('g'), version: 0 },
      ]);
      assert.deepEqual(await store.get(`${base}/fresh`), { data: b('g'), version: 1 });
    });

    void test('an empty multi succeeds with no results', async () => {
      const { store } = await fresh();
      assert.deepEqual(await store.multi([]), []);
    });

    void test('ensurePath creates missing ancestors and is idempotent', async () => {
      const { store, base } = await fresh();
      await store.ensurePath(`${base}/a/b/c`);
      await store.ensurePath(`${base}/a/b/c`);
      assert.deepEqual(await store.list(`${base}/a`), ['b']);
      assert.deepEqual(await store.get(`${base}/a/b/c`), { data: Buffer.alloc(0), version: 0 });
    });

    void test('readTree returns the node and every descendant with its version', async () => {
      const { store, base } = await fresh();
      await store.ensurePath(`${base}/tasks`);
      for (let i = 0; i < 25; i++) await store.create(`${base}/tasks/t${i}`, b(`task ${i}`));
      await store.create(`${base}/tasks/t3/volume`, b('vol'));
      await store.put(`${base}/tasks/t7`, b('task 7 v1'), 0);
      const tree = await store.readTree(base);
      assert.equal(tree.size, 1 + 1 + 25 + 1);
      assert.deepEqual(tree.get(`${base}/tasks/t7`), { data: b('task 7 v1'), version: 1 });
      assert.deepEqual(tree.get(`${base}/tasks/t3/volume`), { data: b('vol'), version: 0 });
      assert.deepEqual((await store.readTree(`${base}/nothing`)).size, 0);
    });

    void test('data over the node size limit is too_large; bad paths are invalid_path', async () => {
      const { store, base } = await fresh();
      await rejectsWith(store.create(`${base}/big`, Buffer.alloc(MAX_NODE_BYTES + 1)), 'too_large');
      await rejectsWith(store.multi([{ op: 'create', path: `${base}/big`, data: Buffer.alloc(MAX_NODE_BYTES + 1) }]), 'too_large');
      for (const bad of ['relative', `${base}/trailing/`, `${base}//double`, `${base}/./dot`, '']) {
        await rejectsWith(store.get(bad), 'invalid_path');
      }
    });

    void test('random op sequences give the same results, errors and final tree as the in-memory model', async () => {
      const { store, base } = await fresh();
      let run = 0;
      const names = ['a', 'b', 'c'];
      const pathArb = fc
        .array(fc.constantFrom(...names), { minLength: 1, maxLength: 2 })
        .map((parts) => parts.join('/'));
      const versionArb = fc.oneof(fc.constant<'any'>('any'), fc.integer({ min: 0, max: 2 }));
      const dataArb = fc.string({ maxLength: 4 }).map((s) => Buffer.from(s, 'utf8'));
      type Step =
        | { kind: 'put'; path: string; data: Buffer; expected: number | 'any' | 'absent' }
        | { kind: 'delete'; path: string; expected: number | 'any' }
        | { kind: 'multi'; ops: { op: StateOp['op']; path: string; data: Buffer; version: number | 'any' }[] };
      const stepArb: fc.Arbitrary<Step> = fc.oneof(
        fc.record({ kind: fc.constant<'put'>('put'), path: pathArb, data: dataArb, expected: fc.oneof(versionArb, fc.constant<'absent'>('absent')) }),
        fc.record({ kind: fc.constant<'delete'>('delete'), path: pathArb, expected: versionArb }),
        fc.record({
          kind: fc.constant<'multi'>('multi'),
          ops: fc.array(
            fc.record({ op: fc.constantFrom<StateOp['op']>('create', 'set', 'delete', 'check'), path: pathArb, data: dataArb, version: versionArb }),
            { maxLength: 4 },
          ),
        }),
      );
      const outcome = async (p: Promise<unknown>): Promise<unknown> => {
        try {
          return { ok: await p };
        } catch (err) {
          if (!(err instanceof KmfError)) throw err;
          return { code: err.code, index: err.details?.['index'] };
        }
      };
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { maxLength: 12 }), async (steps) => {
          const root = `${base}/run-${run++}`;
          await store.create(root, Buffer.alloc(0));
          const model = new MemoryStateStore();
          await model.ensurePath(root);
          for (const step of steps) {
            const full = (p: string): string => `${root}/${p}`;
            const apply = (s: StateStore): Promise<unknown> => {
              switch (step.kind) {
                case 'put':
                  return s.put(full(step.path), step.data, step.expected);
                case 'delete':
                  return s.delete(full(step.path), step.expected);
                case 'multi':
                  return s.multi(
                    step.ops.map((o): StateOp => {
                      switch (o.op) {
                        case 'create':
                          return { op: 'create', path: full(o.path), data: o.data };
                        case 'set':
                          return { op: 'set', path: full(o.path), data: o.data, version: o.version };
                        case 'delete':
                          return { op: 'delete', path: full(o.path), version: o.version };
                        case 'check':
                          return { op: 'check', path: full(o.path), version: o.version };
                      }
                    }),
                  );
              }
            };
            assert.deepEqual(await outcome(apply(store)), await outcome(apply(model)), JSON.stringify(step));
          }
          assert.deepEqual(await store.readTree(root), await model.readTree(root));
        }),
        { numRuns: 25 },
      );
    });
  });
}
