/**
 * `GET /metrics` (Prometheus text format 0.0.4), built with prom-client:
 *
 *  - every observation the runtime makes (`Metrics.observe`: core decision time, ZooKeeper write and load
 *    time, launch latency, reconciliation time …) becomes a histogram with buckets suited to it;
 *  - the runtime's counters and gauges (Mesos events, offers received / declined / used, actions, state
 *    writes, leader, subscribed …) are exported as they are;
 *  - at scrape time, from the scheduler's own views: tasks by state, units by state, plan steps by status
 *    and plan progress, the Mesos connection state;
 *  - the admin API's own requests (count and latency by route), and the process (CPU, memory, event loop).
 *
 * The runtime does not depend on prom-client; it only calls `Metrics.observe/inc/set`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Labels, Metrics } from '../runtime/metrics.js';
import { RUNTIME_METRICS } from '../runtime/metrics.js';
import type { SchedulerService } from '../runtime/scheduler-service.js';
import type { Plan, UnitView } from '../core/plans.js';

const LATENCY_FAST = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const LATENCY_IO = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Buckets per runtime observation (others get prom-client's defaults). */
const BUCKETS: Readonly<Record<string, readonly number[]>> = {
  [RUNTIME_METRICS.stepSeconds]: LATENCY_FAST,
  [RUNTIME_METRICS.batchEvents]: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
  [RUNTIME_METRICS.stateWriteSeconds]: LATENCY_IO,
  [RUNTIME_METRICS.stateLoadSeconds]: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  [RUNTIME_METRICS.launchSeconds]: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  [RUNTIME_METRICS.reconciliationSeconds]: [0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
};

const HELP_OVERRIDES: Readonly<Record<string, string>> = {
  [RUNTIME_METRICS.stateWriteSeconds]: 'ZooKeeper write latency: one persist of the leader (all its multi transactions)',
  [RUNTIME_METRICS.stateLoadSeconds]: 'ZooKeeper read latency: loading the whole state at the start of a leadership term',
};

const ZERO_COUNTERS = [
  RUNTIME_METRICS.offersReceived,
  RUNTIME_METRICS.offersDeclined,
  RUNTIME_METRICS.offersUsed,
  RUNTIME_METRICS.stateWrites,
  RUNTIME_METRICS.stateWriteOps,
  RUNTIME_METRICS.termsStarted,
];

const MESOS_STATES = ['subscribed', 'subscribing', 'waiting', 'idle', 'stopped', 'failed', 'not leading'] as const;

interface Views {
  units: UnitView[];
  plans: Plan[];
  mesosState: string;
}

function sanitizeName(s: string): string {
  return s.replace(/[^a-zA-Z0-9_:]/g, '_');
}

export class PrometheusExporter {
  readonly registry = new Registry();
  private readonly histograms = new Map<string, Histogram>();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly requestSeconds: Histogram<'method' | 'route'>;
  private readonly off: () => void;
  private cached: { at: number; value: Promise<Views> } | undefined;

  constructor(
    private readonly runtime: Metrics,
    private readonly service: SchedulerService,
    opts: { processMetrics?: boolean } = {},
  ) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'kmf_api_requests_total', help: 'Admin API requests, by route and status', labelNames: ['method', 'route', 'status'], registers });
    this.requestSeconds = new Histogram({
      name: 'kmf_api_request_duration_seconds',
      help: 'Admin API request latency, by route',
      labelNames: ['method', 'route'],
      buckets: LATENCY_IO,
      registers,
    });
    this.off = runtime.onObserve((name, value, labels) => this.observe(name, value, labels));
    this.scrapeGauges();
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'kmf_' });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops listening to the runtime (tests that build several servers in one process). */
  close(): void {
    this.off();
  }

  apiRequest(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.requestSeconds.observe({ method, route }, seconds);
  }

  private observe(name: string, value: number, labels: Labels | undefined): void {
    const labelNames = labels === undefined ? [] : Object.keys(labels).sort();
    const key = `${name}|${labelNames.join(',')}`;
    let h = this.histograms.get(key);
    if (h === undefined) {
      // A metric name can have only one label set: a second set would be a programming error upstream.
      if ([...this.histograms.keys()].some((k) => k.startsWith(`${name}|`))) return;
      h = new Histogram({
        name: sanitizeName(name),
        help: HELP_OVERRIDES[name] ?? this.runtime.helpOf(name) ?? name,
        labelNames,
        buckets: [...(BUCKETS[name] ?? LATENCY_IO)],
        registers: [this.registry],
      });
      this.histograms.set(key, h);
    }
    if (labels === undefined) h.observe(value);
    else h.observe(labels, value);
  }

  /** The views one scrape reads, computed once per scrape (several gauges use them; each view is O(units)). */
  private views(): Promise<Views> {
    if (this.cached !== undefined) return this.cached.value;
    const now = Date.now();
    const value = (async (): Promise<Views> => {
      const [units, plans, status] = await Promise.all([
        this.service.units().catch(() => undefined),
        this.service.plans().catch(() => undefined),
        this.service.status().catch(() => undefined),
      ]);
      return { units: units?.units ?? [], plans: plans?.plans ?? [], mesosState: status?.mesos.state ?? 'unknown' };
    })();
    this.cached = { at: now, value };
    return value;
  }

  /** Gauges computed from the scheduler's views when Prometheus scrapes. */
  private scrapeGauges(): void {
    const registers = [this.registry];
    const views = (): Promise<Views> => this.views();
    // Each collect() reads the views once per scrape; a failed read (ZooKeeper down on a standby) leaves
    // the gauges empty rather than failing the whole scrape.
    new Gauge({
      name: 'kmf_tasks',
      help: 'Current task of each unit, by Mesos task state',
      labelNames: ['state'],
      registers,
      async collect() {
        this.reset();
        for (const u of (await views()).units) if (u.task !== undefined) this.inc({ state: u.task.state });
      },
    });
    new Gauge({
      name: 'kmf_units_by_state',
      help: 'Units by state (running, starting, waiting, delayed, error …)',
      labelNames: ['state', 'kind'],
      registers,
      async collect() {
        this.reset();
        for (const u of (await views()).units) this.inc({ state: u.state, kind: u.kind });
      },
    });
    new Gauge({
      name: 'kmf_plan_steps',
      help: 'Plan steps by status',
      labelNames: ['plan', 'status'],
      registers,
      async collect() {
        this.reset();
        for (const p of (await views()).plans) {
          for (const s of p.phases.flatMap((ph) => ph.steps)) this.inc({ plan: p.name, status: s.status });
        }
      },
    });
    new Gauge({
      name: 'kmf_plan_progress_ratio',
      help: 'Share of a plan\'s steps that are COMPLETE (1 when the plan has no step)',
      labelNames: ['plan'],
      registers,
      async collect() {
        this.reset();
        for (const p of (await views()).plans) {
          const steps = p.phases.flatMap((ph) => ph.steps);
          this.set({ plan: p.name }, steps.length === 0 ? 1 : steps.filter((s) => s.status === 'COMPLETE').length / steps.length);
        }
      },
    });
    new Gauge({
      name: 'kmf_plan_paused',
      help: '1 while a plan is paused',
      labelNames: ['plan'],
      registers,
      async collect() {
        this.reset();
        for (const p of (await views()).plans) this.set({ plan: p.name }, p.paused ? 1 : 0);
      },
    });
    new Gauge({
      name: 'kmf_mesos_connection_state',
      help: '1 for the current state of the connection to the Mesos master (subscribed; subscribing; waiting to retry; not leading on a standby …)',
      labelNames: ['state'],
      registers,
      async collect() {
        this.reset();
        const state = (await views()).mesosState;
        for (const s of MESOS_STATES) this.set({ state: s }, s === state ? 1 : 0);
        if (!(MESOS_STATES as readonly string[]).includes(state)) this.set({ state }, 1);
      },
    });
  }

  /** The runtime's counters and gauges, in exposition format, with their help texts. */
  private runtimeCountersAndGauges(): string {
    const snap = this.runtime.snapshot();
    const out: string[] = [];
    const base = (k: string): string => k.replace(/\{.*$/, '');
    const families = (entries: Record<string, number>, type: 'counter' | 'gauge'): void => {
      const byName = new Map<string, Array<[string, number]>>();
      for (const [k, v] of Object.entries(entries)) byName.set(base(k), [...(byName.get(base(k)) ?? []), [k, v]]);
      for (const name of [...byName.keys()].sort()) {
        const help = this.runtime.helpOf(name);
        if (help !== undefined) out.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
        out.push(`# TYPE ${name} ${type}`);
        for (const [k, v] of (byName.get(name) ?? []).sort(([a], [b]) => a.localeCompare(b))) out.push(`${k} ${v}`);
      }
    };
    // Counters without labels exist from the start (a rate over a series that appears late is wrong).
    const counters = { ...snap.counters };
    for (const name of ZERO_COUNTERS) counters[name] ??= 0;
    families(counters, 'counter');
    families(snap.gauges, 'gauge');
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }

  async render(): Promise<string> {
    this.cached = undefined;
    const fromLibrary = await this.registry.metrics();
    return `${this.runtimeCountersAndGauges()}\n${fromLibrary}`;
  }
}
