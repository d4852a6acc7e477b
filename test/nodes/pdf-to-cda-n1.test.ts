// pdf-to-cda-n1 in Node-RED (node-red-node-test-helper): the CDA R2 level-1 document on output 1, and on
// output 2 the message of the CI-SIS volet "Transmission de documents CDA en HL7 v2" 2.1
// (../shared/specs/volet-transmission-cda-hl7v2/, cited by file and section): MDM^T02 / T10 / T04 (HL7 2.6)
// or ORU^R01 (HL7 2.5) with OBX-11 F / C / D (evenements-declenchants.md), the ten metadata flags in the
// table's order (profils-messages.md, "Les métadonnées DMP/MSSanté"), PRT SB / RCT; the archive, and the
// journey step 'sent'. Every CDA given on output 1 goes through the ANS check-cda at the end.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pdfToCda = require('../../nodes/pdf-to-cda-n1/pdf-to-cda-n1');
import insStore = require('../../nodes/ins-store/ins-store');
import segurEstablishment = require('../../nodes/segur-establishment/segur-establishment');
import { DOCUMENT_ACTIONS, METADATA_FLAGS, SHARING_FLAG_CODES, documentType, type SharingFlag } from '../../lib/cda';
import { parseHl7, type Hl7Message } from '../../lib/hl7';
import { readAdtPayload } from '../../lib/ins';
import type { PatientIdentity } from '../../lib/ins';
import type { IdentityStore } from '../../lib/store';
import { MARIE_NIR, OID, adtMessage, withWrongKey } from '../fixtures/adt';
import { DOC_ROOT, ENCOUNTER_ROOT, PRESCRIPTION_TYPES, SEGUR_TYPES, SET_ROOT, documentInput, provisionalPatient, qualifiedPatient, settings } from '../fixtures/cda';
import { NOT_PDFS, encryptedPdf, largePdf, MiB, openActionJavaScriptPdf, pagelessPdf, pdfAPdf, textPdf } from '../fixtures/pdf';
import { checkCda, describeErrors } from '../support/check-cda';
import { delay, statusesOf, until, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
type Action = keyof typeof DOCUMENT_ACTIONS;
const NODES = withMessages(['ins-store', 'segur-establishment', 'pdf-to-cda-n1'], [insStore, segurEstablishment, pdfToCda]);

/** The establishment of test/fixtures/cda.ts settings(), as a segur-establishment node (or, before it, the node's dialog) holds it. */
const ESTABLISHMENT = {
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
  hl7ProcessingId: 'P',
};

/** The node's own settings, as the edit dialog saves them. */
const CONFIG = {
  carrier: 'MDM',
  defaultType: 'LDL',
  requirePdfA: false,
  archive: true,
  maxPdfSize: 50,
};

interface FlowOptions {
  /** An ins-store on this file (none when absent). */
  file?: string | null;
  /** The node's own settings over CONFIG (the old establishment fields too, for a node from before segur-establishment). */
  config?: Partial<typeof CONFIG> & Partial<typeof ESTABLISHMENT> & Record<string, unknown>;
  /**
   * The segur-establishment node 'est' the node selects: ESTABLISHMENT with these changes (default); null: none
   * selected; 'legacy': none, ESTABLISHMENT in the node's own old fields instead.
   */
  establishment?: Partial<typeof ESTABLISHMENT> | null | 'legacy';
}

/** A flow: [ins-store], [segur-establishment] → pdf-to-cda-n1 → helpers 'cda' (output 1) and 'pfi' (output 2), catch → 'err'. */
function flow(o: FlowOptions = {}): Msg[] {
  const nodes: Msg[] = [];
  let store = '';
  if (o.file !== undefined && o.file !== null) {
    nodes.push({ id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file: o.file });
    store = 'st';
  }
  let own: Msg = {};
  let establishment = '';
  if (o.establishment === 'legacy') own = ESTABLISHMENT;
  else if (o.establishment !== null) {
    nodes.push({ id: 'est', type: 'segur-establishment', name: '', ...ESTABLISHMENT, ...o.establishment });
    establishment = 'est';
  }
  nodes.push(
    { id: 'n', type: 'pdf-to-cda-n1', name: '', store, establishment, ...CONFIG, ...own, ...o.config, wires: [['cda'], ['pfi']] },
    { id: 'cda', type: 'helper' },
    { id: 'pfi', type: 'helper' },
    { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['err']] },
    { id: 'err', type: 'helper' },
  );
  return nodes;
}

interface Result {
  cda?: Msg;
  pfi?: Msg;
  err?: Msg;
}

/**
 * Every CDA given on output 1 by the tests, checked by check-cda in one go at the end: one of each kind,
 * documents that differ only by their identifiers (id, setId, the replaced document's) counted once —
 * check-cda starts Java twice per document.
 */
const produced = new Map<string, { name: string; xml: string }>();
const ID_ROOTS = new RegExp(`root="(${[DOC_ROOT, SET_ROOT].map((r) => r.replace(/\./g, '\\.')).join('|')})" extension="[^"]*"`, 'g');
const kindOf = (xml: string) => sha256(Buffer.from(xml.replace(ID_ROOTS, 'root="$1" extension="*"'), 'utf8'));

class Probe {
  readonly cda: Msg[] = [];
  readonly pfi: Msg[] = [];
  readonly errors: Msg[] = [];
  readonly statuses: Msg[] = [];

  constructor() {
    helper.getNode('cda').on('input', (m: Msg) => this.cda.push(m));
    helper.getNode('pfi').on('input', (m: Msg) => this.pfi.push(m));
    helper.getNode('err').on('input', (m: Msg) => this.errors.push(m));
    helper.getNode('n').on('call:status', (call: { args: Msg[] }) => this.statuses.push(call.args[0]));
  }

  async send(msg: Msg): Promise<Result> {
    const [c, m, e] = [this.cda.length, this.pfi.length, this.errors.length];
    helper.getNode('n').receive(msg);
    await until(() => (this.cda.length > c && this.pfi.length > m) || this.errors.length > e, 'both outputs or an error', 20_000);
    await delay(30); // anything else that would come
    assert.ok(this.cda.length <= c + 1 && this.pfi.length <= m + 1 && this.errors.length <= e + 1, 'one message per output at most');
    return { cda: this.cda[c], pfi: this.pfi[m], err: this.errors[e] };
  }

