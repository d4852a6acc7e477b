// Every ANS example message of the two transport volets through cda-ingest, on a store that holds the
// identity of the ANS admission (hl7v2-exemples/SGL/admission.er7: PAT-TROIS DOMINIQUE, test INS
// 279035121518989, PID-32 VALI) fed through adt-to-ins:
// - "Transmission de documents CDA en HL7 v2" 2.1 (Vague 2/Trans_Doc-CDA-HL7V2/…_V2.1: MDM and ORU,
//   initial transmission, replacement, deletion);
// - "Transmission au LPS d'un document CDA provenant d'un courriel MSSanté" 1.1
//   (Vague 2/Trans_LPS_CDA_MSSanté/…_V1.1: MDM, the same three events).
// New, replace and delete are read as such; the documents are preselected on the qualified INS; the
// acknowledgements carry the MSA code of the volets' ack.er7. The examples that are themselves broken
// are listed below with the reason, and what the node does with them is asserted all the same.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import adtToIns = require('../../nodes/adt-to-ins/adt-to-ins');
import cdaIngest = require('../../nodes/cda-ingest/cda-ingest');
import insStore = require('../../nodes/ins-store/ins-store');
import { parseAck, parseHl7 } from '../../lib/hl7';
import type { IdentityStore } from '../../lib/store';
import { until, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['ins-store', 'adt-to-ins', 'cda-ingest'], [insStore, adtToIns, cdaIngest]);

const EXAMPLES = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'specs', 'hl7v2-exemples');
const V21 = path.join(EXAMPLES, 'Vague 2', 'Trans_Doc-CDA-HL7V2', 'TRANSMISSION_DOCS_CDA_EN_HL7V2_V2.1');
const LPS = path.join(EXAMPLES, 'Vague 2', 'Trans_LPS_CDA_MSSanté', 'TRANSMISSION_LPS_DOC_CDA_COURRIEL_FROM_MSSANTE_V1.1');

/** The CDA documents' ids in the examples (the MDM ones have no extension). */
const RADIO_V1 = '1.2.250.1.71.4.2.2.120456789.71024000081';
const RADIO_V2 = '1.2.250.1.71.4.2.2.120456789.71024000082';

/**
 * The ANS examples that are broken themselves, and why (what the node does with each is asserted).
 * MDM INIT_N1 (both volets): OBX-5 carries the base64 of the words "Document medcial au format CDA niveau 1"
 * instead of a CDA (the _Base64 variant carries the document). ORU RPLC: its CDA replaces
 * (relatedDocument/parentDocument/id) 1.2.250.1.213.1.1.12, a document never sent — the ORU INIT sent
 * 1.2.250.1.213.1.1.9 (the same setId). ORU DEL: it carries the CDA of another patient (INS-NIR
 * 277076322082910 under the production OID, NESSI) and of another organisation, with the id .12 again,
 * while PID-3 names PAT-TROIS's test INS.
 */
const BROKEN = {
  placeholder: 'OBX-5 carries the base64 of a sentence, not a CDA document',
  oruReplace: 'the replaced document (.12) was never sent: the ORU INIT sent .9',
  oruDelete: "the CDA is another patient's (and PID-3 names PAT-TROIS), its id .12 was never sent",
};

function flow(file: string): Msg[] {
  return [
    { id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file },
    { id: 'adt', type: 'adt-to-ins', name: '', store: 'st', wires: [['out'], ['ack']] },
    { id: 'ing', type: 'cda-ingest', name: '', store: 'st', maxSize: 50, archive: true, acceptLevel3: true, reconcileAck: 'AE', wires: [['pre'], ['rec'], ['rej'], ['ack2']] },
    ...['out', 'ack', 'pre', 'rec', 'rej', 'ack2'].map((id) => ({ id, type: 'helper' })),
  ];
}

interface Routed {
  port: 'pre' | 'rec' | 'rej';
  msg: Msg;
  ack: ReturnType<typeof parseAck>;
  ackText: string;
}

class Layer {
  readonly got: Record<string, Msg[]> = { out: [], ack: [], pre: [], rec: [], rej: [], ack2: [] };
  constructor() {
    for (const id of Object.keys(this.got)) helper.getNode(id).on('input', (m: Msg) => this.got[id].push(m));
  }

  async adt(file: string): Promise<ReturnType<typeof parseAck>> {
    const a = this.got.ack.length;
    helper.getNode('adt').receive({ payload: fs.readFileSync(path.join(EXAMPLES, file)) });
    await until(() => this.got.ack.length > a, 'the ACK');
    return parseAck(this.got.ack[a].payload);
  }

