import { KmfError } from '../util/errors.js';

/**
 * Znode paths as the state store accepts them: absolute, `/`-separated, no empty, `.` or `..` segments, no
 * trailing slash (except the root). The same rules for the ZooKeeper and the in-memory store, so a path that works
 * in a unit test works against ZooKeeper.
 */
export function validatePath(path: string): string {
  if (path === '/') return path;
  if (!path.startsWith('/') || path.endsWith('/')) throw invalidPath(path, 'must be absolute and have no trailing slash');
  for (const segment of path.slice(1).split('/')) {
    if (segment === '' || segment === '.' || segment === '..') throw invalidPath(path, `bad segment '${segment}'`);
    // ZooKeeper refuses these characters (PathUtils.validatePath).
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/.test(segment)) throw invalidPath(path, 'control or reserved character');
  }
  return path;
}

export function joinPath(parent: string, ...children: string[]): string {
  let out = parent === '/' ? '' : parent;
  for (const c of children) out += '/' + c;
  return validatePath(out === '' ? '/' : out);
}

/** The parent of a path; the root's parent is undefined. */
export function parentPath(path: string): string | undefined {
  if (path === '/') return undefined;
  const i = path.lastIndexOf('/');
  return i === 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** `/a/b/c` → ['/a', '/a/b', '/a/b/c']. */
export function ancestorsAndSelf(path: string): string[] {
  if (path === '/') return [];
  const parts = path.slice(1).split('/');
  return parts.map((_, i) => '/' + parts.slice(0, i + 1).join('/'));
}

function invalidPath(path: string, why: string): KmfError {
  return new KmfError('invalid_path', `invalid znode path '${path}': ${why}`, { details: { path } });
}
