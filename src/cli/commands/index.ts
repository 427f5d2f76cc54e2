import type { Command } from 'commander';
import { register as registerMesosSim } from './mesos-sim.js';
import { register as registerScheduler } from './scheduler.js';

/** Every `kmf` subcommand, in help order. Each module exports `register(program)`. */
export function registerCommands(_program: Command): void {
  // Subcommands register here as they are built (mesos-sim, scheduler, sandbox, operator verbs).
  registerScheduler(_program);
  registerMesosSim(_program);
}
