import { Command } from 'commander';
import { registerCommands } from './commands/index.js';

/**
 * The `kmf` command. Each subcommand lives in its own module under ./commands and registers itself;
 * this file only assembles them and turns an unexpected error into a non-zero exit.
 */
const program = new Command();
program.name('kmf').description('Kafka and Kafka Streams on Apache Mesos').version('0.1.0');
registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`kmf: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
