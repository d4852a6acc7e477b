import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCdaN1 } from '../../lib/cda/build';
import { applicationErrorOf, compareTraits, matchPatient, normalizeName, type PatientMatch } from '../../lib/cda/match';
import { readCda, type CdaReading } from '../../lib/cda/parse';
import { readAdtPayload } from '../../lib/ins';
import { SqliteIdentityStore, type IdentityStore } from '../../lib/store';
import { adtMessage, MARIE_NIR, OID, withKey, withWrongKey, type AdtSpec } from '../fixtures/adt';
import { documentInput, qualifiedPatient, settings } from '../fixtures/cda';
import { cdaXml, LAB_IPP_OID, type CdaSpec } from '../fixtures/cda-hostile';
import { textPdf } from '../fixtures/pdf';

const MARIE_KEY = `${OID.IPP}|123456`;
const PAUL_NIR = withKey('1850275056789');

function doc(spec: CdaSpec = {}): CdaReading {
  return readCda(cdaXml({ body: { structured: '<component><section/></component>' }, ...spec }));
}

/** Wraps a store to record the INS values and IPPs it was asked for. */
function spied(store: IdentityStore): IdentityStore & { insAsked: string[]; ippAsked: string[] } {
  const insAsked: string[] = [];
  const ippAsked: string[] = [];
  return Object.assign(Object.create(store) as IdentityStore, {
    insAsked,
    ippAsked,
    byIns: (value: string, opts?: { qualifiedOnly?: boolean }) => {
      insAsked.push(value);
      return store.byIns(value, opts);
    },
    byIpp: (id: string, authority?: string) => {
      ippAsked.push(`${authority}|${id}`);
      return store.byIpp(id, authority);
    },
  });
}

