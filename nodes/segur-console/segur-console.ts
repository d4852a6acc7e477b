// segur-console: the operations console of the layer (issue 14), a Node-RED plugin (no node of its own): the
// HTTP API
// (./api.ts, docs/console-api.md) on Node-RED's admin app, behind its adminAuth, and the page (./page.ts)
// under <httpAdminRoot>/segur-dpi/. What it shows comes from the ins-store nodes (journal, archive,
// tasks) and from what the running nodes report (nodes/shared/console-registry.ts).
import type { NodeAPI } from '../shared/red';
import { registerConsoleApi, type ConsoleHost } from './api';
import { registerConsolePage } from './page';

export = function (RED: NodeAPI) {
  const httpAdmin = RED.httpAdmin as unknown as ConsoleHost['httpAdmin'];
  const auth = RED.auth as unknown as ConsoleHost['auth'];
  registerConsoleApi({
    httpAdmin,
    auth,
    nodeName: (id) => RED.nodes.getNode(id)?.name ?? '',
    log: RED.log,
  });
  registerConsolePage(httpAdmin);
  RED.plugins.registerPlugin('segur-console', { type: 'segur-dpi-console' });
};
