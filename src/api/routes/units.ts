/** `GET /api/v1/units`: every unit the scheduler knows, with its task, plan step and last failure. */
import type { FastifyPluginCallback } from 'fastify';
import type { RouteOptions } from './context.js';

export const unitRoutes: FastifyPluginCallback<RouteOptions> = (app, { service }, done) => {
  app.get('/units', async () => service.units());
  done();
};
