/**
 * `GET /artifacts/{file}`: the Kafka tarball the agents' fetchers download (CommandInfo.URI with extract).
 * Public: the Mesos fetcher sends no credentials, and the tarball is the public Apache distribution.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { defineRoute, type ApiRoute } from '../route.js';
import type { ApiDeps } from './context.js';

export function artifactRoutes({ service }: ApiDeps): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/artifacts/{file}',
      operationId: 'getArtifact',
      summary: 'Kafka distribution tarball',
      tags: ['kafka'],
      access: 'public',
      params: z.object({ file: z.string().min(1).max(200) }),
      errors: [404],
      responses: { 200: { description: 'The gzipped tarball', contentType: 'application/gzip' } },
      handler: ({ params }) => {
        const a = service.kafka.artifact(params.file);
        return { body: fs.createReadStream(a.path), contentType: 'application/gzip', headers: { 'content-length': String(a.size) } };
      },
    }),
  ];
}
