import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Resource } from '../../src/mesos/types.js';
import {
  addResources,
  applyConversion,
  containsResources,
  downgradeResource,
  isAllocatableTo,
  normalize,
  popReservation,
  resourcesEqual,
  stringifyResources,
  stripPersistence,
  subtractResources,
  upgradeResource,
  validateResource,
} from '../../src/sim/master/resources.js';
import { meetsMinAllocatable, DEFAULT_MIN_ALLOCATABLE, offerableTo, parseMinAllocatable } from '../../src/sim/master/allocator.js';

const cpus = (v: number, extra: Partial<Resource> = {}): Resource => ({ name: 'cpus', type: 'SCALAR', scalar: { value: v }, ...extra });
const mem = (v: number, extra: Partial<Resource> = {}): Resource => ({ name: 'mem', type: 'SCALAR', scalar: { value: v }, ...extra });
const ports = (...r: Array<[number, number]>): Resource => ({ name: 'ports', type: 'RANGES', ranges: { range: r.map(([begin, end]) => ({ begin, end })) } });
const dyn = (role: string, principal?: string): Partial<Resource> => ({
  reservations: [{ type: 'DYNAMIC', role, ...(principal === undefined ? {} : { principal }) }],
});

void describe('scalar arithmetic', () => {
  void test('fixed point with 3 decimals: 0.1 + 0.2 is exactly 0.3', () => {
    assert.deepEqual(addResources([cpus(0.1)], [cpus(0.2)]), [cpus(0.3)]);
    assert.deepEqual(subtractResources([cpus(1)], [cpus(0.7)]), [cpus(0.3)]);
    assert.equal(containsResources([cpus(0.3)], [cpus(0.1), cpus(0.2)]), true);
  });

  void test('subtraction never goes negative and drops empty resources', () => {
    assert.deepEqual(subtractResources([cpus(1), mem(10)], [cpus(2)]), [mem(10)]);
  });

  void test('different reservations or allocation roles do not merge', () => {
    const total = addResources([cpus(1)], [cpus(1, dyn('dev')), cpus(1, { allocation_info: { role: 'a' } })]);
    assert.equal(total.length, 3);
    assert.equal(containsResources(total, [cpus(2)]), false);
    assert.equal(containsResources(total, [cpus(1, dyn('dev'))]), true);
  });
});

void describe('ranges', () => {
  void test('subtraction cuts holes, addition coalesces', () => {
    assert.deepEqual(subtractResources([ports([31000, 32000])], [ports([31000, 31000], [31500, 31600])]), [
      ports([31001, 31499], [31601, 32000]),
    ]);
    assert.deepEqual(addResources([ports([1, 2])], [ports([3, 5])]), [ports([1, 5])]);
  });

  void test('containment needs every value', () => {
    assert.equal(containsResources([ports([1, 10])], [ports([2, 3], [9, 10])]), true);
    assert.equal(containsResources([ports([1, 10])], [ports([10, 11])]), false);
  });

  void test('property: (a - b) + (a ∩ b) covers a, and a - b never contains b', () => {
    const range = fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 20 })).map(([b, len]) => [b, b + len] as [number, number]);
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 5 }), fc.array(range, { minLength: 1, maxLength: 5 }), (a, b) => {
        const A = normalize([ports(...a)]);
        const B = normalize([ports(...b)]);
        const diff = subtractResources(A, B);
        assert.equal(containsResources(A, diff), true);
        for (const r of B[0]?.ranges?.range ?? []) {
          assert.equal(containsResources(diff, [ports([r.begin, r.end])]), false);
        }
        assert.equal(containsResources(addResources(diff, B), A), true);
      }),
    );
  });
});

void describe('scalars, property', () => {
  void test('a + b - b == a for non-negative 3-decimal values', () => {
    const milli = fc.integer({ min: 0, max: 10_000_000 }).map((n) => n / 1000);
    fc.assert(
      fc.property(milli, milli, (x, y) => {
        const a = normalize([cpus(x)]);
        const sum = addResources(a, [cpus(y)]);
        assert.ok(resourcesEqual(subtractResources(sum, [cpus(y)]), a));
        assert.ok(containsResources(sum, a));
      }),
    );
  });
});

