import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { readRuntimeManifest } from '../../src/util/runtime-manifest.js';
import { startKafka, type KafkaCluster } from '../helpers/kafka-runtime.js';
import { freePort } from '../helpers/ports.js';
import { spawnManaged, type ManagedProcess } from '../helpers/processes.js';

const { Kafka, logLevel } = kafkajs;
process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';

/** The same word split as the app: lower-case, split on everything that is not a letter or a digit. */
function countWords(lines: readonly string[], into = new Map<string, number>()): Map<string, number> {
  for (const line of lines) {
    for (const w of line.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
      if (w !== '') into.set(w, (into.get(w) ?? 0) + 1);
    }
  }
  return into;
}

const VOCABULARY = ['Kafka', 'mesos', 'ZooKeeper', 'stream', 'état', 'count', 'exactly', 'once', 'x1', '42'];

/** Deterministic lines with mixed case, punctuation and runs of separators. */
function makeLines(n: number, seed: number): string[] {
  let s = seed;
  const next = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s;
  };
  return Array.from({ length: n }, () => {
    const len = 1 + (next() % 6);
    const words = Array.from({ length: len }, () => VOCABULARY[next() % VOCABULARY.length]!);
    return words.join(next() % 2 === 0 ? ' ' : ', -- ');
  });
}

