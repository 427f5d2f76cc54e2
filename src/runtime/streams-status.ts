/**
 * What the leader observes of its Streams apps, in memory (a new leader observes afresh): each instance's last
 * Streams state (from the readiness loop) and each app's last lag reading and autoscaler decision. The admin API
 * adds it to GET /api/v1/apps/{name}.
 */
import type { StreamsState } from '../streams/state-probe.js';
import type { AutoscaleDecision } from '../streams/autoscale.js';

export interface InstanceStreamsStatus {
  taskId: string;
  /** undefined: the instance did not answer GET /state. */
  state: StreamsState | undefined;
  at: number;
}

export interface AppStreamsStatus {
  lag?: number;
  lagByTopic?: Record<string, number>;
  partitions?: number;
  lagAt?: number;
  lagError?: string;
  decision?: AutoscaleDecision & { at: number };
}

export interface StreamsStatusView {
  instances: Record<string, { taskId: string; state: string; at: string }>;
  lag?: number;
  lagByTopic?: Record<string, number>;
  partitions?: number;
  lagAt?: string;
  lagError?: string;
  autoscaler?: { action: string; target: number; desired?: number; reason: string; at: string };
}

export class StreamsStatus {
  private readonly instances = new Map<string, InstanceStreamsStatus>();
  private readonly apps = new Map<string, AppStreamsStatus>();

  setInstance(unit: string, s: InstanceStreamsStatus): void {
    this.instances.set(unit, s);
  }

  updateApp(app: string, change: Partial<AppStreamsStatus>): void {
    this.apps.set(app, { ...this.apps.get(app), ...change });
  }

  app(app: string): AppStreamsStatus | undefined {
    return this.apps.get(app);
  }

  /** Forgets the app-level status (lag, autoscaler decision) of every app not in `apps`. */
  retainApps(apps: ReadonlySet<string>): void {
    for (const a of this.apps.keys()) if (!apps.has(a)) this.apps.delete(a);
  }

  /** Forgets units and apps that are gone. */
  retain(units: ReadonlySet<string>, apps: ReadonlySet<string>): void {
    for (const u of this.instances.keys()) if (!units.has(u)) this.instances.delete(u);
    for (const a of this.apps.keys()) if (!apps.has(a)) this.apps.delete(a);
  }

  /** The API view of one app; `units` are the app's unit names. */
  view(app: string, units: readonly string[]): StreamsStatusView {
    const out: StreamsStatusView = { instances: {} };
    for (const u of units) {
      const s = this.instances.get(u);
      if (s !== undefined) out.instances[u] = { taskId: s.taskId, state: s.state ?? 'UNREACHABLE', at: new Date(s.at).toISOString() };
    }
    const a = this.apps.get(app);
    if (a?.lag !== undefined) out.lag = a.lag;
    if (a?.lagByTopic !== undefined) out.lagByTopic = a.lagByTopic;
    if (a?.partitions !== undefined) out.partitions = a.partitions;
    if (a?.lagAt !== undefined) out.lagAt = new Date(a.lagAt).toISOString();
    if (a?.lagError !== undefined) out.lagError = a.lagError;
    if (a?.decision !== undefined) {
      const d = a.decision;
      out.autoscaler = { action: d.action, target: d.target, ...(d.desired === undefined ? {} : { desired: d.desired }), reason: d.reason, at: new Date(d.at).toISOString() };
    }
    return out;
  }
}
