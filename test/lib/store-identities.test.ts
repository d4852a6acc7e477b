import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { readAdtPayload, type AdtReading } from '../../lib/ins';
import { ippKey, type DocumentInput, type IdentityStore } from '../../lib/store';
import { describeEachEngine } from '../support/store-engines';
import { adtMessage, MARIE_NIR, OID, withKey, type AdtSpec } from '../fixtures/adt';

const IPP_KEY = `${OID.IPP}|123456`;

// The same cases on SQLite and PostgreSQL (issue 15).
describeEachEngine('lib/store identities', (db) => {
  let store: IdentityStore;
  let seq = 0;

  const origin = (controlId: string) => ({ sender: 'GAM/CHU-X', controlId, actor: 'test' });
  async function apply(spec: AdtSpec, controlId = `C${++seq}`) {
    const reading = readAdtPayload(adtMessage({ ...spec, controlId }));
    return { reading, result: await store.applyAdt(reading, origin(controlId), { code: reading.ack, text: '' }) };
  }

  beforeEach(async () => {
    store = await db.open();
  });

  if (db.engine === 'SQLite') {
    it('creates the file in WAL mode', () => {
      assert.ok(fs.existsSync(db.location()));
      assert.ok(fs.existsSync(`${db.location()}-wal`));
    });
  }

  it('keeps the latest identity per IPP and its status history, with an audit', async () => {
    const first = await apply({ pid: { status: ['PROV'] }, evnOccurred: '20261123100000+0100' });
    assert.equal(first.reading.ack, 'AA');
    assert.equal(first.result.outcome, 'applied');
    assert.equal(first.result.identity?.patient.status, 'PROV');
    assert.equal(first.result.identity?.patient.ins, null, 'an INS sent with PROV is not integrated');
    const second = await apply({ pid: { status: ['VALI'] }, evnOccurred: '20261123110000+0100' });
    assert.equal(second.result.outcome, 'applied');
    assert.deepEqual([first.result.created, second.result.created], [true, false], 'the first message created the identity, the second updated it');
    const stored = await store.byIpp('123456', OID.IPP);
    assert.equal(stored?.patient.status, 'VALI');
    assert.equal(stored?.patient.qualified, true);
    assert.equal(stored?.key, IPP_KEY);
    assert.deepEqual((await store.history(IPP_KEY)).map((h) => [h.status, h.applied]), [
      ['PROV', true],
      ['VALI', true],
    ]);
    const audit = await store.audit();
    assert.deepEqual(audit.map((a) => a.action), ['update', 'create']);
    assert.equal(audit[0].detail.statusBefore, 'PROV');
    assert.equal(audit[0].detail.statusAfter, 'VALI');
    assert.equal(audit[0].detail.insChanged, true);
    assert.equal(audit[0].actor, 'test');
  });

  it('finds identities by INS — only a qualified identity carries one', async () => {
    await apply({ pid: { status: ['PROV'] } });
    assert.deepEqual(await store.byIns(MARIE_NIR), []);
    assert.deepEqual(await store.byIns(MARIE_NIR, { qualifiedOnly: false }), [], 'the INS sent with PROV was not integrated');
    await apply({ pid: { status: ['VALI'] } });
    const found = await store.byIns(MARIE_NIR);
    assert.equal(found.length, 1);
    assert.equal(found[0].patient.ins?.oid, OID.NIR);
    assert.equal((await store.byIpp('123456'))?.key, IPP_KEY, 'by IPP id alone');
    assert.equal(await store.byIpp('999999'), null);
  });

  it('never lets an out-of-date message overwrite newer data (EVN time)', async () => {
    await apply({ pid: { status: ['VALI'] }, evnOccurred: '20261123120000+0100' });
    const old = await apply({ pid: { status: ['PROV'], birthName: 'ANCIEN' }, evnOccurred: '20261123090000+0100' });
    assert.equal(old.result.outcome, 'out-of-date');
    const stored = await store.byIpp('123456', OID.IPP);
    assert.equal(stored?.patient.status, 'VALI');
    assert.notEqual(stored?.patient.birthName, 'ANCIEN');
    const history = await store.history(IPP_KEY);
    assert.deepEqual(history.map((h) => h.applied), [true, false], 'the old message is recorded, not applied');
    // the same instant written with another offset is not older
    const same = await apply({ pid: { status: ['VALI'], usedName: 'NOUVEAU' }, evnOccurred: '20261123110000+0000' });
    assert.equal(same.result.outcome, 'applied');
  });

  it('applies a message once: the same sender, control id and content again change nothing', async () => {
    const a = await apply({ pid: { status: ['VALI'] } }, 'DUP1');
    assert.equal(a.result.outcome, 'applied');
    const before = await store.stats();
    const b = await apply({ pid: { status: ['VALI'] }, mshTime: '20261123111111+0100' }, 'DUP1');
    assert.equal(b.result.outcome, 'duplicate', 'a resend with a new MSH-7 is the same message');
    assert.deepEqual(b.result.previousAck, { code: 'AA', text: '' });
    assert.deepEqual(await store.stats(), before);
    assert.equal((await store.byIpp('123456', OID.IPP))?.patient.status, 'VALI');
    assert.equal((await store.history(IPP_KEY)).length, 1);
  });

  it('the same sender and control id with another content is refused (207 at MSH^1^10), never a duplicate', async () => {
    await apply({ pid: { ipp: '111111', status: ['VALI'] } }, 'REUSED');
    const other = await apply({ pid: { ipp: '222222', birthName: 'AUTRE', status: ['PROV'], ins: null } }, 'REUSED');
    assert.equal(other.result.outcome, 'refused');
    assert.deepEqual(other.result.refusal && [other.result.refusal.code, other.result.refusal.location], ['207', 'MSH^1^10']);
    assert.match(other.result.refusal?.text ?? '', /already used for another message/);
    assert.equal(await store.byIpp('222222', OID.IPP), null, 'the other patient is not recorded under a reused id');
    assert.equal((await store.stats()).messages, 1);
  });

  it('changes nothing for AE / AR readings', async () => {
    const bad = await apply({ pid: { sex: 'X' } });
    assert.equal(bad.reading.ack, 'AE');
    assert.equal(bad.result.outcome, 'ignored');
    const reading: AdtReading = readAdtPayload('not HL7');
    assert.equal((await store.applyAdt(reading, origin('X'), { code: 'AR', text: '' })).outcome, 'ignored');
    assert.deepEqual(await store.stats(), { identities: 0, qualified: 0, merged: 0, messages: 0, documents: 0 });
  });

  it('A40 merge: the history moves to the surviving IPP, the old IPP leads to it', async () => {
    await apply({ pid: { ipp: '654321', status: ['PROV'], ins: null } });
    await apply({ pid: { ipp: '654321', status: ['VALI'], ins: null } });
    await apply({ pid: { ipp: '123456', status: ['VALI'] } });
    const merge = await apply({ event: 'A40', pid: { ipp: '123456', status: ['VALI'] }, mrg: { ipp: '654321' } });
    assert.equal(merge.reading.action, 'merge');
    assert.equal(merge.result.outcome, 'applied');
    const oldKey = `${OID.IPP}|654321`;
    assert.deepEqual(await store.history(oldKey), []);
    const history = await store.history(IPP_KEY);
    assert.equal(history.length, 4);
    assert.deepEqual(history.filter((h) => h.originKey === oldKey).map((h) => h.status), ['PROV', 'VALI']);
    const viaOld = await store.byIpp('654321', OID.IPP);
    assert.equal(viaOld?.key, IPP_KEY, 'a lookup of the merged IPP gives the surviving identity');
    assert.deepEqual((await store.links(IPP_KEY)).map((l) => [l.otherKey, l.kind, l.active]), [[oldKey, 'merge', true]]);
    assert.equal((await store.stats()).merged, 1);
    assert.equal((await store.byIns(MARIE_NIR)).length, 1, 'merged IPPs are left out of INS lookups');
  });

  it('A47: the identity moves to the new identifier', async () => {
    await apply({ pid: { ipp: '111111', status: ['VALI'] } });
    const change = await apply({ event: 'A47', pid: { ipp: '222222', status: ['VALI'] }, mrg: { ipp: '111111' } });
    assert.equal(change.reading.action, 'change-id');
    assert.equal((await store.byIpp('111111', OID.IPP))?.key, `${OID.IPP}|222222`);
    assert.equal((await store.history(`${OID.IPP}|222222`)).length, 2);
  });

  it('A24 / A37: links two IPPs, then unlinks them', async () => {
    const link = await apply({ event: 'A24' });
    assert.equal(link.reading.action, 'link');
    const other = ippKey(link.reading.linked!.ipp);
    assert.deepEqual((await store.links(IPP_KEY)).map((l) => [l.otherKey, l.active]), [[other, true]]);
    await apply({ event: 'A37' });
    assert.deepEqual((await store.links(IPP_KEY)).map((l) => [l.otherKey, l.active]), [[other, false]]);
  });

  it('keeps everything across a close and reopen', async () => {
    await apply({ pid: { status: ['VALI'] } }, 'P1');
    store = await db.open();
    assert.equal((await store.byIpp('123456', OID.IPP))?.patient.qualified, true);
    assert.equal((await apply({ pid: { status: ['VALI'] } }, 'P1')).result.outcome, 'duplicate');
  });
});

