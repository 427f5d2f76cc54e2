import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { CommandInfo } from '../../src/mesos/types.js';
import { commandLaunchSpec, executorEnvironment } from '../../src/sim/agent/sandbox-env.js';
import type { ClusterNode, KafkaClusterSpec } from '../../src/kafka/cluster-model.js';
import type { ControllerEndpoint, StorageFormat } from '../../src/kafka/quorum.js';
import { propertiesText, serverProperties } from '../../src/kafka/server-properties.js';
import { taskCommand } from '../../src/kafka/task-command.js';
import { readRuntimeManifest } from '../../src/util/runtime-manifest.js';
import { spawnManaged, type ManagedProcess } from './processes.js';

/**
 * Runs one Kafka node the way a Mesos agent runs kmf's task, without Mesos: a fresh sandbox directory with the
 * Kafka tarball extracted into it (what the fetcher does with `extract: true`), the environment the command
 * executor builds (MESOS_SANDBOX & co., then CommandInfo.environment), and `/bin/sh -c <command>` in the sandbox.
 */
export interface KafkaTaskLaunch {
  readonly node: ClusterNode;
  readonly sandbox: string;
  readonly brokerPort: number | undefined;
  readonly controllerPort: number | undefined;
  readonly properties: string;
  readonly command: CommandInfo;
  readonly process: ManagedProcess;
  readonly startedAt: number;
}

export interface LaunchKafkaTaskOptions {
  spec: KafkaClusterSpec;
  node: ClusterNode;
  controllers: readonly ControllerEndpoint[];
  format: StorageFormat;
  /** The sandbox to use; extracted into unless it already holds the distribution (a relaunch). */
  sandbox: string;
  brokerPort?: number;
  controllerPort?: number;
  host?: string;
  taskId?: string;
}

/** Extracts the runtime's Kafka tarball into `dir` (skipped if already there). */
export function extractKafka(dir: string): void {
  const m = readRuntimeManifest();
  fs.mkdirSync(dir, { recursive: true });
  if (fs.existsSync(path.join(dir, m.kafka.topDir))) return;
  execFileSync('tar', ['-xzf', m.kafka.tarball, '-C', dir]);
}

export function launchKafkaTask(opts: LaunchKafkaTaskOptions): KafkaTaskLaunch {
  const m = readRuntimeManifest();
  extractKafka(opts.sandbox);
  const host = opts.host ?? '127.0.0.1';
  const logDir = 'kafka-data';
  const props = serverProperties(opts.spec, opts.node, { advertisedHost: host, brokerPort: opts.brokerPort, controllerPort: opts.controllerPort, logDir }, opts.controllers);
  const text = propertiesText(props, `kmf: node ${opts.node.nodeId} of cluster ${opts.spec.name}`);
  const task = taskCommand(
    {
      distribution: { topDir: m.kafka.topDir, serverStart: m.kafka.serverStart, storageTool: m.kafka.storageTool },
      clusterId: opts.spec.clusterId,
      logDir,
      format: opts.format,
      resources: opts.node.resources,
      properties: text,
    },
    opts.node.nodeId,
  );
  const command: CommandInfo = {
    shell: true,
    value: task.command,
    environment: { variables: Object.entries(task.env).map(([name, value]) => ({ name, value })) },
  };
  const taskId = opts.taskId ?? `${opts.spec.name}.node-${opts.node.nodeId}__${Date.now()}`;
  const env = executorEnvironment({
    frameworkId: 'kmf-test-framework',
    executorId: taskId,
    directory: opts.sandbox,
    agentId: 'kmf-test-agent-S0',
    agentIp: '127.0.0.1',
    agentPort: 5051,
    checkpoint: true,
    // An agent's own environment: PATH (java) and nothing from this test process.
    base: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...(process.env['JAVA_HOME'] ? { JAVA_HOME: process.env['JAVA_HOME'] } : {}) },
    command,
  });
  const launch = commandLaunchSpec(command);
  const proc = spawnManaged({
    name: `kafka-task:${opts.node.nodeId}`,
    command: launch.file,
    args: launch.args,
    env,
    cwd: opts.sandbox,
    logFile: path.join(opts.sandbox, 'stdout+stderr'),
  });
  return {
    node: opts.node,
    sandbox: opts.sandbox,
    brokerPort: opts.brokerPort,
    controllerPort: opts.controllerPort,
    properties: text,
    command,
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