describe('lib/cda matchPatient (which local record a received document is about)', () => {
  let dir: string;
  let store: SqliteIdentityStore;
  let seq = 0;

  async function feed(spec: AdtSpec) {
    const controlId = `ADT${++seq}`;
    const reading = readAdtPayload(adtMessage({ ...spec, controlId }));
    assert.equal(reading.ack, 'AA', JSON.stringify(reading.issues));
    const result = await store.applyAdt(reading, { sender: 'GAM/CHU-X', controlId, actor: 'test' }, { code: 'AA', text: '' });
    assert.equal(result.outcome, 'applied');
  }

  function expectMatch(m: PatientMatch, outcome: PatientMatch['outcome'], method: PatientMatch['match']['method']) {
    assert.equal(m.outcome, outcome, m.match.reason);
    assert.equal(m.match.method, method, m.match.reason);
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-match-'));
    store = new SqliteIdentityStore({ file: path.join(dir, 'ins-store.db') });
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('preselects the record when the INS is that of a locally qualified identity and the traits agree', async () => {
    await feed({ pid: { status: ['VALI'] } });
    const before = await store.stats();
    const auditBefore = (await store.audit()).length;
    const m = await matchPatient(doc(), store);
    expectMatch(m, 'preselected', 'INS');
    assert.deepEqual(m.match.ipp, { id: '123456', authority: 'CHU-X', oid: OID.IPP });
    assert.equal(m.match.patient?.birthName, 'MARTIN');
    assert.equal(m.match.patient?.ins?.value, MARIE_NIR);
    assert.deepEqual(m.match.candidates, [{ key: MARIE_KEY, status: 'VALI', qualified: true, via: 'ins', mismatches: [] }]);
    assert.match(m.match.reason, /a qualified identity and the birth traits agree/);
    assert.doesNotMatch(m.match.reason, /MARTIN|Marie|1985/, 'no patient data in the reason');
    // never merged nor attached: the store is unchanged
    assert.deepEqual(await store.stats(), before);
    assert.equal((await store.audit()).length, auditBefore);
  });

  it('compares the traits normalised: case, accents, hyphens, apostrophes, spaces', async () => {
    await feed({ pid: { birthName: "DUPONT-HÉRAULT D'ARC", firstName: 'Zoé', firstNames: 'Zoé Anne', status: ['VALI'] } });
    const m = await matchPatient(doc({ birthName: "dupont herault d’arc", firstName: 'ZOE', firstNames: 'Zoe Anne' }), store);
    expectMatch(m, 'preselected', 'INS');
    assert.equal(normalizeName(" Dupont - Hérault  d'Arc "), 'DUPONT HERAULT D ARC');
    assert.equal(normalizeName('Cœur Lætitia'), 'COEUR LAETITIA');
    assert.notEqual(normalizeName('DUPONTHERAULT'), normalizeName('DUPONT-HERAULT'));
  });

  it('PAM FR §6.6.15: an INS sent without VALI, or beside DOUT, is not integrated — the document is never preselected', async () => {
    await feed({ pid: { status: ['PROV'] } });
    const prov = await matchPatient(doc(), store);
    expectMatch(prov, 'reconcile', 'unknown-patient');
    assert.equal(prov.match.patient, undefined, 'nothing preselected');
    await feed({ pid: { status: ['VALI', 'DOUT'] } });
    expectMatch(await matchPatient(doc(), store), 'reconcile', 'unknown-patient');
  });

  it('reconciles when a store holds the INS on an identity that is not qualified (ins-not-qualified)', async () => {
    // a registry that is not this pack's (or a record written before 0.2) may hold an INS on a PROV identity
    await feed({ pid: { status: ['PROV'] } });
    const prov = (await store.byIpp('123456', OID.IPP))!;
    const legacy: IdentityStore = Object.assign(Object.create(store) as IdentityStore, {
      byIns: async (value: string, opts?: { qualifiedOnly?: boolean }) =>
        value === MARIE_NIR && opts?.qualifiedOnly === false ? [{ ...prov, patient: { ...prov.patient, ins: qualifiedPatient().ins } }] : [],
    });
    const m = await matchPatient(doc(), legacy);
    expectMatch(m, 'reconcile', 'ins-not-qualified');
    assert.deepEqual(m.match.candidates, [{ key: MARIE_KEY, status: 'PROV', qualified: false, via: 'ins', mismatches: [] }]);
    assert.match(m.match.reason, /not qualified \(PROV\)/);
    assert.equal(m.match.patient, undefined, 'nothing preselected');
  });

  it('reconciles an INS given without every INS trait (ins-incomplete: LPS volet error 905)', async () => {
    await feed({ pid: { status: ['VALI'] } });
    const cases: [CdaSpec, RegExp][] = [
      [{ sex: 'U' }, /without sex/],
      [{ birthTime: null }, /without birth date/],
      [{ birthPlace: null }, /without birth place/],
      [{ firstName: null, firstNames: null }, /without first birth first name/],
      [{ birthName: '', usedName: null }, /without birth name/],
    ];
    for (const [spec, why] of cases) {
      const m = await matchPatient(doc(spec), store);
      expectMatch(m, 'reconcile', 'ins-incomplete');
      assert.match(m.match.reason, why);
      assert.equal(m.match.patient, undefined);
      assert.equal(applicationErrorOf(m.match.method, true), '905');
    }
  });

  it('never matches a document naming two different INS, not even on the first (ins-ambiguous)', async () => {
    await feed({ pid: { status: ['VALI'] } });
    const two = doc({ extraIds: [{ root: '1.2.250.1.213.1.4.8', extension: PAUL_NIR }] });
    assert.equal(two.patient.insAmbiguous, true);
    assert.equal(two.patient.ins?.value, MARIE_NIR);
    const m = await matchPatient(two, store);
    expectMatch(m, 'reconcile', 'ins-ambiguous');
    assert.match(m.match.reason, /several different INS/);
    // the same INS written twice is one INS
    const twice = doc({ extraIds: [{ root: '1.2.250.1.213.1.4.8', extension: MARIE_NIR }] });
    assert.equal(twice.patient.insAmbiguous, false);
    expectMatch(await matchPatient(twice, store), 'preselected', 'INS');
  });

  it('names the LPS volet application error of each reconciliation (error-codes.md 902–905)', () => {
    assert.equal(applicationErrorOf('INS', true), null);
    assert.equal(applicationErrorOf('none', false), '903');
    assert.equal(applicationErrorOf('ipp-only', false), '903');
    assert.equal(applicationErrorOf('ipp-only', true), '904');
    assert.equal(applicationErrorOf('unknown-patient', true), '902');
    assert.equal(applicationErrorOf('ins-incomplete', true), '905');
    for (const method of ['traits-mismatch', 'ins-not-qualified', 'ins-invalid', 'ins-ambiguous', 'ipp-conflict', 'carrier-mismatch'] as const) {
      assert.equal(applicationErrorOf(method, true), '904', method);
    }
  });

  it('reconciles when a birth trait disagrees, and says which', async () => {
    await feed({ pid: { status: ['VALI'] } });
    const cases: [CdaSpec, string[]][] = [
      [{ birthName: 'MARTINEZ' }, ['birthName']],
      [{ firstName: 'Marion', firstNames: 'Marion Louise' }, ['firstName']],
      [{ birthTime: '19850513' }, ['birthDate']],
      [{ sex: 'M' }, ['sex']],
      [{ birthPlace: '75056' }, ['birthPlace']],
      [{ birthName: 'DURAND', birthTime: '19850513' }, ['birthName', 'birthDate']],
    ];
    for (const [spec, traits] of cases) {
      const m = await matchPatient(doc(spec), store);
      expectMatch(m, 'reconcile', 'traits-mismatch');
      assert.deepEqual(m.match.mismatches?.map((x) => x.trait), traits, JSON.stringify(spec));
      assert.deepEqual(m.match.candidates[0].mismatches, traits);
      assert.equal(m.match.patient, undefined);
    }
    const m = await matchPatient(doc({ birthName: 'MARTINEZ', sex: 'M' }), store);
    assert.match(m.match.reason, /birth name, sex differ/);
    assert.deepEqual(m.match.mismatches, [
      { trait: 'birthName', document: 'MARTINEZ', local: 'MARTIN' },
      { trait: 'sex', document: 'M', local: 'F' },
    ]);
    assert.doesNotMatch(m.match.reason, /MARTINEZ/);
  });

  it('without an INS: ipp-only when an IPP of a known authority names a local identity, none otherwise', async () => {
    await feed({ pid: { status: ['VALI'] } });
    const viaIpp = await matchPatient(doc({ ins: null, ipp: '123456', ippRoot: OID.IPP }), store);
    expectMatch(viaIpp, 'reconcile', 'ipp-only');
    assert.deepEqual(viaIpp.match.ipp, { id: '123456', authority: 'CHU-X', oid: OID.IPP });
    assert.deepEqual(viaIpp.match.candidates, [{ key: MARIE_KEY, status: 'VALI', qualified: true, via: 'ipp', mismatches: [] }]);
    assert.match(viaIpp.match.reason, /no INS.*IPP names a local identity/);
    const otherAuthority = await matchPatient(doc({ ins: null, ipp: '123456', ippRoot: LAB_IPP_OID }), store);
    expectMatch(otherAuthority, 'reconcile', 'none');
    assert.deepEqual(otherAuthority.match.candidates, []);
    const restricted = await matchPatient(doc({ ins: null, ipp: '123456', ippRoot: OID.IPP }), store, { ippAuthorities: [LAB_IPP_OID] });
    expectMatch(restricted, 'reconcile', 'none');
    const traitsDiffer = await matchPatient(doc({ ins: null, ipp: '123456', ippRoot: OID.IPP, birthName: 'AUTRE' }), store);
    expectMatch(traitsDiffer, 'reconcile', 'ipp-only');
    assert.deepEqual(traitsDiffer.match.mismatches?.map((x) => x.trait), ['birthName']);
  });

  it('reconciles an unknown patient: an INS no local identity carries, no known IPP', async () => {
    await feed({ pid: { status: ['VALI'] } });
    const m = await matchPatient(doc({ ins: PAUL_NIR, birthName: 'MARTIN', firstName: 'Paul', sex: 'M' }), store);
    expectMatch(m, 'reconcile', 'unknown-patient');
    assert.deepEqual(m.match.candidates, []);
    // the INS unknown, but the document's IPP names a local identity: ipp-only, and the reason says its INS differs
    const viaIpp = await matchPatient(doc({ ins: PAUL_NIR, ipp: '123456', ippRoot: OID.IPP }), store);
    expectMatch(viaIpp, 'reconcile', 'ipp-only');
    assert.match(viaIpp.match.reason, /it carries another INS/);
  });

  it('never uses an INS with a wrong key (ins-invalid): the store is not even asked', async () => {
    await feed({ pid: { status: ['VALI'] } });
    const wrong = withWrongKey(MARIE_NIR.slice(0, 13));
    const spy = spied(store);
    const m = await matchPatient(doc({ ins: wrong }), spy);
    expectMatch(m, 'reconcile', 'ins-invalid');
    assert.deepEqual(spy.insAsked, []);
    assert.match(m.match.reason, /invalid key/);
    const withIpp = await matchPatient(doc({ ins: wrong, ipp: '123456', ippRoot: OID.IPP }), store);
    expectMatch(withIpp, 'reconcile', 'ins-invalid');
    assert.equal(withIpp.match.candidates[0].key, MARIE_KEY);
  });

  it('matches a test or demonstration INS only under the same OID', async () => {
    await feed({ pid: { status: ['VALI'], insOid: OID.NIR_TEST }, processingId: 'T' });
    const test = await matchPatient(doc({ insOid: OID.NIR_TEST }), store);
    expectMatch(test, 'preselected', 'INS');
    const prod = await matchPatient(doc({ insOid: OID.NIR }), store);
    expectMatch(prod, 'reconcile', 'unknown-patient');
    assert.match(prod.match.reason, /known under another INS OID: 1\.2\.250\.1\.213\.1\.4\.10/);
  });

  it('reconciles when two qualified identities carry the INS (ins-ambiguous)', async () => {
    await feed({ pid: { status: ['VALI'] } });
    await feed({ pid: { status: ['VALI'], ipp: '555555' } });
    const m = await matchPatient(doc(), store);
    expectMatch(m, 'reconcile', 'ins-ambiguous');
    assert.deepEqual(m.match.candidates.map((c) => c.key).sort(), [`${OID.IPP}|123456`, `${OID.IPP}|555555`]);
  });

  it('says why without an identifier: no IPP nor IPP key in msg.match.reason (they are in ipp and candidates)', async () => {
    await feed({ pid: { status: ['VALI'] } });
    await feed({ pid: { status: ['VALI'], ipp: '777888', ins: PAUL_NIR, birthName: 'MARTIN', firstName: 'Paul', firstNames: 'Paul', sex: 'M', birthDate: '19850207', birthPlace: '75056' } });
    const cases = [
      doc(),
      doc({ birthName: 'MARTINEZ' }),
      doc({ ins: null, ipp: '123456', ippRoot: OID.IPP }),
      doc({ ins: PAUL_NIR, ipp: '123456', ippRoot: OID.IPP, birthName: 'MARTIN', firstName: 'Paul', firstNames: 'Paul', sex: 'M', birthTime: '19850207', birthPlace: '75056' }),
      doc({ ins: withKey('2850569999999'), ipp: '123456', ippRoot: OID.IPP }),
    ];
    const methods = new Set<string>();
    for (const d of cases) {
      const m = await matchPatient(d, store);
      methods.add(m.match.method);
      assert.doesNotMatch(m.match.reason, /123456|777888|\|/, `${m.match.method}: ${m.match.reason}`);
    }
    assert.deepEqual([...methods].sort(), ['INS', 'ipp-conflict', 'ipp-only', 'traits-mismatch'].sort());
  });

  it('reconciles when the INS and the IPP name different local identities (ipp-conflict)', async () => {
    await feed({ pid: { status: ['VALI'] } });
    await feed({ pid: { status: ['VALI'], ipp: '777888', ins: PAUL_NIR, birthName: 'MARTIN', firstName: 'Paul', firstNames: 'Paul', sex: 'M', birthDate: '19850207', birthPlace: '75056' } });
    const m = await matchPatient(doc({ ipp: '777888', ippRoot: OID.IPP }), store);
    expectMatch(m, 'reconcile', 'ipp-conflict');
    assert.deepEqual(m.match.candidates.map((c) => [c.key, c.via]), [
      [MARIE_KEY, 'ins'],
      [`${OID.IPP}|777888`, 'ipp'],
    ]);
    // the same IPP as the INS: preselected
    expectMatch(await matchPatient(doc({ ipp: '123456', ippRoot: OID.IPP }), store), 'preselected', 'INS');
  });

  it('reconciles without a store', async () => {
    expectMatch(await matchPatient(doc(), null), 'reconcile', 'unknown-patient');
    expectMatch(await matchPatient(doc({ ins: null }), null), 'reconcile', 'none');
  });

  it('preselects the record of a document lib/cda/build wrote for the same qualified identity', async () => {
    await feed({ pid: { status: ['VALI'] } });
    const built = await buildCdaN1({ pdf: await textPdf(), patient: qualifiedPatient(), document: documentInput('CR-IMAGERIE'), settings: settings() });
    const m = await matchPatient(readCda(built.xml), store);
    expectMatch(m, 'preselected', 'INS');
  });

  it('compareTraits takes the first birth first name from the list when given BR is absent', () => {
    const local = qualifiedPatient({ firstName: '' });
    const traits = doc({ firstName: null }).patient.traits;
    assert.equal(traits.firstName, 'Marie');
    assert.deepEqual(compareTraits(traits, local), []);
  });
});
