/**
 * `GET /api/v1/status`: who leads, this instance's role, the framework id, the Mesos connection, plans at a
 * glance. `GET /api/v1/units`: every unit the scheduler places, with its task, plan step and last failure.
 */
import { z } from 'zod';
import { defineRoute, type ApiRoute } from '../route.js';
import { SourceSchema, StatusSchema, UnitViewSchema } from '../schemas.js';
import type { ApiDeps } from './context.js';

export function statusRoutes({ service }: ApiDeps): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/status',
      operationId: 'getStatus',
      summary: 'Scheduler status',
      description: 'Framework id, leader, this instance, the Mesos connection, each plan\'s status, counts.',
      tags: ['status'],
      access: 'read',
      responses: { 200: { description: 'Status', schema: StatusSchema } },
      handler: async () => ({ body: await service.status() }),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/units',
      operationId: 'listUnits',
      summary: 'List units',
      description: 'Every unit the scheduler knows (app instances, Kafka nodes), with its current task, plan step and last failure.',
      tags: ['units'],
      access: 'read',
      responses: { 200: { description: 'Units', schema: z.looseObject({ source: SourceSchema, units: z.array(UnitViewSchema) }) } },
      handler: async () => ({ body: await service.units() }),
    }),
  ];
}
