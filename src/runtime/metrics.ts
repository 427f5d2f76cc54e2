/**
 * In-process metrics of the scheduler runtime: counters, gauges and latency summaries, kept as plain
 * numbers so that the admin API can expose them later (Prometheus text via `renderPrometheus`) without
 * the runtime depending on a metrics library. Names follow Prometheus conventions (`_total`, `_seconds`).
 */

export type Labels = Readonly<Record<string, string>>;

/** Latency summary over the last `window` observations (a ring), plus lifetime count and sum. */
class Summary {
  private readonly ring: Float64Array;
  private next = 0;
  private filled = 0;
  count = 0;
  sum = 0;

  constructor(window: number) {
    this.ring = new Float64Array(window);
  }

  observe(v: number): void {
    this.ring[this.next] = v;
    this.next = (this.next + 1) % this.ring.length;
    if (this.filled < this.ring.length) this.filled++;
    this.count++;
    this.sum += v;
  }

  quantile(q: number): number | undefined {
    if (this.filled === 0) return undefined;
    const sorted = Array.from(this.ring.subarray(0, this.filled)).sort((a, b) => a - b);
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
    return sorted[i];
  }
}

function key(name: string, labels: Labels | undefined): string {
  if (labels === undefined) return name;
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

export interface MetricsSnapshot {
  counters: Record<string, number>;
  gauges: Record<string, number>;
  summaries: Record<string, { count: number; sum: number; p50?: number; p99?: number }>;
}

export class Metrics {
  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, number>();
  private readonly summaries = new Map<string, Summary>();
  private readonly help = new Map<string, string>();

  constructor(private readonly window = 1024) {}

  describe(name: string, help: string): void {
    this.help.set(name, help);
  }

  /** The help text given to `describe`. */
  helpOf(name: string): string | undefined {
    return this.help.get(name);
  }

  inc(name: string, labels?: Labels, by = 1): void {
    const k = key(name, labels);
    this.counters.set(k, (this.counters.get(k) ?? 0) + by);
  }

  set(name: string, value: number, labels?: Labels): void {
    this.gauges.set(key(name, labels), value);
  }

  private readonly observers = new Set<(name: string, value: number, labels: Labels | undefined) => void>();

  /** Calls `listener` with every observation (the admin API feeds its Prometheus histograms from it). */
  onObserve(listener: (name: string, value: number, labels: Labels | undefined) => void): () => void {
    this.observers.add(listener);
    return () => this.observers.delete(listener);
  }

  /** Records a duration or size; summaries keep the last `window` values for quantiles. */
  observe(name: string, value: number, labels?: Labels): void {
    for (const l of this.observers) l(name, value, labels);
    const k = key(name, labels);
    let s = this.summaries.get(k);
    if (s === undefined) {
      s = new Summary(this.window);
      this.summaries.set(k, s);
    }
    s.observe(value);
  }

  counter(name: string, labels?: Labels): number {
    return this.counters.get(key(name, labels)) ?? 0;
  }

  gauge(name: string, labels?: Labels): number | undefined {
    return this.gauges.get(key(name, labels));
  }

  quantile(name: string, q: number, labels?: Labels): number | undefined {
    return this.summaries.get(key(name, labels))?.quantile(q);
  }

  snapshot(): MetricsSnapshot {
    const summaries: MetricsSnapshot['summaries'] = {};
    for (const [k, s] of this.summaries) {
      const entry: MetricsSnapshot['summaries'][string] = { count: s.count, sum: s.sum };
      const p50 = s.quantile(0.5);
      const p99 = s.quantile(0.99);
      if (p50 !== undefined) entry.p50 = p50;
      if (p99 !== undefined) entry.p99 = p99;
      summaries[k] = entry;
    }
    return { counters: Object.fromEntries(this.counters), gauges: Object.fromEntries(this.gauges), summaries };
  }

  /** Prometheus text exposition format (version 0.0.4). */
  renderPrometheus(): string {
    const out: string[] = [];
    const base = (k: string): string => k.replace(/\{.*$/, '');
    const emitted = new Set<string>();
    const header = (k: string, type: string): void => {
      const name = base(k);
      if (emitted.has(name)) return;
      emitted.add(name);
      const help = this.help.get(name);
      if (help !== undefined) out.push(`# HELP ${name} ${help}`);
      out.push(`# TYPE ${name} ${type}`);
    };
    for (const [k, v] of [...this.counters].sort()) {
      header(k, 'counter');
      out.push(`${k} ${v}`);
    }
    for (const [k, v] of [...this.gauges].sort()) {
      header(k, 'gauge');
      out.push(`${k} ${v}`);
    }
    for (const [k, s] of [...this.summaries].sort(([a], [b]) => a.localeCompare(b))) {
      header(k, 'summary');
      const name = base(k);
      const labels = k.slice(name.length);
      const withQ = (q: string): string => (labels === '' ? `${name}{quantile="${q}"}` : `${name}{${labels.slice(1, -1)},quantile="${q}"}`);
      for (const q of [0.5, 0.99]) {
        const v = s.quantile(q);
        if (v !== undefined) out.push(`${withQ(String(q))} ${v}`);
      }
      out.push(`${name}_sum${labels} ${s.sum}`, `${name}_count${labels} ${s.count}`);
    }
    return out.join('\n') + '\n';
  }
}

/** The metric names the runtime records (one place, so the API and docs can list them). */
export const RUNTIME_METRICS = {
  mesosEvents: 'kmf_mesos_events_total',
  coreSteps: 'kmf_core_steps_total',
  stepSeconds: 'kmf_core_step_seconds',
  batchEvents: 'kmf_runtime_batch_events',
  actions: 'kmf_actions_total',
  callFailures: 'kmf_mesos_call_failures_total',
  stateWrites: 'kmf_state_writes_total',
  stateWriteOps: 'kmf_state_write_ops_total',
  stateWriteSeconds: 'kmf_state_write_seconds',
  stateWriteFailures: 'kmf_state_write_failures_total',
  leader: 'kmf_leader',
  subscribed: 'kmf_mesos_subscribed',
  tasks: 'kmf_task_records',
  units: 'kmf_units',
  termsStarted: 'kmf_leader_terms_total',
  stateLoadSeconds: 'kmf_state_load_seconds',
  offersReceived: 'kmf_offers_received_total',
  offersDeclined: 'kmf_offers_declined_total',
  offersUsed: 'kmf_offers_used_total',
  launchSeconds: 'kmf_task_launch_seconds',
  reconciliationSeconds: 'kmf_reconciliation_seconds',
} as const;

export function describeRuntimeMetrics(m: Metrics): void {
  m.describe(RUNTIME_METRICS.mesosEvents, 'Mesos scheduler events received, by type');
  m.describe(RUNTIME_METRICS.coreSteps, 'Decisions of the core, by input event type');
  m.describe(RUNTIME_METRICS.stepSeconds, 'Time of one core decision');
  m.describe(RUNTIME_METRICS.batchEvents, 'Events handled together in one batch');
  m.describe(RUNTIME_METRICS.actions, 'Actions performed, by type');
  m.describe(RUNTIME_METRICS.callFailures, 'Mesos calls that failed, by call type and error code');
  m.describe(RUNTIME_METRICS.stateWrites, 'ZooKeeper multi transactions written');
  m.describe(RUNTIME_METRICS.stateWriteOps, 'Znode operations written');
  m.describe(RUNTIME_METRICS.stateWriteSeconds, 'Time of one persist (all its transactions)');
  m.describe(RUNTIME_METRICS.stateWriteFailures, 'Failed ZooKeeper writes, by error code');
  m.describe(RUNTIME_METRICS.leader, '1 while this instance leads');
  m.describe(RUNTIME_METRICS.subscribed, '1 while subscribed to a Mesos master');
  m.describe(RUNTIME_METRICS.tasks, 'Task records in the state');
  m.describe(RUNTIME_METRICS.units, 'Units in the state');
  m.describe(RUNTIME_METRICS.termsStarted, 'Leadership terms started by this instance');
  m.describe(RUNTIME_METRICS.stateLoadSeconds, 'Time to load the state from ZooKeeper at the start of a term');
  m.describe(RUNTIME_METRICS.offersReceived, 'Resource offers received from Mesos');
  m.describe(RUNTIME_METRICS.offersDeclined, 'Resource offers declined');
  m.describe(RUNTIME_METRICS.offersUsed, 'Resource offers accepted (used for reservations or launches)');
  m.describe(RUNTIME_METRICS.launchSeconds, 'Time from the launch decision to TASK_RUNNING');
  m.describe(RUNTIME_METRICS.reconciliationSeconds, 'Time of an explicit task reconciliation round, until every task answered');
}
