// Issue 14, the message journal in the store: "Written in the same transaction as what the node records
// (no journal row for a change that was rolled back, no change without its row)", searched by "time
// range, node, type/event, control id, IPP, INS, document id, ACK code, outcome", replays linked to their
// original and audited, the dashboard's figures per node and hour. The same cases on SQLite and
// PostgreSQL (issue 15); the group commit of SQLite apart.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { readAdtPayload } from '../../lib/ins';
import { SqliteIdentityStore, JournalQueryError, type ApplyResult, type IdentityStore, type JournalEntry } from '../../lib/store';
import { FLUSH_ROWS, isoTime } from '../../lib/store/sqlite-journal';
import { NODE, documentInput, journalEntry } from '../fixtures/journal';
import { adtMessage, MARIE_NIR, OID, type AdtSpec } from '../fixtures/adt';
import { HeldSync } from '../support/held-sync';
import { until } from '../support/red-nodes';
import { describeEachEngine } from '../support/store-engines';

const origin = (controlId: string) => ({ sender: 'GAM/CHU-X', controlId, actor: 'test' });
function reading(spec: AdtSpec, controlId: string) {
  return readAdtPayload(adtMessage({ ...spec, controlId }));
}

describeEachEngine('lib/store journal (issue 14)', (db) => {
  let store: IdentityStore;
  const count = (table: string, where?: string) => db.count(table, where);

  beforeEach(async () => {
    store = await db.open();
  });

  describe('the same transaction as the change', () => {
    it('applyAdt writes its row in its savepoint, built from its result (outcome, ACK), with its bytes; the entry gets its id', async () => {
      const entry = journalEntry({ controlId: 'J1' });
      const result = await store.applyAdt(reading({}, 'J1'), origin('J1'), { code: 'AA', text: '' }, { journal: (r: ApplyResult) => Object.assign(entry, { outcome: r.outcome }) });
      assert.equal(result.outcome, 'applied');
      assert.ok(entry.id && entry.id > 0);
      const row = await store.journalEntry(entry.id);
      assert.equal(row?.outcome, 'applied');
      assert.equal(row?.controlId, 'J1');
      assert.equal(row?.keys.ipp, '123456', 'the bare IPP taken from the key');
      assert.equal(row?.ack?.code, 'AA');
      assert.equal(row?.hasMessage, true);
      const content = await store.journalContent(entry.id);
      assert.equal(content?.message?.toString(), 'MSH|^~\\&|GAM|CHU-X\r');
      assert.match(content?.answer?.toString() ?? '', /MSA\|AA\|C1/);
    });

    it('a write that fails leaves no journal row (and no change); the writes beside it keep theirs', async () => {
      const good = store.applyAdt(reading({ pid: { ipp: '400001' } }, 'F1'), origin('F1'), { code: 'AA', text: '' }, { journal: journalEntry({ controlId: 'F1' }) });
      // a control id the store cannot record (NOT NULL): the identity is written, then the history insert fails
      const bad = store.applyAdt(reading({ pid: { ipp: '400002' } }, 'F2'), { ...origin('F2'), controlId: null as unknown as string }, { code: 'AA', text: '' }, { journal: journalEntry({ controlId: 'F2' }) });
      await assert.rejects(bad);
      assert.equal((await good).outcome, 'applied');
      assert.equal(await count('journal', `control_id = 'F1'`), 1);
      assert.equal(await count('journal', `control_id = 'F2'`), 0, 'no row for the change rolled back');
      assert.equal(await count('identity', `ipp_key = '${OID.IPP}|400002'`), 0);
    });

    it('a row that cannot be written takes its change back: never a change without its row', async () => {
      const broken = { ...journalEntry({ controlId: 'N1' }), node: { id: '', type: '' } };
      await assert.rejects(store.applyAdt(reading({ pid: { ipp: '400003' } }, 'N1'), origin('N1'), { code: 'AA', text: '' }, { journal: broken }), /names no node/);
      assert.equal(await store.byIpp('400003', OID.IPP), null, 'the identity rolled back with its row');
      assert.equal(await count('processed_message', `control_id = 'N1'`), 0);
      await assert.rejects(
        store.applyAdt(reading({ pid: { ipp: '400004' } }, 'N2'), origin('N2'), { code: 'AA', text: '' }, {
          journal: () => {
            throw new Error('the ACK could not be built');
          },
        }),
        /could not be built/,
      );
      assert.equal(await store.byIpp('400004', OID.IPP), null);
    });

    it('archiveDocument writes the document, its journey steps, its task and its row in one savepoint; none of them when one fails', async () => {
      const task = { reason: 'unknown-patient', reasonText: 'no local identity', traits: { birthName: 'MARTIN', firstNames: 'Marie', firstName: 'Marie', usedName: '', birthDate: '1985-05-12', sex: 'F' }, candidates: [] };
      const entry = journalEntry({ type: 'ORU', event: 'R01', controlId: 'O1', outcome: 'to-reconcile', keys: { documentId: 'DOC1' } });
      assert.equal(await store.archiveDocument(documentInput('DOC1'), { journal: entry, task, journey: [{ documentId: 'DOC1', step: 'sent', controlId: 'O1', ok: true, detail: {} }] }), true);
      const t = await store.taskOfDocument('DOC1');
      assert.equal(t?.status, 'open');
      assert.equal(t?.journalId, entry.id, 'the task names the row of the exchange that brought it');
      assert.equal((await store.journey('DOC1')).length, 1);

      const failing = { ...journalEntry({ controlId: 'O2' }), at: 'not a time' };
      await assert.rejects(store.archiveDocument(documentInput('DOC2'), { journal: failing, task, journey: [{ documentId: 'DOC2', step: 'sent', controlId: 'O2', ok: true, detail: {} }] }));
      assert.equal(await store.getDocument('DOC2'), null);
      assert.equal(await store.taskOfDocument('DOC2'), null);
      assert.deepEqual(await store.journey('DOC2'), []);
    });

    it('a document archived again (same id) changes nothing: the row says so through the callback, no second task', async () => {
      const task = { reason: 'unknown-patient', reasonText: '', traits: { birthName: 'X', firstNames: 'Y', firstName: 'Y', usedName: '', birthDate: '', sex: 'U' }, candidates: [] };
      await store.archiveDocument(documentInput('DOC3'), { task, journal: journalEntry({ controlId: 'A1' }) });
      const again = journalEntry({ controlId: 'A2' });
      assert.equal(await store.archiveDocument(documentInput('DOC3'), { task, journal: (added) => ({ ...again, outcome: added ? 'to-reconcile' : 'duplicate' }) }), false);
      assert.equal((await store.searchJournal({ controlId: 'A2' })).entries[0].outcome, 'duplicate');
      assert.equal((await store.tasks()).tasks.length, 1);
    });

    it('cancelDocument and recordJourney (several steps) carry their row too; journal() alone for what changes nothing', async () => {
      await store.archiveDocument(documentInput('DOC4', { origin: 'produced' }));
      await store.recordJourney(
        [
          { documentId: 'DOC4', step: 'ack', controlId: 'M1', ok: true, detail: {} },
          { documentId: 'DOC4', step: 'dmp-received', controlId: 'M1', ok: true, detail: {} },
        ],
        { journal: journalEntry({ type: 'ZAM', event: 'Z01', controlId: 'Z1', outcome: 'recorded', keys: { documentId: 'DOC4' } }) },
      );
      assert.equal(await store.cancelDocument('DOC4', { journal: (done) => journalEntry({ controlId: 'T4', outcome: done ? 'cancelled' : 'rejected', keys: { documentId: 'DOC4' } }) }), true);
      const id = await store.journal(journalEntry({ controlId: 'R1', outcome: 'rejected', ack: { code: 'AR', text: 'not HL7', errors: [{ code: '100', location: 'MSH^1', text: 'no MSH' }] } }));
      assert.deepEqual((await store.journey('DOC4')).map((j) => j.step), ['ack', 'dmp-received']);
      assert.deepEqual((await store.searchJournal({ documentId: 'DOC4' })).entries.map((e) => e.outcome), ['cancelled', 'recorded']);
      const rejected = await store.journalEntry(id);
      assert.deepEqual(rejected?.ack, { code: 'AR', text: 'not HL7', errors: [{ code: '100', location: 'MSH^1', text: 'no MSH' }] });
    });
  });

  describe('search', () => {
    beforeEach(async () => {
      const at = (h: number) => new Date(Date.UTC(2026, 0, 10, h)).toISOString();
      const rows: Partial<JournalEntry>[] = [
        { at: at(8), controlId: 'S1', keys: { ippKey: `${OID.IPP}|100001`, ins: MARIE_NIR } },
        { at: at(9), controlId: 'S2', event: 'A31', ack: { code: 'AE' }, outcome: 'refused', keys: { ippKey: `${OID.IPP}|100002` } },
        { at: at(10), node: { id: 'cda1', type: 'cda-ingest' }, type: 'ORU', event: 'R01', controlId: 'S3', outcome: 'to-reconcile', keys: { ipp: '100001', documentId: '1.2.3^D1', setId: '1.2.3^S1', version: 1 } },
        { at: at(11), node: { id: 'out1', type: 'mllp-out' }, direction: 'out', type: 'MDM', event: 'T02', controlId: 'S4', outcome: 'acknowledged', keys: { documentId: '1.2.3^D2' } },
        { at: at(12), controlId: 'S5', ack: { code: 'AR' }, outcome: 'rejected', keys: {}, message: null, answer: null },
        { at: at(13), node: { id: 'pdf1', type: 'pdf-to-cda-n1' }, direction: 'out', kind: 'document', type: 'MDM', event: 'T02', controlId: 'S6', ack: null, outcome: 'produced', keys: { ippKey: 'other-authority|100001', documentId: '1.2.3^D3' } },
      ];
      for (const r of rows) await store.journal(journalEntry(r));
    });
    const ids = async (q: Parameters<IdentityStore['searchJournal']>[0]) => (await store.searchJournal(q)).entries.map((e) => e.controlId);

    it('finds by each key, newest first', async () => {
      assert.deepEqual(await ids({}), ['S6', 'S5', 'S4', 'S3', 'S2', 'S1']);
      assert.deepEqual(await ids({ controlId: 'S2' }), ['S2']);
      assert.deepEqual(await ids({ ins: MARIE_NIR }), ['S1']);
      assert.deepEqual(await ids({ ipp: '100001' }), ['S6', 'S3', 'S1'], 'a bare IPP under any authority');
      assert.deepEqual(await ids({ ipp: `${OID.IPP}|100001` }), ['S1'], 'an IPP key: that authority only');
      assert.deepEqual(await ids({ documentId: '1.2.3^D1' }), ['S3']);
      assert.deepEqual(await ids({ node: 'cda1' }), ['S3']);
      assert.deepEqual(await ids({ nodeType: 'mllp-out' }), ['S4']);
      assert.deepEqual(await ids({ type: 'MDM' }), ['S6', 'S4']);
      assert.deepEqual(await ids({ type: 'ADT', event: 'A31' }), ['S2']);
      assert.deepEqual(await ids({ ackCode: 'AE' }), ['S2']);
      assert.deepEqual(await ids({ ackCode: 'none' }), ['S6']);
      assert.deepEqual(await ids({ outcome: 'to-reconcile' }), ['S3']);
      assert.deepEqual(await ids({ direction: 'out' }), ['S6', 'S4']);
      assert.deepEqual(await ids({ from: '2026-01-10T09:00:00Z', to: '2026-01-10T11:00:00Z' }), ['S3', 'S2'], 'from inclusive, to exclusive');
      assert.deepEqual(await ids({ ipp: '100001', from: '2026-01-10T09:00:00Z' }), ['S6', 'S3'], 'filters together');
    });

    it('a key is found by its exact value, whatever characters it holds (schema 8: a token of journal_keys on SQLite)', async () => {
      const odd = ['A-1 "x" OR NEAR(y)*', 'a-1 "x" or near(y)*', 'S1 S2', 'é^ü&ß', 'S', 'S10'];
      for (const controlId of odd) await store.journal(journalEntry({ controlId, keys: { ipp: controlId, ins: controlId } }));
      for (const value of odd) {
        assert.deepEqual(await ids({ controlId: value }), [value], `control id ${value}`);
        assert.deepEqual(await ids({ ipp: value }), [value], `IPP ${value}`);
        assert.deepEqual(await ids({ ins: value }), [value], `INS ${value}`);
      }
      assert.deepEqual(await ids({ controlId: 'S1', ins: MARIE_NIR }), ['S1'], 'two keys together');
      assert.deepEqual(await ids({ controlId: 'S2', ins: MARIE_NIR }), [], 'two keys of different rows');
      assert.deepEqual(await ids({ ipp: MARIE_NIR }), [], 'an INS is not an IPP');
      assert.deepEqual(await ids({ controlId: 'S1', before: 1 }), [], 'a cursor before the row');
    });

    it('issue 14: an ACK code or outcome is found whether it has a partial index (AE, AR, refused…) or not (AA, applied…)', async () => {
      assert.deepEqual(await ids({ ackCode: 'AR' }), ['S5'], 'an alert code: its partial index');
      assert.deepEqual(await ids({ outcome: 'rejected' }), ['S5'], 'an alert outcome: its partial index');
      assert.deepEqual(await ids({ ackCode: 'AA' }), ['S4', 'S3', 'S1'], 'a common code: the newest rows read');
      assert.deepEqual(await ids({ outcome: 'applied' }), ['S1'], 'a common outcome: the newest rows read');
      assert.deepEqual(await ids({ ackCode: 'AE', outcome: 'refused', from: '2026-01-10T09:00:00Z' }), ['S2'], 'with a time range');
    });

    it('pages with a cursor: each page newest first, the next one older, the last without cursor', async () => {
      const p1 = await store.searchJournal({ limit: 4 });
      assert.deepEqual(p1.entries.map((e) => e.controlId), ['S6', 'S5', 'S4', 'S3']);
      assert.ok(p1.next);
      const p2 = await store.searchJournal({ limit: 4, before: p1.next! });
      assert.deepEqual(p2.entries.map((e) => e.controlId), ['S2', 'S1']);
      assert.equal(p2.next, null);
    });

    it('refuses a query that is not one (bad time, limit or cursor)', async () => {
      await assert.rejects(store.searchJournal({ from: 'yesterday' }), JournalQueryError);
      await assert.rejects(store.searchJournal({ limit: 0 }), JournalQueryError);
      await assert.rejects(store.searchJournal({ limit: 100000 }), JournalQueryError);
      await assert.rejects(store.searchJournal({ before: -1 }), JournalQueryError);
    });

    it('a replay links to its original (found by replayOf) and is audited with who asked', async () => {
      const original = (await store.searchJournal({ controlId: 'S1' })).entries[0];
      const id = await store.journal(journalEntry({ controlId: 'S1', outcome: 'duplicate', replayOf: original.id, actor: 'alice' }));
      assert.deepEqual((await store.searchJournal({ replayOf: original.id })).entries.map((e) => e.id), [id]);
      const row = await store.journalEntry(id);
      assert.equal(row?.replayOf, original.id);
      assert.equal(row?.actor, 'alice');
      const audit = (await store.audit(1))[0];
      assert.equal(audit.action, 'replay');
      assert.equal(audit.actor, 'alice');
      assert.deepEqual(audit.detail, { journal: id, replayOf: original.id, node: NODE.id, outcome: 'duplicate' });
    });
  });

  describe('dashboard figures', () => {
    it('counts per node and hour: messages in / out, AA / AE / AR, documents produced, received, preselected, to reconcile', async () => {
      const at = (h: number, m = 0) => new Date(Date.UTC(2026, 0, 10, h, m)).toISOString();
      const cda = { id: 'cda1', type: 'cda-ingest' };
      const entries: Partial<JournalEntry>[] = [
        { at: at(8, 1) },
        { at: at(8, 2), ack: { code: 'AE' }, outcome: 'refused' },
        { at: at(8, 3), ack: { code: 'AR' }, outcome: 'failed' },
        { at: at(9, 0) },
        { at: at(8, 4), node: cda, type: 'ORU', outcome: 'preselected' },
        { at: at(8, 5), node: cda, type: 'ORU', ack: { code: 'AE' }, outcome: 'to-reconcile' },
        { at: at(8, 6), node: cda, kind: 'document', type: 'CDA', ack: null, outcome: 'to-reconcile' },
        { at: at(8, 7), node: { id: 'pdf1', type: 'pdf-to-cda-n1' }, direction: 'out', kind: 'document', ack: null, outcome: 'produced' },
        { at: at(8, 8), node: { id: 'out1', type: 'mllp-out' }, direction: 'out', ack: { code: 'CA' }, outcome: 'acknowledged' },
      ];
      for (const e of entries) await store.journal(journalEntry(e));
      const figures = await store.figures({ from: at(8), to: at(10) });
      const of = (node: string, hour: number) => figures.find((f) => f.node === node && f.hour === at(hour));
      assert.deepEqual(of('adt1', 8), { hour: at(8), node: 'adt1', nodeType: 'adt-to-ins', messagesIn: 3, messagesOut: 0, AA: 1, AE: 1, AR: 1, produced: 0, received: 0, preselected: 0, toReconcile: 0 });
      assert.equal(of('adt1', 9)?.messagesIn, 1);
      assert.deepEqual(of('cda1', 8), { hour: at(8), node: 'cda1', nodeType: 'cda-ingest', messagesIn: 2, messagesOut: 0, AA: 1, AE: 1, AR: 0, produced: 0, received: 3, preselected: 1, toReconcile: 2 });
      assert.equal(of('pdf1', 8)?.produced, 1);
      assert.equal(of('pdf1', 8)?.messagesOut, 0, 'a document produced is not a message sent: mllp-out counts those');
      assert.deepEqual([of('out1', 8)?.messagesOut, of('out1', 8)?.AA], [1, 1]);
      assert.deepEqual((await store.figures({ from: at(9), to: at(10), node: 'adt1' })).map((f) => f.messagesIn), [1]);
    });
  });
  describe('retention', () => {
    it('prune: the bytes older than rawDays go first, the rows older than rowDays next, in steps of `batch`', async () => {
      const now = Date.UTC(2026, 5, 1);
      const ago = (days: number, i: number) => new Date(now - days * 86_400_000 + i * 1000).toISOString();
      for (let i = 0; i < 5; i++) await store.journal(journalEntry({ at: ago(400, i), controlId: `Y${i}`, message: Buffer.from('old') }));
      for (let i = 0; i < 5; i++) await store.journal(journalEntry({ at: ago(60, i), controlId: `M${i}`, message: Buffer.from('month') }));
      for (let i = 0; i < 3; i++) await store.journal(journalEntry({ at: ago(1, i), controlId: `D${i}`, message: Buffer.from('day') }));
      const r = await store.prune({ now, batch: 2 });
      assert.deepEqual([r.raw, r.rows], [10, 5]);
      assert.ok(r.steps >= 8, 'one short write per batch');
      const size = await store.journalSize();
      assert.deepEqual([size.rows, size.rawRows], [8, 3]);
      assert.deepEqual((await store.searchJournal({ controlId: 'M0' })).entries.map((e) => e.hasMessage), [false], 'the row stays, its bytes gone');
      assert.equal(await store.journalContent((await store.searchJournal({ controlId: 'D0' })).entries[0].id).then((c) => c?.message?.toString()), 'day');
      await assert.rejects(store.prune({ rawDays: 0 }), RangeError);
    });
  });
});

