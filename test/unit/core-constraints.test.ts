import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { attributesToRecord, checkConstraint, type AgentFacts, type Peer } from '../../src/core/constraints.js';
import type { PlacementConstraint } from '../../src/model/units.js';
import { parseConstraint, validateUnit } from '../../src/model/validate.js';
import { appSpec } from './core-harness.js';

const agent = (hostname: string, attributes: Record<string, string> = {}): AgentFacts => ({ agentId: `id-${hostname}`, hostname, attributes });
const peer = (unit: string, hostname: string, attributes: Record<string, string> = {}): Peer => ({ unit, agent: agent(hostname, attributes) });
const ok = (c: PlacementConstraint, a: AgentFacts, peers: Peer[]): boolean => checkConstraint(c, a, peers).ok;

describe('placement constraints (Marathon operators)', () => {
  test('UNIQUE on hostname and on an attribute', () => {
    const c: PlacementConstraint = { field: 'hostname', operator: 'UNIQUE' };
    assert.equal(ok(c, agent('a1'), []), true);
    assert.equal(ok(c, agent('a1'), [peer('b0', 'a2')]), true);
    const v = checkConstraint(c, agent('a1'), [peer('b0', 'a1')]);
    assert.equal(v.ok, false);
    assert.ok(!v.ok && v.reason.includes('b0') && v.constraint === 'hostname:UNIQUE');
    const rack: PlacementConstraint = { field: 'rack', operator: 'UNIQUE' };
    assert.equal(ok(rack, agent('a1', { rack: 'r1' }), [peer('b0', 'a2', { rack: 'r1' })]), false);
    assert.equal(ok(rack, agent('a1', { rack: 'r2' }), [peer('b0', 'a2', { rack: 'r1' })]), true);
    assert.equal(ok({ field: '@hostname', operator: 'UNIQUE' }, agent('a1'), [peer('b0', 'a1')]), false);
  });

  test('CLUSTER with and without a value', () => {
    assert.equal(ok({ field: 'rack', operator: 'CLUSTER', value: 'r1' }, agent('a', { rack: 'r1' }), []), true);
    assert.equal(ok({ field: 'rack', operator: 'CLUSTER', value: 'r1' }, agent('a', { rack: 'r2' }), []), false);
    const free: PlacementConstraint = { field: 'rack', operator: 'CLUSTER' };
    assert.equal(ok(free, agent('a', { rack: 'r2' }), []), true, 'the first member chooses');
    assert.equal(ok(free, agent('a', { rack: 'r2' }), [peer('x', 'b', { rack: 'r1' })]), false);
    assert.equal(ok(free, agent('a', { rack: 'r1' }), [peer('x', 'b', { rack: 'r1' })]), true);
  });

  test('GROUP_BY spreads evenly; with n, used values wait until n values are in use', () => {
    const c: PlacementConstraint = { field: 'rack', operator: 'GROUP_BY' };
    const peers = [peer('x', 'h1', { rack: 'r1' }), peer('y', 'h2', { rack: 'r1' }), peer('z', 'h3', { rack: 'r2' })];
    assert.equal(ok(c, agent('n', { rack: 'r2' }), peers), true, 'r2 holds the fewest');
    assert.equal(ok(c, agent('n', { rack: 'r1' }), peers), false);
    assert.equal(ok(c, agent('n', { rack: 'r3' }), peers), true, 'an unused value is fine');
    const c3: PlacementConstraint = { field: 'rack', operator: 'GROUP_BY', value: '3' };
    const two = [peer('x', 'h1', { rack: 'r1' }), peer('z', 'h3', { rack: 'r2' })];
    assert.equal(ok(c3, agent('n', { rack: 'r1' }), two), false, 'only 2 of 3 values in use');
    assert.equal(ok(c3, agent('n', { rack: 'r3' }), two), true);
    assert.equal(ok(c3, agent('n', { rack: 'r1' }), [...two, peer('w', 'h4', { rack: 'r3' })]), true);
  });

  test('LIKE and UNLIKE match the whole value', () => {
    assert.equal(ok({ field: 'rack', operator: 'LIKE', value: 'r[12]' }, agent('a', { rack: 'r1' }), []), true);
    assert.equal(ok({ field: 'rack', operator: 'LIKE', value: 'r[12]' }, agent('a', { rack: 'r12' }), []), false);
    assert.equal(ok({ field: 'hostname', operator: 'LIKE', value: 'kafka-.*' }, agent('kafka-3'), []), true);
    assert.equal(ok({ field: 'rack', operator: 'UNLIKE', value: 'r[12]' }, agent('a', { rack: 'r1' }), []), false);
    assert.equal(ok({ field: 'rack', operator: 'UNLIKE', value: 'r[12]' }, agent('a', { rack: 'r3' }), []), true);
  });

  test('MAX_PER and IS', () => {
    const c: PlacementConstraint = { field: 'rack', operator: 'MAX_PER', value: '2' };
    assert.equal(ok(c, agent('a', { rack: 'r1' }), [peer('x', 'b', { rack: 'r1' })]), true);
    assert.equal(ok(c, agent('a', { rack: 'r1' }), [peer('x', 'b', { rack: 'r1' }), peer('y', 'c', { rack: 'r1' })]), false);
    assert.equal(ok({ field: 'zone', operator: 'IS', value: 'eu' }, agent('a', { zone: 'eu' }), []), true);
    assert.equal(ok({ field: 'zone', operator: 'IS', value: 'eu' }, agent('a', { zone: 'us' }), []), false);
  });

  test('only UNLIKE accepts an agent that lacks the attribute', () => {
    const bare = agent('a');
    const all: PlacementConstraint[] = [
      { field: 'rack', operator: 'UNIQUE' },
      { field: 'rack', operator: 'CLUSTER', value: 'r1' },
      { field: 'rack', operator: 'CLUSTER' },
      { field: 'rack', operator: 'GROUP_BY' },
      { field: 'rack', operator: 'LIKE', value: '.*' },
      { field: 'rack', operator: 'MAX_PER', value: '5' },
      { field: 'rack', operator: 'IS', value: 'r1' },
    ];
    for (const c of all) {
      const v = checkConstraint(c, bare, []);
      assert.equal(v.ok, false, `${c.operator} must reject an agent without the attribute`);
      assert.ok(!v.ok && v.reason.includes('has no "rack"'));
    }
    assert.equal(ok({ field: 'rack', operator: 'UNLIKE', value: 'r1' }, bare, []), true);
  });

  test('agent attributes of every Mesos type read as text', () => {
    const rec = attributesToRecord([
      { name: 'rack', type: 'TEXT', text: { value: 'r1' } },
      { name: 'weight', type: 'SCALAR', scalar: { value: 2.5 } },
      { name: 'slots', type: 'RANGES', ranges: { range: [{ begin: 1, end: 4 }] } },
      { name: 'tags', type: 'SET', set: { item: ['ssd', 'fast'] } },
    ]);
    assert.deepEqual(rec, { rack: 'r1', weight: '2.5', slots: '[1-4]', tags: '{ssd,fast}' });
  });

  test('parsing and validating constraints', () => {
    assert.deepEqual(parseConstraint(['hostname', 'MAX_PER', '1']), { field: 'hostname', operator: 'MAX_PER', value: '1' });
    assert.deepEqual(parseConstraint('rack:like:r[0-9]:x'), { field: 'rack', operator: 'LIKE', value: 'r[0-9]:x' });
    assert.deepEqual(parseConstraint('hostname:UNIQUE'), { field: 'hostname', operator: 'UNIQUE' });
    assert.equal(parseConstraint('hostname:NEAR'), undefined);
    assert.equal(parseConstraint([]), undefined);
    const bad = validateUnit(appSpec('a', { constraints: [{ field: 'rack', operator: 'LIKE', value: '(' }, { field: 'rack', operator: 'MAX_PER', value: '0' }] }), new Set(['a']));
    assert.ok(bad.some((i) => i.includes('invalid regular expression')));
    assert.ok(bad.some((i) => i.includes('MAX_PER') && i.includes('>= 1')));
  });
});
