import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAttributes, parseResources, parseValue } from '../../src/sim/resources-syntax.js';

void describe('agent --resources syntax', () => {
  void test('the default agent resources', () => {
    assert.deepEqual(parseResources('cpus:4;mem:8192;disk:20000;ports:[31000-32000]'), [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 8192 } },
      { name: 'disk', type: 'SCALAR', scalar: { value: 20000 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } },
    ]);
  });

  void test('a role in parentheses is a static reservation; * is unreserved', () => {
    assert.deepEqual(parseResources('cpus(dev):2;cpus(*):1;mem( ops ):64'), [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, reservations: [{ type: 'STATIC', role: 'dev' }] },
      { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 64 }, reservations: [{ type: 'STATIC', role: 'ops' }] },
    ]);
  });

  void test('sets, several ranges (sorted and coalesced), spaces and fractional scalars', () => {
    assert.deepEqual(parseResources('gpus_kind:{a, b};ports:[5-6, 1-2,3-4]; cpus : 0.5 '), [
      { name: 'gpus_kind', type: 'SET', set: { item: ['a', 'b'] } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: 6 }] } },
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } },
    ]);
  });

  void test('same name and reservation merge; scalars are fixed-point with 3 decimals', () => {
    assert.deepEqual(parseResources('cpus:0.1;cpus:0.2;mem:1.23456'), [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.3 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 1.235 } },
    ]);
  });

  void test('a JSON array of Resource objects is accepted as the agent does', () => {
    const parsed = parseResources('[{"name":"cpus","type":"SCALAR","scalar":{"value":2},"role":"dev"},{"name":"mem","type":"SCALAR","scalar":{"value":128}}]');
    assert.deepEqual(parsed, [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, reservations: [{ type: 'STATIC', role: 'dev' }] },
      { name: 'mem', type: 'SCALAR', scalar: { value: 128 } },
    ]);
  });

  const bad: Array<[string, RegExp]> = [
    ['cpus', /missing or extra ':'/],
    ['cpus:1:2', /missing or extra ':'/],
    ['cpus(dev:1', /mismatched parentheses/],
    ['ports:[1-2', /Mismatched brackets/],
    ['ports:[1-2-3]', /Expecting one or more "ranges"/],
    ['ports:[a-b]', /non-negative integers/],
    ['ports:[5-1]', /begin > end/],
    ['cpus:-1', /value <= 0/],
    ['cpus:abc', /type TEXT/],
    ['cpus:1;cpus:[1-2]', /same name \('cpus'\) but different types/],
    ['cpus(/bad):1', /cannot start with a slash/],
    ['[{"name":"disk","type":"SCALAR","scalar":{"value":1},"role":"r","disk":{"persistence":{"id":"x"}}}]', /Persistent volumes/],
  ];
  for (const [text, error] of bad) {
    void test(`rejects ${text}`, () => {
      assert.throws(() => parseResources(text), error);
    });
  }

  void test('zero scalars disappear', () => {
    assert.deepEqual(parseResources('gpus:0;cpus:1'), [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }]);
  });
});

void describe('agent --attributes syntax', () => {
  void test('text, scalar and ranges values', () => {
    assert.deepEqual(parseAttributes('rack:r1;zone:z 2;weight:2.5;ports:[1-3,5-5]'), [
      { name: 'rack', type: 'TEXT', text: { value: 'r1' } },
      { name: 'zone', type: 'TEXT', text: { value: 'z2' } },
      { name: 'weight', type: 'SCALAR', scalar: { value: 2.5 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: 3 }, { begin: 5, end: 5 }] } },
    ]);
  });

  void test('newlines separate attributes too; a value may contain a colon', () => {
    assert.deepEqual(parseAttributes('a:x\nb:host:1'), [
      { name: 'a', type: 'TEXT', text: { value: 'x' } },
      { name: 'b', type: 'TEXT', text: { value: 'host:1' } },
    ]);
  });

  void test('sets and malformed pairs are rejected', () => {
    assert.throws(() => parseAttributes('s:{a,b}'), /type SET/);
    assert.throws(() => parseAttributes('novalue'), /Invalid attribute key:value pair/);
    assert.throws(() => parseAttributes('k:'), /Invalid attribute key:value pair/);
  });

  void test('empty text has no attributes', () => {
    assert.deepEqual(parseAttributes(''), []);
  });
});

void describe('value typing', () => {
  void test('numbers are scalars, anything else without brackets is text', () => {
    assert.equal(parseValue('1e3').type, 'SCALAR');
    assert.equal(parseValue('.5').type, 'SCALAR');
    assert.equal(parseValue('1.2.3').type, 'TEXT');
    assert.throws(() => parseValue('a{b}'), /Unexpected '\{'/);
    assert.throws(() => parseValue('a[1-2]'), /Unexpected '\['/);
    assert.throws(() => parseValue('   '), /non-empty/);
  });
});
