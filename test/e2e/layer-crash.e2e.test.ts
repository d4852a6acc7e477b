// The layer pack through two crashes: while 5,000 ADT messages (the PAM FR feed of 1,000 patients) stream
// in over 4 connections and 200 reports over 2 more, Node-RED is killed with SIGKILL — no shutdown of any
// kind — once a third of the messages is acknowledged, and again at two thirds, then started again each
// time. Each connection's sender resends, in order, from the first message it got no ACK for (the one in
// flight when the process died may have been recorded: its copy must be answered again, not applied
// twice). After each kill a fresh process reads the store file and finds every message and report the
// senders saw acknowledged; at the end, every acknowledged message was applied exactly once (the history
// of each identity, the idempotence table), no identity is missing or doubled, every report is archived
// once.
import { strict as assert } from 'node:assert';
import path from 'node:path';
import Database from 'better-sqlite3';
import { NodeRed } from './harness';
import { checkFeedInStore } from './feed';
import { freeLayerPorts, layerEnv, layerPack, type LayerPorts } from './layer-pack';
import { connectRetry } from './mllp-flows';
import { formatId } from '../../lib/cda';
import { parseAck, type ParsedAck } from '../../lib/hl7';
import { identityFeed } from '../fixtures/identity-feed';
import { PATIENTS, mdmOf, receivedDocument } from '../fixtures/cda-received';
import { textPdf } from '../fixtures/pdf';

interface Outgoing {
  controlId: string;
  bytes: Buffer;
  /** Whether an ACK is the one expected (the sender stops on any other). */
  expected(ack: ParsedAck): boolean;
  /** Whether this ACK says the message is recorded in the store (then it must be there after a crash). */
  recorded(ack: ParsedAck): boolean;
}

/**
 * One connection's share, in order: `next` is the first message not acknowledged yet. run() connects,
 * sends from `next` until the end ('done') or until the connection breaks ('broken': Node-RED died).
 */
class Sender {
  next = 0;
  readonly wrong: string[] = [];

  constructor(
    private readonly port: number,
    readonly messages: Outgoing[],
    private readonly onAck: (m: Outgoing, ack: ParsedAck) => void,
    /** Resolves when message `i` may go (the reports keep pace with the feed, so that the kills find both in flight). */
    private readonly gate: (i: number) => Promise<void> = async () => {},
  ) {}

  get done(): boolean {
    return this.next >= this.messages.length;
  }

  async run(): Promise<'done' | 'broken'> {
    let sock;
    try {
      sock = await connectRetry(this.port, 2000);
    } catch {
      return 'broken';
    }
    try {
      while (!this.done) {
        await this.gate(this.next);
        const m = this.messages[this.next];
        const ack = parseAck(await sock.request(m.bytes, 30_000));
        if (ack.controlId !== m.controlId || !m.expected(ack)) this.wrong.push(`${m.controlId}: ${ack.code} ${ack.controlId} ${ack.text}`);
        this.onAck(m, ack);
        this.next++;
      }
      return 'done';
    } catch {
      return 'broken';
    } finally {
      await sock.close();
    }
  }
}

/**
 * What a fresh process reads in the store file: the control ids recorded, the documents archived (id →
 * rows), the reconciliation tasks (document id → tasks), and the journal (issue 14): per ADT control id,
 * the rows of adt-to-ins that recorded it (applied or out of date: not the duplicates of a message resent,
 * nor what changes nothing); per document, the rows of cda-ingest that archived it — the journal's rows
 * through the view journal_all (the newest are pending until they enter `journal`: lib/store/sqlite-journal.ts).
 */
function readStoreFile(file: string): { recorded: Set<string>; documents: Map<string, number>; tasks: Map<string, number>; adtRows: Map<string, number>; documentRows: Map<string, number> } {
  const db = new Database(file, { fileMustExist: true });
  try {
    const recorded = new Set((db.prepare('SELECT control_id FROM processed_message').all() as { control_id: string }[]).map((r) => r.control_id));
    const count = (sql: string) => new Map((db.prepare(sql).all() as { k: string; n: number }[]).map((r) => [r.k, r.n]));
    return {
      recorded,
      documents: count('SELECT id AS k, COUNT(*) AS n FROM document GROUP BY id'),
      tasks: count('SELECT document_id AS k, COUNT(*) AS n FROM reconciliation_task GROUP BY document_id'),
      adtRows: count(`SELECT control_id AS k, COUNT(*) AS n FROM journal_all WHERE node_type = 'adt-to-ins' AND outcome IN ('applied', 'out-of-date') GROUP BY control_id`),
      documentRows: count(`SELECT document_id AS k, COUNT(*) AS n FROM journal_all WHERE node_type = 'cda-ingest' AND outcome = 'to-reconcile' GROUP BY document_id`),
    };
  } finally {
    db.close();
  }
}