describeEachEngine(
  'lib/store journal in the group commit (issue 14)',
  (db) => {
    let store: SqliteIdentityStore;
    const count = (table: string, where?: string) => db.count(table, where);

    beforeEach(async () => {
      store = (await db.open()) as SqliteIdentityStore;
    });

    it('a write whose savepoint fails leaves no journal row; the others of its group keep theirs', async () => {
      const held = new HeldSync();
      store.syncWal = held.sync;
      const good = store.applyAdt(reading({ pid: { ipp: '400001' } }, 'F1'), origin('F1'), { code: 'AA', text: '' }, { journal: journalEntry({ controlId: 'F1' }) });
      // a control id the store cannot record (NOT NULL): the identity is written, then the history insert fails
      const bad = store.applyAdt(reading({ pid: { ipp: '400002' } }, 'F2'), { ...origin('F2'), controlId: null as unknown as string }, { code: 'AA', text: '' }, { journal: journalEntry({ controlId: 'F2' }) });
      await assert.rejects(bad);
      await until(() => held.held === 1, 'the sync');
      held.release();
      assert.equal((await good).outcome, 'applied');
      assert.equal(await count('journal', `control_id = 'F1'`), 1);
      assert.equal(await count('journal', `control_id = 'F2'`), 0, 'no row for the change rolled back');
      assert.equal(await count('identity', `ipp_key = '${OID.IPP}|400002'`), 0);
    });

    it('the row is committed with its change and resolves only once synced (durable like the change)', async () => {
      const held = new HeldSync();
      store.syncWal = held.sync;
      let settled = false;
      const w = store.applyAdt(reading({ pid: { ipp: '400005' } }, 'D1'), origin('D1'), { code: 'AA', text: '' }, { journal: journalEntry({ controlId: 'D1' }) }).then(() => (settled = true));
      await until(() => held.held === 1, 'the sync');
      assert.equal(settled, false);
      assert.equal(await count('journal', `control_id = 'D1'`), 1);
      assert.equal(await count('identity', `ipp_key = '${OID.IPP}|400005'`), 1);
      held.release();
      await w;
    });

  },
  ['SQLite'],
);

