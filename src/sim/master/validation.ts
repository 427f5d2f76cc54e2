/**
 * Validation as a 1.11 master performs it, with its messages:
 *   - `validateSchedulerCall`: scheduler::call::validate (HTTP 400 `Failed to validate scheduler::Call: …`);
 *   - `validateFrameworkInfo` / `validateFrameworkUpdate`: FrameworkInfo checks on SUBSCRIBE / UPDATE_FRAMEWORK;
 *   - `validateTask` / `validateTaskGroup`: LAUNCH and LAUNCH_GROUP (failures become TASK_ERROR);
 *   - `validateReserve` / `validateUnreserve` / `validateCreate` / `validateDestroy`: offer operations.
 * Pure functions: the caller passes in whatever master state a check needs.
 */
import type { Call, ExecutorInfo, FrameworkInfo, HealthCheck, Resource, TaskInfo } from '../../mesos/types.js';
import { frameworkRoles } from './model.js';
import {
  addResources,
  containsResources,
  hasScalar,
  isDynamicallyReserved,
  isPersistentVolume,
  isReserved,
  normalize,
  quantities,
  reservationRole,
  scalar,
  stringifyResource,
  stringifyResources,
  unallocate,
  validateResources,
} from './resources.js';
import { validateRole } from './roles.js';

/** Mesos' NAME_MAX for ids mapped to directory names. */
const NAME_MAX = 255;
export const MIN_EXECUTOR_CPUS = 0.01;
export const MIN_EXECUTOR_MEM = 32;

/** Stable structural equality for protobuf-shaped objects (Buffers compared by bytes). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const key of keys) {
    if (!deepEqual(ao[key], bo[key])) return false;
  }
  return true;
}

/** RFC 4122 UUID bytes as stout accepts them: 16 bytes, version 1–5. */
export function isValidUuidBytes(bytes: Buffer | undefined): boolean {
  if (bytes === undefined || bytes.length !== 16) return false;
  const version = (bytes[6] ?? 0) >> 4;
  return version >= 1 && version <= 5;
}

/** common::validation::validateID (task, executor, framework ids; persistence ids). */
export function validateId(id: string): string | undefined {
  if (id === '') return 'ID must not be empty';
  if (id.length > NAME_MAX) return `ID must not be greater than ${NAME_MAX} characters`;
  if (id === '.' || id === '..') return `'${id}' is disallowed`;
  for (const ch of id) {
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f || ch === '/' || ch === '\\') return `'${id}' contains invalid characters`;
  }
  return undefined;
}

function idValue(id: { value?: string } | undefined): string {
  return id?.value ?? '';
}

