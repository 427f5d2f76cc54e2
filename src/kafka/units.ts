/**
 * A Kafka cluster spec as the generic units the scheduler core places and launches (src/model UnitSpec): one
 * unit per Kafka node, with its resources, named ports, data volume (or a plain reservation for placement
 * stickiness), and a task template whose strings carry placeholders the core resolves at launch:
 *   {{host}} / {{port:broker}} / {{port:controller}}            this node's agent and offered ports
 *   {{unit:<cluster>/controller-N:host}} / …:port:controller   the controllers' placements (quorum endpoints)
 * A template therefore only changes when the operator changes something that needs a restart (overrides,
 * resources, version); a controller moving to another agent changes no template, so nothing else restarts.
 *
 * The storage-format mode is not in the template: the render hook (kafkaRenderHook) sets it per launch from
 * whether the quorum has formed, which the scheduler persists. Without the hook, dynamic-quorum controllers
 * default to joining an existing quorum: a first deploy then never forms one (visible, safe), instead of a
 * replacement controller bootstrapping a second quorum (silent, unsafe).
 */
import type { PhaseSpec, PlacementConstraint, UnitSpec } from '../model/units.js';
import type { RenderHook } from '../core/render.js';
import { clusterNodes, type ClusterNode, type KafkaClusterSpec } from './cluster-model.js';
import { initialControllersString, type ControllerEndpoint } from './quorum.js';
import { propertiesText, serverProperties } from './server-properties.js';
import { kafkaCommand, type KafkaDistribution } from './task-command.js';

export const KAFKA_BROKER_KIND = 'kafka-broker';
export const KAFKA_CONTROLLER_KIND = 'kafka-controller';
/** Inside the sandbox: the persistent volume's container path, or a plain sandbox directory. */
export const KAFKA_DATA_DIR = 'kafka-data';
/** Sandbox disk for the extracted distribution (~45 MB) and stdout logs, when the data is on a volume. */
export const SANDBOX_DISK_MB = 512;

/**
 * The Kafka tarball's URI in a task template when the scheduler serves it: `kmf-artifact:<file>`, resolved at
 * launch (kafkaRenderHook) to `<the leading instance's API>/artifacts/<file>`. The address of whichever
 * instance leads is therefore not part of the template: a failover to an instance with another address
 * changes no spec version and restarts nothing.
 */
export const ARTIFACT_URI_PREFIX = 'kmf-artifact:';

export function artifactUri(file: string): string {
  return `${ARTIFACT_URI_PREFIX}${file}`;
}

/** `kmf-artifact:<file>` against the artifact server's base URL; any other URI unchanged. */
export function resolveArtifactUri(uri: string, base: string): string {
  if (!uri.startsWith(ARTIFACT_URI_PREFIX)) return uri;
  return `${base.replace(/\/+$/, '')}/artifacts/${encodeURIComponent(uri.slice(ARTIFACT_URI_PREFIX.length))}`;
}

export interface KafkaUnitsOptions {
  distribution: KafkaDistribution;
  /** Where agents fetch the Kafka tarball: a URL, or `kmf-artifact:<file>` (the scheduler's artifact server). */
  tarballUrl: string;
  javaHome?: string;
  role?: string;
  /**
   * Placement constraints per node (default: one node of the cluster per agent, so losing an agent costs one
   * broker and at most one controller). A single-agent sandbox passes [].
   */
  constraints?: PlacementConstraint[];
  /** Listener bind address (default 0.0.0.0). */
  bindHost?: string;
}

export function kafkaUnitName(spec: KafkaClusterSpec, node: Pick<ClusterNode, 'nodeId' | 'kind'>): string {
  return node.kind === 'controller' ? `${spec.name}/controller-${node.nodeId}` : `${spec.name}/broker-${node.nodeId}`;
}

/** The quorum endpoints as placeholders of the controllers' units. */
export function controllerPlaceholders(spec: KafkaClusterSpec): ControllerEndpoint[] {
  const nodes = clusterNodes(spec);
  return spec.controllers.nodes.map((c) => {
    const node = nodes.find((n) => n.nodeId === c.nodeId);
    const unit = kafkaUnitName(spec, { nodeId: c.nodeId, kind: node?.kind ?? 'controller' });
    return { nodeId: c.nodeId, directoryId: c.directoryId, host: `{{unit:${unit}:host}}`, port: `{{unit:${unit}:port:controller}}` };
  });
}

