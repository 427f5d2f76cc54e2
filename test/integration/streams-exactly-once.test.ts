/**
 * The example wordcount app (exactly_once_v2) deployed by kmf as a streams app on the sim, against a real broker
 * kmf deployed too:
 *  - two instances, records flowing; one instance's JVM SIGKILLed mid-stream ⇒ relaunched (same agent, same
 *    state volume, same group.instance.id), and the output topic read with read_committed holds exactly the
 *    expected counts: every word's final count right, no count ever repeated or stepping back;
 *  - a rolling config update (a new streamsConfig value) while records flow keeps the output exact.
 * The time from the kill to output flowing again in every output partition is printed (not asserted).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, waitFor } from '../helpers/scheduler-harness.js';
import {
  appView,
  countWords,
  createTopics,
  instancePid,
  kmf,
  makeLines,
  OutputReader,
  Producer,
  startStreamsEnv,
  timelineSince,
  waitInstancesReady,
  wordcountSpec,
  type StreamsEnv,
} from './streams-harness.js';

const APP = 'wc-eos';
let env: StreamsEnv;
let producer: Producer;
let reader: OutputReader;

before(async () => {
  env = await startStreamsEnv('streams-eos');
  await createTopics(env, [
    { name: 'words-in', partitions: 4 },
    { name: 'word-counts', partitions: 4 },
  ]);
  producer = new Producer(env.bootstrap);
  await producer.connect();
  reader = new OutputReader(env.bootstrap, `reader-${Date.now()}`);
  await reader.start();
});

after(async () => {
  await stopTrickle?.().catch(() => undefined);
  await producer?.disconnect().catch(() => undefined);
  await reader?.stop().catch(() => undefined);
  await env?.stop();
});

let stopTrickle: (() => Promise<void>) | undefined;

/**
 * Sends a batch of 50 lines every 150 ms in the background until the returned function is called (which
 * resolves once the last batch is acknowledged, or rejects with the producer's error).
 */
function trickle(seed: number): () => Promise<void> {
  let stop = false;
  const sending = (async () => {
    for (let b = 0; !stop && b < 10_000; b++) {
      await producer.send(makeLines(50, seed * 100_000 + b));
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  sending.catch(() => undefined); // reported by the stop function
  stopTrickle = async () => {
    stop = true;
    await sending;
  };
  return stopTrickle;
}

describe('exactly-once wordcount on kmf', { timeout: 600_000 }, () => {
  test('deploys with 2 ready instances; SIGKILL of one mid-stream loses and doubles nothing', async () => {
    // Deployed the way an operator does: kmf app deploy --file spec.json
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-streams-')), 'wordcount.json');
    fs.writeFileSync(file, JSON.stringify(wordcountSpec(APP, { stateVolume: 64 })));
    const deployed = await kmf(env, ['app', 'deploy', '--file', file, '--json']);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.equal((JSON.parse(deployed.stdout) as { app: { spec: { type: string } } }).app.spec.type, 'streams');
    const t0 = Date.now();
    const ready = await waitInstancesReady(env, APP, 2, 240_000);
    console.log(`deploy: 2 instances RUNNING (Streams) ${Date.now() - t0} ms after POST /api/v1/apps`);
    const shown = await appView(env, APP);
    const states = Object.values((shown.streams?.['instances'] ?? {}) as Record<string, { state: string }>).map((s) => s.state);
    assert.equal(states.length, 2, 'GET /api/v1/apps shows each instance\'s Streams state');
    // Ready instances are RUNNING, or REBALANCING when the other one just joined.
    for (const st of states) assert.ok(st === 'RUNNING' || st === 'REBALANCING', st);
    const show = await kmf(env, ['app', 'show', APP]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`streams app ${APP}-app: 2 instance\\(s\\)`));
    assert.match(show.stdout, /STREAMS/);
    assert.match(show.stdout, /RUNNING|REBALANCING/);

    await producer.send(makeLines(1_000, 1));
    await reader.waitExact(countWords(producer.sent), 180_000, 0);

    // Mid-stream: records keep coming while instance 1 dies and comes back.
    const victim = ready.find((i) => i.index === 1)!;
    const stopSending = trickle(2);
    await new Promise((r) => setTimeout(r, 2_000));
    const pid = instancePid(env, APP, 1);
    assert.ok(pid !== undefined, 'found the JVM of instance 1');
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');

    const back = await waitInstancesReady(env, APP, 2, 240_000, (is) => is.some((i) => i.index === 1 && i.taskId !== victim.taskId));
    const readyAt = Date.now();
    const relaunched = back.find((i) => i.index === 1)!;
    assert.notEqual(relaunched.taskId, victim.taskId, 'a new task for instance 1');
    const arrivals = await waitFor('output flowing again in every output partition', () => reader.firstArrivalsAfter(readyAt + 3_000), 180_000, 200);
    const flowingAt = reader.resumedAfter(killedAt) ?? Math.max(...arrivals.values());
    await stopSending();
    await reader.waitExact(countWords(producer.sent), 240_000);
    assert.deepEqual(reader.diff(countWords(producer.sent)), [], 'exact counts after the kill');
    assert.deepEqual(reader.notMonotonic(), [], 'no count repeated or stepped back (nothing processed twice)');

    const entries = (await timelineSince(env, killedAt)).filter((e) => e.unit === `app-${APP}/1`);
    console.log('timeline after the kill (ms since SIGKILL):');
    for (const e of entries) console.log(`  +${e.at - killedAt} ${e.kind}: ${e.message}`);
    console.log(
      `kill → instance 1 RUNNING again ${readyAt - killedAt} ms; kill → output flowing again in all ${arrivals.size} partitions ${flowingAt - killedAt} ms; ` +
        `${producer.sent.length} lines, ${reader.latest.size} words exact`,
    );
  });

  test('a rolling config update keeps the output exact', async () => {
    const before = await appView(env, APP);
    const spec = { ...before.spec, streamsConfig: { 'commit.interval.ms': '200', 'session.timeout.ms': '10000' }, maxUnavailable: 1 };
    delete (spec as Record<string, unknown>)['name'];
    const stopSending = trickle(3);
    await new Promise((r) => setTimeout(r, 1_000));
    const startedAt = Date.now();
    const res = await api(env.scheduler.apiUrl, 'PUT', `/api/v1/apps/${APP}`, spec);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const oldTasks = new Set(before.instances.map((i) => i.taskId));
    await waitInstancesReady(env, APP, 2, 300_000, (is) => is.every((i) => i.taskId !== undefined && !oldTasks.has(i.taskId)));
    await waitFor('the update plan complete', async () => ((await api(env.scheduler.apiUrl, 'GET', '/api/v1/plans/update')).body.plan?.status === 'COMPLETE' ? true : undefined), 60_000, 500);
    console.log(`rolling config update of 2 instances: ${Date.now() - startedAt} ms`);
    await stopSending();
    const after = await appView(env, APP);
    assert.equal((after.spec['streamsConfig'] as Record<string, string>)['commit.interval.ms'], '200');
    await reader.waitExact(countWords(producer.sent), 240_000);
    assert.deepEqual(reader.diff(countWords(producer.sent)), [], 'exact counts after the roll');
    assert.deepEqual(reader.notMonotonic(), [], 'no count repeated or stepped back');
    console.log(`after the roll: ${producer.sent.length} lines, ${reader.latest.size} words exact`);
  });
});
