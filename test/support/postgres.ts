// A throwaway PostgreSQL cluster for the tests of the PostgreSQL store (issue 15): Debian's initdb and
// pg_ctl (/usr/lib/postgresql/<version>/bin), a cluster in a temporary folder, on a free local port,
// trust authentication on 127.0.0.1 only; started once per test process, on first use, and stopped with
// its folder removed when the process exits. As root (CI containers), the cluster runs as the `postgres`
// user Debian's package creates: PostgreSQL refuses to run as root. When PostgreSQL is not installed the
// tests FAIL, saying what to install — never a silent skip.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface TestCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** The URL of a database of the cluster. */
  urlOf(database: string): string;
}

export const POSTGRES_MISSING =
  'PostgreSQL is not installed: the PostgreSQL store tests need initdb and pg_ctl under /usr/lib/postgresql/<version>/bin — ' +
  'install Debian\'s package (apt-get install postgresql), as .ci/run does';

/** The bin folder of the newest PostgreSQL installed from Debian's packages, or null. */
export function postgresBin(): string | null {
  const base = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = fs.readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  } catch {
    return null;
  }
  for (const v of versions) {
    const bin = path.join(base, v, 'bin');
    if (fs.existsSync(path.join(bin, 'initdb')) && fs.existsSync(path.join(bin, 'pg_ctl'))) return bin;
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

let started: Promise<TestCluster> | null = null;

/** The cluster of this test process, started on first call; rejects with POSTGRES_MISSING when not installed. */
export function testCluster(): Promise<TestCluster> {
  if (!started) started = start();
  return started;
}

async function start(): Promise<TestCluster> {
  const bin = postgresBin();
  if (!bin) throw new Error(POSTGRES_MISSING);
  const asRoot = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-pg-'));
  const data = path.join(dir, 'data');
  if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
  // as root, every command runs as postgres (runuser, from util-linux)
  const run = (cmd: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args], { stdio: 'pipe' }) : execFileSync(path.join(bin, cmd), args, { stdio: 'pipe' });
  const port = await freePort();
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-instructions']);
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100 -c shared_buffers=32MB`;
    run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-o', opts, '-w', '-t', '60', 'start']);
  } catch (err) {
    const e = err as Error & { stderr?: Buffer };
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`the test PostgreSQL cluster did not start: ${e.stderr?.toString() || e.message}`);
  }
  process.once('exit', () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already stopped
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const urlOf = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return { url: urlOf('postgres'), port, urlOf };
}

let databases = 0;

/** A new, empty database of the test cluster (one per test: the stores under test start from nothing); its URL. */
export async function freshDatabase(prefix = 'store'): Promise<string> {
  const cluster = await testCluster();
  const name = `${prefix}_${process.pid}_${++databases}`;
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return cluster.urlOf(name);
}

/** Drops a database made by freshDatabase (its connections closed first). */
export async function dropDatabase(url: string): Promise<void> {
  const cluster = await testCluster();
  const name = new URL(url).pathname.slice(1);
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
