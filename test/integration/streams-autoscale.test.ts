/**
 * The lag autoscaler on the real thing: a backlog in the input topic (4 partitions) before the wordcount app
 * starts with 1 instance makes the autoscaler raise it to the partition count (its max is higher); once the
 * backlog is processed, the app comes back down to its min after the (short) cooldown. Every decision is in the
 * timeline with its numbers, the lag is a Prometheus gauge, and the output is exact.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, API_TOKEN, waitFor } from '../helpers/scheduler-harness.js';
import { appView, countWords, createTopics, kmf, makeLines, OutputReader, Producer, startStreamsEnv, timelineSince, waitInstancesReady, wordcountSpec, type StreamsEnv } from './streams-harness.js';

const APP = 'wc-auto';
let env: StreamsEnv;
let producer: Producer;
let reader: OutputReader;

before(async () => {
  env = await startStreamsEnv('streams-autoscale');
  await createTopics(env, [
    { name: 'words-in', partitions: 4 },
    { name: 'word-counts', partitions: 4 },
  ]);
  producer = new Producer(env.bootstrap);
  await producer.connect();
  reader = new OutputReader(env.bootstrap, `reader-${Date.now()}`);
});

after(async () => {
  await producer?.disconnect().catch(() => undefined);
  await reader?.stop().catch(() => undefined);
  await env?.stop();
});

describe('lag autoscaler', { timeout: 600_000 }, () => {
  test('a backlog scales the app up to the partition count; drained, it scales down after the cooldown', async () => {
    await producer.send(makeLines(6_000, 11));
    const startedAt = Date.now();
    const spec = wordcountSpec(APP, {
      instances: 1,
      autoscale: { min: 1, max: 6, targetLagPerInstance: 200, cooldownSeconds: 15, inputTopics: ['words-in'] },
    });
    // max 6 > 4 partitions: refused while the partition count is known.
    const tooMany = await api(env.scheduler.apiUrl, 'POST', '/api/v1/apps', spec);
    assert.equal(tooMany.status, 400, JSON.stringify(tooMany.body));
    assert.match(JSON.stringify(tooMany.body), /autoscale\.max \(6\) is more than the input topics' 4 partition/);
    const res = await api(env.scheduler.apiUrl, 'POST', '/api/v1/apps', { ...spec, autoscale: { min: 1, max: 4, targetLagPerInstance: 200, cooldownSeconds: 15, inputTopics: ['words-in'] } });
    assert.equal(res.status, 201, JSON.stringify(res.body));

    // Up: 6 000 lines of lag at 200 per instance wants 30, capped at the 4 partitions.
    await waitFor('the autoscaler to ask for 4 instances', async () => ((await appView(env, APP)).spec['instances'] === 4 ? true : undefined), 120_000, 500).catch(async (err: unknown) => {
      console.log('autoscaler status:', JSON.stringify((await appView(env, APP)).streams), JSON.stringify(await timelineSince(env, startedAt)));
      throw err;
    });
    const upAt = Date.now();
    // The cooldown (15 s) keeps the 4 until well after their tasks start; whether they reach Streams RUNNING
    // before the backlog is gone depends on the machine, so only the launch is awaited.
    await waitFor(
      '4 instances with running tasks',
      async () => ((await appView(env, APP)).instances.filter((i) => i.taskState === 'TASK_RUNNING').length === 4 ? true : undefined),
      120_000,
      250,
    );
    console.log(`scale up: spec at 4 instances ${upAt - startedAt} ms after the deploy; 4 tasks running ${Date.now() - startedAt} ms after`);

    // Drained ⇒ down to min after the cooldown.
    await waitFor('the autoscaler to bring the app back to 1 instance', async () => ((await appView(env, APP)).spec['instances'] === 1 ? true : undefined), 300_000, 500).catch(async (err: unknown) => {
      console.log('autoscaler status:', JSON.stringify((await appView(env, APP)).streams));
      throw err;
    });
    const downAt = Date.now();
    await waitInstancesReady(env, APP, 1, 120_000);
    console.log(`scale down: back to 1 instance ${downAt - startedAt} ms after the deploy`);

    const decisions = (await timelineSince(env, startedAt)).filter((e) => e.message.startsWith(`autoscaler, app ${APP}:`));
    console.log('autoscaler decisions:');
    for (const d of decisions) console.log(`  +${d.at - startedAt} ${d.message}`);
    const up = decisions.find((d) => /scale up to 4: lag \d+, target 200\/instance, 1 running, bounds 1\.\.4, 4 partition\(s\)/.test(d.message));
    assert.ok(up !== undefined, 'the scale-up is in the timeline with its numbers');
    const waited = decisions.find((d) => /scale down to 1 in \d+ s if the lag stays low/.test(d.message) || /waits for the cooldown/.test(d.message));
    assert.ok(waited !== undefined, 'the wait before scaling down is in the timeline');
    const down = decisions.find((d) => /scale down to 1 \(low for \d+ s\): lag 0/.test(d.message));
    assert.ok(down !== undefined, 'the scale-down is in the timeline with its numbers');
    assert.ok(down.at - up.at >= 15_000, 'not before the cooldown');

    const metrics = await fetch(new URL('/metrics', env.scheduler.apiUrl), { headers: { authorization: `Bearer ${API_TOKEN}` } });
    const text = await metrics.text();
    assert.match(text, new RegExp(`kmf_streams_lag\\{app="${APP}"\\} 0`), 'the lag gauge');
    const cli = await kmf(env, ['app', 'show', APP]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /autoscale 1\.\.4 at 200 lag\/instance, cooldown 15 s, inputs words-in/);
    assert.match(cli.stdout, /lag 0 \(words-in: 0\), 4 input partition\(s\)/);
    const shown = await appView(env, APP);
    assert.equal(shown.streams?.['lag'], 0);
    assert.match(String((shown.streams?.['autoscaler'] as { reason?: string } | undefined)?.reason), /lag 0/);

    await reader.start();
    await reader.waitExact(countWords(producer.sent), 180_000);
    assert.deepEqual(reader.notMonotonic(), [], 'no count repeated or stepped back through the scale up and down');
  });
});
