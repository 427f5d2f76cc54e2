import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KmfError } from './errors.js';

/**
 * What scripts/runtime.sh assembled under `.kmf/runtime/`: the Kafka distribution (and the tarball the scheduler
 * serves to Mesos tasks), the ZooKeeper server jars and the example Streams app. The file is rewritten on every
 * setup run, so its absolute paths match the current checkout.
 */
export interface RuntimeManifest {
  readonly kafka: {
    readonly version: string;
    readonly scalaVersion: string;
    /** Unpacked distribution: bin/, libs/, config/. */
    readonly home: string;
    /** `<topDir>/…` as a gzipped tar. */
    readonly tarball: string;
    readonly tarballSha256: string;
    /** The tarball's single top-level directory, e.g. `kafka-4.4.0`. */
    readonly topDir: string;
    /** Relative to home (and to topDir inside the tarball). */
    readonly serverStart: string;
    readonly storageTool: string;
  };
  readonly zookeeper: {
    readonly version: string;
    readonly home: string;
    readonly lib: string;
    readonly mainClass: string;
  };
  readonly wordcount: {
    readonly jar: string;
    readonly mainClass: string;
    readonly kafkaStreamsVersion: string;
  };
  readonly javaBin: string;
}

/** The repository root (this file is src/util/runtime-manifest.ts, or dist/src/util/… when compiled). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new KmfError('runtime_missing', 'cannot find the kmf repository root from ' + fileURLToPath(import.meta.url));
}

export function defaultManifestPath(): string {
  return process.env['KMF_RUNTIME_MANIFEST'] ?? path.join(repoRoot(), '.kmf', 'runtime', 'manifest.json');
}

const cache = new Map<string, RuntimeManifest>();

export function readRuntimeManifest(file: string = defaultManifestPath()): RuntimeManifest {
  const cached = cache.get(file);
  if (cached !== undefined) return cached;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new KmfError('runtime_missing', `no runtime manifest at ${file}: run scripts/setup.sh (or scripts/runtime.sh) first`, {
      cause: err,
    });
  }
  const parsed: unknown = JSON.parse(text);
  const manifest = validate(parsed, file);
  cache.set(file, manifest);
  return manifest;
}

function validate(v: unknown, file: string): RuntimeManifest {
  const need = (obj: unknown, keys: readonly string[], where: string): Record<string, unknown> => {
    if (typeof obj !== 'object' || obj === null) throw bad(`${where} is not an object`);
    const rec = obj as Record<string, unknown>;
    for (const k of keys) if (typeof rec[k] !== 'string') throw bad(`${where}.${k} is missing`);
    return rec;
  };
  const bad = (msg: string): KmfError => new KmfError('runtime_manifest_invalid', `${file}: ${msg}`);
  const root = need(v, ['javaBin'], 'manifest');
  need(root['kafka'], ['version', 'scalaVersion', 'home', 'tarball', 'tarballSha256', 'topDir', 'serverStart', 'storageTool'], 'kafka');
  need(root['zookeeper'], ['version', 'home', 'lib', 'mainClass'], 'zookeeper');
  need(root['wordcount'], ['jar', 'mainClass', 'kafkaStreamsVersion'], 'wordcount');
  return v as RuntimeManifest;
}
