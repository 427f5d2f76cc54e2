import type { Command } from 'commander';
import { register as registerApp } from './app.js';
import { register as registerCluster } from './cluster.js';
import { register as registerEvents } from './events.js';
import { register as registerKafka } from './kafka.js';
import { register as registerMesosSim } from './mesos-sim.js';
import { register as registerPlan } from './plan.js';
import { register as registerSandbox } from './sandbox.js';
import { register as registerScheduler } from './scheduler.js';
import { register as registerStatus } from './status.js';

/** Every `kmf` subcommand, in help order. Each module exports `register(program)`. */
export function registerCommands(_program: Command): void {
  // Subcommands register here as they are built (mesos-sim, scheduler, sandbox, operator verbs).
  registerScheduler(_program);
  registerMesosSim(_program);
  registerSandbox(_program);
  // Operator verbs (admin API clients).
  registerStatus(_program);
  registerPlan(_program);
  registerApp(_program);
  registerKafka(_program);
  registerCluster(_program);
  registerEvents(_program);
}