describeEachEngine(
  'lib/store journal rows written alone (journal_pending), then in `journal` with their indexes and in journal_keys (schemas 7 and 8, issue 14)',
  (db) => {
    let store: SqliteIdentityStore;
    /** `use` on the file through a connection of its own, as another process would (read-only unless `write`). */
    function withFile<T>(use: (f: Database.Database) => T, write = false): T {
      const f = new Database(db.location(), { readonly: !write, fileMustExist: true });
      try {
        return use(f);
      } finally {
        f.close();
      }
    }
    /** What the file holds: rows in `journal`, rows still pending. */
    function inFile(): { indexed: number; alone: number; all: number } {
      return withFile((f) => {
        const n = (sql: string) => (f.prepare(sql).get() as { n: number }).n;
        return {
          indexed: n('SELECT COUNT(*) AS n FROM journal'),
          alone: n('SELECT COUNT(*) AS n FROM journal_pending'),
          all: n('SELECT COUNT(*) AS n FROM journal_all'),
        };
      });
    }
    const write = (i: number, over: Partial<JournalEntry> = {}) => store.journal(journalEntry({ controlId: `W${i}`, ...over }));

    beforeEach(async () => {
      store = (await db.open()) as SqliteIdentityStore;
    });

    it('a row is committed alone (its columns in journal_pending, its bytes in journal_raw), and read back whole: every read of the journal moves the rows into `journal` first', async () => {
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await write(i));
      assert.deepEqual(ids, [1, 2, 3, 4, 5], 'numbered in order');
      assert.deepEqual(inFile(), { indexed: 0, alone: 5, all: 5 }, 'committed before it is in `journal`');
      const row = withFile((f) => f.prepare(`SELECT * FROM journal_all WHERE control_id = 'W3'`).get() as Record<string, unknown>);
      assert.equal(row.id, 4);
      assert.equal(row.node_type, 'adt-to-ins');
      assert.equal(row.ipp, '123456', 'every column readable through journal_all');
      const found = await store.searchJournal({ controlId: 'W3' });
      assert.deepEqual(found.entries.map((e) => [e.id, e.controlId, e.hasMessage]), [[4, 'W3', true]]);
      assert.deepEqual(inFile(), { indexed: 5, alone: 0, all: 5 }, 'the search moved them');
      assert.equal((await store.journalEntry(5))?.controlId, 'W4');
    });

    it(`every ${FLUSH_ROWS} rows, a write also moves the rows written alone into \`journal\`, in its own transaction`, async () => {
      for (let i = 0; i < FLUSH_ROWS - 1; i++) await write(i);
      assert.deepEqual(inFile(), { indexed: 0, alone: FLUSH_ROWS - 1, all: FLUSH_ROWS - 1 });
      await write(FLUSH_ROWS - 1);
      assert.deepEqual(inFile(), { indexed: FLUSH_ROWS, alone: 0, all: FLUSH_ROWS });
      await write(FLUSH_ROWS);
      assert.deepEqual(inFile(), { indexed: FLUSH_ROWS, alone: 1, all: FLUSH_ROWS + 1 });
    });

    it('a row without bytes has no journal_raw row; a row with bytes keeps them there', async () => {
      await write(1, { message: null, answer: null });
      await write(2);
      assert.deepEqual(await store.journalSize().then((s) => [s.rows, s.rawRows]), [2, 1]);
      assert.deepEqual((await store.searchJournal({})).entries.map((e) => [e.controlId, e.hasMessage]), [['W2', true], ['W1', false]]);
    });

    it('the figures, the size and the pruning read every row (each moves them first)', async () => {
      await write(1, { at: '2026-01-01T08:00:00Z' });
      await write(2, { at: '2026-11-30T08:10:00Z' });
      const figures = await store.figures({ from: '2026-11-30T08:00:00Z', to: '2026-11-30T09:00:00Z' });
      assert.equal(figures[0]?.messagesIn, 1);
      await write(3, { at: '2026-11-30T08:20:00Z' });
      const pruned = await store.prune({ now: Date.parse('2026-11-30T12:00:00Z'), rawDays: 30, rowDays: 300 });
      assert.deepEqual([pruned.raw, pruned.rows], [1, 1], 'the old row, written alone a moment ago, pruned with its bytes');
      assert.deepEqual(inFile(), { indexed: 2, alone: 0, all: 2 });
    });

    it('a process killed (SIGKILL) before its rows entered `journal`: the next opening moves them, the ids go on, none reused', async () => {
      await write(1);
      await store.close();
      // a child process writes 30 rows through the store (durable: each resolves once synced), then is killed
      const lib = path.resolve(__dirname, '../../lib/store');
      const script = `
        const { SqliteIdentityStore } = require(${JSON.stringify(lib)});
        const store = new SqliteIdentityStore({ file: ${JSON.stringify(db.location())} });
        (async () => {
          for (let i = 0; i < 30; i++) await store.journal({ node: { id: 'k', type: 'adt-to-ins' }, direction: 'in', kind: 'message', controlId: 'K' + i, outcome: 'applied', message: Buffer.from('MSH|' + i) });
          process.kill(process.pid, 'SIGKILL');
        })();`;
      assert.throws(() => execFileSync(process.execPath, ['-e', script], { stdio: 'pipe' }), (e: { signal?: string }) => e.signal === 'SIGKILL');
      assert.deepEqual(inFile(), { indexed: 1, alone: 30, all: 31 }, 'every acknowledged row on disk, written alone');
      store = (await db.open()) as SqliteIdentityStore;
      assert.deepEqual(inFile(), { indexed: 31, alone: 0, all: 31 }, 'moved at the opening');
      const page = await store.searchJournal({ limit: 100 });
      assert.deepEqual(page.entries.map((e) => e.id), Array.from({ length: 31 }, (_, i) => 31 - i));
      assert.equal((await store.journalContent(31))?.message?.toString(), 'MSH|29');
      assert.equal(await write(99), 32, 'numbering goes on');
    });

    it('two stores opened on one file number their rows after each other’s (no id given twice), rows moved by either', async () => {
      const other = (await db.openAnother()) as SqliteIdentityStore;
      const ids = [await write(1), await other.journal(journalEntry({ controlId: 'O1' })), await write(2), await other.journal(journalEntry({ controlId: 'O2' }))];
      // a row without bytes, moved into `journal` by the other store: its id is in no table of ours but `journal`
      ids.push(await other.journal(journalEntry({ controlId: 'O3', message: null, answer: null })));
      await other.searchJournal({});
      ids.push(await write(3));
      assert.equal(new Set(ids).size, 6);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'in write order');
      assert.deepEqual((await store.searchJournal({})).entries.map((e) => e.controlId).sort(), ['O1', 'O2', 'O3', 'W1', 'W2', 'W3']);
    });

    it('schema 8: a row moved brings the tokens of its keys into journal_keys (none for a row without any), and the pruning takes them with the row', async () => {
      await write(1, { at: '2026-01-01T00:00:00Z', keys: { ippKey: `${OID.IPP}|800001`, ins: MARIE_NIR } });
      await write(2, { at: '2026-01-01T00:00:01Z', controlId: undefined, keys: {} });
      await write(3, { keys: { ipp: '800003' } });
      const tokens = () =>
        withFile((f) => (f.prepare(`SELECT rowid AS id FROM journal_keys ORDER BY rowid`).all() as { id: number }[]).map((r) => r.id));
      assert.deepEqual(tokens(), [], 'pending rows: no tokens yet');
      assert.deepEqual((await store.searchJournal({ ins: MARIE_NIR })).entries.map((e) => e.id), [1]);
      assert.deepEqual(tokens(), [1, 3], 'moved: the rows with keys');
      await store.prune({ now: Date.parse('2026-11-30T00:00:00Z'), rawDays: 1, rowDays: 30 });
      assert.deepEqual(tokens(), [3], 'the pruned row’s tokens gone with it');
      assert.deepEqual((await store.searchJournal({ ins: MARIE_NIR })).entries, []);
      assert.deepEqual((await store.searchJournal({ ipp: '800003' })).entries.map((e) => e.id), [3]);
    });

    it('ids are never given twice, even after the pruning took every row', async () => {
      await write(1, { at: '2026-01-01T00:00:00Z' });
      await write(2, { at: '2026-01-01T00:00:01Z' });
      await store.prune({ now: Date.parse('2026-11-30T00:00:00Z'), rawDays: 1, rowDays: 1 });
      assert.equal((await store.journalSize()).rows, 0);
      store = (await db.open()) as SqliteIdentityStore;
      assert.equal(await write(3), 3);
    });

    /**
     * Rewrites the closed store's file as an earlier schema would have left it (`sql`, then the version): before
     * 8, the control id, IPP and INS in B-tree indexes of `journal`, no journal_keys; before 7, no journal_pending.
     */
    function asSchema(version: number, sql: string): void {
      withFile((f) => {
        f.exec(`DROP TABLE journal_keys;
          CREATE INDEX journal_control ON journal (control_id, id) WHERE control_id IS NOT NULL;
          CREATE INDEX journal_ipp ON journal (ipp, id) WHERE ipp IS NOT NULL;
          CREATE INDEX journal_ins ON journal (ins, id) WHERE ins IS NOT NULL;`);
        if (version < 7) f.exec(`DROP VIEW journal_all; DROP TABLE journal_pending; DELETE FROM sqlite_sequence WHERE name = 'journal_pending'; ${sql}`);
        else f.exec(sql);
        f.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(String(version));
      }, true);
    }
    /** The indexes of `journal`, and the rows of journal_keys that a search by each key finds (the store's own MATCH). */
    const indexesOf = () => withFile((f) => (f.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'journal' ORDER BY name`).all() as { name: string }[]).map((r) => r.name));
    const schemaVersion = () => withFile((f) => (f.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string }).value);
    const columnsOf = (table: string) => withFile((f) => (f.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));

    it('a store of schema 5 (every row in `journal`, no journal_pending) opens as schema 8, its rows kept, the ids going on', async () => {
      for (let i = 0; i < 3; i++) await write(i);
      await store.close();
      asSchema(5, '');
      store = (await db.open()) as SqliteIdentityStore;
      assert.equal(schemaVersion(), '8');
      assert.deepEqual((await store.searchJournal({ controlId: 'W1' })).entries.map((e) => e.controlId), ['W1'], 'its keys in journal_keys');
      assert.deepEqual((await store.searchJournal({})).entries.map((e) => e.controlId), ['W2', 'W1', 'W0']);
      assert.equal(await write(3), 4);
      assert.deepEqual(inFile(), { indexed: 3, alone: 1, all: 4 });
    });

    it('a store of schema 6 with rows left written alone (their columns as JSON in journal_raw.entry) opens as schema 8: the rows in `journal`, whole, the column gone', async () => {
      for (let i = 0; i < 5; i++) await write(i, i === 4 ? { message: null, answer: null } : {});
      await store.close();
      // schema 6 kept a pending row in journal_raw: its bytes and `entry`, the JSON array of journal's columns after the id
      const columns = columnsOf('journal').filter((c) => c !== 'id');
      asSchema(
        6,
        `ALTER TABLE journal_raw ADD COLUMN entry TEXT;
         INSERT INTO journal_raw (journal_id) SELECT id FROM journal WHERE id > 3 AND id NOT IN (SELECT journal_id FROM journal_raw);
         UPDATE journal_raw SET entry = (SELECT json_array(${columns.join(', ')}) FROM journal j WHERE j.id = journal_raw.journal_id) WHERE journal_id > 3;
         DELETE FROM journal WHERE id > 3;`,
      );
      store = (await db.open()) as SqliteIdentityStore;
      assert.equal(schemaVersion(), '8');
      assert.deepEqual(inFile(), { indexed: 5, alone: 0, all: 5 });
      assert.deepEqual((await store.searchJournal({ controlId: 'W4' })).entries.map((e) => e.id), [5], 'a row moved from JSON: its keys in journal_keys');
      const page = await store.searchJournal({});
      assert.deepEqual(page.entries.map((e) => [e.id, e.controlId, e.hasMessage]), [[5, 'W4', false], [4, 'W3', true], [3, 'W2', true], [2, 'W1', true], [1, 'W0', true]]);
      const moved = page.entries[1];
      assert.deepEqual([moved.keys.ipp, moved.node.type, moved.ack?.code, moved.outcome], ['123456', 'adt-to-ins', 'AA', 'applied'], 'every column back from the JSON');
      assert.equal((await store.journalContent(4))?.message?.length, journalEntry({}).message?.length);
      assert.equal(await store.journalSize().then((s) => s.rawRows), 4, 'the row kept only for its entry left journal_raw');
      assert.equal(await write(5), 6, 'numbering goes on');
      assert.ok(!columnsOf('journal_raw').includes('entry'));
    });

    it('a store of schema 7 (control id, IPP and INS in B-tree indexes; rows in `journal` and pending) opens as schema 8: every row found by its keys through journal_keys, the indexes gone', async () => {
      for (let i = 0; i < 4; i++) await write(i, { keys: { ippKey: `${OID.IPP}|70000${i % 2}`, ins: i === 3 ? MARIE_NIR : null } });
      await store.close();
      asSchema(7, `INSERT INTO journal_pending (id, ${columnsOf('journal').filter((c) => c !== 'id').join(', ')}) SELECT id, ${columnsOf('journal').filter((c) => c !== 'id').join(', ')} FROM journal WHERE id > 2;
         DELETE FROM journal WHERE id > 2;`);
      assert.deepEqual(indexesOf().filter((n) => /control|ipp|ins/.test(n)), ['journal_control', 'journal_ins', 'journal_ipp'], 'the fixture: schema 7’s indexes');
      assert.deepEqual(inFile(), { indexed: 2, alone: 2, all: 4 });
      store = (await db.open()) as SqliteIdentityStore;
      assert.equal(schemaVersion(), '8');
      assert.deepEqual(indexesOf().filter((n) => /control|ipp|ins/.test(n)), [], 'the B-tree indexes the tokens replace are dropped');
      const found = async (q: Parameters<IdentityStore['searchJournal']>[0]) => (await store.searchJournal(q)).entries.map((e) => e.controlId);
      assert.deepEqual(await found({ controlId: 'W0' }), ['W0'], 'a row of `journal`: its keys put in by the migration');
      assert.deepEqual(await found({ controlId: 'W3' }), ['W3'], 'a row left pending: its keys put in when it moved');
      assert.deepEqual(await found({ ipp: '700001' }), ['W3', 'W1']);
      assert.deepEqual(await found({ ipp: `${OID.IPP}|700000` }), ['W2', 'W0']);
      assert.deepEqual(await found({ ins: MARIE_NIR }), ['W3']);
      assert.equal(await write(4), 5, 'numbering goes on');
      assert.deepEqual(await found({ controlId: 'W4' }), ['W4']);
    });
  },
  ['SQLite'],
);

describe('lib/store journal times (isoTime: a row written without `at`)', () => {
  it('is Date#toISOString to the millisecond: any millisecond of a second, across seconds, before 1970, beyond year 9999', () => {
    const times = [0, 1, 9, 10, 99, 100, 999, 1000, 1_764_504_000_000, 1_764_504_000_007, 1_764_504_000_070, 1_764_504_000_700, 1_764_504_000_999, 1_764_504_001_000, -1, -999, -1000, -62_000_000_000_001, 253_402_300_800_000, 253_402_300_799_999];
    let seed = 7;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      times.push(1_700_000_000_000 + seed * 37 + (i % 3 ? i : 0)); // runs within a second, then jumps
    }
    for (const ms of times) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  });

  it('a row written without `at` is at the time it is written', async () => {
    const store = new SqliteIdentityStore({ file: ':memory:', durability: 'normal' });
    try {
      const before = Date.now();
      const id = await store.journal(journalEntry({ controlId: 'T1' }));
      const at = Date.parse((await store.journalEntry(id))!.at);
      assert.ok(at >= before && at <= Date.now(), `${at} in [${before}, now]`);
    } finally {
      await store.close();
    }
  });
});
