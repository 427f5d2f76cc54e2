/**
 * `kmf status`: who leads, the Mesos connection, the plans at a glance. `kmf units`: every unit with its
 * task and plan step.
 */
import type { Command } from 'commander';
import { print, printJson, table } from '../output.js';
import type { StatusView, UnitView } from '../views.js';
import { apiOptions, runVerb, type ApiFlags } from './api-command.js';

export function renderStatus(s: StatusView): string {
  const lines = [
    `leader:       ${s.leader === null ? 'none (an election is under way)' : `${s.leader.address} (${s.leader.host}, since ${s.leader.since})`}${s.epoch === undefined ? '' : `, epoch ${s.epoch}`}`,
    `this instance: ${s.instance.role} at ${s.instance.address}${s.source === 'zookeeper' ? ' (answering from ZooKeeper)' : ''}`,
    `framework id: ${s.frameworkId ?? 'not registered yet'}`,
    `mesos:        ${s.mesos.state}${s.mesos.masterUrl === null ? '' : ` (${s.mesos.masterUrl})`}${s.mesos.lastDisconnect === undefined ? '' : `; last disconnect: ${s.mesos.lastDisconnect}`}`,
    `counts:       ${s.counts.apps} app(s), ${s.counts.units} unit(s), ${s.counts.tasks} task record(s)`,
    '',
  ];
  return lines.join('\n') + table(['PLAN', 'STATUS', 'PAUSED'], s.plans.map((p) => [p.name, p.status, p.paused ? 'yes' : 'no']));
}

export function register(program: Command): void {
  apiOptions(program.command('status').description('show the scheduler: leader, Mesos connection, framework id, plans')).action(async (flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      const s = await api.get<StatusView>('/api/v1/status');
      if (flags.json === true) printJson(s);
      else print(renderStatus(s));
    }),
  );

  apiOptions(program.command('units').description('list every unit the scheduler places, with its task and plan step')).action(async (flags: ApiFlags) =>
    runVerb(flags, async (api) => {
      const r = await api.get<{ units: UnitView[] }>('/api/v1/units');
      if (flags.json === true) {
        printJson(r);
        return;
      }
      print(
        table(
          ['UNIT', 'KIND', 'STATE', 'TASK', 'HOST', 'PLAN', 'STEP'],
          r.units.map((u) => [
            u.name,
            u.kind,
            u.state,
            u.task?.state.replace(/^TASK_/, ''),
            u.task?.hostname,
            u.plan ?? undefined,
            u.step === undefined ? undefined : `${u.step.status}${u.step.reason === undefined ? '' : `: ${u.step.reason}`}`,
          ]),
        ),
      );
    }),
  );
}