/** scheduler::call::validate. Returns the message that follows `Failed to validate scheduler::Call: `. */
export function validateSchedulerCall(call: Call): string | undefined {
  if (call.type === undefined) return "Expecting 'type' to be present";
  if (call.type === 'SUBSCRIBE') {
    if (call.subscribe === undefined) return "Expecting 'subscribe' to be present";
    if (idValue(call.subscribe.framework_info.id) !== idValue(call.framework_id) ||
        (call.subscribe.framework_info.id === undefined) !== (call.framework_id === undefined)) {
      return "'framework_id' differs from 'subscribe.framework_info.id'";
    }
    return undefined;
  }
  if (call.framework_id === undefined) return "Expecting 'framework_id' to be present";
  const member = (name: string, present: boolean): string | undefined =>
    present ? undefined : `Expecting '${name}' to be present`;
  switch (call.type) {
    case 'TEARDOWN':
    case 'REVIVE':
    case 'SUPPRESS':
    case 'UNKNOWN':
      return undefined;
    case 'ACCEPT':
      return member('accept', call.accept !== undefined);
    case 'DECLINE':
      return member('decline', call.decline !== undefined);
    case 'ACCEPT_INVERSE_OFFERS':
      return member('accept_inverse_offers', call.accept_inverse_offers !== undefined);
    case 'DECLINE_INVERSE_OFFERS':
      return member('decline_inverse_offers', call.decline_inverse_offers !== undefined);
    case 'KILL':
      return member('kill', call.kill !== undefined);
    case 'SHUTDOWN':
      return member('shutdown', call.shutdown !== undefined);
    case 'ACKNOWLEDGE':
      if (call.acknowledge === undefined) return "Expecting 'acknowledge' to be present";
      return isValidUuidBytes(call.acknowledge.uuid) ? undefined : 'Not a valid UUID';
    case 'ACKNOWLEDGE_OPERATION_STATUS':
      if (call.acknowledge_operation_status === undefined) return "Expecting 'acknowledge_operation_status' to be present";
      if (!isValidUuidBytes(call.acknowledge_operation_status.uuid)) return 'Not a valid UUID';
      return call.acknowledge_operation_status.agent_id === undefined ? "Expecting 'agent_id' to be present" : undefined;
    case 'RECONCILE':
      return member('reconcile', call.reconcile !== undefined);
    case 'RECONCILE_OPERATIONS':
      return member('reconcile_operations', call.reconcile_operations !== undefined);
    case 'MESSAGE':
      return member('message', call.message !== undefined);
    case 'REQUEST':
      return member('request', call.request !== undefined);
    case 'UPDATE_FRAMEWORK':
      if (call.update_framework === undefined) return "Expecting 'update_framework' to be present";
      if (idValue(call.update_framework.framework_info.id) !== idValue(call.framework_id)) {
        return "'framework_id' differs from 'update_framework.framework_info.id'";
      }
      return undefined;
  }
}

function hasCapability(info: FrameworkInfo, type: string): boolean {
  return (info.capabilities ?? []).some((c) => c.type === type);
}

/** stout's stringify of a set: `{ a, b }`. */
function stringifySet(items: Iterable<string>): string {
  return `{ ${[...items].join(', ')} }`;
}

/** validation::framework::validate (roles, id, failover timeout). */
export function validateFrameworkInfo(info: FrameworkInfo): string | undefined {
  const multiRole = hasCapability(info, 'MULTI_ROLE');
  if (multiRole) {
    if (info.role !== undefined) return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable";
  } else if ((info.roles ?? []).length > 0) {
    return "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable";
  }
  if (multiRole) {
    const seen = new Set<string>();
    const duplicates = new Set<string>();
    for (const role of info.roles ?? []) {
      if (seen.has(role)) duplicates.add(role);
      seen.add(role);
    }
    if (duplicates.size > 0) return `'FrameworkInfo.roles' contains duplicate items: ${stringifySet(duplicates)}`;
    for (const role of info.roles ?? []) {
      const error = validateRole(role);
      if (error !== undefined) return `'FrameworkInfo.roles' contains invalid role: ${error}`;
    }
  } else {
    const error = validateRole(info.role ?? '*');
    if (error !== undefined) return `'FrameworkInfo.role' is not a valid role: ${error}`;
  }
  if (info.id !== undefined && info.id.value !== '') {
    const error = validateId(info.id.value);
    if (error !== undefined) return error;
  }
  const timeout = info.failover_timeout ?? 0;
  // Duration::create fails when seconds * 1e9 does not fit an int64.
  if (Number.isNaN(timeout) || Math.abs(timeout) > 9_223_372_036.85) {
    return `The framework failover_timeout (${String(timeout)}) is invalid`;
  }
  return undefined;
}

/** validation::framework::validateUpdate (UPDATE_FRAMEWORK; re-SUBSCRIBE only checks the principal). */
export function validateFrameworkUpdate(oldInfo: FrameworkInfo, newInfo: FrameworkInfo): string | undefined {
  if (oldInfo.principal !== newInfo.principal) return "Changing framework's principal is not allowed.";
  if (oldInfo.user !== newInfo.user) {
    return `Updating 'FrameworkInfo.user' is unsupported; attempted to update from '${oldInfo.user}' to '${newInfo.user}'`;
  }
  const oldCheckpoint = oldInfo.checkpoint ?? false;
  const newCheckpoint = newInfo.checkpoint ?? false;
  if (oldCheckpoint !== newCheckpoint) {
    return `Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from '${String(oldCheckpoint)}' to '${String(newCheckpoint)}'`;
  }
  return undefined;
}

