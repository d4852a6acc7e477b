// The console API under node-red-node-test-helper, whose RED.auth lets everything through: an adminAuth
// stand-in that does what Node-RED 4.1's needsPermission does (a 401 without a user or without the
// permission; req.user and req.authInfo.scope set otherwise), driven by test headers. The real adminAuth
// is exercised end to end (test/e2e/console-api.e2e.test.ts).
import { registerConsoleApi, type ApiHandler } from '../../nodes/segur-console/api';
import { hasPermission } from '../../nodes/segur-console/permissions';
import { registerConsolePage } from '../../nodes/segur-console/page';

/**
 * x-test-user: the user (absent: no token → 401, as Node-RED's bearer strategy); 'anonymous' for the
 * default user of adminAuth.default; 'no-admin-auth' for a runtime without adminAuth (no user at all).
 * x-test-scope: the user's permissions, comma separated (default '*').
 */
export const fakeNeedsPermission =
  (permission: string): ApiHandler =>
  (req, res, next) => {
    const headers = (req as unknown as { headers: Record<string, string | undefined> }).headers;
    const user = headers['x-test-user'];
    if (user === 'no-admin-auth') return next();
    if (!user) return res.status(401).end();
    const scope = (headers['x-test-scope'] ?? '*').split(',');
    req.user = user === 'anonymous' ? { anonymous: true } : { username: user };
    req.authInfo = { scope };
    if (!hasPermission(scope, permission)) return res.status(401).end();
    next();
  };

/** A module for helper.load: the console's API with the stand-in auth, and its page from `pageDir`. */
export function consoleModule(pageDir?: string) {
  return (RED: any) => {
    registerConsoleApi({
      httpAdmin: RED.httpAdmin,
      auth: { needsPermission: fakeNeedsPermission },
      nodeName: (id) => RED.nodes.getNode(id)?.name ?? '',
      log: RED.log,
    });
    if (pageDir) registerConsolePage(RED.httpAdmin, pageDir);
  };
}
