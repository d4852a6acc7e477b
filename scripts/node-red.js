#!/usr/bin/env node
'use strict';
// Starts a real Node-RED (the project's devDependency) with this pack loaded.
//
//   node scripts/node-red.js [--user-dir DIR] [--port N] [--flows FILE]
//
// - the user dir (default .node-red/, git-ignored) is created on first use, with a settings.js and a
//   node_modules/node-red-contrib-segur-dpi link to this project, so Node-RED loads the pack the way it
//   loads any installed module (palette, help, Import > Examples);
// - without --flows, every tab of the ready-made flow packs in flows/ that is not yet in the user dir's
//   flows.json is added to it with the configuration nodes it uses (flows you changed in the editor are
//   kept), and the pack's global environment variables join those of the user dir; the tabs of the
//   retired packs the layer pack replaced are removed when it is added (flows.json saved aside first);
//   with --flows FILE, that file becomes flows.json (end-to-end tests use this);
// - credentials written in a pack or --flows file (`credentials` of a node, as an editor import keeps
//   them) go to the user dir's credentials file, never into flows.json;
// - the layer pack's watched folder (SEGUR_DPI_INBOX, default <user dir>/segur-dpi/inbox) is created,
//   mode 0700, so that its watch node finds it;
// - the editor and admin API need a login (scripts/admin-auth.js): on first start an admin user is
//   generated, its password printed once; settings without any adminAuth are refused when the editor
//   would listen beyond 127.0.0.1 (HOST=0.0.0.0);
// - Ctrl-C (SIGINT) or SIGTERM stops Node-RED cleanly (flows stopped, sockets closed).
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { ADMIN_FILE, accessDecision, createAdminUser } = require('./admin-auth');

const root = path.resolve(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));

function parseArgs(argv) {
  const opts = { userDir: path.join(root, '.node-red'), port: Number(process.env.PORT) || 1880, flows: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--user-dir') opts.userDir = path.resolve(next());
    else if (a === '--port') opts.port = Number(next());
    else if (a === '--flows') opts.flows = path.resolve(next());
    else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error('--port: not a port number');
  return opts;
}

function readFlowPacks() {
  const dir = path.join(root, 'flows');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: f, nodes: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) }));
}

/** Tabs of the first flow packs, replaced by the tabs of the layer pack (flows/segur-dpi-layer.json). */
const RETIRED_TABS = Object.freeze(['segur-hl7-inbound', 'segur-identity-feed', 'segur-reports-in']);
const LAYER_PACK = 'segur-dpi-layer.json';

function readJson(file, fallback) {
  if (!fs.existsSync(file)) return fallback;
  const text = fs.readFileSync(file, 'utf8').trim();
  return text ? JSON.parse(text) : fallback;
}

/** Removes the `credentials` of each node (they never go into flows.json) and returns them by node id. */
function takeCredentials(nodes) {
  const creds = {};
  for (const n of nodes) {
    if (n.credentials && typeof n.credentials === 'object') creds[n.id] = n.credentials;
    delete n.credentials;
  }
  return creds;
}

/**
 * Adds to `flows` the tabs of `pack` it does not hold, with their nodes, the configuration nodes they
 * need (those already there kept as they are) and the pack's global environment variables that the
 * user dir does not define. Returns the nodes added.
 */
function mergePack(flows, pack) {
  const present = new Set(flows.map((n) => n.id));
  const tabs = new Set(pack.filter((n) => n.type === 'tab' && !present.has(n.id)).map((n) => n.id));
  if (tabs.size === 0) return [];
  const added = pack.filter((n) => (tabs.has(n.id) || tabs.has(n.z) || (!n.z && n.type !== 'tab' && n.type !== 'global-config')) && !present.has(n.id));
  flows.push(...added);
  for (const g of pack.filter((n) => n.type === 'global-config')) {
    const mine = flows.find((n) => n.type === 'global-config');
    if (!mine) {
      flows.push(g);
      added.push(g);
      continue;
    }
    mine.env = mine.env || [];
    const names = new Set(mine.env.map((e) => e.name));
    mine.env.push(...(g.env || []).filter((e) => !names.has(e.name)));
  }
  return added;
}

