/**
 * `GET /artifacts/{file}`: the Kafka tarball the agents' fetchers download (CommandInfo.URI with extract), and
 * the Streams apps' jars (src/streams/artifacts.ts).
 * Public: the Mesos fetcher sends no credentials; only what the operator put up for fetching is served.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { servedArtifacts } from '../../streams/artifacts.js';
import { defineRoute, type ApiRoute } from '../route.js';
import type { ApiDeps } from './context.js';

export function artifactRoutes({ service }: ApiDeps): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/artifacts/{file}',
      operationId: 'getArtifact',
      summary: 'Kafka distribution tarball and application jars',
      tags: ['kafka'],
      access: 'public',
      params: z.object({ file: z.string().min(1).max(200) }),
      errors: [404],
      responses: { 200: { description: 'The gzipped tarball', contentType: 'application/gzip' } },
      handler: ({ params }) => {
        // Application jars (docs/streams.md) first, then the Kafka tarball (which answers 404 for anything else).
        const jar = servedArtifacts().find(params.file);
        if (jar !== undefined) return { body: fs.createReadStream(jar.path), contentType: 'application/java-archive', headers: { 'content-length': String(jar.size) } };
        const a = service.kafka.artifact(params.file);
        return { body: fs.createReadStream(a.path), contentType: 'application/gzip', headers: { 'content-length': String(a.size) } };
      },
    }),
  ];
}
