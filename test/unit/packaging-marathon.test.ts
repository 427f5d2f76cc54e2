/**
 * marathon/kmf.json, the Marathon app that runs the kmf scheduler as two hot-standby instances.
 *
 * No package registry ships a machine-readable Marathon app schema (Marathon describes its API in RAML inside
 * its own repository), so this file carries a focused JSON schema for the fields kmf.json uses, written from
 * Marathon 1.x's REST types: field names, types, enums, ranges and patterns (PathId, env names, health check
 * protocols, constraint operators, upgrade strategy bounds). ajv checks the file against it with
 * additionalProperties off, so a misspelt field fails. On top, the rules Marathon's validator applies across
 * fields (cmd xor args, a health check's portIndex within the ports, …) and what kmf needs (the env contract,
 * the API on $PORT0, one-at-a-time rolling of the two instances) are asserted directly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const appText = fs.readFileSync(path.join(root, 'marathon', 'kmf.json'), 'utf8');

const labels = { type: 'object', additionalProperties: { type: 'string' }, propertyNames: { minLength: 1, maxLength: 255 } };
const kvName = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 };
const port = { type: 'integer', minimum: 0, maximum: 65535 };

/** The Marathon app definition fields kmf.json uses, after Marathon 1.x's RAML types (app, healthCheck, …). */
const appSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: { type: 'string', minLength: 1, pattern: '^(\\/?((\\.{2})|([a-z0-9][a-z0-9\\-.]*[a-z0-9]+)|([a-z0-9]*))($|\\/))+$' },
    instances: { type: 'integer', minimum: 0 },
    cpus: { type: 'number', minimum: 0.001 },
    mem: { type: 'number', minimum: 0 },
    disk: { type: 'number', minimum: 0 },
    cmd: { type: 'string', minLength: 1 },
    args: { type: 'array', items: { type: 'string' } },
    user: { type: 'string' },
    env: {
      type: 'object',
      propertyNames: { pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', maxLength: 1024 },
      additionalProperties: { oneOf: [{ type: 'string' }, { type: 'object', required: ['secret'], additionalProperties: false, properties: { secret: { type: 'string' } } }] },
    },
    container: {
      type: 'object',
      additionalProperties: false,
      properties: {
        type: { enum: ['DOCKER', 'MESOS'] },
        docker: {
          type: 'object',
          additionalProperties: false,
          required: ['image'],
          properties: { image: { type: 'string', minLength: 1 }, forcePullImage: { type: 'boolean' }, privileged: { type: 'boolean' } },
        },
        volumes: { type: 'array' },
      },
    },
    networks: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, properties: { mode: { enum: ['container', 'container/bridge', 'host'] }, name: kvName, labels } },
    },
    portDefinitions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { port, name: kvName, protocol: { enum: ['tcp', 'udp', 'tcp,udp'] }, labels },
      },
    },
    requirePorts: { type: 'boolean' },
    healthChecks: {
      type: 'array',
      uniqueItems: true,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          protocol: { enum: ['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_TCP', 'MESOS_HTTP', 'MESOS_HTTPS'] },
          path: { type: 'string' },
          portIndex: port,
          port,
          gracePeriodSeconds: { type: 'integer', minimum: 0 },
          intervalSeconds: { type: 'integer', minimum: 0 },
          timeoutSeconds: { type: 'integer', minimum: 0 },
          delaySeconds: { type: 'integer', minimum: 0 },
          maxConsecutiveFailures: { type: 'integer', minimum: 0 },
          ipProtocol: { enum: ['IPv4', 'IPv6'] },
          ignoreHttp1xx: { type: 'boolean' },
        },
      },
    },
    upgradeStrategy: {
      type: 'object',
      additionalProperties: false,
      properties: { minimumHealthCapacity: { type: 'number', minimum: 0, maximum: 1 }, maximumOverCapacity: { type: 'number', minimum: 0, maximum: 1 } },
    },
    constraints: {
      type: 'array',
      uniqueItems: true,
      items: {
        type: 'array',
        minItems: 2,
        maxItems: 3,
        items: { type: 'string' },
      },
    },
    taskKillGracePeriodSeconds: { type: 'integer', minimum: 0 },
    backoffSeconds: { type: 'integer', minimum: 0 },
    backoffFactor: { type: 'number', minimum: 1 },
    maxLaunchDelaySeconds: { type: 'integer', minimum: 0 },
    labels,
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const schemaCheck = ajv.compile(JSON.parse(JSON.stringify(appSchema)) as object);