  /** An example message, as bytes (as mllp in gives it), to cda-ingest: where it went, and its ACK. */
  async example(file: string): Promise<Routed> {
    const before = { pre: this.got.pre.length, rec: this.got.rec.length, rej: this.got.rej.length, ack2: this.got.ack2.length };
    helper.getNode('ing').receive({ payload: fs.readFileSync(file), mllp: { connectionId: 'pfi' } });
    const routed = () => (['pre', 'rec', 'rej'] as const).find((p) => this.got[p].length > before[p]);
    await until(() => routed() !== undefined && this.got.ack2.length > before.ack2, `${path.basename(file)} routed and acknowledged`);
    const port = routed() as Routed['port'];
    const ackText = this.got.ack2[before.ack2].payload as string;
    return { port, msg: this.got[port][before[port]], ack: parseAck(ackText), ackText };
  }

  get store(): IdentityStore {
    return helper.getNode('st').store as IdentityStore;
  }
}

/** The example ACK of a folder (ack.er7), read. */
function exampleAck(dir: string): { code: string; type: string; country: string; version: string } {
  const ack = parseHl7(fs.readFileSync(path.join(dir, 'ack.er7')));
  const msh = ack.segments[0];
  return { code: ack.segment('MSA')!.value(1), type: msh.raw(9), country: msh.value(17), version: msh.value(12) };
}

/** Our ACK compared with the example's: MSA-1, MSH-9, MSH-17 FRA, MSH-12. */
function sameAckAs(r: Routed, dir: string): void {
  const want = exampleAck(dir);
  const ours = parseHl7(r.ackText);
  assert.equal(r.ack.code, want.code, `MSA-1 as in ${path.basename(dir)}/ack.er7: ${JSON.stringify(r.ack)}`);
  assert.equal(ours.segments[0].raw(9), want.type);
  assert.equal(ours.segments[0].value(17), want.country);
  assert.equal(ours.segments[0].value(12), want.version);
}

