import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kafkaCommand, taskCommand, type TaskCommandInput } from '../../src/kafka/task-command.js';

const dist = { topDir: 'kafka-4.4.0', serverStart: 'bin/kafka-server-start', storageTool: 'bin/kafka-storage' };

function input(over: Partial<TaskCommandInput> = {}): TaskCommandInput {
  return {
    distribution: dist,
    clusterId: 'Tc18it-F-6WBAjmE9OWkAg',
    logDir: 'volume/kafka',
    format: { kind: 'plain' },
    resources: { heapMb: 1024 },
    properties: 'node.id=1\n',
    ...over,
  };
}

void describe('task command', () => {
  void test('formats idempotently, then execs the broker so SIGTERM reaches the JVM', () => {
    const c = kafkaCommand(dist);
    assert.match(c, /^set -eu$/m);
    assert.match(c, /cd "\$\{MESOS_SANDBOX:-\$PWD\}"/);
    assert.match(c, /printf '%s\\n' "\$KMF_SERVER_PROPERTIES" > server\.properties/);
    assert.match(c, /"\$home\/"'bin\/kafka-storage' format -t "\$KMF_CLUSTER_ID" -c server\.properties --ignore-formatted "\$@"/);
    assert.match(c.split('\n').at(-1) ?? '', /^exec "\$home\/"'bin\/kafka-server-start' server\.properties$/);
  });

  void test('the command text is the same whatever the node and format mode (no restart when the mode flips)', () => {
    const a = taskCommand(input({ format: { kind: 'initial-controllers', initialControllers: '0@h:1:d' } }), 0);
    const b = taskCommand(input({ format: { kind: 'join' }, resources: { heapMb: 2048, jvmOpts: '-XX:+UseZGC' } }), 7);
    assert.equal(a.command, b.command);
    assert.equal(a.env['KMF_STORAGE_FORMAT'], 'initial-controllers');
    assert.equal(a.env['KMF_INITIAL_CONTROLLERS'], '0@h:1:d');
    assert.equal(b.env['KMF_STORAGE_FORMAT'], 'join');
    assert.equal(b.env['KMF_INITIAL_CONTROLLERS'], undefined);
  });

  void test('environment: properties, cluster id, heap from heapMb, JVM flags replacing the GC defaults', () => {
    const t = taskCommand(input({ resources: { heapMb: 1536, jvmOpts: ' -XX:+UseZGC ' }, javaHome: '/usr/lib/jvm/java-17' }), 3);
    assert.equal(t.env['KMF_SERVER_PROPERTIES'], 'node.id=1\n');
    assert.equal(t.env['KMF_CLUSTER_ID'], 'Tc18it-F-6WBAjmE9OWkAg');
    assert.equal(t.env['KMF_LOG_DIR'], 'volume/kafka');
    assert.equal(t.env['KMF_NODE_ID'], '3');
    assert.equal(t.env['KAFKA_HEAP_OPTS'], '-Xms1536m -Xmx1536m');
    assert.equal(t.env['KAFKA_JVM_PERFORMANCE_OPTS'], '-XX:+UseZGC');
    assert.equal(t.env['KAFKA_OPTS'], '-XX:+ExitOnOutOfMemoryError');
    assert.equal(t.env['JAVA_HOME'], '/usr/lib/jvm/java-17');
    const plain = taskCommand(input(), 3);
    assert.equal(plain.env['KAFKA_JVM_PERFORMANCE_OPTS'], undefined, 'the distribution defaults apply');
  });

  void test('distribution paths must be plain relative paths (they are pasted into a shell command)', () => {
    assert.throws(() => kafkaCommand({ ...dist, topDir: 'kafka; rm -rf /' }), /plain relative path/);
    assert.throws(() => kafkaCommand({ ...dist, serverStart: '../bin/x' }), /plain relative path/);
    assert.throws(() => kafkaCommand({ ...dist, storageTool: "bin/it's" }), /plain relative path/);
  });
});
