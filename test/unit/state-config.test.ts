import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { KmfError } from '../../src/util/errors.js';
import { ancestorsAndSelf, baseName, joinPath, parentPath, validatePath } from '../../src/state/paths.js';
import { describeZkConfig, parseZkStateSpec } from '../../src/state/zk-config.js';
import { sortMembers } from '../../src/state/leader-election.js';

const code = (c: string) => (err: unknown) => err instanceof KmfError && err.code === c;

void describe('parseZkStateSpec (--zk)', () => {
  void test('servers and chroot, with or without zk://; no chroot means /kmf', () => {
    assert.deepEqual(parseZkStateSpec('h1:2181,h2:2182/kmf/prod', {}), { servers: ['h1:2181', 'h2:2182'], chroot: '/kmf/prod', auth: undefined });
    assert.deepEqual(parseZkStateSpec('zk://h1:2181/x', {}).chroot, '/x');
    assert.equal(parseZkStateSpec('h1:2181', {}).chroot, '/kmf');
    assert.equal(parseZkStateSpec('h1:2181/', {}).chroot, '/kmf');
    assert.deepEqual(parseZkStateSpec('h1', {}).servers, ['h1:2181']);
  });

  void test('credentials: URL first, then KMF_ZK_AUTH, then KMF_ZK_AUTH_FILE', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-auth-')), 'zk-auth');
    fs.writeFileSync(file, '\nfromfile:pw:with:colons\n');
    try {
      assert.deepEqual(parseZkStateSpec('zk://u:p@h:1/c', { KMF_ZK_AUTH: 'env:pw' }).auth, { user: 'u', password: 'p' });
      assert.deepEqual(parseZkStateSpec('h:1/c', { KMF_ZK_AUTH: 'env:pw', KMF_ZK_AUTH_FILE: file }).auth, { user: 'env', password: 'pw' });
      assert.deepEqual(parseZkStateSpec('h:1/c', { KMF_ZK_AUTH_FILE: file }).auth, { user: 'fromfile', password: 'pw:with:colons' });
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  void test('bad credentials are refused without echoing them', () => {
    assert.throws(() => parseZkStateSpec('h:1/c', { KMF_ZK_AUTH: 'nopassword' }), (err: unknown) => code('invalid_config')(err) && !String((err as Error).message).includes('nopassword'));
    assert.throws(() => parseZkStateSpec('h:1/c', { KMF_ZK_AUTH_FILE: '/nonexistent/kmf-auth' }), code('invalid_config'));
    assert.throws(() => parseZkStateSpec('h:1/a//b', {}));
  });

  void test('describeZkConfig hides the password', () => {
    const text = describeZkConfig(parseZkStateSpec('h:1/c', { KMF_ZK_AUTH: 'kmf:topsecret' }));
    assert.equal(text, 'zk://kmf:***@h:1/c');
  });
});

void describe('znode paths', () => {
  void test('validation', () => {
    for (const ok of ['/', '/a', '/a/b-c_d.e', '/tasks/task-0000000001']) assert.equal(validatePath(ok), ok);
    for (const bad of ['', 'a', '/a/', '//a', '/a//b', '/a/./b', '/a/../b', '/a/\u0001']) assert.throws(() => validatePath(bad), code('invalid_path'), bad);
  });

  void test('join, parent, base name, ancestors', () => {
    assert.equal(joinPath('/', 'a', 'b'), '/a/b');
    assert.equal(joinPath('/a', 'b'), '/a/b');
    assert.equal(parentPath('/a/b'), '/a');
    assert.equal(parentPath('/a'), '/');
    assert.equal(parentPath('/'), undefined);
    assert.equal(baseName('/a/b'), 'b');
    assert.deepEqual(ancestorsAndSelf('/a/b/c'), ['/a', '/a/b', '/a/b/c']);
    assert.deepEqual(ancestorsAndSelf('/'), []);
  });
});

void test('election members sort by sequence number, not by name', () => {
  assert.deepEqual(sortMembers(['member-zz-0000000002', 'member-aa-0000000010', 'member-mm-0000000001', 'other', 'member-x-12']), [
    'member-mm-0000000001',
    'member-zz-0000000002',
    'member-aa-0000000010',
  ]);
});
