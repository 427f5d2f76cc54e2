/**
 * server.properties of one Kafka node (controller, broker or combined), rendered from the cluster spec and the
 * node's placement. Pure.
 *
 * Listeners: one `BROKER` listener (clients and replication share the offered port) and, on controllers, one
 * `CONTROLLER` listener. They bind to `bindHost` (all interfaces by default) and are advertised as the agent's
 * host and the offered port: never `localhost`, unless the agent's host really is that.
 *
 * Precedence: kmf's defaults < cluster overrides < role/broker overrides; the keys kmf owns (owned-properties.ts)
 * are never taken from overrides (validation rejects them) and are written first.
 */
import type { ClusterNode, KafkaClusterSpec } from './cluster-model.js';
import { quorumProperties, type ControllerEndpoint } from './quorum.js';

export const BROKER_LISTENER = 'BROKER';
export const CONTROLLER_LISTENER = 'CONTROLLER';

export interface NodePlacement {
  /** Host advertised to clients and to other nodes: the agent's hostname (or a placeholder resolving to it). */
  advertisedHost: string;
  /** Address the listeners bind to. Default 0.0.0.0 (every interface of the agent). */
  bindHost?: string;
  /** The offered port of the BROKER listener (nodes with the broker role). */
  brokerPort?: number | string;
  /** The offered port of the CONTROLLER listener (nodes with the controller role). */
  controllerPort?: number | string;
  /** Data directory: an absolute path, or a path relative to the task's sandbox (the task command runs there). */
  logDir: string;
}

export type PropertyList = Array<[key: string, value: string]>;

/** Ordered key/value pairs of the node's server.properties. Throws if the placement lacks a needed port. */
export function serverProperties(
  spec: KafkaClusterSpec,
  node: ClusterNode,
  placement: NodePlacement,
  controllers: readonly ControllerEndpoint[],
): PropertyList {
  const isBroker = node.roles.includes('broker');
  const isController = node.roles.includes('controller');
  const bind = placement.bindHost ?? '0.0.0.0';
  const host = placement.advertisedHost;
  if (host === '') throw new Error(`node ${node.nodeId}: the advertised host is empty`);
  const listeners: string[] = [];
  const advertised: string[] = [];
  if (isBroker) {
    if (placement.brokerPort === undefined) throw new Error(`node ${node.nodeId}: no broker port in the placement`);
    listeners.push(`${BROKER_LISTENER}://${bind}:${placement.brokerPort}`);
    advertised.push(`${BROKER_LISTENER}://${host}:${placement.brokerPort}`);
  }
  if (isController) {
    if (placement.controllerPort === undefined) throw new Error(`node ${node.nodeId}: no controller port in the placement`);
    listeners.push(`${CONTROLLER_LISTENER}://${bind}:${placement.controllerPort}`);
    // Controllers advertise their endpoint too: a dynamic quorum stores it in the voter set.
    advertised.push(`${CONTROLLER_LISTENER}://${host}:${placement.controllerPort}`);
  }
  const owned: PropertyList = [
    ['process.roles', node.roles.join(',')],
    ['node.id', String(node.nodeId)],
    ['listeners', listeners.join(',')],
    ['advertised.listeners', advertised.join(',')],
    ['listener.security.protocol.map', `${BROKER_LISTENER}:PLAINTEXT,${CONTROLLER_LISTENER}:PLAINTEXT`],
    ['controller.listener.names', CONTROLLER_LISTENER],
  ];
  if (isBroker) owned.push(['inter.broker.listener.name', BROKER_LISTENER]);
  for (const [k, v] of Object.entries(quorumProperties(spec, node, controllers))) owned.push([k, v]);
  owned.push(['log.dirs', placement.logDir]);

  const ownedKeys = new Set(owned.map(([k]) => k));
  const tunable: Record<string, string> = { ...spec.defaults, ...node.overrides };
  const rest: PropertyList = Object.entries(tunable)
    .filter(([k]) => !ownedKeys.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [...owned, ...rest];
}

/**
 * The file text. Java reads server.properties as ISO-8859-1 with backslash escapes, so backslashes are doubled,
 * non-ASCII characters written as \uXXXX and a leading space escaped: every value arrives as written.
 */
export function propertiesText(props: PropertyList, header?: string): string {
  const lines: string[] = [];
  if (header !== undefined) for (const h of header.split('\n')) lines.push(`# ${h}`);
  for (const [k, v] of props) lines.push(`${escapeKey(k)}=${escapeValue(v)}`);
  return lines.join('\n') + '\n';
}

function escapeKey(k: string): string {
  return k.replace(/[\\:= #!]/g, (c) => '\\' + c);
}

function escapeValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const ch = v.charAt(i);
    const code = v.charCodeAt(i);
    if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (i === 0 && ch === ' ') out += '\\ ';
    else if (code < 0x20 || code > 0x7e) out += '\\u' + code.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out;
}

/** Parses properties text the way java.util.Properties does for the subset propertiesText writes (tests, tools). */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    let i = 0;
    let key = '';
    while (i < line.length && line[i] !== '=' && line[i] !== ':') {
      if (line[i] === '\\' && i + 1 < line.length) {
        key += line[i + 1];
        i += 2;
      } else key += line[i++];
    }
    out.set(key.trim(), unescape(line.slice(i + 1).replace(/^[ \t\f]+/, '')));
  }
  return out;
}

function unescape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s.charAt(i);
    if (ch !== '\\' || i + 1 >= s.length) {
      out += ch;
      continue;
    }
    const next = s.charAt(++i);
    switch (next) {
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u':
        out += String.fromCharCode(parseInt(s.slice(i + 1, i + 5), 16));
        i += 4;
        break;
      default:
        out += next;
    }
  }
  return out;
}
