/**
 * server.properties keys kmf derives itself and an operator may not override, each with the reason shown in the
 * validation error. Everything else is overridable per cluster or per broker (kmf's defaults < cluster
 * overrides < broker overrides).
 */
export const KMF_OWNED_PROPERTIES: Readonly<Record<string, string>> = {
  'node.id': 'kmf allocates node ids and persists them',
  'broker.id': 'it is the old name of node.id, which kmf allocates',
  'process.roles': 'it follows from the controller mode (combined or dedicated)',
  listeners: 'kmf binds the listeners to the ports Mesos offered',
  'advertised.listeners': "kmf advertises the agent's host and the offered port",
  'listener.security.protocol.map': 'kmf names the listeners (BROKER, CONTROLLER) and maps them',
  'controller.listener.names': 'kmf names the controller listener',
  'inter.broker.listener.name': 'kmf names the listener brokers replicate over',
  'security.inter.broker.protocol': 'it conflicts with inter.broker.listener.name, which kmf sets',
  'early.start.listeners': 'kmf names the listeners',
  'controller.quorum.voters': 'kmf places the controllers and writes the quorum endpoints',
  'controller.quorum.bootstrap.servers': 'kmf places the controllers and writes the quorum endpoints',
  'controller.quorum.auto.join.enable': 'kmf relies on it to move controllers in a dynamic quorum',
  'log.dirs': 'kmf puts the data on the persistent volume (or in the sandbox)',
  'log.dir': 'kmf sets log.dirs, which takes precedence',
  'metadata.log.dir': 'the metadata log lives in the data directory kmf manages',
  'zookeeper.connect': 'Kafka 4.x runs in KRaft mode only',
};

/** Why `key` may not be overridden, or undefined if it may. */
export function ownedPropertyReason(key: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(KMF_OWNED_PROPERTIES, key) ? KMF_OWNED_PROPERTIES[key] : undefined;
}
