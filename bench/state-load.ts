/**
 * Start-up load of kmf's state from a real ZooKeeper: writes N task znodes (default 10,000, about 300 bytes of
 * JSON each, under /tasks/<app>/<task>) and then times `readTree('/')` from a fresh session, several times.
 * The budget is < 2 s for 10,000 task znodes. Prints figures; asserts nothing.
 *
 *   node --import tsx bench/state-load.ts [--tasks 10000] [--runs 3] [--concurrency 1000]
 */
import { parseArgs } from 'node:util';
import { jsonData } from '../src/state/state-store.js';
import { ZooKeeperStateStore } from '../src/state/zookeeper-state-store.js';
import type { StateOp } from '../src/state/state-store.js';
import { startZooKeeper } from '../test/helpers/zookeeper.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1000' },
  },
});
const tasks = Number(values.tasks);
const runs = Number(values.runs);
const concurrency = Number(values.concurrency);
const APPS = 20;

function task(i: number): unknown {
  return {
    id: `task-${i}`,
    taskId: `kmf-broker-${i}-${'0'.repeat(8)}-4c2e-9a8f-1b3d5e7f9a0b`,
    kind: i % 3 === 0 ? 'broker' : 'streams',
    state: 'TASK_RUNNING',
    agentId: `agent-${i % 50}-S${i % 7}`,
    hostname: `agent-${i % 50}.example.internal`,
    ports: [31000 + (i % 1000), 32000 + (i % 1000)],
    resources: { cpus: 1, mem: 2048, disk: 10240 },
    reservation: { role: 'kmf', principal: 'kmf', labels: { volume: `vol-${i}` } },
    launchedAt: '2026-11-25T03:00:00.000Z',
    attempts: i % 4,
  };
}

const zk = await startZooKeeper();
try {
  const writer = await ZooKeeperStateStore.connect(`${zk.connectString}/kmf-bench`);
  const t0 = performance.now();
  await writer.ensurePath('/tasks');
  for (let a = 0; a < APPS; a++) await writer.create(`/tasks/app-${a}`, jsonData({ app: a }));
  let batch: StateOp[] = [];
  let bytes = 0;
  for (let i = 0; i < tasks; i++) {
    const data = jsonData(task(i));
    bytes += data.length;
    batch.push({ op: 'create', path: `/tasks/app-${i % APPS}/task-${i}`, data });
    if (batch.length === 500 || i === tasks - 1) {
      await writer.multi(batch);
      batch = [];
    }
  }
  const writeMs = performance.now() - t0;
  await writer.close();
  console.log(`wrote ${tasks} task znodes (${Math.round(bytes / tasks)} bytes each) in ${writeMs.toFixed(0)} ms (multi batches of 500)`);

  for (let r = 1; r <= runs; r++) {
    const tc = performance.now();
    const reader = await ZooKeeperStateStore.connect(`${zk.connectString}/kmf-bench`, { readConcurrency: concurrency });
    const connectMs = performance.now() - tc;
    const t1 = performance.now();
    const tree = await reader.readTree('/');
    const readMs = performance.now() - t1;
    await reader.close();
    const taskCount = [...tree.keys()].filter((k) => /^\/tasks\/app-\d+\/task-\d+$/.test(k)).length;
    console.log(
      `run ${r}: readTree('/') loaded ${tree.size} znodes (${taskCount} tasks) in ${readMs.toFixed(0)} ms ` +
        `(${Math.round((tree.size / readMs) * 1000)} znodes/s, ${concurrency} in flight; connect ${connectMs.toFixed(0)} ms)`,
    );
  }
} finally {
  await zk.stop();
}
