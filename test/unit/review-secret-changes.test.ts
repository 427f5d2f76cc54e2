/**
 * Secret server.properties values (passwords, JAAS configs, inline keys) never appear in what kmf writes about
 * a change: the list of changes of a cluster config update, and the operator entries of the timeline (readable
 * with a read-only token). The values themselves are kept as given.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addBrokers, createClusterSpec, updateClusterConfig } from '../../src/kafka/cluster-model.js';
import { isSensitiveProperty, MASKED_VALUE } from '../../src/kafka/sensitive-properties.js';
import { ALICE, apiFixture, READER, type ApiFixture } from '../helpers/api-fixture.js';

const SECRET = 'hunter2-keystore-secret';
const JAAS = `org.apache.kafka.common.security.scram.ScramLoginModule required username="kmf" password="${SECRET}";`;

describe('secret override values in change descriptions', () => {
  test('which keys are secrets', () => {
    for (const k of ['ssl.keystore.password', 'ssl.key.password', 'listener.name.internal.ssl.truststore.password', 'sasl.jaas.config', 'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config', 'ssl.keystore.key', 'password.encoder.secret', 'delegation.token.secret.key']) {
      assert.ok(isSensitiveProperty(k), k);
    }
    for (const k of ['log.retention.hours', 'num.io.threads', 'ssl.keystore.location', 'ssl.keystore.type', 'sasl.enabled.mechanisms']) assert.ok(!isSensitiveProperty(k), k);
  });

  test('cluster config changes mask the new and the old value, and keep the real one in the spec', () => {
    const spec = createClusterSpec({ version: '4.4.0', brokers: 3 });
    const first = updateClusterConfig(spec, { set: { 'ssl.keystore.password': SECRET, 'sasl.jaas.config': JAAS, 'log.retention.hours': '48' } });
    assert.equal(first.spec.overrides['ssl.keystore.password'], SECRET);
    assert.equal(first.spec.overrides['sasl.jaas.config'], JAAS);
    assert.deepEqual(first.changes.sort(), ['log.retention.hours=48', `sasl.jaas.config=${MASKED_VALUE}`, `ssl.keystore.password=${MASKED_VALUE}`]);
    const second = updateClusterConfig(first.spec, { set: { 'ssl.keystore.password': 'rotated-secret' } });
    assert.deepEqual(second.changes, [`ssl.keystore.password=${MASKED_VALUE} (was ${MASKED_VALUE})`]);
  });
});

describe('secret override values in the timeline', () => {
  let f: ApiFixture;
  before(async () => {
    f = await apiFixture();
    await f.term().mutateDesired(async (store) => {
      const now = new Date().toISOString();
      await store.putKafka({ spec: addBrokers(createClusterSpec({ version: '4.4.0', brokers: 3 }), 1).spec, quorumFormed: true, createdAt: now, updatedAt: now });
    });
  });
  after(async () => {
    await f?.close();
  });

  test('PATCH of a broker and of the cluster config: the timeline says what changed, without the secret', async () => {
    const patch = async (url: string, payload: unknown): Promise<void> => {
      const r = await f.app.inject({ method: 'PATCH', url, headers: { authorization: `Bearer ${ALICE}` }, payload: payload as Record<string, unknown> });
      assert.equal(r.statusCode, 200, r.body);
    };
    await patch('/api/v1/brokers/3', { options: { 'ssl.key.password': SECRET, 'num.io.threads': '4' } });
    await patch('/api/v1/cluster/config', { set: { 'sasl.jaas.config': JAAS } });
    const r = await f.app.inject({ method: 'GET', url: '/api/v1/timeline?kind=operator&limit=100', headers: { authorization: `Bearer ${READER}` } });
    assert.equal(r.statusCode, 200, r.body);
    assert.ok(!r.body.includes(SECRET), r.body);
    const messages = r.json<{ entries: Array<{ message: string }> }>().entries.map((e) => e.message);
    assert.ok(messages.some((m) => m.includes(`ssl.key.password=${MASKED_VALUE}`) && m.includes('num.io.threads=4')), JSON.stringify(messages));
    assert.ok(messages.some((m) => m.includes(`sasl.jaas.config=${MASKED_VALUE}`)), JSON.stringify(messages));
  });
});
