/**
 * A scripted stand-in for the Mesos scheduler client (the runtime's `MesosDriver`): the test (or benchmark)
 * emits events and connection changes, and reads back the calls the runtime made, in order. Calls resolve
 * at once unless `failNext` says otherwise.
 */
import type { ClientState, ConnectionChange } from '../../src/mesos/client.js';
import type { Call, Event, Offer, TaskState, TaskStatus } from '../../src/mesos/types.js';
import type { MesosDriver } from '../../src/runtime/mesos-driver.js';
import { KmfError } from '../../src/util/errors.js';

export interface RecordedCall {
  call: Call;
  at: number;
}

export class FakeDriver implements MesosDriver {
  state: ClientState = 'idle';
  masterUrl: string | undefined = 'http://fake-master:5050/api/v1/scheduler';
  readonly calls: RecordedCall[] = [];
  readonly callListeners: Array<(c: Call) => void> = [];
  private readonly events = new Set<(e: Event) => void>();
  private readonly conns = new Set<(c: ConnectionChange) => void>();
  private failures: KmfError[] = [];
  stopped = false;

  constructor(
    readonly frameworkId: string,
    private readonly log?: string[],
  ) {}

  onEvent(listener: (event: Event) => void): () => void {
    this.events.add(listener);
    return () => this.events.delete(listener);
  }

  onConnection(listener: (change: ConnectionChange) => void): () => void {
    this.conns.add(listener);
    return () => this.conns.delete(listener);
  }

  start(): void {
    this.state = 'subscribing';
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    return Promise.resolve();
  }

  /** The next calls fail with these errors (in order). */
  failNext(...errors: KmfError[]): void {
    this.failures.push(...errors);
  }

  call(call: Call): Promise<void> {
    this.calls.push({ call, at: performance.now() });
    this.log?.push(`call:${call.type ?? '?'}`);
    for (const l of this.callListeners) l(call);
    const err = this.failures.shift();
    return err === undefined ? Promise.resolve() : Promise.reject(err);
  }

  revive(): Promise<void> {
    return this.call({ type: 'REVIVE', revive: { roles: [] } });
  }

  suppress(): Promise<void> {
    return this.call({ type: 'SUPPRESS', suppress: { roles: [] } });
  }

  subscribe(): void {
    this.state = 'subscribed';
    this.emitConnection({
      type: 'subscribed',
      frameworkId: { value: this.frameworkId },
      streamId: 'stream-1',
      masterUrl: this.masterUrl ?? '',
      heartbeatIntervalSeconds: 15,
      masterInfo: undefined,
      resubscribed: false,
    });
    this.emit({ type: 'SUBSCRIBED', subscribed: { framework_id: { value: this.frameworkId } } });
  }

  disconnect(): void {
    this.state = 'waiting';
    this.emitConnection({ type: 'disconnected', reason: 'test', error: new KmfError('MESOS_STREAM_CLOSED', 'test'), retryInMs: 10, masterUrl: this.masterUrl });
  }

  emitConnection(c: ConnectionChange): void {
    for (const l of [...this.conns]) l(c);
  }

  emit(e: Event): void {
    for (const l of [...this.events]) l(e);
  }

  callsOf(type: NonNullable<Call['type']>): Call[] {
    return this.calls.filter((c) => c.call.type === type).map((c) => c.call);
  }
}

let offerCounter = 0;

/** An offer of unreserved resources on one agent. */
export function offer(agent: string, res: { cpus: number; mem: number; disk?: number; ports?: [number, number] }, frameworkId = 'fw-1'): Offer {
  offerCounter++;
  return {
    id: { value: `offer-${offerCounter}` },
    framework_id: { value: frameworkId },
    agent_id: { value: agent },
    hostname: `${agent}.example`,
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: res.cpus } },
      { name: 'mem', type: 'SCALAR', scalar: { value: res.mem } },
      { name: 'disk', type: 'SCALAR', scalar: { value: res.disk ?? 1000 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: res.ports?.[0] ?? 31000, end: res.ports?.[1] ?? 31100 }] } },
    ],
  };
}

let uuidCounter = 0;

/** A status update as an agent sends it (with a uuid, so it must be acknowledged). */
export function update(taskId: string, agent: string, state: TaskState, extra: Partial<TaskStatus> = {}): Event {
  uuidCounter++;
  const uuid = Buffer.alloc(16);
  uuid.writeUInt32BE(uuidCounter, 12);
  return {
    type: 'UPDATE',
    update: { status: { task_id: { value: taskId }, agent_id: { value: agent }, state, source: 'SOURCE_EXECUTOR', uuid, ...extra } },
  };
}
