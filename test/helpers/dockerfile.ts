/**
 * Reading the repository's Dockerfiles in tests (no Docker engine here): stages, COPY sources, ENV, the
 * ENTRYPOINT/CMD and the HEALTHCHECK command, through dockerfile-ast.
 */
import assert from 'node:assert/strict';
import { Copy, DockerfileParser, Env, Healthcheck, type Instruction } from 'dockerfile-ast';

export interface Stage {
  name: string | null;
  image: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into its stages (the instructions after each FROM, the FROM included). */
export function stages(text: string): Stage[] {
  const out: Stage[] = [];
  for (const ins of DockerfileParser.parse(text).getInstructions()) {
    if (ins.getKeyword() === 'FROM') {
      const args = ins.getArguments().map((a) => a.getValue());
      const as = args.findIndex((a) => a.toUpperCase() === 'AS');
      out.push({ name: as >= 0 ? (args[as + 1] ?? null) : null, image: args[0] ?? '', instructions: [ins] });
    } else {
      out.at(-1)?.instructions.push(ins);
    }
  }
  return out;
}

export function stageNamed(all: Stage[], name: string): Stage {
  const s = all.find((x) => x.name === name);
  assert.ok(s, `no stage named ${name}`);
  return s;
}

export const instructionsOf = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.getKeyword() === keyword);
export const argsText = (ins: Instruction): string => ins.getArgumentsContent() ?? '';

export interface CopyStep {
  /** The stage copied from; undefined for the build context. */
  from: string | undefined;
  sources: string[];
  dest: string;
}

export function copies(stage: Stage): CopyStep[] {
  return stage.instructions
    .filter((i): i is Copy => i instanceof Copy)
    .map((c) => {
      const args = c.getArguments().map((a) => a.getValue());
      return { from: c.getFromFlag()?.getValue() ?? undefined, sources: args.slice(0, -1), dest: args.at(-1) ?? '' };
    });
}

export function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const ins of stage.instructions) {
    if (ins instanceof Env) for (const p of ins.getProperties()) env.set(p.getName(), p.getValue() ?? '');
  }
  return env;
}

/** An exec-form instruction (ENTRYPOINT, CMD) as its argv. */
export function execForm(stage: Stage, keyword: 'ENTRYPOINT' | 'CMD'): string[] {
  const found = instructionsOf(stage, keyword);
  assert.equal(found.length, 1, `one ${keyword}`);
  return JSON.parse(argsText(found[0]!)) as string[];
}

/** The HEALTHCHECK: its flags and its exec-form command. */
export function healthcheck(stage: Stage): { flags: Map<string, string | null>; argv: string[] } {
  const found = instructionsOf(stage, 'HEALTHCHECK');
  assert.equal(found.length, 1, 'one HEALTHCHECK');
  const hc = found[0];
  assert.ok(hc instanceof Healthcheck);
  const text = argsText(hc);
  const cmdAt = text.indexOf('CMD');
  assert.ok(cmdAt >= 0, 'HEALTHCHECK CMD');
  return { flags: new Map(hc.getFlags().map((f) => [f.getName(), f.getValue()])), argv: JSON.parse(text.slice(cmdAt + 3).trim()) as string[] };
}
