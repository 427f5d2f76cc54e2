import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { KmfError } from '../../src/util/errors.js';
import { isSuccessStatus, resolveLocation, statusError, transportError } from '../../src/mesos/http-result.js';

const url = new URL('http://m1.example.com:5050/api/v1/scheduler');
const subscribe = { callType: 'SUBSCRIBE' as const, url };
const accept = { callType: 'ACCEPT' as const, url };

void describe('statusError', () => {
  void test('200 and 202 are the only successes', () => {
    assert.equal(isSuccessStatus(200), true);
    assert.equal(isSuccessStatus(202), true);
    for (const s of [201, 204, 307, 400, 503]) assert.equal(isSuccessStatus(s), false);
  });

  void test('client errors carry the body text and are not retriable', () => {
    const cases: Array<[number, string, string]> = [
      [400, 'MESOS_BAD_REQUEST', "Failed to validate scheduler::Call: Expecting 'framework_id' to be present"],
      [401, 'MESOS_UNAUTHENTICATED', ''],
      [403, 'MESOS_FORBIDDEN', 'Framework is not subscribed'],
      [405, 'MESOS_METHOD_NOT_ALLOWED', "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'."],
      [406, 'MESOS_NOT_ACCEPTABLE', "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"],
      [415, 'MESOS_UNSUPPORTED_MEDIA_TYPE', "Expecting 'Content-Type' of application/json or application/x-protobuf"],
      [501, 'MESOS_NOT_IMPLEMENTED', ''],
    ];
    for (const [status, code, body] of cases) {
      const err = statusError(status, Buffer.from(body), undefined, accept);
      assert.equal(err.code, code, `status ${status}`);
      assert.equal(err.retriable, false, `status ${status}`);
      assert.ok(err.message.includes(String(status)));
      if (body !== '') assert.ok(err.message.includes(body), `message of ${status} quotes the body`);
    }
  });

  void test('503 is retriable, 404 only for SUBSCRIBE (routes not installed yet)', () => {
    const unavailable = statusError(503, Buffer.from('No leader elected'), undefined, accept);
    assert.equal(unavailable.code, 'MESOS_UNAVAILABLE');
    assert.equal(unavailable.retriable, true);
    assert.match(unavailable.message, /No leader elected/);
    assert.equal(statusError(404, Buffer.alloc(0), undefined, subscribe).retriable, true);
    assert.equal(statusError(404, Buffer.alloc(0), undefined, accept).retriable, false);
  });

  void test('307 resolves a protocol-relative Location against the scheme in use', () => {
    const err = statusError(307, Buffer.alloc(0), '//m2.example.com:5051/api/v1/scheduler', subscribe);
    assert.equal(err.code, 'MESOS_REDIRECT');
    assert.equal(err.retriable, true);
    assert.equal(err.details?.['location'], 'http://m2.example.com:5051/api/v1/scheduler');
    const tls = statusError(307, Buffer.alloc(0), '//m2:5051/api/v1/scheduler', { callType: 'SUBSCRIBE', url: new URL('https://m1:5050/api/v1/scheduler') });
    assert.equal(tls.details?.['location'], 'https://m2:5051/api/v1/scheduler');
  });

  void test('307 without Location is a bad redirect', () => {
    assert.equal(statusError(307, Buffer.alloc(0), undefined, subscribe).code, 'MESOS_BAD_REDIRECT');
  });

  void test('huge bodies are truncated in the message', () => {
    const err = statusError(400, Buffer.from('x'.repeat(100_000)), undefined, accept);
    assert.ok(err.message.length < 3000);
  });

  void test('any status maps to a KmfError whose retriable flag follows the table', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.string(), (status, body) => {
        const err = statusError(status, Buffer.from(body), '//h:1/p', accept);
        assert.ok(err instanceof KmfError);
        const expected = status === 503 || status === 307 || (status >= 500 && status !== 501);
        assert.equal(err.retriable, expected, `status ${status}`);
      }),
    );
  });
});

void describe('resolveLocation', () => {
  void test('handles protocol-relative, absolute and path-only locations', () => {
    assert.equal(resolveLocation('//10.0.0.12:5050/master/api/v1/scheduler', url).href, 'http://10.0.0.12:5050/master/api/v1/scheduler');
    assert.equal(resolveLocation('https://m3:5050/api/v1/scheduler', url).href, 'https://m3:5050/api/v1/scheduler');
    assert.equal(resolveLocation('/other/path', url).href, 'http://m1.example.com:5050/other/path');
  });
  void test('rejects non-http schemes', () => {
    assert.throws(() => resolveLocation('ftp://m3/x', url), (e: unknown) => e instanceof KmfError && e.code === 'MESOS_BAD_REDIRECT');
  });
});

void describe('transportError', () => {
  function errno(code: string, message = code): Error {
    return Object.assign(new Error(message), { code });
  }
  void test('maps socket failures to retriable codes', () => {
    assert.equal(transportError(errno('ECONNREFUSED'), accept).code, 'MESOS_CONNECTION_REFUSED');
    assert.equal(transportError(errno('ECONNRESET'), accept).code, 'MESOS_CONNECTION_RESET');
    assert.equal(transportError(errno('UND_ERR_HEADERS_TIMEOUT'), accept).code, 'MESOS_TIMEOUT');
    assert.equal(transportError(errno('UND_ERR_CONNECT_TIMEOUT'), accept).code, 'MESOS_TIMEOUT');
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'ENOTFOUND']) {
      assert.equal(transportError(errno(code), accept).retriable, true, code);
    }
  });
  void test('looks through undici wrappers at the cause', () => {
    const socketError = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET', cause: errno('ECONNRESET') });
    assert.equal(transportError(socketError, accept).code, 'MESOS_CONNECTION_RESET');
    const wrapped = Object.assign(new Error('fetch failed'), { cause: errno('ECONNREFUSED') });
    assert.equal(transportError(wrapped, accept).code, 'MESOS_CONNECTION_REFUSED');
  });
  void test('TLS verification failures are not retriable', () => {
    const err = transportError(errno('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), subscribe);
    assert.equal(err.code, 'MESOS_TLS_ERROR');
    assert.equal(err.retriable, false);
  });
  void test('KmfErrors pass through unchanged', () => {
    const mine = new KmfError('MESOS_TIMEOUT', 'x', { retriable: true });
    assert.equal(transportError(mine, accept), mine);
  });
});