export function validateSuppressedRoles(info: FrameworkInfo, suppressed: readonly string[]): string | undefined {
  const roles = new Set(frameworkRoles(info));
  const invalid = [...new Set(suppressed)].filter((r) => !roles.has(r)).sort();
  if (invalid.length > 0) return `Suppressed roles ${stringifySet(invalid)} are not contained in the set of roles`;
  return undefined;
}

// ---- resources inside operations ------------------------------------------------------------------

/** resource::validate: Resources::validate plus DiskInfo checks, with the master's prefixes. */
export function validateOperationResources(resources: readonly Resource[]): string | undefined {
  const error = validateResources(resources);
  if (error !== undefined) return `Invalid resources: ${error}`;
  for (const r of resources) {
    if (r.disk === undefined) continue;
    if (r.disk.persistence !== undefined) {
      if (r.revocable !== undefined) return 'Invalid DiskInfo: Persistent volumes cannot be created from revocable resources';
      if (!isReserved(r)) return 'Invalid DiskInfo: Persistent volumes cannot be created from unreserved resources';
      if (r.disk.volume === undefined) return "Invalid DiskInfo: Expecting 'volume' to be set for persistent volume";
      if (r.disk.volume.host_path !== undefined) return "Invalid DiskInfo: Expecting 'host_path' to be unset for persistent volume";
      const idError = validateId(r.disk.persistence.id);
      if (idError !== undefined) return `Invalid DiskInfo: Invalid persistence ID for persistent volume: ${idError}`;
    } else if (r.disk.volume !== undefined) {
      return 'Invalid DiskInfo: Non-persistent volume not supported';
    } else if (r.disk.source === undefined) {
      return 'Invalid DiskInfo: DiskInfo is set but empty';
    }
  }
  return undefined;
}

function validateUniquePersistenceIds(resources: readonly Resource[]): string | undefined {
  const seen = new Set<string>();
  for (const r of resources) {
    if (!isPersistentVolume(r)) continue;
    const key = `${reservationRole(r)}\u0000${r.disk?.persistence?.id ?? ''}`;
    if (seen.has(key)) return `Persistence ID '${r.disk?.persistence?.id ?? ''}' is not unique`;
    seen.add(key);
  }
  return undefined;
}

function validateSingleAllocationRole(resources: readonly Resource[]): string | undefined {
  let role: string | undefined;
  for (const r of resources) {
    const own = r.allocation_info?.role;
    if (own === undefined) return 'The resources are not allocated to a role';
    if (role === undefined) role = own;
    else if (own !== role) {
      return `The resources have multiple allocation roles ('${own}' and '${role}') but only one allocation role is allowed`;
    }
  }
  return undefined;
}

function validateRevocableMix(resources: readonly Resource[]): string | undefined {
  const names = new Set(resources.map((r) => r.name));
  for (const name of names) {
    const same = resources.filter((r) => r.name === name);
    const revocable = same.filter((r) => r.revocable !== undefined);
    if (revocable.length > 0 && revocable.length !== same.length) {
      return `Cannot use both revocable and non-revocable '${name}' at the same time`;
    }
  }
  return undefined;
}

/** Sets and ranges that appear in more than one of the groups (e.g. the same port for task and executor). */
function overlappingSetsOrRanges(groups: ReadonlyArray<readonly Resource[]>): boolean {
  const sum = new Map<string, number>();
  for (const group of groups) {
    for (const [name, amount] of quantities(group.filter((r) => r.type !== 'SCALAR'))) sum.set(name, (sum.get(name) ?? 0) + amount);
  }
  const merged = quantities(groups.flatMap((g) => [...g]).filter((r) => r.type !== 'SCALAR'));
  for (const [name, amount] of sum) if (merged.get(name) !== amount) return true;
  return false;
}

