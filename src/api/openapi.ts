/**
 * `GET /openapi.json`: an OpenAPI 3.1 document generated from the route declarations, i.e. from the very
 * zod schemas that validate the requests (JSON Schema 2020-12 through `z.toJSONSchema`). Schemas that carry
 * an `id` (`.meta({ id: 'Plan' })`) become `components/schemas`; everything else is inline. Each operation
 * says the role it needs in `x-kmf-access` and lists the errors it may answer, all in the one error shape.
 *
 * What JSON Schema cannot say (cross-field rules such as "readiness healthy needs a healthCheck") is still
 * checked at request time and answered with a 400; the document is the shape, the 400 the last word.
 */
import { z } from 'zod';
import { ErrorBodySchema } from './errors.js';
import type { ApiRoute, ResponseDoc } from './route.js';

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
  security: Array<Record<string, string[]>>;
  tags: Array<{ name: string; description: string }>;
}

const ERROR_TEXT: Readonly<Record<number, string>> = {
  307: 'This instance is a standby: the change must go to the leader. `Location` has the same operation on the leader.',
  400: 'The request is not valid: `details.issues` has one sentence per problem. Nothing was changed.',
  401: 'No token, or a token this scheduler does not know (`WWW-Authenticate: Bearer`).',
  403: 'The token is read-only and the operation needs an admin token.',
  404: 'No such resource (or no such route).',
  409: 'The operation conflicts with the current state (e.g. a rolling update is under way; retry with force=true to override where offered). Nothing was changed.',
  413: 'The body is larger than the limit.',
  415: 'The body is not JSON (send `Content-Type: application/json`).',
  503: 'No scheduler instance leads right now, or the leader is still loading its state (`Retry-After`).',
};

export const TAGS: ReadonlyArray<{ name: string; description: string }> = [
  { name: 'probes', description: 'Liveness, readiness, metrics and this document (no token needed for the probes)' },
  { name: 'status', description: 'Who leads, the Mesos connection, plans at a glance, endpoints' },
  { name: 'plans', description: 'Deploy, recovery and update plans: phases, steps, and their controls' },
  { name: 'apps', description: 'Kafka Streams (and other) apps: N instances of a command' },
  { name: 'kafka', description: 'The Kafka cluster: brokers, endpoints, topics, the distribution served to agents' },
  { name: 'brokers', description: 'Kafka brokers' },
  { name: 'controllers', description: 'KRaft controllers' },
  { name: 'topics', description: 'Kafka topics' },
  { name: 'cluster', description: 'The Kafka cluster configuration' },
  { name: 'units', description: 'Every unit the scheduler places, with its task' },
  { name: 'events', description: 'The timeline: what kmf decided and why, and who changed what' },
];

class SchemaCollector {
  readonly components: Record<string, Json> = {};
  private readonly texts = new Map<string, string>();

  /** JSON Schema of `schema`, with its named sub-schemas moved to components. */
  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any', reused: 'inline' }) as Json;
    delete json['$schema'];
    const defs = (json['$defs'] ?? {}) as Record<string, Json>;
    delete json['$defs'];
    for (const [name, def] of Object.entries(defs)) this.add(name, rewriteRefs(def) as Json);
    return rewriteRefs(json) as Json;
  }

  private add(name: string, def: Json): void {
    const text = JSON.stringify(def);
    const seen = this.texts.get(name);
    if (seen !== undefined && seen !== text) throw new Error(`two different schemas are both named ${name} in the OpenAPI document`);
    this.texts.set(name, text);
    this.components[name] = def;
  }
}

function rewriteRefs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(rewriteRefs);
  if (v === null || typeof v !== 'object') return v;
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = k === '$ref' && typeof x === 'string' ? x.replace(/^#\/\$defs\//, '#/components/schemas/') : rewriteRefs(x);
  }
  return out;
}

