/**
 * The shapes the CLI reads from the admin API (the API's response schemas, seen from a client: only what
 * the CLI prints, everything else passes through to --json untouched).
 */
export interface PlanStep {
  unit: string;
  status: string;
  reason?: string;
  recovery?: string;
  taskId?: string;
  until?: number;
}

export interface Plan {
  name: string;
  status: string;
  paused: boolean;
  phases: Array<{ name: string; strategy: string; status: string; steps: PlanStep[] }>;
}

export interface InstanceView {
  index: number;
  unit: string;
  goal: string;
  state: string;
  taskId?: string;
  taskState?: string;
  hostname?: string;
  ports?: Record<string, number>;
  step?: { plan: string; status: string; reason?: string };
  lastError?: string;
}

export interface AppView {
  name: string;
  status: string;
  spec: { name: string; instances: number; cpus: number; mem: number; command: string } & Record<string, unknown>;
  instances: InstanceView[];
  createdAt: string;
  updatedAt: string;
}

export interface StatusView {
  source: string;
  instance: { memberId: string; address: string; role: string };
  leader: { memberId: string; address: string; host: string; since: string } | null;
  epoch?: number;
  frameworkId: string | null;
  mesos: { subscribed: boolean; state: string; masterUrl: string | null; lastDisconnect?: string };
  plans: Array<{ name: string; status: string; paused: boolean }>;
  counts: { apps: number; units: number; tasks: number };
}

export interface UnitView {
  name: string;
  kind: string;
  goal: string;
  state: string;
  plan?: string | null;
  step?: PlanStep;
  failures: number;
  task?: { taskId: string; state: string; hostname: string; ports: Record<string, number> };
}

export interface TimelineEntry {
  seq: number;
  at: number;
  kind: string;
  message: string;
  unit?: string;
  taskId?: string;
  who?: string;
}

export interface EventPage {
  entries: TimelineEntry[];
  truncated: boolean;
  lastSeq: number;
  next: number;
}