// ---- tasks ----------------------------------------------------------------------------------------

export interface TaskValidationContext {
  frameworkId: string;
  agentId: string;
  /** 'live' when the framework has a task with that id, 'unreachable' when an unreachable one. */
  existingTask(taskId: string): 'live' | 'unreachable' | undefined;
  /** The executor with that id the framework already runs on this agent. */
  existingExecutor(executorId: string): ExecutorInfo | undefined;
}

function durationNanos(d: { nanoseconds: string } | undefined): bigint | undefined {
  if (d === undefined) return undefined;
  try {
    return BigInt(d.nanoseconds);
  } catch {
    return undefined;
  }
}

function validateHealthCheck(check: HealthCheck): string | undefined {
  const type = check.type ?? 'UNKNOWN';
  if (type === 'UNKNOWN') return "HealthCheck must specify 'type'";
  if (type === 'COMMAND' && check.command === undefined) return "Expecting 'command' to be set for COMMAND health check";
  if (type === 'HTTP' && check.http === undefined) return "Expecting 'http' to be set for HTTP health check";
  if (type === 'TCP' && check.tcp === undefined) return "Expecting 'tcp' to be set for TCP health check";
  for (const field of ['delay_seconds', 'interval_seconds', 'timeout_seconds', 'grace_period_seconds'] as const) {
    const value = check[field];
    if (value !== undefined && value < 0) return `Expecting '${field}' to be non-negative`;
  }
  return undefined;
}

function validateCommandEnvironment(command: TaskInfo['command']): string | undefined {
  for (const variable of command?.environment?.variables ?? []) {
    if ((variable.type ?? 'VALUE') === 'VALUE' && variable.value === undefined) {
      return `Environment variable '${variable.name}' of type 'VALUE' must have a value set`;
    }
  }
  return undefined;
}

/** task::internal::validateTask: the checks shared by LAUNCH and LAUNCH_GROUP, in Mesos' order. */
function validateTaskFields(task: TaskInfo, ctx: TaskValidationContext): string | undefined {
  const taskId = task.task_id.value;
  const idError = validateId(taskId);
  if (idError !== undefined) return idError;
  const existing = ctx.existingTask(taskId);
  if (existing === 'live') return `Task has duplicate ID: ${taskId}`;
  if (existing === 'unreachable') return `Task reuses the ID of an unreachable task: ${taskId}`;
  if (task.agent_id.value !== ctx.agentId) {
    return `Task uses invalid agent ${task.agent_id.value} while agent ${ctx.agentId} is expected`;
  }
  const grace = durationNanos(task.kill_policy?.grace_period);
  if (grace !== undefined && grace < 0n) return "Task's 'kill_policy.grace_period' must be non-negative";
  const maxCompletion = durationNanos(task.max_completion_time);
  if (maxCompletion !== undefined && maxCompletion < 0n) return "Task's `max_completion_time` must be non-negative";
  if (task.health_check !== undefined) {
    const error = validateHealthCheck(task.health_check);
    if (error !== undefined) return `Task uses invalid health check: ${error}`;
  }
  const resources = task.resources ?? [];
  if (resources.length === 0) return 'Task uses no resources';
  let error = validateOperationResources(resources);
  if (error !== undefined) return `Task uses invalid resources: ${error}`;
  error = validateUniquePersistenceIds(resources);
  if (error !== undefined) return `Task uses duplicate persistence ID: ${error}`;
  error = validateSingleAllocationRole(resources);
  if (error !== undefined) return `Invalid task resources: ${error}`;
  error = validateRevocableMix(resources);
  if (error !== undefined) return `Task mixes revocable and non-revocable resources: ${error}`;
  error = validateCommandEnvironment(task.command);
  if (error !== undefined) return `Task's \`CommandInfo\` is invalid: ${error}`;
  return undefined;
}

