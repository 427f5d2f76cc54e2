/**
 * The example Streams app the sandbox deploys: `wordcount` (examples/wordcount) reads lines from `words-in` and
 * writes each word's running count to `word-counts` (key: the word, value: the count as decimal text), exactly
 * once. It runs as a kmf app: the jar is fetched into the task's sandbox from the runtime (file:// URI), and the
 * app's GET /state (200 while Kafka Streams runs) is its HTTP health check, so "ready" means processing.
 */
import path from 'node:path';
import type { RuntimeManifest } from '../util/runtime-manifest.js';

export const WORDCOUNT_APP = 'wordcount';
export const WORDS_IN = 'words-in';
export const WORD_COUNTS = 'word-counts';

/** The body of POST /api/v1/apps for the example app. */
export function wordcountAppSpec(manifest: RuntimeManifest, bootstrapServers: string): Record<string, unknown> {
  const jar = path.basename(manifest.wordcount.jar);
  return {
    name: WORDCOUNT_APP,
    instances: 1,
    cpus: 0.5,
    mem: 384,
    disk: 256,
    // The absolute jar path puts the sandbox directory in the JVM's command line, which is how a stop finds
    // anything left behind (src/sandbox/processes.ts).
    command: `exec "${manifest.javaBin}" -Xms64m -Xmx160m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -jar "$MESOS_SANDBOX/${jar}"`,
    uris: [{ value: `file://${manifest.wordcount.jar}`, extract: false }],
    env: {
      BOOTSTRAP_SERVERS: bootstrapServers,
      APPLICATION_ID: WORDCOUNT_APP,
      IN_TOPIC: WORDS_IN,
      OUT_TOPIC: WORD_COUNTS,
    },
    ports: ['http'],
    healthCheck: { type: 'HTTP', port: 'http', path: '/state', delaySeconds: 5, intervalSeconds: 3, timeoutSeconds: 2, consecutiveFailures: 5, gracePeriodSeconds: 120 },
    readiness: 'healthy',
    killGracePeriodSeconds: 15,
  };
}
