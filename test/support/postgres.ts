// A throwaway PostgreSQL cluster for the tests of the PostgreSQL store (issue 15): Debian's initdb and
// pg_ctl (/usr/lib/postgresql/<version>/bin), a cluster in a temporary folder, on a free local port,
// trust authentication on 127.0.0.1 only — except for two roles that must prove a password (SCRAM), one of
// them over TLS only (a self-signed certificate for 127.0.0.1 made by openssl: AUTH_ROLES); started once per
// test process, on first use, and stopped with its folder removed when the process exits. As root (CI containers), the cluster runs as the `postgres`
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
  /** The server's certificate (PEM): the CA a client verifying it trusts. */
  certificate: string;
}

/**
 * Roles that must authenticate (pg_hba.conf, SCRAM-SHA-256): `password` from any local TCP connection,
 * `tls` over TLS only (refused without it).
 */
export const AUTH_ROLES = {
  password: { user: 'segur_pw', password: 'pw-Segur-2026' },
  tls: { user: 'segur_tls', password: 'tls-Segur-2026' },
} as const;

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
    // TLS: a self-signed certificate for 127.0.0.1, in the data folder (PostgreSQL wants its key private)
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', path.join(data, 'server.key'), '-out', path.join(data, 'server.crt')], { stdio: 'pipe' });
    if (asRoot) execFileSync('chown', ['postgres:postgres', path.join(data, 'server.key'), path.join(data, 'server.crt')]);
    fs.chmodSync(path.join(data, 'server.key'), 0o600);
    const { password, tls } = AUTH_ROLES;
    fs.writeFileSync(
      path.join(data, 'pg_hba.conf'),
      [
        `hostssl all ${tls.user} 127.0.0.1/32 scram-sha-256`,
        `host all ${tls.user} 127.0.0.1/32 reject`,
        `host all ${password.user} 127.0.0.1/32 scram-sha-256`,
        'host all all 127.0.0.1/32 trust',
        'local all all trust',
        '',
      ].join('\n'),
    );
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100 -c shared_buffers=32MB -c ssl=on`;
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
  const client = new pg.Client({ connectionString: urlOf('postgres') });
  await client.connect();
  try {
    for (const role of Object.values(AUTH_ROLES)) await client.query(`CREATE ROLE ${role.user} LOGIN PASSWORD '${role.password}'`);
  } finally {
    await client.end();
  }
  return { url: urlOf('postgres'), port, urlOf, certificate: fs.readFileSync(path.join(data, 'server.crt'), 'utf8') };
}

let databases = 0;

/** A new, empty database of the test cluster (one per test: the stores under test start from nothing), owned by `owner`; its URL. */
export async function freshDatabase(prefix = 'store', owner = 'postgres'): Promise<string> {
  const cluster = await testCluster();
  const name = `${prefix}_${process.pid}_${++databases}`;
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name} OWNER ${owner}`);
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
