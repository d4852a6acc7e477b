#!/usr/bin/env node
'use strict';
// Starts a real Node-RED (the project's devDependency) with this pack loaded.
//
//   node scripts/node-red.js [--user-dir DIR] [--port N] [--flows FILE]
//
// - the user dir (default .node-red/, git-ignored) is created on first use, with a settings.js and a
//   node_modules/node-red-contrib-segur-dpi link to this project, so Node-RED loads the pack the way it
//   loads any installed module (palette, help, Import > Examples);
// - without --flows, every ready-made flow pack in flows/ whose tab is not yet in the user dir's
//   flows.json is added to it (flows you changed in the editor are kept); with --flows FILE, that file
//   becomes flows.json (end-to-end tests use this);
// - the editor and admin API need a login (scripts/admin-auth.js): on first start an admin user is
//   generated, its password printed once; settings without any adminAuth are refused when the editor
//   would listen beyond 127.0.0.1 (HOST=0.0.0.0);
// - Ctrl-C (SIGINT) or SIGTERM stops Node-RED cleanly (flows stopped, sockets closed).
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
  if (opts.flows) {
    fs.copyFileSync(opts.flows, flowFile);
    return;
  }
  let flows = [];
  if (fs.existsSync(flowFile)) {
    const text = fs.readFileSync(flowFile, 'utf8').trim();
    flows = text ? JSON.parse(text) : [];
  }
  const present = new Set(flows.map((n) => n.id));
  const added = [];
  for (const pack of readFlowPacks()) {
    const tab = pack.nodes.find((n) => n.type === 'tab');
    if (tab && present.has(tab.id)) continue;
    // config nodes a pack shares with another one already deployed are not added twice
    flows.push(...pack.nodes.filter((n) => !present.has(n.id)));
    pack.nodes.forEach((n) => present.add(n.id));
    added.push(pack.file);
  }
  if (added.length) {
    fs.writeFileSync(flowFile, JSON.stringify(flows, null, 2));
    console.log(`[segur-dpi] deployed flow pack(s): ${added.join(', ')}`);
  }
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