  /** Sends; expects both outputs and no error. */
  async produce(msg: Msg): Promise<{ cda: Msg; pfi: Msg }> {
    const r = await this.send(msg);
    assert.equal(r.err, undefined, `no error expected: ${r.err?.error?.message}`);
    assert.ok(r.cda && r.pfi, 'a message on each output');
    const xml = r.cda.payload as string;
    const key = kindOf(xml);
    if (!produced.has(key)) produced.set(key, { name: `${r.cda.cda.typeCode}-${produced.size + 1}`, xml });
    return { cda: r.cda, pfi: r.pfi };
  }

  /** Sends; expects a Catch-able error with `code` naming `field`, and nothing on the outputs. */
  async refuse(msg: Msg, code: string, field: string | RegExp): Promise<Msg> {
    const r = await this.send(msg);
    assert.equal(r.cda, undefined, 'nothing on output 1');
    assert.equal(r.pfi, undefined, 'nothing on output 2');
    assert.ok(r.err, 'a Catch-able error');
    assert.equal(r.err.error.source.id, 'n');
    assert.equal(r.err.error.code, code, r.err.error.message);
    if (typeof field === 'string') assert.ok(r.err.error.message.includes(field), `"${field}" named in: ${r.err.error.message}`);
    else assert.match(r.err.error.message, field);
    return r.err.error;
  }
}

