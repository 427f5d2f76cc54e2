/**
 * Cluster-level configuration of the Kafka cluster: server.properties overrides of every node, broker and
 * controller resources, JVM options, version. A change is written to the desired state and rolled by the
 * update plan (GET /api/v1/plans/update): one node at a time, controllers first and the active controller
 * last, each only when stopping it keeps every partition at or above min.insync.replicas, the next only once
 * the ISR has recovered (docs/kafka.md "Rolling changes").
 *
 *   GET   /api/v1/cluster/config    the configuration and the roll in progress, if any
 *   PATCH /api/v1/cluster/config    {set?, remove?, version?, brokers?, controllers?, force?}: set or remove keys
 *   PUT   /api/v1/cluster/config    {overrides, version?, brokers?, controllers?, force?}: replace the override map
 *
 * 409 while an earlier roll of the cluster is still going, unless force is true (body or query).
 */
import { z } from 'zod';
import type { NodeResources } from '../../kafka/cluster-model.js';
import type { ClusterConfigUpdate } from '../../runtime/kafka-service.js';
import { defineRoute, type ApiRoute } from '../route.js';
import { forceParam } from '../schemas.js';
import type { ApiDeps } from './context.js';

const ResourcesSchema = z.looseObject({
  cpus: z.number(),
  memMb: z.number(),
  heapMb: z.number(),
  diskMb: z.number(),
  jvmOpts: z.string().optional(),
});

const ClusterConfigSchema = z
  .looseObject({
    name: z.string(),
    clusterId: z.string(),
    version: z.string(),
    servedVersion: z.string().optional(),
    overrides: z.record(z.string(), z.string()),
    defaults: z.record(z.string(), z.string()),
    brokers: z.looseObject({ resources: ResourcesSchema, count: z.int() }),
    controllers: z.looseObject({ mode: z.string(), quorum: z.string(), nodeIds: z.array(z.int()), resources: ResourcesSchema, overrides: z.record(z.string(), z.string()) }),
    killGracePeriodSeconds: z.looseObject({ broker: z.number(), controller: z.number() }),
    roll: z.looseObject({ inProgress: z.boolean(), paused: z.boolean(), pending: z.array(z.string()) }).meta({ description: 'Units the update plan still rolls' }),
    allowUnsatisfiableRolls: z.boolean().meta({ description: 'Rolls may stop brokers of partitions whose replication factor is not above min.insync.replicas' }),
    updatedAt: z.string(),
  })
  .meta({ id: 'ClusterConfig' });

const ResourcePatch = z.strictObject({
  cpus: z.number().positive().optional(),
  mem: z.number().positive().optional().meta({ description: 'MB: heap plus at least 256 MB of JVM non-heap memory' }),
  heap: z.int().positive().optional().meta({ description: '-Xms/-Xmx, MB' }),
  disk: z.number().positive().optional().meta({ description: 'Data disk, MB (not on persistent volumes: they keep their size)' }),
  jvmOpts: z.string().optional().meta({ description: 'Replaces the distribution\'s GC flags; "" removes them' }),
});

const VERSION = z.string().regex(/^\d+\.\d+\.\d+$/, { error: 'must look like 4.1.1' });
const KEY = z.string().min(1).max(250);

const common = {
  version: VERSION.optional().meta({ description: 'Kafka version of every node (must be the one this scheduler serves)' }),
  brokers: ResourcePatch.optional().meta({ description: 'Broker resources (and combined nodes\')' }),
  controllers: ResourcePatch.optional().meta({ description: 'Dedicated controllers\' resources' }),
  force: z.boolean().optional().meta({ description: 'Change it even while an earlier roll of the cluster is still going' }),
  allowUnsatisfiableRolls: z
    .boolean()
    .optional()
    .meta({ description: 'Let rolls stop a broker of partitions whose replication factor is not above min.insync.replicas (e.g. a 1-broker cluster); they are unwritable with acks=all (offline at RF 1) while it is down. Restarts nothing.' }),
};

const PatchSchema = z
  .strictObject({
    set: z.record(KEY, z.string()).optional().meta({ description: 'server.properties overrides to set, e.g. {"log.retention.hours": "72"}' }),
    remove: z.array(KEY).max(500).optional().meta({ description: 'Override keys to remove' }),
    ...common,
  })
  .refine((b) => b.set !== undefined || b.remove !== undefined || b.version !== undefined || b.brokers !== undefined || b.controllers !== undefined || b.allowUnsatisfiableRolls !== undefined, {
    error: 'nothing to change: give set, remove, version, brokers, controllers or allowUnsatisfiableRolls',
  });

