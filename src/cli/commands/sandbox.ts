/**
 * `kmf sandbox`: ZooKeeper, a Mesos sim with 3 agents, the scheduler, 3 brokers and the example Streams app on
 * this machine, with one command (src/sandbox/run.ts). `kmf sandbox produce|consume TOPIC` talk to the running
 * sandbox's Kafka. docs/sandbox.md has the details.
 */
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { consumeTopic, produceLines } from '../../sandbox/clients.js';
import { DEFAULT_SANDBOX_DIR, readConnection, runSandbox } from '../../sandbox/run.js';
import { errorMessage } from '../../util/errors.js';
import { repoRoot } from '../../util/runtime-manifest.js';

interface SandboxFlags {
  dir?: string;
  fresh?: boolean;
  json?: boolean;
}

interface ConsumeFlags {
  dir?: string;
  maxMessages?: number;
  readUncommitted?: boolean;
}

/** --dir, else .kmf/sandbox in the kmf checkout (next to .kmf/runtime), wherever the command runs from. */
function sandboxDir(flag: string | undefined): string {
  return flag === undefined ? path.join(repoRoot(), DEFAULT_SANDBOX_DIR) : path.resolve(flag);
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number >= 1');
  return n;
}

const DIR_HELP = `sandbox directory (default: ${DEFAULT_SANDBOX_DIR} in the kmf checkout)`;

export function register(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description('run ZooKeeper, a Mesos sim, the scheduler, 3 Kafka brokers and the example Streams app on this machine (Ctrl-C stops it; run again to resume)')
    .option('--dir <dir>', DIR_HELP)
    .option('--fresh', 'wipe the sandbox directory and start over')
    .option('--json', 'progress and the ready block as JSON lines')
    .action(async (flags: SandboxFlags) => {
      const code = await runSandbox({
        dir: sandboxDir(flags.dir),
        fresh: flags.fresh === true,
        json: flags.json === true,
        write: (text) => process.stdout.write(text),
      });
      process.exitCode = code;
    });

  // `kmf sandbox produce T --dir D`: commander gives --dir to `sandbox` (it has the same option) — read it there.
  const parentDir = (): string | undefined => sandbox.opts<SandboxFlags>().dir;

  sandbox
    .command('produce')
    .description('send each line of stdin as a record to TOPIC of the running sandbox')
    .argument('<topic>')
    .option('--dir <dir>', DIR_HELP)
    .action(async (topic: string, flags: { dir?: string }) => {
      try {
        const conn = readConnection(sandboxDir(flags.dir ?? parentDir()));
        const n = await produceLines(conn.bootstrapServers, topic, process.stdin);
        process.stderr.write(`sent ${n} record(s) to ${topic}\n`);
      } catch (err) {
        process.stderr.write(`error: ${errorMessage(err)}\n`);
        process.exitCode = 1;
      }
    });

  sandbox
    .command('consume')
    .description('print the records of TOPIC of the running sandbox from the beginning (key<TAB>value), until Ctrl-C')
    .argument('<topic>')
    .option('--dir <dir>', DIR_HELP)
    .option('--max-messages <n>', 'stop after N records', count)
    .option('--read-uncommitted', 'also show records of open or aborted transactions')
    .action(async (topic: string, flags: ConsumeFlags) => {
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const conn = readConnection(sandboxDir(flags.dir ?? parentDir()));
        await consumeTopic(conn.bootstrapServers, topic, {
          ...(flags.maxMessages === undefined ? {} : { maxMessages: flags.maxMessages }),
          readCommitted: flags.readUncommitted !== true,
          signal: abort.signal,
          print: (line) => process.stdout.write(line + '\n'),
        });
      } catch (err) {
        process.stderr.write(`error: ${errorMessage(err)}\n`);
        process.exitCode = 1;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
