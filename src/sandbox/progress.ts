/**
 * The sandbox's own output: progress lines with the time since the command started (human-readable, on
 * stdout), or one JSON object per line with --json. Children's logs never reach the terminal: they go to files
 * under the sandbox's logs/ directory, which error messages point to.
 */
export interface Progress {
  /** A step or a change worth telling. */
  step(message: string): void;
  /** A problem that does not stop the sandbox. */
  warn(message: string): void;
  /** Lines printed as they are (the ready block), or one JSON event. */
  block(lines: readonly string[], event: Record<string, unknown>): void;
  elapsedMs(): number;
}

export function createProgress(write: (text: string) => void, json: boolean, startedAt = Date.now()): Progress {
  const elapsed = (): number => Date.now() - startedAt;
  const stamp = (): string => `[${(elapsed() / 1000).toFixed(1).padStart(6)}s]`;
  return {
    step: (message) => write(json ? JSON.stringify({ t: elapsed() / 1000, event: 'progress', message }) + '\n' : `${stamp()} ${message}\n`),
    warn: (message) => write(json ? JSON.stringify({ t: elapsed() / 1000, event: 'warning', message }) + '\n' : `${stamp()} warning: ${message}\n`),
    block: (lines, event) => write(json ? JSON.stringify({ t: elapsed() / 1000, ...event }) + '\n' : lines.join('\n') + '\n'),
    elapsedMs: elapsed,
  };
}
