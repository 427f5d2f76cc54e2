/**
 * The agent's work-dir layout, as a real Mesos agent lays it out (so sandboxes are where operators expect):
 *   <workDir>/slaves/<agentId>/frameworks/<frameworkId>/executors/<executorId>/runs/<containerId>
 *   <workDir>/slaves/<agentId>/frameworks/<frameworkId>/executors/<executorId>/runs/latest -> <containerId>
 *   <workDir>/volumes/roles/<role>/<persistenceId>            (volumes.ts)
 *   <workDir>/fetcher-cache/                                   (URIs with cache: true)
 * Nested containers of the default executor live in `<executor sandbox>/containers/<containerId>`, with
 * `<executor sandbox>/tasks/<taskId>` pointing at them.
 */
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

export function executorRunDir(workDir: string, agentId: string, frameworkId: string, executorId: string, containerId: string): string {
  return join(workDir, 'slaves', agentId, 'frameworks', frameworkId, 'executors', executorId, 'runs', containerId);
}

export function fetcherCacheDir(workDir: string): string {
  return join(workDir, 'fetcher-cache');
}

/** Create a sandbox and point the `latest` link of its executor at it. */
export function createExecutorSandbox(workDir: string, agentId: string, frameworkId: string, executorId: string, containerId: string): string {
  const dir = executorRunDir(workDir, agentId, frameworkId, executorId, containerId);
  mkdirSync(dir, { recursive: true });
  const latest = join(dir, '..', 'latest');
  rmSync(latest, { force: true });
  symlinkSync(containerId, latest, 'dir');
  return dir;
}

/** Sandbox of a task run by the default executor, plus the `tasks/<taskId>` convenience link. */
export function createNestedSandbox(executorSandbox: string, containerId: string, taskId: string): string {
  const dir = join(executorSandbox, 'containers', containerId);
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(executorSandbox, 'tasks'), { recursive: true });
  const link = join(executorSandbox, 'tasks', taskId);
  rmSync(link, { force: true });
  symlinkSync(dir, link, 'dir');
  return dir;
}
