/**
 * The pure parts of `kmf sandbox`: the Java version check, the state file, the token file, the agents' resources,
 * ZooKeeper's config, the example app's spec (validated by the scheduler's own app validation) and the progress
 * output. The whole command runs in test/integration/sandbox.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { validateApp } from '../../src/runtime/apps.js';
import { loadOrCreateToken, readState, sandboxLayout, writeState, type SandboxState } from '../../src/sandbox/layout.js';
import { javaMajor } from '../../src/sandbox/prerequisites.js';
import { createProgress } from '../../src/sandbox/progress.js';
import { agentResources } from '../../src/sandbox/run.js';
import { wordcountAppSpec } from '../../src/sandbox/wordcount.js';
import { zooKeeperConfig } from '../../src/sandbox/zookeeper.js';
import { parseResources } from '../../src/sim/resources-syntax.js';
import type { RuntimeManifest } from '../../src/util/runtime-manifest.js';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-sandbox-unit-'));
}

describe('sandbox prerequisites', () => {
  test('javaMajor reads both version schemes', () => {
    assert.equal(javaMajor('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment'), 17);
    assert.equal(javaMajor('openjdk version "21" 2023-09-19'), 21);
    assert.equal(javaMajor('java version "1.8.0_402"'), 8);
    assert.equal(javaMajor('bash: java: command not found'), undefined);
  });
});

describe('sandbox directory', () => {
  test('the state round-trips; a foreign file is refused with the way out', () => {
    const layout = sandboxLayout(tmpDir());
    try {
      assert.equal(readState(layout), undefined);
      const state: SandboxState = { version: 1, createdAt: '2026-01-01T00:00:00.000Z', ports: { zookeeper: 1, mesos: 2, api: 3 }, agentPorts: { begin: 20000, end: 20099 } };
      writeState(layout, state);
      assert.deepEqual(readState(layout), state);
      fs.writeFileSync(layout.stateFile, '{"hello": 1}');
      assert.throws(() => readState(layout), /--fresh/);
    } finally {
      fs.rmSync(layout.dir, { recursive: true, force: true });
    }
  });

  test('the token is created once, private, and kept', () => {
    const layout = sandboxLayout(tmpDir());
    try {
      const first = loadOrCreateToken(layout);
      assert.match(first, /^[A-Za-z0-9_-]{32}$/);
      assert.equal(fs.statSync(layout.tokenFile).mode & 0o777, 0o600);
      fs.chmodSync(layout.tokenFile, 0o644);
      assert.equal(loadOrCreateToken(layout), first);
      assert.equal(fs.statSync(layout.tokenFile).mode & 0o777, 0o600, 'made private again');
    } finally {
      fs.rmSync(layout.dir, { recursive: true, force: true });
    }
  });
});

describe('what the sandbox starts', () => {
  test('agent resources parse as Mesos agent syntax and fit a broker and the app', () => {
    const rs = parseResources(agentResources({ begin: 25400, end: 25499 }));
    const scalar = (name: string): number => rs.find((r) => r.name === name)?.scalar?.value ?? 0;
    assert.ok(scalar('cpus') >= 0.5 + 0.5);
    assert.ok(scalar('mem') >= 640 + 384);
    assert.deepEqual(rs.find((r) => r.name === 'ports')?.ranges?.range, [{ begin: 25400, end: 25499 }]);
  });

  test('ZooKeeper keeps its data in the sandbox directory and listens on loopback only', () => {
    const cfg = zooKeeperConfig(sandboxLayout('/srv/sb'), 2181);
    assert.match(cfg, /^dataDir=\/srv\/sb\/zookeeper\/data$/m);
    assert.match(cfg, /^clientPort=2181$/m);
    assert.match(cfg, /^clientPortAddress=127\.0\.0\.1$/m);
  });

  test('the example app is a valid streams app named wordcount', () => {
    const manifest = { wordcount: { jar: '/x/examples/wordcount/target/wordcount-1.0.jar', mainClass: 'io.kmf.examples.WordCount', kafkaStreamsVersion: '4.4.0' } } as RuntimeManifest;
    const spec = wordcountAppSpec(manifest);
    const v = validateApp(spec, { frameworkRole: 'kmf' });
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(v.app.name, 'wordcount');
    assert.equal(spec['artifact'], 'wordcount-1.0.jar');
    assert.deepEqual(spec['env'], { IN_TOPIC: 'words-in', OUT_TOPIC: 'word-counts' });
  });
});

describe('progress output', () => {
  test('human lines carry the elapsed time; --json lines are JSON events', () => {
    const out: string[] = [];
    const human = createProgress((t) => out.push(t), false, Date.now() - 1500);
    human.step('ZooKeeper serving');
    human.block(['ready', 'bootstrap servers: a:1'], { event: 'ready' });
    assert.match(out[0] ?? '', /^\[\s+1\.\ds\] ZooKeeper serving\n$/);
    assert.equal(out[1], 'ready\nbootstrap servers: a:1\n');

    const json: string[] = [];
    const machine = createProgress((t) => json.push(t), true);
    machine.warn('careful');
    machine.block(['ready'], { event: 'ready', bootstrapServers: 'a:1' });
    const events = json.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(events[0]?.['event'], 'warning');
    assert.equal(events[0]?.['message'], 'careful');
    assert.equal(events[1]?.['event'], 'ready');
    assert.equal(events[1]?.['bootstrapServers'], 'a:1');
  });
});
