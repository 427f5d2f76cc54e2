/**
 * docker-compose.yml, checked without a Docker engine (none on our machines):
 *   1. the Compose Specification's JSON schema (the copy shipped in the dclint npm package), with ajv, on the
 *      file after Compose-style interpolation (defaults, and again with every variable set);
 *   2. dclint's rules (docker/dclint.json: all of them, quotes style set, key order off);
 *   3. what this cluster needs to work, which no schema knows: the kmf environment contract, two kmf
 *      instances on one image, agents whose Mesos ports are published 1:1 under the name they advertise, ports
 *      bound to 127.0.0.1, dependencies and volumes that exist.
 * What this cannot show (pulling the images, Mesos starting in a container) is in docs/docker-compose.md.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import * as dclint from 'dclint';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const composeFile = path.join(root, 'docker-compose.yml');
const composeText = fs.readFileSync(composeFile, 'utf8');

type Env = Record<string, string>;

/** Compose interpolation: `$$`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `$VAR`. */
function interpolate(value: string, env: Env): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, name?: string, op?: string, arg?: string, bare?: string) => {
    if (m === '$$') return '$';
    const key = name ?? bare ?? '';
    const v = env[key];
    const unset = v === undefined || v === '';
    if (op === ':-') return unset ? (arg ?? '') : v;
    if (op === '-') return v ?? arg ?? '';
    if (op === ':?' || op === '?') {
      if (v === undefined || (op === ':?' && v === '')) throw new Error(`required variable ${key}: ${arg ?? ''}`);
      return v;
    }
    return v ?? '';
  });
}

function interpolateDeep(node: unknown, env: Env): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((n) => interpolateDeep(n, env));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateDeep(v, env)]));
  }
  return node;
}

/** The file as Compose reads it: YAML with merge keys (`<<: *anchor`), then interpolated. */
function load(text: string, env: Env = {}): Record<string, unknown> {
  const doc: unknown = parse(text, { merge: true });
  assert.ok(doc !== null && typeof doc === 'object' && !Array.isArray(doc));
  return interpolateDeep(doc, env) as Record<string, unknown>;
}

function composeValidator(): (doc: unknown) => ErrorObject[] {
  const schemaPath = path.join(root, 'node_modules', 'dclint', 'schemas', 'compose.schema.json');
  const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  assert.equal(schema['title'], 'Compose Specification');
  // The schema names draft-07 by an https URL that ajv does not register under; draft-07 is ajv's default.
  delete schema['$schema'];
  // The spec uses union types ("type": ["string", "number"]) on purpose.
  const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strictTypes: false });
  const check = ajv.compile(schema);
  return (doc) => (check(doc) ? [] : (check.errors ?? []));
}

const validateCompose = composeValidator();
const describeErrors = (errors: ErrorObject[]): string => errors.map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');

interface Service {
  image?: string;
  build?: string | { context: string; args?: Record<string, string> };
  pull_policy?: string;
  hostname?: string;
  platform?: string;
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  command?: string[];
  entrypoint?: string[];
  healthcheck?: { test: string[] };
}

const compose = load(composeText) as { name: string; services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  assert.ok(s, `no service ${name}`);
  return s;
};
const agents = Object.keys(services).filter((n) => /^agent-\d+$/.test(n));
const kmfServices = Object.keys(services).filter((n) => n === 'kmf' || n.startsWith('kmf-'));

/** "127.0.0.1:31000-31019:31000-31019" → { ip, published: [31000, 31019], target: [31000, 31019] } */
function parsePort(spec: string): { ip: string; published: [number, number]; target: [number, number] } {
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)(?:-(\d+))?:(\d+)(?:-(\d+))?$/.exec(spec);
  assert.ok(m, `port "${spec}" is not IP:PUBLISHED:TARGET`);
  const range = (a: string, b: string | undefined): [number, number] => [Number(a), Number(b ?? a)];
  return { ip: m[1]!, published: range(m[2]!, m[3]), target: range(m[4]!, m[5]) };
}

