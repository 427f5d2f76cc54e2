/**
 * Plans (deploy, recovery, update) with their phases and steps; each step's status and reason say what
 * the scheduler waits for. Controls: pause, resume, abort, force-complete one step.
 *
 * Abort gives up the unfinished steps of a plan (each is force-completed, see docs/core.md): for the
 * update plan, units not rolled yet keep their running task and take the new spec the next time they
 * start; for recovery, the failure episodes end (backoff reset); for deploy, the deploy gates open. The
 * plan is paused first, so nothing new starts while the steps are being completed, and resumed after.
 * Each step is one decision of the scheduler, so a plan of thousands of steps takes a while: the abort
 * answers 202 at once and finishes in the background (a second abort of the same plan meanwhile is 409);
 * `kmf plan abort NAME --wait` follows it.
 */
import { z } from 'zod';
import type { Plan } from '../../core/plans.js';
import type { SchedulerService } from '../../runtime/scheduler-service.js';
import { errorMessage, KmfError } from '../../util/errors.js';
import { defineRoute, type ApiRoute } from '../route.js';
import { PLAN_NAME, PlanSchema, SourceSchema } from '../schemas.js';
import type { ApiDeps } from './context.js';

const PlanParams = z.strictObject({ name: PLAN_NAME });
const PlanEnvelope = z.looseObject({ plan: PlanSchema });
const ForceCompleteSchema = z.strictObject({
  unit: z.string({ error: (iss) => (iss.input === undefined ? 'is required: the unit of the step, e.g. "app-web/0"' : undefined) }).min(1).meta({ description: 'The unit of the step, e.g. app-web/0 or kafka/broker-2' }),
});

/**
 * Changes go to the leader. An abort with nothing left to give up writes nothing, so no service call would
 * refuse it on a standby: it is refused here the same way (307 to the leader, 503 while nobody leads).
 */
async function requireLeader(service: SchedulerService, source: 'leader' | 'zookeeper'): Promise<void> {
  if (source === 'leader') return;
  const st = await service.status();
  if (st.leader === null || st.leader.memberId === st.instance.memberId) {
    throw new KmfError('no_leader', 'no kmf scheduler instance leads right now (an election is under way, or the leader is loading its state); try again in a few seconds', { retriable: true });
  }
  throw new KmfError('not_leader', `this instance is a standby; send changes to the leader at ${st.leader.address}`, { details: { leader: st.leader.address, leaderMemberId: st.leader.memberId } });
}

function unfinished(plan: Plan): string[] {
  return plan.phases.flatMap((ph) => ph.steps).filter((s) => s.status !== 'COMPLETE').map((s) => s.unit);
}

