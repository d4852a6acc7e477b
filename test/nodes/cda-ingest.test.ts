import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import cdaIngest = require('../../nodes/cda-ingest/cda-ingest');
import insStore = require('../../nodes/ins-store/ins-store');
import { formatId } from '../../lib/cda';
import { parseAck, parseHl7, readHeader } from '../../lib/hl7';
import type { IdentityStore } from '../../lib/store';
import { OID, withWrongKey } from '../fixtures/adt';
import { SEGUR_TYPES } from '../fixtures/cda';
import { HOSTILE, STRUCTURED_BODY, billionLaughs, cdaXml, pdfLike } from '../fixtures/cda-hostile';
import { JEAN_NIR, LOCAL, MARIE_NIR, PATIENTS, PAUL_NIR, feedIdentity, mdmOf, oruOf, receivedDocument, type Received } from '../fixtures/cda-received';
import { textPdf } from '../fixtures/pdf';
import { delay, until, untilAsync, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['ins-store', 'cda-ingest'], [insStore, cdaIngest]);
const MiB = 1024 * 1024;
const MARIE_KEY = `${OID.IPP}|123456`;

/** Patient data of the fixtures that must never reach a log line. */
const PATIENT_DATA = ['MARTIN', 'Marie', 'DUPONT', 'Jean', 'Paul', '1985', '1975', '69123', '75056', MARIE_NIR, JEAN_NIR, PAUL_NIR, 'LAB-778899', '123456'];

function flow(o: { file?: string | null; archive?: boolean; acceptLevel3?: boolean; maxSize?: number; store?: string; reconcileAck?: string } = {}): Msg[] {
  const nodes: Msg[] = [];
  let store = o.store ?? '';
  if (o.file) {
    nodes.push({ id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file: o.file });
    store = 'st';
  }
  nodes.push(
    {
      id: 'n',
      type: 'cda-ingest',
      name: '',
      store,
      maxSize: o.maxSize ?? 50,
      archive: o.archive ?? true,
      acceptLevel3: o.acceptLevel3 ?? true,
      reconcileAck: o.reconcileAck ?? 'AE',
      wires: [['pre'], ['rec'], ['rej'], ['ack']],
    },
    { id: 'pre', type: 'helper' },
    { id: 'rec', type: 'helper' },
    { id: 'rej', type: 'helper' },
    { id: 'ack', type: 'helper' },
    { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['err']] },
    { id: 'err', type: 'helper' },
  );
  return nodes;
}

type Port = 'pre' | 'rec' | 'rej' | 'ack' | 'err';
interface Result {
  port: 'pre' | 'rec' | 'rej' | null;
  msg?: Msg;
  ack?: Msg;
  parsed?: ReturnType<typeof parseAck>;
  err?: Msg;
}

class Probe {
  readonly got: Record<Port, Msg[]> = { pre: [], rec: [], rej: [], ack: [], err: [] };
  readonly statuses: Msg[] = [];
  /** Every log line of the node (log, warn, error, debug, trace). */
  readonly logs: string[] = [];

