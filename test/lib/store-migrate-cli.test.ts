// Issue 15: "A switch for an existing establishment: `segur-dpi-store migrate --from sqlite:FILE --to
// postgres://…` copies everything, verifiable (counts and checksums printed)."
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { readAdtPayload } from '../../lib/ins';
import { PostgresIdentityStore, SqliteIdentityStore, STORE_TABLES, type IdentityStore } from '../../lib/store';
import { adtMessage, OID } from '../fixtures/adt';
import { archiveDocuments, feedIdentities } from '../fixtures/export-docs';
import { documentInput, journalEntry } from '../fixtures/journal';
import { dropDatabase, freshDatabase } from '../support/postgres';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'segur-dpi-store.js');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Everything a reader of the store sees, through the interface. */
async function view(store: IdentityStore) {
  const docs = [];
  for await (const d of store.listDocuments({ allVersions: true })) docs.push({ ...d, content: await store.documentContent(d.id), journey: await store.journey(d.id) });
  const journal = (await store.searchJournal({ limit: 500 })).entries;
  return {
    stats: await store.stats(),
    identity: await store.byIpp('123456', OID.IPP),
    history: await store.history(`${OID.IPP}|123456`),
    links: await store.links(`${OID.IPP}|123456`),
    audit: await store.audit(1000),
    docs,
    journal,
    raw: await Promise.all(journal.map((e) => store.journalContent(e.id))),
    tasks: (await store.tasks({ status: 'all' })).tasks,
    size: { ...(await store.journalSize()), pages: null, freePages: null, pageSize: null },
  };
}

