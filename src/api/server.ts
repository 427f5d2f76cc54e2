/**
 * The admin HTTP API (fastify), served by every `kmf scheduler` instance. One plugin per resource under
 * ./routes; resources live under `/api/v1`, probes and metrics at the root. New resources (brokers,
 * topics …) are new plugins registered here.
 *
 * Every response carries `X-Kmf-Role` (leader, follower …) so that a caller can tell who answered.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from '../runtime/metrics.js';
import type { SchedulerService } from '../runtime/scheduler-service.js';
import type { Logger } from '../util/log.js';
import { authHook, type ApiAuthConfig } from './auth.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { appRoutes } from './routes/apps.js';
import type { RouteOptions } from './routes/context.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { planRoutes } from './routes/plans.js';
import { statusRoutes } from './routes/status.js';
import { timelineRoutes } from './routes/timeline.js';
import { unitRoutes } from './routes/units.js';

export interface ApiServerOptions {
  service: SchedulerService;
  metrics: Metrics;
  auth: ApiAuthConfig;
  logger: Logger;
  /** Largest request body (default 1 MiB). */
  bodyLimit?: number;
}

export async function buildApiServer(opts: ApiServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: opts.bodyLimit ?? 1024 * 1024, return503OnClosing: true });
  const log = opts.logger;
  app.addHook('onRequest', authHook(opts.auth));
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('x-kmf-role', opts.service.ready().role);
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    log.debug('api request', { method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) });
  });
  app.setErrorHandler(errorHandler(log));
  app.setNotFoundHandler(notFoundHandler);

  const routeOpts: RouteOptions = { service: opts.service, metrics: opts.metrics };
  await app.register(healthRoutes, routeOpts);
  await app.register(metricsRoutes, routeOpts);
  await app.register(
    async (v1) => {
      await v1.register(statusRoutes, routeOpts);
      await v1.register(planRoutes, routeOpts);
      await v1.register(unitRoutes, routeOpts);
      await v1.register(appRoutes, routeOpts);
      await v1.register(timelineRoutes, routeOpts);
    },
    { prefix: '/api/v1' },
  );
  return app;
}

/** `HOST:PORT` (IPv6 as `[::1]:8080`); port 0 picks a free one. */
export function parseListenAddress(spec: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(spec.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`"${spec}" is not HOST:PORT (e.g. 0.0.0.0:8080, 127.0.0.1:0 or [::1]:8080)`);
  }
  return { host, port };
}
