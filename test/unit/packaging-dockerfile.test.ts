/**
 * The Dockerfiles, checked without a Docker engine (none on our machines): each is linted by dockerfile-utils
 * (the validator behind the Dockerfile language server: syntax, flags, durations, ports, exec-form JSON), then
 * parsed with dockerfile-ast so the properties the image promises are asserted one by one: the stages, what the
 * runtime stage ships, a non-root USER, the ENTRYPOINT/CMD contract, the health check. The .dockerignore is
 * checked against every path the Dockerfile copies from the build context.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser } from 'dockerfile-ast';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { argsText, copies, envOf, execForm, healthcheck, instructionsOf as of, stageNamed, stages, type Stage } from '../helpers/dockerfile.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (rel: string): string => fs.readFileSync(path.join(root, rel), 'utf8');

/** Every check dockerfile-utils can make, at error level (its defaults leave some at warning or off). */
const STRICT: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

function lint(text: string): string[] {
  return validate(text, STRICT).map((d) => `line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`);
}

/**
 * Whether the build context keeps `file` under .dockerignore `patterns`, the way the Docker builder decides:
 * patterns are tried in order and the last one that matches the path or one of its parent directories wins;
 * `!` re-includes; `*` and `?` stop at `/`, `**` crosses it.
 */
function keptByDockerignore(patterns: string[], file: string): boolean {
  const toRegExp = (p: string): RegExp => {
    let re = '';
    for (let i = 0; i < p.length; i++) {
      const ch = p[i]!;
      if (ch === '*' && p[i + 1] === '*') {
        re += p[i + 2] === '/' ? '(?:.*/)?' : '.*';
        i += p[i + 2] === '/' ? 2 : 1;
      } else if (ch === '*') re += '[^/]*';
      else if (ch === '?') re += '[^/]';
      else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
  };
  const parts = file.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let kept = true;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const re = toRegExp(pattern);
    if (prefixes.some((p) => re.test(p))) kept = negated;
  }
  return kept;
}

