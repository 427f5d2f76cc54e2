import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Resource } from '../../src/mesos/types.js';
import { prepareDesired } from '../../src/model/desired.js';
import { hashOf } from '../../src/model/hash.js';
import { unitNameIssues, validateUnit } from '../../src/model/validate.js';
import { bundleOffers, matchUnit, type MatchRequest } from '../../src/core/offer-match.js';
import { renderTaskInfo } from '../../src/core/render.js';
import {
  asReserved,
  asVolume,
  detectFormat,
  normalizeRanges,
  ownershipOf,
  subtractValue,
  toMilli,
  totalMilli,
  withoutVolume,
  withScalar,
} from '../../src/core/resources.js';
import { seededRng } from '../../src/core/rng.js';
import { makeReservationId, makeTaskId, parseReservationId, parseTaskId } from '../../src/core/task-ids.js';
import { appSpec, brokerSpec } from './core-harness.js';

const scalar = (name: string, value: number, extra: Partial<Resource> = {}): Resource => ({ name, type: 'SCALAR', scalar: { value }, role: '*', ...extra });
const ports = (begin: number, end: number, extra: Partial<Resource> = {}): Resource => ({ name: 'ports', type: 'RANGES', ranges: { range: [{ begin, end }] }, role: '*', ...extra });

describe('resource arithmetic', () => {
  test('scalars are fixed point with 3 decimals', () => {
    assert.equal(toMilli(0.1) + toMilli(0.2), toMilli(0.3));
    assert.equal(totalMilli([scalar('cpus', 0.1), scalar('cpus', 0.2)], 'cpus'), 300);
    assert.equal(toMilli(1.0004), 1000, 'extra precision is rounded away');
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 20 }), (ms) => {
      const rs = ms.map((m) => scalar('mem', m / 1000));
      return totalMilli(rs, 'mem') === ms.reduce((a, b) => a + b, 0);
    }));
  });

  test('ranges normalize and subtract', () => {
    assert.deepEqual(normalizeRanges([[5, 7], [1, 2], [3, 4], [10, 9]]), [[1, 7]]);
    assert.deepEqual(subtractValue([[1, 5]], 3), [[1, 2], [4, 5]]);
    assert.deepEqual(subtractValue([[3, 3]], 3), []);
  });

  test('ownership in both wire formats', () => {
    assert.deepEqual(ownershipOf(scalar('cpus', 1)), { kind: 'unreserved' });
    assert.deepEqual(ownershipOf(scalar('cpus', 1, { role: 'kafka' })), { kind: 'static', role: 'kafka' });
    const pre = scalar('cpus', 1, { role: 'kafka', reservation: { principal: 'p', labels: { labels: [{ key: 'k', value: 'v' }] } } });
    assert.deepEqual(ownershipOf(pre), { kind: 'dynamic', role: 'kafka', principal: 'p', labels: { k: 'v' } });
    const ref: Resource = { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'STATIC', role: 'a' }, { type: 'DYNAMIC', role: 'a/b', labels: { labels: [{ key: 'x', value: 'y' }] } }] };
    assert.deepEqual(ownershipOf(ref), { kind: 'dynamic', role: 'a/b', labels: { x: 'y' } });
    assert.deepEqual(ownershipOf({ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'STATIC', role: 'a' }] }), { kind: 'static', role: 'a' });
    assert.equal(detectFormat([scalar('cpus', 1)]), 'pre-refinement');
    assert.equal(detectFormat([{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }]), 'refinement');
  });

  test('RESERVE and CREATE targets keep the offer identity and use the offer format', () => {
    const base = scalar('disk', 100, { allocation_info: { role: 'kafka' } });
    const pre = asReserved(base, 'pre-refinement', 'kafka', 'kmf', { a: '1' });
    assert.equal(pre.role, 'kafka');
    assert.deepEqual(pre.reservation, { principal: 'kmf', labels: { labels: [{ key: 'a', value: '1' }] } });
    assert.deepEqual(pre.allocation_info, { role: 'kafka' });
    const { role: _r, ...unroled } = base;
    const ref = asReserved(unroled, 'refinement', 'kafka', undefined, { a: '1' });
    assert.equal(ref.role, undefined);
    assert.deepEqual(ref.reservations, [{ type: 'DYNAMIC', role: 'kafka', labels: { labels: [{ key: 'a', value: '1' }] } }]);
    const vol = asVolume(pre, 'v1', 'kmf', 'data');
    assert.deepEqual(vol.disk, { persistence: { id: 'v1', principal: 'kmf' }, volume: { container_path: 'data', mode: 'RW' } });
    assert.equal(withoutVolume(vol).disk, undefined);
    assert.equal(base.reservation, undefined, 'inputs are not mutated');
    assert.equal(withScalar(base, 1500).scalar?.value, 1.5);
  });
});

