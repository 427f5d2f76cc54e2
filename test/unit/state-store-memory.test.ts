import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KmfError } from '../../src/util/errors.js';
import { MemoryStateStore } from '../../src/state/memory-state-store.js';
import { stateStoreConformance } from '../helpers/state-store-conformance.js';

const store = new MemoryStateStore();
stateStoreConformance('MemoryStateStore', () => store);

void test('MemoryStateStore copies data in and out', async () => {
  const s = new MemoryStateStore();
  const data = Buffer.from('abc');
  await s.create('/n', data);
  data[0] = 0x7a;
  const got = await s.get('/n');
  assert.equal(got?.data.toString(), 'abc');
  assert.ok(got !== undefined);
  got.data[1] = 0x7a;
  assert.equal((await s.get('/n'))?.data.toString(), 'abc');
});

void test('MemoryStateStore refuses calls after close', async () => {
  const s = new MemoryStateStore();
  await s.close();
  await assert.rejects(s.get('/'), (err: unknown) => err instanceof KmfError && err.code === 'unavailable');
});