function parameters(c: SchemaCollector, schema: z.ZodObject | undefined, where: 'path' | 'query'): Json[] {
  if (schema === undefined) return [];
  const json = c.convert(schema, 'input');
  const props = (json['properties'] ?? {}) as Record<string, Json>;
  const required = new Set((json['required'] ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => {
    const p: Json = { name, in: where, required: where === 'path' || required.has(name), schema: s };
    if (typeof s['description'] === 'string') p['description'] = s['description'];
    return p;
  });
}

function response(c: SchemaCollector, r: ResponseDoc): Json {
  if (r.schema === undefined) return { description: r.description };
  const contentType = r.contentType ?? 'application/json';
  return { description: r.description, content: { [contentType]: { schema: c.convert(r.schema, 'output') } } };
}

function errorStatuses(route: ApiRoute): number[] {
  const d = route.doc;
  const s = new Set<number>(d.errors ?? []);
  if (d.params !== undefined || d.query !== undefined || d.body !== undefined || d.method !== 'GET') s.add(400);
  if (d.params !== undefined) s.add(404);
  if (d.access !== 'public') {
    s.add(401);
    s.add(503);
  }
  if (d.access === 'admin') {
    s.add(403);
    s.add(307);
  }
  if (d.body !== undefined) {
    s.add(413);
    s.add(415);
  }
  return [...s].sort((a, b) => a - b);
}

export function openApiDocument(routes: readonly ApiRoute[], opts: { version: string }): OpenApiDocument {
  const c = new SchemaCollector();
  const errorRef = { $ref: '#/components/schemas/Error' };
  c.convert(ErrorBodySchema, 'output'); // registers components/schemas/Error
  const paths: OpenApiDocument['paths'] = {};
  const ids = new Set<string>();
  for (const route of routes) {
    const d = route.doc;
    if (ids.has(d.operationId)) throw new Error(`duplicate operationId ${d.operationId}`);
    ids.add(d.operationId);
    const op: Json = {
      operationId: d.operationId,
      summary: d.summary,
      tags: [...d.tags],
      'x-kmf-access': d.access,
    };
    if (d.description !== undefined) op['description'] = d.description;
    const params = [...parameters(c, d.params, 'path'), ...parameters(c, d.query, 'query')];
    if (params.length > 0) op['parameters'] = params;
    if (d.body !== undefined) {
      op['requestBody'] = { required: true, content: { 'application/json': { schema: c.convert(d.body, 'input') } } };
    }
    const responses: Json = {};
    for (const [status, r] of Object.entries(d.responses)) responses[status] = response(c, r);
    for (const status of errorStatuses(route)) {
      if (responses[String(status)] !== undefined) continue;
      const r: Json = { description: ERROR_TEXT[status] ?? 'Error', content: { 'application/json': { schema: errorRef } } };
      if (status === 401) r['headers'] = { 'WWW-Authenticate': { description: 'Bearer realm="kmf"', schema: { type: 'string' } } };
      if (status === 307) r['headers'] = { Location: { description: 'The same operation on the leader', schema: { type: 'string' } } };
      if (status === 503) r['headers'] = { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'string' } } };
      responses[String(status)] = r;
    }
    op['responses'] = responses;
    if (d.access === 'public') op['security'] = [];
    const pathItem = (paths[d.path] ??= {});
    const method = d.method.toLowerCase();
    if (pathItem[method] !== undefined) throw new Error(`two routes for ${d.method} ${d.path}`);
    pathItem[method] = op;
  }
  const used = new Set(routes.flatMap((r) => r.doc.tags));
  return {
    openapi: '3.1.0',
    info: {
      title: 'kmf admin API',
      version: opts.version,
      description:
        'Operate Kafka and Kafka Streams on Mesos through kmf. JSON in and out; every error is {"error", "message", "details"}. ' +
        'Send "Authorization: Bearer TOKEN": an admin token for changes, a read-only token for reads. Changes go to the leading instance ' +
        '(a standby answers 307 with the leader in Location). Every change is recorded on the timeline (GET /api/v1/events) with who made it.',
    },
    paths,
    components: {
      schemas: c.components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'KMF_API_TOKEN (admin) or KMF_API_READ_TOKEN (read-only), or a token of the tokens file' } },
    },
    security: [{ bearer: [] }],
    tags: TAGS.filter((t) => used.has(t.name)),
  };
}
