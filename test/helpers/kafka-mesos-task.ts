import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { renderTaskInfo, type PlacementView } from '../../src/core/render.js';
import { clusterNodes, type KafkaClusterSpec } from '../../src/kafka/cluster-model.js';
import { kafkaRenderHook, kafkaUnitName, kafkaUnits } from '../../src/kafka/units.js';
import type { CommandInfo } from '../../src/mesos/types.js';
import { prepareDesired } from '../../src/model/desired.js';
import { commandLaunchSpec, executorEnvironment } from '../../src/sim/agent/sandbox-env.js';
import { readRuntimeManifest } from '../../src/util/runtime-manifest.js';
import { spawnManaged, type ManagedProcess } from './processes.js';

/**
 * Runs one Kafka node the way a Mesos agent runs kmf's task, without Mesos: a sandbox directory with the Kafka
 * tarball extracted into it (what the fetcher does with `extract: true`), the environment the command executor
 * builds (the agent's own, then MESOS_SANDBOX & co., then CommandInfo.environment), and `/bin/sh -c <command>`
 * in the sandbox.
 */
export interface KafkaTaskLaunch {
  readonly nodeId: number;
  readonly unit: string;
  readonly sandbox: string;
  readonly brokerPort: number | undefined;
  readonly controllerPort: number | undefined;
  /** server.properties as rendered (the task writes exactly this, plus a newline). */
  readonly properties: string;
  /** The CommandInfo of the rendered TaskInfo. */
  readonly command: CommandInfo;
  readonly env: ReadonlyMap<string, string>;
  readonly process: ManagedProcess;
  readonly startedAt: number;
}

export interface LaunchKafkaTaskOptions {
  spec: KafkaClusterSpec;
  nodeId: number;
  /** Placement (agent host, offered ports) of every node, keyed by unit name: the core's view. */
  placements: ReadonlyMap<string, PlacementView>;
  /** The scheduler's persisted "the quorum has formed" flag. */
  quorumFormed: boolean;
  /** The sandbox to use; the tarball is extracted unless the distribution is already there (a relaunch). */
  sandbox: string;
}

/** Extracts the runtime's Kafka tarball into `dir` (skipped if already there). */
export function extractKafka(dir: string): void {
  const m = readRuntimeManifest();
  fs.mkdirSync(dir, { recursive: true });
  if (fs.existsSync(path.join(dir, m.kafka.topDir))) return;
  execFileSync('tar', ['-xzf', m.kafka.tarball, '-C', dir]);
}

/**
 * Renders node `nodeId` the whole way kmf does (cluster spec → kafkaUnits → the core's renderTaskInfo with
 * kafkaRenderHook) and runs the resulting CommandInfo like an agent.
 */
export function launchKafkaTask(opts: LaunchKafkaTaskOptions): KafkaTaskLaunch {
  const m = readRuntimeManifest();
  extractKafka(opts.sandbox);
  const node = clusterNodes(opts.spec).find((n) => n.nodeId === opts.nodeId);
  if (!node) throw new Error(`no node ${opts.nodeId} in the spec`);
  const { units, phases } = kafkaUnits(opts.spec, {
    distribution: { topDir: m.kafka.topDir, serverStart: m.kafka.serverStart, storageTool: m.kafka.storageTool },
    tarballUrl: `file://${m.kafka.tarball}`,
    constraints: [],
  });
  const name = kafkaUnitName(opts.spec, node);
  const unit = prepareDesired({ units, phases }).units.get(name);
  const self = opts.placements.get(name);
  if (!unit || !self) throw new Error(`no unit or placement for ${name}`);
  const taskId = `${name.replace('/', '.')}__${Date.now()}`;
  const rendered = renderTaskInfo(
    { unit, taskId, generation: 1, agentId: self.agentId, hostname: self.hostname, ports: self.ports, lookup: (u) => opts.placements.get(u) },
    [],
    kafkaRenderHook(() => opts.quorumFormed),
    30,
  );
  if (!rendered.ok) throw new Error(`render failed: ${rendered.reason}`);
  const command = rendered.task.command;
  if (!command) throw new Error('the rendered task has no command');
  const env = executorEnvironment({
    frameworkId: 'kmf-test-framework',
    executorId: taskId,
    directory: opts.sandbox,
    agentId: self.agentId,
    agentIp: '127.0.0.1',
    agentPort: 5051,
    checkpoint: true,
    // An agent's own environment: PATH (java) and nothing from this test process.
    base: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...(process.env['JAVA_HOME'] ? { JAVA_HOME: process.env['JAVA_HOME'] } : {}) },
    command,
  });
  const launch = commandLaunchSpec(command);
  const proc = spawnManaged({
    name: `kafka-task:${opts.nodeId}`,
    command: launch.file,
    args: launch.args,
    env,
    cwd: opts.sandbox,
    logFile: path.join(opts.sandbox, 'stdout+stderr'),
  });
  const taskEnv = new Map((command.environment?.variables ?? []).map((v) => [v.name, v.value ?? '']));
  return {
    nodeId: opts.nodeId,
    unit: name,
    sandbox: opts.sandbox,
    brokerPort: self.ports['broker'],
    controllerPort: self.ports['controller'],
    properties: taskEnv.get('KMF_SERVER_PROPERTIES') ?? '',
    command,
    env: taskEnv,
    process: proc,
    startedAt: Date.now(),
  };
}

/** meta.properties of a formatted data dir, as a map. */
export function readMetaProperties(sandbox: string): Map<string, string> {
  const text = fs.readFileSync(path.join(sandbox, 'kafka-data', 'meta.properties'), 'utf8');
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}