const PutSchema = z.strictObject({
  overrides: z.record(KEY, z.string()).meta({ description: 'The whole cluster override map (keys left out are removed)' }),
  ...common,
});

const ForceQuery = z.strictObject({ force: forceParam });

const UpdatedSchema = z.looseObject({ config: ClusterConfigSchema, changes: z.array(z.string()).meta({ description: 'What changed, in words (empty: nothing did, no roll)' }) });

function resources(p: z.output<typeof ResourcePatch> | undefined): Partial<NodeResources> | undefined {
  if (p === undefined) return undefined;
  const r: Partial<NodeResources> = {};
  if (p.cpus !== undefined) r.cpus = p.cpus;
  if (p.mem !== undefined) r.memMb = p.mem;
  if (p.heap !== undefined) r.heapMb = p.heap;
  if (p.disk !== undefined) r.diskMb = p.disk;
  if (p.jvmOpts !== undefined) r.jvmOpts = p.jvmOpts;
  return r;
}

function commonChange(
  body: { version?: string | undefined; brokers?: z.output<typeof ResourcePatch> | undefined; controllers?: z.output<typeof ResourcePatch> | undefined; allowUnsatisfiableRolls?: boolean | undefined },
  force: boolean,
): ClusterConfigUpdate {
  const u: ClusterConfigUpdate = { force };
  if (body.version !== undefined) u.version = body.version;
  if (body.allowUnsatisfiableRolls !== undefined) u.allowUnsatisfiableRolls = body.allowUnsatisfiableRolls;
  const b = resources(body.brokers);
  if (b !== undefined) u.brokerResources = b;
  const c = resources(body.controllers);
  if (c !== undefined) u.controllerResources = c;
  return u;
}

function audit(changes: readonly string[], force: boolean): string {
  if (changes.length === 0) return 'cluster config: nothing changed';
  return `changed the Kafka cluster config: ${changes.join(', ')}${force ? ' (forced)' : ''}`;
}

export function clusterRoutes({ service }: ApiDeps): ApiRoute[] {
  const config = service.kafka.clusterConfig;
  const tags = ['kafka'];
  const description =
    'Nodes whose task changes are rolled by the update plan, one at a time behind the roll gate (min.insync.replicas, ISR recovery, controllers first, active controller last). ' +
    '409 while an earlier roll of the cluster is still going, unless force is true. kmf-owned properties (listeners, node.id, log.dirs …) are refused.';
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/cluster/config',
      operationId: 'getClusterConfig',
      summary: 'The Kafka cluster\'s configuration',
      tags,
      access: 'read',
      errors: [404],
      responses: { 200: { description: 'The configuration and the roll in progress', schema: z.looseObject({ config: ClusterConfigSchema }) } },
      handler: async () => ({ body: { config: await config.get() } }),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/api/v1/cluster/config',
      operationId: 'patchClusterConfig',
      summary: 'Set or remove cluster overrides, change resources or version (rolling)',
      description,
      tags,
      access: 'admin',
      query: ForceQuery,
      body: PatchSchema,
      invalidCode: 'kafka_cluster_invalid',
      errors: [404, 409],
      responses: { 200: { description: 'The new configuration and what changed', schema: UpdatedSchema } },
      handler: async ({ body, query }) => {
        const force = body.force === true || query.force === true;
        const change = commonChange(body, force);
        if (body.set !== undefined) change.set = body.set;
        if (body.remove !== undefined) change.remove = body.remove;
        const r = await config.update(change);
        return { body: r, audit: audit(r.changes, force) };
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/api/v1/cluster/config',
      operationId: 'putClusterConfig',
      summary: 'Replace the cluster overrides, change resources or version (rolling)',
      description,
      tags,
      access: 'admin',
      query: ForceQuery,
      body: PutSchema,
      invalidCode: 'kafka_cluster_invalid',
      errors: [404, 409],
      responses: { 200: { description: 'The new configuration and what changed', schema: UpdatedSchema } },
      handler: async ({ body, query }) => {
        const force = body.force === true || query.force === true;
        const change = commonChange(body, force);
        change.replaceOverrides = body.overrides;
        const r = await config.update(change);
        return { body: r, audit: audit(r.changes, force) };
      },
    }),
  ];
}
