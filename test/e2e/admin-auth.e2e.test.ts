// Issue 11, "Not open to the network": `npm start` (scripts/node-red.js) never serves the editor or the
// admin API without a login beyond 127.0.0.1. A real Node-RED is started each time.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { NodeRed, PROJECT_ROOT, getFreePort } from './harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const adminAuth = require(path.join(PROJECT_ROOT, 'scripts', 'admin-auth.js')) as {
  isLoopback(host: unknown): boolean;
  accessDecision(settings: Record<string, unknown>): 'ok' | 'warn' | 'refuse';
};

const FLOWS = [{ id: 'auth-tab', type: 'tab', label: 'auth' }];

/** Runs scripts/node-red.js until it exits or its output matches `until`; then stops it. */
function runNodeRed(userDir: string, port: number, host: string, until: RegExp): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'node-red.js'), '--user-dir', userDir, '--port', String(port)], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, HOST: host, NODE_RED_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const seen = (c: Buffer) => {
      output += c.toString('utf8');
      if (until.test(output)) child.kill('SIGINT');
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, output });
    });
  });
}

/** A user dir whose settings.js configures no adminAuth (as copied by an earlier release). */
function userDirWithoutLogin(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-dpi-noauth-'));
  fs.writeFileSync(
    path.join(dir, 'settings.js'),
    "module.exports = { flowFile: 'flows.json', uiHost: process.env.HOST || '127.0.0.1', logging: { console: { level: 'info' } }, telemetry: { enabled: false }, diagnostics: { enabled: false } };\n",
  );
  return dir;
}

describe('end to end: the editor needs a login (issue 11)', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('which settings are refused: no adminAuth beyond the loopback interface', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.equal(adminAuth.isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '::', '192.0.2.10', 'example.org', undefined, '']) assert.equal(adminAuth.isLoopback(h), false, String(h));
    assert.equal(adminAuth.accessDecision({ uiHost: '0.0.0.0', adminAuth: { type: 'credentials', users: [] } }), 'ok');
    assert.equal(adminAuth.accessDecision({ uiHost: '0.0.0.0' }), 'refuse');
    assert.equal(adminAuth.accessDecision({}), 'refuse', "Node-RED's default uiHost is every interface");
    assert.equal(adminAuth.accessDecision({ uiHost: '127.0.0.1' }), 'warn');
    assert.equal(adminAuth.accessDecision({ uiHost: '0.0.0.0', httpAdminRoot: false }), 'ok', 'no editor, no admin API');
  });

  it('first start generates an admin user: password printed once, stored hashed (0600); nothing is served without logging in', async () => {
    const red = await NodeRed.start({ flows: FLOWS, login: 'generated' });
    try {
      const { username, password } = red.credentials!;
      assert.equal(username, 'admin');
      assert.ok(password.length >= 20);
      assert.equal((red.output.match(/password: /g) ?? []).length, 1);
      assert.equal((fs.statSync(red.adminFile).mode & 0o777).toString(8), '600');
      const stored = JSON.parse(fs.readFileSync(red.adminFile, 'utf8')) as { username: string; password: string };
      assert.equal(stored.username, 'admin');
      assert.match(stored.password, /^\$2[aby]\$\d\d\$/, 'a bcrypt hash');
      assert.ok(!fs.readFileSync(red.adminFile, 'utf8').includes(password), 'never the password itself');
      // the admin API: nothing without a token (flows, deploy, inject), everything with it
      assert.equal((await red.request('GET', '/flows', undefined, { authorization: '' })).status, 401);
      assert.equal((await red.request('POST', '/flows', [], { authorization: '' })).status, 401);
      assert.equal((await red.request('GET', '/settings', undefined, { authorization: '' })).status, 401);
      assert.equal((await red.request('GET', '/flows')).status, 200);
      assert.equal((await red.login('admin', 'not the password')).token, null);
      // a restart neither prints nor changes the password
      await red.restart();
      assert.equal((red.output.match(/password: /g) ?? []).length, 1);
      assert.ok((await red.login('admin', password)).token);
    } finally {
      await red.stop();
    }
  });

  it('refuses HOST=0.0.0.0 when the settings have no adminAuth, before listening', async () => {
    const userDir = userDirWithoutLogin();
    dirs.push(userDir);
    const port = await getFreePort();
    const { code, output } = await runNodeRed(userDir, port, '0.0.0.0', /Started flows|Server now running/);
    assert.equal(code, 1, output);
    assert.match(output, /cannot start Node-RED: the editor and admin API would listen on 0\.0\.0\.0 without a login/);
    assert.ok(!fs.existsSync(path.join(userDir, 'segur-dpi-admin.json')), 'no password handed out that these settings would not use');
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve();
        });
        s.on('error', reject);
      }),
      /ECONNREFUSED/,
    );
  });

  it('on 127.0.0.1, settings without adminAuth start with a warning', async () => {
    const userDir = userDirWithoutLogin();
    dirs.push(userDir);
    const port = await getFreePort();
    const { output } = await runNodeRed(userDir, port, '127.0.0.1', /Server now running/);
    assert.match(output, /warning: the editor on 127\.0\.0\.1 has no login/);
    assert.match(output, /Server now running at http:\/\/127\.0\.0\.1:/);
  });
});
