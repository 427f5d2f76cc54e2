/**
 * Plans (deploy, recovery, update) with their phases and steps; each step's status and reason say what
 * the scheduler waits for. Controls: pause, resume, abort, force-complete one step.
 *
 * Abort gives up the unfinished steps of a plan at once (each is force-completed, see docs/core.md):
 * for the update plan, units not rolled yet keep their running task and take the new spec the next time
 * they start; for recovery, the failure episodes end (backoff reset); for deploy, the deploy gates open.
 * The plan is paused first, so nothing new starts while the steps are being completed, and resumed after.
 */
import { z } from 'zod';
import type { Plan } from '../../core/plans.js';
import { defineRoute, type ApiRoute } from '../route.js';
import { PLAN_NAME, PlanSchema, SourceSchema } from '../schemas.js';
import type { ApiDeps } from './context.js';

const PlanParams = z.strictObject({ name: PLAN_NAME });
const PlanEnvelope = z.looseObject({ plan: PlanSchema });
const ForceCompleteSchema = z.strictObject({
  unit: z.string({ error: (iss) => (iss.input === undefined ? 'is required: the unit of the step, e.g. "app-web/0"' : undefined) }).min(1).meta({ description: 'The unit of the step, e.g. app-web/0 or kafka/broker-2' }),
});

function unfinished(plan: Plan): string[] {
  return plan.phases.flatMap((ph) => ph.steps).filter((s) => s.status !== 'COMPLETE').map((s) => s.unit);
}

export function planRoutes({ service }: ApiDeps): ApiRoute[] {
  const tags = ['plans'];
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
        'Every unfinished step is force-completed. update: units not rolled yet keep their running task (they take the new spec when they next start); ' +
        'recovery: failure episodes end and backoffs reset; deploy: units count as deployed (deploy gates open).',
      tags,
      access: 'admin',
      params: PlanParams,
      responses: { 200: { description: 'The plan after the abort', schema: z.looseObject({ plan: PlanSchema, aborted: z.array(z.string()) }) } },
      handler: async ({ params }) => {
        const { plan } = await service.plan(params.name);
        const steps = unfinished(plan);
        const wasPaused = plan.paused;
        if (steps.length > 0 && !wasPaused) await service.pausePlan(params.name);
        try {
          for (const unit of steps) await service.forceComplete(params.name, unit);
        } finally {
          if (steps.length > 0 && !wasPaused) await service.resumePlan(params.name);
        }
        const after = await service.plan(params.name);
        return {
          body: { plan: after.plan, aborted: steps },
          audit: steps.length === 0 ? `aborted the ${params.name} plan (nothing was left to do)` : `aborted the ${params.name} plan: gave up ${steps.join(', ')}`,
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
      responses: { 200: { description: 'The plan', schema: PlanEnvelope } },
      handler: async ({ params, body }) => ({
        body: { plan: await service.forceComplete(params.name, body.unit) },
        audit: `force-completed the ${params.name} step of ${body.unit}`,
        auditUnit: body.unit,
      }),
    }),
  ];
}
