/**
 * Probes, without authentication: `GET /health` answers 200 while the process serves (liveness: restart
 * it if this fails); `GET /ready` answers 200 only on the instance that leads and is subscribed to Mesos
 * (readiness: route operator traffic and alerts there), 503 elsewhere.
 */
import type { FastifyPluginCallback } from 'fastify';
import type { RouteOptions } from './context.js';

export const healthRoutes: FastifyPluginCallback<RouteOptions> = (app, { service }, done) => {
  app.get('/health', (_req, reply) => reply.send({ status: 'ok', role: service.ready().role }));

  app.get('/ready', async (_req, reply) => {
    const r = service.ready();
    await reply.code(r.ready ? 200 : 503).send(r);
  });
  done();
};
