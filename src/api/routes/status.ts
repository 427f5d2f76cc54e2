/** `GET /api/v1/status`: who leads, this instance's role, the framework id, the Mesos connection, plans. */
import type { FastifyPluginCallback } from 'fastify';
import type { RouteOptions } from './context.js';

export const statusRoutes: FastifyPluginCallback<RouteOptions> = (app, { service }, done) => {
  app.get('/status', async () => service.status());
  done();
};
