// IHE PAM FR 2.11.1 through the nodes, on a real store: the ANS example messages, the INS life cycle
// of §4.4 and the name types of §6.6.2 — and, after each step, what cda-ingest makes of a document of
// that patient: preselected exactly when the identity is qualified with that INS at that moment.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import adtToIns = require('../../nodes/adt-to-ins/adt-to-ins');
import cdaIngest = require('../../nodes/cda-ingest/cda-ingest');
import insStore = require('../../nodes/ins-store/ins-store');
import { buildCdaN1 } from '../../lib/cda';
import { parseAck } from '../../lib/hl7';
import type { PatientIdentity } from '../../lib/ins';
import type { IdentityStore } from '../../lib/store';
import { withKey } from '../fixtures/adt';
import { documentInput, settings } from '../fixtures/cda';
import { receivedDocument, senderPatient } from '../fixtures/cda-received';
import { textPdf } from '../fixtures/pdf';
import { until, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['ins-store', 'adt-to-ins', 'cda-ingest'], [insStore, adtToIns, cdaIngest]);

/** ../shared/specs/hl7v2-exemples: the ANS example messages. */
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

const NIR = '1.2.250.1.213.1.4.8';
const NIA = '1.2.250.1.213.1.4.9';
const NIR_TEST = '1.2.250.1.213.1.4.10';

function flow(file: string): Msg[] {
  return [
    { id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file },
    { id: 'adt', type: 'adt-to-ins', name: '', store: 'st', wires: [['out'], ['ack']] },
    { id: 'ing', type: 'cda-ingest', name: '', store: 'st', maxSize: 50, archive: false, acceptLevel3: true, wires: [['pre'], ['rec'], ['rej'], ['ack2']] },
    ...['out', 'ack', 'pre', 'rec', 'rej', 'ack2'].map((id) => ({ id, type: 'helper' })),
  ];
}

class Layer {
  readonly got: Record<string, Msg[]> = { out: [], ack: [], pre: [], rec: [], rej: [] };
  constructor() {
    for (const id of Object.keys(this.got)) helper.getNode(id).on('input', (m: Msg) => this.got[id].push(m));
  }

  /** Sends an ADT message to adt-to-ins: its ACK read back, and its output 1 when it gave one. */
  async adt(payload: string | Buffer): Promise<{ ack: ReturnType<typeof parseAck>; out?: Msg }> {
    const [a, o] = [this.got.ack.length, this.got.out.length];
    helper.getNode('adt').receive({ payload });
    await until(() => this.got.ack.length > a, 'the ACK');
    return { ack: parseAck(this.got.ack[a].payload), out: this.got.out[o] };
  }

  /** Sends a received document to cda-ingest: where it went and msg.match. */
  async document(xml: string): Promise<{ port: string; match: Msg }> {
    const before = { pre: this.got.pre.length, rec: this.got.rec.length, rej: this.got.rej.length };
    helper.getNode('ing').receive({ payload: xml });
    const routed = () => (['pre', 'rec', 'rej'] as const).find((p) => this.got[p].length > before[p]);
    await until(() => routed() !== undefined, 'the document routed');
    const port = routed() as 'pre' | 'rec' | 'rej';
    return { port, match: this.got[port][before[port]].match };
  }

  get store(): IdentityStore {
    return helper.getNode('st').store as IdentityStore;
  }
}

