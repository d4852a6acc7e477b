// The package as a user gets it (issue 12): `npm pack` makes the tarball, npm installs it into a new,
// separate Node-RED user dir (its dependencies from the npm cache or registry, as `npm install` in
// ~/.node-red does), and Node-RED 4.1 on this Node 20 loads it from there — not from this checkout.
//
// better-sqlite3, the one native dependency, is pinned to the version this checkout has built and its
// addon copied from there (what prebuild-install would download): the test compiles nothing, so it
// runs in a minute, not in the many minutes a source build of SQLite takes on a busy machine.
// scripts/node-red-5.sh (run by .ci/run) installs the tarball the ordinary way, build included.
import { strict as assert } from 'node:assert';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT, getFreePort } from './harness';

const run = promisify(execFile);
const PKG = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
const TYPES: string[] = Object.keys(PKG['node-red'].nodes);
const NODE_RED = path.dirname(require.resolve('node-red/package.json', { paths: [PROJECT_ROOT] }));
const SQLITE = path.dirname(require.resolve('better-sqlite3/package.json', { paths: [PROJECT_ROOT] }));

/** Node-RED's settings in the new user dir: the editor on the loopback interface only, no login. */
const SETTINGS = `module.exports = {
  uiHost: '127.0.0.1',
  flowFile: 'flows.json',
  credentialSecret: false,
  logging: { console: { level: 'info', metrics: false, audit: false } },
  diagnostics: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
};
`;

function request(port: number, method: string, urlPath: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .request({ host: '127.0.0.1', port, method, path: urlPath, headers, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      })
      .on('error', reject)
      .end(body);
  });
}

/** The first paragraph of a help file as shipped (the editor serves the file's text unchanged). */
function firstParagraph(type: string, lang: 'en-US' | 'fr'): string {
  const html = fs.readFileSync(path.join(PROJECT_ROOT, 'nodes', type, 'locales', lang, `${type}.html`), 'utf8');
  const p = /<p>[\s\S]*?<\/p>/.exec(html);
  assert.ok(p, `${type} ${lang}: a help without a paragraph`);
  return p[0];
}

