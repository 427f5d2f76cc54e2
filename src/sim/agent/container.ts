/**
 * What the Mesos containerizer does before an executor or task process starts, reduced to what matters
 * without isolation: fetch CommandInfo.uris into the sandbox, then expose persistent volumes in it.
 * A failure here is a container launch failure (TASK_FAILED, SOURCE_AGENT, REASON_CONTAINER_LAUNCH_FAILED).
 */
import type { CommandURI, Resource } from '../../mesos/types.js';
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { fetchUris } from './fetcher.js';
import type { ExecutorHost } from './executor-handle.js';
import { linkVolumes, persistentVolumes } from './volumes.js';

export interface PrepareParams {
  host: ExecutorHost;
  sandbox: string;
  containerId: string;
  uris: readonly CommandURI[] | undefined;
  resources: readonly Resource[] | undefined;
  logger: Logger;
  signal?: AbortSignal;
}

/** Resolves when the sandbox is ready; rejects with the launch-failure message Mesos would report. */
export async function prepareContainer(p: PrepareParams): Promise<void> {
  try {
    await fetchUris(p.uris ?? [], {
      sandbox: p.sandbox,
      registry: p.host.registry,
      logger: p.logger,
      cacheDir: p.host.cacheDir,
      ...(p.signal === undefined ? {} : { signal: p.signal }),
    });
  } catch (err) {
    throw new Error(`Failed to fetch all URIs for container '${p.containerId}': ${errorMessage(err)}`, { cause: err });
  }
  try {
    linkVolumes(p.host.workDir, p.sandbox, persistentVolumes(p.resources));
  } catch (err) {
    throw new Error(`Failed to prepare persistent volumes for container '${p.containerId}': ${errorMessage(err)}`, { cause: err });
  }
}

export function launchFailedMessage(err: unknown): string {
  return `Failed to launch container: ${errorMessage(err)}`;
}
