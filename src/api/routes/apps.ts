/**
 * Apps: N instances of a command (src/runtime/apps.ts has the spec).
 *
 *   GET    /api/v1/apps                                   list
 *   POST   /api/v1/apps                                   create (201; 409 if the name exists)
 *   GET    /api/v1/apps/:name                             one app with its instances and their task ids
 *   PUT    /api/v1/apps/:name                             replace the spec (changed instances restart one by one)
 *   DELETE /api/v1/apps/:name                             stop every instance, then forget the app (202; 204 if already gone)
 *   POST   /api/v1/apps/:name/scale   {"instances": N}    scale up or down (highest indexes go first)
 *   POST   /api/v1/apps/:name/instances/:index/restart    kill and relaunch in place
 *   POST   /api/v1/apps/:name/instances/:index/replace    kill and relaunch elsewhere, fresh volume
 */
import type { FastifyPluginCallback } from 'fastify';
import { KmfError } from '../../util/errors.js';
import type { RouteOptions } from './context.js';

interface AppParams {
  name: string;
}

interface InstanceParams extends AppParams {
  index: string;
}

function index(v: string): number {
  if (!/^(0|[1-9]\d*)$/.test(v)) throw new KmfError('invalid_argument', `instance index "${v}" is not a non-negative integer`);
  return Number(v);
}

export const appRoutes: FastifyPluginCallback<RouteOptions> = (app, { service }, done) => {
  app.get('/apps', async () => service.listApps());

  app.post<{ Body: unknown }>('/apps', async (req, reply) => {
    const created = await service.deployApp(req.body);
    await reply.code(201).header('location', `/api/v1/apps/${created.name}`).send({ app: created });
  });

  app.get<{ Params: AppParams }>('/apps/:name', async (req) => service.getApp(req.params.name));

  app.put<{ Params: AppParams; Body: unknown }>('/apps/:name', async (req) => ({ app: await service.updateApp(req.params.name, req.body) }));

  app.delete<{ Params: AppParams }>('/apps/:name', async (req, reply) => {
    const removing = await service.removeApp(req.params.name);
    if (removing === undefined) await reply.code(204).send();
    else await reply.code(202).send({ app: removing });
  });

  app.post<{ Params: AppParams; Body: { instances?: unknown } | undefined }>('/apps/:name/scale', async (req) => {
    const body = req.body;
    if (typeof body !== 'object' || body === null || !('instances' in body)) {
      throw new KmfError('invalid_argument', 'the body must be {"instances": N}');
    }
    return { app: await service.scaleApp(req.params.name, body.instances) };
  });

  app.post<{ Params: InstanceParams }>('/apps/:name/instances/:index/restart', async (req, reply) => {
    await service.restartInstance(req.params.name, index(req.params.index));
    await reply.code(202).send({ accepted: true });
  });

  app.post<{ Params: InstanceParams }>('/apps/:name/instances/:index/replace', async (req, reply) => {
    await service.replaceInstance(req.params.name, index(req.params.index));
    await reply.code(202).send({ accepted: true });
  });
  done();
};
