// End to end, in a real Node-RED: reports received over MLLP (ORU^R01, MDM^T02 / T10 / T04) →
// mllp-in → cda-ingest (ins-store, SQLite in the user dir) → output 4 → mllp-response; outputs 1–3 to
// debug nodes. The local identities come through the same Node-RED: the identity feed
// (mllp-in → adt-to-ins → mllp-response) on another port, into the same store. Each ACK is checked
// (AA for a document preselected, AE 207 + ERR-5 for one kept for reconciliation, AE for a broken one), then the store's document table.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DebugPane } from './comms';
import { NodeRed, getFreePort, type FlowNode } from './harness';
import { formatId } from '../../lib/cda';
import { parseAck } from '../../lib/hl7';
import { MllpClient } from '../../lib/mllp/client';
import { adtBytes, OID } from '../fixtures/adt';
import { cdaXml } from '../fixtures/cda-hostile';
import { LOCAL, PATIENTS, mdmOf, oruOf, receivedDocument, type Received } from '../fixtures/cda-received';
import { largePdf, textPdf } from '../fixtures/pdf';

const MiB = 1024 * 1024;

function flows(docPort: number, adtPort: number): FlowNode[] {
  const debug = (id: string, property: string, y: number): FlowNode => ({
    id,
    z: 'cda-tab',
    type: 'debug',
    name: id,
    active: true,
    tosidebar: true,
    console: false,
    tostatus: false,
    complete: property,
    targetType: 'msg',
    x: 600,
    y,
    wires: [],
  });
  return [
    { id: 'cda-tab', type: 'tab', label: 'reports received e2e' },
    { id: 'cda-store', type: 'ins-store', name: 'identités et documents', engine: 'sqlite', file: '' },
    // the identity feed
    { id: 'adt-in', z: 'cda-tab', type: 'mllp-in', name: '', port: adtPort, host: '127.0.0.1', tls: '', maxSize: 1, maxSizeUnit: 'MiB', autoAck: false, wires: [['adt-ins']] },
    { id: 'adt-ins', z: 'cda-tab', type: 'adt-to-ins', name: '', store: 'cda-store', valiQualified: false, wires: [[], ['adt-resp']] },
    { id: 'adt-resp', z: 'cda-tab', type: 'mllp-response', name: '', wires: [] },
    // the reports
    { id: 'doc-in', z: 'cda-tab', type: 'mllp-in', name: '', port: docPort, host: '127.0.0.1', tls: '', maxSize: 32, maxSizeUnit: 'MiB', autoAck: false, wires: [['doc-ingest']] },
    {
      id: 'doc-ingest',
      z: 'cda-tab',
      type: 'cda-ingest',
      name: '',
      store: 'cda-store',
      maxSize: 50,
      archive: true,
      acceptLevel3: true,
      wires: [['dbg-pre'], ['dbg-rec'], ['dbg-rej'], ['doc-resp']],
    },
    { id: 'doc-resp', z: 'cda-tab', type: 'mllp-response', name: '', wires: [] },
    debug('dbg-pre', 'match', 40),
    debug('dbg-rec', 'match', 80),
    debug('dbg-rej', 'error', 120),
  ];
}

interface DocRow {
  id: string;
  origin: string;
  status: string;
  type_code: string;
  ipp_key: string | null;
  ins_value: string | null;
  replaces: string | null;
  pdf_sha256: string | null;
  pdf_bytes: number;
  patient: string;
}

