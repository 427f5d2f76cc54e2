/**
 * One error shape for the admin API: `{"error": code, "message": text, "details": {...}}`, with the HTTP
 * status derived from the error's code. Bad input is 4xx and changes nothing (validation runs before any
 * handler); a follower asked for a change answers 307 with the leader's URL (same path and method, so
 * `curl -L` or any client that follows 307 resends it there); no leader is 503 with Retry-After.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { QueueClosedError } from '../runtime/event-queue.js';
import { KmfError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

export interface ApiErrorBody {
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

export const ErrorBodySchema = z
  .looseObject({
    error: z.string().meta({ description: 'A stable, machine-readable code, e.g. invalid_request, not_found, conflict' }),
    message: z.string().meta({ description: 'What was wrong and how to fix it' }),
    details: z.record(z.string(), z.unknown()).optional().meta({ description: 'Structured details, e.g. issues: one sentence per invalid field' }),
  })
  .meta({ id: 'Error' });

/** Error code → HTTP status. Codes not listed are internal errors (500). */
const STATUS: Readonly<Record<string, number>> = {
  invalid_request: 400,
  invalid_app: 400,
  invalid_argument: 400,
  invalid_json: 400,
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  app_exists: 409,
  app_removing: 409,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_leader: 307,
  no_leader: 503,
  not_ready: 503,
  unavailable: 503,
  fenced: 503,
  leadership_changed: 503,
};

/**
 * The status of an error code: the table above, else by convention of the code's form, so that a new
 * module's codes map without touching this file: a code with the word `invalid` (`invalid_x`, `x_invalid`,
 * `x_invalid_request`) → 400, `*_not_found` → 404, `*_exists` / `*_conflict` / `*_busy` → 409,
 * `*_unavailable` / `*_unreachable` / `*_timeout` (a backend such as the Kafka cluster cannot be reached:
 * retry later) → 503; anything else is a 500.
 */
export function statusOf(code: string): number {
  const known = STATUS[code];
  if (known !== undefined) return known;
  if (/(^|_)invalid(_|$)/.test(code)) return 400;
  if (/_not_found$/.test(code)) return 404;
  if (/_(exists|conflict|busy)$/.test(code)) return 409;
  if (/_(unavailable|unreachable|timeout)$/.test(code)) return 503;
  return 500;
}

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && typeof (err as { statusCode?: unknown }).statusCode === 'number';
}

function leaderLocation(leader: unknown, url: string): string | undefined {
  if (typeof leader !== 'string' || leader === '') return undefined;
  try {
    return new URL(url, leader.endsWith('/') ? leader : `${leader}/`).href;
  } catch {
    return undefined;
  }
}

function kib(n: number): string {
  return n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`;
}

/** Fastify's own 4xx (body parsing, content type, size) in the API's shape, with what to do about it. */
function fromFastify(err: FastifyError, bodyLimit: number): { status: number; body: ApiErrorBody } {
  const status = err.statusCode ?? 400;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { error: 'payload_too_large', message: `the request body is larger than the limit of ${kib(bodyLimit)}`, details: { limitBytes: bodyLimit } } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { error: 'unsupported_media_type', message: 'send the body as JSON with "Content-Type: application/json"' } };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: { error: 'invalid_json', message: 'the body is empty but Content-Type says JSON: send a JSON document, or no Content-Type for an operation without a body' } };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: { error: 'bad_request', message: 'the Content-Length header does not match the body' } };
    default:
      break;
  }
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { status: 400, body: { error: 'invalid_json', message: `the body is not valid JSON: ${err.message}` } };
  }
  if (status === 413) return { status, body: { error: 'payload_too_large', message: err.message } };
  if (status === 415) return { status, body: { error: 'unsupported_media_type', message: err.message } };
  if (status === 404) return { status, body: { error: 'not_found', message: err.message } };
  // e.g. a __proto__ key (prototype poisoning), a malformed URL
  return { status, body: { error: 'bad_request', message: err.message } };
}

export function errorHandler(log: Logger, bodyLimit: number): (err: unknown, req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (err, req, reply) => {
    let status: number;
    let body: ApiErrorBody;
    if (err instanceof QueueClosedError) {
      status = 503;
      body = { error: 'leadership_changed', message: 'this instance stopped leading while handling the request; it may or may not have been applied: check, then retry' };
    } else if (err instanceof KmfError) {
      status = statusOf(err.code);
      body = { error: err.code, message: err.message };
      if (err.details !== undefined) body.details = err.details;
      if (status === 500) log.error('request failed', { method: req.method, url: req.url, code: err.code, error: err.message });
    } else if (isFastifyError(err) && err.statusCode !== undefined && err.statusCode < 500) {
      ({ status, body } = fromFastify(err, bodyLimit));
    } else {
      status = 500;
      body = { error: 'internal', message: 'internal error; the scheduler log has the details' };
      log.error('request failed unexpectedly', { method: req.method, url: req.url, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
    if (status === 307) {
      const location = leaderLocation(body.details?.['leader'], req.url);
      if (location === undefined) {
        status = 503;
        body = { error: 'no_leader', message: body.message };
      } else {
        void reply.header('location', location);
      }
    }
    if (status === 503) void reply.header('retry-after', '2');
    await reply.code(status).send(body);
  };
}

export async function notFoundHandler(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const path = req.url.split('?')[0] ?? '';
  await reply.code(404).send({
    error: 'not_found',
    message: `no route for ${req.method} ${path}; GET /openapi.json lists every operation`,
  });
}