function flag(argv: string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

describe('docker-compose.yml against the Compose Specification schema', () => {
  test('is valid with every variable at its default', () => {
    assert.deepEqual(describeErrors(validateCompose(compose)), '');
  });

  test('is valid with every variable set (as from a .env file)', () => {
    const env: Env = {
      KMF_API_TOKEN: 'a'.repeat(32),
      KMF_API_READ_TOKEN: 'b'.repeat(32),
      KMF_LOG_LEVEL: 'debug',
      KMF_MESOS_IMAGE: 'mesos/mesos-centos@sha256:' + '0'.repeat(64),
      KMF_AGENT_CPUS: '4',
      KMF_AGENT_MEM: '8192',
      KMF_AGENT_DISK: '50000',
    };
    const doc = load(composeText, env) as typeof compose;
    assert.deepEqual(describeErrors(validateCompose(doc)), '');
    assert.equal(doc.services['kmf']?.environment?.['KMF_API_TOKEN'], env['KMF_API_TOKEN']);
    assert.equal(doc.services['mesos-master']?.image, env['KMF_MESOS_IMAGE']);
    assert.match(flag(doc.services['agent-2']?.command ?? [], 'resources') ?? '', /^cpus:4;mem:8192;disk:50000;ports:\[/);
  });

  test('every variable the file uses has a default, so `docker compose up` needs no .env', () => {
    // `$$` is an escaped dollar (left for the container's shell), not a Compose variable.
    const uses = [...composeText.matchAll(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}/g)].filter(([whole]) => whole !== '$$');
    assert.ok(uses.length > 0);
    for (const [whole, , rest] of uses) assert.match(rest ?? '', /^:-/, `${whole} has no default`);
  });

  test('the schema check can fail: it rejects documents Compose would refuse', () => {
    const broken = (mutate: (doc: typeof compose) => void): ErrorObject[] => {
      const doc = structuredClone(compose);
      mutate(doc);
      return validateCompose(doc);
    };
    assert.ok(broken((d) => Object.assign(d.services['kmf']!, { restart_policy: 'always' })).length > 0, 'unknown service key');
    assert.ok(broken((d) => Object.assign(d.services['kmf']!, { depends_on: { zookeeper: { condition: 'healthy' } } })).length > 0, 'bad depends_on condition');
    assert.ok(broken((d) => Object.assign(d.services['zookeeper']!, { healthcheck: { test: ['CMD', 'true'], interval: 10 } })).length > 0, 'interval must be a duration string');
    assert.ok(broken((d) => Object.assign(d, { volumes: { 'bad name!': {} } })).length > 0, 'bad volume name');
    assert.ok(broken((d) => Object.assign(d, { servics: {} })).length > 0, 'unknown top-level key');
  });
});

/** dclint's API as used here (its bundled .d.ts files use extensionless paths that NodeNext cannot follow). */
interface DclintModule {
  DCLinter: new (config: { rules: Record<string, unknown>; quiet: boolean; debug: boolean; exclude: string[] }) => {
    lintFiles(paths: string[], recursive: boolean): { messages: { line: number; column: number; type: string; rule: string; message: string }[] }[];
  };
}
const dclintApi: DclintModule = dclint;
const { DCLinter } = dclintApi;

describe('docker-compose.yml with dclint', () => {
  const config = JSON.parse(fs.readFileSync(path.join(root, 'docker', 'dclint.json'), 'utf8')) as { rules: Record<string, unknown> };
  const lint = (file: string): string[] => {
    const linter = new DCLinter({ rules: config.rules, quiet: false, debug: false, exclude: [] });
    return linter.lintFiles([file], false).flatMap((r) => r.messages.map((m) => `${m.line}:${m.column} ${m.type} ${m.rule}: ${m.message}`));
  };

  test('reports nothing (schema, YAML, and every enabled rule)', () => {
    assert.deepEqual(lint(composeFile), []);
  });

  test('reports a port published on every interface and an image without a tag (the check can fail)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-dclint-'));
    try {
      const file = path.join(dir, 'docker-compose.yml');
      fs.writeFileSync(file, 'name: x\nservices:\n  web:\n    image: nginx\n    ports:\n      - "8080:80"\n');
      const messages = lint(file).join('\n');
      assert.match(messages, /no-unbound-port-interfaces/);
      assert.match(messages, /service-image-require-explicit-tag/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docker-compose.yml: what the kmf cluster needs', () => {
  test('has ZooKeeper, one Mesos master, 2–3 agents and two kmf instances', () => {
    assert.equal(compose.name, 'kmf');
    assert.ok(services['zookeeper'] && services['mesos-master']);
    assert.ok(agents.length >= 2 && agents.length <= 3, agents.join());
    assert.deepEqual(kmfServices.sort(), ['kmf', 'kmf-standby']);
  });

  test('public images are pinned to a version (no floating tags)', () => {
    assert.match(service('zookeeper').image ?? '', /^zookeeper:\d+\.\d+\.\d+$/);
    assert.match(service('mesos-master').image ?? '', /^mesos\/mesos-centos:1\.11\.[x\d]+$/);
    assert.equal(service('mesos-master').platform, 'linux/amd64');
  });

  test('the kmf instances share one image built from the repository Dockerfile', () => {
    const kmf = service('kmf');
    assert.equal(kmf.build, '.');
    assert.ok(kmf.pull_policy === 'build' || kmf.pull_policy === 'missing');
    const standby = service('kmf-standby');
    assert.equal(standby.image, kmf.image);
    assert.equal(standby.build, undefined);
    assert.equal(standby.pull_policy, 'never');
    assert.equal(standby.depends_on?.['kmf']?.condition, 'service_healthy');
  });

  test('every kmf instance gets the scheduler contract from KMF_* variables', () => {
    for (const name of kmfServices) {
      const env = service(name).environment ?? {};
      assert.equal(env['KMF_MASTER'], 'zk://zookeeper:2181/mesos', name);
      assert.equal(env['KMF_ZK'], 'zookeeper:2181/kmf', name);
      const api = /^0\.0\.0\.0:(\d+)$/.exec(env['KMF_API'] ?? '');
      assert.ok(api, `${name}: KMF_API ${env['KMF_API']}`);
      // It advertises http://HOSTNAME:PORT: the port must be published 1:1 for that address to work from the host.
      const published = (service(name).ports ?? []).map(parsePort);
      assert.deepEqual(published.map((p) => [p.published, p.target]), [[[Number(api[1]), Number(api[1])], [Number(api[1]), Number(api[1])]]], name);
      assert.ok(env['KMF_FRAMEWORK_NAME'] && env['KMF_ROLE'] && env['KMF_USER'], name);
      // The API refuses tokens shorter than 16 characters; the local default must start.
      assert.ok((env['KMF_API_TOKEN'] ?? '').length >= 16, name);
      assert.ok(service(name).hostname, `${name} needs a hostname: it advertises http://HOSTNAME:8080 to the other instance`);
      assert.deepEqual(Object.keys(service(name).depends_on ?? {}).filter((d) => d !== 'kmf').sort(), ['mesos-master', 'zookeeper']);
    }
    const hostPorts = kmfServices.map((n) => parsePort(service(n).ports?.[0] ?? '').published[0]);
    assert.equal(new Set(hostPorts).size, kmfServices.length, 'each instance on its own host port');
    assert.equal(service('kmf').environment?.['KMF_API'], '0.0.0.0:8080');
  });

  test('the master and the agents find each other through the ZooKeeper kmf reads (zk://zookeeper:2181/mesos)', () => {
    const master = service('mesos-master').command ?? [];
    assert.equal(master[0], '/usr/sbin/mesos-master');
    assert.equal(flag(master, 'zk'), 'zk://zookeeper:2181/mesos');
    assert.equal(flag(master, 'quorum'), '1');
    assert.equal(flag(master, 'hostname'), service('mesos-master').hostname);
    for (const a of agents) assert.equal(flag(service(a).entrypoint ?? [], 'master'), 'zk://zookeeper:2181/mesos', a);
  });

  test('agents run tasks with the Mesos containerizer and the POSIX launcher (no privileges, no cgroups v1 needed)', () => {
    for (const a of agents) {
      const argv = [...(service(a).entrypoint ?? []), ...(service(a).command ?? [])];
      assert.equal(argv[0], '/usr/sbin/mesos-agent', a);
      assert.equal(flag(argv, 'containerizers'), 'mesos', a);
      assert.equal(flag(argv, 'launcher'), 'posix', a);
      assert.ok(flag(argv, 'work_dir'), a);
      assert.ok(argv.includes('--no-switch_user') && argv.includes('--no-systemd_enable_support'), a);
      assert.equal(service(a).image, 'kmf-mesos-agent:1.11', a);
      assert.equal(service(a).platform, 'linux/amd64', a);
    }
    const builders = agents.filter((a) => service(a).build !== undefined);
    assert.equal(builders.length, 1, 'one agent builds the image, the others reuse it');
    const build = service(builders[0]!).build;
    assert.ok(typeof build === 'object' && build.context === 'docker/mesos-agent-jre');
    assert.ok(fs.existsSync(path.join(root, build.context, 'Dockerfile')));
    for (const a of agents.filter((x) => !builders.includes(x))) assert.equal(service(a).pull_policy, 'never', a);
  });

  test('each agent advertises its own hostname and publishes its port and port range 1:1 (Kafka advertises HOST:PORT)', () => {
    const ranges: [number, number][] = [];
    for (const a of agents) {
      const s = service(a);
      const argv = s.command ?? [];
      assert.equal(flag(argv, 'hostname'), a);
      assert.equal(s.hostname, a);
      const port = Number(flag(argv, 'port'));
      const resources = flag(argv, 'resources') ?? '';
      const m = /(?:^|;)ports:\[(\d+)-(\d+)\]/.exec(resources);
      assert.ok(m, `${a} offers no port range: ${resources}`);
      const offered: [number, number] = [Number(m[1]), Number(m[2])];
      assert.match(resources, /(?:^|;)cpus:\d/);
      assert.match(resources, /(?:^|;)mem:\d/);
      assert.match(resources, /(?:^|;)disk:\d/);
      const published = (s.ports ?? []).map(parsePort);
      for (const p of published) {
        assert.equal(p.ip, '127.0.0.1', `${a} publishes on every interface`);
        assert.deepEqual(p.published, p.target, `${a}: ${p.published.join('-')} is not published 1:1`);
      }
      assert.ok(published.some((p) => p.target[0] === port && p.target[1] === port), `${a} does not publish its agent port ${port}`);
      assert.ok(published.some((p) => p.target[0] === offered[0] && p.target[1] === offered[1]), `${a} does not publish its range ${offered.join('-')}`);
      // The health check asks the agent on the port it listens on.
      assert.equal(s.environment?.['AGENT_HTTP_PORT'], String(port));
      assert.match(s.healthcheck?.test.join(' ') ?? '', /\$\{AGENT_HTTP_PORT\}\/health/);
      ranges.push([port, port], offered);
    }
    // No two agents (nor an agent and its own range) share a host port.
    const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]![0] > sorted[i - 1]![1], `host ports overlap: ${JSON.stringify(sorted)}`);
  });

  test('every published port is bound to 127.0.0.1 (the default token is public)', () => {
    for (const [name, s] of Object.entries(services)) for (const p of s.ports ?? []) assert.equal(parsePort(p).ip, '127.0.0.1', `${name}: ${p}`);
  });

  test('dependencies name services with health checks, and named volumes are declared', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
        assert.ok(services[dep], `${name} depends on unknown ${dep}`);
        // kmf's image carries its own HEALTHCHECK; the others declare theirs here.
        if (cond.condition === 'service_healthy' && dep !== 'kmf') assert.ok(services[dep]?.healthcheck, `${name} waits for ${dep} to be healthy, which has no health check`);
      }
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0] ?? '';
        if (!source.startsWith('.') && !source.startsWith('/')) assert.ok(source in compose.volumes, `${name}: volume ${source} is not declared`);
      }
    }
  });
});
