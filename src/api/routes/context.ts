/**
 * What every route module gets. A new resource (brokers, topics …) is one module under ./routes exporting
 * `xyzRoutes(deps: ApiDeps): ApiRoute[]`, listed in ./index.ts; a service it needs is added here.
 */
import type { SchedulerService } from '../../runtime/scheduler-service.js';
import type { OpenApiDocument } from '../openapi.js';
import type { PrometheusExporter } from '../prometheus.js';

export interface ApiDeps {
  service: SchedulerService;
  prometheus: PrometheusExporter;
  /** The document served at /openapi.json (built once from every route). */
  openapi: () => OpenApiDocument;
}
