/**
 * Artifacts kmf serves to Mesos fetchers besides the Kafka tarball: application jars, by file name, at
 * `GET /artifacts/<name>`. The example app's jar (from the runtime manifest) is always registered; every regular
 * file of the directory named by KMF_ARTIFACTS_DIR is too (drop a jar there and deploy it by its name).
 */
import fs from 'node:fs';
import path from 'node:path';
import { readRuntimeManifest } from '../util/runtime-manifest.js';
import { ARTIFACT_NAME } from './spec.js';

export class ArtifactRegistry {
  constructor(
    private readonly fixed: ReadonlyMap<string, string>,
    private readonly dir: string | undefined,
  ) {}

  /** Path of the artifact named `name`, if it is served. */
  find(name: string): { path: string; size: number } | undefined {
    if (!ARTIFACT_NAME.test(name)) return undefined;
    const candidates = [this.fixed.get(name), this.dir === undefined ? undefined : path.join(this.dir, name)];
    for (const p of candidates) {
      if (p === undefined) continue;
      try {
        const st = fs.statSync(p);
        if (st.isFile()) return { path: p, size: st.size };
      } catch {
        // not there
      }
    }
    return undefined;
  }

  names(): string[] {
    const out = new Set(this.fixed.keys());
    if (this.dir !== undefined) {
      try {
        for (const e of fs.readdirSync(this.dir, { withFileTypes: true })) if (e.isFile() && ARTIFACT_NAME.test(e.name)) out.add(e.name);
      } catch {
        // no directory
      }
    }
    return [...out].sort();
  }
}

let registry: ArtifactRegistry | undefined;

/** The registry of this process (the runtime manifest is read once). */
export function servedArtifacts(): ArtifactRegistry {
  if (registry !== undefined) return registry;
  const fixed = new Map<string, string>();
  try {
    const jar = readRuntimeManifest().wordcount.jar;
    fixed.set(path.basename(jar), jar);
  } catch {
    // no runtime manifest: only KMF_ARTIFACTS_DIR
  }
  const dir = process.env['KMF_ARTIFACTS_DIR'];
  registry = new ArtifactRegistry(fixed, dir === undefined || dir === '' ? undefined : dir);
  return registry;
}