describe('e2e: npm pack → a separate Node-RED 4.1 user dir (issue 12)', function () {
  this.timeout(600_000);
  let tmp: string;
  let userDir: string;
  let red: ChildProcess | null = null;
  let port: number;
  let log = '';

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-pack-'));
    userDir = path.join(tmp, 'user');
    fs.mkdirSync(userDir);
    // 1. the tarball, as `npm publish` would upload it
    const packed = await run('npm', ['pack', '--json', '--pack-destination', tmp, PROJECT_ROOT], { cwd: tmp, maxBuffer: 16 << 20 });
    const tarball = path.join(tmp, (JSON.parse(packed.stdout) as { filename: string }[])[0].filename);
    // 2. installed into the user dir, as `npm install <module>` in ~/.node-red does (no install scripts: see above)
    const sqlite = JSON.parse(fs.readFileSync(path.join(SQLITE, 'package.json'), 'utf8')).version as string;
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-user-dir', private: true }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--omit=dev', '--ignore-scripts', tarball, `better-sqlite3@${sqlite}`], { cwd: userDir, maxBuffer: 16 << 20 });
    const release = path.join(userDir, 'node_modules', 'better-sqlite3', 'build', 'Release');
    fs.mkdirSync(release, { recursive: true });
    fs.copyFileSync(path.join(SQLITE, 'build', 'Release', 'better_sqlite3.node'), path.join(release, 'better_sqlite3.node'));
    fs.writeFileSync(path.join(userDir, 'settings.js'), SETTINGS);
    const installed = path.join(userDir, 'node_modules', PKG.name);
    assert.equal(fs.lstatSync(installed).isSymbolicLink(), false, 'a copy of the package, not a link to this checkout');
    // the layer pack's environment: its listeners on free ports, its folder and store here, a PSC client secret
    const env: Record<string, string> = { SEGUR_DPI_INBOX: path.join(tmp, 'inbox'), SEGUR_STORE_FILE: path.join(tmp, 'segur.db'), SEGUR_PSC_CLIENT_SECRET: 'pack-test-secret' };
    fs.mkdirSync(env.SEGUR_DPI_INBOX);
    for (const name of ['SEGUR_GAM_PORT', 'SEGUR_REPORTS_PORT', 'SEGUR_PFI_ACK_PORT', 'SEGUR_PFI_PORT']) env[name] = String(await getFreePort());
    port = await getFreePort();
    // 3. Node-RED 4.1 (this checkout's devDependency) on that user dir, from a directory outside this checkout
    red = spawn(process.execPath, [path.join(NODE_RED, 'red.js'), '--userDir', userDir, '--settings', path.join(userDir, 'settings.js'), '--port', String(port)], {
      cwd: tmp,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    red.stdout?.on('data', (c: Buffer) => (log += c.toString('utf8')));
    red.stderr?.on('data', (c: Buffer) => (log += c.toString('utf8')));
    await flowsStarted(0);
    // 4. the layer pack shipped in the package, deployed as Import ▸ select a file ▸ Deploy does
    const mark = log.length;
    const layer = fs.readFileSync(path.join(installed, 'flows', 'segur-dpi-layer.json'), 'utf8');
    const deployed = await request(port, 'POST', '/flows', { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full', 'Node-RED-API-Version': 'v1' }, layer);
    assert.ok(deployed.status === 200 || deployed.status === 204, `POST /flows: HTTP ${deployed.status} ${deployed.body}`);
    await flowsStarted(mark);
  });

  /** Resolves when the log, after character `from`, says the flows started; rejects when it says they cannot. */
  function flowsStarted(from: number): Promise<void> {
    const until = Date.now() + 180_000;
    return new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        const text = log.slice(from);
        if (/Started flows/.test(text)) done();
        else if (Date.now() > until) done(new Error(`the flows did not start within 180 s:\n${log}`));
        else if (/Waiting for missing types|Error loading flows|Failed to start/i.test(text)) done(new Error(`the flows did not start:\n${log}`));
        else if (red?.exitCode !== null) done(new Error(`Node-RED exited (${red?.exitCode}):\n${log}`));
      }, 100);
      const done = (err?: Error) => {
        clearInterval(check);
        if (err) reject(err);
        else resolve();
      };
    });
  }

  after(async () => {
    if (red && red.exitCode === null) {
      const exited = new Promise((r) => red?.once('exit', r));
      red.kill('SIGINT');
      const timer = setTimeout(() => red?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it(`loads every node of package.json from the installed copy, with no error (GET /nodes)`, async () => {
    const res = await request(port, 'GET', '/nodes', { accept: 'application/json' });
    assert.equal(res.status, 200);
    const sets = (JSON.parse(res.body) as { module: string; types: string[]; enabled: boolean; err?: string }[]).filter((s) => s.module === PKG.name);
    assert.deepEqual(sets.filter((s) => s.err || !s.enabled), [], 'node sets not loaded');
    assert.deepEqual(sets.flatMap((s) => s.types).sort(), [...TYPES].sort());
    // Node-RED 4.1 (package.json's devDependency), on the Node.js that runs the tests (20 in CI)
    const version = JSON.parse(fs.readFileSync(path.join(NODE_RED, 'package.json'), 'utf8')).version as string;
    assert.match(version, /^4\.1\./);
    assert.ok(log.includes(`Node-RED version: v${version}`), `Node-RED ${version} in the log`);
    assert.ok(log.includes(`Node.js  version: ${process.version}`), `Node.js ${process.version} in the log`);
  });

  it('serves each node help in English and in French (the locales of the tarball)', async () => {
    for (const [lang, accept] of [['en-US', 'en-US'], ['fr', 'fr-FR,fr']] as const) {
      const res = await request(port, 'GET', '/nodes', { accept: 'text/html', 'accept-language': accept });
      assert.equal(res.status, 200);
      for (const type of TYPES) assert.ok(res.body.includes(firstParagraph(type, lang)), `${type}: the ${lang} help`);
    }
  });

  it('deploys the layer pack shipped in the tarball with no warning or error in the runtime log', () => {
    const ours = new RegExp(`\\[(warn|error)\\] \\[(${TYPES.join('|')})[:\\]]`);
    assert.deepEqual(
      log.split('\n').filter((l) => ours.test(l) || /\[error\]|^Error\b/.test(l)),
      [],
    );
  });
});
