/**
 * Synthetic tasks for benchmarks with thousands of agents: no process, no sandbox, no HTTP server.
 * A synthetic task reports TASK_STARTING at launch and TASK_RUNNING `runningDelayMs` later, then stays
 * RUNNING until killed (TASK_KILLING if the framework has TASK_KILLING_STATE, then TASK_KILLED) or its
 * executor/framework is shut down. Custom and default executors are synthetic too: their tasks behave the
 * same, and shutting one down reports the executor's exit (status 0).
 *
 * Cost per task: one small record. The RUNNING delay is the same for every task, so due times are in launch
 * order and one FIFO queue with one timer per agent serves all of them.
 */
import type { FrameworkInfo, KillPolicy, TaskInfo } from '../../mesos/types.js';
import type { Logger } from '../../util/log.js';
import { hasCapability, taskStatus, type ExecutorHandle, type ExecutorHost, type ExecutorKind } from './executor-handle.js';
import type { Clock } from './status-update-manager.js';

/** A FIFO of callbacks all due `delayMs` after being queued, driven by a single timer. */
export class DelayQueue {
  private readonly queue: Array<{ dueAt: number; fn: () => void }> = [];
  private head = 0;
  private timer: unknown = undefined;

  constructor(
    private readonly delayMs: number,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.queue.length - this.head;
  }

  push(fn: () => void): void {
    this.queue.push({ dueAt: this.clock.now() + this.delayMs, fn });
    if (this.timer === undefined) this.arm();
  }

  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.head = 0;
  }

  private arm(): void {
    const next = this.queue[this.head];
    if (next === undefined) return;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, next.dueAt - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    while (this.head < this.queue.length) {
      const item = this.queue[this.head];
      if (item === undefined || item.dueAt > now) break;
      this.head++;
      item.fn();
    }
    // Compact once the consumed prefix dominates, keeping push/fire amortised O(1).
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  }
}

type SyntheticTaskState = 'STARTING' | 'RUNNING' | 'DONE';

export class SyntheticExecutor implements ExecutorHandle {
  readonly kind = 'synthetic' as const;
  readonly frameworkId: string;
  readonly containerId: string;
  readonly pid = undefined;
  private readonly tasks = new Map<string, SyntheticTaskState>();
  private abandoned = false;
  private ended = false;

  constructor(
    private readonly host: ExecutorHost,
    private readonly running: DelayQueue,
    readonly framework: FrameworkInfo,
    readonly executorId: string,
    /** What the executor stands in for: command tasks end the executor silently, the others report an exit. */
    readonly emulates: Exclude<ExecutorKind, 'synthetic'>,
    readonly logger: Logger,
  ) {
    this.frameworkId = framework.id?.value ?? '';
    this.containerId = `synthetic-${executorId}`;
  }

  launch(task: TaskInfo): void {
    const id = task.task_id.value;
    this.tasks.set(id, 'STARTING');
    this.host.status(this, taskStatus(id, 'TASK_STARTING', 'SOURCE_EXECUTOR'));
    this.running.push(() => {
      if (this.abandoned || this.tasks.get(id) !== 'STARTING') return;
      this.tasks.set(id, 'RUNNING');
      this.host.status(this, taskStatus(id, 'TASK_RUNNING', 'SOURCE_EXECUTOR'));
    });
  }

  launchGroup(tasks: TaskInfo[]): void {
    for (const t of tasks) this.launch(t);
  }

  kill(taskId: string, _killPolicy?: KillPolicy): void {
    const state = this.tasks.get(taskId);
    if (state === undefined || state === 'DONE' || this.abandoned) return;
    this.tasks.set(taskId, 'DONE');
    if (hasCapability(this.framework, 'TASK_KILLING_STATE')) this.host.status(this, taskStatus(taskId, 'TASK_KILLING', 'SOURCE_EXECUTOR'));
    this.host.status(this, taskStatus(taskId, 'TASK_KILLED', 'SOURCE_EXECUTOR', { message: 'Command terminated with signal Terminated' }));
    if (this.emulates === 'command') this.end();
  }

  shutdown(): void {
    for (const [id, s] of this.tasks) if (s !== 'DONE') this.kill(id);
    this.end();
  }

  frameworkMessage(_data: Buffer): void {
    // Synthetic executors have nobody to deliver a message to.
  }

  abandon(): void {
    this.abandoned = true;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.host.executorTerminated(this, this.emulates === 'command' ? undefined : 0);
  }
}
