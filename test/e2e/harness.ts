// End-to-end harness: runs a REAL Node-RED (the project's devDependency, through scripts/node-red.js,
// so the pack is loaded from its package.json like an installed module) as a child process, with a
// temporary user dir and a flow file written by the test.
//
//   const red = await NodeRed.start({ flows });     // resolves once the admin API answers and flows run
//   ... talk to the flows (red.url, red.request(), red.deploy()) ...
//   await red.restart();                             // stop + start again, same user dir and flows
//   await red.kill(); await red.startAgain();        // SIGKILL (a crash), then start again
//   await red.stop();                                // SIGINT (SIGKILL after a grace period), temp dir removed
//
// The child's stdout / stderr are captured (red.output) and quoted in start-up failure messages.
//
// The editor and admin API need a login, as `npm start` sets them up (scripts/admin-auth.js): by default
// the harness writes the admin user file itself (a random password for each run, stored hashed like the
// generated one), logs in through /auth/token and sends the token with every request (and on the debug
// websocket, comms.ts); with `login: 'generated'` it lets scripts/node-red.js generate the user on first
// start and reads the password it prints once, as a person would.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../support/mllp';

// scripts/admin-auth.js (plain JS, run by `npm start`): the admin user file, written the same way here
// eslint-disable-next-line @typescript-eslint/no-require-imports
const adminAuth = require(path.join(findRoot(__dirname), 'scripts', 'admin-auth.js')) as {
  ADMIN_FILE: string;
  writeAdminUser(userDir: string, username: string, password: string, rounds?: number): string;
};

/** The admin API token of the Node-RED listening on this port (for the debug websocket, comms.ts). */
const tokens = new Map<number, string>();
export function adminToken(port: number): string | undefined {
  return tokens.get(port);
}

/** The project root (this file runs from dist/test/e2e/). */
export const PROJECT_ROOT = findRoot(__dirname);

function findRoot(from: string): string {
  let dir = from;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'node-red-contrib-segur-dpi') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`harness: project root not found above ${from}`);
    dir = up;
  }
}

/** A TCP port that was free a moment ago. */
export const getFreePort = freePort;

// children still running when this process exits (a failed test, mocha --exit) are killed with it
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export type FlowNode = Record<string, unknown> & { id: string; type: string };

export interface NodeRedOptions {
  /** The flows to run (written to a file handed to scripts/node-red.js --flows). */
  flows: FlowNode[];
  /** HTTP (editor / admin API) port; default: a free port. */
  port?: number;
  /** Extra environment variables for the child (e.g. NODE_RED_LOG_LEVEL). */
  env?: Record<string, string>;
  /** How long to wait for the admin API and the flows; default 30 s. */
  startTimeoutMs?: number;
  /** How long SIGINT may take before SIGKILL; default 5 s. */
  stopTimeoutMs?: number;
  /** Copy the child's output to this process's stdout / stderr as it comes (debugging). */
  echo?: boolean;
  /**
   * 'preset' (default): the harness writes the admin user file before the first start; 'generated':
   * scripts/node-red.js generates it and prints the password, which the harness reads from the output.
   */
  login?: 'preset' | 'generated';
  /**
   * More users of adminAuth beside the harness's own (permissions '*'), for tests of permissions: the
   * user dir gets the settings.js of `npm start` with these users added (passwords stored bcrypt-hashed).
   * Only with login 'preset'.
   */
  users?: { username: string; password: string; permissions: string | string[] }[];
}

export interface HttpResponse {
  status: number;
  body: string;
  json<T = unknown>(): T;
}

export class NodeRed {
  /** Temporary directory holding the user dir and the flow file. */
  readonly baseDir: string;
  readonly userDir: string;
  readonly port: number;
  private readonly flowsFile: string;
  private readonly opts: NodeRedOptions;
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  private out: string[] = [];
  private outLength = 0;
  /** The editor's login, and the token of the current run. */
  credentials: { username: string; password: string } | null = null;
  private token: string | null = null;