describe('segur-dpi-store migrate (issue 15)', function () {
  this.timeout(180_000);
  let dir: string;
  let file: string;
  let url: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-store-cli-'));
    file = path.join(dir, 'ins-store.db');
    const store = new SqliteIdentityStore({ file });
    await feedIdentities(store);
    await archiveDocuments(store);
    let seq = 0;
    for (const spec of [{ pid: { ipp: '654321', ins: null, status: ['PROV'] } }, { pid: { ipp: '123456', status: ['VALI'] } }, { event: 'A40', pid: { ipp: '123456', status: ['VALI'] }, mrg: { ipp: '654321' } }]) {
      const controlId = `M${++seq}`;
      const reading = readAdtPayload(adtMessage({ ...spec, controlId }));
      await store.applyAdt(reading, { sender: 'GAM/CHU-X', controlId, actor: 'test' }, { code: 'AA', text: '' }, { journal: journalEntry({ controlId, message: Buffer.from(`MSH|${controlId}`), answer: Buffer.from('MSA|AA') }) });
    }
    const task = { reason: 'unknown-patient', reasonText: 'no local identity', traits: { birthName: 'MARTIN', firstNames: 'Marie', firstName: 'Marie', usedName: '', birthDate: '1985-05-12', sex: 'F' }, candidates: [] };
    await store.archiveDocument(documentInput('REC1'), { task, journal: journalEntry({ controlId: 'R1', outcome: 'to-reconcile', keys: { documentId: 'REC1' } }) });
    await store.archiveDocument(documentInput('REC2'), { task });
    await store.decideTask((await store.taskOfDocument('REC1'))!.id, { attach: `${OID.IPP}|123456` }, 'alice', { shown: true });
    await store.recordJourney({ documentId: 'REC2', step: 'sent', controlId: 'MDM9', ok: true, detail: { event: 'MDM^T02' } });
    await store.close();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    url = await freshDatabase('migrate');
  });
  afterEach(async () => {
    await dropDatabase(url);
  });

  it('copies every table, prints counts and checksums of both sides, identical; the PostgreSQL store reads exactly as the file', async () => {
    const r = cli(['migrate', '--from', `sqlite:${file}`, '--to', url]);
    assert.equal(r.status, 0, r.stderr);
    for (const { name } of STORE_TABLES) assert.match(r.stdout, new RegExp(`^${name} +\\d+ +[0-9a-f]{64} +\\d+ +[0-9a-f]{64} +identical$`, 'm'), name);
    assert.match(r.stdout, /every table identical/);

    const sqlite = new SqliteIdentityStore({ file });
    const pg = await PostgresIdentityStore.open({ url });
    try {
      assert.ok((await sqlite.stats()).documents > 10, 'a store with something in it');
      assert.deepEqual(await view(pg), await view(sqlite));
      // the sequences moved past the rows copied, the idempotence kept: the instances go on where the file stopped
      const id = await pg.journal(journalEntry({ controlId: 'AFTER' }));
      assert.ok(id > Math.max(...(await sqlite.searchJournal({ limit: 500 })).entries.map((e) => e.id)));
      const again = readAdtPayload(adtMessage({ event: 'A40', pid: { ipp: '123456', status: ['VALI'] }, mrg: { ipp: '654321' }, controlId: 'M3' }));
      assert.equal((await pg.applyAdt(again, { sender: 'GAM/CHU-X', controlId: 'M3', actor: 'test' }, { code: 'AA', text: '' })).outcome, 'duplicate');
    } finally {
      await sqlite.close();
      await pg.close();
    }

    // checksums alone, later, on each side: the same lines
    const left = cli(['checksums', `sqlite:${file}`]);
    assert.equal(left.status, 0, left.stderr);
    const copy = await PostgresIdentityStore.open({ url });
    await copy.pool.query(`DELETE FROM journal_raw WHERE journal_id IN (SELECT id FROM journal WHERE control_id = 'AFTER')`);
    await copy.pool.query(`DELETE FROM journal WHERE control_id = 'AFTER'`);
    await copy.close();
    const right = cli(['checksums', url]);
    assert.equal(right.status, 0, right.stderr);
    const lines = (out: string) => out.split('\n').slice(1);
    assert.deepEqual(lines(right.stdout), lines(left.stdout));
  });

  it('copies the journal rows a stopped Node-RED left pending (journal_pending, SQLite schema 7): opened first, they are in `journal`', async () => {
    const killed = path.join(dir, 'killed.db');
    fs.copyFileSync(file, killed);
    const db = new Database(killed);
    try {
      const at = new Date().toISOString();
      const pend = db.prepare(`INSERT INTO journal_pending (at, at_ms, hour, node_id, node_type, direction, kind, control_id, outcome) VALUES (?, ?, ?, 'n1', 'adt-to-ins', 'in', 'message', ?, 'applied')`);
      for (const c of ['P1', 'P2']) pend.run(at, Date.parse(at), Math.floor(Date.parse(at) / 3_600_000), c);
    } finally {
      db.close();
    }
    const r = cli(['migrate', '--from', `sqlite:${killed}`, '--to', url]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /every table identical/);
    const pg = await PostgresIdentityStore.open({ url });
    try {
      for (const c of ['P1', 'P2']) assert.equal((await pg.searchJournal({ controlId: c })).entries.length, 1, c);
    } finally {
      await pg.close();
    }
  });

  it('refuses a target that already holds a store (never copies twice), and a command line that is wrong', async () => {
    assert.equal(cli(['migrate', '--from', `sqlite:${file}`, '--to', url]).status, 0);
    const twice = cli(['migrate', '--from', `sqlite:${file}`, '--to', url]);
    assert.equal(twice.status, 2);
    assert.match(twice.stderr, /already holds \d+ row\(s\): the target must be an empty store/);
    assert.equal(cli(['migrate', '--from', file, '--to', url]).status, 1, 'sqlite: prefix');
    assert.equal(cli(['migrate', '--from', `sqlite:${file}`]).status, 1);
    assert.equal(cli(['copy']).status, 1);
    const help = cli(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /migrate --from sqlite:FILE --to postgres:/);
  });
});