describe('offer matching', () => {
  const desired = prepareDesired({ units: [brokerSpec(0), appSpec('app/0')] });
  const broker = desired.units.get('broker-0')!;
  const app = desired.units.get('app/0')!;
  const offer = (resources: Resource[], agent = 'S1') => bundleOffers([{ id: { value: 'O1' }, framework_id: { value: 'f' }, agent_id: { value: agent }, hostname: 'h1', resources, allocation_info: { role: 'kafka' } }])[0]!;
  const req = (over: Partial<MatchRequest> = {}): MatchRequest => ({
    unit: broker,
    role: 'kafka',
    frameworkName: 'kmf',
    principal: 'kmf',
    reservation: undefined,
    peers: () => [],
    now: 0,
    newReservationId: () => 'broker-0__r1__00000000',
    ...over,
  });

  test('a fresh reservable unit reserves cpus, mem, port and disk, then creates its volume', () => {
    const r = matchUnit(offer([scalar('cpus', 4), scalar('mem', 4096), scalar('disk', 5000), ports(31000, 31005)]), req());
    assert.ok(r.ok);
    const p = r.placement;
    assert.deepEqual(p.ports, { broker: 31000 });
    assert.deepEqual(p.reserve.map((x) => [x.name, x.scalar?.value ?? x.ranges?.range]), [['cpus', 1], ['mem', 1024], ['ports', [{ begin: 31000, end: 31000 }]], ['disk', 1000]]);
    assert.equal(p.create.length, 1);
    assert.equal(p.create[0]?.disk?.persistence?.id, 'broker-0__r1__00000000');
    assert.equal(p.reservation?.volumeId, 'broker-0__r1__00000000');
    assert.ok(p.taskResources.every((x) => x.role === 'kafka' && x.reservation?.labels?.labels?.some((l) => l.key === 'kmf_rid')));
  });

  test('not enough of a scalar is reported with the amount found', () => {
    const r = matchUnit(offer([scalar('cpus', 0.5), scalar('mem', 4096), scalar('disk', 5000), ports(31000, 31005)]), req());
    assert.deepEqual(r, { ok: false, rejection: { kind: 'scalar', name: 'cpus', needMilli: 1000, haveMilli: 500 } });
    const r2 = matchUnit(offer([scalar('cpus', 4), scalar('mem', 4096), scalar('disk', 500), ports(31000, 31005)]), req());
    assert.equal(r2.ok, false);
    assert.ok(!r2.ok && r2.rejection.kind === 'volume');
  });

  test('an unreserved unit uses static role resources and does not reserve', () => {
    const r = matchUnit(offer([scalar('cpus', 0.5, { role: 'kafka' }), scalar('mem', 512, { role: 'kafka' }), ports(31000, 31000, { role: 'kafka' })]), req({ unit: app }));
    assert.ok(r.ok);
    assert.equal(r.placement.reserve.length, 0);
    assert.equal(r.placement.reservation, undefined);
  });

  test('relaunch into a reservation: same port, same volume; growth reserved, shrink released', () => {
    const labels = { labels: [{ key: 'kmf_fw', value: 'kmf' }, { key: 'kmf_rid', value: 'R1' }, { key: 'kmf_unit', value: 'broker-0' }] };
    const own = (r: Resource): Resource => ({ ...r, role: 'kafka', reservation: { principal: 'kmf', labels } });
    const resources = [
      own(scalar('cpus', 2)),
      own(scalar('mem', 512)),
      own(ports(31003, 31004)),
      own({ ...scalar('disk', 1000), disk: { persistence: { id: 'R1' }, volume: { container_path: 'data', mode: 'RW' } } }),
      scalar('mem', 4096),
      ports(31000, 31002),
    ];
    const reservation = { rid: 'R1', agentId: 'S1', hostname: 'h1', attributes: {}, role: 'kafka', volumeId: 'R1', ports: { broker: 31004 }, createdAt: 0, confirmed: true };
    const r = matchUnit(offer(resources), req({ reservation }));
    assert.ok(r.ok);
    const p = r.placement;
    assert.deepEqual(p.ports, { broker: 31004 });
    assert.equal(p.create.length, 0);
    assert.ok(p.taskResources.some((x) => x.disk?.persistence?.id === 'R1'));
    assert.deepEqual(p.reserve.map((x) => [x.name, x.scalar?.value]), [['mem', 512]], 'the missing 512 MB are reserved from unreserved mem');
    assert.deepEqual(p.unreserve.map((x) => [x.name, x.scalar?.value ?? x.ranges?.range]), [['cpus', 1], ['ports', [{ begin: 31003, end: 31003 }]]]);
    const elsewhere = matchUnit(offer(resources, 'S2'), req({ reservation }));
    assert.deepEqual(elsewhere, { ok: false, rejection: { kind: 'agent', wantedHost: 'h1' } });
  });

  test('a MOUNT disk is used whole for a volume', () => {
    const mount = scalar('disk', 3000, { disk: { source: { type: 'MOUNT', mount: { root: '/mnt/d1' } } } });
    const r = matchUnit(offer([scalar('cpus', 4), scalar('mem', 4096), mount, ports(31000, 31005)]), req());
    assert.ok(r.ok);
    assert.equal(r.placement.create[0]?.scalar?.value, 3000);
    assert.equal(r.placement.create[0]?.disk?.source?.type, 'MOUNT');
  });

  test('a pinned port must be offered', () => {
    const pinned = prepareDesired({ units: [appSpec('web', { ports: [{ name: 'http', port: 8080 }] })] }).units.get('web')!;
    const r = matchUnit(offer([scalar('cpus', 4), scalar('mem', 4096), ports(31000, 31005)]), req({ unit: pinned }));
    assert.deepEqual(r, { ok: false, rejection: { kind: 'port', port: 8080, name: 'http' } });
  });
});