function nodeUnit(spec: KafkaClusterSpec, node: ClusterNode, opts: KafkaUnitsOptions, controllers: ControllerEndpoint[]): UnitSpec {
  const isBroker = node.roles.includes('broker');
  const isController = node.roles.includes('controller');
  const props = serverProperties(
    spec,
    node,
    {
      advertisedHost: '{{host}}',
      ...(opts.bindHost !== undefined ? { bindHost: opts.bindHost } : {}),
      ...(isBroker ? { brokerPort: '{{port:broker}}' } : {}),
      ...(isController ? { controllerPort: '{{port:controller}}' } : {}),
      logDir: KAFKA_DATA_DIR,
    },
    controllers,
  );
  const dynamicController = isController && spec.controllers.quorum === 'dynamic';
  const env: Record<string, string> = {
    KMF_NODE_ID: String(node.nodeId),
    KMF_CLUSTER_ID: spec.clusterId,
    KMF_LOG_DIR: KAFKA_DATA_DIR,
    KMF_SERVER_PROPERTIES: propertiesText(props, `kmf: Kafka ${spec.version}, cluster ${spec.name}, node ${node.nodeId}`),
    KMF_STORAGE_FORMAT: dynamicController ? 'join' : 'plain',
    KAFKA_HEAP_OPTS: `-Xms${node.resources.heapMb}m -Xmx${node.resources.heapMb}m`,
    KAFKA_OPTS: '-XX:+ExitOnOutOfMemoryError',
  };
  if (dynamicController) env['KMF_INITIAL_CONTROLLERS'] = initialControllersString(controllers);
  // Restart counters (operator restarts): a bump changes the template, so the update plan restarts the node
  // behind its roll-safety gates. Absent while 0, so clusters that were never restarted keep their versions.
  const clusterRestarts = spec.restartGeneration ?? 0;
  const nodeRestarts = spec.brokers.nodes.find((b) => b.nodeId === node.nodeId)?.restartGeneration ?? 0;
  if (clusterRestarts > 0) env['KMF_CLUSTER_RESTART'] = String(clusterRestarts);
  if (node.roles.includes('broker') && nodeRestarts > 0) env['KMF_NODE_RESTART'] = String(nodeRestarts);
  if (node.resources.jvmOpts !== undefined && node.resources.jvmOpts.trim() !== '') env['KAFKA_JVM_PERFORMANCE_OPTS'] = node.resources.jvmOpts.trim();
  if (opts.javaHome !== undefined) env['JAVA_HOME'] = opts.javaHome;

  const kind = node.kind === 'controller' ? KAFKA_CONTROLLER_KIND : KAFKA_BROKER_KIND;
  const unit: UnitSpec = {
    name: kafkaUnitName(spec, node),
    kind,
    group: `${spec.name}-kafka`,
    phase: node.kind === 'controller' ? `${spec.name}-controllers` : `${spec.name}-brokers`,
    goal: node.goal,
    resources: { cpus: node.resources.cpus, memMb: node.resources.memMb, diskMb: spec.volumes ? SANDBOX_DISK_MB : SANDBOX_DISK_MB + node.resources.diskMb },
    ports: [...(isBroker ? [{ name: 'broker' }] : []), ...(isController ? [{ name: 'controller' }] : [])],
    constraints: opts.constraints ?? [{ field: 'hostname', operator: 'UNIQUE' }],
    task: {
      command: kafkaCommand(opts.distribution),
      env,
      uris: [{ value: opts.tarballUrl, extract: true, cache: true }],
      killGracePeriodSeconds: isBroker ? spec.killGracePeriodSeconds.broker : spec.killGracePeriodSeconds.controller,
      labels: {
        kmf_kafka_cluster: spec.name,
        kmf_kafka_node_id: String(node.nodeId),
        kmf_kafka_roles: node.roles.join(','),
        kmf_kafka_quorum: spec.controllers.quorum,
      },
    },
    readiness: 'external',
    vars: { nodeId: String(node.nodeId) },
  };
  if (opts.role !== undefined) unit.role = opts.role;
  // Data on a persistent volume over a dynamic reservation; without volumes, still reserve, so a restarted
  // node returns to the same agent and ports (its sandbox data is gone, the placement is not).
  if (spec.volumes) unit.volume = { sizeMb: node.resources.diskMb, containerPath: KAFKA_DATA_DIR };
  else unit.reserve = true;
  return unit;
}

/** The units of a cluster (dedicated controllers first) and its deploy phases. */
export function kafkaUnits(spec: KafkaClusterSpec, opts: KafkaUnitsOptions): { units: UnitSpec[]; phases: PhaseSpec[] } {
  const controllers = controllerPlaceholders(spec);
  const units = clusterNodes(spec).map((n) => nodeUnit(spec, n, opts, controllers));
  const phases: PhaseSpec[] = [];
  if (spec.controllers.mode === 'dedicated') phases.push({ name: `${spec.name}-controllers`, strategy: 'parallel' });
  phases.push({ name: `${spec.name}-brokers`, strategy: 'parallel' });
  return { units, phases };
}

/**
 * The per-launch part of a Kafka task:
 *  - while the dynamic quorum has not formed, its initial controllers format with --initial-controllers;
 *    afterwards (a moved or replaced controller on a fresh disk) they join;
 *  - `kmf-artifact:` URIs point at the artifact server of the instance that launches the task.
 * The getters read the scheduler's persisted flag and its advertised address; the hook itself does no I/O.
 */
export function kafkaRenderHook(quorumFormed: () => boolean, artifactBase?: () => string): RenderHook {
  return (_ctx, template) => {
    let out = template;
    if (artifactBase !== undefined && (template.uris ?? []).some((u) => u.value.startsWith(ARTIFACT_URI_PREFIX))) {
      const base = artifactBase();
      // Thrown errors become the unit's render error (shown in its plan step), never a crash.
      if (base === '') throw new Error('the address of the artifact server is not known yet');
      out = { ...out, uris: (template.uris ?? []).map((u) => ({ ...u, value: resolveArtifactUri(u.value, base) })) };
    }
    const labels = template.labels ?? {};
    const dynamicController = labels['kmf_kafka_quorum'] === 'dynamic' && (labels['kmf_kafka_roles'] ?? '').split(',').includes('controller');
    if (!dynamicController || quorumFormed()) return out;
    return { ...out, env: { ...out.env, KMF_STORAGE_FORMAT: 'initial-controllers' } };
  };
}
