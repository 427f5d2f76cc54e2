/**
 * The shell command a Mesos task runs to start one Kafka node, and the environment it needs. Pure.
 *
 * The task's sandbox holds the Kafka distribution, fetched and extracted by the Mesos fetcher from the tarball
 * kmf serves (its single top directory, e.g. `kafka-4.4.0/`). The command:
 *   1. cd to the sandbox (a relative log dir, or a persistent volume's container path, is inside it);
 *   2. writes server.properties from $KMF_SERVER_PROPERTIES, the text the scheduler rendered (an environment
 *      variable needs no second fetch, and placeholders in it are resolved by the scheduler like any other);
 *   3. formats the data directory with the cluster id, idempotently (--ignore-formatted leaves a formatted disk
 *      alone, so a restart on the same volume keeps its data), in the mode $KMF_STORAGE_FORMAT names;
 *   4. execs the broker: `exec` all the way down to java, so the SIGTERM of a Mesos kill reaches the JVM, which
 *      then runs Kafka's controlled shutdown; the kill policy's grace period bounds how long that may take.
 *
 * The command text is the same for every node of every cluster with the same distribution: everything that
 * differs travels in the environment. A change of storage-format mode (once the quorum formed) therefore never
 * looks like a spec change that would restart running nodes.
 */
import type { NodeResources } from './cluster-model.js';
import { storageFormatArgs, type StorageFormat } from './quorum.js';

export interface KafkaDistribution {
  /** The tarball's top-level directory, relative to the sandbox after extraction (manifest `kafka.topDir`). */
  topDir: string;
  /** Relative to topDir (manifest `kafka.serverStart`), e.g. `bin/kafka-server-start`. */
  serverStart: string;
  /** Relative to topDir (manifest `kafka.storageTool`), e.g. `bin/kafka-storage`. */
  storageTool: string;
}

export interface TaskCommandInput {
  distribution: KafkaDistribution;
  clusterId: string;
  /** Same value as log.dirs in the properties (relative to the sandbox, or absolute). */
  logDir: string;
  format: StorageFormat;
  resources: Pick<NodeResources, 'heapMb' | 'jvmOpts'>;
  /** server.properties text (propertiesText()). */
  properties: string;
  /** JAVA_HOME on the agents; default: java from the PATH. */
  javaHome?: string;
}

export interface TaskCommand {
  /** Run with `/bin/sh -c` (CommandInfo.shell = true). */
  command: string;
  env: Record<string, string>;
}

/** Heap of the short-lived `kafka-storage format` JVM: it reads a config and writes two small files. */
export const FORMAT_HEAP = '-Xmx256m';

const SAFE_PATH = /^[A-Za-z0-9._/-]+$/;

function shellPath(label: string, p: string): string {
  if (!SAFE_PATH.test(p) || p.split('/').includes('..')) throw new Error(`${label} "${p}" must be a plain relative path`);
  return `'${p}'`;
}

/** The command text for a distribution (identical for every node using it). */
export function kafkaCommand(dist: KafkaDistribution): string {
  const home = shellPath('distribution topDir', dist.topDir);
  const storage = shellPath('storageTool', dist.storageTool);
  const start = shellPath('serverStart', dist.serverStart);
  return [
    'set -eu',
    'cd "${MESOS_SANDBOX:-$PWD}"',
    `home="$PWD/"${home}`,
    `printf '%s\\n' "$KMF_SERVER_PROPERTIES" > server.properties`,
    'mkdir -p "$KMF_LOG_DIR"',
    'case "${KMF_STORAGE_FORMAT:-plain}" in',
    '  plain) set -- ;;',
    '  initial-controllers) set -- --initial-controllers "$KMF_INITIAL_CONTROLLERS" ;;',
    '  join) set -- --no-initial-controllers ;;',
    '  *) echo "kmf: unknown KMF_STORAGE_FORMAT ${KMF_STORAGE_FORMAT}" >&2; exit 64 ;;',
    'esac',
    'echo "kmf: node $KMF_NODE_ID: kafka-storage format (${KMF_STORAGE_FORMAT:-plain}) of $KMF_LOG_DIR" >&2',
    `if ! KAFKA_HEAP_OPTS=${FORMAT_HEAP} "$home/"${storage} format -t "$KMF_CLUSTER_ID" -c server.properties --ignore-formatted "$@" > kafka-storage-format.log 2>&1; then`,
    '  echo "kmf: kafka-storage format failed:" >&2; tail -n 40 kafka-storage-format.log >&2; exit 1',
    'fi',
    `exec "$home/"${start} server.properties`,
  ].join('\n');
}

/** The command and environment of one node's task. */
export function taskCommand(input: TaskCommandInput, nodeId: number): TaskCommand {
  const env: Record<string, string> = {
    KMF_NODE_ID: String(nodeId),
    KMF_CLUSTER_ID: input.clusterId,
    KMF_LOG_DIR: input.logDir,
    KMF_SERVER_PROPERTIES: input.properties,
    KMF_STORAGE_FORMAT: input.format.kind,
    KAFKA_HEAP_OPTS: `-Xms${input.resources.heapMb}m -Xmx${input.resources.heapMb}m`,
    // Out of memory, a JVM limps on; exiting lets Mesos report the failure and kmf restart it.
    KAFKA_OPTS: '-XX:+ExitOnOutOfMemoryError',
  };
  // jvmOpts replace the distribution's GC/JIT flags (G1, MaxGCPauseMillis=20) rather than adding to them: two
  // garbage collectors on one command line stop the JVM from starting.
  if (input.resources.jvmOpts !== undefined && input.resources.jvmOpts.trim() !== '') {
    env['KAFKA_JVM_PERFORMANCE_OPTS'] = input.resources.jvmOpts.trim();
  }
  const args = storageFormatArgs(input.format);
  if (input.format.kind === 'initial-controllers') env['KMF_INITIAL_CONTROLLERS'] = args[1] ?? '';
  if (input.javaHome !== undefined) env['JAVA_HOME'] = input.javaHome;
  return { command: kafkaCommand(input.distribution), env };
}
