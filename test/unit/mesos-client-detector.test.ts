import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { KmfError } from '../../src/util/errors.js';
import {
  createMasterDetector,
  masterInfoEndpoint,
  parseMasterList,
  schedulerEndpoint,
  selectLeader,
  StaticMasterDetector,
  unpackIPv4,
} from '../../src/mesos/master-detector.js';
import { isZkUrl, parseZkUrl, redactZkUrl, zkConnectString } from '../../src/mesos/zk-url.js';

const isKmf = (code: string) => (e: unknown) => e instanceof KmfError && e.code === code;

void describe('parseZkUrl', () => {
  void test('servers, path and digest credentials', () => {
    const url = parseZkUrl('zk://jdoe:s3cr@t@zk1:2181,zk2:2182,zk3/mesos/prod/');
    assert.deepEqual(url.servers, ['zk1:2181', 'zk2:2182', 'zk3:2181']);
    assert.equal(url.path, '/mesos/prod');
    assert.deepEqual(url.auth, { user: 'jdoe', password: 's3cr@t' });
    assert.equal(zkConnectString(url), 'zk1:2181,zk2:2182,zk3:2181');
    assert.equal(redactZkUrl(url), 'zk://jdoe:***@zk1:2181,zk2:2182,zk3:2181/mesos/prod');
  });
  void test('path defaults to /', () => {
    const url = parseZkUrl('zk://127.0.0.1:2181');
    assert.equal(url.path, '/');
    assert.equal(url.auth, undefined);
  });
  void test('rejects malformed URLs without echoing the password', () => {
    assert.throws(() => parseZkUrl('http://zk1/mesos'), isKmf('MESOS_BAD_ZK_URL'));
    assert.throws(() => parseZkUrl('zk:///mesos'), isKmf('MESOS_BAD_ZK_URL'));
    assert.throws(() => parseZkUrl('zk://zk1:99999/mesos'), isKmf('MESOS_BAD_ZK_URL'));
    assert.throws(
      () => parseZkUrl('zk://user:hunter2@zk1:x/mesos'),
      (e: unknown) => e instanceof KmfError && !e.message.includes('hunter2'),
    );
  });
  void test('isZkUrl', () => {
    assert.equal(isZkUrl('zk://a:1/m'), true);
    assert.equal(isZkUrl(' ZK://a:1/m'), true);
    assert.equal(isZkUrl('http://a:1'), false);
  });
});

void describe('master lists', () => {
  void test('bare host:port, URLs and prefixes become scheduler endpoints', () => {
    const urls = parseMasterList('m1:5050, http://m2:5050 ,https://m3:5443/,http://proxy/mesos,http://m4:5050/api/v1/scheduler');
    assert.deepEqual(
      urls.map((u) => u.href),
      [
        'http://m1:5050/api/v1/scheduler',
        'http://m2:5050/api/v1/scheduler',
        'https://m3:5443/api/v1/scheduler',
        'http://proxy/mesos/api/v1/scheduler',
        'http://m4:5050/api/v1/scheduler',
      ],
    );
    assert.equal(schedulerEndpoint('m1:5050', 'https').href, 'https://m1:5050/api/v1/scheduler');
  });
  void test('rejects empty lists, other schemes and credentials in URLs', () => {
    assert.throws(() => parseMasterList(' , '), isKmf('MESOS_BAD_MASTER'));
    assert.throws(() => parseMasterList('ftp://m1'), isKmf('MESOS_BAD_MASTER'));
    assert.throws(() => parseMasterList('http://u:p@m1:5050'), isKmf('MESOS_BAD_MASTER'));
  });
  void test('a static detector tries the masters in turn', async () => {
    const detector = new StaticMasterDetector(parseMasterList('a:1,b:2'));
    const signal = new AbortController().signal;
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) seen.push((await detector.next(signal)).host);
    assert.deepEqual(seen, ['a:1', 'b:2', 'a:1', 'b:2', 'a:1']);
    await detector.close();
  });
  void test('createMasterDetector picks the kind from the spec', async () => {
    const s = createMasterDetector('m1:5050');
    assert.equal(s.describe(), 'http://m1:5050');
    const z = createMasterDetector('zk://u:pw@z1:2181/mesos');
    assert.equal(z.describe(), 'zk://u:***@z1:2181/mesos');
    await s.close();
    await z.close();
  });
});

void describe('ZooKeeper leader selection', () => {
  void test('lowest json.info_ sequence wins; other children are ignored', () => {
    assert.equal(selectLeader(['log_replicas', 'info_0000000001', 'json.info_0000000007', 'json.info_0000000003']), 'json.info_0000000003');
    assert.equal(selectLeader(['log_replicas', 'info_0000000001']), undefined);
    assert.equal(selectLeader([]), undefined);
    assert.equal(selectLeader(['json.info_junk', 'json.info_0000000010']), 'json.info_0000000010');
  });
  void test('ordering is numeric, not lexicographic, and independent of listing order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 20 }), (seqs) => {
        // Sequence suffixes are 10 digits, but don't rely on the padding.
        const names = seqs.map((n, i) => `json.info_${i % 2 === 0 ? String(n).padStart(10, '0') : String(n)}`);
        const min = Math.min(...seqs);
        const leader = selectLeader(names);
        assert.ok(leader !== undefined);
        assert.equal(Number(leader.slice('json.info_'.length)), min);
      }),
    );
  });
  void test('MasterInfo JSON (alphabetical keys, v0 names) gives the leader endpoint', () => {
    const data = Buffer.from(
      '{"address":{"hostname":"m1.example.com","ip":"10.0.0.11","port":5050},"capabilities":[{"type":"AGENT_UPDATE"},{"type":"AGENT_DRAINING"},{"type":"QUOTA_V2"}],"hostname":"m1.example.com","id":"6f1b3c1e-0f4a-4a55-9a2e-2d3c0c9b7a10","ip":184549386,"pid":"master@10.0.0.11:5050","port":5050,"version":"1.11.0"}',
    );
    assert.equal(masterInfoEndpoint(data, 'http').href, 'http://m1.example.com:5050/api/v1/scheduler');
    assert.equal(masterInfoEndpoint(data, 'https').href, 'https://m1.example.com:5050/api/v1/scheduler');
  });
  void test('falls back to address.ip, then the legacy fields', () => {
    assert.equal(masterInfoEndpoint(Buffer.from('{"address":{"ip":"10.0.0.12","port":5051},"id":"x","ip":1,"port":1}'), 'http').host, '10.0.0.12:5051');
    assert.equal(masterInfoEndpoint(Buffer.from('{"id":"x","ip":184549386,"port":5050}'), 'http').host, '10.0.0.11:5050');
    assert.equal(masterInfoEndpoint(Buffer.from('{"hostname":"old","id":"x","ip":1,"port":5050}'), 'http').host, 'old:5050');
  });
  void test('rejects data without an address', () => {
    assert.throws(() => masterInfoEndpoint(Buffer.from('not json'), 'http'), isKmf('MESOS_BAD_MASTER_INFO'));
    assert.throws(() => masterInfoEndpoint(Buffer.from('{"id":"x"}'), 'http'), isKmf('MESOS_BAD_MASTER_INFO'));
  });
  void test('unpackIPv4 reads network-order bytes as little-endian', () => {
    assert.equal(unpackIPv4(184549386), '10.0.0.11');
    assert.equal(unpackIPv4(16777343), '127.0.0.1');
  });
});