describe('e2e: the layer pack killed twice (SIGKILL) while 5,000 ADT messages and 200 reports stream in', function () {
  this.timeout(600_000);
  const feed = identityFeed(1000, 'LAYERCRASH');
  let red: NodeRed;
  let ports: LayerPorts;
  let storeFile = '';
  /** The reports: CR-BIO documents about a patient the GAM never sent (kept to reconcile: AE 207 / 902, archived). */
  const reports: { id: string; out: Outgoing }[] = [];

  before(async () => {
    ports = await freeLayerPorts();
    red = await NodeRed.start({ flows: layerPack(), env: layerEnv(ports) });
    storeFile = path.join(red.userDir, 'segur-dpi', 'ins-store.db');
    const pdf = await textPdf({ lines: ['Compte rendu de biologie (test de panne)'] });
    for (let i = 0; i < 200; i++) {
      const doc = await receivedDocument('CR-BIO', pdf, PATIENTS.paul());
      const controlId = `LAYERCRASH-RPT-${i}`;
      reports.push({
        id: formatId(doc.meta.id),
        out: {
          controlId,
          bytes: Buffer.from(mdmOf(doc, 'T02', controlId), 'utf8'),
          expected: (ack) => ack.code === 'AE' && ack.errors[0]?.application?.code === '902',
          recorded: (ack) => ack.code === 'AE' && ack.errors[0]?.application?.code === '902',
        },
      });
    }
  });
  after(async () => {
    await red?.stop();
  });

  it('every message and report acknowledged before each kill is in the store file; resent, each is applied once: exactly the expected identities, each report archived once', async () => {
    const adt: Outgoing[][] = Array.from({ length: 4 }, () => []);
    feed.messages.forEach((list, p) => {
      for (const m of list) {
        adt[p % 4].push({
          controlId: m.controlId,
          bytes: Buffer.from(m.text, 'latin1'),
          expected: (ack) => ack.code === m.ack,
          // every AA says "recorded", except an event PAM FR keeps out (A08): "nothing to record"
          recorded: (ack) => ack.code === 'AA' && ack.text !== 'nothing to record',
        });
      }
    });
    const total = 5000 + reports.length;
    assert.equal(adt.flat().length, 5000);
    let acked = 0;
    let adtAcked = 0;
    const recorded = new Set<string>();
    let kills = 0;
    let killing: Promise<void> | null = null;
    const onAck = (m: Outgoing, ack: ParsedAck) => {
      acked++;
      if (!m.controlId.includes('-RPT-')) adtAcked++;
      if (m.recorded(ack)) recorded.add(m.controlId);
      if (!killing && kills < 2 && acked >= ((kills + 1) * total) / 3) {
        kills++;
        killing = red.kill(); // no shutdown, no close: a crash
      }
    };
    // report i of a connection's 100 waits until i / 100 of the feed is acknowledged (or a kill is under way)
    const keepPace = async (i: number) => {
      while (adtAcked < (i * 5000) / 100 && !killing) await new Promise((r) => setTimeout(r, 5));
    };
    const senders = [
      ...adt.map((msgs) => new Sender(ports.gam, msgs, onAck)),
      new Sender(ports.reports, reports.filter((_, i) => i % 2 === 0).map((r) => r.out), onAck, keepPace),
      new Sender(ports.reports, reports.filter((_, i) => i % 2 === 1).map((r) => r.out), onAck, keepPace),
    ];

    for (let round = 0; ; round++) {
      assert.ok(round <= 2, 'two kills, then the stream ends');
      const results = await Promise.all(senders.filter((s) => !s.done).map((s) => s.run()));
      if (results.every((r) => r === 'done') && !killing) break;
      assert.ok(killing, `round ${round}: a connection broke without a kill`);
      await killing;
      killing = null;
      // a fresh process reads what the killed one left (SQLite recovers the WAL on open)
      const seen = readStoreFile(storeFile);
      const lost = [...recorded].filter((id) => (id.includes('-RPT-') ? !seen.documents.has(reports[Number(id.split('-').at(-1))].id) : !seen.recorded.has(id)));
      assert.deepEqual(lost.slice(0, 10), [], `kill ${kills}: ${lost.length} acknowledged message(s) not in the store`);
      // issue 14: no change without its journal row, no row of a change rolled back
      const noRow = [...seen.recorded].filter((id) => seen.adtRows.get(id) !== 1);
      assert.deepEqual(noRow.slice(0, 10), [], `kill ${kills}: ${noRow.length} recorded message(s) without exactly one journal row`);
      assert.deepEqual([...seen.adtRows.keys()].filter((id) => !seen.recorded.has(id)).slice(0, 10), [], `kill ${kills}: journal rows of messages not recorded`);
      assert.ok(acked < total, `kill ${kills} in the middle of the stream (${acked} of ${total} acknowledged)`);
      assert.ok(senders.every((s) => !s.done), `kill ${kills}: every connection had messages left, reports included`);
      await red.startAgain();
    }

    assert.equal(kills, 2);
    assert.equal(acked, total, 'every message acknowledged in the end (some twice: the feed retries some itself)');
    assert.deepEqual(senders.flatMap((s) => s.wrong).slice(0, 10), [], 'every ACK the expected one, resent messages included');
    // each message applied exactly once, no identity missing or doubled
    assert.equal(checkFeedInStore(storeFile, feed, 'LAYERCRASH'), feed.expected.filter((e) => e.qualified).length);
    // each report archived exactly once
    const { documents } = readStoreFile(storeFile);
    for (const r of reports) assert.equal(documents.get(r.id), 1, `${r.out.controlId} archived`);
    assert.equal(documents.size, reports.length, 'one document per report, nothing else archived');
    // issue 14: every acknowledged message has exactly one journal row and its effect — each ADT message
    // recorded one row saying what it did (its copies resent after a kill: duplicates), each report one row
    // that archived it and one reconciliation task
    const end = readStoreFile(storeFile);
    const adtWithout = [...recorded].filter((id) => !id.includes('-RPT-') && (end.adtRows.get(id) !== 1 || !end.recorded.has(id)));
    assert.deepEqual(adtWithout.slice(0, 10), [], `${adtWithout.length} acknowledged ADT message(s) without exactly one journal row and its effect`);
    assert.deepEqual([...end.recorded].filter((id) => end.adtRows.get(id) !== 1).slice(0, 10), [], 'no change without its row');
    for (const r of reports) {
      assert.equal(end.documentRows.get(r.id), 1, `${r.out.controlId}: one journal row`);
      assert.equal(end.tasks.get(r.id), 1, `${r.out.controlId}: one reconciliation task`);
    }
  });
});
