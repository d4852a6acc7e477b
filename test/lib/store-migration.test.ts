import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { readAdtPayload } from '../../lib/ins';
import { SqliteIdentityStore } from '../../lib/store';
import { SQLITE_SCHEMA_VERSION } from '../../lib/store/sqlite';
import { adtMessage, OID, withKey } from '../fixtures/adt';

/** A store written by release 0.1.0 (statuses QUAL / RECUP); how: test/fixtures/stores/make-release-0.1.0.js. */
const RELEASE_0_1_0 = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'stores', 'release-0.1.0.db');
const key = (ipp: string) => `${OID.IPP}|${ipp}`;

function countRows(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = ['identity', 'identity_history', 'link', 'processed_message', 'document', 'audit'];
    return Object.fromEntries(tables.map((t) => [t, (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

describe('lib/store migration of a database written by release 0.1.0 (PAM FR 2.11 statuses)', () => {
  let dir: string;
  let file: string;
  let store: SqliteIdentityStore;
  let rowsBefore: Record<string, number>;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-migrate-'));
    file = path.join(dir, 'ins-store.db');
    fs.copyFileSync(RELEASE_0_1_0, file);
    rowsBefore = countRows(file);
    store = new SqliteIdentityStore({ file });
  });
  after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the fixture is what release 0.1.0 wrote: schema 2, QUAL and RECUP statuses', () => {
    const db = new Database(RELEASE_0_1_0, { readonly: true });
    try {
      assert.equal((db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string }).value, '2');
      const statuses = (db.prepare(`SELECT DISTINCT status FROM identity ORDER BY status`).all() as { status: string }[]).map((r) => r.status);
      assert.deepEqual(statuses, ['PROV', 'QUAL', 'RECUP', 'VALI']);
    } finally {
      db.close();
    }
  });

  it('keeps every row: identities, history, links, processed messages, documents (audit entries added)', () => {
    const after = countRows(file);
    for (const t of ['identity', 'identity_history', 'link', 'processed_message', 'document']) assert.equal(after[t], rowsBefore[t], t);
    assert.ok(after.audit > rowsBefore.audit);
    const db = new Database(file, { readonly: true });
    try {
      assert.equal((db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string }).value, String(SQLITE_SCHEMA_VERSION));
    } finally {
      db.close();
    }
  });

  it('schema 5: the journal and the reconciliation tasks, empty; the file vacuumed into incremental auto-vacuum (issue 14)', async () => {
    const before = new Database(RELEASE_0_1_0, { readonly: true });
    try {
      assert.notEqual(before.pragma('auto_vacuum', { simple: true }), 2, 'the fixture has none');
    } finally {
      before.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('auto_vacuum', { simple: true }), 2);
      for (const t of ['journal', 'journal_raw', 'reconciliation_task']) assert.equal((db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n, 0, t);
    } finally {
      db.close();
    }
    assert.deepEqual((await store.searchJournal({})).entries, []);
    assert.deepEqual((await store.tasks()).tasks, []);
  });

  it('QUAL becomes VALI and stays qualified with its INS', async () => {
    const s = await store.byIpp('100001', OID.IPP);
    assert.equal(s?.patient.status, 'VALI');
    assert.equal(s?.patient.qualified, true);
    assert.ok(s?.patient.ins);
    assert.equal((await store.byIns(s!.patient.ins!.value)).length, 1);
  });

  it('RECUP becomes PROV and loses its INS (PAM FR §4.4.4); the history still has it', async () => {
    const s = await store.byIpp('100002', OID.IPP);
    assert.equal(s?.patient.status, 'PROV');
    assert.equal(s?.patient.qualified, false);
    assert.equal(s?.patient.ins, null);
    assert.deepEqual(await store.byIns(withKey('1850275056789'), { qualifiedOnly: false }), []);
    const history = await store.history(key('100002'));
    assert.equal(history[0].patient?.ins?.value, withKey('1850275056789'), 'the message as received stays in the history');
  });

  it('VALI with its INS and every trait, not qualified by 0.1.0, is qualified now', async () => {
    const s = await store.byIpp('100003', OID.IPP);
    assert.equal(s?.patient.status, 'VALI');
    assert.equal(s?.patient.qualified, true);
    assert.equal(s?.patient.ins?.value, withKey('2920133012345'));
    const option = await store.byIpp('100004', OID.IPP);
    assert.equal(option?.patient.qualified, true, 'VALI counted as qualified by the 0.1.0 option stays so');
  });

  it('QUAL with FICT becomes VALI with FICT: not qualified, INS removed; PROV with DOUT unchanged', async () => {
    const s = await store.byIpp('100006', OID.IPP);
    assert.equal(s?.patient.status, 'VALI');
    assert.deepEqual(s?.patient.attributes, ['FICT']);
    assert.equal(s?.patient.qualified, false);
    assert.equal(s?.patient.ins, null);
    const prov = await store.byIpp('100005', OID.IPP);
    assert.equal(prov?.patient.status, 'PROV');
    assert.deepEqual(prov?.patient.attributes, ['DOUT']);
  });

  it('the merge and the link survive: the merged IPP leads to the surviving identity', async () => {
    assert.equal((await store.byIpp('100007', OID.IPP))?.key, key('100001'));
    assert.deepEqual((await store.links(key('100001'))).map((l) => [l.otherKey, l.kind, l.active]), [
      [key('100003'), 'link', true],
      [key('100007'), 'merge', true],
    ]);
  });

  it('records each rewrite in the audit trail, saying why', async () => {
    const audit = (await store.audit(1000)).filter((a) => a.action === 'migrate');
    const byKey = Object.fromEntries(audit.map((a) => [a.key, a.detail]));
    assert.deepEqual(Object.keys(byKey).sort(), [key('100001'), key('100002'), key('100003'), key('100006')].sort());
    assert.equal(byKey[key('100002')].statusBefore, 'RECUP');
    assert.equal(byKey[key('100002')].insRemoved, true);
    assert.match(String(byKey[key('100002')].why), /RECUP is not in PAM FR table 0445: PROV/);
    assert.match(String(byKey[key('100003')].why), /qualified under PAM FR 2\.11/);
  });

  it('keeps the documents and the idempotence of the messages 0.1.0 applied', async () => {
    assert.equal((await store.getDocument('1.2.250.1.999.1.3^DOC-1'))?.status, 'current');
    const reading = readAdtPayload(adtMessage({ event: 'A28', controlId: 'OLD-1', pid: { ipp: '100001', status: ['VALI'] } }));
    const again = await store.applyAdt(reading, { sender: reading.sender, controlId: 'OLD-1', actor: 'test' }, { code: 'AA', text: '' });
    assert.equal(again.outcome, 'duplicate', 'a message applied before the migration (no content hash) is still a duplicate');
  });

  it('an identity whose stored event time is in year 9999 no longer blocks its updates', async () => {
    const reading = readAdtPayload(adtMessage({ event: 'A31', controlId: 'NEW-1', pid: { ipp: '100008', ins: null, birthName: 'PRESENT', status: ['PROV'] } }));
    const r = await store.applyAdt(reading, { sender: reading.sender, controlId: 'NEW-1', actor: 'test' }, { code: 'AA', text: '' });
    assert.equal(r.outcome, 'applied');
    assert.equal((await store.byIpp('100008', OID.IPP))?.patient.birthName, 'PRESENT');
  });

  it('opening the migrated database again changes nothing', async () => {
    const audits = (await store.audit(1000)).length;
    await store.close();
    store = new SqliteIdentityStore({ file });
    assert.equal((await store.audit(1000)).length, audits);
  });
});
