import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pdfToCda = require('../../nodes/pdf-to-cda-n1/pdf-to-cda-n1');
import insStore = require('../../nodes/ins-store/ins-store');
import { documentType } from '../../lib/cda';
import { parseHl7, type Hl7Message } from '../../lib/hl7';
import { readAdtPayload } from '../../lib/ins';
import type { PatientIdentity } from '../../lib/ins';
import type { IdentityStore } from '../../lib/store';
import { MARIE_NIR, OID, adtMessage, withWrongKey } from '../fixtures/adt';
import { DOC_ROOT, ENCOUNTER_ROOT, PRESCRIPTION_TYPES, SEGUR_TYPES, SET_ROOT, documentInput, provisionalPatient, qualifiedPatient } from '../fixtures/cda';
import { NOT_PDFS, encryptedPdf, largePdf, MiB, openActionJavaScriptPdf, pagelessPdf, pdfAPdf, textPdf } from '../fixtures/pdf';
import { checkCda, describeErrors } from '../support/check-cda';
import { delay, until, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['ins-store', 'pdf-to-cda-n1'], [insStore, pdfToCda]);

/** The establishment of test/fixtures/cda.ts settings(), as the edit dialog holds it. */
const CONFIG = {
  documentIdRoot: DOC_ROOT,
  setIdRoot: SET_ROOT,
  ippAuthorityOid: OID.IPP,
  encounterIdRoot: ENCOUNTER_ROOT,
  custodianFiness: '690000001',
  custodianName: 'CHU X (fictif)',
  custodianStreet: '1 rue des Essais',
  custodianPostalCode: '69000',
  custodianCity: 'LYON',
  custodianTelecom: 'tel:+33400000000',
  defaultFacilityType: 'SA01',
  defaultPracticeSetting: 'ETABLISSEMENT',
  timeZone: 'Europe/Paris',
  hl7SendingApplication: 'DPI^1.2.250.1.999.1.9^ISO',
  hl7SendingFacility: 'CHU-X',
  hl7ReceivingApplication: 'PFI',
  hl7ReceivingFacility: 'CHU-X',
  hl7Version: '2.6',
  hl7ProcessingId: 'P',
  defaultType: 'LDL',
  requirePdfA: false,
  archive: true,
  maxPdfSize: 50,
};

/** A flow: [ins-store] → pdf-to-cda-n1 → helpers 'cda' (output 1) and 'mdm' (output 2), catch → 'err'. */
function flow(o: { file?: string | null; config?: Partial<typeof CONFIG> & Record<string, unknown> } = {}): Msg[] {
  const nodes: Msg[] = [];
  let store = '';
  if (o.file !== undefined && o.file !== null) {
    nodes.push({ id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file: o.file });
    store = 'st';
  }
  nodes.push(
    { id: 'n', type: 'pdf-to-cda-n1', name: '', store, ...CONFIG, ...o.config, wires: [['cda'], ['mdm']] },
    { id: 'cda', type: 'helper' },
    { id: 'mdm', type: 'helper' },
    { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['err']] },
    { id: 'err', type: 'helper' },
  );
  return nodes;
}

interface Result {
  cda?: Msg;
  mdm?: Msg;
  err?: Msg;
}

class Probe {
  readonly cda: Msg[] = [];
  readonly mdm: Msg[] = [];
  readonly errors: Msg[] = [];
  readonly statuses: Msg[] = [];

  constructor() {
    helper.getNode('cda').on('input', (m: Msg) => this.cda.push(m));
    helper.getNode('mdm').on('input', (m: Msg) => this.mdm.push(m));
    helper.getNode('err').on('input', (m: Msg) => this.errors.push(m));
    helper.getNode('n').on('call:status', (call: { args: Msg[] }) => this.statuses.push(call.args[0]));
  }

  async send(msg: Msg): Promise<Result> {
    const [c, m, e] = [this.cda.length, this.mdm.length, this.errors.length];
    helper.getNode('n').receive(msg);
    await until(() => (this.cda.length > c && this.mdm.length > m) || this.errors.length > e, 'both outputs or an error', 20_000);
    await delay(30); // anything else that would come
    assert.ok(this.cda.length <= c + 1 && this.mdm.length <= m + 1 && this.errors.length <= e + 1, 'one message per output at most');
    return { cda: this.cda[c], mdm: this.mdm[m], err: this.errors[e] };
  }

