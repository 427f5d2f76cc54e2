/**
 * Persistent volumes on the simulated agent. A volume is a directory
 * `<workDir>/volumes/roles/<role>/<persistenceId>` (the real agent's layout; a `/` in a hierarchical role
 * becomes a space, as Mesos does) that exists from CREATE until DESTROY, whatever happens to the tasks that
 * use it. A task whose resources include the volume sees it at `<sandbox>/<container_path>` through a
 * symlink (the real agent bind-mounts; the effect for the task is the same, except that RO is not enforced).
 */
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import type { Resource } from '../../mesos/types.js';
import { KmfError } from '../../util/errors.js';

export function volumePath(workDir: string, role: string, persistenceId: string): string {
  if (persistenceId === '' || persistenceId.includes('/') || persistenceId === '.' || persistenceId === '..') {
    throw new KmfError('SIM_VOLUME_INVALID', `invalid persistence id '${persistenceId}'`);
  }
  if (role === '' || role === '*') throw new KmfError('SIM_VOLUME_INVALID', `persistent volumes need a reserved role, got '${role}'`);
  return join(workDir, 'volumes', 'roles', role.replaceAll('/', ' '), persistenceId);
}

export function createVolumeDir(workDir: string, role: string, persistenceId: string): string {
  const path = volumePath(workDir, role, persistenceId);
  mkdirSync(path, { recursive: true });
  return path;
}

export function destroyVolumeDir(workDir: string, role: string, persistenceId: string): void {
  rmSync(volumePath(workDir, role, persistenceId), { recursive: true, force: true });
}

/** The role a (possibly pre-refinement) reserved resource belongs to. */
export function reservationRole(r: Resource): string | undefined {
  const stack = r.reservations;
  if (stack !== undefined && stack.length > 0) return stack[stack.length - 1]?.role;
  if (r.role !== undefined && r.role !== '*') return r.role;
  return r.allocation_info?.role;
}

export interface VolumeUse {
  role: string;
  persistenceId: string;
  containerPath: string;
  mode: 'RW' | 'RO';
}

/** Persistent volumes named by a task's (or executor's) resources. */
export function persistentVolumes(resources: readonly Resource[] | undefined): VolumeUse[] {
  const out: VolumeUse[] = [];
  for (const r of resources ?? []) {
    const id = r.disk?.persistence?.id;
    const containerPath = r.disk?.volume?.container_path;
    if (id === undefined || containerPath === undefined) continue;
    const role = reservationRole(r);
    if (role === undefined) continue;
    out.push({ role, persistenceId: id, containerPath, mode: r.disk?.volume?.mode ?? 'RW' });
  }
  return out;
}

/**
 * Make each volume visible at `<sandbox>/<container_path>`. Creates the volume directory if CREATE was not
 * seen by this agent instance (e.g. the agent object was recreated over the same workDir).
 * Throws for container paths that would leave the sandbox (absolute paths need a container image).
 */
export function linkVolumes(workDir: string, sandbox: string, volumes: readonly VolumeUse[]): void {
  for (const v of volumes) {
    if (isAbsolute(v.containerPath)) {
      throw new KmfError(
        'SIM_VOLUME_INVALID',
        `Absolute container path '${v.containerPath}' of volume '${v.persistenceId}' needs a container image; use a path relative to the sandbox`,
      );
    }
    const rel = normalize(v.containerPath);
    if (rel === '..' || rel.startsWith(`..${sep}`) || rel === '.') {
      throw new KmfError('SIM_VOLUME_INVALID', `container path '${v.containerPath}' leaves the sandbox`);
    }
    const target = createVolumeDir(workDir, v.role, v.persistenceId);
    const link = join(sandbox, rel);
    mkdirSync(dirname(link), { recursive: true });
    if (existsSync(link) || isDanglingLink(link)) rmSync(link, { recursive: true, force: true });
    symlinkSync(target, link, 'dir');
  }
}

function isDanglingLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