function dockerignorePatterns(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

describe('Dockerfile (kmf image)', () => {
  const text = read('Dockerfile');
  const all = stages(text);
  const byName = (n: string): Stage => stageNamed(all, n);

  test('dockerfile-utils finds nothing, with every check at error level', () => {
    assert.deepEqual(lint(text), []);
  });

  test('the linter does report a broken Dockerfile (the check can fail)', () => {
    const broken = 'FROM node:20-slim\nCOPY onlyone\nHEALTHCHECK --interval=5 CMD true\nEXPOSE eighty\nENTRYPOINT [\'node\']\n';
    assert.equal(lint(broken).length, 4, lint(broken).join('\n'));
  });

  test('uses BuildKit syntax (cache mounts) and declares it', () => {
    const directive = DockerfileParser.parse(text).getDirectives().find((d) => d.getName() === 'syntax');
    assert.match(directive?.getValue() ?? '', /^docker\/dockerfile:1(\.\d+)?$/);
  });

  test('is multi-stage: build (node + JDK 17 + Maven), deps (production modules), runtime (slim)', () => {
    assert.deepEqual(
      all.map((s) => s.name),
      ['build', 'deps', 'runtime'],
    );
    const build = byName('build');
    assert.match(build.image, /^node:\$\{NODE_VERSION\}-bookworm$/);
    const buildRuns = of(build, 'RUN').map(argsText).join('\n');
    assert.match(buildRuns, /openjdk-17-jdk-headless/);
    assert.match(buildRuns, /\bmaven\b/);
    assert.match(buildRuns, /npm ci\b/);
    assert.match(buildRuns, /bash scripts\/runtime\.sh/);
    assert.match(buildRuns, /npm run build/);
    // runtime.sh must run before the TypeScript sources are copied, so a source change keeps the Maven layer.
    const lines = build.instructions.map((i) => `${i.getKeyword()} ${argsText(i)}`);
    const runtimeAt = lines.findIndex((l) => l.includes('scripts/runtime.sh') && l.startsWith('RUN'));
    const srcAt = lines.findIndex((l) => /^COPY src\b/.test(l));
    assert.ok(runtimeAt >= 0 && srcAt > runtimeAt, lines.join('\n'));

    const deps = byName('deps');
    assert.match(of(deps, 'RUN').map(argsText).join('\n'), /npm ci --omit=dev/);

    const runtime = byName('runtime');
    assert.match(runtime.image, /^node:\$\{NODE_VERSION\}-bookworm-slim$/);
    // The pinned Node satisfies package.json's engines range (>=20.18.1 means a 20.x newer than 20.18).
    const nodeArg = /^ARG NODE_VERSION=(\d+)\.(\d+)$/m.exec(text);
    assert.ok(nodeArg, 'ARG NODE_VERSION=MAJOR.MINOR');
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    const min = /^>=(\d+)\.(\d+)/.exec(engines);
    assert.ok(min);
    assert.ok(Number(nodeArg[1]) === Number(min[1]) && Number(nodeArg[2]) > Number(min[2]), `${nodeArg[0]} vs engines ${engines}`);
  });

  test('the runtime stage ships only dist/src, proto, bin, package.json, production node_modules, the Kafka tarball and manifest', () => {
    const runtime = byName('runtime');
    const shipped = copies(runtime).flatMap((c) => c.sources.map((s) => `${c.from ?? 'context'}:${s}`));
    assert.deepEqual(shipped.sort(), [
      'build:/app/.kmf/runtime/kafka-*.tgz',
      'build:/app/.kmf/runtime/manifest.json',
      'build:/app/dist/src',
      'context:bin',
      'context:package.json',
      'context:proto',
      'deps:/app/node_modules',
    ]);
    // No JDK, no build tools, no package installs in the final image.
    assert.deepEqual(of(runtime, 'RUN'), []);
  });

  test('build and runtime share WORKDIR /app, so the absolute paths in the copied manifest stay true', () => {
    for (const s of all) assert.deepEqual(of(s, 'WORKDIR').map(argsText), ['/app'], `stage ${s.name}`);
  });

  test('the launcher finds the compiled entry point where the image puts it', () => {
    const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string; rootDir: string } };
    assert.equal(tsconfig.compilerOptions.outDir, 'dist');
    assert.equal(tsconfig.compilerOptions.rootDir, '.');
    assert.match(read('bin/kmf.js'), /join\(root, 'dist', 'src', 'cli', 'main\.js'\)/);
    // The protobuf loader looks for proto/ next to dist/ (…/dist/src/mesos → ../../../proto).
    assert.match(read('src/mesos/proto.ts'), /'\.\.\/\.\.\/\.\.\/proto'/);
  });

  test('runs as a non-root user, set after the last COPY', () => {
    const runtime = byName('runtime');
    const users = of(runtime, 'USER').map(argsText);
    assert.equal(users.length, 1);
    assert.equal(users[0], 'node');
    const keywords = runtime.instructions.map((i) => i.getKeyword());
    assert.ok(keywords.lastIndexOf('USER') > keywords.lastIndexOf('COPY'));
    assert.ok(!keywords.includes('ADD'));
  });

  test('ENTRYPOINT and CMD are the documented contract, in exec form', () => {
    const runtime = byName('runtime');
    assert.deepEqual(execForm(runtime, 'ENTRYPOINT'), ['node', '--max-semi-space-size=16', '--heap-growing-percent=50', 'bin/kmf.js']);
    assert.deepEqual(execForm(runtime, 'CMD'), ['scheduler']);
    // The launcher's shebang asks for the same V8 heap settings.
    assert.match(read('bin/kmf.js').split('\n')[0] ?? '', /--max-semi-space-size=16 --heap-growing-percent=50$/);
  });

  test('EXPOSE matches the API port in KMF_API, and the HEALTHCHECK asks /health at KMF_API', () => {
    const runtime = byName('runtime');
    const api = envOf(runtime).get('KMF_API') ?? '';
    assert.match(api, /^0\.0\.0\.0:\d+$/);
    assert.deepEqual(of(runtime, 'EXPOSE').map(argsText), [api.split(':')[1]]);
    const { flags, argv } = healthcheck(runtime);
    for (const f of ['interval', 'timeout', 'start-period']) assert.match(flags.get(f) ?? '', /^\d+s$/, f);
    assert.match(flags.get('retries') ?? '', /^\d+$/);
    assert.deepEqual(argv.slice(0, 2), ['node', '-e']);
    assert.match(argv[2] ?? '', /\/health'/);
    assert.match(argv[2] ?? '', /process\.env\.KMF_API\|\|'0\.0\.0\.0:8080'/);
  });

  test('the health-check script exits 0 on a 200 from /health, 1 otherwise, and follows KMF_API', async () => {
    // The exact script from the HEALTHCHECK, run in-process against a local HTTP server (the container runs
    // it with `node -e`; test/integration/packaging-image-layout.test.ts does that against a real scheduler).
    const script = healthcheck(byName('runtime')).argv[2]!;
    const { createServer } = await import('node:http');
    const statusFor = { code: 200 };
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/health' ? statusFor.code : 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = server.address();
      assert.ok(address !== null && typeof address === 'object');
      const run = (code: number, api: string): Promise<number> =>
        new Promise((resolve) => {
          statusFor.code = code;
          const fakeProcess = { env: { KMF_API: api }, exit: (c: number) => resolve(c) };
          // eslint-disable-next-line @typescript-eslint/no-implied-eval
          const fn = new Function('process', script) as (p: typeof fakeProcess) => void;
          fn(fakeProcess);
        });
      assert.equal(await run(200, `0.0.0.0:${address.port}`), 0);
      assert.equal(await run(200, `127.0.0.1:${address.port}`), 0);
      assert.equal(await run(503, `0.0.0.0:${address.port}`), 1);
      assert.equal(await run(200, `127.0.0.2:${address.port}`), 1, 'asks the host KMF_API names');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('every path copied from the build context exists and survives .dockerignore', () => {
    const patterns = dockerignorePatterns(read('.dockerignore'));
    const fromContext = all.flatMap((s) => copies(s).filter((c) => c.from === undefined)).flatMap((c) => c.sources);
    assert.ok(fromContext.length > 5);
    for (const src of fromContext) {
      const abs = path.join(root, src);
      assert.ok(fs.existsSync(abs), `${src} is copied but does not exist`);
      const files = fs.statSync(abs).isDirectory() ? listFiles(abs).map((f) => path.relative(root, f)) : [src];
      const sourceFiles = files.filter((f) => !f.split(path.sep).includes('target'));
      assert.ok(sourceFiles.length > 0, src);
      for (const f of sourceFiles) assert.ok(keptByDockerignore(patterns, f.split(path.sep).join('/')), `${f} is excluded by .dockerignore`);
    }
  });

  test('.dockerignore keeps host build outputs and secrets out of the context', () => {
    const patterns = dockerignorePatterns(read('.dockerignore'));
    for (const f of ['node_modules/tsx/package.json', 'dist/src/cli/main.js', '.kmf/runtime/manifest.json', '.git/config', '.env', 'examples/wordcount/target/wordcount-1.0.jar', 'scripts/runtime/target/x.jar', 'test/unit/recordio.test.ts', 'kmf.log']) {
      assert.equal(keptByDockerignore(patterns, f), false, `${f} would be sent to the builder`);
    }
  });

  test('the .dockerignore matcher used here follows the builder (last match wins, parents count, ! re-includes)', () => {
    assert.equal(keptByDockerignore(['*', '!src/'], 'src/a/b.ts'), true);
    assert.equal(keptByDockerignore(['*', '!src/', 'src/a'], 'src/a/b.ts'), false);
    assert.equal(keptByDockerignore(['**/target/'], 'x/y/target/z.jar'), false);
    assert.equal(keptByDockerignore(['**/target/'], 'target/z.jar'), false);
    assert.equal(keptByDockerignore(['*.log'], 'dir/a.log'), true);
    assert.equal(keptByDockerignore(['**/*.log'], 'dir/a.log'), false);
  });
});

describe('docker/mesos-agent-jre/Dockerfile (Mesos agent with a JRE)', () => {
  const text = read('docker/mesos-agent-jre/Dockerfile');
  const all = stages(text);

  test('dockerfile-utils finds nothing, with every check at error level', () => {
    assert.deepEqual(lint(text), []);
  });

  test('copies a Java 17 runtime into the public Mesos 1.11 image and puts java on the PATH', () => {
    assert.match(text, /^ARG MESOS_IMAGE=mesos\/mesos-centos:1\.11\.[x\d]+$/m);
    assert.match(text, /^ARG JRE_IMAGE=eclipse-temurin:17-jre$/m);
    assert.deepEqual(
      all.map((s) => [s.name, s.image]),
      [
        ['jre', '${JRE_IMAGE}'],
        [null, '${MESOS_IMAGE}'],
      ],
    );
    const agent = all[1]!;
    assert.deepEqual(copies(agent), [{ from: 'jre', sources: ['/opt/java/openjdk'], dest: '/opt/java/openjdk' }]);
    const env = envOf(agent);
    assert.equal(env.get('JAVA_HOME'), '/opt/java/openjdk');
    assert.ok((env.get('PATH') ?? '').split(':').includes('/opt/java/openjdk/bin'));
    // /usr/sbin holds mesos-agent in the Mesos RPM layout.
    assert.ok((env.get('PATH') ?? '').split(':').includes('/usr/sbin'));
    const runs = of(agent, 'RUN').map(argsText).join('\n');
    assert.match(runs, /ln -s \/opt\/java\/openjdk\/bin\/java \/usr\/bin\/java/);
    assert.match(runs, /java -version/);
  });
});

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
