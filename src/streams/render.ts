/**
 * The launch-time part of a Streams instance's task (a RenderHook, pure like every hook: the getters read what
 * the scheduler already holds in memory):
 *   - the served artifact becomes a fetcher URI on kmf's artifact server (`<api>/artifacts/<name>`), so the
 *     address of whichever scheduler instance leads is used, not the one that accepted the spec;
 *   - unless the app names its own cluster, BOOTSTRAP_SERVERS (and bootstrap.servers in KMF_STREAMS_CONFIG) are
 *     the managed brokers' placements at this launch. No broker placed yet ⇒ the launch waits (render error).
 *   - JAVA_HOME, when the scheduler knows the JRE the agents use.
 * None of this is in the unit's spec hash: brokers moving or a scheduler failover never roll the app.
 */
import type { RenderHook } from '../core/render.js';
import type { KafkaClusterSpec } from '../kafka/cluster-model.js';
import { clusterNodes } from '../kafka/cluster-model.js';
import { kafkaUnitName } from '../kafka/units.js';
import type { UriTemplate } from '../model/units.js';
import { ARTIFACT_LABEL, BOOTSTRAP_LABEL } from './spec.js';

export interface StreamsRenderOptions {
  /** The leading scheduler's advertised API URL, e.g. http://10.0.0.5:8080. */
  artifactBaseUrl: () => string;
  /** Unit names of the managed cluster's brokers (in node-id order). */
  brokerUnits: () => readonly string[];
  /** The JRE the agents use, when the scheduler knows it (exported as JAVA_HOME unless the app sets one). */
  javaHome?: () => string | undefined;
}

/** The broker units of a cluster spec that should run. */
export function managedBrokerUnits(spec: KafkaClusterSpec | undefined): string[] {
  if (spec === undefined) return [];
  return clusterNodes(spec)
    .filter((n) => n.roles.includes('broker') && n.goal === 'running')
    .sort((a, b) => a.nodeId - b.nodeId)
    .map((n) => kafkaUnitName(spec, n));
}

export function artifactUrl(base: string, name: string): string {
  return `${base.replace(/\/+$/, '')}/artifacts/${encodeURIComponent(name)}`;
}

export function streamsRenderHook(opts: StreamsRenderOptions): RenderHook {
  return (ctx, template) => {
    const labels = template.labels ?? {};
    const env: Record<string, string> = { ...template.env };
    let uris: UriTemplate[] | undefined = template.uris;
    const artifact = labels[ARTIFACT_LABEL];
    if (artifact !== undefined) {
      const base = opts.artifactBaseUrl();
      if (base === '') throw new Error('the artifact server address is not known yet');
      uris = [...(uris ?? []), { value: artifactUrl(base, artifact), cache: false }];
    }
    if (labels[BOOTSTRAP_LABEL] === 'managed') {
      const servers: string[] = [];
      for (const unit of opts.brokerUnits()) {
        const p = ctx.lookup(unit);
        const port = p?.ports['broker'];
        if (p !== undefined && port !== undefined) servers.push(`${p.hostname.includes(':') ? `[${p.hostname}]` : p.hostname}:${port}`);
      }
      if (servers.length === 0) throw new Error('no broker of the managed Kafka cluster is placed yet (add brokers, or give streamsConfig bootstrap.servers)');
      const list = servers.join(',');
      env['BOOTSTRAP_SERVERS'] = list;
      env['KMF_STREAMS_CONFIG'] = `${env['KMF_STREAMS_CONFIG'] ?? ''}bootstrap.servers=${list}\n`;
    }
    const javaHome = opts.javaHome?.();
    if (javaHome !== undefined && env['JAVA_HOME'] === undefined) env['JAVA_HOME'] = javaHome;
    return { ...template, env, ...(uris === undefined ? {} : { uris }) };
  };
}
