/**
 * One error shape for the admin API: `{"error": code, "message": text, "details": {...}}`, with the HTTP
 * status derived from the error's code. Bad input is 4xx and changes nothing; a follower asked for a
 * change answers 307 with the leader's URL (same path and method, so `curl -L` or any client that follows
 * 307 resends it there); no leader is 503 with Retry-After.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { QueueClosedError } from '../runtime/event-queue.js';
import { KmfError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

export interface ApiErrorBody {
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

const STATUS: Readonly<Record<string, number>> = {
  invalid_app: 400,
  invalid_argument: 400,
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  app_exists: 409,
  app_removing: 409,
  conflict: 409,
  not_leader: 307,
  no_leader: 503,
  not_ready: 503,
  unavailable: 503,
  fenced: 503,
  leadership_changed: 503,
};

export function statusOf(code: string): number {
  return STATUS[code] ?? 500;
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

export function errorHandler(log: Logger): (err: unknown, req: FastifyRequest, reply: FastifyReply) => Promise<void> {
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
      status = err.statusCode;
      const code = status === 415 ? 'unsupported_media_type' : status === 413 ? 'payload_too_large' : status === 404 ? 'not_found' : 'bad_request';
      body = { error: code, message: err.message };
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
  await reply.code(404).send({ error: 'not_found', message: `no route for ${req.method} ${req.url.split('?')[0] ?? ''}` });
}
