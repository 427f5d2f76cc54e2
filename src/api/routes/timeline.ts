/**
 * `GET /api/v1/timeline?after=SEQ&limit=N&unit=NAME`: the leader's recent events (launches, failures,
 * escalations, reconciliation, leadership), oldest first; page with `after` = the last `seq` seen.
 */
import type { FastifyPluginCallback } from 'fastify';
import { KmfError } from '../../util/errors.js';
import type { RouteOptions } from './context.js';

function intParam(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new KmfError('invalid_argument', `${name} must be a non-negative integer`);
  return n;
}

export const timelineRoutes: FastifyPluginCallback<RouteOptions> = (app, { service }, done) => {
  app.get<{ Querystring: { after?: string; limit?: string; unit?: string } }>('/timeline', (req, reply) => {
    const opts: { after?: number; limit?: number; unit?: string } = {};
    const after = intParam('after', req.query.after);
    const limit = intParam('limit', req.query.limit);
    if (after !== undefined) opts.after = after;
    if (limit !== undefined) opts.limit = limit;
    if (req.query.unit !== undefined && req.query.unit !== '') opts.unit = req.query.unit;
    return reply.send(service.timeline(opts));
  });
  done();
};