describe('IHE PAM FR 2.11.1 through adt-to-ins and cda-ingest, on a real store', function () {
  this.timeout(30_000);
  let tmp: string;
  let n = 0;
  let pdf: Buffer;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pam-fr-'));
    pdf = await textPdf();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  async function start(): Promise<Layer> {
    await helper.load(NODES, flow(path.join(tmp, `pam-${++n}.db`)));
    return new Layer();
  }

  /** A CR-BIO received from a laboratory about this patient, carrying this INS. */
  async function documentFor(p: Partial<PatientIdentity>, ins: { value: string; oid: string }): Promise<string> {
    const patient = senderPatient({ ...p, ins: { ...ins, kind: ins.oid === NIA ? 'NIA' : 'NIR', environment: ins.oid === NIR_TEST ? 'test' : 'production', validFrom: null } });
    return (await receivedDocument('CR-BIO', pdf, patient)).xml;
  }

  describe('the ANS example messages (hl7v2-exemples: SGL/, Vague 2/Consentement_DMP_PAMFR/)', () => {
    /** PAT-TROIS DOMINIQUE of the ANS templates: their INS is a test INS-NIR (OID .10), sent with VALI. */
    const PAT_TROIS = { birthName: 'PAT-TROIS', firstName: 'DOMINIQUE', firstNames: 'DOMINIQUE', birthDate: '1979-03-28', sex: 'F' as const, birthPlace: '63220', usedName: '', usedFirstName: '' };
    const PAT_TROIS_INS = { value: '279035121518989', oid: NIR_TEST };

    for (const file of ADT_EXAMPLES) {
      it(`${file}: AA, a qualified identity with its INS (PID-32 VALI), and a report about her is preselected`, async () => {
        const layer = await start();
        const r = await layer.adt(fs.readFileSync(path.join(EXAMPLES, file)));
        assert.equal(r.ack.code, 'AA', JSON.stringify(r.ack));
        assert.deepEqual(r.ack.errors, [], 'no error nor warning');
        const p = r.out?.patient as PatientIdentity;
        assert.deepEqual(p.ipp, { id: '000003', authority: 'CHU-X', oid: '000897406' });
        assert.equal(p.status, 'VALI');
        assert.equal(p.qualified, true);
        assert.deepEqual(p.ins && { value: p.ins.value, oid: p.ins.oid, validFrom: p.ins.validFrom }, { ...PAT_TROIS_INS, validFrom: '2010-12-07' });
        assert.equal(p.birthName, 'PAT-TROIS');
        assert.equal(p.birthPlace, '63220');
        if (file.includes('Consentement')) {
          // ZFD|||Y|N|INSI|20211201|| (PAM FR §6.18)
          assert.deepEqual(p.verification, { birthDateCorrected: false, method: 'INSI', insiQueriedAt: '2021-12-01', document: '', documentValidUntil: null });
        } else {
          assert.equal(p.verification, null, 'no ZFD segment');
        }
        const stored = await layer.store.byIns('279035121518989');
        assert.equal(stored.length, 1);
        const doc = await layer.document(await documentFor(PAT_TROIS, PAT_TROIS_INS));
        assert.equal(doc.port, 'pre', JSON.stringify(doc.match));
        assert.equal(doc.match.method, 'INS');
        assert.equal(doc.match.ipp.id, '000003');
      });
    }

    it('all of them into one store: admission.er7 and ConsentementConsultation… reuse control id 3975 for two different messages — the second is AE 207', async () => {
      const layer = await start();
      const codes: Record<string, string> = {};
      for (const file of ADT_EXAMPLES) {
        const r = await layer.adt(fs.readFileSync(path.join(EXAMPLES, file)));
        codes[path.basename(file)] = r.ack.code;
        if (r.ack.code === 'AE') {
          assert.deepEqual(r.ack.errors.map((e) => [e.code, e.location]), [['207', 'MSH^1^10']]);
          assert.match(r.ack.text, /already used for another message/);
        }
      }
      assert.deepEqual(codes, {
        'admission.er7': 'AA',
        'sortie.er7': 'AA',
        'ConsentementConsultation_NonOppositionAlimentation.er7': 'AE',
        'NonConsentementConsultation_NonOppositionAlimentation.er7': 'AA',
        'NonConsentementConsultation_OppositionAlimentation.er7': 'AA',
        'NonRecueillieConsentementConsultation_NonOppositionAlimentation.er7': 'AA',
        'NonRecueillieConsentementConsultation_NonRecueillieOppositionAlimentation.er7': 'AA',
      });
      assert.deepEqual(await layer.store.stats(), { identities: 1, qualified: 1, merged: 0, messages: 6, documents: 0 });
    });
  });

  describe('§4.4: the INS life cycle (the text\'s examples, rebuilt with valid keys, distinct control ids and increasing times)', () => {
    // PAM FR's examples reuse one MSH-10 and one time for every message, and their INS-NIA (…244) and the
    // new INS-NIR of §4.4.2 (the same 13 digits as the NIR, key 44) fail the key check: rebuilt here.
    const IPP = '1900068^^^&350000121&M^PI';
    const OLD_NIR = '260058815400233'; // valid as printed
    const NEW_NIR = withKey('2600588154003');
    const NIA_VALUE = withKey('2600588154901');
    const JEANNE = { birthName: 'DARK', firstName: 'JEANNE', firstNames: 'JEANNE MARIE CECILE', birthDate: '1960-05-30', sex: 'F' as const, birthPlace: '88154', usedName: '', usedFirstName: '' };
    const nir = (v: string) => `${v}^^^ASIP-SANTE-INS-NIR&${NIR}&ISO^INS`;
    let seq = 0;
    function message(event: 'A31' | 'A47', ids: string[], status: string, mrg?: string): string {
      const t = `202103${18 + seq}151910`;
      const id = `PAMFR-${++seq}`;
      const structure = event === 'A31' ? 'ADT_A05' : 'ADT_A30';
      return [
        `MSH|^~\\&|Gazelle|PAM_FR|PatientManager|PAM_FR|${t}||ADT^${event}^${structure}|${id}|P|2.5^FRA^2.10||||||UNICODE UTF-8`,
        `EVN||${t}`,
        `PID|1||${ids.join('~')}||^MARIE-CECILE^^^^^D~DARK^JEANNE^JEANNE MARIE CECILE^^Mme^^L||19600530|F|||^^^^^FRA^BDL^^88154|||||S|||||||||1|||||N||${status}`,
        ...(mrg ? [`MRG|${mrg}`] : []),
        '',
      ].join('\r');
    }
    const key = '350000121|1900068';

    it('§4.4.1 A31 with the INS-NIA and the INS-NIR: the NIR is kept; a report with it is preselected, one with the NIA is not', async () => {
      const layer = await start();
      const r = await layer.adt(message('A31', [IPP, `${NIA_VALUE}^^^ASIP-SANTE-INS-NIA&${NIA}&ISO^INS`, nir(OLD_NIR)], 'VALI'));
      assert.equal(r.ack.code, 'AA', JSON.stringify(r.ack));
      assert.deepEqual(r.ack.errors, []);
      assert.equal(r.out?.patient.ins.value, OLD_NIR);
      assert.equal(r.out?.patient.ins.oid, NIR);
      assert.equal(r.out?.patient.usedFirstName, 'MARIE-CECILE');
      assert.equal((await layer.document(await documentFor(JEANNE, { value: OLD_NIR, oid: NIR }))).port, 'pre');
      const viaNia = await layer.document(await documentFor(JEANNE, { value: NIA_VALUE, oid: NIA }));
      assert.equal(viaNia.port, 'rec');
      assert.equal(viaNia.match.method, 'unknown-patient');
    });

    it('§4.4.2 A47, the former INS-NIR in MRG-1 and the new one in PID-3: the identity carries the new one, the old stays in the history', async () => {
      const layer = await start();
      assert.equal((await layer.adt(message('A31', [IPP, nir(OLD_NIR)], 'VALI'))).ack.code, 'AA');
      const r = await layer.adt(message('A47', [IPP, nir(NEW_NIR)], 'VALI', nir(OLD_NIR)));
      assert.equal(r.ack.code, 'AA', JSON.stringify(r.ack));
      assert.deepEqual(r.ack.errors, []);
      assert.equal(r.out?.hl7.action, 'change-ins');
      const stored = await layer.store.byIpp('1900068', '350000121');
      assert.equal(stored?.patient.ins?.value, NEW_NIR);
      assert.equal(stored?.patient.qualified, true);
      assert.deepEqual(await layer.store.byIns(OLD_NIR, { qualifiedOnly: false }), []);
      const history = await layer.store.history(key);
      assert.deepEqual(history.map((h) => [h.event, h.patient?.ins?.value]), [['A31', OLD_NIR], ['A47', NEW_NIR]]);
      assert.equal((await layer.document(await documentFor(JEANNE, { value: NEW_NIR, oid: NIR }))).port, 'pre');
      assert.equal((await layer.document(await documentFor(JEANNE, { value: OLD_NIR, oid: NIR }))).port, 'rec');
    });

    it('§4.4.3 A47, the INS in MRG-1 and "" under the INS OID in PID-3: every INS of the patient removed; a report with it is no longer preselected', async () => {
      const layer = await start();
      await layer.adt(message('A31', [IPP, `${NIA_VALUE}^^^ASIP-SANTE-INS-NIA&${NIA}&ISO^INS`, nir(OLD_NIR)], 'VALI'));
      const doc = await documentFor(JEANNE, { value: OLD_NIR, oid: NIR });
      assert.equal((await layer.document(doc)).port, 'pre', 'before: preselected');
      const r = await layer.adt(message('A47', [IPP, `""^^^ASIP-SANTE-INS-NIR&${NIR}&ISO^INS`], 'VALI', nir(OLD_NIR)));
      assert.equal(r.ack.code, 'AA', JSON.stringify(r.ack));
      assert.deepEqual(r.ack.errors, []);
      const stored = await layer.store.byIpp('1900068', '350000121');
      assert.equal(stored?.patient.ins, null);
      assert.equal(stored?.patient.qualified, false);
      assert.equal(stored?.patient.status, 'VALI', '"la suppression d\'un INS ne déclenche pas automatiquement le changement du statut"');
      assert.deepEqual(await layer.store.byIns(OLD_NIR, { qualifiedOnly: false }), []);
      assert.deepEqual(await layer.store.byIns(NIA_VALUE, { qualifiedOnly: false }), []);
      const after = await layer.document(doc);
      assert.equal(after.port, 'rec', 'after: never preselected');
      assert.equal(after.match.method, 'unknown-patient');
    });

    it('§4.4.4 A47 demoting to PROV: INS removed, not qualified, no report preselected; re-qualified by a later A31 VALI', async () => {
      const layer = await start();
      await layer.adt(message('A31', [IPP, nir(OLD_NIR)], 'VALI'));
      const doc = await documentFor(JEANNE, { value: OLD_NIR, oid: NIR });
      assert.equal((await layer.document(doc)).port, 'pre');
      const r = await layer.adt(message('A47', [IPP, `""^^^ASIP-SANTE-INS-NIR&${NIR}&ISO^INS`], 'PROV', nir(OLD_NIR)));
      assert.equal(r.ack.code, 'AA', JSON.stringify(r.ack));
      const stored = await layer.store.byIpp('1900068', '350000121');
      assert.equal(stored?.patient.status, 'PROV');
      assert.equal(stored?.patient.ins, null);
      assert.equal((await layer.document(doc)).port, 'rec');
      // the identity qualified again (the GAM checked it): preselected again
      assert.equal((await layer.adt(message('A31', [IPP, nir(OLD_NIR)], 'VALI'))).ack.code, 'AA');
      assert.equal((await layer.document(doc)).port, 'pre');
    });

    it('§4.4.3 when no identity here holds the INS of MRG-1: the PID identity recorded as sent, a warning 204', async () => {
      const layer = await start();
      const r = await layer.adt(message('A47', [IPP, `""^^^ASIP-SANTE-INS-NIR&${NIR}&ISO^INS`], 'PROV', nir(OLD_NIR)));
      assert.equal(r.ack.code, 'AA');
      assert.deepEqual(r.ack.errors.map((e) => [e.code, e.location, e.severity]), [['204', 'MRG^1^1', 'W']]);
      assert.equal((await layer.store.byIpp('1900068', '350000121'))?.patient.status, 'PROV');
    });

    it('§4.4.2 refused when the INS of MRG-1 is held here by another IPP (AE 207): identity vigilance decides', async () => {
      const layer = await start();
      await layer.adt(message('A31', ['7777^^^&350000121&M^PI', nir(OLD_NIR)], 'VALI'));
      const r = await layer.adt(message('A47', [IPP, nir(NEW_NIR)], 'VALI', nir(OLD_NIR)));
      assert.equal(r.ack.code, 'AE');
      assert.deepEqual(r.ack.errors.map((e) => [e.code, e.location]), [['207', 'MRG^1^1']]);
      assert.equal((await layer.store.byIpp('7777', '350000121'))?.patient.ins?.value, OLD_NIR, 'nothing changed');
      assert.equal(await layer.store.byIpp('1900068', '350000121'), null);
    });
  });

  describe('§6.6.2: the name types and the HL7 null', () => {
    const ids = `424242^^^CHU-X&1.2.250.1.999.1.1&ISO^PI~${withKey('2750169123456')}^^^ASIP-SANTE-INS-NIR&${NIR}&ISO^INS`;
    let seq = 0;
    const a31 = (names: string, extra = '') =>
      [
        `MSH|^~\\&|GAM|CHU-X|DPI|CHU-X|202611${10 + ++seq}101500+0100||ADT^A31^ADT_A05|N${seq}|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8`,
        `EVN||202611${10 + seq}101500+0100`,
        `PID|1||${ids}||${names}||19750112|F|||^^^^^^BDL^^69123${extra}|||||||||||||||||||||VALI`,
        '',
      ].join('\r');

    it('"" in the name typed D removes the used name (divorce): never a name, never written into a CDA', async () => {
      const layer = await start();
      const married = await layer.adt(a31('DE GUERMANTES^Orianne^^^^^D~DES LAUMES^Orianne^Orianne^^^^L'));
      assert.equal(married.ack.code, 'AA', JSON.stringify(married.ack));
      assert.equal(married.out?.patient.usedName, 'DE GUERMANTES');
      const divorced = await layer.adt(a31('""^Orianne^^^^^D~DES LAUMES^Orianne^Orianne^^^^L'));
      assert.equal(divorced.ack.code, 'AA', JSON.stringify(divorced.ack));
      const stored = (await layer.store.byIpp('424242'))!.patient;
      assert.equal(stored.usedName, '');
      assert.equal(stored.usedFirstName, 'Orianne');
      assert.equal(stored.birthName, 'DES LAUMES');
      assert.equal(stored.qualified, true);
      const cda = await buildCdaN1({ pdf, patient: stored, document: documentInput('LDL'), settings: settings() });
      assert.ok(!cda.xml.includes('""'), 'no "" in the CDA');
      assert.ok(!cda.xml.includes('GUERMANTES'));
      assert.match(cda.xml, /<family qualifier="BR">DES LAUMES<\/family>/);
      assert.doesNotMatch(cda.xml, /qualifier="CL">[^<]*<\/family>/);
    });

    it('a pseudonym (S) is read apart from the birth and used names; "" elsewhere is no value', async () => {
      const layer = await start();
      const r = await layer.adt(a31('César^Jules^^^^^S~DES LAUMES^Orianne^Orianne^^^^L'));
      assert.equal(r.ack.code, 'AA', JSON.stringify(r.ack));
      assert.deepEqual(r.out?.patient.pseudonym, { name: 'César', firstName: 'Jules' });
      assert.equal(r.out?.patient.usedName, '');
      assert.equal(r.out?.patient.birthName, 'DES LAUMES');
      const nulls = await layer.adt(a31('DES LAUMES^Orianne^Orianne^^^^L').replace('|19750112|F|', '|""|""|'));
      assert.equal(nulls.out?.patient.birthDate, '');
      assert.equal(nulls.out?.patient.sex, 'U');
      assert.equal(nulls.out?.patient.qualified, false, 'without birth date and sex the INS is not integrated');
    });
  });
});
