/**
 * Probes and machine-readable descriptions, at the root:
 *   GET /health        200 while the process serves (liveness; no token)
 *   GET /ready         200 on the instance that leads and is subscribed to Mesos, else 503 (readiness; no token)
 *   GET /metrics       Prometheus text (read token)
 *   GET /openapi.json  this API as OpenAPI 3.1 (read token)
 */
import { z } from 'zod';
import { defineRoute, type ApiRoute } from '../route.js';
import type { ApiDeps } from './context.js';

const ReadySchema = z.looseObject({ ready: z.boolean(), role: z.string(), reason: z.string().optional() }).meta({ id: 'Ready' });

export function probeRoutes({ service, prometheus, openapi }: ApiDeps): ApiRoute[] {
  const tags = ['probes'];
  return [
    defineRoute({
      method: 'GET',
      path: '/health',
      operationId: 'health',
      summary: 'Liveness: the process serves',
      tags,
      access: 'public',
      responses: { 200: { description: 'Alive', schema: z.looseObject({ status: z.literal('ok'), role: z.string() }) } },
      handler: () => ({ body: { status: 'ok', role: service.ready().role } }),
    }),
    defineRoute({
      method: 'GET',
      path: '/ready',
      operationId: 'ready',
      summary: 'Readiness: this instance leads and is subscribed to Mesos',
      description: '200 on the instance that does the work; 503 on standbys and while (re)subscribing. Route operator traffic and alerts to the ready instance.',
      tags,
      access: 'public',
      responses: {
        200: { description: 'Leading and subscribed', schema: ReadySchema },
        503: { description: 'Not ready: a standby, starting, loading its state, or not subscribed (reason says which)', schema: ReadySchema },
      },
      handler: () => {
        const r = service.ready();
        return { status: r.ready ? 200 : 503, body: r };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      description: 'Tasks by state, offers received / declined / used, launch latency, reconciliation time, ZooKeeper latency, plan progress, Mesos connection state, API requests.',
      tags,
      access: 'read',
      responses: { 200: { description: 'Prometheus text format 0.0.4', schema: z.string(), contentType: 'text/plain' } },
      handler: async () => ({ body: await prometheus.render(), contentType: prometheus.contentType }),
    }),
    defineRoute({
      method: 'GET',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This API as an OpenAPI 3.1 document',
      tags,
      access: 'read',
      responses: { 200: { description: 'The OpenAPI document', schema: z.looseObject({ openapi: z.string() }) } },
      handler: () => ({ body: openapi() }),
    }),
  ];
}