  constructor() {
    for (const p of Object.keys(this.got) as Port[]) helper.getNode(p).on('input', (m: Msg) => this.got[p].push(m));
    const n = helper.getNode('n');
    n.on('call:status', (call: { args: Msg[] }) => this.statuses.push(call.args[0]));
    for (const level of ['log', 'warn', 'error', 'debug', 'trace']) {
      n.on(`call:${level}`, (call: { args: unknown[] }) => this.logs.push(call.args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ')));
    }
  }

  /** Sends one msg; resolves once it is routed (output 1, 2 or 3, or a Catch-able error) and, when expected, acknowledged. */
  async send(msg: Msg, expectAck = false): Promise<Result> {
    const before = Object.fromEntries(Object.entries(this.got).map(([k, v]) => [k, v.length])) as Record<Port, number>;
    helper.getNode('n').receive(msg);
    const routed = () => (['pre', 'rec', 'rej', 'err'] as Port[]).some((p) => this.got[p].length > before[p]);
    await until(() => routed() && (!expectAck || this.got.ack.length > before.ack), 'the document routed', 30_000);
    await delay(20); // anything else that would come
    const news = (p: Port) => this.got[p].slice(before[p]);
    const outs = (['pre', 'rec', 'rej'] as const).filter((p) => news(p).length);
    assert.ok(outs.length <= 1 && outs.every((p) => news(p).length === 1), `one output only: ${outs.join(', ')}`);
    assert.ok(news('ack').length <= 1, 'one acknowledgement at most');
    const ack = news('ack')[0];
    return {
      port: outs[0] ?? null,
      msg: outs[0] ? news(outs[0])[0] : undefined,
      ack,
      parsed: ack ? parseAck(ack.payload) : undefined,
      err: news('err')[0],
    };
  }
}

function storeOf(): IdentityStore {
  const st = helper.getNode('st');
  assert.ok(st?.store, 'the ins-store node has an open store');
  return st.store as IdentityStore;
}

function assertRejected(r: Result, code: string, ack?: { code: 'AE' | 'AR'; hl7: string; location?: string; controlId?: string; application?: string }, read = false) {
  assert.equal(r.port, 'rej', `rejected (got ${r.port}: ${JSON.stringify(r.msg?.match ?? r.msg?.error)})`);
  assert.equal(r.msg!.error.code, code, r.msg!.error.message);
  assert.equal(typeof r.msg!.error.message, 'string');
  assert.ok(r.msg!.error.message.length > 10);
  if (!read) assert.equal(r.msg!.cda, undefined);
  assert.equal(r.err, undefined, 'not a Catch-able error');
  if (ack) {
    assert.ok(r.parsed, 'an acknowledgement on output 4');
    assert.equal(r.parsed!.code, ack.code, JSON.stringify(r.parsed));
    assert.equal(r.ack!.ack.code, ack.code);
    assert.equal(r.parsed!.errors[0]?.code, ack.hl7, JSON.stringify(r.parsed!.errors));
    if (ack.location) assert.equal(r.parsed!.errors[0]?.location, ack.location);
    if (ack.application) assert.equal(r.parsed!.errors[0]?.application?.code, ack.application, JSON.stringify(r.parsed!.errors));
    assert.equal(parseHl7(r.ack!.payload).segments[0].value(17), 'FRA', 'MSH-17 FRA');
    if (ack.controlId !== undefined) {
      assert.equal(r.parsed!.controlId, ack.controlId);
      assert.equal(r.ack!.ack.controlId, ack.controlId);
    }
    assert.deepEqual(r.msg!.ack, r.ack!.ack, 'output 3 carries the ACK summary too');
  } else {
    assert.equal(r.ack, undefined, 'no acknowledgement for a plain document');
  }
}

describe('cda-ingest node', function () {
  this.timeout(60_000);
  let tmp: string;
  let n = 0;
  let pdf: Buffer;
  const dbFile = () => path.join(tmp, `ingest-${++n}.db`);

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cda-ingest-'));
    pdf = await textPdf({ lines: ['Compte rendu (test)', 'Patient fictif — aucune donnée réelle.'] });
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

  /** Loads the flow; with a store, the local identities Marie (VALI, qualified) and Jean (PROV: his INS not integrated) in it. */
  async function start(o: Parameters<typeof flow>[0] = {}): Promise<Probe> {
    await helper.load(NODES, flow(o));
    if (o.file && helper.getNode('st').store) {
      await feedIdentity(storeOf(), LOCAL.marie);
      await feedIdentity(storeOf(), LOCAL.jean);
    }
    return new Probe();
  }

  function assertNoPatientDataInLogs(p: Probe) {
    for (const line of p.logs) for (const v of PATIENT_DATA) assert.ok(!line.includes(v), `"${v}" in a log line: ${line}`);
  }

  describe('level-1 documents of each Ségur type, preselected on a locally qualified INS', () => {
    for (const type of SEGUR_TYPES) {
      it(`${type}: output 1, msg.match.ipp the local IPP, msg.pdf the PDF, archived byte for byte`, async () => {
        const p = await start({ file: dbFile() });
        const doc = await receivedDocument(type, pdf);
        const r = await p.send({ payload: doc.xml, _msgid: 'm1' });
        assert.equal(r.port, 'pre', JSON.stringify(r.msg?.match ?? r.msg?.error));
        const m = r.msg!;
        assert.equal(m.payload, doc.xml, 'payload unchanged');
        // msg.match
        assert.equal(m.match.outcome, 'preselected');
        assert.equal(m.match.method, 'INS');
        assert.deepEqual(m.match.ipp, { id: '123456', authority: 'CHU-X', oid: OID.IPP });
        assert.equal(m.match.patient.birthName, 'MARTIN');
        assert.deepEqual(m.match.candidates, [{ key: MARIE_KEY, status: 'VALI', qualified: true, via: 'ins', mismatches: [] }]);
        assert.match(m.match.reason, /birth traits agree/);
        // msg.cda
        const c = m.cda;
        assert.equal(c.id, formatId(doc.meta.id));
        assert.equal(c.setId, formatId(doc.meta.setId));
        assert.equal(c.version, 1);
        assert.equal(c.typeCode, doc.meta.typeCode);
        assert.equal(c.code.code, doc.meta.typeCode);
        assert.equal(c.typeLabel, doc.meta.type.displayName);
        assert.equal(c.title, doc.meta.title);
        assert.equal(c.effectiveTime, '2026-11-23T10:15:00+01:00');
        assert.equal(c.confidentiality, 'N');
        assert.equal(c.level, 1);
        assert.equal(c.author.family, 'MÉDECIN');
        assert.equal(c.author.specialty.code, 'G15_10/SM26');
        assert.equal(c.custodian.name, 'CHU X (fictif)');
        assert.equal(c.patient.ins.value, MARIE_NIR);
        assert.equal(c.patient.ins.keyValid, true);
        assert.deepEqual(c.patient.ids.map((i: Msg) => i.root), [OID.NIR, '1.2.250.1.999.7.1']);
        assert.equal(c.patient.traits.birthName, 'MARTIN');
        assert.equal(c.patient.traits.birthDate, '1985-05-12');
        assert.equal(c.transport, null);
        assert.equal(c.pdfBytes, pdf.length);
        assert.equal(c.archived, true);
        assert.equal(c.archive, 'archived');
        assert.ok(Array.isArray(c.warnings));
        // msg.pdf
        assert.ok(Buffer.isBuffer(m.pdf));
        assert.ok(m.pdf.equals(pdf), 'the PDF, byte for byte');
        // the archive
        const rec = await storeOf().getDocument(c.id);
        assert.ok(rec);
        assert.equal(rec.origin, 'received');
        assert.equal(rec.status, 'current');
        assert.equal(rec.typeCode, doc.meta.typeCode);
        assert.equal(rec.ippKey, MARIE_KEY);
        assert.deepEqual(rec.patient.ipp, { id: '123456', oid: OID.IPP, authority: 'CHU-X' });
        assert.deepEqual(rec.patient.ins, { value: MARIE_NIR, oid: OID.NIR });
        assert.equal(rec.patient.insQualified, true);
        assert.equal(rec.patient.birthName, 'MARTIN');
        assert.equal(rec.author?.id, '810001234567');
        const content = await storeOf().documentContent(c.id);
        assert.ok(content?.pdf?.equals(pdf), 'archived PDF byte-exact');
        assert.equal(content!.cda.toString('utf8'), doc.xml, 'archived CDA as received');
        assert.equal(r.ack, undefined, 'no ACK for a plain document');
        assert.equal(p.statuses.at(-1)?.text, '1 preselected · 0 to reconcile · 0 rejected');
        assert.equal(p.statuses.at(-1)?.fill, 'green');
        assertNoPatientDataInLogs(p);
      });
    }

    it('takes a Buffer (and a Uint8Array) as well as a string', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('CR-BIO', pdf);
      const r = await p.send({ payload: Buffer.from(doc.xml, 'utf8') });
      assert.equal(r.port, 'pre');
      assert.equal(r.msg!.cda.encoding, 'UTF-8');
      const doc2 = await receivedDocument('CR-IMAGERIE', pdf);
      const r2 = await p.send({ payload: new Uint8Array(Buffer.from(doc2.xml, 'utf8')) });
      assert.equal(r2.port, 'pre');
      assert.ok(r2.msg!.pdf.equals(pdf));
    });
  });

  describe('the same documents carried by HL7 v2 messages', () => {
    it('ORU^R01: preselected, AA on output 4 with msg.mllp, transport with the sharing metadata', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('CR-BIO', pdf);
      const mllp = { connectionId: 'c1', remoteAddress: '127.0.0.1', remotePort: 4000, localPort: 2575, receivedAt: new Date().toISOString() };
      const r = await p.send({ payload: oruOf(doc.xml, 'ORU-1'), mllp, _msgid: 'm1' }, true);
      assert.equal(r.port, 'pre', JSON.stringify(r.msg?.match ?? r.msg?.error));
      assert.equal(r.parsed!.code, 'AA');
      assert.equal(r.parsed!.controlId, 'ORU-1');
      assert.deepEqual(r.ack!.ack, { code: 'AA', controlId: 'ORU-1', text: '' });
      assert.deepEqual(r.ack!.mllp, mllp);
      assert.equal(r.ack!._msgid, 'm1');
      const h = readHeader(r.ack!.payload);
      assert.equal(h.type, 'ACK');
      assert.equal(h.receivingApplication.split('^')[0], 'LABO', 'addressed to the sender');
      const t = r.msg!.cda.transport;
      assert.equal(t.type, 'ORU');
      assert.equal(t.event, 'R01');
      assert.equal(t.controlId, 'ORU-1');
      assert.equal(t.sender, 'LABO/LABO-ESSAIS');
      assert.equal(t.carrier.location, 'OBX^1^5^1^5');
      assert.equal(t.carrier.encoding, 'Base64');
      assert.equal(t.profile, '2.1^CISIS_CDA_HL7_V2');
      assert.equal(t.action, 'new');
      assert.equal(r.msg!.cda.action, 'new');
      assert.equal(t.sharing.dmp, true);
      assert.equal(t.sharing.hiddenFromProfessionals, true);
      assert.equal(t.sharing.invisibleToLegalRepresentatives, true);
      assert.equal(t.sharing.ackReading, false);
      assert.deepEqual(t.participants.map((x: Msg) => [x.role, x.mail ?? '']), [['SB', ''], ['RCT', 'jean.generaliste@medecin.mssante.fr']]);
      assert.equal(t.txa, null);
      assert.ok(t.patientIds.some((i: Msg) => i.id === MARIE_NIR));
      assert.ok(r.msg!.pdf.equals(pdf));
      const content = await storeOf().documentContent(r.msg!.cda.id);
      assert.equal(content!.cda.toString('utf8'), doc.xml, 'the decoded ED, byte for byte');
      assert.ok(content!.pdf!.equals(pdf));
    });

    it('ORU^R01 with the document as escaped text (ED encoding A)', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('CR-IMAGERIE', pdf);
      const r = await p.send({ payload: oruOf(doc.xml, 'ORU-A', { encoding: 'A' }) }, true);
      assert.equal(r.port, 'pre', JSON.stringify(r.msg?.error));
      assert.equal(r.parsed!.code, 'AA');
      assert.equal(r.msg!.cda.transport.carrier.encoding, 'A');
      assert.ok(r.msg!.pdf.equals(pdf));
    });

    it('messages as bytes (a Buffer, CRLF): the document decoded straight from them; a stray "^" in the base64 is AE 102', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('CR-BIO', pdf);
      const mdm = Buffer.from(mdmOf(doc, 'T02', 'MDM-BYTES').replace(/\r/g, '\r\n'), 'utf8');
      const r = await p.send({ payload: mdm }, true);
      assert.equal(r.port, 'pre', JSON.stringify(r.msg?.match ?? r.msg?.error));
      assert.deepEqual(r.ack!.ack, { code: 'AA', controlId: 'MDM-BYTES', text: '' });
      assert.equal(r.msg!.cda.transport.carrier.location, 'OBX^1^5^1^5');
      assert.equal(r.msg!.cda.transport.txa.uniqueId.extension, doc.meta.id.extension);
      assert.ok(r.msg!.pdf.equals(pdf));
      const content = await storeOf().documentContent(r.msg!.cda.id);
      assert.equal(content!.cda.toString('utf8'), doc.xml, 'the decoded ED, byte for byte');

      const b64 = Buffer.from(doc.xml).toString('base64');
      const stray = Buffer.from(oruOf(doc.xml, 'ORU-STRAY', { rawData: `${b64.slice(0, 400)}^${b64.slice(400)}` }), 'utf8');
      const bad = await p.send({ payload: stray }, true);
      assertRejected(bad, 'BAD_BASE64', { code: 'AE', hl7: '102', location: 'OBX^1^5^1^5', controlId: 'ORU-STRAY' });
      assert.match(bad.msg!.error.message, /"\^" \(U\+005E\) at offset 400/);
    });

    it('MDM^T02, then T10 (the first marked replaced), then T04 (deletion: marked deleted, never destroyed)', async () => {
      const p = await start({ file: dbFile() });
      const v1 = await receivedDocument('CR-IMAGERIE', pdf);
      const r1 = await p.send({ payload: mdmOf(v1, 'T02', 'MDM-T02') }, true);
      assert.equal(r1.port, 'pre', JSON.stringify(r1.msg?.match ?? r1.msg?.error));
      assert.deepEqual(r1.ack!.ack, { code: 'AA', controlId: 'MDM-T02', text: '' });
      const t = r1.msg!.cda.transport;
      assert.equal(t.type, 'MDM');
      assert.equal(t.event, 'T02');
      assert.equal(t.action, 'new');
      assert.equal(t.txa.uniqueId.extension, v1.meta.id.extension);
      assert.equal(r1.msg!.cda.archive, 'archived');
      assert.equal(r1.msg!.cda.target, undefined);

      const v2 = await receivedDocument('CR-IMAGERIE', pdf, PATIENTS.marie(), { replaces: { id: v1.meta.id, setId: v1.meta.setId, version: 1 } });
      const r2 = await p.send({ payload: mdmOf(v2, 'T10', 'MDM-T10') }, true);
      assert.equal(r2.port, 'pre', JSON.stringify(r2.msg?.error));
      assert.equal(r2.parsed!.code, 'AA');
      assert.equal(r2.msg!.cda.transport.event, 'T10');
      assert.equal(r2.msg!.cda.action, 'replace');
      assert.equal(r2.msg!.cda.version, 2);
      assert.equal(r2.msg!.cda.archive, 'archived');
      assert.deepEqual(r2.msg!.cda.target, { id: formatId(v1.meta.id), status: 'replaced' });
      assert.equal((await storeOf().getDocument(formatId(v1.meta.id)))?.status, 'replaced');
      const rec2 = await storeOf().getDocument(formatId(v2.meta.id));
      assert.equal(rec2?.status, 'current');
      assert.equal(rec2?.replaces, formatId(v1.meta.id));

      const r3 = await p.send({ payload: mdmOf(v2, 'T04', 'MDM-T04') }, true);
      assert.equal(r3.port, 'pre', JSON.stringify(r3.msg?.error));
      assert.equal(r3.parsed!.code, 'AA');
      assert.equal(r3.msg!.cda.transport.event, 'T04');
      assert.equal(r3.msg!.cda.action, 'delete');
      assert.equal(r3.msg!.cda.archive, 'deleted');
      assert.deepEqual(r3.msg!.cda.target, { id: formatId(v2.meta.id), status: 'cancelled' });
      assert.equal(r3.msg!.cda.archived, false);
      assert.equal((await storeOf().getDocument(formatId(v2.meta.id)))?.status, 'cancelled');
      assert.ok(await storeOf().documentContent(formatId(v2.meta.id)), 'kept, never destroyed');
      // the same deletion again (a lost ACK): AA, nothing changes
      const again = await p.send({ payload: mdmOf(v2, 'T04', 'MDM-T04') }, true);
      assert.equal(again.parsed!.code, 'AA');
      assert.match(again.msg!.cda.warnings.join(), /already deleted/);
      assert.equal(p.statuses.at(-1)?.text, '4 preselected · 0 to reconcile · 0 rejected');
    });

    it('refuses a replacement or deletion the LPS volet refuses: unknown document 906, not the latest version 900, another organisation 901', async () => {
      const p = await start({ file: dbFile() });
      const v1 = await receivedDocument('CR-IMAGERIE', pdf);
      const v2 = await receivedDocument('CR-IMAGERIE', pdf, PATIENTS.marie(), { replaces: { id: v1.meta.id, setId: v1.meta.setId, version: 1 } });
      const unknown = await p.send({ payload: mdmOf(v2, 'T10', 'T10-UNKNOWN') }, true);
      assertRejected(unknown, 'UNKNOWN_DOCUMENT', { code: 'AE', hl7: '207', application: '906', controlId: 'T10-UNKNOWN' }, true);
      assert.equal(unknown.msg!.error.application, '906');
      assert.equal(unknown.msg!.cda.action, 'replace');
      assert.equal(await storeOf().getDocument(formatId(v2.meta.id)), null, 'not archived');

      await p.send({ payload: mdmOf(v1, 'T02', 'T02-V1') }, true);
      const stranger = await receivedDocument('CR-IMAGERIE', pdf, PATIENTS.marie(), {
        replaces: { id: v1.meta.id, setId: v1.meta.setId, version: 1 },
        author: { idNat: '10000000077', family: 'AUTRE', given: 'Anne', specialty: 'G15_10/SM26' },
        organization: { id: '750000001', idType: 'FINESS', name: 'Autre centre (fictif)' },
      });
      const r901 = await p.send({ payload: mdmOf(stranger, 'T10', 'T10-STRANGER') }, true);
      assertRejected(r901, 'AUTHOR_NOT_ALLOWED', { code: 'AE', hl7: '207', application: '901' }, true);
      assert.equal((await storeOf().getDocument(formatId(v1.meta.id)))?.status, 'current', 'nothing replaced');

      assert.equal((await p.send({ payload: mdmOf(v2, 'T10', 'T10-OK') }, true)).parsed!.code, 'AA');
      const old = await p.send({ payload: mdmOf(v1, 'T04', 'T04-OLD') }, true);
      assertRejected(old, 'NOT_LATEST_VERSION', { code: 'AE', hl7: '207', application: '900' }, true);
      assert.equal((await storeOf().getDocument(formatId(v1.meta.id)))?.status, 'replaced');
      assertNoPatientDataInLogs(p);
    });

    it('a document sent again (lost ACK): routed and acknowledged again, archived once (archive "duplicate")', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('CR-BIO', pdf);
      const msg = mdmOf(doc, 'T02', 'MDM-AGAIN');
      assert.equal((await p.send({ payload: msg }, true)).msg!.cda.archive, 'archived');
      const again = await p.send({ payload: msg }, true);
      assert.equal(again.port, 'pre');
      assert.equal(again.parsed!.code, 'AA');
      assert.equal(again.msg!.cda.archived, false);
      assert.equal(again.msg!.cda.archive, 'duplicate');
      assert.equal((await storeOf().stats()).documents, 1);
    });

