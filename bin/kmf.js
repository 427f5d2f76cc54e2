#!/usr/bin/env -S node --max-semi-space-size=64
// --max-semi-space-size=64: a large young generation keeps decoding of very large OFFERS events (thousands
// of offers) from being dominated by scavenges; see bench/decode-offers.ts.
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