void describe('examples/wordcount (real Kafka Streams app against a real broker)', () => {
  let cluster: KafkaCluster;
  let stateRoot: string;
  const apps: ManagedProcess[] = [];

  before(async () => {
    cluster = await startKafka({ nodes: 1 });
    stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-wordcount-'));
  });
  after(async () => {
    await Promise.all(apps.map((a) => a.kill()));
    await cluster.stop();
    fs.rmSync(stateRoot, { recursive: true, force: true });
  });

  function startApp(appId: string, inTopic: string, outTopic: string, extraEnv: NodeJS.ProcessEnv = {}): ManagedProcess {
    const m = readRuntimeManifest();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BOOTSTRAP_SERVERS: cluster.bootstrapServers,
      APPLICATION_ID: appId,
      IN_TOPIC: inTopic,
      OUT_TOPIC: outTopic,
      STATE_DIR: path.join(stateRoot, appId),
      REPLICATION_FACTOR: '1',
      ...extraEnv,
    };
    const app = spawnManaged({
      name: `wordcount:${appId}`,
      command: m.javaBin,
      args: ['-Xms64m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-jar', m.wordcount.jar],
      env,
    });
    apps.push(app);
    return app;
  }

  async function createTopics(...topics: string[]): Promise<void> {
    const admin = new Kafka({ clientId: 'wc-admin', brokers: [...cluster.brokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    // One partition everywhere (the repartition topic copies the source's count): input order is then processing
    // order, so a sentinel word produced last is counted last, and its count is emitted last (the store's cache
    // flushes dirty keys in the order of their last update). Seeing the sentinel's count means every earlier count
    // is visible too, and a duplicate (an exactly-once failure) could not hide behind it.
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: 1 })) });
    await admin.disconnect();
  }

  async function produce(topic: string, lines: readonly string[]): Promise<void> {
    const producer = new Kafka({ clientId: 'wc-producer', brokers: [...cluster.brokers], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: lines.map((value, i) => ({ key: String(i), value })) });
    await producer.disconnect();
  }

  /**
   * Reads `topic` with a read_committed consumer until every expected word's latest count equals the expected
   * one (`expected` includes a sentinel word that was produced last); returns the latest value seen per word and
   * every value seen per word, in order.
   */
  async function readCounts(topic: string, expected: Map<string, number>, timeoutMs = 60_000): Promise<{ latest: Map<string, string>; history: Map<string, string[]> }> {
    const consumer = new Kafka({ clientId: 'wc-reader', brokers: [...cluster.brokers], logLevel: logLevel.NOTHING }).consumer({
      groupId: `reader-${topic}-${Date.now()}`,
      readUncommitted: false,
    });
    const latest = new Map<string, string>();
    const history = new Map<string, string[]>();
    const done = (): boolean => [...expected].every(([w, n]) => latest.get(w) === String(n));
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          const diff = [...expected].filter(([w, n]) => latest.get(w) !== String(n)).map(([w, n]) => `${w}: want ${n}, have ${latest.get(w) ?? '-'}`);
          reject(new Error(`counts not reached within ${timeoutMs} ms: ${diff.join('; ')}`));
        }, timeoutMs);
        void consumer
          .run({
            eachMessage: ({ message }) => {
              const word = message.key?.toString('utf8') ?? '';
              const value = message.value?.toString('utf8') ?? '';
              latest.set(word, value);
              history.set(word, [...(history.get(word) ?? []), value]);
              if (done()) {
                clearTimeout(timer);
                resolve();
              }
              return Promise.resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return { latest, history };
  }

  void test('counts words exactly, reports its state on stdout and GET /state, and exits 0 on SIGTERM', async () => {
    await createTopics('words-in', 'word-counts');
    const port = await freePort();
    const app = startApp('wordcount', 'words-in', 'word-counts', { PORT: String(port) });
    await app.waitForLine(/^STATE RUNNING /, 90_000);

    const res = await fetch(`http://127.0.0.1:${port}/state`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^(RUNNING|REBALANCING)\n$/);

    const lines = [...makeLines(200, 7), 'SentinelOne.'];
    await produce('words-in', lines);
    const expected = countWords(lines);
    const { latest, history } = await readCounts('word-counts', expected);
    assert.deepEqual(new Map([...latest].filter(([w]) => expected.has(w))), new Map([...expected].map(([w, n]) => [w, String(n)])));
    assert.deepEqual([...latest.keys()].sort(), [...expected.keys()].sort(), 'no word the input did not have');
    for (const [word, values] of history) {
      const nums = values.map(Number);
      assert.ok(nums.every((v, i) => Number.isInteger(v) && (i === 0 || v > nums[i - 1]!)), `${word}: counts only grow (${values.join(',')})`);
    }

    app.signal('SIGTERM');
    const exit = await app.exited;
    assert.equal(exit.code, 0, app.tail());
    assert.ok(app.tail(400).includes('STATE PENDING_SHUTDOWN RUNNING'));
  });

  void test('a SIGKILLed instance restarted on the same state dir ends with exact counts (exactly once)', async () => {
    await createTopics('eos-in', 'eos-out');
    // Static membership: the restarted instance takes the crashed member's place at once instead of waiting for
    // its session to time out (45 s by default).
    const first = startApp('wc-eos', 'eos-in', 'eos-out', { GROUP_INSTANCE_ID: 'wc-eos-0' });
    await first.waitForLine(/^STATE RUNNING /, 90_000);

    const batchA = [...makeLines(150, 11), 'sentinel-a'];
    await produce('eos-in', batchA);
    const afterA = countWords(batchA);
    await readCounts('eos-out', afterA);

    // A crash while the next batch is being processed: open transactions must be aborted, not replayed twice.
    const batchB = [...makeLines(300, 13), 'sentinel-b'];
    await produce('eos-in', batchB);
    await first.kill();

    const second = startApp('wc-eos', 'eos-in', 'eos-out', { GROUP_INSTANCE_ID: 'wc-eos-0' });
    await second.waitForLine(/^STATE RUNNING /, 90_000);
    const expected = countWords(batchB, countWords(batchA));
    const { latest } = await readCounts('eos-out', expected, 90_000);
    assert.deepEqual(latest, new Map([...expected].map(([w, n]) => [w, String(n)])));
    await second.stop();
  });

  void test('a missing input topic ends in the ERROR state and exit code 1', async () => {
    const app = startApp('wc-missing', 'no-such-topic', 'missing-out');
    const exit = await app.exited;
    assert.equal(exit.code, 1, app.tail());
    assert.match(app.tail(400), /^STATE ERROR /m);
  });
});