    it('another document under an id already archived: routed, not archived (archive "conflict"), a warning without patient data', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('CR-BIO', pdf);
      await p.send({ payload: doc.xml });
      const other = await receivedDocument('CR-BIO', await textPdf({ lines: ['Autre contenu'] }), PATIENTS.marie(), { id: doc.meta.id, setId: doc.meta.setId });
      const r = await p.send({ payload: other.xml });
      assert.equal(r.port, 'pre');
      assert.equal(r.msg!.cda.archive, 'conflict');
      assert.equal(r.msg!.cda.archived, false);
      assert.ok(r.msg!.cda.warnings.some((w: string) => /same id is already archived/.test(w)));
      assert.ok(p.logs.some((l) => /already archived/.test(l)));
      const content = await storeOf().documentContent(formatId(doc.meta.id));
      assert.ok(content!.pdf!.equals(pdf), 'the archive keeps the first');
      assertNoPatientDataInLogs(p);
    });
  });

  describe('to reconcile (output 2): never preselected, never attached', () => {
    it('PAM FR §6.6.15: an INS the GAM sent with PROV was not integrated — a document with it is an unknown patient here', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('CR-BIO', pdf, PATIENTS.jean());
      const r = await p.send({ payload: doc.xml });
      assert.equal(r.port, 'rec', JSON.stringify(r.msg?.match));
      assert.equal(r.msg!.match.outcome, 'reconcile');
      assert.equal(r.msg!.match.method, 'unknown-patient');
      assert.equal(r.msg!.match.patient, undefined, 'nothing preselected');
      assert.deepEqual(r.msg!.match.candidates, []);
      // archived, attached to no one, without the INS (it is qualified nowhere here)
      const rec = await storeOf().getDocument(r.msg!.cda.id);
      assert.equal(rec?.ippKey, null);
      assert.equal(rec?.patient.ipp, null);
      assert.equal(rec?.patient.ins, null);
      assert.equal(rec?.patient.insQualified, false);
      assert.equal(rec?.patient.birthName, 'DUPONT-HÉRAULT');
      assert.equal(p.statuses.at(-1)?.fill, 'yellow');
    });

    it('the INS is that of a qualified identity but a trait differs: which one', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('CR-BIO', pdf, PATIENTS.marieOtherBirthDate());
      const r = await p.send({ payload: oruOf(doc.xml, 'ORU-TRAITS') }, true);
      assert.equal(r.port, 'rec');
      // LPS volet error-codes.md: not integrated automatically, AE 207 with ERR-5 904 (the document is kept all the same)
      assert.equal(r.parsed!.code, 'AE');
      assert.equal(r.parsed!.errors[0].code, '207');
      assert.equal(r.parsed!.errors[0].application?.code, '904');
      assert.equal(r.msg!.ack.code, 'AE');
      assert.equal(r.msg!.match.method, 'traits-mismatch');
      assert.match(r.msg!.match.reason, /birth date differs/);
      assert.deepEqual(r.msg!.match.mismatches, [{ trait: 'birthDate', document: '1985-05-13', local: '1985-05-12' }]);
      assert.deepEqual(r.msg!.match.candidates[0].mismatches, ['birthDate']);
      assert.deepEqual(r.msg!.match.ipp, { id: '123456', authority: 'CHU-X', oid: OID.IPP }, 'the record it would be');
      assert.equal(r.msg!.match.patient, undefined);
      assert.equal((await storeOf().getDocument(r.msg!.cda.id))?.ippKey, null, 'not attached');
    });

    it('no INS in the document', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('LDL', pdf, PATIENTS.marieWithoutIns());
      const r = await p.send({ payload: doc.xml });
      assert.equal(r.port, 'rec');
      assert.equal(r.msg!.cda.patient.ins, null);
      assert.equal(r.msg!.match.method, 'none');
      assert.match(r.msg!.match.reason, /no INS/);
    });

    it('an unknown patient (an INS no local identity carries)', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('CR-BIO', pdf, PATIENTS.paul());
      const r = await p.send({ payload: mdmOf(doc, 'T02', 'MDM-PAUL') }, true);
      assert.equal(r.port, 'rec');
      assert.equal(r.parsed!.code, 'AE');
      assert.deepEqual(r.parsed!.errors.map((e) => [e.code, e.application?.code]), [['207', '902']]);
      assert.match(r.parsed!.text, /kept for reconciliation/);
      assert.equal(r.msg!.match.method, 'unknown-patient');
      assert.deepEqual(r.msg!.match.candidates, []);
    });

    it('a wrong INS key: the INS is not used', async () => {
      const p = await start({ file: dbFile() });
      const r = await p.send({ payload: cdaXml({ ins: withWrongKey('2850569123456'), body: { pdf } }) });
      assert.equal(r.port, 'rec');
      assert.equal(r.msg!.cda.patient.ins.keyValid, false);
      assert.equal(r.msg!.match.method, 'ins-invalid');
      assert.ok(r.msg!.cda.warnings.some((w: string) => /invalid key/.test(w)));
    });

    it('the HL7 message names another INS than the document (PID-3): reconcile, method carrier-mismatch', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('CR-BIO', pdf);
      const oru = oruOf(doc.xml, 'ORU-MIX').replace(/^PID\|.*$/m, (pid) => pid.replace(MARIE_NIR, PAUL_NIR));
      const r = await p.send({ payload: oru }, true);
      assert.equal(r.port, 'rec');
      assert.equal(r.msg!.match.method, 'carrier-mismatch');
      assert.match(r.msg!.match.reason, /PID-3/);
      assert.equal(r.msg!.match.patient, undefined);
      assert.equal((await storeOf().getDocument(r.msg!.cda.id))?.ippKey, null);
    });

    it('without an identity store: to reconcile, not archived (archive "no-store")', async () => {
      const p = await start();
      const doc = await receivedDocument('CR-BIO', pdf);
      const r = await p.send({ payload: doc.xml });
      assert.equal(r.port, 'rec');
      assert.equal(r.msg!.match.method, 'unknown-patient');
      assert.match(r.msg!.match.reason, /no identity store/);
      assert.equal(r.msg!.cda.archive, 'no-store');
      assert.equal(r.msg!.cda.archived, false);
    });

    it('archiving off (node setting, or msg.archive false)', async () => {
      const p = await start({ file: dbFile(), archive: false });
      const doc = await receivedDocument('CR-BIO', pdf);
      const r = await p.send({ payload: doc.xml });
      assert.equal(r.port, 'pre');
      assert.equal(r.msg!.cda.archive, 'off');
      assert.equal((await storeOf().stats()).documents, 0);
      const r2 = await p.send({ payload: doc.xml, archive: true });
      assert.equal(r2.msg!.cda.archive, 'archived');
    });
  });

  describe('level 3', () => {
    it('accepted by default: header read, body kept as written, no msg.pdf, archived without PDF', async () => {
      const p = await start({ file: dbFile() });
      const xml = cdaXml({ body: { structured: STRUCTURED_BODY } });
      const r = await p.send({ payload: xml, pdf: 'stale' });
      assert.equal(r.port, 'pre', JSON.stringify(r.msg?.match ?? r.msg?.error));
      assert.equal(r.msg!.cda.level, 3);
      assert.ok(r.msg!.cda.bodyXml.startsWith('<structuredBody>'));
      assert.equal(r.msg!.pdf, undefined);
      const content = await storeOf().documentContent(r.msg!.cda.id);
      assert.equal(content!.pdf, null);
      assert.equal(content!.cda.toString('utf8'), xml);
    });

    it('refused (LEVEL_3) when the node accepts level 1 only; AE 102 for an ORU', async () => {
      const p = await start({ file: dbFile(), acceptLevel3: false });
      assertRejected(await p.send({ payload: cdaXml({ body: { structured: STRUCTURED_BODY } }) }), 'LEVEL_3');
      const r = await p.send({ payload: oruOf(cdaXml({ body: { structured: STRUCTURED_BODY } }), 'ORU-L3') }, true);
      assertRejected(r, 'LEVEL_3', { code: 'AE', hl7: '102', location: 'OBX^1^5^1^5', controlId: 'ORU-L3' });
    });
  });

  describe('rejected (output 3): precise code, nothing archived, the runtime stays up', () => {
    it('hostile and broken inputs, alone and in ORU / MDM messages; then a valid document is still accepted', async () => {
      const p = await start({ file: dbFile() });
      const cases: [string, string | Buffer, string][] = [
        ['XXE reading a local file', HOSTILE.xxeFile, 'DTD'],
        ['XXE over the network', HOSTILE.xxeHttp, 'DTD'],
        ['parameter entity', HOSTILE.parameterEntity, 'DTD'],
        ['DOCTYPE inside the root', HOSTILE.doctypeInside, 'DTD'],
        ['undeclared entity', HOSTILE.undeclaredEntity, 'ENTITY'],
        ['billion laughs', billionLaughs(), 'DTD'],
        ['billion laughs with a 1 MiB DTD', billionLaughs(MiB), 'DTD'],
        ['not XML', 'Bonjour, voici le compte rendu.', 'NOT_XML'],
        ['empty', '', 'NOT_XML'],
        ['not CDA', '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>', 'NOT_CDA'],
        ['truncated base64', cdaXml({ body: { text: pdfLike(4096).toString('base64').slice(0, 1001) } }), 'BAD_BASE64'],
        ['a PDF that is not a PDF', cdaXml({ body: { pdf: Buffer.from('<html><body>Not a PDF</body></html>') } }), 'NOT_PDF'],
        ['no body', cdaXml({ body: null }), 'NO_PDF'],
        ['no patient', cdaXml({ recordTargets: 0 }), 'BAD_CDA'],
        ['no effectiveTime', cdaXml({ effectiveTime: 'demain' }), 'BAD_CDA'],
      ];
      for (const [what, payload, code] of cases) {
        const r = await p.send({ payload });
        assertRejected(r, code);
        // the same in an ORU^R01: AE 102 at the document
        if (payload.length) {
          const o = await p.send({ payload: oruOf(payload, `ORU-${code}`) }, true);
          assertRejected(o, code, { code: 'AE', hl7: '102', location: 'OBX^1^5^1^5', controlId: `ORU-${code}` });
        }
      }
      // broken carriers
      const doc = await receivedDocument('CR-BIO', pdf);
      const b64 = Buffer.from(doc.xml).toString('base64');
      const carriers: [string, string, string, string, string][] = [
        ['truncated base64 in OBX-5', oruOf(doc.xml, 'ORU-TRUNC', { rawData: b64.slice(0, b64.length - 3) }), 'BAD_BASE64', 'AE', '102'],
        ['ED Hex not hexadecimal', oruOf(doc.xml, 'ORU-HEX', { encoding: 'Hex', rawData: 'ZZ' }), 'BAD_ED', 'AE', '102'],
        ['no document OBX', oruOf(doc.xml, 'ORU-NODOC', { noDocument: true }), 'NO_DOCUMENT', 'AE', '101'],
        // AE, not AR: the LPS volet keeps AR for what may succeed when sent again
        ['an ADT message', 'MSH|^~\\&|GAM|CHU-X|DPI|CHU-X|20261123101500+0100||ADT^A28^ADT_A05|ADT-1|P|2.5\rPID|1\r', 'UNSUPPORTED_MESSAGE', 'AE', '200'],
        ['an MDM^T01', oruOf(doc.xml, 'MDM-T01', { type: 'MDM', event: 'T01' }), 'UNSUPPORTED_MESSAGE', 'AE', '201'],
      ];
      for (const [what, payload, code, ack, hl7] of carriers) {
        const r = await p.send({ payload, mllp: { connectionId: 'c' } }, true);
        assertRejected(r, code, { code: ack as 'AE' | 'AR', hl7, controlId: /\|([A-Z0-9-]+)\|P\|/.exec(payload)![1] });
        assert.deepEqual(r.ack!.mllp, { connectionId: 'c' }, what);
      }
      // a PDF that is not a PDF, in an MDM^T02
      const notPdf = await p.send({ payload: oruOf(cdaXml({ body: { pdf: Buffer.from('GIF89a not a pdf') } }), 'MDM-NOTPDF', { type: 'MDM', event: 'T02' }) }, true);
      assertRejected(notPdf, 'NOT_PDF', { code: 'AE', hl7: '102', location: 'OBX^1^5^1^5', controlId: 'MDM-NOTPDF' });

      assert.equal((await storeOf().stats()).documents, 0, 'nothing archived');
      const rejected = p.got.rej.length;
      assert.equal(p.statuses.at(-1)?.text, `0 preselected · 0 to reconcile · ${rejected} rejected`);
      assert.equal(p.statuses.at(-1)?.fill, 'red');
      assert.equal(p.got.err.length, 0, 'no Catch-able error');
      assert.ok(p.logs.some((l) => /rejected DTD/.test(l)), `a debug line per rejection: ${p.logs.slice(0, 3).join(' / ')}`);
      assertNoPatientDataInLogs(p);

      // still up: a valid document is accepted
      const ok = await p.send({ payload: mdmOf(doc, 'T02', 'MDM-OK') }, true);
      assert.equal(ok.port, 'pre');
      assert.equal(ok.parsed!.code, 'AA');
    });

    it('a 60 MiB document (over 50 MiB): TOO_LARGE at once, alone (AE 207 / 906 with msg.mllp) and in an MDM message', async () => {
      const p = await start({ file: dbFile() });
      const big = cdaXml({ body: { pdf: pdfLike(60 * MiB) }, lineWidth: 0 });
      assert.ok(big.length > 60 * MiB);
      const r = await p.send({ payload: big });
      assertRejected(r, 'TOO_LARGE');
      assert.match(r.msg!.error.message, /is at least \d+ bytes, over the limit of \d+ bytes \(maxBytes\)/, 'refused on its size, before it is parsed');
      const viaMllp = await p.send({ payload: Buffer.from(big), mllp: { connectionId: 'c' } }, true);
      assertRejected(viaMllp, 'TOO_LARGE', { code: 'AE', hl7: '207', application: '906' });
      const mdm = oruOf(big, 'MDM-BIG', { type: 'MDM', event: 'T02' });
      const m = await p.send({ payload: mdm }, true);
      assertRejected(m, 'TOO_LARGE', { code: 'AE', hl7: '207', application: '906', controlId: 'MDM-BIG' });
      assert.match(m.msg!.error.message, /: not read/, 'refused on its size, before it is read');
      assert.equal((await storeOf().stats()).documents, 0);
    });

    it('msg.maxSize lowers the limit for one message (it cannot raise it)', async () => {
      const p = await start({ file: dbFile(), maxSize: 1 });
      const doc = await receivedDocument('CR-BIO', pdf);
      assertRejected(await p.send({ payload: doc.xml, maxSize: 0.001 }), 'TOO_LARGE');
      const big = cdaXml({ body: { pdf: pdfLike(2 * MiB) } });
      assertRejected(await p.send({ payload: big, maxSize: 100 }), 'TOO_LARGE');
      assert.equal((await p.send({ payload: doc.xml, maxSize: 'nonsense' })).port, 'pre');
    });

    it('bad input: null, an object, a number → BAD_INPUT; from mllp in, an AR too', async () => {
      const p = await start({ file: dbFile() });
      for (const payload of [null, undefined, { xml: '<x/>' }, 42, ['a']]) {
        const r = await p.send({ payload });
        assertRejected(r, 'BAD_INPUT');
        assert.match(r.msg!.error.message, /msg\.payload is of type (null|undefined|object|number|array)/);
      }
      const r = await p.send({ payload: { not: 'hl7' }, mllp: { connectionId: 'c' } }, true);
      assertRejected(r, 'BAD_INPUT', { code: 'AR', hl7: '100', controlId: '' });
    });
  });

  describe('a store that fails', () => {
    it('an ins-store that cannot be opened: AR 207 for an HL7 message, a Catch-able error, nothing routed', async () => {
      const blocker = path.join(tmp, `not-a-folder-${++n}`);
      fs.writeFileSync(blocker, 'x');
      const p = await start({ file: path.join(blocker, 'ins-store.db') });
      const doc = await receivedDocument('CR-BIO', pdf);
      const r = await p.send({ payload: mdmOf(doc, 'T02', 'MDM-NOSTORE') }, true);
      assert.equal(r.port, null);
      assert.equal(r.parsed!.code, 'AR');
      assert.equal(r.parsed!.controlId, 'MDM-NOSTORE');
      assert.equal(r.parsed!.errors[0].code, '207');
      assert.ok(r.err, 'a Catch-able error');
      assert.equal(r.err.error.source.id, 'n');
      assert.match(r.err.error.message, /identity store unavailable/);
      assert.equal(r.err.error.code, 'STORE');
      assertNoPatientDataInLogs(p);
    });
  });

  describe('the message journal and the worklist (issue 14)', () => {
    const { replayHandler } = require('../../nodes/shared/console-registry') as typeof import('../../nodes/shared/console-registry');

    it('a document on output 2 becomes a reconciliation task, written with its row (to-reconcile, the ACK given, the document keys)', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('CR-BIO', pdf, PATIENTS.marieOtherBirthDate());
      const r = await p.send({ payload: oruOf(doc.xml, 'ORU-J1') }, true);
      assert.equal(r.port, 'rec');
      const [row] = (await storeOf().searchJournal({ controlId: 'ORU-J1' })).entries;
      assert.deepEqual([row.node.type, row.direction, row.kind, row.type, row.event, row.outcome, row.ack?.code], ['cda-ingest', 'in', 'message', 'ORU', 'R01', 'to-reconcile', 'AE']);
      assert.equal(row.keys.documentId, r.msg!.cda.id);
      assert.equal(row.keys.ipp, null, 'attached to no one');
      assert.equal(r.msg!.journalId, row.id);
      const task = await storeOf().taskOfDocument(r.msg!.cda.id);
      assert.ok(task, 'a task');
      assert.deepEqual([task!.status, task!.reason, task!.journalId], ['open', 'traits-mismatch', row.id]);
      assert.deepEqual(task!.candidates.map((c) => [c.key, c.mismatches]), [[MARIE_KEY, ['birthDate']]]);
      assert.equal(task!.traits.birthDate, '1985-05-13');
    });

    it('a document preselected: its row (preselected, the local IPP and the INS), no task', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('CR-BIO', pdf);
      const r = await p.send({ payload: doc.xml });
      assert.equal(r.port, 'pre');
      const [row] = (await storeOf().searchJournal({ documentId: r.msg!.cda.id })).entries;
      assert.deepEqual([row.kind, row.type, row.outcome, row.ack], ['document', 'CDA', 'preselected', null]);
      assert.deepEqual([row.keys.ippKey, row.keys.ins], [MARIE_KEY, MARIE_NIR]);
      assert.equal(await storeOf().taskOfDocument(r.msg!.cda.id), null);
      assert.equal(await storeOf().countTasks('all'), 0);
    });

    it('a rejected input: its row, outcome rejected, nothing archived', async () => {
      const p = await start({ file: dbFile() });
      const r = await p.send({ payload: oruOf(Buffer.from('<not-a-cda/>'), 'ORU-J3') }, true);
      assert.equal(r.port, 'rej');
      await untilAsync(async () => (await storeOf().searchJournal({ controlId: 'ORU-J3' })).entries.length === 1, 'the row');
      const [row] = (await storeOf().searchJournal({ controlId: 'ORU-J3' })).entries;
      assert.equal(row.outcome, 'rejected');
      assert.equal(row.ack?.code, r.parsed!.code);
      assert.equal((await storeOf().stats()).documents, 0);
    });

    it('replay: a document already filed is a duplicate — nothing changes, no second task, no ACK sent', async () => {
      const p = await start({ file: dbFile() });
      const doc = await receivedDocument('CR-BIO', pdf, PATIENTS.marieOtherBirthDate());
      await p.send({ payload: oruOf(doc.xml, 'ORU-J4') }, true);
      const [row] = (await storeOf().searchJournal({ controlId: 'ORU-J4' })).entries;
      const acks = p.got.ack.length;
      const result = await replayHandler('n')!({ entry: row, message: (await storeOf().journalContent(row.id))!.message!, originalId: row.id, actor: 'console:alice' });
      assert.deepEqual([result.outcome, result.changed], ['duplicate', false]);
      const replay = await storeOf().journalEntry(result.journalId!);
      assert.deepEqual([replay?.replayOf, replay?.actor], [row.id, 'console:alice']);
      assert.equal(await storeOf().countTasks('all'), 1);
      assert.equal(p.got.ack.length, acks, 'no ACK for a replay');
    });
  });
});
