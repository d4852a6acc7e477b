// Node-RED settings for the development / demonstration runtime started by `npm start`
// (copied into the user dir on first start; edit the copy there to change your local set-up).
const fs = require('fs');
const path = require('path');

/**
 * The editor's login: the admin user that scripts/node-red.js generates on first start (password shown
 * once, stored as a bcrypt hash in segur-dpi-admin.json beside this file). Replace adminAuth below with
 * your own users (https://nodered.org/docs/user-guide/runtime/securing-node-red) if you prefer; without
 * any adminAuth, `npm start` refuses to serve the editor beyond 127.0.0.1.
 */
function generatedAdminAuth() {
  try {
    const user = JSON.parse(fs.readFileSync(path.join(__dirname, 'segur-dpi-admin.json'), 'utf8'));
    return { type: 'credentials', users: [{ username: user.username, password: user.password, permissions: user.permissions || '*' }] };
  } catch {
    return undefined;
  }
}

module.exports = {
  flowFile: 'flows.json',
  flowFilePretty: true,
  // credentials of the demo flows are stored unencrypted unless a secret is given
  credentialSecret: process.env.NODE_RED_CREDENTIAL_SECRET || false,
  uiHost: process.env.HOST || '127.0.0.1',
  adminAuth: generatedAdminAuth(),
  diagnostics: { enabled: false },
  runtimeState: { enabled: false },
  telemetry: { enabled: false },
  logging: { console: { level: process.env.NODE_RED_LOG_LEVEL || 'info', metrics: false, audit: false } },
  editorTheme: {
    projects: { enabled: false },
    tours: false,
    palette: { categories: ['Ségur DPI', 'common', 'function', 'network', 'sequence', 'parser', 'storage'] },
  },
  exportGlobalContextKeys: false,
  functionExternalModules: false,
};
