// Node-RED settings for the development / demonstration runtime started by `npm start`
// (copied into the user dir on first start; edit the copy there to change your local set-up).
module.exports = {
  flowFile: 'flows.json',
  flowFilePretty: true,
  // credentials of the demo flows are stored unencrypted unless a secret is given
  credentialSecret: process.env.NODE_RED_CREDENTIAL_SECRET || false,
  uiHost: process.env.HOST || '127.0.0.1',
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
