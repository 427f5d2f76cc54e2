import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { after, describe, test } from 'node:test';
import { KmfError } from '../../src/util/errors.js';
import { basicAuthorization, loadCredential, parseCredentialFile, Secret } from '../../src/mesos/credentials.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-cred-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const isKmf = (code: string) => (e: unknown) => e instanceof KmfError && e.code === code;

void describe('framework credentials', () => {
  void test('a Secret never prints its value', () => {
    const s = new Secret('hunter2');
    assert.equal(s.reveal(), 'hunter2');
    assert.equal(String(s), '[redacted]');
    assert.equal(JSON.stringify({ s }), '{"s":"[redacted]"}');
    assert.ok(!inspect({ s }).includes('hunter2'));
  });

  void test('reads the JSON, text and secret-only file forms', async () => {
    const json = await loadCredential({ file: write('c.json', '{"principal":"kmf","secret":"s1"}\n') });
    assert.equal(json.principal, 'kmf');
    assert.equal(json.secret.reveal(), 's1');
    const text = await loadCredential({ file: write('c.txt', 'kmf s2\n') });
    assert.deepEqual([text.principal, text.secret.reveal()], ['kmf', 's2']);
    const only = await loadCredential({ principal: 'kmf', file: write('secret', 's3\n') });
    assert.deepEqual([only.principal, only.secret.reveal()], ['kmf', 's3']);
  });

  void test('reads the secret from an environment variable', async () => {
    const c = await loadCredential({ principal: 'kmf', env: 'KMF_TEST_SECRET' }, { KMF_TEST_SECRET: 's4' });
    assert.equal(c.secret.reveal(), 's4');
    await assert.rejects(loadCredential({ principal: 'kmf', env: 'KMF_TEST_SECRET' }, {}), isKmf('MESOS_BAD_CREDENTIAL'));
  });

  void test('errors never quote the secret', async () => {
    await assert.rejects(loadCredential({ file: write('bad.json', '{"principal":"kmf","secret":"hunter2",}') }), (e: unknown) =>
      e instanceof KmfError && e.code === 'MESOS_BAD_CREDENTIAL' && !e.message.includes('hunter2'),
    );
    assert.throws(() => parseCredentialFile('hunter2', undefined), (e: unknown) => e instanceof KmfError && !e.message.includes('hunter2'));
    await assert.rejects(loadCredential({ file: path.join(dir, 'missing') }), isKmf('MESOS_BAD_CREDENTIAL'));
    await assert.rejects(loadCredential({}), isKmf('MESOS_BAD_CREDENTIAL'));
  });

  void test('basic authorization header', () => {
    const header = basicAuthorization({ principal: 'kmf', secret: new Secret('pa:ss wörd') });
    assert.equal(header, `Basic ${Buffer.from('kmf:pa:ss wörd', 'utf8').toString('base64')}`);
    assert.throws(() => parseCredentialFile('{"principal":"a:b","secret":"x"}', undefined), isKmf('MESOS_BAD_CREDENTIAL'));
  });
});
