/**
 * Loads kmf's copies of the Mesos v1 .proto files (proto/ at the repository root) with protobufjs,
 * once per process. Field names are kept exactly as declared (`keepCase`), because the Mesos JSON
 * mapping uses the proto field names (snake_case) verbatim.
 *
 * The proto directory is found relative to this module so that the same code works when run from
 * the sources (src/mesos -> ../../proto, through tsx) and after `tsc` (dist/src/mesos ->
 * ../../../proto).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { KmfError } from '../util/errors.js';

export const PROTO_FILES = ['mesos.proto', 'scheduler/scheduler.proto', 'executor/executor.proto'] as const;

export const MESSAGE_NAMES = {
  schedulerCall: 'mesos.v1.scheduler.Call',
  schedulerEvent: 'mesos.v1.scheduler.Event',
  executorCall: 'mesos.v1.executor.Call',
  executorEvent: 'mesos.v1.executor.Event',
} as const;

function findProtoDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../../proto'), path.resolve(here, '../../../proto')];
  for (const dir of candidates) {
    if (existsSync(path.join(dir, 'mesos.proto'))) return dir;
  }
  throw new KmfError('PROTO_NOT_FOUND', `Cannot find the proto/ directory (looked in ${candidates.join(', ')})`);
}

let cachedRoot: protobuf.Root | undefined;
let cachedDir: string | undefined;

/** Directory holding mesos.proto, scheduler/ and executor/. */
export function protoDir(): string {
  cachedDir ??= findProtoDir();
  return cachedDir;
}

/** The protobufjs root with every kmf Mesos message, fully resolved. */
export function protoRoot(): protobuf.Root {
  if (cachedRoot !== undefined) return cachedRoot;
  const dir = protoDir();
  const root = new protobuf.Root();
  // Imports in our .proto files are relative to proto/ (like `protoc -I proto`).
  root.resolvePath = (_origin: string, target: string): string =>
    path.isAbsolute(target) ? target : path.join(dir, target);
  root.loadSync(
    PROTO_FILES.map((f) => path.join(dir, f)),
    { keepCase: true },
  );
  root.resolveAll();
  cachedRoot = root;
  return root;
}

/** Look up a message type by its full name, e.g. `mesos.v1.scheduler.Call`. */
export function protoType(fullName: string): protobuf.Type {
  const name = fullName.startsWith('.') ? fullName.slice(1) : fullName;
  let found: protobuf.ReflectionObject | null;
  try {
    found = protoRoot().lookup(name);
  } catch (err) {
    throw new KmfError('PROTO_UNKNOWN_TYPE', `Unknown protobuf message type '${name}'`, { cause: err });
  }
  if (!(found instanceof protobuf.Type)) {
    throw new KmfError('PROTO_UNKNOWN_TYPE', `Unknown protobuf message type '${name}'`);
  }
  return found;
}
