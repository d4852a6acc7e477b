// The identity feed on the shared store (issue 15): PAM FR ADT messages read and applied through the store
// interface, SQLite (durable: answered once the WAL is synced) beside PostgreSQL (answered after COMMIT,
// synchronous_commit on) with one instance (one pool) and two instances (two pools on one database, the
// messages of each patient split between them, as behind a load balancer). PostgreSQL runs in a throwaway
// cluster on this machine (test/support/postgres.ts: Debian's package, fsync on, default settings).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readAdtPayload } from '../lib/ins';
import { PostgresIdentityStore, SqliteIdentityStore, type IdentityStore } from '../lib/store';
import { identityFeed } from '../test/fixtures/identity-feed';
import { dropDatabase, freshDatabase } from '../test/support/postgres';
import type { BenchTable } from './table';

function feedBytes(patients: number, run: string): Buffer[] {
  const seen = new Set<string>();
  const out: Buffer[] = [];
  for (const list of identityFeed(patients, run).messages) {
    for (const m of list) {
      if (seen.has(m.controlId)) continue;
      seen.add(m.controlId);
      out.push(Buffer.from(m.text, 'latin1'));
    }
  }
  return out;
}

/** Each message read and applied, `lanes` writers per store, message i to store i mod stores.length. */
async function applyAll(stores: IdentityStore[], msgs: Buffer[], lanes: number): Promise<number> {
  const t = performance.now();
  const total = lanes * stores.length;
  await Promise.all(
    Array.from({ length: total }, async (_, lane) => {
      const store = stores[lane % stores.length];
      for (let i = lane; i < msgs.length; i += total) {
        const r = readAdtPayload(msgs[i]);
        await store.applyAdt(r, { sender: r.sender, controlId: r.controlId, actor: 'bench' }, { code: r.ack, text: '' });
      }
    }),
  );
  return (msgs.length * 1000) / (performance.now() - t);
}

export async function run(): Promise<BenchTable[]> {
  const patients = Number(process.env.ADT_PG_BENCH_PATIENTS) || 400;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-bench-pg-'));
  const rows: (string | number)[][] = [];
  try {
    for (const lanes of [1, 8]) {
      const store = new SqliteIdentityStore({ file: path.join(dir, `sqlite-${lanes}.db`) });
      try {
        rows.push(['SQLite, durable (WAL synced), 1 instance', '1', String(lanes), await applyAll([store], feedBytes(patients, `SQ${lanes}`), lanes)]);
      } finally {
        await store.close();
      }
    }
    for (const [instances, lanes] of [[1, 1], [1, 8], [2, 1], [2, 4], [2, 8]] as const) {
      const url = await freshDatabase('bench');
      const stores = await Promise.all(Array.from({ length: instances }, () => PostgresIdentityStore.open({ url, poolSize: Math.max(lanes, 2) })));
      try {
        const msgs = feedBytes(patients, `PG${instances}-${lanes}`);
        await applyAll(stores, feedBytes(10, `WARM${instances}-${lanes}`), 1);
        rows.push([`PostgreSQL, COMMIT with synchronous_commit on, ${instances} instance(s)`, String(instances), String(lanes * instances), await applyAll(stores, msgs, lanes)]);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
        await dropDatabase(url);
      }
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
        'In one process: each instance is a store with its own pool (PostgreSQL) on one database; writers each wait for their answer before the next message. Two instances share this process\'s event loop and CPU with the server: on separate machines each has its own.',
        'PostgreSQL: a throwaway local cluster (fsync on, shared_buffers 32 MB, otherwise defaults), reached over TCP on 127.0.0.1. Each message one transaction: advisory locks on its idempotence key and its IPPs, the reads and writes, COMMIT.',
      ],
    },
  ];
}
