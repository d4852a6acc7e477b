import assert from 'node:assert/strict';
import {
  buildCdaN1,
  buildCdaN1Buffer,
  buildMdm,
  buildMdmBuffer,
  CdaBuildError,
  MDM_METADATA_CODES,
  type CdaBuildResult,
  type DocumentInput,
} from '../../lib/cda';
import { parseHl7, type Hl7Message } from '../../lib/hl7';
import type { PatientIdentity } from '../../lib/ins';
import { OID } from '../fixtures/adt';
import { documentInput, provisionalPatient, qualifiedPatient, settings } from '../fixtures/cda';
import { cached, largePdf, MiB, pdfAPdf } from '../fixtures/pdf';

const NOW = new Date('2026-11-23T09:30:00Z');

/** The CDA carried by OBX-5.5, decoded. */
function carried(msg: Hl7Message): Buffer {
  return Buffer.from(msg.get('OBX-5.5'), 'base64');
}

function obx(msg: Hl7Message, code: string): string[] {
  return msg
    .all('OBX')
    .filter((s) => s.value(3, 1, 1) === code)
    .map((s) => `${s.raw(2)}|${s.raw(4)}|${s.raw(5)}`);
}

describe('lib/cda buildMdm (CDA in HL7 v2 MDM for the PFI)', () => {
  let pdf: Buffer;
  let ldl: CdaBuildResult;
  let ldlDoc: DocumentInput;
  let provisional: CdaBuildResult;
  let provisionalDoc: DocumentInput;
  const patient = qualifiedPatient();

  before(async () => {
    pdf = await pdfAPdf();
    ldlDoc = documentInput('LDL', {
      sharing: {
        dmp: true,
        mssantePs: true,
        mssantePatient: false,
        hiddenFromProfessionals: false,
        invisibleToPatient: true,
        invisibleToLegalRepresentatives: false,
        recipients: [
          { idNat: '10009876543', family: 'GÉNÉRALISTE', given: 'Anne', mssante: 'anne.generaliste@medecin.mssante.fr' },
          { mssante: 'secretariat.cardio@chu-y.mssante.fr' },
        ],
        ackReception: true,
      },
    });
    ldl = await buildCdaN1({ pdf, patient, document: ldlDoc, settings: settings(), now: NOW });
    provisionalDoc = documentInput('PRESC-KINE');
    provisional = await buildCdaN1({ pdf, patient: provisionalPatient(), document: provisionalDoc, settings: settings(), now: NOW });
  });

  describe('MDM^T02 of a qualified identity', () => {
    let er7: string;
    let msg: Hl7Message;
    before(() => {
      er7 = buildMdm(ldl.xml, ldl.meta, patient, ldlDoc, settings(), 'T02', { controlId: 'MDM0001', now: NOW });
      msg = parseHl7(er7);
    });

    it('parses with the codec: MDM^T02^MDM_T02, version 2.6, UTF-8', () => {
      const h = msg.header();
      assert.deepEqual([h.type, h.event, h.structure, h.controlId, h.version, h.charset, h.processingId], ['MDM', 'T02', 'MDM_T02', 'MDM0001', '2.6', 'UNICODE UTF-8', 'P']);
      assert.equal(h.sendingApplication, 'DPI^1.2.250.1.999.1.9^ISO');
      assert.equal(h.dateTime, '20261123103000+0100');
      assert.deepEqual(msg.segments.map((s) => s.name).slice(0, 6), ['MSH', 'EVN', 'PID', 'PV1', 'TXA', 'OBX']);
      assert.equal(msg.get('EVN-1'), 'T02');
    });

    it('PID: the IPP, then the INS (qualified identity)', () => {
      const pid = msg.segment('PID');
      assert.equal(pid?.raw(3), `123456^^^CHU-X&${OID.IPP}&ISO^PI~${patient.ins?.value}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS`);
      assert.equal(msg.get('PID-3[2].1'), patient.ins?.value);
      assert.equal(msg.get('PID-3[2].4.2'), '1.2.250.1.213.1.4.8');
      assert.equal(msg.get('PID-3[2].5'), 'INS');
    });

    it('PID: birth names typed L, used names typed D, birth date, sex, birth place, identity status', () => {
      assert.equal(msg.segment('PID')?.raw(5), 'MARTIN^Marie^Marie Louise Anne^^^^L~DURAND^Marie^^^^^D');
      assert.equal(msg.get('PID-7'), '19850512');
      assert.equal(msg.get('PID-8'), 'F');
      assert.equal(msg.get('PID-11.7'), 'BDL');
      assert.equal(msg.get('PID-11.9'), '69123');
      assert.deepEqual(msg.getAll('PID-32'), ['VALI'], 'PAM FR §6.6.1: the INS goes with PID-32 VALI');
    });

    it('carries the same identity as the CDA document', () => {
      const cda = carried(msg).toString('utf8');
      const rt = /<recordTarget>[\s\S]*<\/recordTarget>/.exec(cda)?.[0] ?? '';
      assert.ok(rt.includes(`<id root="${msg.get('PID-3[2].4.2')}" extension="${msg.get('PID-3[2].1')}"/>`));
      assert.ok(rt.includes(`<id root="${msg.get('PID-3.4.2')}" extension="${msg.get('PID-3.1')}"/>`));
      assert.ok(rt.includes(`<family qualifier="BR">${msg.get('PID-5.1')}</family>`));
      assert.ok(rt.includes(`<given qualifier="BR">${msg.get('PID-5.2')}</given>`));
      assert.ok(rt.includes(`<birthTime value="${msg.get('PID-7')}"/>`));
      assert.ok(rt.includes(`<administrativeGenderCode code="${msg.get('PID-8')}"`));
      assert.ok(rt.includes(`<county>${msg.get('PID-11.9')}</county>`));
    });

    it('PV1: inpatient, encounter number', () => {
      assert.equal(msg.get('PV1-2'), 'I');
      assert.equal(msg.segment('PV1')?.raw(19), 'NDA2026001^^^&1.2.250.1.999.1.3&ISO^VN');
    });

    it('TXA: type, times, author, document number (EI of the CDA id), completion and availability', () => {
      const txa = msg.segment('TXA');
      assert.equal(txa?.raw(2), "11490-0^Lettre de liaison à la sortie d'un établissement de soins^LN");
      assert.equal(msg.get('TXA-3'), 'TEXT');
      assert.equal(msg.get('TXA-4'), ldl.meta.effectiveTime);
      assert.equal(txa?.raw(5), '810001234567^MÉDECIN^Paul^^^DR^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS');
      assert.equal(txa?.raw(12), `${ldl.meta.id.extension}^^${ldl.meta.id.root}^ISO`);
      assert.equal(msg.get('TXA-13'), '');
      assert.deepEqual([msg.get('TXA-17'), msg.get('TXA-18'), msg.get('TXA-19')], ['LA', 'U', 'AV']);
    });

    it('OBX 1: the CDA document, whose base64 decodes to its exact bytes', () => {
      const first = msg.segment('OBX');
      assert.equal(first?.raw(1), '1');
      assert.equal(first?.raw(2), 'ED');
      assert.equal(first?.raw(3), "11490-0^Lettre de liaison à la sortie d'un établissement de soins^LN");
      assert.deepEqual([msg.get('OBX-5.2'), msg.get('OBX-5.3'), msg.get('OBX-5.4')], ['TEXT', 'XML', 'Base64']);
      assert.equal(msg.get('OBX-11'), 'F');
      assert.ok(carried(msg).equals(Buffer.from(ldl.xml, 'utf8')));
    });

    it('OBX 2…: the sharing metadata (MetaDMPMSS)', () => {
      const yn = (v: string) => `CE||${v}^^expandedYes-NoIndicator`;
      assert.deepEqual(obx(msg, 'DESTDMP'), [yn('Y')]);
      assert.deepEqual(obx(msg, 'DESTMSSANTEPS'), [yn('Y')]);
      assert.deepEqual(obx(msg, 'DESTMSSANTEPAT'), [yn('N')]);
      assert.deepEqual(obx(msg, 'MASQUE_PS'), [yn('N')]);
      assert.deepEqual(obx(msg, 'INVISIBLE_PATIENT'), [yn('Y')]);
      assert.deepEqual(obx(msg, 'INVISIBLE_REPRESENTANTS_LEGAUX'), [yn('N')]);
      assert.deepEqual(obx(msg, 'ACK_RECEPTION'), [yn('Y')]);
      assert.deepEqual(obx(msg, 'ACK_LECTURE'), []);
      assert.deepEqual(obx(msg, 'DESTINATAIRE'), [
        'XCN|1|810009876543^GÉNÉRALISTE^Anne^^^^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS',
        'XTN|1|^NET^Internet^anne.generaliste@medecin.mssante.fr',
        'XTN|2|^NET^Internet^secretariat.cardio@chu-y.mssante.fr',
      ]);
      const sets = msg.all('OBX').map((s) => s.raw(1));
      assert.deepEqual(sets, sets.map((_, i) => String(i + 1)));
      assert.equal(msg.all('OBX')[1].value(3, 1, 2), MDM_METADATA_CODES.DESTDMP);
      assert.equal(msg.all('OBX')[1].value(3, 1, 3), 'MetaDMPMSS');
    });

    it('buildMdmBuffer gives the same message as UTF-8 bytes; the codec reads it back', () => {
      const bytes = buildMdmBuffer(ldl.xml, ldl.meta, patient, ldlDoc, settings(), 'T02', { controlId: 'MDM0001', now: NOW });
      assert.ok(bytes.equals(Buffer.from(er7, 'utf8')));
      const back = parseHl7(bytes);
      assert.equal(back.get('PID-5.1'), 'MARTIN');
      assert.ok(carried(back).equals(Buffer.from(ldl.xml, 'utf8')));
    });

    it('takes the CDA as bytes as well', async () => {
      const b = await buildCdaN1Buffer({ pdf, patient, document: ldlDoc, settings: settings(), now: NOW });
      const m = parseHl7(buildMdm(b.bytes, b.meta, patient, ldlDoc, settings(), 'T02'));
      assert.ok(carried(m).equals(b.bytes));
    });
  });

  describe('identity not qualified', () => {
    it('PID-3 holds the IPP only; no INS in the message nor in the CDA it carries', () => {
      const p = provisionalPatient();
      const er7 = buildMdm(provisional.xml, provisional.meta, p, provisionalDoc, settings(), 'T02');
      const msg = parseHl7(er7);
      assert.equal(msg.segment('PID')?.raw(3), `654321^^^CHU-X&${OID.IPP}&ISO^PI`);
      assert.equal(msg.segment('PID')?.repetitions(3), 1);
      const ins = p.ins?.value as string;
      assert.ok(!er7.includes(ins) && !er7.includes('ASIP-SANTE-INS'));
      assert.ok(!carried(msg).toString('utf8').includes(ins));
      assert.deepEqual(msg.getAll('PID-32'), ['PROV']);
      // an identity sent VALI whose INS was not kept here is not qualified: PROV, never VALI without its INS
      const notKept = { ...p, status: 'VALI', attributes: ['HOMD'], ins: null, qualified: false };
      assert.deepEqual(parseHl7(buildMdm(provisional.xml, provisional.meta, notKept, provisionalDoc, settings(), 'T02')).getAll('PID-32'), ['PROV', 'HOMD']);
      assert.equal(msg.segment('PID')?.raw(5), 'DUPONT-HÉRAULT^Jean^^^^^L');
      assert.equal(msg.get('TXA-2'), 'PRESC-KINE');
      assert.equal(msg.get('TXA-2.3'), '1.2.250.1.213.1.1.4.12');
    });
  });

  describe('MDM^T10: a new version', () => {
    it('names the replaced document in TXA-13 and carries the new version', async () => {
      const doc = documentInput('LDL', { replaces: { id: ldl.meta.id, setId: ldl.meta.setId, version: 1 } });
      const v2 = await buildCdaN1({ pdf, patient, document: doc, settings: settings(), now: NOW });
      const msg = parseHl7(buildMdm(v2.xml, v2.meta, patient, doc, settings(), 'T10'));
      assert.equal(msg.header().event, 'T10');
      assert.equal(msg.header().structure, 'MDM_T02');
      assert.equal(msg.segment('TXA')?.raw(12), `${v2.meta.id.extension}^^${v2.meta.id.root}^ISO`);
      assert.equal(msg.segment('TXA')?.raw(13), `${ldl.meta.id.extension}^^${ldl.meta.id.root}^ISO`);
      assert.equal(msg.get('TXA-19'), 'AV');
      assert.ok(carried(msg).equals(Buffer.from(v2.xml, 'utf8')));
      assert.equal(msg.get('PID-3[2].5'), 'INS');
    });

    it('refuses a T10 for a document that replaces nothing', () => {
      assert.throws(() => buildMdm(ldl.xml, ldl.meta, patient, ldlDoc, settings(), 'T10'), (e: unknown) => e instanceof CdaBuildError && e.field === 'document.replaces');
    });
  });

  describe('MDM^T04: status change', () => {
    it('withdraws the document by default (TXA-19 CA)', () => {
      const msg = parseHl7(buildMdm(ldl.xml, ldl.meta, patient, documentInput('LDL'), settings(), 'T04'));
      assert.equal(msg.header().event, 'T04');
      assert.equal(msg.get('TXA-19'), 'CA');
      assert.ok(carried(msg).equals(Buffer.from(ldl.xml, 'utf8')));
    });

    it('changes the DMP visibility with sharing.confidentialityChange (TXA-19 AV)', () => {
      const doc = documentInput('LDL', { sharing: { confidentialityChange: true, hiddenFromProfessionals: true } });
      const msg = parseHl7(buildMdm(ldl.xml, ldl.meta, patient, doc, settings(), 'T04'));
      assert.equal(msg.get('TXA-19'), 'AV');
      assert.deepEqual(obx(msg, 'MODIFICATION_CONFIDENTIALITE'), ['CE||Y^^expandedYes-NoIndicator']);
      assert.deepEqual(obx(msg, 'MASQUE_PS'), ['CE||Y^^expandedYes-NoIndicator']);
    });
  });

  describe('values with HL7 delimiters', () => {
    it('are escaped and read back', async () => {
      const p: PatientIdentity = qualifiedPatient({ usedName: 'DURAND|LEROY', usedFirstName: 'Marie^Jo' });
      const doc = documentInput('CRO', { author: { idNat: '10001234567', family: 'A&B', given: 'C~D', specialty: 'G15_10' } });
      const r = await buildCdaN1({ pdf, patient: p, document: doc, settings: settings() });
      const msg = parseHl7(buildMdm(r.xml, r.meta, p, doc, settings(), 'T02'));
      assert.equal(msg.get('PID-5[2].1'), 'DURAND|LEROY');
      assert.equal(msg.get('PID-5[2].2'), 'Marie^Jo');
      assert.equal(msg.get('TXA-5.2'), 'A&B');
      assert.equal(msg.get('TXA-5.3'), 'C~D');
      assert.ok(carried(msg).equals(Buffer.from(r.xml, 'utf8')));
    });
  });

  describe('inconsistent input: a CdaBuildError', () => {
    it('another patient than the document is about', () => {
      assert.throws(
        () => buildMdm(ldl.xml, ldl.meta, provisionalPatient(), ldlDoc, settings(), 'T02'),
        (e: unknown) => e instanceof CdaBuildError && e.code === 'INVALID' && /not about this patient: the IPP \(1\.2\.250\.1\.999\.1\.1\) given/.test(e.message) && !e.message.includes('654321'),
      );
    });

    it('the same patient, no longer qualified (the CDA carries the INS)', () => {
      assert.throws(
        () => buildMdm(ldl.xml, ldl.meta, qualifiedPatient({ qualified: false, status: 'VALI' }), ldlDoc, settings(), 'T02'),
        (e: unknown) => e instanceof CdaBuildError && e.field === 'patient.qualified',
      );
    });

    it('the meta of another document, or of the version it replaces', async () => {
      assert.throws(() => buildMdm(ldl.xml, provisional.meta, patient, ldlDoc, settings(), 'T02'), (e: unknown) => e instanceof CdaBuildError && e.field === 'meta.id');
      const doc = documentInput('LDL', { replaces: { id: ldl.meta.id, setId: ldl.meta.setId, version: 1 } });
      const v2 = await buildCdaN1({ pdf, patient, document: doc, settings: settings() });
      assert.throws(() => buildMdm(v2.xml, ldl.meta, patient, doc, settings(), 'T02'), (e: unknown) => e instanceof CdaBuildError && e.field === 'meta.id');
    });

    it('no CDA, an unknown kind, a recipient without address', () => {
      assert.throws(() => buildMdm('', ldl.meta, patient, ldlDoc, settings(), 'T02'), (e: unknown) => e instanceof CdaBuildError && e.field === 'cdaXml');
      assert.throws(() => buildMdm(ldl.xml, ldl.meta, patient, ldlDoc, settings(), 'T03' as never), (e: unknown) => e instanceof CdaBuildError && e.field === 'kind');
      const doc = documentInput('LDL', { sharing: { recipients: [{ family: 'X' }] } });
      assert.throws(() => buildMdm(ldl.xml, ldl.meta, patient, doc, settings(), 'T02'), (e: unknown) => e instanceof CdaBuildError && e.field === 'document.sharing.recipients[0]');
    });
  });

  describe('a 10 MiB PDF', () => {
    it('round-trips through CDA and MDM (100 KiB, 1 MiB, 10 MiB)', async function () {
      this.timeout(300_000);
      for (const size of [100 * 1024, MiB, 10 * MiB]) {
        const big = await cached(`large-${size}`, () => largePdf(size));
        const cda = await buildCdaN1Buffer({ pdf: big, patient, document: ldlDoc, settings: settings() });
        const bytes = buildMdmBuffer(cda.bytes, cda.meta, patient, ldlDoc, settings(), 'T02');
        const msg = parseHl7(bytes);
        assert.ok(carried(msg).equals(cda.bytes));
        const b64 = /<text mediaType="application\/pdf" representation="B64">([^<]*)</.exec(carried(msg).toString('latin1'));
        assert.ok(b64 && Buffer.from(b64[1], 'base64').equals(big));
      }
    });
  });
});
