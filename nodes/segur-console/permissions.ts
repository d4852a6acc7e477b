// How Node-RED 4.1 grants a permission to a user's scope, so that GET /me can say what the user may do
// without a second request. The same rules as @node-red/editor-api/lib/auth/permissions.js (hasPermission):
// an entry `*`, the permission itself, or `read` / `*.read` for any permission ending in `.read` (`write` /
// `*.write` for `.write`); a scope given as a list grants what one of its entries grants.

const READ_RE = /^((.+)\.)?read$/;
const WRITE_RE = /^((.+)\.)?write$/;

export function hasPermission(scope: string | string[] | undefined, permission: string): boolean {
  if (permission === '') return true;
  if (Array.isArray(scope)) return scope.some((s) => hasPermission(s, permission));
  if (typeof scope !== 'string') return false;
  if (scope === '*' || scope === permission) return true;
  if (scope === 'read' || scope === '*.read') return READ_RE.test(permission);
  if (scope === 'write' || scope === '*.write') return WRITE_RE.test(permission);
  return false;
}