interface App {
  id: string;
  instances: number;
  cpus: number;
  mem: number;
  cmd?: string;
  args?: string[];
  env: Record<string, string | { secret: string }>;
  container?: { type: string; docker?: { image: string } };
  networks?: { mode: string }[];
  portDefinitions?: { port: number; name?: string }[];
  healthChecks: { protocol: string; path?: string; portIndex?: number; port?: number; gracePeriodSeconds?: number; intervalSeconds?: number; timeoutSeconds?: number; maxConsecutiveFailures?: number }[];
  upgradeStrategy: { minimumHealthCapacity: number; maximumOverCapacity: number };
  constraints: string[][];
  taskKillGracePeriodSeconds?: number;
  labels?: Record<string, string>;
}

const CONSTRAINT_OPERATORS = ['UNIQUE', 'CLUSTER', 'GROUP_BY', 'LIKE', 'UNLIKE', 'MAX_PER', 'IS'];

/** Marathon's checks across fields, for what kmf.json uses. Returns the problems found. */
function crossFieldProblems(app: App): string[] {
  const problems: string[] = [];
  if ((app.cmd === undefined) === (app.args === undefined) && app.container?.docker === undefined) problems.push('exactly one of cmd and args');
  if (app.cmd !== undefined && app.args !== undefined) problems.push('cmd and args are exclusive');
  const ports = app.portDefinitions?.length ?? 0;
  const hostNetwork = (app.networks ?? [{ mode: 'host' }]).every((n) => n.mode === 'host');
  for (const hc of app.healthChecks) {
    const http = ['HTTP', 'HTTPS', 'MESOS_HTTP', 'MESOS_HTTPS'].includes(hc.protocol);
    if (http && (hc.path === undefined || !hc.path.startsWith('/'))) problems.push(`${hc.protocol} health check needs an absolute path`);
    if (hc.protocol !== 'COMMAND') {
      if (hc.port === undefined && hc.portIndex === undefined && ports === 0) problems.push('health check without a port');
      if (hc.portIndex !== undefined && hc.portIndex >= ports) problems.push(`portIndex ${hc.portIndex} but only ${ports} port(s)`);
      if (hc.port !== undefined && hc.portIndex !== undefined) problems.push('port and portIndex are exclusive');
    }
    if ((hc.timeoutSeconds ?? 20) >= (hc.intervalSeconds ?? 60)) problems.push('health check timeout must be shorter than its interval');
  }
  if (!hostNetwork && app.portDefinitions !== undefined) problems.push('portDefinitions only apply to host networking');
  for (const c of app.constraints) {
    const [field, op, value] = c;
    if (field === undefined || field === '') problems.push('constraint without a field');
    if (op === undefined || !CONSTRAINT_OPERATORS.includes(op)) problems.push(`unknown constraint operator ${String(op)}`);
    if (op === 'UNIQUE' && value !== undefined) problems.push('UNIQUE takes no value');
    if (op !== undefined && op !== 'UNIQUE' && value === undefined) problems.push(`${op} needs a value`);
  }
  return problems;
}

/**
 * How Marathon replaces the instances during an upgrade, per its documented bounds: it keeps at least
 * ceil(instances × minimumHealthCapacity) healthy ones and starts at most floor(instances × maximumOverCapacity)
 * extra ones. Returns how many old instances may be down at once.
 */
function upgradeBatch(app: App): { keepHealthy: number; extra: number; downAtOnce: number } {
  const keepHealthy = Math.ceil(app.instances * app.upgradeStrategy.minimumHealthCapacity);
  const extra = Math.floor(app.instances * app.upgradeStrategy.maximumOverCapacity);
  return { keepHealthy, extra, downAtOnce: app.instances - keepHealthy + extra };
}

const app = JSON.parse(appText) as App;