/** executor::internal::validate (general executor checks). */
function validateExecutorInfo(executor: ExecutorInfo, ctx: TaskValidationContext): string | undefined {
  const type = executor.type;
  if (type === 'DEFAULT' && executor.command !== undefined) return "'ExecutorInfo.command' must not be set for 'DEFAULT' executor";
  if (type === 'DEFAULT' && executor.container !== undefined && executor.container.type !== 'MESOS') {
    return "'ExecutorInfo.container.type' must be 'MESOS' for 'DEFAULT' executor";
  }
  if (type === 'CUSTOM' && executor.command === undefined) return "'ExecutorInfo.command' must be set for 'CUSTOM' executor";
  const idError = validateId(executor.executor_id.value);
  if (idError !== undefined) return idError;
  const grace = durationNanos(executor.shutdown_grace_period);
  if (grace !== undefined && grace < 0n) return "ExecutorInfo's 'shutdown_grace_period' must be non-negative";
  const envError = validateCommandEnvironment(executor.command);
  if (envError !== undefined) return `Executor's \`CommandInfo\` is invalid: ${envError}`;
  if (executor.framework_id === undefined) return "'ExecutorInfo.framework_id' must be set";
  if (executor.framework_id.value !== ctx.frameworkId) {
    return `ExecutorInfo has an invalid FrameworkID (Actual: ${executor.framework_id.value} vs Expected: ${ctx.frameworkId})`;
  }
  const resources = executor.resources ?? [];
  let error = validateOperationResources(resources);
  if (error !== undefined) return `Executor uses invalid resources: ${error}`;
  error = validateUniquePersistenceIds(resources);
  if (error !== undefined) return `Executor uses duplicate persistence ID: ${error}`;
  error = validateSingleAllocationRole(resources);
  if (error !== undefined && resources.length > 0) return `Invalid executor resources: ${error}`;
  error = validateRevocableMix(resources);
  if (error !== undefined) return `Executor mixes revocable and non-revocable resources: ${error}`;
  const existing = ctx.existingExecutor(executor.executor_id.value);
  if (existing !== undefined && !deepEqual(existing, executor)) {
    return 'ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID.';
  }
  return undefined;
}

/**
 * Validate one LAUNCH task against what is left of the offer (`available`). Returns the TASK_ERROR message.
 * The task's resources must already be upgraded and carry allocation info.
 */
export function validateTask(task: TaskInfo, ctx: TaskValidationContext, available: readonly Resource[]): string | undefined {
  const fieldError = validateTaskFields(task, ctx);
  if (fieldError !== undefined) return fieldError;

  if ((task.executor !== undefined) === (task.command !== undefined)) {
    return 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present';
  }
  let total = normalize(task.resources ?? []);
  if (task.executor !== undefined) {
    const executor = task.executor;
    const error = validateExecutorInfo(executor, ctx);
    if (error !== undefined) return error;
    if (executor.type !== undefined && executor.type !== 'CUSTOM') return "'ExecutorInfo.type' must be 'CUSTOM'";
    if (executor.command === undefined) return "'ExecutorInfo.command' must be set";
    if ((executor.resources ?? []).some((r) => r.shared !== undefined)) {
      return `Executor resources ${stringifyResources(executor.resources ?? [])} should not contain any shared resources`;
    }
    if (ctx.existingExecutor(executor.executor_id.value) === undefined) total = addResources(total, executor.resources ?? []);
    const combined = [...(task.resources ?? []), ...(executor.resources ?? [])];
    const combinedError = validateOperationResources(combined);
    if (combinedError !== undefined) return `Task and its executor use invalid resources: ${combinedError}`;
    if (overlappingSetsOrRanges([task.resources ?? [], executor.resources ?? []])) {
      return `There are overlapping resources in the task resources ${stringifyResources(task.resources ?? [])} and executor resources ${stringifyResources(executor.resources ?? [])}`;
    }
    const uniqueError = validateUniquePersistenceIds(combined);
    if (uniqueError !== undefined) return `Task and its executor use duplicate persistence ID: ${uniqueError}`;
  }
  if (!containsResources(available, total)) {
    return `Total resources ${stringifyResources(total)} required by task and its executor is more than available ${stringifyResources(normalize(available))}`;
  }
  return undefined;
}

