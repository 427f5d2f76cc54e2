#!/usr/bin/env -S node --max-semi-space-size=16 --heap-growing-percent=50
// V8 heap flags (the Dockerfile's ENTRYPOINT repeats them; docs/operations.md, "Memory"):
// --max-semi-space-size=16 (MB; V8's default on 64-bit, made explicit): the young generation is two
//   semi-spaces and, once a busy scheduler has grown it, it stays resident. At 64 it cost ~100 MB of RSS
//   (a leader with 10,000 tasks and 1,000 agents offering: 371-401 MB instead of 226-244 MB) to decode a
//   5,000-offer OFFERS event in ~37 ms instead of ~77 ms, both within the 100 ms budget
//   (bench/decode-offers.ts, bench/scheduler-scale.ts).
// --heap-growing-percent=50: the next full GC comes when the old generation is 1.5 times what survived the
//   last one, instead of up to 4 times: garbage promoted by busy decisions no longer piles up to 100+ MB
//   (RSS swung between 225 and 350 MB with the sample's place in the GC cycle). Costs a full GC (mostly
//   concurrent) about every half minute under that load.
// Entry point of the `kmf` command. Runs the compiled build when there is one (`npm run build`),
// otherwise the TypeScript sources through tsx, so a fresh checkout works after `npm ci` alone.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'src', 'cli', 'main.js');
if (existsSync(compiled) && process.env.KMF_FROM_SOURCE !== '1') {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
