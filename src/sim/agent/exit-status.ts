/**
 * Raw `waitpid` statuses and the text Mesos derives from them.
 *
 * Node reports a child's end as (code, signal); Mesos reports the raw wait status (FAILURE.status is one) and
 * words it with WSTRINGIFY: "exited with status N" or "terminated with signal <strsignal text>". The command
 * executor prefixes "Command " (e.g. `Command exited with status 1`, `Command terminated with signal Killed`).
 */
import { constants } from 'node:os';

/** glibc strsignal() texts, which is what WSTRINGIFY prints on Linux. */
const SIGNAL_TEXT: Record<string, string> = {
  SIGHUP: 'Hangup',
  SIGINT: 'Interrupt',
  SIGQUIT: 'Quit',
  SIGILL: 'Illegal instruction',
  SIGTRAP: 'Trace/breakpoint trap',
  SIGABRT: 'Aborted',
  SIGBUS: 'Bus error',
  SIGFPE: 'Floating point exception',
  SIGKILL: 'Killed',
  SIGUSR1: 'User defined signal 1',
  SIGSEGV: 'Segmentation fault',
  SIGUSR2: 'User defined signal 2',
  SIGPIPE: 'Broken pipe',
  SIGALRM: 'Alarm clock',
  SIGTERM: 'Terminated',
  SIGSTKFLT: 'Stack fault',
  SIGCHLD: 'Child exited',
  SIGCONT: 'Continued',
  SIGSTOP: 'Stopped (signal)',
  SIGTSTP: 'Stopped',
  SIGTTIN: 'Stopped (tty input)',
  SIGTTOU: 'Stopped (tty output)',
  SIGURG: 'Urgent I/O condition',
  SIGXCPU: 'CPU time limit exceeded',
  SIGXFSZ: 'File size limit exceeded',
  SIGVTALRM: 'Virtual timer expired',
  SIGPROF: 'Profiling timer expired',
  SIGWINCH: 'Window changed',
  SIGIO: 'I/O possible',
  SIGPWR: 'Power failure',
  SIGSYS: 'Bad system call',
};

const SIGNAL_NUMBERS = constants.signals as Record<string, number>;

function signalName(num: number): string | undefined {
  for (const [name, n] of Object.entries(SIGNAL_NUMBERS)) {
    if (n === num && name in SIGNAL_TEXT) return name;
  }
  return undefined;
}

/**
 * Encode Node's (code, signal) as a Linux wait status: exit code in bits 8-15, or the signal number in the
 * low 7 bits. A child that never ran (exec failure, code and signal both null) is reported like a shell
 * does for "command not found": exit status 127.
 */
export function waitStatusOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal !== null) return (SIGNAL_NUMBERS[signal] ?? 0) & 0x7f;
  if (code !== null) return (code & 0xff) << 8;
  return 127 << 8;
}

export function exitedNormally(status: number): boolean {
  return (status & 0x7f) === 0;
}

export function exitCode(status: number): number {
  return (status >> 8) & 0xff;
}

export function termSignal(status: number): number {
  return status & 0x7f;
}

/** WIFEXITED && WEXITSTATUS == 0. */
export function succeeded(status: number): boolean {
  return exitedNormally(status) && exitCode(status) === 0;
}

/** WSTRINGIFY: "exited with status 3", "terminated with signal Terminated". */
export function describeWaitStatus(status: number): string {
  if (exitedNormally(status)) return `exited with status ${exitCode(status)}`;
  const sig = termSignal(status);
  const name = signalName(sig);
  const text = name === undefined ? `Unknown signal ${sig}` : (SIGNAL_TEXT[name] ?? `Unknown signal ${sig}`);
  return `terminated with signal ${text}`;
}
