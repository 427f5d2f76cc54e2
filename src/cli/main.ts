import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';

/**
 * The `kmf` command. Each subcommand lives in its own module under ./commands and registers itself;
 * this file only assembles them and settles exit codes: 0 for help and --version, 2 for usage errors
 * (unknown option, missing or invalid argument), the command's own code for `cmd.error(…, {exitCode})`,
 * 1 for anything unexpected. The operator verbs' codes are in ./output.ts.
 */
const program = new Command();
program
  .name('kmf')
  .description('Kafka and Kafka Streams on Apache Mesos')
  .version('0.1.0')
  .exitOverride((err: CommanderError) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
    process.exit(err.code === 'commander.error' ? err.exitCode : 2);
  });
registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`kmf: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
