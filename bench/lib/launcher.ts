/**
 * The node flags of the kmf launcher (the shebang of bin/kmf.js, the Dockerfile's ENTRYPOINT), read from
 * bin/kmf.js so that benchmarks run with the V8 heap settings kmf really runs with.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest directory above this file with a package.json (works from dist/ too). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      readFileSync(path.join(dir, 'package.json'));
      return dir;
    } catch {
      const up = path.dirname(dir);
      if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
      dir = up;
    }
  }
}

function launcherFlags(): string[] {
  const shebang = readFileSync(path.join(repoRoot(), 'bin', 'kmf.js'), 'utf8').split('\n')[0] ?? '';
  const flags = shebang.split(/\s+/).filter((w) => w.startsWith('--'));
  if (!flags.some((f) => f.startsWith('--max-semi-space-size='))) throw new Error(`bin/kmf.js does not set the V8 heap flags: ${shebang}`);
  return flags;
}

/** E.g. `['--max-semi-space-size=16', '--heap-growing-percent=50']`. */
export const LAUNCHER_FLAGS: readonly string[] = launcherFlags();
