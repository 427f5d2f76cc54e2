import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { clusterNodes, createClusterSpec } from '../../src/kafka/cluster-model.js';
import type { ControllerEndpoint } from '../../src/kafka/quorum.js';
import { parseProperties, propertiesText, serverProperties, type PropertyList } from '../../src/kafka/server-properties.js';
import { KMF_OWNED_PROPERTIES } from '../../src/kafka/owned-properties.js';

function asMap(props: PropertyList): Map<string, string> {
  return new Map(props);
}

const controllers: ControllerEndpoint[] = [
  { nodeId: 1000, directoryId: 'd0', host: 'agent-1.example.com', port: 31000 },
  { nodeId: 1001, directoryId: 'd1', host: 'agent-2.example.com', port: 31000 },
  { nodeId: 1002, directoryId: 'd2', host: 'agent-3.example.com', port: 31005 },
];

void describe('server.properties', () => {
  const spec = createClusterSpec({ version: '4.4.0', brokers: 4, overrides: { 'log.retention.hours': '24', 'num.partitions': '6' } });
  spec.brokers.nodes[1]!.overrides = { 'num.partitions': '12', 'broker.rack': 'rack-b' };
  const nodes = clusterNodes(spec);
  const controller = nodes.find((n) => n.nodeId === 1000)!;
  const broker1 = nodes.find((n) => n.nodeId === 1)!;

  void test('a broker binds all interfaces and advertises the agent host and offered port', () => {
    const p = asMap(serverProperties(spec, broker1, { advertisedHost: 'agent-7.example.com', brokerPort: 31234, logDir: 'volume/kafka' }, controllers));
    assert.equal(p.get('process.roles'), 'broker');
    assert.equal(p.get('node.id'), '1');
    assert.equal(p.get('listeners'), 'BROKER://0.0.0.0:31234');
    assert.equal(p.get('advertised.listeners'), 'BROKER://agent-7.example.com:31234');
    assert.equal(p.get('inter.broker.listener.name'), 'BROKER');
    assert.equal(p.get('controller.listener.names'), 'CONTROLLER');
    assert.equal(p.get('listener.security.protocol.map'), 'BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT');
    assert.equal(p.get('controller.quorum.bootstrap.servers'), 'agent-1.example.com:31000,agent-2.example.com:31000,agent-3.example.com:31005');
    assert.equal(p.has('controller.quorum.auto.join.enable'), false);
    assert.equal(p.get('log.dirs'), 'volume/kafka');
    assert.ok(![...p.values()].some((v) => /localhost|127\.0\.0\.1/.test(v)), 'nothing is advertised as localhost');
  });

  void test('precedence: kmf defaults < cluster overrides < broker overrides', () => {
    const p = asMap(serverProperties(spec, broker1, { advertisedHost: 'h', brokerPort: 1, logDir: 'd' }, controllers));
    assert.equal(p.get('num.partitions'), '12');
    assert.equal(p.get('broker.rack'), 'rack-b');
    assert.equal(p.get('log.retention.hours'), '24');
    assert.equal(p.get('offsets.topic.replication.factor'), '3');
    const p0 = asMap(serverProperties(spec, nodes.find((n) => n.nodeId === 0)!, { advertisedHost: 'h', brokerPort: 1, logDir: 'd' }, controllers));
    assert.equal(p0.get('num.partitions'), '6');
    assert.equal(p0.has('broker.rack'), false);
  });

  void test('a dedicated controller has only the CONTROLLER listener, advertised, and auto-join', () => {
    const p = asMap(serverProperties(spec, controller, { advertisedHost: 'agent-1.example.com', controllerPort: 31000, logDir: 'data' }, controllers));
    assert.equal(p.get('process.roles'), 'controller');
    assert.equal(p.get('listeners'), 'CONTROLLER://0.0.0.0:31000');
    assert.equal(p.get('advertised.listeners'), 'CONTROLLER://agent-1.example.com:31000');
    assert.equal(p.has('inter.broker.listener.name'), false);
    assert.equal(p.get('controller.quorum.auto.join.enable'), 'true');
  });

  void test('a combined node has both listeners; a static quorum writes the voters', () => {
    const s = createClusterSpec({ version: '4.4.0', brokers: 3, controllers: { quorum: 'static' } });
    const node = clusterNodes(s)[0]!;
    const eps: ControllerEndpoint[] = [0, 1, 2].map((i) => ({ nodeId: i, directoryId: `d${i}`, host: `a${i}`, port: 9093 }));
    const p = asMap(serverProperties(s, node, { advertisedHost: 'a0', bindHost: 'a0', brokerPort: 9092, controllerPort: 9093, logDir: '/data' }, eps));
    assert.equal(p.get('process.roles'), 'broker,controller');
    assert.equal(p.get('listeners'), 'BROKER://a0:9092,CONTROLLER://a0:9093');
    assert.equal(p.get('advertised.listeners'), 'BROKER://a0:9092,CONTROLLER://a0:9093');
    assert.equal(p.get('controller.quorum.voters'), '0@a0:9093,1@a1:9093,2@a2:9093');
    assert.equal(p.has('controller.quorum.bootstrap.servers'), false);
  });

  void test('placeholders pass through untouched (the core resolves them at launch)', () => {
    const text = propertiesText(
      serverProperties(spec, broker1, { advertisedHost: '{{host}}', brokerPort: '{{port:broker}}', logDir: '{{volume}}/kafka' }, controllers),
    );
    assert.match(text, /^advertised\.listeners=BROKER:\/\/\{\{host\}\}:\{\{port:broker\}\}$/m);
    assert.match(text, /^log\.dirs=\{\{volume\}\}\/kafka$/m);
  });

  void test('missing ports are errors, not "undefined" in the file', () => {
    assert.throws(() => serverProperties(spec, broker1, { advertisedHost: 'h', logDir: 'd' }, controllers), /no broker port/);
    assert.throws(() => serverProperties(spec, controller, { advertisedHost: 'h', logDir: 'd' }, controllers), /no controller port/);
  });

  void test('every owned key is written once, before any tunable', () => {
    const props = serverProperties(spec, broker1, { advertisedHost: 'h', brokerPort: 1, logDir: 'd' }, controllers);
    const keys = props.map(([k]) => k);
    assert.equal(new Set(keys).size, keys.length);
    const lastOwned = Math.max(...keys.map((k, i) => (k in KMF_OWNED_PROPERTIES ? i : -1)));
    const firstTunable = keys.findIndex((k) => !(k in KMF_OWNED_PROPERTIES));
    assert.ok(lastOwned < firstTunable);
  });

  void test('property: values survive the Java properties encoding (backslashes, unicode, leading spaces)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9._-]{0,20}$/), fc.string({ unit: 'binary', maxLength: 30 }).filter((v) => !/[\r\n]/.test(v))),
        (dict) => {
          const list: PropertyList = Object.entries(dict);
          const parsed = parseProperties(propertiesText(list, 'header\nsecond line'));
          assert.deepEqual(new Map(list), parsed);
        },
      ),
    );
  });

  void test('escaping examples', () => {
    assert.equal(propertiesText([['a', 'C:\\x']]), 'a=C:\\\\x\n');
    assert.equal(propertiesText([['a', ' lead']]), 'a=\\ lead\n');
    assert.equal(propertiesText([['a', 'é']]), 'a=\\u00e9\n');
  });
});
