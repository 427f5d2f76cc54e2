/**
 * Kafka topics, through the cluster's brokers. 404 without a cluster; 503 while no broker answers.
 *
 *   GET    /api/v1/topics            names (internal topics left out)
 *   POST   /api/v1/topics            {"name", "partitions", "replicationFactor", "configs"?}
 *   GET    /api/v1/topics/{name}     partitions, leaders, ISR, configs
 *   DELETE /api/v1/topics/{name}
 *   POST   /api/v1/topics/{name}/partitions  {"partitions": N}: grow to N partitions (Kafka cannot shrink)
 *   PATCH  /api/v1/topics/{name}/config      {"configs": {"retention.ms": "86400000", "cleanup.policy": null}}:
 *                                            set values, null resets one to the broker's default
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

const CONFIG_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const AddPartitionsSchema = z.strictObject({
  partitions: z.int().min(1).max(10_000).meta({ description: 'The new total number of partitions (above the current one)' }),
});
const UpdateConfigSchema = z.strictObject({
  configs: z
    .record(z.string().regex(CONFIG_NAME, { error: 'must be a topic config name such as retention.ms' }), z.string().max(4096).nullable())
    .refine((c) => Object.keys(c).length > 0, { error: 'must name at least one config' })
    .meta({ description: 'Config name → new value, or null to remove the override' }),
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
      method: 'POST',
      path: '/api/v1/topics/{name}/partitions',
      operationId: 'addTopicPartitions',
      summary: 'Add partitions to a topic',
      description: 'Grows the topic to the given total number of partitions (Kafka cannot remove partitions: a count not above the current one is 400).',
      tags: ['kafka'],
      access: 'admin',
      params: NameParams,
      body: AddPartitionsSchema,
      errors: [404],
      responses: { 200: { description: 'The topic with its new partitions', schema: TopicSchema } },
      handler: async ({ params, body }) => ({
        body: await kafka.addPartitions(params.name, body.partitions),
        audit: `grew topic ${params.name} to ${body.partitions} partitions`,
      }),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/api/v1/topics/{name}/config',
      operationId: 'updateTopicConfig',
      summary: 'Change topic configs',
      description: 'Sets the given configs on the topic; null removes an override (the broker default applies again). Other overrides are kept.',
      tags: ['kafka'],
      access: 'admin',
      params: NameParams,
      body: UpdateConfigSchema,
      errors: [404],
      responses: { 200: { description: 'The topic with its configs', schema: TopicSchema } },
      handler: async ({ params, body }) => ({
        body: await kafka.updateTopicConfigs(params.name, body.configs),
        audit: `changed configs of topic ${params.name}: ${Object.entries(body.configs)
          .map(([k, v]) => (v === null ? `${k} reset` : `${k}=${v}`))
          .join(', ')}`,
      }),
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