  private constructor(opts: NodeRedOptions, port: number) {
    this.opts = opts;
    this.port = port;
    this.baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-dpi-e2e-'));
    this.userDir = path.join(this.baseDir, 'user');
    this.flowsFile = path.join(this.baseDir, 'flows.input.json');
    fs.writeFileSync(this.flowsFile, JSON.stringify(opts.flows, null, 2));
    if ((opts.login ?? 'preset') === 'preset') {
      this.credentials = { username: 'e2e', password: randomBytes(12).toString('base64url') };
      adminAuth.writeAdminUser(this.userDir, this.credentials.username, this.credentials.password, 4);
      if (opts.users?.length) this.writeSettingsWithUsers(opts.users);
    }
  }

  /** scripts/settings.js as npm start copies it, then the extra users pushed onto its adminAuth. */
  private writeSettingsWithUsers(users: NonNullable<NodeRedOptions['users']>): void {
    const from = [path.dirname(require.resolve('node-red/package.json')), path.dirname(require.resolve('@node-red/editor-api/package.json'))];
    const bcrypt = require(require.resolve('bcryptjs', { paths: from })) as { hashSync(p: string, rounds: number): string };
    const hashed = users.map((u) => ({ username: u.username, password: bcrypt.hashSync(u.password, 4), permissions: u.permissions }));
    const base = fs.readFileSync(path.join(PROJECT_ROOT, 'scripts', 'settings.js'), 'utf8');
    fs.writeFileSync(path.join(this.userDir, 'settings.js'), `${base}\n// added by the e2e harness (users option)\nmodule.exports.adminAuth.users.push(...${JSON.stringify(hashed)});\n`);
  }

  /** The admin user file in the user dir. */
  get adminFile(): string {
    return path.join(this.userDir, adminAuth.ADMIN_FILE);
  }