function readDocuments(file: string): Map<string, DocRow> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT id, origin, status, type_code, ipp_key, ins_value, replaces, pdf_sha256, pdf_bytes, patient FROM document').all() as DocRow[];
    return new Map(rows.map((r) => [r.id, r]));
  } finally {
    db.close();
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('e2e: reports received (ORU / MDM over MLLP) into cda-ingest, in a real Node-RED', function () {
  this.timeout(120_000);
  let red: NodeRed | null = null;
  let pane: DebugPane | null = null;
  let docs: MllpClient | null = null;
  let storeFile = '';
  let pdf: Buffer;
  let bigPdf: Buffer;
  const sent: Record<string, Received> = {};

  before(async () => {
    const [docPort, adtPort] = [await getFreePort(), await getFreePort()];
    red = await NodeRed.start({ flows: flows(docPort, adtPort) });
    pane = await DebugPane.open(red.port);
    storeFile = path.join(red.userDir, 'segur-dpi', 'ins-store.db');
    docs = new MllpClient({ host: '127.0.0.1', port: docPort, ackTimeoutMs: 30_000, maxRetries: 0 });
    // the local identities, through the identity feed of the same Node-RED
    const adt = new MllpClient({ host: '127.0.0.1', port: adtPort, ackTimeoutMs: 10_000, maxRetries: 2, backoffBaseMs: 100 });
    try {
      for (const [controlId, pid] of [['ID-MARIE', LOCAL.marie], ['ID-JEAN', LOCAL.jean]] as const) {
        const { ack } = await adt.send(adtBytes({ controlId, pid }));
        assert.deepEqual([parseAck(ack).code, parseAck(ack).controlId], ['AA', controlId], ack);
      }
    } finally {
      await adt.close();
    }
    pdf = await textPdf({ lines: ['Compte rendu reçu (test e2e)', 'Patient fictif.'] });
    bigPdf = await largePdf(8 * MiB);
  });
  after(async () => {
    await docs?.close();
    pane?.close();
    await red?.stop();
  });

  async function send(message: string | Buffer): Promise<ReturnType<typeof parseAck>> {
    const { ack } = await docs!.send(typeof message === 'string' ? Buffer.from(message, 'utf8') : message);
    return parseAck(ack);
  }

  // the ACK as the LPS volet's error-codes.md says: AA for a document preselected, AE 207 with ERR-5 902
  // (unknown patient) / 904 (INS or traits differ) for one kept for reconciliation
  it('ORU^R01 and MDM^T02 / T10 / T04 of valid reports: routed to preselected (AA) or to reconcile (AE 207 + 902 / 904)', async () => {
    const cases: [string, () => Promise<string>, 'dbg-pre' | 'dbg-rec', string, string | null][] = [
      ['ORU-BIO', async () => oruOf((sent.bio = await receivedDocument('CR-BIO', pdf)).xml, 'ORU-BIO'), 'dbg-pre', 'INS', null],
      ['MDM-IMG-1', async () => mdmOf((sent.img1 = await receivedDocument('CR-IMAGERIE', pdf)), 'T02', 'MDM-IMG-1'), 'dbg-pre', 'INS', null],
      [
        'MDM-IMG-2',
        async () => mdmOf((sent.img2 = await receivedDocument('CR-IMAGERIE', pdf, PATIENTS.marie(), { replaces: { id: sent.img1.meta.id, setId: sent.img1.meta.setId, version: 1 } })), 'T10', 'MDM-IMG-2'),
        'dbg-pre',
        'INS',
        null,
      ],
      ['MDM-IMG-2-CA', async () => mdmOf(sent.img2, 'T04', 'MDM-IMG-2-CA'), 'dbg-pre', 'INS', null],
      ['ORU-JEAN', async () => oruOf((sent.jean = await receivedDocument('CR-BIO', pdf, PATIENTS.jean())).xml, 'ORU-JEAN'), 'dbg-rec', 'unknown-patient', '902'],
      ['MDM-PAUL', async () => mdmOf((sent.paul = await receivedDocument('CRO', pdf, PATIENTS.paul())), 'T02', 'MDM-PAUL'), 'dbg-rec', 'unknown-patient', '902'],
      ['MDM-TRAITS', async () => mdmOf((sent.traits = await receivedDocument('LDL', pdf, PATIENTS.marieOtherBirthDate())), 'T02', 'MDM-TRAITS'), 'dbg-rec', 'traits-mismatch', '904'],
      ['MDM-BIG', async () => mdmOf((sent.big = await receivedDocument('CR-IMAGERIE', bigPdf)), 'T02', 'MDM-BIG'), 'dbg-pre', 'INS', null],
    ];
    const seen = new Set<unknown>();
    for (const [controlId, build, debugId, method, application] of cases) {
      const ack = await send(await build());
      assert.deepEqual(
        [ack.code, ack.controlId, ack.errors[0]?.code, ack.errors[0]?.application?.code],
        application ? ['AE', controlId, '207', application] : ['AA', controlId, undefined, undefined],
        JSON.stringify(ack),
      );
      await pane!.waitFor((m) => m.id === debugId && new RegExp(`"method":\\s*"${method}"`).test(m.msg) && !seen.has(m));
      seen.add(pane!.messages.find((m) => m.id === debugId && new RegExp(`"method":\\s*"${method}"`).test(m.msg) && !seen.has(m))!);
    }
    assert.equal(pane!.messages.filter((m) => m.id === 'dbg-pre').length, 5);
    assert.equal(pane!.messages.filter((m) => m.id === 'dbg-rec').length, 3);
    assert.equal(pane!.messages.filter((m) => m.id === 'dbg-rej').length, 0);
  });

  it('broken reports: AE for a truncated base64, a body that is not a PDF, a message that carries no document', async () => {
    const doc = await receivedDocument('CR-BIO', pdf);
    const b64 = Buffer.from(doc.xml).toString('base64');
    const cases: [string, string, string, string, string][] = [
      ['ORU-TRUNC', oruOf(doc.xml, 'ORU-TRUNC', { rawData: b64.slice(0, -3) }), 'AE', '102', 'BAD_BASE64'],
      ['MDM-NOTPDF', oruOf(cdaXml({ body: { pdf: Buffer.from('<html>pas un PDF</html>') } }), 'MDM-NOTPDF', { type: 'MDM', event: 'T02' }), 'AE', '102', 'NOT_PDF'],
      ['ORU-XXE', oruOf('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><ClinicalDocument xmlns="urn:hl7-org:v3"><title>&e;</title></ClinicalDocument>', 'ORU-XXE'), 'AE', '102', 'DTD'],
      // AE, not AR: the LPS volet keeps AR for what may succeed when sent again
      ['ADT-HERE', adtBytes({ controlId: 'ADT-HERE' }).toString('latin1'), 'AE', '200', 'UNSUPPORTED_MESSAGE'],
    ];
    for (const [controlId, message, code, hl7, errorCode] of cases) {
      const ack = await send(Buffer.from(message, controlId === 'ADT-HERE' ? 'latin1' : 'utf8'));
      assert.deepEqual([ack.code, ack.controlId, ack.errors[0]?.code], [code, controlId, hl7], JSON.stringify(ack));
      assert.doesNotMatch(JSON.stringify(ack), /root:|daemon:/, 'no file content in the ACK');
      await pane!.waitFor((m) => m.id === 'dbg-rej' && new RegExp(`"code":\\s*"${errorCode}"`).test(m.msg));
    }
    // and a valid one right after
    const ok = await send(mdmOf((sent.after = await receivedDocument('ORDONNANCE', pdf)), 'T02', 'MDM-AFTER'));
    assert.deepEqual([ok.code, ok.controlId], ['AA', 'MDM-AFTER']);
  });

  it("the store's document table holds the accepted documents, as received, attached only when preselected", async () => {
    const rows = readDocuments(storeFile);
    const row = (k: string) => {
      const r = rows.get(formatId(sent[k].meta.id));
      assert.ok(r, `${k} archived`);
      return r;
    };
    assert.equal(rows.size, Object.keys(sent).length, 'one row per accepted document, none for the rejected ones');
    const marieKey = `${OID.IPP}|123456`;
    for (const k of ['bio', 'img1', 'img2', 'big', 'after']) {
      assert.equal(row(k).ipp_key, marieKey, k);
      assert.equal(row(k).origin, 'received');
      assert.ok(row(k).ins_value, `${k}: the INS, qualified locally`);
      assert.equal(JSON.parse(row(k).patient).insQualified, true);
    }
    for (const k of ['jean', 'paul', 'traits']) {
      assert.equal(row(k).ipp_key, null, `${k} attached to no one`);
      assert.equal(row(k).ins_value, null);
      assert.equal(JSON.parse(row(k).patient).insQualified, false);
    }
    assert.equal(row('img1').status, 'replaced', 'the T10 replaced it');
    assert.equal(row('img2').status, 'cancelled', 'the T04 deleted it (marked, kept)');
    assert.equal(row('img2').replaces, formatId(sent.img1.meta.id));
    assert.equal(row('bio').status, 'current');
    assert.equal(row('bio').pdf_sha256, sha256(pdf));
    assert.equal(row('big').pdf_bytes, bigPdf.length);
    assert.equal(row('big').pdf_sha256, sha256(bigPdf), 'the 8 MiB PDF, byte for byte');
    assert.equal(row('bio').type_code, '11502-2');
  });
});
