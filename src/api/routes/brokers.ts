/**
 * Kafka brokers and how clients reach them.
 *
 *   GET  /api/v1/brokers          every broker with its id, state, task and address
 *   POST /api/v1/brokers          {"count": N, cpus?, mem?, heap?, disk?, jvmOpts?, options?} adds brokers;
 *                                 the first call creates the cluster (layout from the count, docs/kafka.md)
 *   GET  /api/v1/brokers/{id}     one broker
 *   GET  /api/v1/endpoints        bootstrap servers for clients
 */
import { z } from 'zod';
import { defineRoute, type ApiRoute } from '../route.js';
import { intFromString } from '../schemas.js';
import type { ApiDeps } from './context.js';

const BrokerSchema = z
  .looseObject({
    id: z.int(),
    state: z.string().meta({ description: 'running once the broker is registered in the cluster metadata' }),
    goal: z.string(),
    unit: z.string(),
    roles: z.array(z.string()),
    ready: z.boolean(),
    host: z.string().optional(),
    port: z.int().optional(),
    taskId: z.string().optional(),
    taskState: z.string().optional(),
    agentId: z.string().optional(),
    failures: z.int(),
    lastError: z.string().optional(),
  })
  .meta({ id: 'Broker' });

const AddBrokersSchema = z.strictObject({
  count: z.int().min(1).max(100).meta({ description: 'How many brokers to add' }),
  cpus: z.number().positive().optional(),
  mem: z.number().positive().optional().meta({ description: 'MB: heap plus at least 256 MB of JVM non-heap memory' }),
  heap: z.int().positive().optional().meta({ description: '-Xms/-Xmx, MB' }),
  disk: z.number().positive().optional().meta({ description: 'Data disk, MB' }),
  jvmOpts: z.string().optional().meta({ description: 'Replaces the distribution\'s GC flags, e.g. -XX:+UseSerialGC' }),
  options: z.record(z.string(), z.string()).optional().meta({ description: 'server.properties overrides' }),
});

const IdParams = z.object({ id: intFromString(0, 2 ** 31 - 1) });

export function brokerRoutes({ service }: ApiDeps): ApiRoute[] {
  const kafka = service.kafka;
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/brokers',
      operationId: 'listBrokers',
      summary: 'List brokers',
      tags: ['kafka'],
      access: 'read',
      responses: { 200: { description: 'Brokers', schema: z.looseObject({ brokers: z.array(BrokerSchema) }) } },
      handler: async () => ({ body: { brokers: await kafka.listBrokers() } }),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/brokers',
      operationId: 'addBrokers',
      summary: 'Add brokers',
      description: 'Adds brokers; the first call creates the Kafka cluster.',
      tags: ['kafka'],
      access: 'admin',
      body: AddBrokersSchema,
      responses: { 202: { description: 'The brokers added (being deployed)', schema: z.looseObject({ brokers: z.array(BrokerSchema) }) } },
      handler: async ({ body }) => {
        const added = await kafka.addBrokers(body);
        return { status: 202, body: { brokers: added }, audit: `added broker(s) ${added.map((b) => b.id).join(', ')}` };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/brokers/{id}',
      operationId: 'getBroker',
      summary: 'One broker',
      tags: ['kafka'],
      access: 'read',
      params: IdParams,
      errors: [404],
      responses: { 200: { description: 'The broker', schema: BrokerSchema } },
      handler: async ({ params }) => ({ body: await kafka.getBroker(params.id) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/endpoints',
      operationId: 'getEndpoints',
      summary: 'Bootstrap servers',
      tags: ['kafka'],
      access: 'read',
      responses: { 200: { description: 'Bootstrap servers', schema: z.looseObject({ bootstrapServers: z.array(z.string()), bootstrap: z.string() }) } },
      handler: async () => ({ body: await kafka.endpoints() }),
    }),
  ];
}
