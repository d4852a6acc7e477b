// Identity feed benchmark: PAM FR ADT messages read into INS identities and kept in the store.
// - lib/ins alone, then with the SQLite store (a file, WAL), in this process;
// - the adt-to-ins node in Node-RED's test helper;
// - end to end in a real Node-RED over MLLP (mllp-in → adt-to-ins + store → mllp-response), beside the
//   same listener acknowledging by itself (auto-ACK: the MLLP transport alone), latency p50 / p99.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readAdtPayload } from '../lib/ins';
import { SqliteIdentityStore } from '../lib/store';
import { MllpClient } from '../lib/mllp/client';
import { identityFeed, type FeedMessage } from '../test/fixtures/identity-feed';
import { NodeRed, getFreePort } from '../test/e2e/harness';
import { identityFlow } from '../test/e2e/identity-flows';
import { percentile, type BenchTable } from './table';

function feedBytes(patients: number, run: string): Buffer[] {
  // every message once (the feed's deliberate retry is left out: a benchmark of distinct messages)
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

function perSecond(n: number, ms: number): number {
  return (n * 1000) / ms;
}

async function libRows(count: number): Promise<(string | number)[][]> {
  const msgs = feedBytes(Math.ceil(count / 5), 'LIB');
  let t = performance.now();
  for (const m of msgs) readAdtPayload(m);
  const readOnly = perSecond(msgs.length, performance.now() - t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-bench-store-'));
  const store = new SqliteIdentityStore({ file: path.join(dir, 'ins-store.db') });
  try {
    t = performance.now();
    for (const m of msgs) {
      const r = readAdtPayload(m);
      await store.applyAdt(r, { sender: r.sender, controlId: r.controlId, actor: 'bench' }, { code: r.ack, text: '' });
    }
    const withStore = perSecond(msgs.length, performance.now() - t);
    return [
      ['lib/ins: read ADT → identity (parse, INS rules)', '', readOnly, '', ''],
      ['lib/ins + lib/store: read and apply (SQLite file, WAL, one transaction per message)', '', withStore, '', ''],
    ];
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function mllpRun(port: number, msgs: FeedMessage[][], connections: number) {
  const lists: FeedMessage[][] = Array.from({ length: connections }, () => []);
  msgs.forEach((l, p) => lists[p % connections].push(...l.filter((m, i) => l.findIndex((x) => x.controlId === m.controlId) === i)));
  const clients = lists.map(() => new MllpClient({ host: '127.0.0.1', port, ackTimeoutMs: 10_000, maxRetries: 3, backoffBaseMs: 50 }));
  const latencies: number[] = [];
  try {
    const t0 = performance.now();
    await Promise.all(
      lists.map(async (list, c) => {
        for (const m of list) {
          const start = performance.now();
          const res = await clients[c].send(Buffer.from(m.text, 'latin1'));
          latencies.push(performance.now() - start);
          if (!res.ack.includes(`MSA|${m.ack}|${m.controlId}`)) throw new Error(`bench: unexpected ACK for ${m.controlId}`);
        }
      }),
    );
    const elapsed = performance.now() - t0;
    latencies.sort((a, b) => a - b);
    return { rate: perSecond(latencies.length, elapsed), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

async function e2eRows(patients: number): Promise<(string | number)[][]> {
  const rows: (string | number)[][] = [];
  const port = await getFreePort();
  const red = await NodeRed.start({ flows: identityFlow(port, { autoAck: true }) });
  try {
    for (const connections of [1, 8]) {
      const feed = identityFeed(patients, `AUTO${connections}`).messages.map((l) => l.map((m) => ({ ...m, ack: 'AA' as const })));
      const r = await mllpRun(port, feed, connections);
      rows.push(['baseline: mllp-in auto-ACK (MLLP transport alone)', String(connections), r.rate, r.p50, r.p99]);
    }
    await red.deploy(identityFlow(port));
    await mllpRun(port, identityFeed(20, 'WARM').messages, 1);
    for (const connections of [1, 8]) {
      const r = await mllpRun(port, identityFeed(patients, `E2E${connections}`).messages, connections);
      rows.push(['mllp-in → adt-to-ins (SQLite store) → mllp-response', String(connections), r.rate, r.p50, r.p99]);
    }
  } finally {
    await red.stop();
  }
  return rows;
}

export async function run(): Promise<BenchTable[]> {
  const patients = Number(process.env.ADT_BENCH_PATIENTS) || 1000;
  const rows = [...(await libRows(patients * 5)), ...(await e2eRows(patients))];
  return [
    {
      title: `Identity feed: PAM FR ADT → INS identity → store (${patients.toLocaleString('en-US')} patients × 5 messages)`,
      columns: ['path', 'connections', 'msgs/s', 'p50 ms', 'p99 ms'],
      rows,
      notes: [
        "Messages: the test feed (A28 PROV → A31 PROV with the INS, not integrated → A31 VALI, qualified → a retry, a late message, an A08, a doubtful identity or a wrong INS key → A31 VALI), Latin-1 bytes. End to end: a real Node-RED (scripts/node-red.js) with the store in its user dir, the pack's MllpClient, one message in flight per connection.",
      ],
    },
  ];
}
