/**
 * The operator's desired state, kept in ZooKeeper next to the scheduler's own state so that a new leader
 * (or a restarted scheduler) knows what to run:
 *
 *   /desired                   (empty)
 *   /desired/apps/<name>       one AppRecord: {spec, removing, createdAt, updatedAt}
 *   /desired/kafka             the Kafka cluster (src/runtime/kafka-desired.ts)
 *
 * Writes go through the leader's FencedStateStore, so only the leader changes it. The core consumes a
 * prepared `DesiredState`, rebuilt here only when an app changes or the set of stored units shrinks
 * (preparing hashes every spec: once per change, not once per event).
 *
 * Stop holds (units a rolling update may not stop now, e.g. the Kafka roll gate's) are not stored: the leader
 * recomputes them from the cluster. They are laid over the prepared state without preparing it again, and
 * until the first computation every Kafka unit is held ("not checked yet"), so a freshly elected leader
 * never stops a broker before it has looked at the cluster. Replace holds of Kafka controllers (the quorum
 * guard's, kafka-quorum-guard.ts) work the same way: until its first round every controller of a formed quorum
 * is held, so a new leader never moves a controller to a fresh disk before it has looked at the quorum.
 */
import { prepareDesired, type DesiredState } from '../model/desired.js';
import type { StateStore, Versioned } from '../state/state-store.js';
import { KmfError } from '../util/errors.js';
import { appsDesiredInput, type AppRecord } from './apps.js';
import { kafkaDesiredInput, KAFKA_PATH, type KafkaClusterRecord, type KafkaRuntimeOptions } from './kafka-desired.js';
import { encodeJson } from './state-codec.js';
import { KAFKA_BROKER_KIND, KAFKA_CONTROLLER_KIND } from '../kafka/units.js';
import { initialReplaceHolds } from './kafka-quorum-guard.js';

export const DESIRED_ROOT = '/desired';
export const APPS_PATH = '/desired/apps';

