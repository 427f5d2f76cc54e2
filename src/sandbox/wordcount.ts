/**
 * The example Streams app the sandbox deploys: `wordcount` (examples/wordcount) reads lines from `words-in` and
 * writes each word's running count to `word-counts` (key: the word, value: the count as decimal text), exactly
 * once. It is a kmf Streams app (docs/streams.md): the scheduler serves the jar to the agents' fetcher, injects
 * the brokers' addresses, a group.instance.id and a state dir, and counts an instance ready once its Kafka
 * Streams client reports RUNNING.
 */
import path from 'node:path';
import type { RuntimeManifest } from '../util/runtime-manifest.js';

export const WORDCOUNT_APP = 'wordcount';
export const WORDS_IN = 'words-in';
export const WORD_COUNTS = 'word-counts';

/** The body of POST /api/v1/apps for the example app: a `streams` app (docs/streams.md). */
export function wordcountAppSpec(manifest: RuntimeManifest): Record<string, unknown> {
  return {
    name: WORDCOUNT_APP,
    type: 'streams',
    applicationId: WORDCOUNT_APP,
    // The runtime's jar, which the scheduler serves at GET /artifacts/<name>.
    artifact: path.basename(manifest.wordcount.jar),
    instances: 1,
    cpus: 0.5,
    mem: 384,
    heap: 160,
    jvmOpts: '-XX:+UseSerialGC -XX:TieredStopAtLevel=1',
    env: { IN_TOPIC: WORDS_IN, OUT_TOPIC: WORD_COUNTS },
    killGracePeriodSeconds: 15,
  };
}