void describe('persistent volumes', () => {
  const volume = (id: string, size = 100): Resource => ({
    name: 'disk',
    type: 'SCALAR',
    scalar: { value: size },
    reservations: [{ type: 'DYNAMIC', role: 'dev' }],
    disk: { persistence: { id }, volume: { container_path: 'data', mode: 'RW' } },
  });

  void test('volumes never merge and subtract only when identical', () => {
    const rs = addResources([volume('a')], [volume('b')]);
    assert.equal(rs.length, 2);
    assert.equal(containsResources(rs, [volume('a', 50)]), false);
    assert.deepEqual(subtractResources(rs, [volume('a')]), [volume('b')]);
  });

  void test('CREATE is a conversion from reserved disk to the volume, DESTROY the reverse', () => {
    const disk: Resource = { name: 'disk', type: 'SCALAR', scalar: { value: 300 }, ...dyn('dev') };
    const created = applyConversion([disk], [stripPersistence(volume('a'))], [volume('a')]);
    assert.ok(created.ok);
    if (!created.ok) return;
    assert.ok(containsResources(created.resources, [volume('a')]));
    assert.ok(containsResources(created.resources, [{ ...disk, scalar: { value: 200 } }]));
    const destroyed = applyConversion(created.resources, [volume('a')], [stripPersistence(volume('a'))]);
    assert.ok(destroyed.ok);
    if (destroyed.ok) assert.ok(resourcesEqual(destroyed.resources, [disk]));
  });

  void test('a conversion of resources that are not there fails with the master message', () => {
    const result = applyConversion([cpus(1)], [cpus(2)], [cpus(2, dyn('dev'))]);
    assert.deepEqual(result, { ok: false, error: 'cpus:1 does not contain cpus:2' });
  });
});

void describe('reservation formats', () => {
  void test('upgrade: pre-refinement role/reservation become a reservation stack', () => {
    assert.deepEqual(upgradeResource(cpus(1, { role: '*' })), cpus(1));
    assert.deepEqual(upgradeResource(cpus(1, { role: 'dev' })), cpus(1, { reservations: [{ type: 'STATIC', role: 'dev' }] }));
    assert.deepEqual(
      upgradeResource(cpus(1, { role: 'dev', reservation: { principal: 'p' } })),
      cpus(1, { reservations: [{ type: 'DYNAMIC', role: 'dev', principal: 'p' }] }),
    );
  });

  void test('downgrade for frameworks without RESERVATION_REFINEMENT (item 107)', () => {
    assert.deepEqual(downgradeResource(cpus(1)), cpus(1, { role: '*' }));
    assert.deepEqual(downgradeResource(cpus(1, dyn('dev', 'p'))), cpus(1, { role: 'dev', reservation: { principal: 'p' } }));
    assert.deepEqual(downgradeResource(cpus(1, dyn('dev'))), cpus(1, { role: 'dev', reservation: {} }));
    assert.equal(
      downgradeResource(cpus(1, { reservations: [{ type: 'STATIC', role: 'a' }, { type: 'DYNAMIC', role: 'a/b' }] })),
      undefined,
    );
  });

  void test('UNRESERVE pops one level of a refined reservation', () => {
    const refined = cpus(1, { reservations: [{ type: 'STATIC', role: 'a' }, { type: 'DYNAMIC', role: 'a/b' }] });
    assert.deepEqual(popReservation(refined), cpus(1, { reservations: [{ type: 'STATIC', role: 'a' }] }));
    assert.deepEqual(popReservation(cpus(1, dyn('a'))), cpus(1));
  });

  void test('allocatable to a role: unreserved, its own, or an ancestor role', () => {
    assert.ok(isAllocatableTo(cpus(1), 'x'));
    assert.ok(isAllocatableTo(cpus(1, dyn('eng')), 'eng'));
    assert.ok(isAllocatableTo(cpus(1, dyn('eng')), 'eng/web'));
    assert.ok(!isAllocatableTo(cpus(1, dyn('eng/web')), 'eng'));
    assert.ok(!isAllocatableTo(cpus(1, dyn('eng')), 'engineering'));
  });
});