  /** Starts Node-RED and waits until its admin API answers and its flows are started. */
  static async start(opts: NodeRedOptions): Promise<NodeRed> {
    const red = new NodeRed(opts, opts.port ?? (await getFreePort()));
    try {
      await red.launch();
    } catch (err) {
      await red.stop();
      throw err;
    }
    return red;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything the child wrote to stdout / stderr so far (kept to the last ~1 MB). */
  get output(): string {
    return this.out.join('');
  }

  /** Stops Node-RED (the user dir is kept) and starts it again with the flows it had. */
  async restart(): Promise<void> {
    await this.halt();
    await this.startAgain();
  }

  /** Kills Node-RED with SIGKILL (no shutdown of any kind: a crash) and waits until it is gone; the user dir is kept. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.exited;
  }

  /** Starts Node-RED again after kill() (or a stop that kept the user dir), with the flows it had. */
  async startAgain(): Promise<void> {
    if (this.child) throw new Error('harness: Node-RED is running');
    const current = path.join(this.userDir, 'flows.json');
    if (fs.existsSync(current)) fs.copyFileSync(current, this.flowsFile);
    await this.launch();
  }

  /** Stops Node-RED: SIGINT, then SIGKILL after stopTimeoutMs; removes the temporary directory. */
  async stop(): Promise<void> {
    await this.halt();
    fs.rmSync(this.baseDir, { recursive: true, force: true });
  }

  /**
   * An HTTP request to the editor / admin API, with the login's token (pass `authorization: ''` to send
   * none, or another value to send that instead).
   */
  request(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResponse> {
    if (!('authorization' in headers) && this.token) headers = { ...headers, authorization: `Bearer ${this.token}` };
    else if (headers.authorization === '') {
      headers = { ...headers };
      delete headers.authorization;
    }
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path: urlPath,
          headers: { ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}), ...headers },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, body: text, json: <T>() => JSON.parse(text) as T });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timeout`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  /** Logs in (POST /auth/token, Node-RED's password grant); resolves with the HTTP status and the token, if any. */
  async login(username: string, password: string): Promise<{ status: number; token: string | null }> {
    const res = await this.request('POST', '/auth/token', { client_id: 'node-red-admin', grant_type: 'password', scope: '*', username, password }, { authorization: '' });
    return { status: res.status, token: res.status === 200 ? res.json<{ access_token: string }>().access_token : null };
  }

  /** Replaces the running flows (full deploy through the admin API) and waits until they are started. */
  async deploy(flows: FlowNode[]): Promise<void> {
    const mark = this.outLength;
    const res = await this.request('POST', '/flows', flows, { 'Node-RED-Deployment-Type': 'full', 'Node-RED-API-Version': 'v1' });
    if (res.status !== 204 && res.status !== 200) throw new Error(`deploy failed: HTTP ${res.status} ${res.body}`);
    await this.waitForOutput(/Started flows/, this.opts.startTimeoutMs ?? 30_000, mark);
  }

  /** Resolves when the output (after character `from`) matches `re`. */
  async waitForOutput(re: RegExp, timeoutMs = 10_000, from = 0): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!re.test(this.output.slice(Math.max(0, from - (this.outLength - this.output.length))))) {
      if (!this.running) throw new Error(`Node-RED exited while waiting for ${re}\n${this.tail()}`);
      if (Date.now() > until) throw new Error(`timeout waiting for ${re} in the Node-RED output\n${this.tail()}`);
      await sleep(50);
    }
  }

  // ---------------------------------------------------------------------------------------------

  private tail(lines = 60): string {
    return '--- Node-RED output (last lines) ---\n' + this.output.split('\n').slice(-lines).join('\n');
  }

  private record(chunk: Buffer, echo?: NodeJS.WriteStream): void {
    const s = chunk.toString('utf8');
    this.out.push(s);
    this.outLength += s.length;
    let total = this.out.reduce((n, x) => n + x.length, 0);
    while (total > 1_000_000 && this.out.length > 1) total -= (this.out.shift() as string).length;
    if (echo) echo.write(s);
  }

  private async launch(): Promise<void> {
    const timeoutMs = this.opts.startTimeoutMs ?? 30_000;
    const mark = this.outLength;
    const child = spawn(
      process.execPath,
      [path.join(PROJECT_ROOT, 'scripts', 'node-red.js'), '--user-dir', this.userDir, '--port', String(this.port), '--flows', this.flowsFile],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, NODE_RED_LOG_LEVEL: 'info', HOST: '127.0.0.1', ...this.opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    live.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        live.delete(child);
        resolve(code);
      }),
    );
    child.stdout?.on('data', (c: Buffer) => this.record(c, this.opts.echo ? process.stdout : undefined));
    child.stderr?.on('data', (c: Buffer) => this.record(c, this.opts.echo ? process.stderr : undefined));

    const until = Date.now() + timeoutMs;
    const since = () => this.output.slice(Math.max(0, mark - (this.outLength - this.output.length)));
    // 1. the admin API answers
    for (;;) {
      if (!this.running) throw new Error(`Node-RED exited during start-up (code ${child.exitCode})\n${this.tail()}`);
      if (Date.now() > until) throw new Error(`Node-RED admin API did not answer within ${timeoutMs} ms\n${this.tail()}`);
      try {
        const res = await this.request('GET', '/auth/login', undefined, { authorization: '' });
        if (res.status === 200) break;
      } catch {
        /* not listening yet */
      }
      await sleep(100);
    }
    // 2. log in: with the preset user, or the one scripts/node-red.js generated and printed once
    if (!this.credentials) {
      const printed = /user: (\S+)\s+password: (\S+)/.exec(since());
      if (!printed) throw new Error(`no generated admin password in the output of the first start\n${this.tail()}`);
      this.credentials = { username: printed[1], password: printed[2] };
    }
    const { status, token } = await this.login(this.credentials.username, this.credentials.password);
    if (!token) throw new Error(`cannot log in to the editor: HTTP ${status}\n${this.tail()}`);
    this.token = token;
    tokens.set(this.port, token);
    const flows = await this.request('GET', '/flows');
    if (flows.status !== 200) throw new Error(`GET /flows with the login's token: HTTP ${flows.status}\n${this.tail()}`);
    // 3. the flows are started (or cannot be)
    for (;;) {
      const text = since();
      if (/Started flows/.test(text)) return;
      if (/Waiting for missing types|Error loading flows|Failed to start/i.test(text)) {
        throw new Error(`Node-RED could not start the flows\n${this.tail()}`);
      }
      if (!this.running) throw new Error(`Node-RED exited during start-up\n${this.tail()}`);
      if (Date.now() > until) throw new Error(`Node-RED flows not started within ${timeoutMs} ms\n${this.tail()}`);
      await sleep(50);
    }
  }

  private async halt(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    this.token = null;
    tokens.delete(this.port);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const timeout = sleep(this.opts.stopTimeoutMs ?? 5000).then(() => 'timeout' as const);
      if ((await Promise.race([this.exited, timeout])) === 'timeout') {
        child.kill('SIGKILL');
        await this.exited;
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
