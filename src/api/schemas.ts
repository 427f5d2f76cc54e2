/**
 * zod schemas shared by the routes: what the scheduler answers (plans, units, status, timeline) and small
 * input helpers. Response schemas are loose objects (a newer scheduler may add fields; clients ignore what
 * they do not know) and carry an `id`, so the OpenAPI document names them once in components/schemas.
 * Request schemas are strict: an unknown field is a 400 naming it.
 */
import { z } from 'zod';

// ---- input helpers ------------------------------------------------------------------------------------

/**
 * A query parameter that is a whole number. Query values are strings on the wire: a string of digits
 * becomes a number first, anything else fails as what it is (`must be a whole number (got "x")`).
 */
export function intFromString(min: number, max: number) {
  return z.preprocess(
    (v) => (typeof v === 'string' && /^\s*-?\d{1,16}\s*$/.test(v) ? Number(v) : v),
    z.int({ error: (iss) => (iss.code === 'invalid_type' ? `must be a whole number (got ${JSON.stringify(iss.input)})` : undefined) }).min(min).max(max),
  );
}

export function queryInt(min: number, max: number, description: string) {
  return intFromString(min, max).optional().meta({ description });
}

const TRUE_WORDS = ['true', '1', 'yes', 'on'] as const;
const FALSE_WORDS = ['false', '0', 'no', 'off'] as const;

/**
 * A yes/no query parameter: true/1/yes/on or false/0/no/off. An enum rather than z.stringbool(), so that the
 * OpenAPI document lists exactly the words accepted (a plain string would promise more than the API takes,
 * which schema-driven clients and fuzzers then send).
 */
export function queryBool(description: string) {
  return z
    .enum([...TRUE_WORDS, ...FALSE_WORDS])
    .transform((v) => (TRUE_WORDS as readonly string[]).includes(v))
    .optional()
    .meta({ description });
}

/** `?force=true` (also 1/yes/on; false/0/no/off). */
export const forceParam = queryBool('Do it even though it conflicts with a plan in progress (e.g. a rolling update)');

export const PLAN_NAME = z.enum(['deploy', 'recovery', 'update']).meta({ description: 'Plan name' });

// ---- plans ---------------------------------------------------------------------------------------------

export const StepStatusSchema = z.enum(['PENDING', 'PREPARED', 'STARTING', 'STARTED', 'COMPLETE', 'DELAYED', 'ERROR', 'WAITING']);

export const PlanStepSchema = z
  .looseObject({
    unit: z.string(),
    status: StepStatusSchema,
    reason: z.string().optional().meta({ description: 'Why the step waits, or what went wrong' }),
    recovery: z.enum(['TRANSIENT', 'PERMANENT']).optional(),
    taskId: z.string().optional(),
    until: z.number().optional().meta({ description: 'DELAYED: not before this time (ms since the epoch)' }),
    permanentAt: z.number().optional().meta({ description: 'TRANSIENT recovery of a reserved unit: when it will be replaced elsewhere (ms)' }),
  })
  .meta({ id: 'PlanStep' });

export const PlanPhaseSchema = z
  .looseObject({
    name: z.string(),
    strategy: z.enum(['serial', 'parallel']),
    status: StepStatusSchema,
    steps: z.array(PlanStepSchema),
  })
  .meta({ id: 'PlanPhase' });

export const PlanSchema = z
  .looseObject({
    name: PLAN_NAME,
    status: StepStatusSchema,
    paused: z.boolean(),
    phases: z.array(PlanPhaseSchema),
  })
  .meta({ id: 'Plan' });

export const SourceSchema = z.enum(['leader', 'zookeeper']).meta({ description: 'leader: live state; zookeeper: a standby read what the leader last wrote' });

// ---- units ----------------------------------------------------------------------------------------------

const LastFailureSchema = z.looseObject({
  taskId: z.string(),
  state: z.string(),
  reason: z.string().optional(),
  message: z.string().optional(),
  at: z.number(),
});

export const UnitViewSchema = z
  .looseObject({
    name: z.string(),
    kind: z.string(),
    goal: z.string(),
    state: z.string(),
    plan: z.string().nullable().optional(),
    step: PlanStepSchema.optional(),
    generation: z.number(),
    failures: z.number(),
    version: z.string(),
    task: z
      .looseObject({
        taskId: z.string(),
        state: z.string(),
        agentId: z.string(),
        hostname: z.string(),
        ports: z.record(z.string(), z.number()),
        ready: z.boolean(),
        healthy: z.boolean().optional(),
        version: z.string(),
      })
      .optional(),
    reservation: z.looseObject({ rid: z.string(), hostname: z.string(), volumeId: z.string().optional() }).optional(),
    lastFailure: LastFailureSchema.optional(),
    lastError: z.string().optional(),
    firstFailedAt: z.number().optional(),
    issues: z.array(z.string()),
  })
  .meta({ id: 'Unit' });

// ---- status ---------------------------------------------------------------------------------------------

export const StatusSchema = z
  .looseObject({
    source: SourceSchema,
    instance: z.looseObject({ memberId: z.string(), address: z.string(), role: z.string() }),
    leader: z.looseObject({ memberId: z.string(), address: z.string(), host: z.string(), since: z.string() }).nullable(),
    epoch: z.number().optional(),
    frameworkId: z.string().nullable(),
    mesos: z.looseObject({
      subscribed: z.boolean(),
      state: z.string(),
      masterUrl: z.string().nullable(),
      lastDisconnect: z.string().optional(),
    }),
    plans: z.array(z.looseObject({ name: z.string(), status: StepStatusSchema, paused: z.boolean() })),
    counts: z.looseObject({ apps: z.number(), units: z.number(), tasks: z.number() }),
  })
  .meta({ id: 'Status' });

// ---- timeline -------------------------------------------------------------------------------------------

export const EventSchema = z
  .looseObject({
    seq: z.number().meta({ description: 'Only grows; page with after=<seq>' }),
    at: z.number().meta({ description: 'Milliseconds since the epoch' }),
    kind: z.string().meta({ description: 'launch, kill, failure, decline, operator, …' }),
    message: z.string(),
    unit: z.string().optional(),
    taskId: z.string().optional(),
    who: z.string().optional().meta({ description: 'operator events: the name of the token that made the change' }),
  })
  .meta({ id: 'Event' });

export const EventPageSchema = z
  .looseObject({
    entries: z.array(EventSchema),
    truncated: z.boolean().meta({ description: 'Entries after `after` were already dropped from the (bounded) timeline' }),
    lastSeq: z.number().meta({ description: 'Sequence number of the newest entry overall' }),
    next: z.number().meta({ description: 'Cursor for the next page: pass it as after=' }),
  })
  .meta({ id: 'EventPage' });

/** `{"accepted": true}` for operations that start something asynchronous. */
export const AcceptedSchema = z.looseObject({ accepted: z.literal(true), message: z.string().optional() }).meta({ id: 'Accepted' });