describe('marathon/kmf.json: the Marathon app definition', () => {
  test('passes the app-definition schema', () => {
    assert.equal(schemaCheck(app), true, JSON.stringify(schemaCheck.errors, null, 2));
  });

  test('passes Marathon’s cross-field rules', () => {
    assert.deepEqual(crossFieldProblems(app), []);
  });

  test('the checks can fail: broken variants are rejected', () => {
    const variant = (patch: (a: App & Record<string, unknown>) => void): App => {
      const copy = structuredClone(app) as App & Record<string, unknown>;
      patch(copy);
      return copy;
    };
    const schemaRejects = (a: App): boolean => !schemaCheck(a);
    assert.ok(schemaRejects(variant((a) => (a.id = '/KMF'))), 'upper-case id');
    assert.ok(schemaRejects(variant((a) => (a.healthChecks[0]!.protocol = 'MESOS_HTTP2'))), 'unknown protocol');
    assert.ok(schemaRejects(variant((a) => (a.upgradeStrategy.minimumHealthCapacity = 1.5))), 'capacity above 1');
    assert.ok(schemaRejects(variant((a) => (a.env['kmf-master'] = 'x'))), 'invalid env name');
    assert.ok(schemaRejects(variant((a) => (a['healthcheck'] = []))), 'misspelt field');
    assert.ok(schemaRejects(variant((a) => (a.cpus = 0))), 'no cpu');
    assert.ok(crossFieldProblems(variant((a) => (a.args = ['scheduler']))).length > 0, 'cmd and args');
    assert.ok(crossFieldProblems(variant((a) => (a.healthChecks[0]!.portIndex = 1))).length > 0, 'portIndex out of range');
    assert.ok(crossFieldProblems(variant((a) => (a.constraints = [['hostname', 'UNIQUE', 'x']]))).length > 0, 'UNIQUE with a value');
    assert.ok(crossFieldProblems(variant((a) => (a.constraints = [['hostname', 'SPREAD']]))).length > 0, 'unknown operator');
  });

  test('runs two instances on different agents, with a health check on /health', () => {
    assert.equal(app.id, '/kmf');
    assert.equal(app.instances, 2);
    assert.deepEqual(app.constraints, [['hostname', 'UNIQUE']]);
    assert.equal(app.healthChecks.length, 1);
    const hc = app.healthChecks[0]!;
    assert.equal(hc.protocol, 'MESOS_HTTP');
    assert.equal(hc.path, '/health');
    assert.equal(hc.portIndex, 0);
    for (const k of ['gracePeriodSeconds', 'intervalSeconds', 'maxConsecutiveFailures'] as const) assert.ok((hc[k] ?? 0) > 0, k);
    // A standby answers /health with 200 too (only /ready is leader-only): Marathon must not kill the standby for
    // not leading. test/integration/packaging-image-layout.test.ts checks that on a running leader and standby.
  });

  test('an upgrade replaces the instances one at a time, never running three', () => {
    const batch = upgradeBatch(app);
    assert.equal(batch.extra, 0);
    assert.equal(batch.keepHealthy, 1);
    assert.equal(batch.downAtOnce, 1);
  });

  test('the scheduler listens on the port Marathon assigns, in the kmf image, on the host network', () => {
    assert.equal(app.portDefinitions?.length, 1);
    assert.equal(app.portDefinitions[0]!.port, 0, 'a dynamic port');
    assert.deepEqual(app.networks, [{ mode: 'host' }]);
    assert.equal(app.container?.type, 'DOCKER');
    assert.match(app.container.docker?.image ?? '', /\/kmf:\d+\.\d+\.\d+$/);
    // Marathon does not expand $PORT0 inside env values, so the port goes on the command line, through a shell.
    assert.match(app.cmd ?? '', /^exec node .*\/app\/bin\/kmf\.js scheduler --api "0\.0\.0\.0:\$PORT0" --api-advertise "http:\/\/\$HOST:\$PORT0"$/);
    assert.match(app.cmd ?? '', /--max-semi-space-size=16 --heap-growing-percent=50 /);
    for (const value of Object.values(app.env)) if (typeof value === 'string') assert.doesNotMatch(value, /\$PORT/);
  });

  test('the node heap fits in the Mesos memory limit', () => {
    const oldSpace = Number(/--max-old-space-size=(\d+)/.exec(app.cmd ?? '')?.[1]);
    const semi = Number(/--max-semi-space-size=(\d+)/.exec(app.cmd ?? '')?.[1]);
    // The young generation is three semi-spaces; leave a quarter of the limit for code, buffers and native memory.
    assert.ok(oldSpace + 3 * semi <= app.mem * 0.85, `${oldSpace} + 3×${semi} MB in ${app.mem} MB`);
  });

  test('the environment carries the scheduler contract', () => {
    const env = app.env;
    const plain = (v: string | { secret: string } | undefined): string => (typeof v === 'string' ? v : '');
    assert.match(plain(env['KMF_MASTER']), /^zk:\/\/[^/]+\/mesos$/);
    assert.match(plain(env['KMF_ZK']), /^[^/]+\/kmf$/);
    assert.ok(env['KMF_FRAMEWORK_NAME'] && env['KMF_ROLE']);
    // Without KMF_USER, FrameworkInfo.user would be the image's user (node), which agents do not have.
    assert.match(plain(env['KMF_USER']), /^[a-z_][a-z0-9_-]*$/);
    const token = env['KMF_API_TOKEN'];
    assert.ok(typeof token === 'object' || (typeof token === 'string' && token.length >= 16), 'an admin token kmf accepts (16+ characters) or a secret reference');
    // kmf would refuse to start with --insecure-no-auth missing and no token; the Marathon app must not disable auth.
    assert.doesNotMatch(app.cmd ?? '', /--insecure-no-auth/);
  });

  test('a stop gives kmf time to hand the leadership over', () => {
    assert.ok((app.taskKillGracePeriodSeconds ?? 0) >= 10);
  });
});
