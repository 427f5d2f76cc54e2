/** `GET /metrics`: the runtime's counters, gauges and summaries in Prometheus text format. */
import type { FastifyPluginCallback } from 'fastify';
import type { RouteOptions } from './context.js';

export const metricsRoutes: FastifyPluginCallback<RouteOptions> = (app, { metrics }, done) => {
  app.get('/metrics', async (_req, reply) => {
    await reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(metrics.renderPrometheus());
  });
  done();
};
