/**
 * Runs every benchmark in bench/ (each top-level `*.ts` file except this one), one after the other,
 * each in its own Node process so that one benchmark's heap and JIT state do not colour the next.
 * Benchmarks print figures; they never fail on timings. Exit status is non-zero only if a benchmark
 * crashed.
 *
 * Usage: npm run bench [-- name-filter]
 *
 * kafka-deploy.ts starts real ZooKeeper and Kafka JVMs (the runtime of scripts/setup.sh); BENCH_ROUNDS sets
 * its number of fresh clusters (default 1).
 *
 * With BENCH_COMPILED=1 (or run as `node dist/bench/run.js`) the benchmarks run from the compiled build
 * (`npm run build` first: dist/bench/*.js, plain node, no tsx), as `kmf` itself runs when dist/ exists:
 * tsx's loader (a worker thread with its own V8 heap) adds 20-35 MB of RSS that the product does not have.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAUNCHER_FLAGS } from './lib/launcher.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const self = path.basename(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const fromBuild = path.extname(self) === '.js';
const compiled = fromBuild || process.env['BENCH_COMPILED'] === '1';
const root = path.resolve(benchDir, '..');
const scriptOf = (file: string): string => (fromBuild || !compiled ? path.join(benchDir, file) : path.join(root, 'dist', 'bench', file.replace(/\.ts$/, '.js')));

// From the sources (tsx) this file is run.ts and the benchmarks are *.ts; from the build it is run.js.
const ext = path.extname(self);
const files = readdirSync(benchDir, { withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith(ext) && !e.name.endsWith('.d.ts') && e.name !== self)
  .map((e) => e.name)
  .filter((name) => filter === undefined || name.includes(filter))
  .sort();

function runOne(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // The V8 heap flags of the kmf launcher (bin/kmf.js), so the figures are those of kmf as it runs.
    const args = compiled ? [...LAUNCHER_FLAGS, scriptOf(file)] : [...LAUNCHER_FLAGS, '--import', 'tsx', scriptOf(file)];
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file} ===`);
  const code = await runOne(file);
  if (code !== 0) {
    failed++;
    console.error(`${file} exited with status ${code}`);
  }
}
if (files.length === 0) console.log('no benchmarks found');
process.exitCode = failed > 0 ? 1 : 0;
