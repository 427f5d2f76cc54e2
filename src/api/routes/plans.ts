/**
 * Plans (deploy, recovery, update) with their phases and steps; each step's status and reason say what
 * the scheduler waits for. Controls: pause, resume, force-complete a step.
 */
import type { FastifyPluginCallback } from 'fastify';
import type { RouteOptions } from './context.js';

interface PlanParams {
  name: string;
}

export const planRoutes: FastifyPluginCallback<RouteOptions> = (app, { service }, done) => {
  app.get('/plans', async () => service.plans());

  app.get<{ Params: PlanParams }>('/plans/:name', async (req) => service.plan(req.params.name));

  app.post<{ Params: PlanParams }>('/plans/:name/pause', async (req) => ({ plan: await service.pausePlan(req.params.name) }));

  app.post<{ Params: PlanParams }>('/plans/:name/resume', async (req) => ({ plan: await service.resumePlan(req.params.name) }));

  app.post<{ Params: PlanParams; Body: { unit?: unknown } | undefined }>('/plans/:name/force-complete', async (req) => ({
    plan: await service.forceComplete(req.params.name, req.body?.unit),
  }));
  done();
};
