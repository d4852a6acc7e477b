// The layer pack (flows/segur-dpi-layer.json) as shipped, in the real Node-RED of `npm start`
// (scripts/node-red.js), over real sockets only — the environment variables give it free ports, a test
// PFI and a PSC-like provider:
// - it deploys without a warning from any node;
// - identities: the ANS ADT examples (hl7v2-exemples SGL/, Vague 2/Consentement_DMP_PAMFR/) and a
//   1,000-message PAM FR feed over MLLP — every ACK right, the store holding exactly the identities;
// - documents produced: PDFs by HTTP (JSON and multipart) and through the watched folder → CDA (check-cda:
//   0 errors) → MDM to the test PFI, which answers AA and sends a ZAM^Z01: the journey is sent → ack →
//   dmp-received;
// - reports received: the ANS ORU / MDM examples of the two transport volets, preselected / to reconcile
//   / rejected as cda-ingest's own tests expect, each ACK as the volets' ack.er7;
// - portability: a professional logs in through ProSanté Connect and downloads a patient's export;
// - errors and status: one line per error for whoever is on call, GET /segur-dpi/status, no patient data.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DebugPane } from './comms';
import { NodeRed, PROJECT_ROOT, getFreePort, type FlowNode } from './harness';
import { checkFeedInStore, sendFeed } from './feed';
import { freeLayerPorts, layerEnv, layerPack, type LayerPorts } from './layer-pack';
import { parseAck, parseHl7, type ParsedAck } from '../../lib/hl7';
import { MllpClient } from '../../lib/mllp';
import { documentInput } from '../fixtures/cda';
import { unzipAll } from '../fixtures/export-docs';
import { identityFeed } from '../fixtures/identity-feed';
import { textPdf } from '../fixtures/pdf';
import { checkCda, describeErrors } from '../support/check-cda';
import { TestBrowser, formAction } from '../support/http-browser';
import { makePki, type TestPki } from '../support/pki';
import { doctorAccount, PscTestProvider } from '../support/psc-provider';
import { TestPfi } from '../support/test-pfi';

const EXAMPLES = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'specs', 'hl7v2-exemples');
const ADT_EXAMPLES = [
  'SGL/admission.er7',
  'SGL/sortie.er7',
  ...fs
    .readdirSync(path.join(EXAMPLES, 'Vague 2', 'Consentement_DMP_PAMFR'))
    .filter((f) => f.endsWith('.er7'))
    .sort()
    .map((f) => `Vague 2/Consentement_DMP_PAMFR/${f}`),
];
const V21 = path.join(EXAMPLES, 'Vague 2', 'Trans_Doc-CDA-HL7V2', 'TRANSMISSION_DOCS_CDA_EN_HL7V2_V2.1');
const LPS = path.join(EXAMPLES, 'Vague 2', 'Trans_LPS_CDA_MSSanté', 'TRANSMISSION_LPS_DOC_CDA_COURRIEL_FROM_MSSANTE_V1.1');
/** PAT-TROIS DOMINIQUE of the ANS examples: IPP 000003, a test INS-NIR, PID-32 VALI. */
const PAT_TROIS_INS = '279035121518989';
const RADIO_V1 = '1.2.250.1.71.4.2.2.120456789.71024000081';
const RADIO_V2 = '1.2.250.1.71.4.2.2.120456789.71024000082';

const CLIENT_ID = 'segur-dpi-layer-e2e';
const CLIENT_SECRET = `secret-${randomBytes(24).toString('base64url')}`;
const DOCTOR = doctorAccount();
/** Runtime warnings of the settings npm start uses (projects off, credentials in clear): not the pack's. */
const RUNTIME_WARNINGS = /Projects disabled|Using unencrypted credentials/;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The Node-RED log lines of a warning or an error, but the runtime's own about its settings. */
function warnings(output: string): string[] {
  return output.split('\n').filter((l) => /\] \[(warn|error)\]|- \[(warn|error)\]/.test(l) && !RUNTIME_WARNINGS.test(l));
}