/** Patient data of the fixtures that must never appear in an error text or a status. */
const PATIENT_DATA = ['MARTIN', 'Marie', 'DURAND', '1985-05-12', '19850512', '69123', MARIE_NIR, '123456', 'DUPONT', '654321', 'Jean', '1975-02-01', '19750201', provisionalPatient().ins!.value];
function assertNoPatientData(text: string) {
  for (const v of PATIENT_DATA) assert.ok(!text.includes(v), `"${v}" appears in: ${text}`);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const carried = (m: Hl7Message) => Buffer.from(m.get('OBX-5.5'), 'base64');
const PROFILE = '2.1^CISIS_CDA_HL7_V2';
const PS_AUTHORITY = 'ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO';
const ST_AUTHORITY = 'ASIP-SANTE-ST&1.2.250.1.71.4.2.2&ISO';

/** The ten metadata flags as `CODE=Y|N`, in message order (OBX-3.3 MetaDMPMSS). */
function flags(m: Hl7Message): string[] {
  return m
    .all('OBX')
    .filter((o) => o.value(3, 1, 3) === 'MetaDMPMSS')
    .map((o) => `${o.value(3, 1, 1)}=${o.value(5, 1, 1)}`);
}

/** profils-messages.md, "Les métadonnées DMP/MSSanté": all ten, in the table's order, Y for those asked. */
function expectedFlags(yes: readonly SharingFlag[]): string[] {
  return METADATA_FLAGS.map((code) => `${code}=${yes.some((f) => SHARING_FLAG_CODES[f] === code) ? 'Y' : 'N'}`);
}

interface Expect {
  typeCode: string;
  action: Action;
  archived: boolean;
  carrier?: 'MDM' | 'ORU';
  /** The flags set to Y (default none). */
  yes?: readonly SharingFlag[];
}

/** The message of output 2 as the volet lays it out (profils-messages.md), carrying the bytes of output 1. */
function checkMessage(r: { cda: Msg; pfi: Msg }, patient: PatientIdentity, expect: Expect): Hl7Message {
  const carrier = expect.carrier ?? 'MDM';
  const a = DOCUMENT_ACTIONS[expect.action];
  const c = r.cda.cda;
  assert.equal(typeof r.pfi.payload, 'string');
  const m = parseHl7(r.pfi.payload);
  const h = m.header();
  const msh = m.segments[0];
  // "Le segment MSH": MSH-9, MSH-12 (2.6 MDM, 2.5 ORU), MSH-17 FRA, MSH-18, MSH-21 2.1^CISIS_CDA_HL7_V2
  if (carrier === 'MDM') assert.deepEqual([h.type, h.event, h.structure, h.version], ['MDM', a.mdm, 'MDM_T02', '2.6']);
  else assert.deepEqual([h.type, h.event, h.structure, h.version], ['ORU', 'R01', 'ORU_R01', '2.5']);
  assert.equal(h.charset, 'UNICODE UTF-8');
  assert.equal(msh.raw(17), 'FRA');
  assert.equal(msh.raw(21), PROFILE);
  const event = carrier === 'MDM' ? `MDM^${a.mdm}` : 'ORU^R01';
  assert.deepEqual(r.pfi.transmission, { carrier, event, action: expect.action, controlId: h.controlId, profile: PROFILE });
  assert.deepEqual(r.pfi.mdm, carrier === 'MDM' ? { event: a.mdm, controlId: h.controlId } : undefined, 'msg.mdm for the MDM carrier only');
  assert.deepEqual(r.pfi.cda, c, 'msg.cda on output 2 as on output 1');

  // PID-3 as the CDA's recordTarget: the INS of a qualified identity first, then the IPP; PID-32 VALI beside the INS
  const pid3 = m.getAll('PID-3.5');
  if (patient.qualified) {
    assert.deepEqual(pid3, ['INS', 'PI']);
    assert.equal(m.get('PID-3[1].1'), patient.ins!.value);
    assert.equal(m.get('PID-3[1].4.2'), patient.ins!.oid);
    assert.deepEqual(m.getAll('PID-32'), ['VALI']);
  } else assert.deepEqual(pid3, ['PI'], 'no INS in PID-3 of an identity that is not qualified');
  const ipp = patient.qualified ? 2 : 1;
  assert.equal(m.get(`PID-3[${ipp}].1`), patient.ipp.id);
  assert.equal(m.get(`PID-3[${ipp}].4.2`), patient.ipp.oid);

  // ORC-1 and OBX-11 of the request (evenements-declenchants.md; "Le segment ORC")
  assert.equal(m.get('ORC-1'), a.orc);
  const obx = m.segment('OBX')!;
  assert.equal(obx.raw(2), 'ED');
  assert.equal(obx.raw(11), a.obx11);
  assert.equal(m.get('OBX-5.2'), carrier === 'MDM' ? 'text' : 'TEXT');
  assert.deepEqual([m.get('OBX-5.3'), m.get('OBX-5.4')], ['XML', 'Base64']);
  assert.ok(carried(m).equals(Buffer.from(r.cda.payload, 'utf8')), 'OBX-5 carries the exact bytes of output 1');
  // TXA (MDM only): TXA-12 the document (extension^^root^ISO), TXA-17 AU
  if (carrier === 'MDM') {
    const [root, ext] = c.id.split('^');
    assert.equal(m.segment('TXA')?.raw(12), `${ext}^^${root}^ISO`);
    assert.equal(m.get('TXA-17'), 'AU');
  } else assert.equal(m.segment('TXA'), undefined, 'no TXA in an ORU');
  // PRT SB, then the ten flags, Y or N
  assert.equal(m.segment('PRT')?.raw(4), 'SB^Send by^participation');
  assert.deepEqual(flags(m), expectedFlags(expect.yes ?? []));
  return m;
}

/** The checks every produced document passes: output 1, output 2 (same identity, same bytes), the archive, the journey. */
async function checkProduced(r: { cda: Msg; pfi: Msg }, patient: PatientIdentity, expect: Expect, store?: IdentityStore): Promise<Hl7Message> {
  const qualified = patient.qualified === true;
  // output 1
  assert.equal(typeof r.cda.payload, 'string');
  assert.ok(r.cda.payload.startsWith('<?xml version="1.0" encoding="UTF-8"?>'));
  const c = r.cda.cda;
  const keys = ['archived', 'effectiveTime', 'id', 'insIncluded', 'pdfa', 'setId', 'title', 'typeCode', 'version', 'warnings'];
  assert.deepEqual(Object.keys(c).sort(), (expect.action === 'delete' ? [...keys, 'cancelled'] : keys).sort());
  assert.match(c.id, new RegExp(`^${DOC_ROOT.replace(/\./g, '\\.')}\\^[0-9A-Z-]{1,16}$`));
  assert.equal(c.typeCode, expect.typeCode);
  assert.equal(c.insIncluded, qualified);
  assert.equal(c.archived, expect.archived);
  assert.ok(r.cda.payload.includes(`<code code="${expect.typeCode}"`));
  assert.ok(r.cda.payload.includes('<nonXMLBody>') && r.cda.payload.includes('representation="B64"'));
  assert.equal(r.cda.payload.includes(`extension="${patient.ins?.value}"`), qualified, 'INS in the CDA only when qualified');
  const bytes = Buffer.from(r.cda.payload, 'utf8');

  const m = checkMessage(r, patient, expect);

  if (!store) return m;
  // the journey: 'sent', the message's control id, carrier, event and request
  const journey = await store.journey(c.id);
  const sent = journey[journey.length - 1];
  assert.deepEqual({ step: sent?.step, controlId: sent?.controlId, ok: sent?.ok, detail: sent?.detail }, {
    step: 'sent',
    controlId: r.pfi.transmission.controlId,
    ok: true,
    detail: { carrier: r.pfi.transmission.carrier, event: r.pfi.transmission.event, action: expect.action },
  });
  assert.deepEqual(await store.documentsOfMessage(r.pfi.transmission.controlId), [c.id]);
  // the archive
  const rec = await store.getDocument(c.id);
  if (!expect.archived) return m;
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
  assert.equal(rec.author?.organization, '1690000001', 'the representedOrganization id of the CDA (the custodian FINESS)');
  assert.equal(rec.cdaSha256, sha256(bytes));
  assert.equal(Date.parse(rec.effectiveTime), Date.parse('2026-11-23T10:15:00+01:00'));
  const content = await store.documentContent(c.id);
  assert.ok(content?.cda.equals(bytes), 'documentContent gives the bytes sent');
  return m;
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

  describe('documents', () => {
    const types = [...SEGUR_TYPES, ...PRESCRIPTION_TYPES];

    it(`every type (${types.join(', ')}), with a qualified identity (INS) and without: CDA, MDM^T02 (OBX-11 F), archive, journey 'sent'`, async () => {
      const p = await start({ file: dbFile() });
      let i = 0;
      for (const type of types) {
        for (const patient of [qualifiedPatient(), provisionalPatient()]) {
          // the PDF as a Buffer and as base64, in turn
          const payload = i++ % 2 ? pdfa.toString('base64') : pdfa;
          const r = await p.produce({ payload, patient, document: documentInput(type), topic: 'kept' });
          const typeCode = documentType(type)!.code;
          await checkProduced(r, patient, { typeCode, action: 'new', archived: true }, store());
          assert.deepEqual(r.cda.cda.pdfa, { part: 1, conformance: 'B' });
          assert.equal(r.cda.topic, 'kept', 'the other msg properties pass through');
          assert.equal(r.pfi.topic, 'kept');
          const archived = await store().documentContent(r.cda.cda.id);
          assert.ok(archived?.pdf?.equals(pdfa), 'the PDF is archived with the document');
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
      await checkProduced(r, vali, { typeCode: '34874-8', action: 'new', archived: false });
      assert.ok(!r.cda.payload.includes(MARIE_NIR) && !r.pfi.payload.includes(MARIE_NIR), 'the INS read is not carried');
      assert.deepEqual(parseHl7(r.pfi.payload).getAll('PID-32'), ['PROV'], 'VALI goes with the INS only');
      assert.match(r.cda.payload, /<family qualifier="BR">MARTIN<\/family>/);
      assert.match(r.cda.payload, /<family qualifier="CL">DURAND<\/family>/);
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
      await checkProduced(a, marie, { typeCode: '11502-2', action: 'new', archived: true }, store());
      assert.equal(a.cda.cda.insIncluded, true);
      const b = await p.produce({ payload: pdfa, ipp: { id: '654321', oid: OID.IPP }, document: documentInput('CR-IMAGERIE') });
      await checkProduced(b, jean, { typeCode: '18748-4', action: 'new', archived: true }, store());
      assert.equal(b.cda.cda.insIncluded, false);

      const err = await p.refuse({ payload: pdfa, ipp: '999999', document: documentInput('LDL') }, 'UNKNOWN_IPP', 'msg.ipp');
      assert.ok(!err.message.includes('999999'), err.message);
      assert.equal((await store().stats()).documents, 2, 'nothing archived for the unknown IPP');
    });

    it('evenements-declenchants.md: a replacement (document.replaces) is MDM^T10, ORC-1 RO, OBX-11 C, TXA-13 the replaced document; setId and version from the archive', async () => {
      const p = await start({ file: dbFile() });
      const patient = qualifiedPatient();
      const v1 = await p.produce({ payload: pdfa, patient, document: documentInput('LDL') });
      await checkProduced(v1, patient, { typeCode: '11490-0', action: 'new', archived: true }, store());

      // only the id of the replaced document: setId and version come from the archive
      const v2 = await p.produce({ payload: pdfa, patient, document: documentInput('LDL', { replaces: { id: v1.cda.cda.id } }) });
      const m = await checkProduced(v2, patient, { typeCode: '11490-0', action: 'replace', archived: true }, store());
      assert.equal(v2.cda.cda.version, 2);
      assert.equal(v2.cda.cda.setId, v1.cda.cda.setId);
      assert.notEqual(v2.cda.cda.id, v1.cda.cda.id);
      const [root, ext] = v1.cda.cda.id.split('^');
      // profils-messages.md, TXA-13 "règle de peuplement": extension^^root^ISO
      assert.equal(m.segment('TXA')?.raw(13), `${ext}^^${root}^ISO`);
      assert.match(v2.cda.payload, /<relatedDocument typeCode="RPLC">/);
      assert.equal((await store().getDocument(v1.cda.cda.id))?.status, 'replaced');
      assert.equal((await store().getDocument(v2.cda.cda.id))?.status, 'current');

      // the same as a string id, and asked by msg.action or msg.mdm
      const v3 = await p.produce({ payload: pdfa, patient, document: documentInput('LDL', { replaces: v2.cda.cda.id as any }), action: 'replace' });
      await checkProduced(v3, patient, { typeCode: '11490-0', action: 'replace', archived: true }, store());
      assert.equal(v3.cda.cda.version, 3);
      const v4 = await p.produce({ payload: pdfa, patient, document: documentInput('LDL', { replaces: { id: v3.cda.cda.id } }), mdm: 'T10' });
      assert.equal(v4.pfi.transmission.event, 'MDM^T10');
      // a replacement without the replaced document
      await p.refuse({ payload: pdfa, patient, document: documentInput('LDL'), mdm: 'T10' }, 'MISSING', 'document.replaces');
      await p.refuse({ payload: pdfa, patient, document: documentInput('LDL'), action: 'replace' }, 'MISSING', 'document.replaces');
    });

    it('a change of visibility is a replacement with MODIF_CONF_CODE Y (contexte-metier.md; change-log.md 1.2: the "Remplacement d\'un document" process takes masking and visibility)', async () => {
      const p = await start({ file: dbFile() });
      const patient = qualifiedPatient();
      const v1 = await p.produce({ payload: pdfa, patient, document: documentInput('CRO', { sharing: { dmp: true } }) });
      await checkProduced(v1, patient, { typeCode: '34874-8', action: 'new', archived: true, yes: ['dmp'] }, store());
      // the patient may no longer see it: a new version, flagged as a change of visibility
      const sharing = { dmp: true, invisibleToPatient: true, confidentialityChange: true };
      const v2 = await p.produce({ payload: pdfa, patient, document: documentInput('CRO', { replaces: { id: v1.cda.cda.id }, sharing }) });
      const m = await checkProduced(v2, patient, { typeCode: '34874-8', action: 'replace', archived: true, yes: ['dmp', 'invisibleToPatient', 'confidentialityChange'] }, store());
      assert.equal(m.get('ORC-1'), 'RO');
      assert.equal(v2.cda.cda.version, 2);
      assert.equal((await store().getDocument(v1.cda.cda.id))?.status, 'replaced');

      // beside a deletion or a new document it is refused: nothing sent, nothing archived, nothing cancelled
      const before = await store().stats();
      for (const extra of [
        { document: documentInput('CRO', { id: v2.cda.cda.id, cancel: true, sharing } as any) },
        { document: documentInput('CRO', { id: v2.cda.cda.id, sharing }), action: 'delete' },
        { document: documentInput('CRO', { sharing }) },
      ]) {
        await p.refuse({ payload: pdfa, patient, ...extra }, 'INVALID', /document\.sharing\.confidentialityChange: a change of visibility is a replacement/);
      }
      assert.deepEqual(await store().stats(), before);
      assert.equal((await store().getDocument(v2.cda.cda.id))?.status, 'current');
      assert.deepEqual((await store().journey(v2.cda.cda.id)).map((j) => j.step), ['sent'], 'only the replacement was sent');
    });

    it('evenements-declenchants.md: a deletion of an archived document is MDM^T04, ORC-1 CA, OBX-11 D carrying the archived CDA bytes; no PDF needed; the archive marks it cancelled', async () => {
      const p = await start({ file: dbFile() });
      const patient = qualifiedPatient();
      const v1 = await p.produce({ payload: pdfa, patient, document: documentInput('LDL', { sharing: { dmp: true } }) });
      const archivedBytes = (await store().documentContent(v1.cda.cda.id))!.cda;
      const before = await store().stats();

      // only the id and cancel: no PDF, no patient, no author
      const del = await p.produce({ document: { id: v1.cda.cda.id, cancel: true, sharing: { dmp: true } } });
      const m = await checkProduced(del, patient, { typeCode: '11490-0', action: 'delete', archived: false, yes: ['dmp'] }, store());
      assert.ok(carried(m).equals(archivedBytes), 'OBX-5: the archived bytes exactly');
      assert.equal(del.cda.payload, v1.cda.payload, 'output 1: the archived document');
      assert.deepEqual(
        { ...del.cda.cda, cancelled: undefined, archived: undefined, pdfa: undefined },
        { ...v1.cda.cda, cancelled: undefined, archived: undefined, pdfa: undefined },
        'msg.cda: the archived document',
      );
      assert.equal(del.cda.cda.pdfa, null, 'the PDF is not read again');
      assert.equal(del.cda.cda.cancelled, true);
      assert.equal((await store().getDocument(v1.cda.cda.id))?.status, 'cancelled');
      assert.deepEqual(await store().stats(), before, 'nothing added to the archive');
      // the identity the document was built for (the archive's): PID-3 INS then IPP, PID-5, PID-7, PID-8
      assert.deepEqual(m.getAll('PID-3.1'), [MARIE_NIR, '123456']);
      assert.equal(m.get('PID-5[2].1'), 'MARTIN');
      assert.equal(m.get('PID-7'), '19850512');
      assert.equal(m.get('PID-8'), 'F');
      // PRT SB: the document's author and the establishment (profils-messages.md PRT-5, PRT-8)
      const sb = m.segment('PRT')!;
      assert.equal(sb.raw(5), `810001234567^MÉDECIN^Paul^^^^^^${PS_AUTHORITY}^D^^^IDNPS`);
      assert.equal(sb.raw(8), `CHU X (fictif)^^^^^${ST_AUTHORITY}^FINEG^^^690000001`);
      assert.deepEqual((await store().journey(v1.cda.cda.id)).map((j) => j.detail.action), ['new', 'delete']);

      // msg.action 'delete' with msg.patient and the ORU carrier: ORU^R01, OBX-11 D, the same bytes
      const v2 = await p.produce({ payload: pdfa, patient, document: documentInput('CR-BIO') });
      const oru = await p.produce({ payload: 'not read', patient, document: { id: v2.cda.cda.id }, action: 'delete', carrier: 'ORU' });
      const o = await checkProduced(oru, patient, { typeCode: '11502-2', action: 'delete', archived: false, carrier: 'ORU' }, store());
      assert.ok(carried(o).equals(Buffer.from(v2.cda.payload, 'utf8')));
      assert.equal((await store().getDocument(v2.cda.cda.id))?.status, 'cancelled');
      // msg.mdm 'T04', an identity not qualified read from the archive
      const jean = provisionalPatient();
      const v3 = await p.produce({ payload: pdfa, patient: jean, document: documentInput('CRO') });
      const t04 = await p.produce({ document: { id: v3.cda.cda.id }, mdm: 'T04' });
      const j = await checkProduced(t04, jean, { typeCode: '34874-8', action: 'delete', archived: false }, store());
      assert.deepEqual(j.getAll('PID-3.5'), ['PI']);
      assert.equal(t04.cda.payload, v3.cda.payload);
    });

    it('a deletion of a document the archive does not hold is built from the PDF (document.id and setId needed)', async () => {
      const p = await start({ file: dbFile() });
      const patient = qualifiedPatient();
      const document = documentInput('LDL', { id: 'LDL-DEL-0001', setId: 'SET-LDL-DEL-0001', cancel: true } as any);
      const del = await p.produce({ payload: pdfa, patient, document });
      const m = await checkProduced(del, patient, { typeCode: '11490-0', action: 'delete', archived: false }, store());
      assert.equal(del.cda.cda.id, `${DOC_ROOT}^LDL-DEL-0001`);
      assert.equal(del.cda.cda.setId, `${SET_ROOT}^SET-LDL-DEL-0001`);
      assert.equal(del.cda.cda.version, 1);
      assert.equal(del.cda.cda.cancelled, false, 'nothing archived to cancel');
      assert.equal(m.get('OBX-11'), 'D');
      assert.equal((await store().stats()).documents, 0, 'a deletion adds nothing to the archive');
      // what it needs
      await p.refuse({ payload: pdfa, patient, document: documentInput('LDL', { id: 'LDL-DEL-0002', cancel: true } as any) }, 'MISSING', 'document.setId');
      await p.refuse({ payload: pdfa, patient, document: documentInput('LDL', { cancel: true } as any) }, 'MISSING', 'document.id');
      await p.refuse({ patient, document: documentInput('LDL', { id: 'LDL-DEL-0003', setId: 'SET-3', cancel: true } as any) }, 'BAD_INPUT', 'msg.payload');
    });

    it('without a store: T10 and T04 with every identifier given; nothing archived', async () => {
      const p = await start();
      const patient = provisionalPatient();
      const v1 = await p.produce({ payload: pdfa, patient, document: documentInput('CRO', { id: 'CRO-0001', setId: 'SET-CRO-0001' }) });
      assert.equal(v1.cda.cda.id, `${DOC_ROOT}^CRO-0001`);
      assert.equal(v1.cda.cda.setId, `${SET_ROOT}^SET-CRO-0001`);
      assert.equal(v1.cda.cda.archived, false);
      const v2 = await p.produce({ payload: pdfa, patient, document: documentInput('CRO', { replaces: { id: 'CRO-0001', setId: 'SET-CRO-0001', version: 1 } }) });
      await checkProduced(v2, patient, { typeCode: '34874-8', action: 'replace', archived: false });
      assert.equal(v2.cda.cda.version, 2);
      const t04 = await p.produce({ payload: pdfa, patient, document: documentInput('CRO', { id: 'CRO-0001', setId: 'SET-CRO-0001', cancel: true } as any) });
      await checkProduced(t04, patient, { typeCode: '34874-8', action: 'delete', archived: false });
      assert.equal(t04.cda.cda.cancelled, false);
      // without a store the setId of a deletion must be given
      await p.refuse({ payload: pdfa, patient, document: documentInput('CRO', { id: 'CRO-0001', cancel: true } as any) }, 'MISSING', 'document.setId');
    });

    it('a deletion of a document received from outside is refused (def-proc-collab.md, "Demande de suppression": a document sent before)', async () => {
      const p = await start({ file: dbFile() });
      const patient = qualifiedPatient();
      const v1 = await p.produce({ payload: pdfa, patient, document: documentInput('CR-BIO') });
      const held = (await store().getDocument(v1.cda.cda.id))!;
      const content = (await store().documentContent(v1.cda.cda.id))!;
      const id = `${DOC_ROOT}^RECEIVED-0001`;
      assert.ok(await store().archiveDocument({ ...held, id, origin: 'received', replaces: null, cda: content.cda, pdf: content.pdf }));
      const err = await p.refuse({ document: { id, cancel: true } }, 'INVALID', /document\.id.*received from outside/);
      assertNoPatientData(err.message);
      assert.equal((await store().getDocument(id))?.status, 'current');
    });

    it('profils-messages.md "Le segment MSH": the ORU carrier (node setting or msg.carrier) is ORU^R01 in HL7 2.5, OBX-11 F / C, no TXA, no msg.mdm', async () => {
      const p = await start({ file: dbFile(), config: { carrier: 'ORU' } });
      const patient = qualifiedPatient();
      const r = await p.produce({ payload: pdfa, patient, document: documentInput('CR-IMAGERIE', { sharing: { dmp: true, ackReception: true } }), mdm: { event: 'T02' } });
      const m = await checkProduced(r, patient, { typeCode: '18748-4', action: 'new', archived: true, carrier: 'ORU', yes: ['dmp', 'ackReception'] }, store());
      // the flags are CE in 2.5 (CWE in 2.6: change-log.md 1.2)
      assert.deepEqual([...new Set(m.all('OBX').slice(1).map((o) => o.raw(2)))], ['CE']);
      assert.equal(m.segment('EVN'), undefined, 'no EVN in an ORU');
      const v2 = await p.produce({ payload: pdfa, patient, document: documentInput('CR-IMAGERIE', { replaces: { id: r.cda.cda.id } }) });
      await checkProduced(v2, patient, { typeCode: '18748-4', action: 'replace', archived: true, carrier: 'ORU' }, store());
      // msg.carrier overrides the node's, either way; settings.hl7.version is not read (the volet fixes MSH-12)
      const mdm = await p.produce({ payload: pdfa, patient, document: documentInput('LDL'), carrier: 'mdm', settings: { hl7: { version: '2.5' } } });
      const mm = await checkProduced(mdm, patient, { typeCode: '11490-0', action: 'new', archived: true }, store());
      assert.deepEqual([...new Set(mm.all('OBX').slice(1).map((o) => o.raw(2)))], ['CWE']);
      await p.refuse({ payload: pdfa, patient, document: documentInput('LDL'), carrier: 'XML' }, 'BAD_INPUT', 'msg.carrier');
      await p.refuse({ payload: pdfa, patient, document: documentInput('LDL'), carrier: 42 }, 'BAD_INPUT', 'msg.carrier');

      await helper.unload();
      const q = await start();
      const oru = await q.produce({ payload: pdfa, patient, document: documentInput('LDL'), carrier: 'ORU' });
      await checkProduced(oru, patient, { typeCode: '11490-0', action: 'new', archived: false, carrier: 'ORU' });
    });

    it('the request: msg.action and msg.mdm, refused when they say something else than msg.document', async () => {
      const p = await start();
      const patient = qualifiedPatient();
      const r = await p.produce({ payload: pdfa, patient, document: documentInput('LDL'), action: 'new', mdm: 'MDM^T02' });
      assert.equal(r.pfi.transmission.action, 'new');
      const cases: [Msg, string][] = [
        [{ action: 'publish' }, 'msg.action'],
        [{ action: 42 }, 'msg.action'],
        [{ mdm: 'T03' }, 'msg.mdm'],
        [{ mdm: 'T04', action: 'new' }, 'msg.mdm'],
        [{ action: 'new', document: documentInput('LDL', { replaces: { id: 'LDL-0001' } }) }, 'msg.action'],
        [{ action: 'replace', document: documentInput('LDL', { replaces: { id: 'LDL-0001' }, cancel: true } as any) }, 'msg.action'],
      ];
      for (const [extra, field] of cases) await p.refuse({ payload: pdfa, patient, document: documentInput('LDL'), ...extra }, 'BAD_INPUT', field);
    });

    it('DESTDMP for an identity that is not qualified: NOT_QUALIFIED (the DMP needs the qualified INS), nothing sent, no patient data; MSSanté stays possible', async () => {
      const p = await start({ file: dbFile() });
      const jean = provisionalPatient();
      for (const msg of [
        { payload: pdfa, patient: jean, document: documentInput('LDL', { sharing: { dmp: true } }) },
        { payload: pdfa, patient: jean, document: documentInput('LDL', { sharing: { dmp: true, mssantePs: true, recipients: [{ idNat: '10009876543', family: 'GÉNÉRALISTE', mssante: 'anne.generaliste@medecin.mssante.fr' }] } }), carrier: 'ORU' },
      ]) {
        const err = await p.refuse(msg, 'NOT_QUALIFIED', 'document.sharing.dmp');
        assert.match(err.message, /the DMP needs the qualified INS/);
        assert.match(err.message, /MSSanté stays possible/);
        assertNoPatientData(err.message);
      }
      assert.equal((await store().stats()).documents, 0, 'nothing archived');
      // an archived document of this identity cannot be deleted from the DMP either (def-proc-collab.md, pré-conditions)
      const v1 = await p.produce({ payload: pdfa, patient: jean, document: documentInput('CRO') });
      await p.refuse({ document: { id: v1.cda.cda.id, cancel: true, sharing: { dmp: true } } }, 'NOT_QUALIFIED', 'document.sharing.dmp');
      assert.equal((await store().getDocument(v1.cda.cda.id))?.status, 'current');
      assert.deepEqual((await store().journey(v1.cda.cda.id)).map((j) => j.step), ['sent']);
      for (const s of p.statuses) assertNoPatientData(s.text ?? '');

      // by MSSanté to a professional: produced, without the INS
      const sharing = { mssantePs: true, recipients: [{ idNat: '10009876543', family: 'GÉNÉRALISTE', mssante: 'anne.generaliste@medecin.mssante.fr' }] };
      const ok = await p.produce({ payload: pdfa, patient: jean, document: documentInput('LDL', { sharing }) });
      await checkProduced(ok, jean, { typeCode: '11490-0', action: 'new', archived: true, yes: ['mssantePs'] }, store());
      assert.equal(ok.cda.cda.insIncluded, false);
    });

    it('defaults and overrides: defaultType, msg.document.type, msg.settings over the establishment (segur-establishment) field by field; PRT RCT of an MSSanté recipient', async () => {
      const p = await start({ config: { defaultType: 'CRO' } });
      const patient = qualifiedPatient();
      const { type: _type, ...untyped } = documentInput('LDL');
      const a = await p.produce({ payload: pdfa, patient, document: untyped });
      assert.equal(a.cda.cda.typeCode, '34874-8', 'the default type');
      const sharing = { dmp: true, invisibleToPatient: true, mssantePs: true, recipients: [{ idNat: '10009876543', family: 'GÉNÉRALISTE', mssante: 'anne.generaliste@medecin.mssante.fr' }] };
      const b = await p.produce({ payload: pdfa, patient, document: documentInput('ORDONNANCE', { title: 'Ordonnance de sortie', sharing }) });
      assert.equal(b.cda.cda.typeCode, '57833-6');
      assert.equal(b.cda.cda.title, 'Ordonnance de sortie');
      const m = checkMessage(b, patient, { typeCode: '57833-6', action: 'new', archived: false, yes: ['dmp', 'invisibleToPatient', 'mssantePs'] });
      // profils-messages.md, "Les données concernant la demande de traitement": PRT-4 RCT, PRT-5 the professional, PRT-15 the mailbox
      const rct = m.all('PRT').filter((s) => s.value(4, 1, 1) === 'RCT');
      assert.equal(rct.length, 1);
      assert.equal(rct[0].raw(4), 'RCT^Result Copies To^participation');
      assert.equal(rct[0].raw(5), `810009876543^GÉNÉRALISTE^^^^^^^${PS_AUTHORITY}^D^^^IDNPS`);
      assert.equal(rct[0].raw(15), '^^X.400^anne.generaliste@medecin.mssante.fr');
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
      assert.equal(parseHl7(c.pfi.payload).header().receivingApplication, 'PFI-2');
      assert.equal(parseHl7(c.pfi.payload).header().sendingApplication, 'DPI^1.2.250.1.999.1.9^ISO');
    });

    it('profils-messages.md "Le segment MSH": MSH-3 to MSH-6 are required; without them (in the establishment, or the old node fields) refused with the setting and where to set it named, msg.settings.hl7 may give them', async () => {
      for (const [setting, field, label] of [
        ['hl7SendingApplication', 'settings.hl7.sendingApplication', 'MSH-3'],
        ['hl7SendingFacility', 'settings.hl7.sendingFacility', 'MSH-4'],
        ['hl7ReceivingApplication', 'settings.hl7.receivingApplication', 'MSH-5'],
        ['hl7ReceivingFacility', 'settings.hl7.receivingFacility', 'MSH-6'],
      ]) {
        for (const [o, where] of [
          [{ establishment: { [setting]: '' } }, 'in the establishment "CHU X \\(fictif\\) \\(690000001\\)" \\(segur-establishment\\)'],
          [{ establishment: 'legacy', config: { [setting]: '' } }, "in the node's dialog"],
        ] as [FlowOptions, string][]) {
          const p = await start(o);
          const err = await p.refuse({ payload: pdfa, patient: qualifiedPatient(), document: documentInput('LDL') }, 'MISSING', field);
          assert.match(err.message, new RegExp(`set ${label} .* ${where}.* \\(or msg\\.${field}\\)`));
          const key = field.split('.')[2];
          const r = await p.produce({ payload: pdfa, patient: qualifiedPatient(), document: documentInput('LDL'), settings: { hl7: { [key]: 'GIVEN' } } });
          assert.ok(r.pfi.payload.split('\r')[0].includes('|GIVEN|'));
          await helper.unload();
        }
      }
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
    });

    it('the same document sent twice (same id and content) is archived once and recorded sent twice; another document under that id is refused', async () => {
      const p = await start({ file: dbFile() });
      const patient = qualifiedPatient();
      const doc = documentInput('LDL', { id: 'LDL-0001', setId: 'SET-LDL-0001' });
      const a = await p.produce({ payload: pdfa, patient, document: doc });
      const b = await p.produce({ payload: pdfa, patient, document: doc });
      assert.equal(b.cda.payload, a.cda.payload);
      assert.equal(b.cda.cda.archived, true);
      assert.equal((await store().stats()).documents, 1);
      const journey = await store().journey(`${DOC_ROOT}^LDL-0001`);
      assert.deepEqual(journey.map((j) => j.controlId), [a.pfi.transmission.controlId, b.pfi.transmission.controlId]);
      assert.notEqual(a.pfi.transmission.controlId, b.pfi.transmission.controlId);
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
        [{ patient: qualifiedPatient(), settings: { hl7: { sendingApplication: '' } } }, 'MISSING', 'settings.hl7.sendingApplication'],
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

    it("issue 14: the document, its journey step 'sent' and its journal row are one write — when it fails, nothing is archived, nothing sent, a deletion cancels nothing", async () => {
      const p = await start({ file: dbFile() });
      const patient = qualifiedPatient();
      const v1 = await p.produce({ payload: pdfa, patient, document: documentInput('LDL') });
      const st = store();
      const [archiveDocument, cancelDocument] = [st.archiveDocument, st.cancelDocument];
      const fail = async (): Promise<never> => {
        throw new Error('disk I/O error');
      };
      st.archiveDocument = fail;
      st.cancelDocument = fail;
      try {
        await p.refuse({ payload: pdfa, patient, document: documentInput('LDL') }, 'ARCHIVE', /could not be archived.*nothing was sent: disk I\/O error/);
        await p.refuse({ document: { id: v1.cda.cda.id, cancel: true } }, 'ARCHIVE', /could not be recorded as sent/);
      } finally {
        st.archiveDocument = archiveDocument;
        st.cancelDocument = cancelDocument;
      }
      assert.equal((await store().getDocument(v1.cda.cda.id))?.status, 'current', 'a deletion not sent cancels nothing');
      assert.equal((await store().journalSize()).rows, 1, 'the row of the first document only');
    });

    it('issue 14: a document produced has one journal row (produced, its keys, the message built for the PFI), its id on output 2 for mllp-out', async () => {
      const p = await start({ file: dbFile() });
      const v1 = await p.produce({ payload: pdfa, patient: qualifiedPatient(), document: documentInput('LDL') });
      const [row] = (await store().searchJournal({ documentId: v1.cda.cda.id })).entries;
      assert.deepEqual([row.direction, row.kind, row.type, row.event, row.outcome, row.controlId], ['out', 'document', 'MDM', 'T02', 'produced', v1.pfi.transmission.controlId]);
      assert.equal(v1.pfi.journalId, row.id);
      assert.equal((await store().journalContent(row.id))?.message?.toString('utf8'), v1.pfi.payload);
      assert.deepEqual((await store().journey(v1.cda.cda.id)).map((j) => j.step), ['sent']);
    });

    it('a store configuration node that does not exist: documents to archive are refused', async () => {
      await helper.load(NODES, flow({ config: { store: 'nowhere' } as any }));
      const p = new Probe();
      await p.refuse({ payload: pdfa, patient: qualifiedPatient(), document: documentInput('LDL') }, 'NO_STORE', /configuration node is missing: archive needs it/);
    });
  });

  describe('issue 12: the establishment (segur-establishment), msg.settings over it, and nodes from before it', () => {
    /** What the establishment puts in a document and its message. */
    function establishmentOf(r: { cda: Msg; pfi: Msg }) {
      const custodian = /<custodian>[\s\S]*?<\/custodian>/.exec(r.cda.payload)?.[0] ?? '';
      const h = parseHl7(r.pfi.payload).header();
      return {
        name: /<name>([^<]*)<\/name>/.exec(custodian)?.[1],
        finess: /extension="(\d+)"/.exec(custodian)?.[1],
        telecom: /<telecom[^>]*value="([^"]*)"/.exec(custodian)?.[1] ?? null,
        documentRoot: r.cda.cda.id.split('^')[0],
        msh: [h.sendingApplication, h.sendingFacility, h.receivingApplication, h.receivingFacility],
      };
    }
    const CHU_X = {
      name: 'CHU X (fictif)',
      finess: '1690000001',
      telecom: 'tel:+33400000000',
      documentRoot: DOC_ROOT,
      msh: ['DPI^1.2.250.1.999.1.9^ISO', 'CHU-X', 'PFI', 'CHU-X'],
    };

    it('the same document from the establishment the node selects and from the old fields of a node without one; msg.settings overrides either, field by field', async () => {
      for (const o of [{}, { establishment: 'legacy' }] as FlowOptions[]) {
        const p = await start(o);
        const patient = qualifiedPatient();
        assert.deepEqual(establishmentOf(await p.produce({ payload: pdfa, patient, document: documentInput('LDL') })), CHU_X);
        const over = await p.produce({ payload: pdfa, patient, document: documentInput('LDL'), settings: { custodian: { name: 'Clinique Y (fictive)' }, hl7: { receivingApplication: 'PFI-2' } } });
        assert.deepEqual(establishmentOf(over), { ...CHU_X, name: 'Clinique Y (fictive)', msh: ['DPI^1.2.250.1.999.1.9^ISO', 'CHU-X', 'PFI-2', 'CHU-X'] });
        assert.equal(statusesOf(helper.getNode('n')).filter((st) => st.fill === 'red').length, 0, 'no red status');
        await helper.unload();
      }
    });

    it('an establishment selected replaces the old fields of the node as a whole, never field by field (a value left in the old fields is not used)', async () => {
      const p = await start({
        establishment: { custodianName: 'CHU Z (fictif)', custodianTelecom: '' },
        config: { ...ESTABLISHMENT, custodianName: 'Ancien nom', custodianTelecom: 'tel:+33499999999', hl7ReceivingApplication: 'OLD-PFI' },
      });
      const r = await p.produce({ payload: pdfa, patient: qualifiedPatient(), document: documentInput('LDL') });
      assert.deepEqual(establishmentOf(r), { ...CHU_X, name: 'CHU Z (fictif)', telecom: null });
      assert.ok(!r.cda.payload.includes('499999999') && !r.cda.payload.includes('Ancien nom'));
    });

    it('no establishment and no old fields: a red status from the deploy, each document refused NO_ESTABLISHMENT (Catch-able, nothing sent) unless msg.settings gives every setting', async () => {
      const p = await start({ establishment: null });
      assert.deepEqual(statusesOf(helper.getNode('n'))[0], { fill: 'red', shape: 'ring', text: 'no establishment' });
      const err = await p.refuse({ payload: pdfa, patient: qualifiedPatient(), document: documentInput('LDL') }, 'NO_ESTABLISHMENT', /no establishment: select a segur-establishment configuration node in the node/);
      assertNoPatientData(err.message);
      const r = await p.produce({ payload: pdfa, patient: qualifiedPatient(), document: documentInput('LDL'), settings: settings() });
      assert.equal(establishmentOf(r).name, 'CHU X (fictif)');
      const partial = await p.refuse({ payload: pdfa, patient: qualifiedPatient(), document: documentInput('LDL'), settings: { hl7: { receivingApplication: 'PFI' } } }, 'MISSING', 'settings.documentIdRoot');
      assert.match(partial.message, /set the document id OID in a segur-establishment selected in the node \(none is\)/);
    });

    it('an establishment not deployed, or whose configuration is wrong (an OID, the time zone): a red status, every document refused NO_ESTABLISHMENT / BAD_ESTABLISHMENT saying what is wrong, msg.settings or not', async () => {
      let p = await start({ establishment: null, config: { establishment: 'nowhere' } });
      assert.deepEqual(statusesOf(helper.getNode('n'))[0], { fill: 'red', shape: 'ring', text: 'establishment not found' });
      await p.refuse({ payload: pdfa, patient: qualifiedPatient(), document: documentInput('LDL') }, 'NO_ESTABLISHMENT', /configuration node nowhere is not deployed/);
      await helper.unload();

      p = await start({ establishment: { documentIdRoot: '1.2.250.1.x', timeZone: 'Mars/Olympus' } });
      assert.deepEqual(statusesOf(helper.getNode('n'))[0], { fill: 'red', shape: 'ring', text: 'establishment invalid' });
      const logged = helper.log().args.filter((a: Msg[]) => a[0].level === helper.log().ERROR).map((a: Msg[]) => String(a[0].msg));
      assert.ok(logged.some((m: string) => /establishment CHU X \(fictif\) \(690000001\): document id OID \(documentIdRoot\): "1\.2\.250\.1\.x" is not an OID/.test(m)), logged.join('\n'));
      for (const extra of [{}, { settings: settings() }]) {
        const err = await p.refuse({ payload: pdfa, patient: qualifiedPatient(), document: documentInput('LDL'), ...extra }, 'BAD_ESTABLISHMENT', 'establishment');
        assert.match(err.message, /the establishment CHU X \(fictif\) \(690000001\) is not valid \(.*"1\.2\.250\.1\.x" is not an OID.*"Mars\/Olympus" is not an IANA time zone.*\)/);
      }
    });
  });

  describe('conformance', () => {
    it('check-cda (CI-SIS structuration minimale, IHE XDS-SD, CDA XSD): 0 errors on every CDA of output 1', async function () {
      // two Java runs per document: seconds each, minutes on a loaded machine (a limit, not a measure)
      this.timeout(20 * 60_000);
      const byName = Object.fromEntries([...produced.values()].map((d) => [d.name, d.xml]));
      const names = Object.keys(byName);
      assert.ok(names.length >= 25, `documents produced by the tests above: ${names.length}`);
      const report = await checkCda(byName, { timeoutMs: 19 * 60_000 });
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
