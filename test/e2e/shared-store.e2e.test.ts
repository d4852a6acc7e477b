// Issue 15, "Done means": two Node-RED instances on one PostgreSQL database; the identity feed of 1,000
// patients (5,000+ ADT messages: a retry of a message already applied, a late message, AE messages) split
// between them — each patient's messages alternate between the two instances, in order, over 8 connections
// to each —; one instance killed (SIGKILL) once a third is acknowledged, the senders going on with the
// other from the first message they got no ACK for (the one in flight may have been recorded: its copy
// must be answered again, not applied twice). Afterwards the database holds exactly what the feed leads
// to: every message the senders saw acknowledged recorded once, each identity's history one entry per
// message, no identity missing or doubled; the journal has a row for each acknowledged message, and one
// non-duplicate row per message at most.
import { strict as assert } from 'node:assert';
import pg from 'pg';
import { NodeRed, getFreePort } from './harness';
import { freeLayerPorts, layerEnv, layerPack, type LayerPorts } from './layer-pack';
import { formatId } from '../../lib/cda';
import { PATIENTS, mdmOf, receivedDocument } from '../fixtures/cda-received';
import { textPdf } from '../fixtures/pdf';
import { checkFeedRows, type Row } from './feed';
import { connectRetry } from './mllp-flows';
import { identityFlow } from './identity-flows';
import { parseAck } from '../../lib/hl7';
import { identityFeed, type FeedMessage } from '../fixtures/identity-feed';
import { dropDatabase, freshDatabase } from '../support/postgres';

type Socket = Awaited<ReturnType<typeof connectRetry>>;

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

describe('e2e: two Node-RED instances on one PostgreSQL store (issue 15)', function () {
  this.timeout(900_000);
  let url: string;
  const reds: NodeRed[] = [];

  before(async () => {
    url = await freshDatabase('e2e');
  });
  after(async () => {
    for (const r of reds) await r.stop().catch(() => undefined);
    await dropDatabase(url);
  });

  it('5,000 ADT split between them, one killed mid-stream: every acknowledged message recorded once, the identities exact', async () => {
    const run = 'SHARED';
    const feed = identityFeed(1000, run);
    const ports = [await getFreePort(), await getFreePort()];
    // started one after the other: the second finds the schema migrated (concurrent starts: store-concurrency.test.ts)
    for (const port of ports) reds.push(await NodeRed.start({ flows: identityFlow(port, { postgres: url }) }));
    const total = feed.messages.reduce((n, l) => n + l.length, 0);
    assert.ok(total >= 5000, `${total} messages`);

    const acked = new Map<string, number>();
    const wrong: string[] = [];
    let alive = [true, true];
    let killed: Promise<void> | null = null;
    const connections = 8;
    const lists: FeedMessage[][] = Array.from({ length: connections }, () => []);
    feed.messages.forEach((l, p) => lists[p % connections].push(...l));

    await Promise.all(
      lists.map(async (list) => {
        const socks: (Socket | null)[] = [null, null];
        const sock = async (i: number) => (socks[i] ??= await connectRetry(ports[i], 5000));
        try {
          for (let k = 0; k < list.length; k++) {
            const m = list[k];
            let target = (m.patient + k) % 2;
            for (;;) {
              if (!alive[target]) target = 1 - target;
              try {
                const ack = parseAck(await (await sock(target)).request(Buffer.from(m.text, 'latin1'), 30_000));
                if (ack.controlId !== m.controlId || ack.code !== m.ack) wrong.push(`${m.controlId}: ${ack.code} ${ack.controlId} ${ack.text}`);
                acked.set(m.controlId, (acked.get(m.controlId) ?? 0) + 1);
                if (!killed && acked.size >= total / 3) {
                  alive = [false, true];
                  killed = reds[0].kill();
                }
                break;
              } catch (err) {
                if (alive[target]) throw err; // the survivor must not fail
                socks[target] = null; // the killed instance: the same message again, to the other one
              }
            }
          }
        } finally {
          for (const s of socks) await s?.close().catch(() => undefined);
        }
      }),
    );
    await killed;
    assert.deepEqual(wrong, [], 'every ACK the expected one (a copy after the kill answered as the first)');
    assert.ok(killed, 'an instance was killed mid-stream');

    const rows = await query<Row>(url, 'SELECT ipp_key, status, qualified, ins_value, data FROM identity');
    const counts = await query<{ ipp_key: string; n: string }>(url, 'SELECT ipp_key, COUNT(*) AS n FROM identity_history GROUP BY ipp_key');
    const messages = Number((await query<{ n: string }>(url, "SELECT COUNT(*) AS n FROM processed_message WHERE control_id LIKE $1 || '-%'", [run]))[0].n);
    const qualified = checkFeedRows({ rows, history: new Map(counts.map((c) => [c.ipp_key, Number(c.n)])), messages }, feed);
    assert.ok(qualified > 0);

    // the journal: a row for each message acknowledged; one row that applied it (applied / out of date) per
    // message recorded, whichever instance got it and however often it was sent
    const journal = await query<{ control_id: string; rows: string; recorded: string }>(
      url,
      `SELECT control_id, COUNT(*) AS rows, COUNT(*) FILTER (WHERE outcome IN ('applied', 'out-of-date')) AS recorded FROM journal WHERE control_id LIKE $1 || '-%' GROUP BY control_id`,
      [run],
    );
    const byId = new Map(journal.map((j) => [j.control_id, j]));
    for (const id of acked.keys()) assert.ok(Number(byId.get(id)?.rows ?? 0) >= 1, `${id}: journalled`);
    assert.deepEqual(journal.filter((j) => Number(j.recorded) > 1).map((j) => j.control_id), [], 'no message applied twice');
    assert.equal(journal.reduce((n, j) => n + Number(j.recorded), 0), messages, 'one applying row per message recorded');
  });
});

