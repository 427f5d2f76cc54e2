/** What every route plugin gets: the scheduler service (and, for /metrics, the runtime's metrics). */
import type { Metrics } from '../../runtime/metrics.js';
import type { SchedulerService } from '../../runtime/scheduler-service.js';

export interface RouteOptions {
  service: SchedulerService;
  metrics: Metrics;
}