void describe('Resources::validate', () => {
  const cases: Array<[Resource, string | undefined]> = [
    [cpus(1), undefined],
    [{ name: '', type: 'SCALAR', scalar: { value: 1 } }, 'Empty resource name'],
    [{ name: 'cpus', type: 'SCALAR' }, 'Invalid scalar resource'],
    [cpus(-1), 'Invalid scalar resource: value <= 0'],
    [ports([2, 1]), 'Invalid ranges resource: begin > end'],
    [ports([1, 5], [3, 7]), 'Invalid ranges resource: overlapping ranges'],
    [{ name: 's', type: 'SET', set: { item: ['a', 'a'] } }, 'Invalid set resource: duplicated elements'],
    [cpus(1, { role: '*', reservation: {} }), 'Invalid reservation: role "*" cannot be dynamically reserved'],
    [cpus(1, { reservations: [{ type: 'STATIC', role: '*' }] }), 'Invalid reservation: role "*" cannot be reserved'],
    [cpus(1, { reservations: [{ type: 'STATIC', role: 'a' }, { type: 'STATIC', role: 'a/b' }] }), 'Invalid refined reservation: A refined reservation cannot be STATIC'],
    [cpus(1, { reservations: [{ type: 'STATIC', role: 'a' }, { type: 'DYNAMIC', role: 'b' }] }), "Invalid refined reservation: role 'b' is not a refinement of 'a'"],
    [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, disk: {} }, 'DiskInfo should not be set for cpus resource'],
  ];
  for (const [resource, expected] of cases) {
    void test(`${JSON.stringify(resource)} → ${expected ?? 'valid'}`, () => {
      assert.equal(validateResource(resource), expected);
    });
  }
});

void describe('stringify for master messages', () => {
  void test('allocation role, reservations, ranges', () => {
    assert.equal(
      stringifyResources([cpus(0.5, { allocation_info: { role: 'dev' } }), { ...ports([31000, 31000]), ...dyn('dev', 'p') }]),
      'cpus(allocated: dev):0.5; ports(reservations: [(DYNAMIC,dev,p)]):[31000-31000]',
    );
  });
});

void describe('offerable resources and min allocatable', () => {
  void test('default min allocatable is cpus:0.01 or mem:32', () => {
    assert.ok(meetsMinAllocatable([cpus(0.01)], DEFAULT_MIN_ALLOCATABLE));
    assert.ok(meetsMinAllocatable([mem(32)], DEFAULT_MIN_ALLOCATABLE));
    assert.ok(!meetsMinAllocatable([cpus(0.005), mem(31)], DEFAULT_MIN_ALLOCATABLE));
    assert.ok(!meetsMinAllocatable([ports([1, 2])], DEFAULT_MIN_ALLOCATABLE));
    assert.deepEqual(parseMinAllocatable('cpus:1;mem:2|disk:3'), [new Map([['cpus', 1], ['mem', 2]]), new Map([['disk', 3]])]);
  });

  void test('a role is offered unreserved and its own reserved resources, never ephemeral_ports or refined ones without the capability', () => {
    const available = [
      cpus(1),
      cpus(2, dyn('dev')),
      cpus(3, dyn('ops')),
      { name: 'ephemeral_ports', type: 'RANGES' as const, ranges: { range: [{ begin: 1, end: 2 }] } },
      mem(5, { reservations: [{ type: 'STATIC', role: 'dev' }, { type: 'DYNAMIC', role: 'dev/x' }] }),
    ];
    assert.deepEqual(offerableTo(available, 'dev', false), [cpus(1), cpus(2, dyn('dev'))]);
    assert.deepEqual(offerableTo(available, 'dev/x', true), [cpus(1), cpus(2, dyn('dev')), available[4]]);
  });
});