describe('ids, versions, validation, rendering', () => {
  test('task ids map back to unit and generation', () => {
    const rng = seededRng(7);
    const id = makeTaskId('app-x/3', 12, rng);
    assert.match(id, /^app-x\.3__g12__[0-9a-f]{8}$/);
    assert.deepEqual(parseTaskId(id), { unit: 'app-x/3', generation: 12, nonce: id.slice(-8) });
    assert.equal(parseTaskId('web-1'), undefined);
    assert.deepEqual(parseReservationId(makeReservationId('broker-2', 3, rng)), { unit: 'broker-2', generation: 3 });
    assert.notEqual(makeTaskId('a', 1, seededRng(1)), makeTaskId('a', 1, seededRng(2)));
    assert.equal(makeTaskId('a', 1, seededRng(5)), makeTaskId('a', 1, seededRng(5)));
  });

  test('spec versions ignore key order and the goal', () => {
    assert.equal(hashOf({ a: 1, b: [1, { c: 2, d: 3 }] }), hashOf({ b: [1, { d: 3, c: 2 }], a: 1 }));
    const a = prepareDesired({ units: [brokerSpec(1)] }).units.get('broker-1')!;
    const b = prepareDesired({ units: [{ ...brokerSpec(1), goal: 'stopped' }] }).units.get('broker-1')!;
    const c = prepareDesired({ units: [brokerSpec(1, { resources: { cpus: 2, memMb: 1024 } })] }).units.get('broker-1')!;
    assert.equal(a.version, b.version);
    assert.notEqual(a.version, c.version);
  });

  test('unit names and specs are validated, never thrown', () => {
    assert.deepEqual(unitNameIssues('app-x/3'), []);
    assert.equal(unitNameIssues('Broker_1').length, 1);
    assert.equal(unitNameIssues('a.b').length, 1);
    const issues = validateUnit(appSpec('x', { resources: { cpus: -1, memMb: 0 }, task: { command: 'run {{port:nope}} {{bogus}} {{unit:ghost:host}}' } }), new Set(['x']));
    assert.ok(issues.some((i) => i.includes('cpus')));
    assert.ok(issues.some((i) => i.includes('memMb')));
    assert.ok(issues.some((i) => i.includes('no port named "nope"')));
    assert.ok(issues.some((i) => i.includes('unknown placeholder {{bogus}}')));
    assert.ok(issues.some((i) => i.includes('unknown unit "ghost"')));
    const dup = prepareDesired({ units: [appSpec('x'), appSpec('x')] });
    assert.equal(dup.ordered.length, 1);
  });

  test('rendering fills placeholders, port variables, health check and kill grace', () => {
    const desired = prepareDesired({
      units: [
        appSpec('c-0', { ports: [{ name: 'ctl' }] }),
        appSpec('app/1', {
          vars: { id: '7' },
          ports: [{ name: 'http' }, { name: 'jmx-port' }],
          task: {
            command: 'run --id {{var:id}} --peer {{unit:c-0:host}}:{{unit:c-0:port:ctl}} --me {{host}}:{{port:http}}',
            env: { GEN: '{{generation}}', KMF_HOST: 'override' },
            uris: [{ value: 'http://art/{{unit}}.tgz', extract: true }],
            healthCheck: { type: 'HTTP', port: 'http', path: '/health', intervalSeconds: 5 },
            killGracePeriodSeconds: 45,
          },
        }),
      ],
    });
    const unit = desired.units.get('app/1')!;
    const ctx = {
      unit,
      taskId: 'app.1__g2__00000001',
      generation: 2,
      agentId: 'S1',
      hostname: 'h1',
      ports: { http: 31001, 'jmx-port': 31002 },
      lookup: (n: string) => (n === 'c-0' ? { agentId: 'S0', hostname: 'h0', ports: { ctl: 9093 }, vars: {} } : undefined),
    };
    const r = renderTaskInfo(ctx, [], undefined, 30);
    assert.ok(r.ok);
    const t = r.task;
    assert.equal(t.command?.value, 'run --id 7 --peer h0:9093 --me h1:31001');
    const env = Object.fromEntries((t.command?.environment?.variables ?? []).map((v) => [v.name, v.value]));
    assert.equal(env['KMF_PORT_HTTP'], '31001');
    assert.equal(env['KMF_PORT_JMX_PORT'], '31002');
    assert.equal(env['GEN'], '2');
    assert.equal(env['KMF_HOST'], 'override');
    assert.equal(t.command?.uris?.[0]?.value, 'http://art/app/1.tgz');
    assert.deepEqual(t.health_check, { type: 'HTTP', interval_seconds: 5, http: { port: 31001, path: '/health' } });
    assert.equal(t.kill_policy?.grace_period?.nanoseconds, '45000000000');
    const missing = renderTaskInfo({ ...ctx, lookup: () => undefined }, [], undefined, 30);
    assert.deepEqual(missing, { ok: false, reason: 'unit c-0 has no placement yet' });
    const broken = renderTaskInfo(ctx, [], () => {
      throw new Error('hook bug');
    }, 30);
    assert.deepEqual(broken, { ok: false, reason: 'render failed: hook bug' });
  });
});
