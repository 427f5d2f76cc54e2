import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { archiveKind, destinationName, FetchError, uriSource } from '../../src/sim/agent/fetcher.js';
import { persistentVolumes, reservationRole, volumePath } from '../../src/sim/agent/volumes.js';

void describe('fetcher name rules (reference items 192-194)', () => {
  void test('destination is the basename after the last slash, query string included', () => {
    assert.equal(destinationName({ value: 'http://h:8080/dist/kafka_2.13-4.1.0.tgz' }), 'kafka_2.13-4.1.0.tgz');
    assert.equal(destinationName({ value: 'http://h/get?file=a.tar.gz' }), 'get?file=a.tar.gz');
    assert.equal(destinationName({ value: '/opt/artifacts/app.jar' }), 'app.jar');
    assert.equal(destinationName({ value: 'file:///opt/x/run.sh' }), 'run.sh');
  });

  void test('output_file wins, may have sub-directories, must be relative', () => {
    assert.equal(destinationName({ value: 'http://h/a.tgz', output_file: 'lib/b.tgz' }), 'lib/b.tgz');
    assert.throws(() => destinationName({ value: 'http://h/a.tgz', output_file: '/etc/passwd' }), FetchError);
    assert.throws(() => destinationName({ value: 'http://h/a.tgz', output_file: '../escape' }), FetchError);
  });

  void test('malformed URIs are rejected', () => {
    assert.throws(() => destinationName({ value: 'http://hostonly' }), /missing path/);
    assert.throws(() => destinationName({ value: 'http://h/dir/' }), FetchError);
    assert.throws(() => uriSource("http://h/it's"), /Invalid characters/);
    assert.throws(() => uriSource('http://h/a\\b'), /Invalid characters/);
    assert.throws(() => uriSource(''), FetchError);
  });

  void test('sources: http(s), file:// and absolute paths; relative paths and other schemes fail', () => {
    assert.deepEqual(uriSource('http://h/a'), { kind: 'http', url: 'http://h/a' });
    assert.deepEqual(uriSource('HTTPS://h/a'), { kind: 'http', url: 'HTTPS://h/a' });
    assert.deepEqual(uriSource('file:///tmp/x'), { kind: 'local', path: '/tmp/x' });
    assert.deepEqual(uriSource('/tmp/x'), { kind: 'local', path: '/tmp/x' });
    assert.throws(() => uriSource('relative/x'), /relative path/);
    assert.throws(() => uriSource('hdfs://nn/x'), /Unsupported URI scheme 'hdfs'/);
  });

  void test('archive kinds by suffix', () => {
    for (const n of ['a.tar', 'a.tgz', 'a.tar.gz', 'a.tbz2', 'a.tar.bz2', 'a.txz', 'a.tar.xz']) assert.equal(archiveKind(n), 'tar', n);
    assert.equal(archiveKind('a.zip'), 'zip');
    assert.equal(archiveKind('a.gz'), 'gz');
    assert.equal(archiveKind('a.jar'), undefined);
    assert.equal(archiveKind('a.TGZ'), undefined);
  });

  void test('property: without output_file the name never contains a slash and is a suffix of the URI', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true }), fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/), (url, file) => {
        fc.pre(file !== '.' && file !== '..');
        const value = `${url.replace(/[?#].*$/, '').replace(/\/+$/, '')}/${file}`;
        fc.pre(!/['\\]/.test(value));
        const name = destinationName({ value });
        assert.equal(name, file);
        assert.ok(value.endsWith(name));
      }),
    );
  });
});

void describe('persistent volume layout', () => {
  void test('volumes live under volumes/roles/<role>/<id>, hierarchical roles flattened', () => {
    assert.equal(volumePath('/w', 'kafka', 'broker-0'), '/w/volumes/roles/kafka/broker-0');
    assert.equal(volumePath('/w', 'eng/kafka', 'b'), '/w/volumes/roles/eng kafka/b');
    assert.throws(() => volumePath('/w', '*', 'b'));
    assert.throws(() => volumePath('/w', 'r', '../x'));
  });

  void test('volumes and their roles are read from pre- and post-refinement resources', () => {
    const pre = { name: 'disk', type: 'SCALAR' as const, scalar: { value: 10 }, role: 'kafka', disk: { persistence: { id: 'v1' }, volume: { container_path: 'data', mode: 'RW' as const } } };
    const post = {
      name: 'disk',
      type: 'SCALAR' as const,
      scalar: { value: 10 },
      reservations: [{ type: 'DYNAMIC' as const, role: 'eng' }, { type: 'DYNAMIC' as const, role: 'eng/kafka' }],
      disk: { persistence: { id: 'v2' }, volume: { container_path: 'log', mode: 'RO' as const } },
    };
    assert.equal(reservationRole(pre), 'kafka');
    assert.equal(reservationRole(post), 'eng/kafka');
    assert.deepEqual(persistentVolumes([pre, post, { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }]), [
      { role: 'kafka', persistenceId: 'v1', containerPath: 'data', mode: 'RW' },
      { role: 'eng/kafka', persistenceId: 'v2', containerPath: 'log', mode: 'RO' },
    ]);
  });
});