/** An HTTP request with a body; resolves with the status, headers and body bytes. */
function httpRequest(url: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, 'utf8');
    const req = http.request(url, { method: opts.method ?? 'GET', headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...opts.headers }, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timeout`)));
    req.on('error', reject);
    req.end(body);
  });
}

function multipart(parts: { name: string; filename?: string; type: string; data: Buffer | string }[]): { body: Buffer; type: string } {
  const boundary = `----segur-${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: ${p.type}\r\n\r\n`), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

/** The example ACK of a folder (ack.er7): MSA-1, MSH-9, MSH-17, MSH-12 — compared with ours. */
function sameAckAs(ackText: string, dir: string): void {
  const want = parseHl7(fs.readFileSync(path.join(dir, 'ack.er7')));
  const ours = parseHl7(ackText);
  assert.equal(ours.segment('MSA')!.value(1), want.segment('MSA')!.value(1), `MSA-1 as in ${path.basename(dir)}/ack.er7`);
  for (const f of [9, 12, 17]) assert.equal(ours.segments[0].raw(f), want.segments[0].raw(f), `MSH-${f} as in ${path.basename(dir)}/ack.er7`);
}

interface JourneyRow {
  step: string;
  ok: number;
  control_id: string;
}

/** The store file as a fresh process reads it. */
function withStore<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

describe('e2e: the layer pack (flows/segur-dpi-layer.json) in the Node-RED of npm start, over real sockets', function () {
  this.timeout(600_000);
  let pki: TestPki;
  let psc: PscTestProvider;
  let pfi: TestPfi;
  let red: NodeRed;
  let pane: DebugPane;
  let ports: LayerPorts;
  let storeFile = '';
  let reports: MllpClient;
  const feed = identityFeed(200, 'LAYER');
  /** Documents produced, by name: the 201 answer's document and the CDA the PFI received. */
  const produced: Record<string, { id: string; cda?: Buffer; controlId?: string }> = {};

  const url = (p: string) => `${red.url}${p}`;

  before(async () => {
    pki = makePki();
    const redPort = await getFreePort();
    ports = await freeLayerPorts();
    const base = `http://127.0.0.1:${redPort}/segur-dpi/psc`;
    psc = await PscTestProvider.start(pki, [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [`${base}/callback`], post_logout_redirect_uris: [`${base}/signed-out`] }], [DOCTOR]);
    pfi = await TestPfi.start(ports.pfi);
    red = await NodeRed.start({
      flows: layerPack(),
      port: redPort,
      env: layerEnv(ports, {
        SEGUR_PSC_ISSUER: psc.issuer,
        SEGUR_PSC_CLIENT_ID: CLIENT_ID,
        SEGUR_PSC_CLIENT_SECRET: CLIENT_SECRET,
        SEGUR_PSC_REDIRECT_URI: `${base}/callback`,
        // the provider's TLS certificate, signed by the test PKI (PSC's own chain in production)
        NODE_EXTRA_CA_CERTS: pki.caFile,
      }),
    });
    pane = await DebugPane.open(red.port);
    storeFile = path.join(red.userDir, 'segur-dpi', 'ins-store.db');
    reports = new MllpClient({ host: '127.0.0.1', port: ports.reports, ackTimeoutMs: 30_000, maxRetries: 0 });
  });

  after(async () => {
    await reports?.close();
    pane?.close();
    await red?.stop();
    await pfi?.close();
    await psc?.stop();
    pki?.cleanup();
  });

  it('deploys without a warning or an error from any node, and writes the settings in use in one line', async () => {
    await red.waitForOutput(/· START · Ségur DPI layer/, 10_000);
    assert.deepEqual(warnings(red.output), []);
    assert.match(red.output, new RegExp(`GAM on 127\\.0\\.0\\.1:${ports.gam}, reports on 127\\.0\\.0\\.1:${ports.reports}, PFI business ACKs on 127\\.0\\.0\\.1:${ports.pfiAck}; MDM to the PFI at 127\\.0\\.0\\.1:${ports.pfi}`));
    assert.match(red.output, new RegExp(`watched folder ${red.userDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/segur-dpi/inbox`));
    assert.equal(fs.statSync(path.join(red.userDir, 'segur-dpi', 'inbox')).mode & 0o777, 0o700);
    // the PSC client secret came through the credentials file, never flows.json
    const flowsText = fs.readFileSync(path.join(red.userDir, 'flows.json'), 'utf8');
    assert.deepEqual((JSON.parse(flowsText) as { id: string; credentials?: unknown }[]).filter((n) => n.credentials !== undefined).map((n) => n.id), [], 'no credentials in flows.json');
    assert.doesNotMatch(flowsText, /clientSecret/);
  });

  describe('identities: GAM → adt-to-ins → store → ACK', () => {
    it('the ANS ADT examples in one stream: AA, but AE 207 for the example that reuses control id 3975 for another message; PAT-TROIS qualified with her test INS', async () => {
      const gam = new MllpClient({ host: '127.0.0.1', port: ports.gam, ackTimeoutMs: 10_000, maxRetries: 0 });
      const codes: Record<string, string> = {};
      try {
        for (const file of ADT_EXAMPLES) {
          const ack = parseAck((await gam.send(fs.readFileSync(path.join(EXAMPLES, file)))).ack);
          codes[path.basename(file)] = ack.code;
          if (ack.code === 'AE') assert.deepEqual(ack.errors.map((e) => [e.code, e.location]), [['207', 'MSH^1^10']], JSON.stringify(ack));
          else assert.deepEqual(ack.errors, [], `${file}: no error nor warning`);
        }
      } finally {
        await gam.close();
      }
      // the same expectations as test/nodes/adt-pam-fr.test.ts: admission.er7 and ConsentementConsultation… share MSH-10 3975
      assert.deepEqual(codes, {
        'admission.er7': 'AA',
        'sortie.er7': 'AA',
        'ConsentementConsultation_NonOppositionAlimentation.er7': 'AE',
        'NonConsentementConsultation_NonOppositionAlimentation.er7': 'AA',
        'NonConsentementConsultation_OppositionAlimentation.er7': 'AA',
        'NonRecueillieConsentementConsultation_NonOppositionAlimentation.er7': 'AA',
        'NonRecueillieConsentementConsultation_NonRecueillieOppositionAlimentation.er7': 'AA',
      });
      const rows = withStore(storeFile, (db) => db.prepare('SELECT ipp_key, status, qualified FROM identity WHERE ins_value = ?').all(PAT_TROIS_INS) as { ipp_key: string; status: string; qualified: number }[]);
      assert.deepEqual(rows, [{ ipp_key: '000897406|000003', status: 'VALI', qualified: 1 }]);
    });

    it('a 1,000-message PAM FR feed over 8 connections: every ACK the expected one, exactly the expected identities in the store', async () => {
      assert.equal(feed.messages.flat().length, 1000);
      const problems = await sendFeed(ports.gam, feed.messages, 8);
      assert.deepEqual(problems.slice(0, 10), [], `${problems.length} wrong ACK(s)`);
      assert.equal(checkFeedInStore(storeFile, feed, 'LAYER'), 160);
      await pane.waitFor((m) => m.id === 'layer-id-debug');
    });
  });

  describe('documents produced: HTTP and the watched folder → pdf-to-cda-n1 → archive → MDM to the PFI; its ACK and ZAM back', () => {
    let pdf: Buffer;
    /** A patient of the feed qualified with its INS (p % 5 = 1), one whose identity is doubtful (p % 5 = 4). */
    const QUALIFIED = '100001';
    const DOUBTFUL = '100004';
    const OTHER_QUALIFIED = '100006';

    before(async () => {
      pdf = await textPdf({ lines: ['Lettre de liaison (test e2e de la couche)', 'Patient fictif.'] });
    });

    async function post(body: Buffer | string, type: string) {
      const res = await httpRequest(url('/segur-dpi/documents'), { method: 'POST', headers: { 'content-type': type }, body });
      return { status: res.status, json: JSON.parse(res.body.toString('utf8') || 'null') };
    }

    it('POST JSON (the PDF in base64, an IPP the GAM sent, sharing with the DMP): 201, and the PFI receives the MDM^T02 carrying the CDA with the INS', async () => {
      const res = await post(JSON.stringify({ pdf: pdf.toString('base64'), ipp: QUALIFIED, document: documentInput('LDL', { sharing: { dmp: true } }) }), 'application/json');
      assert.equal(res.status, 201, JSON.stringify(res.json));
      assert.equal(res.json.document.typeCode, '11490-0');
      assert.equal(res.json.document.insIncluded, true);
      assert.equal(res.json.document.archived, true);
      const extension = res.json.document.id.split('^')[1];
      const mdm = await pfi.waitFor((m) => m.cda.includes(`extension="${extension}"`));
      assert.equal(mdm.event, 'MDM^T02');
      produced.ldl = { id: res.json.document.id, cda: mdm.cda, controlId: mdm.controlId };
    });

    it('POST multipart/form-data (parts "pdf" and "metadata"): 201, MDM to the PFI', async () => {
      const form = multipart([
        { name: 'pdf', filename: 'cro.pdf', type: 'application/pdf', data: pdf },
        { name: 'metadata', type: 'application/json', data: JSON.stringify({ ipp: OTHER_QUALIFIED, document: documentInput('CRO') }) },
      ]);
      const res = await post(form.body, form.type);
      assert.equal(res.status, 201, JSON.stringify(res.json));
      assert.equal(res.json.document.typeCode, '34874-8');
      const extension = res.json.document.id.split('^')[1];
      const mdm = await pfi.waitFor((m) => m.cda.includes(`extension="${extension}"`));
      produced.cro = { id: res.json.document.id, cda: mdm.cda, controlId: mdm.controlId };
    });

    it('the watched folder: a PDF and its sidecar .json → the CDA (no INS: a doubtful identity) to the PFI, and both files gone', async () => {
      const inbox = path.join(red.userDir, 'segur-dpi', 'inbox');
      fs.writeFileSync(path.join(inbox, 'ordo-0001.pdf'), pdf);
      // the sidecar last, under another name, then renamed: the layer never reads half a file
      fs.writeFileSync(path.join(inbox, 'ordo-0001.json.tmp'), JSON.stringify({ ipp: DOUBTFUL, document: documentInput('ORDONNANCE') }));
      fs.renameSync(path.join(inbox, 'ordo-0001.json.tmp'), path.join(inbox, 'ordo-0001.json'));
      const mdm = await pfi.waitFor((m) => m.cda.includes('57833-6'));
      assert.doesNotMatch(mdm.cda.toString('utf8'), /1\.2\.250\.1\.213\.1\.4\.(8|9|10|11)"/, 'no INS for an identity that is not qualified');
      const id = /<id root="([^"]+)" extension="([^"]+)"\/>/.exec(mdm.cda.toString('utf8'));
      produced.ordonnance = { id: `${id![1]}^${id![2]}`, cda: mdm.cda, controlId: mdm.controlId };
      const until = Date.now() + 10_000;
      while (fs.readdirSync(inbox).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(fs.readdirSync(inbox), [], 'the PDF and its sidecar deleted once archived');
    });

    it('refusals: an unknown IPP 404, the DMP for an identity that is not qualified 400, a request without a PDF 400 — the code and the field named, never a value', async () => {
      const unknown = await post(JSON.stringify({ pdf: pdf.toString('base64'), ipp: '999999', document: documentInput('LDL') }), 'application/json');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.error.code, 'UNKNOWN_IPP');
      assert.doesNotMatch(unknown.json.error.message, /999999/);
      const dmp = await post(JSON.stringify({ pdf: pdf.toString('base64'), ipp: DOUBTFUL, document: documentInput('LDL', { sharing: { dmp: true } }) }), 'application/json');
      assert.equal(dmp.status, 400, JSON.stringify(dmp.json));
      assert.equal(dmp.json.error.code, 'NOT_QUALIFIED');
      const none = await post(JSON.stringify({ ipp: QUALIFIED, document: documentInput('LDL') }), 'application/json');
      assert.equal(none.status, 400);
      assert.equal(none.json.error.code, 'BAD_REQUEST');
    });

    it('every CDA the PFI received passes the ANS check (check-cda: 0 errors)', async function () {
      this.timeout(20 * 60_000);
      const docs = Object.fromEntries(Object.entries(produced).map(([k, v]) => [k, v.cda!]));
      assert.deepEqual(Object.keys(docs).sort(), ['cro', 'ldl', 'ordonnance']);
      const report = await checkCda(docs, { timeoutMs: 19 * 60_000 });
      assert.equal(report.exitCode, 0, describeErrors(report) || report.output);
      for (const name of Object.keys(docs)) assert.equal(report.files[name]?.errors, 0, `${name}: ${describeErrors(report)}`);
    });

    it('the PFI acknowledges (AA) then sends ZAM^Z01 (received by the DMP), acknowledged: the journey in the store is sent → ack → dmp-received', async () => {
      const ack = await pfi.sendZam(ports.pfiAck, { event: 'Z01', ok: true, messageControlId: produced.ldl.controlId! });
      assert.deepEqual([ack.code, ack.errors], ['AA', []]);
      let steps: JourneyRow[] = [];
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        steps = withStore(storeFile, (db) => db.prepare('SELECT step, ok, control_id FROM document_journey WHERE document_id = ? ORDER BY seq').all(produced.ldl.id) as JourneyRow[]);
        if (steps.length >= 3) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(
        steps.map((s) => [s.step, s.ok, s.control_id]),
        [
          ['sent', 1, produced.ldl.controlId],
          ['ack', 1, produced.ldl.controlId],
          ['dmp-received', 1, produced.ldl.controlId],
        ],
      );
      await pane.waitFor((m) => m.id === 'layer-doc-journey');
    });
  });

  describe('reports received: RIS / LIS → cda-ingest → preselected / to reconcile / rejected → ACK', () => {
    /** Sends an example; resolves with its ACK (text and read) and the debug node its document went to. */
    async function example(file: string): Promise<{ ack: ParsedAck; ackText: string; to: string }> {
      const seen = new Set(pane.messages);
      const { ack } = await reports.send(fs.readFileSync(file));
      const shown = await pane.waitFor((m) => !seen.has(m) && ['layer-rep-pre', 'layer-rep-rec', 'layer-rep-rej'].includes(m.id), 20_000);
      return { ack: parseAck(ack), ackText: ack, to: shown.id.replace('layer-rep-', '') };
    }
    const documentStatus = (id: string) => withStore(storeFile, (db) => (db.prepare('SELECT status, ipp_key FROM document WHERE id = ?').get(id) as { status: string; ipp_key: string | null } | undefined) ?? null);

    it('volet 2.1, MDM: initial transmission, replacement, deletion — preselected on PAT-TROIS, archived, acknowledged as ack.er7; the placeholder example rejected (AE 102)', async () => {
      const dir = path.join(V21, 'MDM');
      const init = await example(path.join(dir, 'Transmission initiale MDM', 'message_MDM_CR_Radio_INIT_N1_Base64.er7'));
      assert.deepEqual([init.to, init.ack.code], ['pre', 'AA']);
      assert.deepEqual(documentStatus(RADIO_V1), { status: 'current', ipp_key: '000897406|000003' });
      const replace = await example(path.join(dir, 'Remplacement MDM', 'message_MDM_CR_Radio_RPLC_N1.er7'));
      assert.equal(replace.to, 'pre');
      sameAckAs(replace.ackText, path.join(dir, 'Remplacement MDM'));
      assert.equal(documentStatus(RADIO_V1)?.status, 'replaced');
      const del = await example(path.join(dir, 'Suppression MDM', 'message_MDM_CR_Radio_DEL_N1.er7'));
      assert.equal(del.to, 'pre');
      sameAckAs(del.ackText, path.join(dir, 'Suppression MDM'));
      assert.equal(documentStatus(RADIO_V2)?.status, 'cancelled');
      // broken example: OBX-5 carries the base64 of a sentence, not a CDA (test/nodes/cda-ans-examples.test.ts)
      const placeholder = await example(path.join(dir, 'Transmission initiale MDM', 'message_MDM_CR_Radio_INIT_N1.er7'));
      assert.deepEqual([placeholder.to, placeholder.ack.code], ['rej', 'AE']);
      assert.deepEqual(placeholder.ack.errors.map((e) => [e.code, e.location]), [['102', 'OBX^1^5^1^5']]);
    });

    it('volet 2.1, ORU: the initial transmission (CDA level 3) preselected AA; its replacement and deletion examples name a document never sent: rejected AE 207 / 906', async () => {
      const oru = path.join(V21, 'ORU');
      const init = await example(path.join(oru, 'Transmission initiale ORU', 'message_ORU_CR_Bio_INIT_N3_SEGUR.hl7'));
      assert.deepEqual([init.to, init.ack.code], ['pre', 'AA']);
      for (const [folder, file] of [
        ['Remplacement ORU', 'message_ORU_CR_Bio_RPLC_N3_SEGUR.hl7'],
        ['Suppression ORU', 'message_ORU_CR_Bio_DEL_N3_SEGUR.hl7'],
      ]) {
        const r = await example(path.join(oru, folder, file));
        assert.equal(r.to, 'rej', file);
        assert.deepEqual(r.ack.errors.map((e) => [e.code, e.application?.code]), [['207', '906']], file);
      }
      assert.equal(documentStatus('1.2.250.1.213.1.1.9')?.status, 'current', 'nothing replaced, nothing deleted');
    });

    it('a report about a patient the GAM never sent: kept to reconcile, archived, AE 207 / 902', async () => {
      // the ORU DEL example's CDA (another patient, NESSI) sent as a new document (ORC NW, OBX-11 F)
      const text = fs.readFileSync(path.join(V21, 'ORU', 'Suppression ORU', 'message_ORU_CR_Bio_DEL_N3_SEGUR.hl7'), 'latin1');
      const asNew = Buffer.from(text.replace(/^ORC\|CA\|/m, 'ORC|NW|').replace(/(OBX\|1\|ED\|[^\r\n]*)\|D\|/, '$1|F|'), 'latin1');
      const file = path.join(red.baseDir, 'oru-as-new.hl7');
      fs.writeFileSync(file, asNew);
      const r = await example(file);
      assert.equal(r.to, 'rec');
      assert.deepEqual([r.ack.code, r.ack.errors[0]?.code, r.ack.errors[0]?.application?.code], ['AE', '207', '902']);
      assert.deepEqual(documentStatus('1.2.250.1.213.1.1.12'), { status: 'current', ipp_key: null });
    });
  });

  describe('portability: GET /segur-dpi/portabilite/export behind ProSanté Connect', () => {
    const exportPath = '/segur-dpi/portabilite/export?ipp=100001&everything=true';

    it('without a session: an API client gets 401, a browser is sent to PSC', async () => {
      const api = await httpRequest(url(exportPath), { headers: { accept: 'application/json' } });
      assert.equal(api.status, 401);
      const b = new TestBrowser(pki.ca);
      const toPsc = await b.get(url(exportPath));
      assert.equal(toPsc.status, 302);
      assert.ok(toPsc.location!.startsWith(`${psc.issuer}/auth?`), toPsc.location);
      assert.equal(new URL(toPsc.location!).searchParams.get('client_id'), CLIENT_ID);
    });

    it('a doctor logs in at PSC and downloads the patient\'s export: a ZIP whose manifest lists the letter produced for her, checksums right; who exported is logged, the patient is not', async () => {
      const b = new TestBrowser(pki.ca);
      const toPsc = await b.get(url(exportPath));
      const form = await b.follow(toPsc.location!);
      const back = await b.request('POST', formAction(form.body, form.url)!, { form: { login: DOCTOR.id } });
      const toCallback = await b.follow(back.location!, (r) => !!r.location && r.location.startsWith(red.url));
      const callback = await b.get(toCallback.location!);
      assert.equal(callback.status, 302, callback.body);
      assert.equal(callback.location, url(exportPath), 'back to the export asked for');

      const res = await httpRequest(url(exportPath), { headers: { accept: 'application/zip', cookie: b.cookieHeader(url(exportPath)) } });
      assert.equal(res.status, 200, res.body.toString('utf8').slice(0, 300));
      assert.equal(res.headers['content-type'], 'application/zip');
      assert.match(String(res.headers['content-disposition']), /^attachment; filename="export-690000001-patient-\d{8}-\d{6}(-\d+)?\.zip"$/);
      assert.equal(res.headers['x-export-sha256'], sha256(res.body));
      const files = unzipAll(res.body);
      const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
      assert.deepEqual(manifest.documents.map((d: { documentId: string }) => d.documentId), [produced.ldl.id]);
      assert.equal(manifest.documents[0].ipp, '100001');
      for (const line of files.get('manifest.sha256')!.toString('utf8').trim().split('\n')) {
        const [sum, name] = line.split(/\s+/);
        assert.equal(sha256(files.get(name)!), sum, name);
      }
      const audit = await red.waitForOutput(/· EXPORT · [0-9a-f-]{36} by /, 10_000).then(() => red.output.split('\n').find((l) => l.includes('· EXPORT ·'))!);
      assert.match(audit, /by RPPS 810001234567 \(session\): 1 patient\(s\), 1 document\(s\)/);
      assert.doesNotMatch(audit, /100001/, 'the patient is not in the log');
    });

    it('a PSC access token (Authorization: Bearer) downloads too; an unknown patient is 404', async () => {
      const token = psc.issued.filter((t) => t.clientId === CLIENT_ID).at(-1)!.accessToken;
      const ok = await httpRequest(url(exportPath), { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['content-type'], 'application/zip');
      const unknown = await httpRequest(url('/segur-dpi/portabilite/export?ipp=424242'), { headers: { authorization: `Bearer ${token}` } });
      assert.equal(unknown.status, 404);
      assert.match(unknown.body.toString('utf8'), /^export refused: UNKNOWN_PATIENT/);
      assert.doesNotMatch(unknown.body.toString('utf8'), /424242/);
    });
  });

  describe('errors and status: for whoever is on call', () => {
    it('each error is one line in the log (when, function, node, code, what to do); GET /segur-dpi/status lists every node and the last errors — no patient data', async () => {
      const lines = red.output.split('\n').filter((l) => l.includes('[debug:3 a.m. summary]') && l.includes('· ERROR ·'));
      const unknownIpp = lines.find((l) => l.includes('UNKNOWN_IPP'));
      assert.ok(unknownIpp, lines.join('\n'));
      assert.match(unknownIpp, /· ERROR · Ségur DPI · 2 · Documents produced \(PDF → CDA → PFI\) · pdf-to-cda-n1 "PDF → CDA N1, archived" · UNKNOWN_IPP · .* → the IPP is not in the INS store/);
      assert.ok(lines.some((l) => l.includes('cda-ingest') && l.includes('NOT_XML')), 'a report refused');
      const page = await httpRequest(url('/segur-dpi/status'));
      assert.equal(page.status, 200);
      assert.match(String(page.headers['content-type']), /^text\/plain/);
      const text = page.body.toString('utf8');
      assert.match(text, /^Ségur DPI layer — /);
      assert.match(text, /mllp-in "GAM: ADT over MLLP" · green · listening/);
      assert.match(text, /Last errors \(newest first\):\n {2}\S+ · ERROR · /);
      for (const said of [text, ...lines]) assert.doesNotMatch(said, /PAT-TROIS|DOMINIQUE|MARTIN|BÉRANGER|279035121518989|1985-05-12/, 'no patient data');
    });
  });

  // last: the LPS volet's examples use the ids of the volet 2.1 MDM examples above, so they need a store
  // that has not seen those — the same Node-RED started again on an empty store
  describe('reports received, LPS volet 1.1 (the same document ids as volet 2.1): on an empty store', () => {
    before(async () => {
      await red.kill();
      for (const f of ['ins-store.db', 'ins-store.db-wal', 'ins-store.db-shm']) fs.rmSync(path.join(red.userDir, 'segur-dpi', f), { force: true });
      await red.startAgain();
      pane.close();
      pane = await DebugPane.open(red.port);
      const gam = new MllpClient({ host: '127.0.0.1', port: ports.gam, ackTimeoutMs: 10_000, maxRetries: 5, backoffBaseMs: 100 });
      try {
        assert.equal(parseAck((await gam.send(fs.readFileSync(path.join(EXAMPLES, 'SGL', 'admission.er7')))).ack).code, 'AA');
      } finally {
        await gam.close();
      }
      await reports.close();
      reports = new MllpClient({ host: '127.0.0.1', port: ports.reports, ackTimeoutMs: 30_000, maxRetries: 0 });
    });

    it('initial transmission, replacement, deletion — preselected, acknowledged as ack.er7; the placeholder example rejected', async () => {
      const files = fs.readdirSync(LPS, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.er7') && !f.endsWith('ack.er7'));
      const find = (folder: string, suffix: string) => path.join(LPS, files.find((f) => f.startsWith(folder) && f.endsWith(suffix))!);
      const send = async (file: string) => {
        const seen = new Set(pane.messages);
        const { ack } = await reports.send(fs.readFileSync(file));
        const shown = await pane.waitFor((m) => !seen.has(m) && m.id.startsWith('layer-rep-') && m.id !== 'layer-rep-ack', 20_000);
        return { ackText: ack, ack: parseAck(ack), to: shown.id.replace('layer-rep-', '') };
      };
      const init = await send(find('Transmission initiale MDM', 'INIT_N1_Base64.er7'));
      assert.equal(init.to, 'pre');
      sameAckAs(init.ackText, path.join(LPS, 'Transmission initiale MDM'));
      const replace = await send(find('Remplacement MDM', 'RPLC_N1.er7'));
      assert.equal(replace.to, 'pre');
      sameAckAs(replace.ackText, path.join(LPS, 'Remplacement MDM'));
      const del = await send(find('Suppression MDM', 'DEL_N1.er7'));
      assert.equal(del.to, 'pre');
      sameAckAs(del.ackText, path.join(LPS, 'Suppression MDM'));
      const placeholder = await send(find('Transmission initiale MDM', 'INIT_N1.er7'));
      assert.deepEqual([placeholder.to, placeholder.ack.code], ['rej', 'AE']);
      const statuses = withStore(storeFile, (db) => db.prepare('SELECT id, status FROM document ORDER BY id').all());
      assert.deepEqual(statuses, [
        { id: RADIO_V1, status: 'replaced' },
        { id: RADIO_V2, status: 'cancelled' },
      ]);
    });
  });
});

describe('e2e: npm start on a user dir of an earlier release (scripts/node-red.js without --flows)', function () {
  this.timeout(120_000);
  let dir = '';
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('adds the layer pack: the first packs\' tabs removed (flows saved aside), the user\'s tabs and global variables kept, the PSC secret in the credentials file; deployed without a warning', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-dpi-upgrade-'));
    const ports = await freeLayerPorts();
    const old: FlowNode[] = [
      { id: 'segur-identity-feed', type: 'tab', label: 'Ségur DPI · Identity feed (IHE PAM FR → INS)' },
      // it listened where the layer's identities tab listens now: kept, it would take the port
      { id: 'segur-idfeed-in', type: 'mllp-in', z: 'segur-identity-feed', name: '', port: ports.gam, host: '127.0.0.1', tls: '', maxSize: 10, maxSizeUnit: 'MiB', autoAck: true, wires: [[]] },
      { id: 'segur-ins-store', type: 'ins-store', name: 'INS store', engine: 'sqlite', file: '' },
      { id: 'mine', type: 'tab', label: 'my own flow' },
      { id: 'mine-inject', type: 'inject', z: 'mine', name: 'mine', props: [], repeat: '', once: false, wires: [] },
      { id: 'my-env', type: 'global-config', env: [{ name: 'SEGUR_ESTABLISHMENT_NAME', value: 'CHU Y (fictif)', type: 'str' }], modules: {} },
    ];
    fs.writeFileSync(path.join(dir, 'flows.json'), JSON.stringify(old));
    const port = await getFreePort();
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'node-red.js'), '--user-dir', dir, '--port', String(port)], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...layerEnv(ports), HOST: '127.0.0.1', NODE_RED_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    await new Promise<void>((resolve) => {
      const seen = (c: Buffer) => {
        output += c.toString('utf8');
        if (/· START · Ségur DPI layer/.test(output)) child.kill('SIGINT');
      };
      child.stdout.on('data', seen);
      child.stderr.on('data', seen);
      const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('exit', () => {
        clearTimeout(killer);
        resolve();
      });
    });
    assert.match(output, /the layer pack replaces the tab\(s\) "Ségur DPI · Identity feed \(IHE PAM FR → INS\)": removed \(flows saved in .*flows\.json\.before-layer-\d+\)/);
    assert.match(output, /deployed flow pack\(s\): segur-dpi-layer\.json/);
    assert.deepEqual(warnings(output), [], output);
    assert.match(output, /establishment CHU Y \(fictif\) \(FINESS 690000001/, 'the user dir\'s own value of a variable wins');
    const flows = JSON.parse(fs.readFileSync(path.join(dir, 'flows.json'), 'utf8')) as FlowNode[];
    const tabs = flows.filter((n) => n.type === 'tab').map((n) => n.id);
    assert.deepEqual(tabs, ['mine', 'layer-identities', 'layer-documents', 'layer-reports', 'layer-portability', 'layer-status']);
    assert.ok(flows.some((n) => n.id === 'mine-inject'));
    assert.equal(flows.filter((n) => n.type === 'global-config').length, 1, 'the pack\'s variables joined the user dir\'s');
    assert.equal(flows.filter((n) => n.type === 'ins-store').length, 1, 'the same store as before');
    assert.ok(!flows.some((n) => 'credentials' in n));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'flows_cred.json'), 'utf8')), { 'layer-psc': { clientSecret: '${SEGUR_PSC_CLIENT_SECRET}' } });
    assert.ok(fs.readdirSync(dir).some((f) => f.startsWith('flows.json.before-layer-')));
  });
});