  /** Sends; expects both outputs and no error. */
  async produce(msg: Msg): Promise<{ cda: Msg; mdm: Msg }> {
    const r = await this.send(msg);
    assert.equal(r.err, undefined, `no error expected: ${r.err?.error?.message}`);
    assert.ok(r.cda && r.mdm, 'a message on each output');
    return { cda: r.cda, mdm: r.mdm };
  }

  /** Sends; expects a Catch-able error with `code` naming `field`, and nothing on the outputs. */
  async refuse(msg: Msg, code: string, field: string | RegExp): Promise<Msg> {
    const r = await this.send(msg);
    assert.equal(r.cda, undefined, 'nothing on output 1');
    assert.equal(r.mdm, undefined, 'nothing on output 2');
    assert.ok(r.err, 'a Catch-able error');
    assert.equal(r.err.error.source.id, 'n');
    assert.equal(r.err.error.code, code, r.err.error.message);
    if (typeof field === 'string') assert.ok(r.err.error.message.includes(field), `"${field}" named in: ${r.err.error.message}`);
    else assert.match(r.err.error.message, field);
    return r.err.error;
  }
}

/** Patient data of the fixtures that must never appear in an error text or a status. */
const PATIENT_DATA = ['MARTIN', 'Marie', 'DURAND', '1985-05-12', '19850512', '69123', MARIE_NIR, '123456', 'DUPONT', '654321'];
function assertNoPatientData(text: string) {
  for (const v of PATIENT_DATA) assert.ok(!text.includes(v), `"${v}" appears in: ${text}`);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const carried = (m: Hl7Message) => Buffer.from(m.get('OBX-5.5'), 'base64');

/** The checks every produced document passes: output 1, output 2 (same identity, same bytes), the archive. */
async function checkProduced(r: { cda: Msg; mdm: Msg }, patient: PatientIdentity, expect: { typeCode: string; event: string; archived: boolean }, store?: IdentityStore) {
  const qualified = patient.qualified === true;
  // output 1
  assert.equal(typeof r.cda.payload, 'string');
  assert.ok(r.cda.payload.startsWith('<?xml version="1.0" encoding="UTF-8"?>'));
  const c = r.cda.cda;
  const keys = ['archived', 'effectiveTime', 'id', 'insIncluded', 'pdfa', 'setId', 'title', 'typeCode', 'version', 'warnings'];
  assert.deepEqual(Object.keys(c).sort(), (expect.event === 'T04' ? [...keys, 'cancelled'] : keys).sort());
  assert.match(c.id, new RegExp(`^${DOC_ROOT.replace(/\./g, '\\.')}\\^[0-9A-Z]{1,16}$`));
  assert.equal(c.typeCode, expect.typeCode);
  assert.equal(c.insIncluded, qualified);
  assert.equal(c.archived, expect.archived);
  assert.ok(r.cda.payload.includes(`<code code="${expect.typeCode}"`));
  assert.ok(r.cda.payload.includes('<nonXMLBody>') && r.cda.payload.includes('representation="B64"'));
  assert.equal(r.cda.payload.includes(`extension="${patient.ins?.value}"`), qualified, 'INS in the CDA only when qualified');
  const bytes = Buffer.from(r.cda.payload, 'utf8');

  // output 2: the MDM
  assert.equal(typeof r.mdm.payload, 'string');
  const m = parseHl7(r.mdm.payload);
  const h = m.header();
  assert.deepEqual([h.type, h.event, h.structure, h.charset, h.version], ['MDM', expect.event, 'MDM_T02', 'UNICODE UTF-8', '2.6']);
  assert.deepEqual(r.mdm.mdm, { event: expect.event, controlId: h.controlId });
  assert.deepEqual(r.mdm.cda, c, 'msg.cda on output 2 as on output 1');
  assert.equal(m.get('PID-3[1].1'), patient.ipp.id);
  assert.equal(m.get('PID-3[1].4.2'), patient.ipp.oid);
  assert.equal(m.get('PID-3[1].5'), 'PI');
  if (qualified) {
    assert.equal(m.get('PID-3[2].1'), patient.ins!.value);
    assert.equal(m.get('PID-3[2].5'), 'INS');
  } else assert.equal(m.getAll('PID-3').length, 1, 'no INS in PID-3 of an identity that is not qualified');
  assert.equal(m.segment('TXA')?.raw(12), `${c.id.split('^')[1]}^^${c.id.split('^')[0]}^ISO`);
  assert.ok(carried(m).equals(bytes), 'OBX-5 carries the exact bytes of output 1');

  // the archive
  if (store) {
    const rec = await store.getDocument(c.id);
    if (!expect.archived) return;
    assert.ok(rec, 'archived');
    assert.equal(rec.origin, 'produced');
    assert.equal(rec.setId, c.setId);
    assert.equal(rec.version, c.version);
    assert.equal(rec.typeCode, c.typeCode);
    assert.equal(rec.typeLabel, documentType(c.typeCode)?.displayName);
    assert.equal(rec.title, c.title);
    assert.equal(rec.ippKey, `${patient.ipp.oid}|${patient.ipp.id}`);
    assert.equal(rec.patient.insQualified, qualified);
    assert.deepEqual(rec.patient.ins, qualified ? { value: patient.ins!.value, oid: patient.ins!.oid } : null);
    assert.equal(rec.patient.birthName, patient.birthName);
    assert.equal(rec.author?.id, '810001234567');
    assert.equal(rec.cdaSha256, sha256(bytes));
    assert.equal(Date.parse(rec.effectiveTime), Date.parse('2026-11-23T10:15:00+01:00'));
    const content = await store.documentContent(c.id);
    assert.ok(content?.cda.equals(bytes), 'documentContent gives the bytes sent');
  }
}

describe('pdf-to-cda-n1 node', function () {
  this.timeout(120_000);
  let tmp: string;
  let n = 0;
  const dbFile = () => path.join(tmp, `cda-${++n}.db`);
  let pdfa: Buffer;
  let plain: Buffer;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pdf-to-cda-'));
    pdfa = await pdfAPdf();
    plain = await textPdf();
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  async function start(o: Parameters<typeof flow>[0] = {}): Promise<Probe> {
    await helper.load(NODES, flow(o));
    return new Probe();
  }

  function store(): IdentityStore {
    const st = helper.getNode('st');
    assert.ok(st?.store, 'the ins-store node has an open store');
    return st.store as IdentityStore;
  }

  /** Every CDA given on output 1, checked by check-cda in one go at the end. */
  const produced: Record<string, string> = {};

  describe('documents', () => {
    const types = [...SEGUR_TYPES, ...PRESCRIPTION_TYPES];

    it(`every type (${types.join(', ')}), with a qualified identity (INS) and without: CDA, MDM^T02, archive`, async () => {
      const p = await start({ file: dbFile() });
      let i = 0;
      for (const type of types) {
        for (const [who, patient] of [
          ['qualified', qualifiedPatient()],
          ['provisional', provisionalPatient()],
        ] as const) {
          // the PDF as a Buffer and as base64, in turn
          const payload = i++ % 2 ? pdfa.toString('base64') : pdfa;
          const r = await p.produce({ payload, patient, document: documentInput(type), topic: 'kept' });
          const typeCode = documentType(type)!.code;
          await checkProduced(r, patient, { typeCode, event: 'T02', archived: true }, store());
          assert.deepEqual(r.cda.cda.pdfa, { part: 1, conformance: 'B' });
          assert.equal(r.cda.topic, 'kept', 'the other msg properties pass through');
          assert.equal(r.mdm.topic, 'kept');
          const archived = await store().documentContent(r.cda.cda.id);
          assert.ok(archived?.pdf?.equals(pdfa), 'the PDF is archived with the document');
          produced[`${type}-${who}`] = r.cda.payload;
        }
      }
      assert.equal((await store().stats()).documents, types.length * 2);
      const last = p.statuses[p.statuses.length - 1];
      assert.equal(last.fill, 'green');
      assert.equal(last.text, `${types.length * 2} produced · 0 errors · last PRESC-INF`);
    });

    it('the INS only for a qualified identity: a VALI identity whose INS was not kept goes without it, PID-32 PROV (PAM FR §6.6.1)', async () => {
      const p = await start();
      const vali = qualifiedPatient({ status: 'VALI', qualified: false });
      const r = await p.produce({ payload: pdfa, patient: vali, document: documentInput('CRO') });
      await checkProduced(r, vali, { typeCode: '34874-8', event: 'T02', archived: false });
      assert.ok(!r.cda.payload.includes(MARIE_NIR) && !r.mdm.payload.includes(MARIE_NIR), 'the INS read is not carried');
      assert.deepEqual(parseHl7(r.mdm.payload).getAll('PID-32'), ['PROV'], 'VALI goes with the INS only');
      assert.match(r.cda.payload, /<family qualifier="BR">MARTIN<\/family>/);
      assert.match(r.cda.payload, /<family qualifier="CL">DURAND<\/family>/);
      produced['CRO-vali'] = r.cda.payload;
    });

    it('msg.ipp: the identity of the ins store (fed by ADT messages), qualified or not', async () => {
      const p = await start({ file: dbFile() });
      const feed = [
        adtMessage({ controlId: 'F1' }),
        adtMessage({ controlId: 'F2', pid: { ipp: '654321', ins: null, status: ['PROV'], birthName: 'DUPONT', firstName: 'Jean', firstNames: 'Jean', usedName: null, sex: 'M', birthDate: '19750201' } }),
      ];
      for (const [k, text] of feed.entries()) {
        const reading = readAdtPayload(text);
        assert.equal(reading.ack, 'AA');
        const res = await store().applyAdt(reading, { sender: 'GAM/CHU-X', controlId: `F${k + 1}`, actor: 'test' }, { code: 'AA', text: '' });
        assert.equal(res.outcome, 'applied');
      }
      const marie = (await store().byIpp('123456'))!.patient;
      const jean = (await store().byIpp('654321'))!.patient;

      const a = await p.produce({ payload: pdfa, ipp: '123456', document: documentInput('CR-BIO') });
      await checkProduced(a, marie, { typeCode: '11502-2', event: 'T02', archived: true }, store());
      assert.equal(a.cda.cda.insIncluded, true);
      const b = await p.produce({ payload: pdfa, ipp: { id: '654321', oid: OID.IPP }, document: documentInput('CR-IMAGERIE') });
      await checkProduced(b, jean, { typeCode: '18748-4', event: 'T02', archived: true }, store());
      assert.equal(b.cda.cda.insIncluded, false);
      produced['CR-BIO-store'] = a.cda.payload;
      produced['CR-IMAGERIE-store'] = b.cda.payload;

      const err = await p.refuse({ payload: pdfa, ipp: '999999', document: documentInput('LDL') }, 'UNKNOWN_IPP', 'msg.ipp');
      assert.ok(!err.message.includes('999999'), err.message);
      assert.equal((await store().stats()).documents, 2, 'nothing archived for the unknown IPP');
    });

    it('a new version (document.replaces → MDM^T10, setId and version from the archive), then its withdrawal (MDM^T04)', async () => {
      const p = await start({ file: dbFile() });
      const patient = qualifiedPatient();
      const v1 = await p.produce({ payload: pdfa, patient, document: documentInput('LDL') });
      await checkProduced(v1, patient, { typeCode: '11490-0', event: 'T02', archived: true }, store());

      // T10: only the id of the replaced document; setId and version come from the archive
      const v2 = await p.produce({ payload: pdfa, patient, document: documentInput('LDL', { replaces: { id: v1.cda.cda.id } }) });
      await checkProduced(v2, patient, { typeCode: '11490-0', event: 'T10', archived: true }, store());
      assert.equal(v2.cda.cda.version, 2);
      assert.equal(v2.cda.cda.setId, v1.cda.cda.setId);
      assert.notEqual(v2.cda.cda.id, v1.cda.cda.id);
      const mdm = parseHl7(v2.mdm.payload);
      const [root, ext] = v1.cda.cda.id.split('^');
      assert.equal(mdm.segment('TXA')?.raw(13), `${ext}^^${root}^ISO`);
      assert.match(v2.cda.payload, /<relatedDocument typeCode="RPLC">/);
      assert.equal((await store().getDocument(v1.cda.cda.id))?.status, 'replaced');
      assert.equal((await store().getDocument(v2.cda.cda.id))?.status, 'current');
      produced['LDL-v2'] = v2.cda.payload;

      // T04 (document.cancel): the same id; setId and version from the archive; the archived document is
      // marked cancelled, nothing is added
      const before = await store().stats();
      const t04 = await p.produce({ payload: pdfa, patient, document: documentInput('LDL', { id: v2.cda.cda.id, cancel: true } as any) });
      await checkProduced(t04, patient, { typeCode: '11490-0', event: 'T04', archived: false }, store());
      assert.equal(t04.cda.cda.id, v2.cda.cda.id);
      assert.equal(t04.cda.cda.setId, v2.cda.cda.setId);
      assert.equal(t04.cda.cda.version, 2);
      assert.equal(parseHl7(t04.mdm.payload).get('TXA-19'), 'CA');
      assert.deepEqual(await store().stats(), before);
      assert.equal(t04.cda.cda.cancelled, true);
      assert.equal((await store().getDocument(v2.cda.cda.id))?.status, 'cancelled');
      produced['LDL-t04'] = t04.cda.payload;

      // msg.mdm = 'T04' does the same; without an id a T04 is refused
      const forced = await p.produce({ payload: pdfa, patient, document: documentInput('LDL', { id: v1.cda.cda.id }), mdm: 'T04' });
      assert.equal(forced.mdm.mdm.event, 'T04');
      assert.equal(forced.cda.cda.setId, v1.cda.cda.setId);
      assert.equal(forced.cda.cda.version, 1);
      await p.refuse({ payload: pdfa, patient, document: documentInput('LDL'), mdm: 'T04' }, 'MISSING', 'document.id');
      await p.refuse({ payload: pdfa, patient, document: documentInput('LDL'), mdm: 'T03' }, 'BAD_INPUT', 'msg.mdm');
      // a T10 without a replaced document
      await p.refuse({ payload: pdfa, patient, document: documentInput('LDL'), mdm: 'T10' }, 'MISSING', 'document.replaces');
    });

    it('without a store: T10 and T04 with every identifier given; nothing archived', async () => {
      const p = await start();
      const patient = provisionalPatient();
      const v1 = await p.produce({ payload: pdfa, patient, document: documentInput('CRO', { id: 'CRO-0001', setId: 'SET-CRO-0001' }) });
      assert.equal(v1.cda.cda.id, `${DOC_ROOT}^CRO-0001`);
      assert.equal(v1.cda.cda.setId, `${SET_ROOT}^SET-CRO-0001`);
      assert.equal(v1.cda.cda.archived, false);
      const v2 = await p.produce({ payload: pdfa, patient, document: documentInput('CRO', { replaces: { id: 'CRO-0001', setId: 'SET-CRO-0001', version: 1 } }) });
      assert.equal(v2.mdm.mdm.event, 'T10');
      assert.equal(v2.cda.cda.version, 2);
      const t04 = await p.produce({ payload: pdfa, patient, document: documentInput('CRO', { id: 'CRO-0001', setId: 'SET-CRO-0001', cancel: true } as any) });
      assert.equal(t04.mdm.mdm.event, 'T04');
      // without a store the setId of a T04 must be given
      await p.refuse({ payload: pdfa, patient, document: documentInput('CRO', { id: 'CRO-0001', cancel: true } as any) }, 'MISSING', 'document.setId');
      produced['CRO-v2-nostore'] = v2.cda.payload;
    });

    it('defaults and overrides: defaultType, msg.document.type, msg.settings over the configured settings', async () => {
      const p = await start({ config: { defaultType: 'CRO' } });
      const patient = qualifiedPatient();
      const { type: _type, ...untyped } = documentInput('LDL');
      const a = await p.produce({ payload: pdfa, patient, document: untyped });
      assert.equal(a.cda.cda.typeCode, '34874-8', 'the default type');
      const sharing = { dmp: true, invisibleToPatient: true, mssantePs: false, recipients: [{ idNat: '10009876543', family: 'GÉNÉRALISTE', mssante: 'anne.generaliste@medecin.mssante.fr' }] };
      const b = await p.produce({ payload: pdfa, patient, document: documentInput('ORDONNANCE', { title: 'Ordonnance de sortie', sharing }) });
      assert.equal(b.cda.cda.typeCode, '57833-6');
      assert.equal(b.cda.cda.title, 'Ordonnance de sortie');
      // the sharing metadata OBX after the document
      const obx = parseHl7(b.mdm.payload).all('OBX').map((o) => `${o.value(3, 1, 1)}|${o.raw(5)}`);
      assert.deepEqual(obx.slice(1), [
        'DESTDMP|Y^^expandedYes-NoIndicator',
        'DESTMSSANTEPS|N^^expandedYes-NoIndicator',
        'INVISIBLE_PATIENT|Y^^expandedYes-NoIndicator',
        'DESTINATAIRE|810009876543^GÉNÉRALISTE^^^^^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS',
        'DESTINATAIRE|^NET^Internet^anne.generaliste@medecin.mssante.fr',
      ]);
      const c = await p.produce({
        payload: `data:application/pdf;base64,${pdfa.toString('base64')}`,
        patient,
        document: documentInput('LDL'),
        settings: { custodian: { name: 'Clinique Y (fictive)' }, hl7: { receivingApplication: 'PFI-2' }, defaultFacilityType: 'SA03' },
      });
      assert.match(c.cda.payload, /<name>Clinique Y \(fictive\)<\/name>/);
      assert.match(c.cda.payload, /extension="1690000001"/, 'the configured FINESS is kept');
      assert.match(c.cda.payload, /<streetName>1 rue des Essais<\/streetName>/, 'the configured address is kept');
      assert.match(c.cda.payload, /<code code="SA03"/);
      assert.equal(parseHl7(c.mdm.payload).header().receivingApplication, 'PFI-2');
      assert.equal(parseHl7(c.mdm.payload).header().sendingApplication, 'DPI^1.2.250.1.999.1.9^ISO');
      produced['CRO-default'] = a.cda.payload;
      produced['LDL-settings'] = c.cda.payload;
    });

    it('requirePdfA: a PDF/A-1 passes; no declaration or PDF/A-2 is refused', async () => {
      const p = await start({ config: { requirePdfA: true } });
      const patient = qualifiedPatient();
      const ok = await p.produce({ payload: pdfa, patient, document: documentInput('LDL') });
      assert.deepEqual(ok.cda.cda.pdfa, { part: 1, conformance: 'B' });
      await p.refuse({ payload: plain, patient, document: documentInput('LDL') }, 'NOT_PDFA', /no PDF\/A declaration.*PDF\/A-1/);
      await p.refuse({ payload: await pdfAPdf({ part: 2 }), patient, document: documentInput('LDL') }, 'NOT_PDFA', /PDF\/A-2B/);
    });

    it('a PDF without PDF/A declaration is accepted by default, with a warning in msg.cda.warnings', async () => {
      const p = await start();
      const r = await p.produce({ payload: plain, patient: qualifiedPatient(), document: documentInput('LDL') });
      assert.equal(r.cda.cda.pdfa, null);
      assert.match(r.cda.cda.warnings.join(' '), /PDF\/A/);
      produced['LDL-not-pdfa'] = r.cda.payload;
    });

    it('the same document sent twice (same id and content) is archived once; another document under that id is refused', async () => {
      const p = await start({ file: dbFile() });
      const patient = qualifiedPatient();
      const doc = documentInput('LDL', { id: 'LDL-0001', setId: 'SET-LDL-0001' });
      const a = await p.produce({ payload: pdfa, patient, document: doc });
      const b = await p.produce({ payload: pdfa, patient, document: doc });
      assert.equal(b.cda.payload, a.cda.payload);
      assert.equal(b.cda.cda.archived, true);
      assert.equal((await store().stats()).documents, 1);
      await p.refuse({ payload: plain, patient, document: doc }, 'ARCHIVE', 'document.id');
      const content = await store().documentContent(`${DOC_ROOT}^LDL-0001`);
      assert.ok(content?.cda.equals(Buffer.from(a.cda.payload, 'utf8')), 'the first document stays');
    });
  });

  describe('refused input: a Catch-able error naming what is wrong, nothing sent, nothing archived', () => {
    it('bad PDFs and payloads', async () => {
      const p = await start({ file: dbFile() });
      const patient = qualifiedPatient();
      const document = documentInput('LDL');
      for (const [name, make] of Object.entries(NOT_PDFS)) {
        await p.refuse({ payload: await make(), patient, document }, 'BAD_PDF', /pdf.*not a PDF.*\(NOT_PDF\)/);
        void name;
      }
      await p.refuse({ payload: encryptedPdf(), patient, document }, 'BAD_PDF', /encrypted.*\(ENCRYPTED\)/);
      await p.refuse({ payload: Buffer.alloc(0), patient, document }, 'BAD_PDF', /empty.*\(EMPTY\)/);
      await p.refuse({ payload: '', patient, document }, 'BAD_PDF', /\(EMPTY\)/);
      await p.refuse({ payload: await pagelessPdf(), patient, document }, 'BAD_PDF', /no page.*\(EMPTY\)/);
      await p.refuse({ payload: await openActionJavaScriptPdf(), patient, document }, 'BAD_PDF', /runs JavaScript when opened \(\/OpenAction \/S \/JavaScript\) \(JAVASCRIPT\)/);
      for (const payload of [42, { pdf: true }, null, undefined, [1, 2, 3], true]) {
        await p.refuse({ payload, patient, document }, 'BAD_INPUT', /msg\.payload must be the PDF as a Buffer or a base64 string/);
      }
      await p.refuse({ payload: plain.toString('latin1'), patient, document }, 'BAD_INPUT', /base64 of the PDF \(this one is the PDF itself/);
      await p.refuse({ payload: 'not base64 at all!', patient, document }, 'BAD_INPUT', 'msg.payload');
      assert.equal((await store().stats()).documents, 0, 'nothing archived');
      assert.equal(p.statuses[p.statuses.length - 1].fill, 'red');
    });

    it('a PDF over maxPdfSize, as a Buffer or as base64', async () => {
      const p = await start({ config: { maxPdfSize: 1 } });
      const big = await largePdf(1.5 * MiB);
      const patient = qualifiedPatient();
      await p.refuse({ payload: big, patient, document: documentInput('LDL') }, 'TOO_LARGE', /too large: 1\.\d MiB, the limit is 1 MiB/);
      await p.refuse({ payload: big.toString('base64'), patient, document: documentInput('LDL') }, 'TOO_LARGE', 'maxPdfSize');
      await p.produce({ payload: pdfa, patient, document: documentInput('LDL') });
    });

    it('identity and document errors name the field, never the patient data', async () => {
      const p = await start({ file: dbFile() });
      const document = documentInput('LDL');
      const cases: [Msg, string, string | RegExp][] = [
        [{ patient: qualifiedPatient({ birthDate: '' }) }, 'MISSING_TRAIT', 'patient.birthDate'],
        [{ patient: qualifiedPatient({ birthName: '', sex: 'U' }) }, 'MISSING_TRAIT', /patient\.birthName, patient\.sex/],
        [{ patient: qualifiedPatient({ ins: null }) }, 'MISSING_TRAIT', 'patient.ins'],
        [{ patient: qualifiedPatient({ ins: { value: withWrongKey('2850569123456'), oid: OID.NIR, kind: 'NIR', environment: 'production', validFrom: null } }) }, 'INVALID', 'patient.ins.value'],
        [{ patient: qualifiedPatient({ birthDate: '12/05/1985' }) }, 'INVALID', 'patient.birthDate'],
        [{ patient: qualifiedPatient({ ipp: { id: '', authority: 'CHU-X', oid: OID.IPP } }) }, 'MISSING', 'patient.ipp.id'],
        [{ patient: 'MARTIN Marie' }, 'BAD_INPUT', 'msg.patient'],
        [{}, 'MISSING', 'msg.patient'],
        [{ patient: qualifiedPatient(), document: documentInput('FOO-BAR') }, 'UNKNOWN_TYPE', /document\.type.*FOO-BAR/],
        [{ patient: qualifiedPatient(), document: documentInput('LDL', { author: undefined as any }) }, 'MISSING_AUTHOR', 'document.author'],
        [{ patient: qualifiedPatient(), document: documentInput('LDL', { author: { idNat: '10001234567', family: 'MÉDECIN' } as any }) }, 'MISSING_AUTHOR', 'document.author.specialty'],
        [{ patient: qualifiedPatient(), document: documentInput('LDL', { encounter: undefined as any }) }, 'MISSING', 'document.encounter'],
        [{ patient: qualifiedPatient(), document: 'LDL' }, 'BAD_INPUT', 'msg.document'],
        [{ patient: qualifiedPatient(), settings: 'CHU' }, 'BAD_INPUT', 'msg.settings'],
        [{ patient: qualifiedPatient(), settings: { documentIdRoot: 'not-an-oid' } }, 'INVALID', 'settings.documentIdRoot'],
        [{ ipp: { oid: OID.IPP } }, 'MISSING', 'msg.ipp.id'],
        [{ ipp: 42 }, 'BAD_INPUT', 'msg.ipp'],
      ];
      for (const [extra, code, field] of cases) {
        const err = await p.refuse({ payload: pdfa, document, ...extra }, code, field);
        assertNoPatientData(err.message);
      }
      assert.equal((await store().stats()).documents, 0, 'nothing archived');
      for (const s of p.statuses) assertNoPatientData(s.text ?? '');
    });

    it('msg.ipp without a store; archiving with a store that fails: refused, nothing sent', async () => {
      const p = await start();
      await p.refuse({ payload: pdfa, ipp: '123456', document: documentInput('LDL') }, 'NO_STORE', /no identity store is configured: msg\.ipp needs one/);

      await helper.unload();
      const q = await start({ file: dbFile() });
      await store().close(); // the database goes away under the node
      await q.refuse({ payload: pdfa, patient: qualifiedPatient(), document: documentInput('LDL') }, 'ARCHIVE', /could not be archived.*nothing was sent/);
    });

    it('a store configuration node that does not exist: documents to archive are refused', async () => {
      await helper.load(NODES, flow({ config: { store: 'nowhere' } as any }));
      const p = new Probe();
      await p.refuse({ payload: pdfa, patient: qualifiedPatient(), document: documentInput('LDL') }, 'NO_STORE', /configuration node is missing: archive needs it/);
    });
  });

  describe('conformance', () => {
    it('check-cda (CI-SIS structuration minimale, IHE XDS-SD, CDA XSD): 0 errors on every CDA of output 1', async () => {
      const names = Object.keys(produced);
      assert.ok(names.length >= 25, `documents produced by the tests above: ${names.length}`);
      const report = await checkCda(produced);
      assert.equal(report.exitCode, 0, describeErrors(report) || report.output);
      for (const name of names) assert.equal(report.files[name]?.errors, 0, `${name}: ${describeErrors(report)}`);
    });
  });

  describe('editor', () => {
    it('serves the code lists of the edit dialog', async () => {
      await helper.load(NODES, flow());
      const res = await helper.request().get('/pdf-to-cda-n1/codes').expect(200);
      assert.deepEqual(res.body.documentTypes.slice(0, 5).map((t: Msg) => t.code), ['LDL', 'CRO', 'ORDONNANCE', 'CR-BIO', 'CR-IMAGERIE']);
      assert.ok(res.body.documentTypes.some((t: Msg) => t.code === 'PRESC-KINE'));
      assert.ok(res.body.facilityTypes.some((t: Msg) => t.code === 'SA01'));
      assert.ok(res.body.practiceSettings.some((t: Msg) => t.code === 'ETABLISSEMENT'));
    });
  });
});