/** Validate a LAUNCH_GROUP (tasks already carry a copy of the executor when they had none). */
export function validateTaskGroup(
  tasks: readonly TaskInfo[],
  executor: ExecutorInfo,
  ctx: TaskValidationContext,
  available: readonly Resource[],
): string | undefined {
  const seen = new Set<string>();
  for (const task of tasks) {
    let error = validateTaskFields(task, ctx);
    if (error === undefined && seen.has(task.task_id.value)) error = `Task has duplicate ID: ${task.task_id.value}`;
    if (error === undefined && task.executor === undefined) error = "'TaskInfo.executor' must be set";
    if (error === undefined && task.container?.type === 'DOCKER') error = 'Docker ContainerInfo is not supported on the task';
    if (error !== undefined) return `Task '${task.task_id.value}' is invalid: ${error}`;
    seen.add(task.task_id.value);
  }
  const executorError = validateExecutorInfo(executor, ctx);
  if (executorError !== undefined) return executorError;
  if (executor.type === undefined) return "'ExecutorInfo.type' must be set";
  if (executor.type === 'UNKNOWN') return 'Unknown executor type';
  if (executor.container?.type === 'DOCKER') return 'Docker ContainerInfo is not supported on the executor';
  for (const task of tasks) {
    if (task.executor !== undefined && !deepEqual(task.executor, executor)) {
      return `The \`ExecutorInfo\` of task '${task.task_id.value}' is different from executor '${executor.executor_id.value}'`;
    }
  }
  const executorResources = executor.resources ?? [];
  const id = executor.executor_id.value;
  if (!hasScalar(executorResources, 'cpus') || scalar(executorResources, 'cpus') < MIN_EXECUTOR_CPUS) {
    const cpus = hasScalar(executorResources, 'cpus') ? String(scalar(executorResources, 'cpus')) : 'None';
    return `Executor '${id}' uses less CPUs (${cpus}) than the minimum required (${MIN_EXECUTOR_CPUS})`;
  }
  if (!hasScalar(executorResources, 'mem') || scalar(executorResources, 'mem') < MIN_EXECUTOR_MEM) {
    const mem = hasScalar(executorResources, 'mem') ? `${scalar(executorResources, 'mem')}MB` : 'None';
    return `Executor '${id}' uses less memory (${mem}) than the minimum required (${MIN_EXECUTOR_MEM}MB)`;
  }
  if (!hasScalar(executorResources, 'disk')) return `Executor '${id}' uses no disk`;
  const all = [...executorResources, ...tasks.flatMap((t) => t.resources ?? [])];
  const uniqueError = validateUniquePersistenceIds(all);
  if (uniqueError !== undefined) return `Task group and executor use duplicate persistence ID: ${uniqueError}`;
  const revocableError = validateRevocableMix(all);
  if (revocableError !== undefined) return `Task group and executor mix revocable and non-revocable resources: ${revocableError}`;
  if (overlappingSetsOrRanges([...tasks.map((t) => t.resources ?? []), executorResources])) {
    return `There are overlapping resources in the task group's task resources and/or executor resources ${stringifyResources(executorResources)}`;
  }
  let total = normalize(tasks.flatMap((t) => t.resources ?? []));
  if (ctx.existingExecutor(id) === undefined) total = addResources(total, executorResources);
  if (!containsResources(available, total)) {
    return `Total resources ${stringifyResources(total)} required by task group and its executor are more than available ${stringifyResources(normalize(available))}`;
  }
  return undefined;
}

// ---- offer operations -----------------------------------------------------------------------------