export function planRoutes({ service }: ApiDeps): ApiRoute[] {
  const tags = ['plans'];
  /** Aborts running in the background, by plan. */
  const aborting = new Map<string, Promise<void>>();
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/plans',
      operationId: 'listPlans',
      summary: 'List the plans',
      tags,
      access: 'read',
      responses: { 200: { description: 'Every plan with its phases and steps', schema: z.looseObject({ source: SourceSchema, plans: z.array(PlanSchema) }) } },
      handler: async () => ({ body: await service.plans() }),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/plans/{name}',
      operationId: 'getPlan',
      summary: 'Show a plan',
      tags,
      access: 'read',
      params: PlanParams,
      responses: { 200: { description: 'The plan', schema: z.looseObject({ source: SourceSchema, plan: PlanSchema }) } },
      handler: async ({ params }) => ({ body: await service.plan(params.name) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/plans/{name}/pause',
      operationId: 'pausePlan',
      summary: 'Pause a plan',
      description: 'Steps not started yet wait ("plan paused"); steps in progress finish.',
      tags,
      access: 'admin',
      params: PlanParams,
      responses: { 200: { description: 'The plan', schema: PlanEnvelope } },
      handler: async ({ params }) => ({ body: { plan: await service.pausePlan(params.name) }, audit: `paused the ${params.name} plan` }),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/plans/{name}/resume',
      operationId: 'resumePlan',
      summary: 'Resume a paused plan',
      tags,
      access: 'admin',
      params: PlanParams,
      responses: { 200: { description: 'The plan', schema: PlanEnvelope } },
      handler: async ({ params }) => ({ body: { plan: await service.resumePlan(params.name) }, audit: `resumed the ${params.name} plan` }),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/plans/{name}/abort',
      operationId: 'abortPlan',
      summary: 'Abort a plan: give up every unfinished step',
      description:
        'Every unfinished step is force-completed, in the background (202; GET the plan to follow it). update: units not rolled yet keep their running task ' +
        '(they take the new spec when they next start); recovery: failure episodes end and backoffs reset; deploy: units count as deployed (deploy gates open). ' +
        '409 while an abort of the same plan is still running.',
      tags,
      access: 'admin',
      params: PlanParams,
      errors: [409],
      responses: { 202: { description: 'The abort started; `aborting` lists the steps given up', schema: z.looseObject({ accepted: z.literal(true), plan: PlanSchema, aborting: z.array(z.string()) }) } },
      handler: async ({ params, caller }) => {
        if (aborting.has(params.name)) {
          throw new KmfError('conflict', `an abort of the ${params.name} plan is still running; follow it with GET /api/v1/plans/${params.name}`, { details: { plan: params.name } });
        }
        const { plan, source } = await service.plan(params.name);
        await requireLeader(service, source);
        const steps = unfinished(plan);
        if (steps.length > 0) {
          const pausedByUs = !plan.paused;
          if (pausedByUs) await service.pausePlan(params.name);
          const who = caller?.name ?? 'anonymous';
          const work = (async (): Promise<void> => {
            try {
              await service.forceCompleteAll(params.name, steps);
              service.recordOperatorAction(who, `abort of the ${params.name} plan done: ${steps.length} step(s) given up`);
            } catch (err) {
              service.recordOperatorAction(who, `abort of the ${params.name} plan stopped: ${errorMessage(err)}`);
            } finally {
              if (pausedByUs) await service.resumePlan(params.name).catch(() => undefined);
              aborting.delete(params.name);
            }
          })();
          aborting.set(params.name, work);
        }
        const after = await service.plan(params.name);
        const list = steps.length > 10 ? `${steps.slice(0, 10).join(', ')} and ${steps.length - 10} more` : steps.join(', ');
        return {
          status: 202,
          body: { accepted: true, plan: after.plan, aborting: steps },
          audit: steps.length === 0 ? `aborted the ${params.name} plan (nothing was left to do)` : `aborting the ${params.name} plan: giving up ${list}`,
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/plans/{name}/force-complete',
      operationId: 'forceCompleteStep',
      summary: 'Force-complete one step',
      description:
        'deploy: count the unit as deployed; update: accept the version it runs; recovery: end its failure episode and reset its backoff.',
      tags,
      access: 'admin',
      params: PlanParams,
      body: ForceCompleteSchema,
      errors: [404],
      responses: { 200: { description: 'The plan', schema: PlanEnvelope } },
      handler: async ({ params, body }) => {
        // A unit the plan has no step for names nothing to complete: 404 (and no timeline entry claiming it was done).
        const { plan } = await service.plan(params.name);
        const units = plan.phases.flatMap((ph) => ph.steps.map((s) => s.unit));
        if (!units.includes(body.unit)) {
          const known = units.length === 0 ? 'it has no steps' : `its steps: ${units.slice(0, 10).join(', ')}${units.length > 10 ? ` and ${units.length - 10} more` : ''}`;
          throw new KmfError('not_found', `the ${params.name} plan has no step for unit "${body.unit}" (${known})`, { details: { plan: params.name, unit: body.unit } });
        }
        return {
          body: { plan: await service.forceComplete(params.name, body.unit) },
          audit: `force-completed the ${params.name} step of ${body.unit}`,
          auditUnit: body.unit,
        };
      },
    }),
  ];
}