/** Removes the retired tabs and their nodes; returns their labels. */
function removeRetiredTabs(flows) {
  const retired = new Set(flows.filter((n) => n.type === 'tab' && RETIRED_TABS.includes(n.id)).map((n) => n.id));
  const labels = flows.filter((n) => retired.has(n.id)).map((n) => n.label || n.id);
  if (retired.size) flows.splice(0, flows.length, ...flows.filter((n) => !retired.has(n.id) && !retired.has(n.z)));
  return labels;
}

// --- the credentials file, as Node-RED's runtime reads it (@node-red/runtime lib/nodes/credentials.js) ---

/** The key the credentials file is encrypted with: null when Node-RED keeps it in clear, undefined when no key exists yet. */
function credentialKey(userDir, settings) {
  if (settings.credentialSecret === false) return null;
  let secret = typeof settings.credentialSecret === 'string' ? settings.credentialSecret : undefined;
  if (secret === undefined) secret = readJson(path.join(userDir, '.config.runtime.json'), {})._credentialSecret;
  return secret ? crypto.createHash('sha256').update(secret).digest() : undefined;
}

function decryptCredentials(key, data) {
  const iv = Buffer.from(data.$.substring(0, 32), 'hex');
  const decipher = crypto.createDecipheriv('aes-256-ctr', key, iv);
  return JSON.parse(decipher.update(data.$.substring(32), 'base64', 'utf8') + decipher.final('utf8'));
}

function encryptCredentials(key, creds) {
  const iv = crypto.randomBytes(16);
  const cipher = crypto.createCipheriv('aes-256-ctr', key, iv);
  return { $: iv.toString('hex') + cipher.update(JSON.stringify(creds), 'utf8', 'base64') + cipher.final('base64') };
}

/**
 * Adds `creds` (by node id) to the credentials file of `flowFile`, keeping those a node already has; in
 * clear when the settings disable encryption (or no key exists yet: Node-RED then encrypts the file with
 * the key it generates), else encrypted with the key Node-RED uses.
 */
function addCredentials(opts, settings, flowFile, creds) {
  if (Object.keys(creds).length === 0) return;
  const ext = path.extname(flowFile);
  const file = path.join(path.dirname(flowFile), `${path.basename(flowFile, ext)}_cred${ext}`);
  const key = credentialKey(opts.userDir, settings);
  const stored = readJson(file, {});
  const encrypted = typeof stored.$ === 'string' && Object.keys(stored).length === 1;
  if (encrypted && !key) {
    console.warn(`[segur-dpi] warning: ${file} is encrypted with a key this script cannot find: set the credentials of ${Object.keys(creds).join(', ')} in the editor.`);
    return;
  }
  const current = encrypted ? decryptCredentials(key, stored) : stored;
  for (const [id, c] of Object.entries(creds)) if (!current[id]) current[id] = c;
  fs.writeFileSync(file, JSON.stringify(key ? encryptCredentials(key, current) : current, null, 2), { mode: 0o600 });
}

/** The flows of `--flows FILE`, or the user dir's flows with the packs of flows/ merged in. */
function flowsToWrite(opts, flowFile) {
  if (opts.flows) return { flows: readJson(opts.flows, []), added: [], retired: [] };
  const flows = readJson(flowFile, []);
  const added = [];
  let retired = [];
  for (const pack of readFlowPacks()) {
    const layerMissing = pack.file === LAYER_PACK && pack.nodes.some((n) => n.type === 'tab' && !flows.some((f) => f.id === n.id));
    if (layerMissing) retired = removeRetiredTabs(flows);
    if (mergePack(flows, pack.nodes).length) added.push(pack.file);
  }
  return { flows, added, retired };
}