export function appPath(name: string): string {
  return `${APPS_PATH}/${name}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function decodeApps(tree: ReadonlyMap<string, Versioned>): { apps: Map<string, AppRecord>; problems: string[] } {
  const apps = new Map<string, AppRecord>();
  const problems: string[] = [];
  for (const [path, node] of tree) {
    if (!path.startsWith(`${APPS_PATH}/`)) continue;
    try {
      const v: unknown = JSON.parse(node.data.toString('utf8'));
      if (!isObject(v) || !isObject(v['spec']) || typeof v['spec']['name'] !== 'string') throw new Error('not an app record');
      const rec = v as unknown as AppRecord;
      apps.set(rec.spec.name, { ...rec, removing: rec.removing === true });
    } catch (err) {
      problems.push(`${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { apps, problems };
}

/** Reads the app records (leader start-up and follower views). */
export async function loadApps(store: StateStore): Promise<{ apps: Map<string, AppRecord>; problems: string[] }> {
  return decodeApps(await store.readTree(APPS_PATH));
}

export const HOLDS_NOT_CHECKED = 'roll safety not checked yet (the scheduler has just started leading)';

export class DesiredStore {
  private cached: DesiredState | undefined;
  private cachedUnits: ReadonlySet<string> = new Set();
  /** The cached state with the stop holds laid over it. */
  private held: DesiredState | undefined;
  /** Kafka stop holds from the roll gate; undefined until its first round. */
  private kafkaHolds: Readonly<Record<string, string>> | undefined;
  /** Replace holds of Kafka controllers from the quorum guard; undefined until its first round. */
  private kafkaReplaceHolds: Readonly<Record<string, string>> | undefined;

  constructor(
    /** The fenced store. */
    private readonly store: StateStore,
    private readonly records: Map<string, AppRecord>,
    private kafkaRecord: KafkaClusterRecord | undefined = undefined,
    private readonly kafkaOptions: KafkaRuntimeOptions | undefined = undefined,
  ) {}

  get kafka(): KafkaClusterRecord | undefined {
    return this.kafkaRecord;
  }

  /** Writes the Kafka cluster record (fenced), then updates the in-memory view. */
  async putKafka(rec: KafkaClusterRecord): Promise<void> {
    await this.store.put(KAFKA_PATH, encodeJson(rec), 'any');
    this.kafkaRecord = rec;
    this.cached = undefined;
  }

  get apps(): ReadonlyMap<string, AppRecord> {
    return this.records;
  }

  async ensureLayout(): Promise<void> {
    await this.store.ensurePath(APPS_PATH);
  }

  /** Writes the record (fenced), then updates the in-memory view. */
  async put(rec: AppRecord): Promise<void> {
    await this.store.put(appPath(rec.spec.name), encodeJson(rec), 'any');
    this.records.set(rec.spec.name, rec);
    this.cached = undefined;
  }

  async delete(name: string): Promise<void> {
    await this.store.delete(appPath(name), 'any');
    this.records.delete(name);
    this.cached = undefined;
  }

  get(name: string): AppRecord | undefined {
    return this.records.get(name);
  }

  require(name: string): AppRecord {
    const rec = this.records.get(name);
    if (rec === undefined) throw new KmfError('not_found', `no app named "${name}"`, { details: { app: name } });
    return rec;
  }

  /**
   * The prepared desired state for the core, given the unit names in the stored state. Rebuilt when an app
   * changed or when a stored unit it kept as "removed" is gone.
   */
  desired(storedUnits: ReadonlyMap<string, unknown>): DesiredState {
    const base = this.prepared(storedUnits);
    if (this.held === undefined) {
      const kafkaUnits = base.ordered.filter((u) => u.spec.kind === KAFKA_BROKER_KIND || u.spec.kind === KAFKA_CONTROLLER_KIND).map((u) => u.spec.name);
      const holds: Record<string, string> = {};
      if (this.kafkaHolds === undefined) for (const u of kafkaUnits) holds[u] = HOLDS_NOT_CHECKED;
      else Object.assign(holds, this.kafkaHolds);
      let held = Object.keys(holds).length === 0 ? base : { ...base, stopHolds: { ...base.stopHolds, ...holds } };
      const replace = this.kafkaReplaceHolds ?? initialReplaceHolds(this.kafkaRecord);
      if (Object.keys(replace).length > 0) held = { ...held, replaceHolds: { ...held.replaceHolds, ...replace } };
      this.held = held;
    }
    return this.held;
  }

  /** Replaces the Kafka controllers' replace holds; returns whether they changed (see setKafkaStopHolds). */
  setKafkaReplaceHolds(holds: Readonly<Record<string, string>>): boolean {
    if (this.kafkaReplaceHolds !== undefined && sameHolds(this.kafkaReplaceHolds, holds)) return false;
    this.kafkaReplaceHolds = { ...holds };
    this.held = undefined;
    return true;
  }

  /**
   * Replaces the Kafka stop holds (unit → reason). Returns whether they changed: only then does the core
   * need another decision.
   */
  setKafkaStopHolds(holds: Readonly<Record<string, string>>): boolean {
    if (this.kafkaHolds !== undefined && sameHolds(this.kafkaHolds, holds)) return false;
    this.kafkaHolds = { ...holds };
    this.held = undefined;
    return true;
  }

  get kafkaStopHolds(): Readonly<Record<string, string>> | undefined {
    return this.kafkaHolds;
  }

  private prepared(storedUnits: ReadonlyMap<string, unknown>): DesiredState {
    if (this.cached !== undefined) {
      let stale = false;
      for (const u of this.cachedUnits) {
        if (!storedUnits.has(u)) {
          stale = true;
          break;
        }
      }
      if (!stale) return this.cached;
    }
    this.held = undefined;
    // Kafka units first: the stored units they describe are not the apps' to remove as orphans.
    const kafka = kafkaDesiredInput(this.kafkaRecord, this.kafkaOptions);
    const kafkaNames = new Set(kafka.units.map((u) => u.name));
    const apps = appsDesiredInput(this.records, [...storedUnits.keys()].filter((u) => !kafkaNames.has(u)));
    const input = { units: [...kafka.units, ...apps.units], phases: [...(kafka.phases ?? []), ...(apps.phases ?? [])] };
    const covered = new Set(input.units.filter((u) => u.goal !== 'running').map((u) => u.name));
    this.cached = prepareDesired(input);
    this.cachedUnits = covered;
    return this.cached;
  }

  invalidate(): void {
    this.cached = undefined;
    this.held = undefined;
  }
}

function sameHolds(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] === a[k]);
}
