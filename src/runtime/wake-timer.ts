/**
 * The runtime's only timer. The core says when it next needs a decision (`wakeAt`); every decision
 * recomputes that time from the whole state, so the latest decision's answer replaces the previous one
 * (and no answer means "nothing is due": the timer is cleared). Timers never live inside the core.
 */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class WakeTimer {
  private timer: NodeJS.Timeout | undefined;
  private dueAt: number | undefined;

  constructor(
    private readonly fire: () => void,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Arms the timer for `at` (core clock, ms), or clears it when `at` is undefined. */
  set(at: number | undefined): void {
    if (at === this.dueAt && this.timer !== undefined) return;
    this.clear();
    if (at === undefined) return;
    this.dueAt = at;
    // +1 ms: the core ignores wake times that are not strictly in the future, so firing a hair early
    // would only re-arm the same time.
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, at - this.clock() + 1));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dueAt = undefined;
      this.fire();
    }, delay);
  }

  get due(): number | undefined {
    return this.dueAt;
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAt = undefined;
  }
}
