/**
 * Mesos role names and the role hierarchy ("eng/frontend" is a strict subrole of "eng").
 * Rules as enforced by a 1.11 master (roles::validate).
 */

const WHITESPACE = /[\t\n\v\f\r ]/;

/** Returns an error message, or undefined when the role name is valid. `*` is valid. */
export function validateRole(role: string): string | undefined {
  if (role === '*') return undefined;
  if (role === '') return 'Empty role name is invalid';
  if (role.startsWith('/')) return `Role '${role}' cannot start with a slash`;
  if (role.endsWith('/')) return `Role '${role}' cannot end with a slash`;
  for (const component of role.split('/')) {
    if (component === '') return `Role '${role}' cannot contain two adjacent slashes`;
    if (component === '.') return `Role '${role}' cannot be '.'`;
    if (component === '..') return `Role '${role}' cannot be '..'`;
    if (component === '*') return `Role '${role}' cannot contain '*' as a path segment`;
    if (component.startsWith('-')) return `Role component '${component}' is invalid because it starts with a dash`;
    if (WHITESPACE.test(component) || component.includes('\0')) {
      return `Role component '${component}' is invalid because it contains whitespace or a control character`;
    }
  }
  return undefined;
}

/** `child` is strictly below `parent` in the role tree. */
export function isStrictSubroleOf(child: string, parent: string): boolean {
  return child.length > parent.length && child.startsWith(`${parent}/`);
}