export function validateReserve(resources: readonly Resource[], framework: FrameworkInfo): string | undefined {
  const error = validateOperationResources(resources);
  if (error !== undefined) return `Invalid resources: ${error}`;
  const roles = new Set(frameworkRoles(framework));
  const rolesText = stringifySet([...roles].sort());
  for (const r of resources) {
    if (!isDynamicallyReserved(r)) return `Resource ${stringifyResource(r)} is not dynamically reserved`;
    const allocated = r.allocation_info?.role;
    if (allocated === undefined) {
      return `A reserve operation was attempted on unallocated resource ${stringifyResource(r)}, but frameworks can only perform reservations on allocated resources`;
    }
    const reserved = reservationRole(r);
    if (allocated !== reserved) {
      return `A reserve operation was attempted for a resource with role '${reserved}', but the resource was allocated to role '${allocated}'`;
    }
    if (!roles.has(allocated)) {
      return `A reserve operation was attempted for a resource allocated to role '${allocated}', but the framework only has roles '${rolesText}'`;
    }
    if (!roles.has(reserved)) {
      return `A reserve operation was attempted for a resource with role '${reserved}', but the framework can only reserve resources with roles '${rolesText}'`;
    }
  }
  const single = validateSingleAllocationRole(resources);
  if (single !== undefined) return `Invalid reservation resources: ${single}`;
  return undefined;
}

export function validateUnreserve(resources: readonly Resource[]): string | undefined {
  const error = validateOperationResources(resources);
  if (error !== undefined) return `Invalid resources: ${error}`;
  for (const r of resources) {
    if (!isDynamicallyReserved(r)) return `Resource ${stringifyResource(r)} is not dynamically reserved`;
    if (isPersistentVolume(r)) {
      return `A dynamically reserved persistent volume ${stringifyResource(r)} cannot be unreserved directly. Please destroy the persistent volume first then unreserve the resource`;
    }
  }
  return undefined;
}

function validatePersistentVolumes(volumes: readonly Resource[]): string | undefined {
  for (const v of volumes) {
    if (v.disk === undefined) return `Resource ${stringifyResource(v)} does not have DiskInfo`;
    if (v.disk.persistence === undefined) return "'persistence' is not set in DiskInfo";
    if (v.disk.volume === undefined) return "Expecting 'volume' to be set for persistent volume";
    if (v.disk.volume.mode === 'RO') return 'Read-only persistent volume not supported';
  }
  return undefined;
}

/** CREATE: `checkpointed` are the agent's reserved resources and volumes (unallocated). */
export function validateCreate(
  volumes: readonly Resource[],
  checkpointed: readonly Resource[],
  framework: FrameworkInfo,
): string | undefined {
  let error = validateOperationResources(volumes);
  if (error !== undefined) return `Invalid resources: ${error}`;
  error = validatePersistentVolumes(volumes);
  if (error !== undefined) return `Not a persistent volume: ${error}`;
  error = validateUniquePersistenceIds([...checkpointed.filter(isPersistentVolume), ...unallocate(volumes)]);
  if (error !== undefined) return error;
  for (const v of volumes) {
    if (v.shared !== undefined && !hasCapability(framework, 'SHARED_RESOURCES')) {
      return `Create volume operation for '${stringifyResource(v)}' has been attempted by framework '${framework.id?.value ?? ''}' with no SHARED_RESOURCES capability`;
    }
  }
  const single = validateSingleAllocationRole(volumes);
  if (single !== undefined) return `Invalid volume resources: ${single}`;
  return undefined;
}

/** DESTROY: volumes must exist on the agent and not be used by a task or executor. */
export function validateDestroy(
  volumes: readonly Resource[],
  checkpointed: readonly Resource[],
  used: readonly Resource[],
): string | undefined {
  const plain = unallocate(volumes);
  let error = validateOperationResources(plain);
  if (error !== undefined) return `Invalid resources: ${error}`;
  error = validatePersistentVolumes(plain);
  if (error !== undefined) return `Not a persistent volume: ${error}`;
  for (const v of plain) {
    if (!containsResources(checkpointed, [v])) return 'Persistent volumes not found';
  }
  for (const v of plain) {
    if (containsResources(unallocate(used), [v])) return 'Persistent volumes in use';
  }
  return undefined;
}
