import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import winston from 'winston';
import { Secret } from '../../src/mesos/credentials.js';
import { ClientHarness } from '../helpers/scheduler-client-harness.js';
import { ScriptedMaster } from '../helpers/scripted-master.js';

/**
 * https:// masters verified against a CA file, with HTTP basic framework authentication. The CA and the master's
 * certificate are made with openssl for this run, in a temporary directory.
 */

interface Pki {
  dir: string;
  caFile: string;
  key: Buffer;
  cert: Buffer;
}

function makePki(): Pki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-tls-'));
  const f = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=kmf test CA');
  openssl('req', ...ec, '-keyout', f('master.key'), '-out', f('master.csr'), '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', f('master.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('master.crt'), '-days', '2', '-extfile', f('san.ext'));
  return { dir, caFile: f('ca.crt'), key: fs.readFileSync(f('master.key')), cert: fs.readFileSync(f('master.crt')) };
}

/** A logger at debug level whose output the test can read. */
function capturingLogger(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
  return { logger, lines };
}

void describe('SchedulerClient over TLS with basic authentication', () => {
  let pki: Pki;
  let m: ScriptedMaster;
  const clients: ClientHarness[] = [];

  before(async () => {
    pki = makePki();
    m = await ScriptedMaster.start({ tls: { key: pki.key, cert: pki.cert } });
  });
  after(async () => {
    for (const c of clients) await c.stop();
    await m.close();
    fs.rmSync(pki.dir, { recursive: true, force: true });
  });

  void test('verifies the master against the CA file and sends the credential on every request', async () => {
    const { logger, lines } = capturingLogger();
    const secret = 'pä55:wörd-never-logged';
    // A bare host:port with TLS configured means https.
    const h = new ClientHarness({ master: m.hostPort, tls: { caFile: pki.caFile }, credential: { principal: 'kmf', secret: new Secret(secret) }, logger });
    clients.push(h);
    h.start();
    const subscribed = await h.change('subscribed');
    assert.equal(subscribed.masterUrl, m.url);
    assert.ok(m.url.startsWith('https://'));
    await h.client.suppress(['kafka']);

    const expected = `Basic ${Buffer.from(`kmf:${secret}`, 'utf8').toString('base64')}`;
    const [sub] = m.callsOfType('SUBSCRIBE');
    const [suppress] = m.callsOfType('SUPPRESS');
    assert.equal(sub?.headers['authorization'], expected);
    assert.equal(suppress?.headers['authorization'], expected);

    await h.stop();
    const logged = lines.join('');
    assert.ok(logged.includes('subscribed'), 'the capture did record the client logs');
    assert.ok(!logged.includes(secret) && !logged.includes(expected.slice(6)), 'the secret never reaches the logs');
  });

  void test('without the CA the master is not trusted: fatal, not retried', async () => {
    const before = m.callsOfType('SUBSCRIBE').length;
    const h = new ClientHarness({ master: m.url, tls: {} });
    clients.push(h);
    h.start();
    const fatal = await h.change('fatal');
    assert.equal(fatal.error.code, 'MESOS_TLS_ERROR');
    assert.equal(fatal.error.retriable, false);
    assert.equal(m.callsOfType('SUBSCRIBE').length, before);
  });
});
