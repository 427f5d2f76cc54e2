/**
 * How an admin API route is declared: once, with zod schemas for its path parameters, query and body and
 * a description of its responses. The same declaration
 *   - validates requests (before the handler runs, so a rejected request changes nothing),
 *   - types the handler's inputs,
 *   - says who may call it (`public`, `read`, `admin`),
 *   - and produces the route's entry in /openapi.json (src/api/openapi.ts).
 *
 * A resource is one small module under ./routes exporting `xyzRoutes(deps): ApiRoute[]`; src/api/routes/index.ts
 * lists the modules. Paths are written in OpenAPI form (`/api/v1/apps/{name}`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { KmfError } from '../util/errors.js';
import { invalidRequest, parsePart } from './validation.js';

export type Access = 'public' | 'read' | 'admin';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Who made a request: the name of the token it carried and that token's role. */
export interface Caller {
  name: string;
  role: 'admin' | 'read';
}

export interface ResponseDoc {
  description: string;
  /** JSON body schema (omit for an empty body). */
  schema?: z.ZodType;
  /** Defaults to application/json. */
  contentType?: string;
}

export interface HandlerContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Undefined only on public routes. */
  caller: Caller | undefined;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteResult {
  /** Default 200. */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Content type of a non-JSON body (e.g. Prometheus text). */
  contentType?: string;
  /** For a change: what was done, in words, for the timeline (e.g. `deployed app web (2 instances)`). */
  audit?: string;
  /** The unit the change concerns, for timeline filters. */
  auditUnit?: string;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteDoc {
  method: HttpMethod;
  /** OpenAPI form: `/api/v1/apps/{name}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  access: Access;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Error code of a body that fails validation (default `invalid_request`). */
  invalidCode?: string;
  /** Successful answers. */
  responses: Readonly<Record<number, ResponseDoc>>;
  /** Error statuses this route may answer besides the common ones (400, 401, 403, 413, 415, 503). */
  errors?: readonly number[];
}

export interface RouteDef<P extends z.ZodObject | undefined, Q extends z.ZodObject | undefined, B extends z.ZodType | undefined> extends RouteDoc {
  params?: P;
  query?: Q;
  body?: B;
  handler: (ctx: HandlerContext<Out<P>, Out<Q>, Out<B>>) => Promise<RouteResult> | RouteResult;
}

export interface ApiRoute {
  readonly doc: RouteDoc;
  /** Validates the raw inputs, then runs the handler. Throws KmfError (400) with every problem found. */
  run(raw: { params: unknown; query: unknown; body: unknown }, ctx: Omit<HandlerContext<unknown, unknown, unknown>, 'params' | 'query' | 'body'>): Promise<RouteResult>;
}

function isEmptyBody(body: unknown): boolean {
  return body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
}

export function defineRoute<P extends z.ZodObject | undefined = undefined, Q extends z.ZodObject | undefined = undefined, B extends z.ZodType | undefined = undefined>(
  def: RouteDef<P, Q, B>,
): ApiRoute {
  const { handler, ...doc } = def;
  return {
    doc,
    async run(raw, ctx) {
      const issues: string[] = [];
      const parse = (schema: z.ZodType | undefined, part: 'params' | 'query' | 'body', input: unknown): unknown => {
        if (schema === undefined) return undefined;
        const r = parsePart(schema, part, input);
        if (r.ok) return r.value;
        issues.push(...r.issues);
        return undefined;
      };
      const params = parse(def.params, 'params', raw.params ?? {});
      const query = parse(def.query, 'query', raw.query ?? {});
      if (def.query === undefined && typeof raw.query === 'object' && raw.query !== null) {
        for (const k of Object.keys(raw.query)) issues.push(`unknown query parameter "${k}" (this operation takes none)`);
      }
      let body: unknown;
      if (def.body !== undefined) body = parse(def.body, 'body', raw.body);
      else if (!isEmptyBody(raw.body)) issues.push('this operation takes no request body: send none (or {})');
      if (issues.length > 0) {
        // Path parameters that do not parse name nothing that exists: 404 (e.g. /brokers/abc).
        const paramOnly = def.params !== undefined && issues.every((i) => i.startsWith('path parameter'));
        if (paramOnly) throw new KmfError('not_found', `no such resource: ${issues.join('; ')}`, { details: { issues } });
        const bodyIssue = issues.some((i) => !i.startsWith('query parameter') && !i.startsWith('path parameter'));
        throw invalidRequest(bodyIssue ? (def.invalidCode ?? 'invalid_request') : 'invalid_request', issues);
      }
      return await handler({ ...ctx, params: params as Out<P>, query: query as Out<Q>, body: body as Out<B> });
    },
  };
}

/** `/api/v1/apps/{name}` → `/api/v1/apps/:name` */
export function fastifyPath(openApiPath: string): string {
  return openApiPath.replace(/\{([^}]+)\}/g, ':$1');
}