function prepareUserDir(opts) {
  fs.mkdirSync(path.join(opts.userDir, 'node_modules'), { recursive: true });
  const link = path.join(opts.userDir, 'node_modules', pkg.name);
  let linked = false;
  try {
    linked = fs.realpathSync(link) === fs.realpathSync(root);
  } catch {
    /* no link yet */
  }
  if (!linked) {
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(root, link, 'dir');
  }
  const userPkg = path.join(opts.userDir, 'package.json');
  if (!fs.existsSync(userPkg)) {
    fs.writeFileSync(
      userPkg,
      JSON.stringify({ name: 'segur-dpi-user-dir', private: true, dependencies: { [pkg.name]: `file:${root}` } }, null, 2),
    );
  }
  const settingsFile = path.join(opts.userDir, 'settings.js');
  if (!fs.existsSync(settingsFile)) {
    fs.copyFileSync(path.join(__dirname, 'settings.js'), settingsFile);
  }

  const flowFile = path.join(opts.userDir, 'flows.json');
  const { flows, added, retired } = flowsToWrite(opts, flowFile);
  const creds = takeCredentials(flows);
  if (opts.flows || added.length) {
    if (retired.length && fs.existsSync(flowFile)) {
      const backup = `${flowFile}.before-layer-${Date.now()}`;
      fs.copyFileSync(flowFile, backup);
      console.log(`[segur-dpi] the layer pack replaces the tab(s) ${retired.map((l) => `"${l}"`).join(', ')}: removed (flows saved in ${backup})`);
    }
    fs.writeFileSync(flowFile, JSON.stringify(flows, null, 2));
    addCredentials(opts, loadSettings(settingsFile), flowFile, creds);
  }
  if (added.length) console.log(`[segur-dpi] deployed flow pack(s): ${added.join(', ')}`);
}

/**
 * The layer pack's watched folder (SEGUR_DPI_INBOX): <user dir>/segur-dpi/inbox unless the environment
 * names another, created (0700: it receives documents of patients) before Node-RED's watch node looks
 * for it.
 */
function prepareInbox(opts) {
  if (!process.env.SEGUR_DPI_INBOX) process.env.SEGUR_DPI_INBOX = path.join(opts.userDir, 'segur-dpi', 'inbox');
  fs.mkdirSync(process.env.SEGUR_DPI_INBOX, { recursive: true, mode: 0o700 });
}

/** The settings as Node-RED will read them (loaded afresh, and not kept in the module cache). */
function loadSettings(file) {
  const resolved = require.resolve(file);
  delete require.cache[resolved];
  try {
    return require(resolved);
  } finally {
    delete require.cache[resolved];
  }
}

/**
 * Never an editor without login beyond this machine: generates the admin user on first start (when the
 * settings configure no adminAuth), then refuses settings without adminAuth whose editor would listen
 * beyond the loopback interface, and warns about them on it.
 */
function secureEditor(opts) {
  const settingsFile = path.join(opts.userDir, 'settings.js');
  const adminFile = path.join(opts.userDir, ADMIN_FILE);
  let settings = loadSettings(settingsFile);
  if (!settings.adminAuth && settings.httpAdminRoot !== false && !fs.existsSync(adminFile)) {
    const admin = createAdminUser(opts.userDir);
    settings = loadSettings(settingsFile);
    if (settings.adminAuth) {
      console.log('[segur-dpi] The editor needs a login. Generated for this user dir, shown only this once:');
      console.log(`[segur-dpi]   user: ${admin.username}   password: ${admin.password}`);
      console.log(`[segur-dpi] Stored as a bcrypt hash in ${admin.file} (mode 0600); delete that file for a new password at the next start.`);
    } else {
      fs.rmSync(adminFile, { force: true }); // these settings do not read it: no password to hand out
    }
  }
  const where = settings.uiHost === undefined || settings.uiHost === '' ? 'every interface' : settings.uiHost;
  const fix = `use the settings.js of scripts/ (it reads the generated ${ADMIN_FILE}) or configure adminAuth in ${settingsFile}`;
  switch (accessDecision(settings)) {
    case 'refuse':
      throw new Error(`the editor and admin API would listen on ${where} without a login (no adminAuth in ${settingsFile}): anyone who reaches the port could deploy flows and run commands. Set HOST=127.0.0.1, or ${fix}.`);
    case 'warn':
      console.warn(`[segur-dpi] warning: the editor on ${where} has no login (no adminAuth): any process of this machine can deploy flows; ${fix}.`);
      break;
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  prepareUserDir(opts);
  prepareInbox(opts);
  secureEditor(opts);
  // red.js reads its own command line: hand it the user dir, settings and port, then let it run
  // (it installs the SIGINT/SIGTERM handlers that stop the flows cleanly).
  process.argv = [
    process.argv[0],
    require.resolve('node-red/red.js'),
    '--userDir',
    opts.userDir,
    '--settings',
    path.join(opts.userDir, 'settings.js'),
    '--port',
    String(opts.port),
  ];
  require('node-red/red.js');
}

try {
  main();
} catch (err) {
  console.error(`[segur-dpi] cannot start Node-RED: ${err.message}`);
  process.exit(1);
}
