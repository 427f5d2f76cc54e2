/**
 * Kafka topics, through the cluster's brokers. 404 without a cluster; 503 while no broker answers.
 *
 *   GET    /api/v1/topics            names (internal topics left out)
 *   POST   /api/v1/topics            {"name", "partitions", "replicationFactor", "configs"?}
 *   GET    /api/v1/topics/{name}     partitions, leaders, ISR, configs
 *   DELETE /api/v1/topics/{name}
 */
import { z } from 'zod';
import { defineRoute, type ApiRoute } from '../route.js';
import type { ApiDeps } from './context.js';

const TopicSchema = z.looseObject({ name: z.string(), internal: z.boolean(), replicationFactor: z.int(), partitions: z.array(z.looseObject({})) }).meta({ id: 'Topic' });
const NameParams = z.object({ name: z.string().min(1).max(249) });
const CreateTopicSchema = z.strictObject({
  name: z.string().min(1).max(249),
  partitions: z.int().min(1).max(10_000),
  replicationFactor: z.int().min(1).max(32),
  configs: z.record(z.string(), z.string()).optional(),
});

export function topicRoutes({ service }: ApiDeps): ApiRoute[] {
  const kafka = service.kafka;
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/topics',
      operationId: 'listTopics',
      summary: 'List topics',
      tags: ['kafka'],
      access: 'read',
      errors: [404],
      responses: { 200: { description: 'Topic names', schema: z.looseObject({ topics: z.array(z.string()) }) } },
      handler: async () => ({ body: { topics: await kafka.listTopics() } }),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/topics',
      operationId: 'createTopic',
      summary: 'Create a topic',
      tags: ['kafka'],
      access: 'admin',
      body: CreateTopicSchema,
      errors: [404, 409],
      responses: { 201: { description: 'The topic', schema: TopicSchema } },
      handler: async ({ body }) => ({
        status: 201,
        body: await kafka.createTopic({ name: body.name, partitions: body.partitions, replicationFactor: body.replicationFactor, ...(body.configs === undefined ? {} : { configs: body.configs }) }),
        audit: `created topic ${body.name}`,
      }),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/topics/{name}',
      operationId: 'getTopic',
      summary: 'Describe a topic',
      tags: ['kafka'],
      access: 'read',
      params: NameParams,
      errors: [404],
      responses: { 200: { description: 'The topic', schema: TopicSchema } },
      handler: async ({ params }) => ({ body: await kafka.describeTopic(params.name) }),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/topics/{name}',
      operationId: 'deleteTopic',
      summary: 'Delete a topic',
      tags: ['kafka'],
      access: 'admin',
      params: NameParams,
      errors: [404],
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ params }) => {
        await kafka.deleteTopic(params.name);
        return { status: 204, audit: `deleted topic ${params.name}` };
      },
    }),
  ];
}
