// The identity feed on the shared store (issue 15): PAM FR ADT messages read and applied through the store
// interface, SQLite (durable: answered once the WAL is synced) beside PostgreSQL (answered after COMMIT,
// synchronous_commit on) with one instance and two instances (two processes, each its own pool, on one
// database, the messages of each patient split between them, as behind a load balancer). PostgreSQL runs in
// a throwaway cluster on this machine (test/support/postgres.ts: Debian's package, fsync on, default settings).
// Each PostgreSQL instance is a child process running this file (INSTANCE_ENV), as a Node-RED would be.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readAdtPayload } from '../lib/ins';
import { PostgresIdentityStore, SqliteIdentityStore, type IdentityStore } from '../lib/store';
import { dropDatabase, freshDatabase } from '../test/support/postgres';
import { feedBytes } from './adt';
import type { BenchTable } from './table';

/** Lanes `mine` of `total` writers, each waiting for its answer: lane l applies messages l, l + total, l + 2·total… */
async function applyLanes(store: IdentityStore, msgs: Buffer[], mine: number[], total: number): Promise<void> {
  await Promise.all(
    mine.map(async (lane) => {
      for (let i = lane; i < msgs.length; i += total) {
        const r = readAdtPayload(msgs[i]);
        await store.applyAdt(r, { sender: r.sender, controlId: r.controlId, actor: 'bench' }, { code: r.ack, text: '' });
      }
    }),
  );
}

/** SQLite: `lanes` writers on one store in this process; msgs/s. */
async function applyAll(store: IdentityStore, msgs: Buffer[], lanes: number): Promise<number> {
  const t = performance.now();
  await applyLanes(store, msgs, Array.from({ length: lanes }, (_, l) => l), lanes);
  return (msgs.length * 1000) / (performance.now() - t);
}

const INSTANCE_ENV = 'SEGUR_BENCH_PG_INSTANCE';

interface InstanceJob {
  url: string;
  poolSize: number;
  patients: number;
  run: string;
  /** This instance's lanes, of `total`. */
  lanes: number[];
  total: number;
}

/** A PostgreSQL instance: a child process with its own store and pool, told when to start; resolves when it is ready. */
function startInstance(job: InstanceJob): Promise<ChildProcess> {
  const child = fork(__filename, [], { env: { ...process.env, [INSTANCE_ENV]: JSON.stringify(job) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`a bench instance exited (${code}) before it was ready`)));
  });
}

/** The instance's side: opens the store, warms it, says ready; on 'go' applies its lanes, says done and exits. */
async function instanceMain(job: InstanceJob): Promise<void> {
  const store = await PostgresIdentityStore.open({ url: job.url, poolSize: job.poolSize });
  const msgs = feedBytes(job.patients, job.run);
  await applyLanes(store, feedBytes(10, `WARM-${job.run}-${job.lanes[0]}`), [0], 1);
  process.send?.('ready');
  await new Promise((resolve) => process.once('message', resolve));
  await applyLanes(store, msgs, job.lanes, job.total);
  await store.close();
  process.send?.('done', () => process.exit(0));
}

/** PostgreSQL: `instances` processes of `lanes` writers each on a new database; msgs/s from the start signal to the last one done. */
async function postgresRun(instances: number, lanes: number, patients: number): Promise<number> {
  const url = await freshDatabase('bench');
  const total = instances * lanes;
  const run = `PG${instances}-${lanes}`;
  const children: ChildProcess[] = [];
  try {
    for (let p = 0; p < instances; p++) {
      const mine = Array.from({ length: total }, (_, l) => l).filter((l) => l % instances === p);
      children.push(await startInstance({ url, poolSize: Math.max(lanes, 2), patients, run, lanes: mine, total }));
    }
    const done = children.map((c) => new Promise<void>((resolve, reject) => {
      c.once('message', () => resolve());
      c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`a bench instance failed (${code})`))));
    }));
    const count = feedBytes(patients, run).length;
    const t = performance.now();
    for (const c of children) c.send('go');
    await Promise.all(done);
    return (count * 1000) / (performance.now() - t);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
    await dropDatabase(url);
  }
}

if (process.env[INSTANCE_ENV]) {
  instanceMain(JSON.parse(process.env[INSTANCE_ENV]) as InstanceJob).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

export async function run(): Promise<BenchTable[]> {
  const patients = Number(process.env.ADT_PG_BENCH_PATIENTS) || 400;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-bench-pg-'));
  const rows: (string | number)[][] = [];
  try {
    for (const lanes of [1, 8]) {
      const store = new SqliteIdentityStore({ file: path.join(dir, `sqlite-${lanes}.db`) });
      try {
        rows.push(['SQLite, durable (WAL synced), 1 instance', '1', String(lanes), await applyAll(store, feedBytes(patients, `SQ${lanes}`), lanes)]);
      } finally {
        await store.close();
      }
    }
    for (const [instances, lanes] of [[1, 1], [1, 8], [2, 1], [2, 4], [2, 8]] as const) {
      rows.push([`PostgreSQL, COMMIT with synchronous_commit on, ${instances} instance(s)`, String(instances), String(lanes * instances), await postgresRun(instances, lanes, patients)]);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return [
    {
      title: `Identity feed on the shared store: ADT → lib/ins → store, SQLite beside PostgreSQL (${patients.toLocaleString('en-US')} patients × 5 messages)`,
      columns: ['store', 'instances', 'writers', 'msgs/s'],
      rows,
      notes: [
        'Each PostgreSQL instance a process of its own (its store, its pool) on one database, started and warmed before the clock starts; writers each wait for their answer before the next message. The instances share this machine\'s cores with the server and each other: on separate machines each has its own.',
        'PostgreSQL: a throwaway local cluster (fsync on, shared_buffers 32 MB, otherwise defaults), reached over TCP on 127.0.0.1. Each message one transaction: advisory locks on its idempotence key and its IPPs, the reads and writes, COMMIT.',
      ],
    },
  ];
}