describe('the ANS example messages of the transport volets through cda-ingest (hl7v2-exemples, Vague 2)', function () {
  this.timeout(120_000);
  let tmp: string;
  let n = 0;
  let layer: Layer;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cda-ans-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  beforeEach(async () => {
    await new Promise<void>((resolve) => helper.startServer(resolve));
    await helper.load(NODES, flow(path.join(tmp, `store-${++n}.db`)));
    layer = new Layer();
    const admission = await layer.adt('SGL/admission.er7');
    assert.equal(admission.code, 'AA', JSON.stringify(admission));
    assert.equal((await layer.store.byIns('279035121518989', { qualifiedOnly: true })).length, 1, 'PAT-TROIS qualified with the test INS');
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  /** A document preselected on the qualified identity of the admission (IPP 000003). */
  function preselected(r: Routed, action: string): void {
    assert.equal(r.port, 'pre', JSON.stringify(r.msg.match ?? r.msg.error));
    assert.equal(r.msg.match.method, 'INS');
    assert.equal(r.msg.match.ipp.id, '000003');
    assert.equal(r.msg.cda.action, action);
    assert.equal(r.msg.cda.transport.action, action);
  }

  for (const [volet, dir, profile] of [
    ['volet 2.1 (MDM)', path.join(V21, 'MDM'), '2.1^CISIS_CDA_HL7_V2'],
    ['LPS volet 1.1 (MDM)', LPS, '1.1^CISIS_CDA_HL7_LPS'],
  ] as const) {
    it(`${volet}: initial transmission, replacement, deletion — preselected, archived, acknowledged as ack.er7`, async () => {
      const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.er7') && !f.endsWith('ack.er7'));
      const find = (folder: string, suffix: string) => path.join(dir, files.find((f) => f.startsWith(folder) && f.endsWith(suffix)) as string);

      const init = await layer.example(find('Transmission initiale MDM', 'INIT_N1_Base64.er7'));
      preselected(init, 'new');
      assert.equal(init.ack.code, 'AA');
      assert.equal(init.msg.cda.transport.profile, profile);
      assert.equal(init.msg.cda.id, RADIO_V1);
      assert.equal(init.msg.cda.archive, 'archived');
      if (profile.includes('LPS')) {
        assert.equal(init.msg.cda.transport.mail.body, 'Corps du courriel', 'the MSSanté mail the document came in (LPS volet)');
        assert.deepEqual(init.msg.cda.transport.participants.map((p: Msg) => p.role), ['SB', 'RCT', 'REPLY']);
      } else {
        assert.equal(init.msg.cda.transport.sharing.mailBodyProfessional, 'Cher confrère, vous trouverez ci-joint le CR d’imagerie de M.Dupont');
        assert.equal(init.msg.cda.transport.sharing.invisibleToPatient, true);
      }
      if (fs.existsSync(path.join(path.dirname(find('Transmission initiale MDM', 'INIT_N1_Base64.er7')), 'ack.er7'))) sameAckAs(init, path.dirname(find('Transmission initiale MDM', 'INIT_N1_Base64.er7')));

      const replace = await layer.example(find('Remplacement MDM', 'RPLC_N1.er7'));
      preselected(replace, 'replace');
      sameAckAs(replace, path.join(dir, 'Remplacement MDM'));
      assert.equal(replace.msg.cda.transport.sharing.confidentialityChange, true, 'MODIF_CONF_CODE Y');
      assert.deepEqual(replace.msg.cda.target, { id: RADIO_V1, status: 'replaced' });
      assert.equal((await layer.store.getDocument(RADIO_V1))?.status, 'replaced');
      assert.equal((await layer.store.getDocument(RADIO_V2))?.replaces, RADIO_V1);

      const del = await layer.example(find('Suppression MDM', 'DEL_N1.er7'));
      preselected(del, 'delete');
      sameAckAs(del, path.join(dir, 'Suppression MDM'));
      assert.equal(del.msg.cda.archive, 'deleted');
      assert.deepEqual(del.msg.cda.target, { id: RADIO_V2, status: 'cancelled' });
      assert.equal((await layer.store.getDocument(RADIO_V2))?.status, 'cancelled');

      // broken: the placeholder instead of a CDA (BROKEN.placeholder) — refused, AE 102 at the data
      const placeholder = await layer.example(find('Transmission initiale MDM', 'INIT_N1.er7'));
      assert.equal(placeholder.port, 'rej', BROKEN.placeholder);
      assert.equal(placeholder.msg.error.code, 'NOT_XML');
      assert.equal(placeholder.ack.code, 'AE');
      assert.deepEqual(placeholder.ack.errors.map((e) => [e.code, e.location]), [['102', 'OBX^1^5^1^5']]);
    });
  }

  it('volet 2.1 (ORU): initial transmission read and preselected; the replacement and deletion examples name documents never sent (listed broken)', async () => {
    const oru = path.join(V21, 'ORU');
    const init = await layer.example(path.join(oru, 'Transmission initiale ORU', 'message_ORU_CR_Bio_INIT_N3_SEGUR.hl7'));
    preselected(init, 'new');
    assert.equal(init.ack.code, 'AA');
    assert.equal(init.msg.cda.level, 3);
    assert.equal(init.msg.cda.id, '1.2.250.1.213.1.1.9');
    assert.equal(init.msg.cda.transport.sharing.ackReading, true);
    assert.deepEqual(init.msg.cda.transport.participants.map((p: Msg) => p.role), ['SB', 'RCT', 'RCT', 'REPLY']);
    assert.ok(init.msg.cda.warnings.some((w: string) => /CORPSMAIL_PS.*not readable base64/.test(w)), 'the mail body cut past a group of four: ignored with a warning');

    // BROKEN.oruReplace: read as a replacement (OBX-11 C, ORC RO), refused 906: the document it names is unknown
    const replace = await layer.example(path.join(oru, 'Remplacement ORU', 'message_ORU_CR_Bio_RPLC_N3_SEGUR.hl7'));
    assert.equal(replace.port, 'rej', BROKEN.oruReplace);
    assert.equal(replace.msg.cda.action, 'replace');
    assert.equal(replace.msg.error.code, 'UNKNOWN_DOCUMENT');
    assert.equal(replace.ack.code, 'AE');
    assert.deepEqual(replace.ack.errors.map((e) => [e.code, e.application?.code]), [['207', '906']]);
    assert.equal((await layer.store.getDocument('1.2.250.1.213.1.1.9'))?.status, 'current', 'nothing replaced');

    // BROKEN.oruDelete: read as a deletion (OBX-11 D, ORC CA), refused 906 for the same reason
    const del = await layer.example(path.join(oru, 'Suppression ORU', 'message_ORU_CR_Bio_DEL_N3_SEGUR.hl7'));
    assert.equal(del.port, 'rej', BROKEN.oruDelete);
    assert.equal(del.msg.cda.action, 'delete');
    assert.equal(del.msg.error.code, 'UNKNOWN_DOCUMENT');
    assert.deepEqual(del.ack.errors.map((e) => [e.code, e.application?.code]), [['207', '906']]);
  });

  it('volet 2.1 (ORU): on an archive holding the document .12 the examples name, the replacement is refused 900 (not a later version of it) and the deletion goes through', async () => {
    // the replaced .12 first (the DEL example's CDA, sent as new): it is another patient's, kept for reconciliation
    const oru = path.join(V21, 'ORU');
    const delText = fs.readFileSync(path.join(oru, 'Suppression ORU', 'message_ORU_CR_Bio_DEL_N3_SEGUR.hl7'), 'latin1');
    const asNew = Buffer.from(delText.replace(/^ORC\|CA\|/m, 'ORC|NW|').replace(/(OBX\|1\|ED\|[^\r\n]*)\|D\|/, '$1|F|'), 'latin1');
    const file = path.join(tmp, 'oru-12-as-new.hl7');
    fs.writeFileSync(file, asNew);
    const first = await layer.example(file);
    assert.equal(first.port, 'rec', 'NESSI is unknown here');
    assert.equal(first.msg.match.method, 'unknown-patient');
    assert.equal(first.ack.code, 'AE');
    assert.equal(first.ack.errors[0].application?.code, '902');
    assert.equal(first.msg.cda.archive, 'archived');

    // then the ORU RPLC example: .13 (setId .9, version 2) replaces .12 (setId .10, version 2): not a later
    // version of it — 900 (and .12 was authored by another organisation, 1120459877, than .13, 1120459876)
    const replace = await layer.example(path.join(oru, 'Remplacement ORU', 'message_ORU_CR_Bio_RPLC_N3_SEGUR.hl7'));
    assert.equal(replace.port, 'rej');
    assert.equal(replace.msg.error.code, 'NOT_LATEST_VERSION');
    assert.deepEqual(replace.ack.errors.map((e) => [e.code, e.application?.code]), [['207', '900']]);

    // and the ORU DEL example deletes .12, asked by its own author: done
    const del = await layer.example(path.join(oru, 'Suppression ORU', 'message_ORU_CR_Bio_DEL_N3_SEGUR.hl7'));
    assert.equal(del.msg.cda.action, 'delete');
    assert.equal(del.msg.cda.archive, 'deleted');
    assert.equal((await layer.store.getDocument('1.2.250.1.213.1.1.12'))?.status, 'cancelled');
    assert.equal(del.port, 'rec', 'still an unknown patient: acknowledged AE 902, kept for identity vigilance');
    assert.equal(del.ack.errors[0].application?.code, '902');
  });

  /**
   * The CDA documents the examples give as files beside their messages (and the RIS folder's), sent bare — cda-ingest
   * takes a CDA R2 document as well as the HL7 v2 message carrying it. In each folder's order: the initial document is
   * preselected on PAT-TROIS's qualified identity (the INS of the admission) and archived; the replacement (its
   * relatedDocument) replaces it; the Suppression folder's document is the version to delete — sent bare it says no
   * deletion (only MDM^T04 / OBX-11 D do), so it is the same document again: nothing archived twice.
   */
  const BARE_SETS: [string, string][] = [
    ['Vague 2/RIS (CR imagerie)', path.join(EXAMPLES, 'Vague 2', 'RIS')],
    ['volet 2.1, MDM (CR imagerie)', path.join(V21, 'MDM')],
    ['LPS volet 1.1, MDM (CR imagerie)', LPS],
    ['volet 2.1, ORU (CR biologie, level 3)', path.join(V21, 'ORU')],
  ];
  for (const [name, dir] of BARE_SETS) {
    it(`the bare CDA documents of ${name}: initial preselected and archived, replacement replaces it, the deletion's document a duplicate`, async () => {
      const xml = (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => /\.xml$/i.test(f));
      const find = (words: RegExp) => path.join(dir, xml.find((f) => words.test(f)) as string);
      const files = [find(/^transmission[ _]initiale/i), find(/^remplacement/i), find(/^suppression/i)];
      const sent: Msg[] = [];
      for (const file of files) {
        const before = { pre: layer.got.pre.length, rec: layer.got.rec.length, rej: layer.got.rej.length };
        helper.getNode('ing').receive({ payload: fs.readFileSync(file) });
        await until(() => (['pre', 'rec', 'rej'] as const).some((p) => layer.got[p].length > before[p]), path.basename(file));
        assert.equal(layer.got.pre.length, before.pre + 1, `${path.basename(file)} preselected: ${JSON.stringify(layer.got.rej[before.rej]?.error ?? layer.got.rec[before.rec]?.match)}`);
        sent.push(layer.got.pre[before.pre]);
      }
      const [init, replace, again] = sent;
      for (const m of sent) {
        assert.equal(m.match.method, 'INS');
        assert.equal(m.match.ipp.id, '000003');
      }
      assert.equal(init.cda.action, 'new');
      assert.equal(replace.cda.action, 'replace');
      assert.deepEqual([init.cda.version, replace.cda.version], [1, 2]);
      assert.equal(again.cda.id, replace.cda.id, 'the Suppression folder holds the version to delete');
      assert.equal((await layer.store.getDocument(init.cda.id))?.status, 'replaced');
      assert.equal((await layer.store.getDocument(replace.cda.id))?.status, 'current');
      assert.equal(await layer.store.countDocuments({ ipps: ['000003'], allVersions: true }), 2, 'two versions archived, the third sending none');
    });
  }
});
