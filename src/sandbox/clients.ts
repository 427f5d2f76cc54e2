/**
 * `kmf sandbox produce TOPIC` and `kmf sandbox consume TOPIC`: tiny Kafka clients (kafkajs) for trying the
 * sandbox without a Kafka download — the runtime's Kafka distribution carries the server only, not the console
 * tools. Both find the bootstrap servers in the running sandbox's connection.json.
 */
import readline from 'node:readline';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

function client(bootstrap: string, clientId: string): InstanceType<typeof Kafka> {
  return new Kafka({ clientId, brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 8 } });
}

/** Sends each line of `input` as one record (value = the line, no key), acks=all. Returns how many. */
export async function produceLines(bootstrap: string, topic: string, input: NodeJS.ReadableStream): Promise<number> {
  const producer = client(bootstrap, 'kmf-sandbox-produce').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let sent = 0;
  try {
    let batch: string[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const values = batch;
      batch = [];
      await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
      sent += values.length;
    };
    for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) {
      batch.push(line);
      if (batch.length >= 100) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  return sent;
}

export interface ConsumeOptions {
  /** Stop after this many records (default: run until stopped). */
  maxMessages?: number;
  /** Read committed records only (what an exactly-once app's output should be read with). */
  readCommitted: boolean;
  signal: AbortSignal;
  print: (line: string) => void;
}

/** Prints every record of `topic` from the beginning as `key<TAB>value` (or just the value without a key). */
export async function consumeTopic(bootstrap: string, topic: string, opts: ConsumeOptions): Promise<number> {
  const consumer = client(bootstrap, 'kmf-sandbox-consume').consumer({
    groupId: `kmf-sandbox-consume-${process.pid}-${Date.now()}`,
    readUncommitted: !opts.readCommitted,
  });
  let seen = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const done = (): void => resolve();
      if (opts.signal.aborted) {
        done();
        return;
      }
      opts.signal.addEventListener('abort', done, { once: true });
      consumer
        .run({
          eachMessage: ({ message }) => {
            if (opts.maxMessages !== undefined && seen >= opts.maxMessages) return Promise.resolve();
            const value = message.value?.toString('utf8') ?? '';
            opts.print(message.key === null ? value : `${message.key.toString('utf8')}\t${value}`);
            seen += 1;
            if (opts.maxMessages !== undefined && seen >= opts.maxMessages) done();
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}