describe('e2e: the layer pack on PostgreSQL, two instances (issue 15)', function () {
  this.timeout(900_000);
  let url: string;
  const reds: NodeRed[] = [];

  before(async () => {
    url = await freshDatabase('layer');
  });
  after(async () => {
    for (const r of reds) await r.stop().catch(() => undefined);
    await dropDatabase(url);
  });

  it('SEGUR_STORE_ENGINE=postgres: 500 reports split between two instances, one killed mid-stream: every report acknowledged archived once, its task once', async () => {
    const ports: LayerPorts[] = [await freeLayerPorts(), await freeLayerPorts()];
    for (const p of ports) reds.push(await NodeRed.start({ flows: layerPack(), env: layerEnv(p, { SEGUR_STORE_ENGINE: 'postgres', SEGUR_STORE_URL: url }) }));
    const pdf = await textPdf({ lines: ['Compte rendu de biologie (deux instances)'] });
    const reports: { id: string; controlId: string; bytes: Buffer }[] = [];
    for (let i = 0; i < 500; i++) {
      const doc = await receivedDocument('CR-BIO', pdf, PATIENTS.paul());
      const controlId = `SHARED-RPT-${i}`;
      reports.push({ id: formatId(doc.meta.id), controlId, bytes: Buffer.from(mdmOf(doc, 'T02', controlId), 'utf8') });
    }
    const acked = new Set<string>();
    const wrong: string[] = [];
    let alive = [true, true];
    let killed: Promise<void> | null = null;
    const connections = 4;
    await Promise.all(
      Array.from({ length: connections }, async (_, c) => {
        const socks: (Socket | null)[] = [null, null];
        const sock = async (i: number) => (socks[i] ??= await connectRetry(ports[i].reports, 5000));
        try {
          for (let k = c; k < reports.length; k += connections) {
            const r = reports[k];
            let target = k % 2;
            for (;;) {
              if (!alive[target]) target = 1 - target;
              try {
                const ack = parseAck(await (await sock(target)).request(r.bytes, 60_000));
                // a document about a patient the GAM never sent: kept to reconcile (AE 207, application error 902), archived
                if (ack.controlId !== r.controlId || ack.code !== 'AE' || ack.errors[0]?.application?.code !== '902') wrong.push(`${r.controlId}: ${ack.code} ${ack.text}`);
                acked.add(r.controlId);
                if (!killed && acked.size >= reports.length / 3) {
                  alive = [false, true];
                  killed = reds[0].kill();
                }
                break;
              } catch (err) {
                if (alive[target]) throw err;
                socks[target] = null;
              }
            }
          }
        } finally {
          for (const s of socks) await s?.close().catch(() => undefined);
        }
      }),
    );
    await killed;
    assert.ok(killed, 'an instance was killed mid-stream');
    assert.deepEqual(wrong.slice(0, 10), [], 'every report answered as to reconcile, a copy after the kill too');
    assert.equal(acked.size, reports.length);
    const docs = new Map((await query<{ id: string; n: string }>(url, 'SELECT id, COUNT(*) AS n FROM document GROUP BY id')).map((d) => [d.id, Number(d.n)]));
    for (const r of reports) assert.equal(docs.get(r.id), 1, `${r.controlId} archived once`);
    assert.equal(docs.size, reports.length, 'nothing else archived');
    const tasks = await query<{ document_id: string }>(url, `SELECT document_id FROM reconciliation_task WHERE status = 'open'`);
    assert.equal(new Set(tasks.map((t) => t.document_id)).size, reports.length, 'one task per report');
    assert.equal(tasks.length, reports.length);
  });
});
