/**
 * `kmf scheduler` refuses bad configuration before doing anything: non-zero exit, and a message that says
 * what is wrong and how to fix it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/scheduler-harness.js';

function run(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KMF_')));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'kmf.js'), 'scheduler', ...args], {
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr };
}

test('bad or missing flags: non-zero exit with what is wrong and how to fix it', () => {
  const cases: Array<{ args: string[]; env?: NodeJS.ProcessEnv; expect: RegExp }> = [
    { args: ['--zk', '127.0.0.1:2181/kmf'], expect: /required option '--master <url>'/ },
    { args: ['--master', 'http://m:5050', '--zk', 'bad zk'], expect: /--zk <spec>.*expected HOST:PORT\[,HOST:PORT…\]\/CHROOT/ },
    { args: ['--master', 'http://m:5050', '--zk', '127.0.0.1:2181/kmf', '--api', '8080'], expect: /--api <host:port>.*not HOST:PORT/ },
    { args: ['--master', 'ftp://m', '--zk', '127.0.0.1:2181/kmf'], expect: /--master <url>.*expected http:\/\/HOST:5050/ },
    { args: [], env: { KMF_MASTER: 'http://m:5050', KMF_ZK: '127.0.0.1:2181/kmf', KMF_PERMANENT_FAILURE_TIMEOUT: 'soon' }, expect: /from env 'KMF_PERMANENT_FAILURE_TIMEOUT' is invalid/ },
    { args: ['--master', 'http://m:5050', '--zk', '127.0.0.1:2181/kmf'], expect: /needs a token: set KMF_API_TOKEN .* or pass --insecure-no-auth/ },
    {
      args: ['--master', 'http://m:5050', '--zk', '127.0.0.1:2181/kmf', '--insecure-no-auth', '--core-config', '{"nope":1}'],
      expect: /--core-config: unknown key "nope"/,
    },
  ];
  for (const c of cases) {
    const r = run(c.args, c.env);
    assert.notEqual(r.status, 0, `${c.args.join(' ')} should fail`);
    assert.match(r.stderr, c.expect);
  }
});
