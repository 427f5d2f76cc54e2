/**
 * The admin HTTP API (fastify), served by every `kmf scheduler` instance. Resources live under `/api/v1`,
 * probes, metrics and the OpenAPI document at the root. Routes are declared in ./routes (one module per
 * resource) with zod schemas; this file wires them: authentication (onRequest, before the body is read),
 * the body size limit, validation, the error shape, the timeline record of every accepted change, and
 * request metrics.
 *
 * Every response carries `X-Kmf-Role` (leader, follower …) so that a caller can tell who answered.
 * TLS: pass `https: {cert, key}` (PEM). Secrets are never logged: not the Authorization header, not bodies.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Metrics } from '../runtime/metrics.js';
import type { SchedulerService } from '../runtime/scheduler-service.js';
import type { Logger } from '../util/log.js';
import { authHook, type ApiAuthConfig } from './auth.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { openApiDocument, type OpenApiDocument } from './openapi.js';
import { PrometheusExporter } from './prometheus.js';
import { fastifyPath, type ApiRoute } from './route.js';
import type { ApiDeps } from './routes/context.js';
import { allRoutes } from './routes/index.js';

export const API_VERSION = '0.1.0';
const MAX_PARAM_LENGTH = 1000;
/** Request bodies are small JSON documents (an app spec is well under 4 KiB). */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

export interface ApiServerOptions {
  service: SchedulerService;
  metrics: Metrics;
  auth: ApiAuthConfig;
  logger: Logger;
  /** Largest request body (default 64 KiB); larger ones get 413. */
  bodyLimit?: number;
  /** Serve HTTPS with this certificate chain and key (PEM). */
  https?: { cert: Buffer; key: Buffer };
  /** Process metrics (CPU, memory, event loop) in /metrics; default true. */
  processMetrics?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    operationId?: string;
  }
}

function frameworkError(err: FastifyError, reply: FastifyReply): void {
  const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
  void reply.code(tooLong ? 404 : 400).send({
    error: tooLong ? 'not_found' : 'bad_request',
    message: tooLong ? `no such resource: a path parameter is longer than ${MAX_PARAM_LENGTH} characters` : 'the URL is not valid (a malformed %-escape?)',
  });
}

function register(app: FastifyInstance, route: ApiRoute, service: SchedulerService): void {
  const d = route.doc;
  app.route({
    method: d.method,
    url: fastifyPath(d.path),
    config: { access: d.access, operationId: d.operationId },
    handler: async (req, reply) => {
      const result = await route.run({ params: req.params, query: req.query, body: req.body }, { caller: req.kmfCaller, request: req, reply });
      const status = result.status ?? 200;
      if (result.audit !== undefined && d.access === 'admin' && status < 300) {
        service.recordOperatorAction(req.kmfCaller?.name ?? 'anonymous', result.audit, result.auditUnit);
      }
      for (const [k, v] of Object.entries(result.headers ?? {})) void reply.header(k, v);
      if (result.contentType !== undefined) void reply.type(result.contentType);
      void reply.code(status);
      return status === 204 || result.body === undefined ? reply.send() : reply.send(result.body);
    },
  });
}

export interface ApiServer {
  app: FastifyInstance;
  routes: readonly ApiRoute[];
  openapi: OpenApiDocument;
  /** Every route fastify registered (method and URL), whoever registered it: must match the document. */
  registered: ReadonlyArray<{ method: string; url: string }>;
}

/** Builds the API (not listening yet). `app.close()` also detaches its metrics from the runtime. */
export async function buildApi(opts: ApiServerOptions): Promise<ApiServer> {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    logger: false,
    bodyLimit,
    return503OnClosing: true,
    exposeHeadRoutes: false,
    // Parameters are short (the longest, a topic name, is 249 characters); a huge one names nothing.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Errors the router finds before any route or hook runs, in the API's shape too.
    frameworkErrors: (err, _req, reply) => frameworkError(err, reply as FastifyReply),
    ...(opts.https === undefined ? {} : { https: { cert: opts.https.cert, key: opts.https.key } }),
  });
  const log = opts.logger;
  const prometheus = new PrometheusExporter(opts.metrics, opts.service, { processMetrics: opts.processMetrics ?? true });
  app.addHook('onClose', (_instance, done) => {
    prometheus.close();
    done();
  });
  const registered: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (r) => {
    for (const method of Array.isArray(r.method) ? r.method : [r.method]) registered.push({ method, url: r.url });
  });
  app.decorateRequest('kmfCaller', undefined);
  app.addHook('onRequest', authHook(opts.auth));
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('x-kmf-role', opts.service.ready().role);
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    prometheus.apiRequest(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    // Changes (and refused attempts) at info with who; reads at debug. Never headers or bodies.
    const level = req.routeOptions.config.access === 'admin' || reply.statusCode === 401 || reply.statusCode === 403 ? 'info' : 'debug';
    log.log(level, 'api request', {
      method: req.method,
      route,
      status: reply.statusCode,
      who: req.kmfCaller?.name,
      ms: Math.round(reply.elapsedTime),
    });
  });
  app.setErrorHandler(errorHandler(log, bodyLimit));
  app.setNotFoundHandler(notFoundHandler);

  // The document describes every route, and one route serves it: built once the routes exist.
  const built: { document?: OpenApiDocument } = {};
  const deps: ApiDeps = {
    service: opts.service,
    prometheus,
    openapi: () => {
      if (built.document === undefined) throw new Error('the OpenAPI document is built before the first request');
      return built.document;
    },
  };
  const routes = allRoutes(deps);
  const document = openApiDocument(routes, { version: API_VERSION });
  built.document = document;
  for (const r of routes) register(app, r, opts.service);
  await app.ready();
  return { app, routes, openapi: document, registered };
}

/** The fastify instance of `buildApi` (what the scheduler listens with). */
export async function buildApiServer(opts: ApiServerOptions): Promise<FastifyInstance> {
  return (await buildApi(opts)).app;
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