describeEachEngine('lib/store document archive', (db) => {
  let store: IdentityStore;
  const patient = (ipp: string, qualified = true) => ({
    ipp: { id: ipp, oid: OID.IPP },
    ins: qualified ? { value: MARIE_NIR, oid: OID.NIR } : null,
    insQualified: qualified,
    birthName: 'MARTIN',
    firstNames: 'Marie Louise',
    firstName: 'Marie',
    usedName: '',
    birthDate: '1985-05-12',
    sex: 'F',
  });
  const doc = (id: string, ipp: string, effectiveTime: string, extra: Partial<DocumentInput> = {}) => ({
    id,
    setId: `set-${id}`,
    version: 1,
    typeCode: '11490-0',
    typeLabel: 'Lettre de liaison',
    title: 'Lettre de liaison de sortie',
    effectiveTime,
    origin: 'produced' as const,
    replaces: null,
    ippKey: `${OID.IPP}|${ipp}`,
    patient: patient(ipp),
    author: { id: '810000000001', family: 'MEDECIN', given: 'Jean' },
    cda: Buffer.from(`<ClinicalDocument id="${id}"/>`),
    pdf: Buffer.from(`%PDF-1.7 ${id}`),
    ...extra,
  });

  beforeEach(async () => {
    store = await db.open();
  });

  it('archives a document once, with checksums, and gives its bytes back', async () => {
    assert.equal(await store.archiveDocument(doc('D1', '123456', '2026-01-10T10:00:00+01:00')), true);
    assert.equal(await store.archiveDocument(doc('D1', '123456', '2026-01-10T10:00:00+01:00')), false);
    const rec = await store.getDocument('D1');
    assert.equal(rec?.status, 'current');
    assert.equal(rec?.cdaSha256, createHash('sha256').update('<ClinicalDocument id="D1"/>').digest('hex'));
    assert.equal(rec?.patient.ins?.value, MARIE_NIR);
    const content = await store.documentContent('D1');
    assert.equal(content?.pdf?.toString(), '%PDF-1.7 D1');
    assert.equal((await store.stats()).documents, 1);
  });

  it('lists by patient, INS, date and type, oldest first, across pages; a new version replaces the old', async () => {
    for (let i = 0; i < 1200; i++) {
      const day = String((i % 28) + 1).padStart(2, '0');
      await store.archiveDocument(doc(`D${i}`, i % 2 ? '111111' : '222222', `20${20 + (i % 6)}-03-${day}T08:00:00Z`, { typeCode: i % 3 ? '11490-0' : '34874-8' }));
    }
    const all: string[] = [];
    let last = '';
    for await (const d of store.listDocuments({})) {
      assert.ok(d.effectiveTime >= last, 'ordered by production date');
      last = d.effectiveTime;
      all.push(d.id);
    }
    assert.equal(all.length, 1200);
    assert.equal(new Set(all).size, 1200, 'no document twice across pages');
    assert.equal(await store.countDocuments({ ipps: ['111111'] }), 600);
    assert.equal(await store.countDocuments({ ipps: [`${OID.IPP}|222222`], types: ['34874-8'] }), 200);
    assert.equal(await store.countDocuments({ since: '2025-01-01' }), 200);
    assert.equal(await store.countDocuments({ ins: [MARIE_NIR], since: '2024-01-01', types: ['11490-0'] }), 400);
    await store.archiveDocument(doc('D0-v2', '222222', '2026-01-01T00:00:00Z', { version: 2, setId: 'set-D0', replaces: 'D0' }));
    assert.equal((await store.getDocument('D0'))?.status, 'replaced');
    assert.equal(await store.countDocuments({}), 1200);
    assert.equal(await store.countDocuments({ allVersions: true }), 1201);
    await assert.rejects(store.countDocuments({ since: 'yesterday' }), /not a date/);
  });

  it('keeps the journey of a document sent: each step in order, found again by the control id of its message', async () => {
    await store.archiveDocument(doc('D1', '123456', '2026-01-10T10:00:00+01:00'));
    await store.recordJourney({ documentId: 'D1', step: 'sent', controlId: 'MDM1', ok: true, detail: { event: 'MDM^T02' } });
    await store.recordJourney({ documentId: 'D1', step: 'ack', controlId: 'MDM1', ok: true, detail: { code: 'AA' } });
    await store.recordJourney({ documentId: 'D1', step: 'dmp-received', controlId: 'MDM1', ok: false, at: '2026-01-10T11:00:00.000Z', detail: { error: 'DMP_ERROR' } });
    const steps = await store.journey('D1');
    assert.deepEqual(
      steps.map((j) => [j.step, j.controlId, j.ok]),
      [
        ['sent', 'MDM1', true],
        ['ack', 'MDM1', true],
        ['dmp-received', 'MDM1', false],
      ],
    );
    assert.equal(steps[2].at, '2026-01-10T11:00:00.000Z');
    assert.deepEqual(steps[2].detail, { error: 'DMP_ERROR' });
    assert.deepEqual(await store.documentsOfMessage('MDM1'), ['D1']);
    assert.deepEqual(await store.documentsOfMessage('MDM2'), []);
    assert.deepEqual(await store.journey('D2'), []);
  });
});
