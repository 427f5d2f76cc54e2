/**
 * Every route module of the admin API. A new resource is one module exporting `xyzRoutes(deps)`, added here.
 */
import type { ApiRoute } from '../route.js';
import { appRoutes } from './apps.js';
import { artifactRoutes } from './artifacts.js';
import { brokerRoutes } from './brokers.js';
import { clusterRoutes } from './cluster.js';
import type { ApiDeps } from './context.js';
import { eventRoutes } from './events.js';
import { probeRoutes } from './health.js';
import { planRoutes } from './plans.js';
import { statusRoutes } from './status.js';
import { topicRoutes } from './topics.js';

export function allRoutes(deps: ApiDeps): ApiRoute[] {
  return [...probeRoutes(deps), ...statusRoutes(deps), ...planRoutes(deps), ...appRoutes(deps), ...eventRoutes(deps), ...brokerRoutes(deps), ...clusterRoutes(deps), ...topicRoutes(deps), ...artifactRoutes(deps)];
}
