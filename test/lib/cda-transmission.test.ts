// buildTransmission / buildMdm (lib/cda/transmission.ts): the MDM^T02 / T10 / T04 (HL7 2.6) and ORU^R01
// (HL7 2.5) that hand a CDA document to the PFI, as the CI-SIS volet "Transmission de documents CDA en
// HL7 v2" 2.1 writes them (../shared/specs/volet-transmission-cda-hl7v2/profils-messages.md, cited below
// by its section titles), and what unwrapHl7Document reads back from them. The comparison with the ANS
// example messages is cda-transmission-volet.test.ts.
import assert from 'node:assert/strict';
import {
  buildCdaN1,
  buildCdaN1Buffer,
  buildMdm,
  buildMdmBuffer,
  buildTransmission,
  buildTransmissionBuffer,
  CdaBuildError,
  METADATA,
  METADATA_FLAGS,
  SHARING_FLAG_CODES,
  unwrapHl7Document,
  type CdaBuildErrorCode,
  type CdaBuildResult,
  type DocumentInput,
  type RecipientInput,
  type SharingFlag,
  type SharingInput,
} from '../../lib/cda';
import { parseHl7, type Hl7Message } from '../../lib/hl7';
import type { PatientIdentity } from '../../lib/ins';
import { MARIE_NIR, OID } from '../fixtures/adt';
import { documentInput, provisionalPatient, qualifiedPatient, settings } from '../fixtures/cda';
import { cached, largePdf, MiB, pdfAPdf } from '../fixtures/pdf';

const NOW = new Date('2026-11-23T09:30:00Z');
const NIR_AUTHORITY = `ASIP-SANTE-INS-NIR&${OID.NIR}&ISO`;
const PS_AUTHORITY = 'ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO';
const ST_AUTHORITY = 'ASIP-SANTE-ST&1.2.250.1.71.4.2.2&ISO';

/** The CDA carried by the document OBX (OBX-5.5), decoded. */
function carried(msg: Hl7Message): Buffer {
  return Buffer.from(msg.get('OBX-5.5'), 'base64');
}

/** Every segment's id, in order. */
function names(msg: Hl7Message): string[] {
  return msg.segments.map((s) => s.name);
}

/** The metadata OBX (OBX-3.3 MetaDMPMSS) as OBX-1|OBX-2|OBX-3|OBX-5|OBX-11. */
function metadata(msg: Hl7Message): string[] {
  return msg
    .all('OBX')
    .filter((s) => s.value(3, 1, 3) === 'MetaDMPMSS')
    .map((s) => [1, 2, 3, 5, 11].map((n) => s.raw(n)).join('|'));
}

/** The ten flags as profils-messages.md "Les métadonnées DMP/MSSanté" writes them, set ids from 2. */
function flagLines(type: 'CWE' | 'CE', yes: readonly SharingFlag[]): string[] {
  const flagOf = Object.fromEntries(Object.entries(SHARING_FLAG_CODES).map(([f, c]) => [c, f as SharingFlag]));
  return METADATA_FLAGS.map((code, i) => `${i + 2}|${type}|${code}^${METADATA[code]}^MetaDMPMSS|${yes.includes(flagOf[code]) ? 'Y' : 'N'}^^expandedYes-NoIndicator|F`);
}

function refuses(f: () => unknown, code: CdaBuildErrorCode, field: string, message?: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof CdaBuildError, `CdaBuildError expected, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.field, field, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('lib/cda buildTransmission (volet Transmission de documents CDA en HL7 v2 2.1: MDM^T02 / T10 / T04, ORU^R01)', () => {
  let pdf: Buffer;
  let ldl: CdaBuildResult;
  let ldlDoc: DocumentInput;
  let provisional: CdaBuildResult;
  let provisionalDoc: DocumentInput;
  let v2: CdaBuildResult;
  let v2Doc: DocumentInput;
  // an INS with a validity date, which PID-3 does not carry (PAM FR 2.11.1 §6.6.1: CX.7 and CX.8 empty)
  const patient = qualifiedPatient({ ins: { value: MARIE_NIR, oid: OID.NIR, kind: 'NIR', environment: 'production', validFrom: '2021-05-06' } });
  const sharing: SharingInput = {
    dmp: true,
    mssantePs: true,
    mssantePatient: false,
    hiddenFromProfessionals: false,
    invisibleToPatient: true,
    invisibleToLegalRepresentatives: false,
    recipients: [
      { idNat: '10009876543', family: 'GÉNÉRALISTE', given: 'Anne', mssante: 'anne.generaliste@medecin.mssante.fr' },
      { mssante: 'secretariat.cardio@chu-y.mssante.fr', organization: { name: 'Cardiologie', id: '4012', idType: 'UF', authority: { namespace: '690000001' } } },
    ],
    replyTo: 'paul.medecin@chu-x.mssante.fr',
    ackReception: true,
    mailBodyProfessional: 'Chère consœur, voici la lettre de liaison de Mme DURAND.',
  };

  before(async () => {
    pdf = await pdfAPdf();
    ldlDoc = documentInput('LDL', { encounter: { ...documentInput('LDL').encounter, account: 'DOS2026042' }, sharing });
    ldl = await buildCdaN1({ pdf, patient, document: ldlDoc, settings: settings(), now: NOW });
    provisionalDoc = documentInput('PRESC-KINE');
    provisional = await buildCdaN1({ pdf, patient: provisionalPatient(), document: provisionalDoc, settings: settings(), now: NOW });
    v2Doc = documentInput('LDL', { replaces: { id: ldl.meta.id, setId: ldl.meta.setId, version: 1 }, sharing: { dmp: true, confidentialityChange: true, hiddenFromProfessionals: true } });
    v2 = await buildCdaN1({ pdf, patient, document: v2Doc, settings: settings(), now: NOW });
  });

  describe('MDM^T02 of a qualified identity', () => {
    let er7: string;
    let msg: Hl7Message;
    before(() => {
      er7 = buildMdm(ldl.xml, ldl.meta, patient, ldlDoc, settings(), 'T02', { controlId: 'MDM0001', now: NOW });
      msg = parseHl7(er7);
    });

    it('profils-messages.md "Message MDM en HL7v2.6": MSH EVN PID PV1 ORC OBR TXA, then OBX document with its PRT, then the metadata OBX', () => {
      assert.deepEqual(names(msg), ['MSH', 'EVN', 'PID', 'PV1', 'ORC', 'OBR', 'TXA', 'OBX', 'PRT', 'PRT', 'PRT', 'PRT', ...Array(11).fill('OBX')]);
      assert.ok(er7.endsWith('\r') && !er7.includes('\n'));
    });

    it('"Le segment MSH": MDM^T02^MDM_T02, MSH-12 2.6, MSH-17 FRA, MSH-18 UNICODE UTF-8, MSH-21 2.1^CISIS_CDA_HL7_V2', () => {
      const h = msg.header();
      assert.deepEqual([h.type, h.event, h.structure, h.controlId, h.version, h.charset, h.processingId], ['MDM', 'T02', 'MDM_T02', 'MDM0001', '2.6', 'UNICODE UTF-8', 'P']);
      assert.deepEqual([h.sendingApplication, h.sendingFacility, h.receivingApplication, h.receivingFacility], ['DPI^1.2.250.1.999.1.9^ISO', 'CHU-X', 'PFI', 'CHU-X']);
      assert.equal(h.dateTime, '20261123103000+0100');
      assert.equal(msg.segments[0].raw(17), 'FRA');
      assert.equal(msg.segments[0].raw(21), '2.1^CISIS_CDA_HL7_V2');
    });

    it('EVN: EVN-2 and EVN-6 the time of the message', () => {
      assert.equal(msg.segment('EVN')?.raw(2), '20261123103000+0100');
      assert.equal(msg.segment('EVN')?.raw(6), '20261123103000+0100');
    });

    it('PID-3: the INS (without CX-7, PAM FR §6.6.1), then the IPP, as the CDA recordTarget', () => {
      assert.equal(msg.segment('PID')?.raw(3), `${MARIE_NIR}^^^${NIR_AUTHORITY}^INS~123456^^^CHU-X&${OID.IPP}&ISO^PI`);
      const rt = /<recordTarget>[\s\S]*<\/recordTarget>/.exec(carried(msg).toString('utf8'))?.[0] ?? '';
      const ids = [...rt.matchAll(/<id root="([^"]+)" extension="([^"]+)"\/>/g)].map((m) => `${m[2]}|${m[1]}`);
      assert.deepEqual(ids, [1, 2].map((r) => `${msg.get(`PID-3[${r}].1`)}|${msg.get(`PID-3[${r}].4.2`)}`), 'profils-messages.md: PID-3 "doit être identique aux identifiants de patient portés par le document CDA"');
    });

    it('PID: birth names typed L, used names typed D, birth date, sex, birth place, NDA (PID-18), PID-32 VALI beside the INS', () => {
      assert.equal(msg.segment('PID')?.raw(5), 'DURAND^Marie^^^^^D~MARTIN^Marie^Marie Louise Anne^^^^L');
      assert.equal(msg.get('PID-7'), '19850512');
      assert.equal(msg.get('PID-8'), 'F');
      assert.equal(msg.segment('PID')?.raw(11), '^^^^^^BDL^^69123');
      assert.equal(msg.segment('PID')?.raw(18), 'DOS2026042^^^&1.2.250.1.999.1.3&ISO^AN');
      assert.deepEqual(msg.getAll('PID-32'), ['VALI'], 'PAM FR §6.6.1: the INS goes with PID-32 VALI');
    });

    it('carries the same identity as the CDA document', () => {
      const rt = /<recordTarget>[\s\S]*<\/recordTarget>/.exec(carried(msg).toString('utf8'))?.[0] ?? '';
      assert.ok(rt.includes(`<family qualifier="BR">${msg.get('PID-5[2].1')}</family>`));
      assert.ok(rt.includes(`<given qualifier="BR">${msg.get('PID-5[2].2')}</given>`));
      assert.ok(rt.includes(`<birthTime value="${msg.get('PID-7')}"/>`));
      assert.ok(rt.includes(`<administrativeGenderCode code="${msg.get('PID-8')}"`));
      assert.ok(rt.includes(`<county>${msg.get('PID-11.9')}</county>`));
    });

    it('PV1: PV1-2 I (inpatient), PV1-19 the encounter number, PV1-44 / PV1-45 its dates', () => {
      const pv1 = msg.segment('PV1');
      assert.equal(pv1?.raw(2), 'I');
      assert.equal(pv1?.raw(19), 'NDA2026001^^^&1.2.250.1.999.1.3&ISO^VN');
      assert.equal(pv1?.raw(44), '20261120083000+0100');
      assert.equal(pv1?.raw(45), '20261123100000+0100');
    });

    it('"Le segment ORC" NW, "Le segment OBR" OBR-4 the document type code^label^LN', () => {
      assert.equal(msg.segment('ORC')?.raw(1), 'NW');
      assert.equal(msg.segment('OBR')?.raw(4), "11490-0^Lettre de liaison à la sortie d'un établissement de soins^LN");
    });

    it('TXA: TXA-1 1, TXA-2 the type code alone, TXA-3 TEXT, TXA-12 extension^^root^ISO, TXA-17 AU, nothing else', () => {
      const txa = msg.segment('TXA');
      assert.equal(txa?.raw(1), '1');
      assert.equal(txa?.raw(2), '11490-0');
      assert.equal(txa?.raw(3), 'TEXT');
      assert.equal(txa?.raw(12), `${ldl.meta.id.extension}^^${ldl.meta.id.root}^ISO`);
      assert.equal(txa?.raw(13), '');
      assert.equal(txa?.raw(17), 'AU');
      // "seuls les segments et les champs indiqués dans les tableaux suivants sont à renseigner"
      assert.deepEqual(txa?.fields.map((f, i) => (f ? i : 0)).filter(Boolean), [1, 2, 3, 12, 17]);
    });

    it('OBX 1: ED, OBX-3 = OBR-4, OBX-5 ^text^XML^Base64^<the CDA>, OBX-11 F; the base64 decodes to the exact bytes', () => {
      const first = msg.segment('OBX');
      assert.equal(first?.raw(1), '1');
      assert.equal(first?.raw(2), 'ED');
      assert.equal(first?.raw(3), msg.segment('OBR')?.raw(4));
      assert.ok(first?.raw(5).startsWith('^text^XML^Base64^'));
      assert.equal(first?.raw(11), 'F');
      assert.ok(carried(msg).equals(Buffer.from(ldl.xml, 'utf8')));
    });

    it('PRT SB: the author (PRT-5 national id, D, IDNPS) and the establishment (PRT-8 FINESS géographique)', () => {
      const sb = msg.segment('PRT', 1);
      assert.equal(sb?.raw(2), 'UC');
      assert.equal(sb?.raw(4), 'SB^Send by^participation');
      assert.equal(sb?.raw(5), `810001234567^MÉDECIN^Paul^^^^^^${PS_AUTHORITY}^D^^^IDNPS`);
      assert.equal(sb?.raw(8), `CHU X (fictif)^^^^^${ST_AUTHORITY}^FINEG^^^690000001`);
      assert.equal(sb?.raw(15), '');
    });

    it('PRT RCT: one per MSSanté recipient (PRT-15 ^^X.400^<mailbox>), then PRT REPLY', () => {
      const [, anne, cardio, reply] = msg.all('PRT');
      assert.equal(anne.raw(4), 'RCT^Result Copies To^participation');
      assert.equal(anne.raw(5), `810009876543^GÉNÉRALISTE^Anne^^^^^^${PS_AUTHORITY}^D^^^IDNPS`);
      assert.equal(anne.raw(15), '^^X.400^anne.generaliste@medecin.mssante.fr');
      assert.equal(cardio.raw(5), '');
      assert.equal(cardio.raw(8), 'Cardiologie^^^^^690000001^UF^^^4012', 'IHE France N.9 XON: only HD-1 for a UF');
      assert.equal(cardio.raw(15), '^^X.400^secretariat.cardio@chu-y.mssante.fr');
      assert.deepEqual([reply.raw(2), reply.raw(4), reply.raw(5), reply.raw(15)], ['UC', 'REPLY^Reply To^participation', '', '^^X.400^paul.medecin@chu-x.mssante.fr']);
    });

    it('"Les métadonnées DMP/MSSanté": the ten flags, CWE, Y or N, in the table\'s order, then CORPSMAIL_PS in base64', () => {
      assert.deepEqual(metadata(msg), [
        ...flagLines('CWE', ['dmp', 'mssantePs', 'invisibleToPatient', 'ackReception']),
        `12|ED|CORPSMAIL_PS^Corps du mail pour un PS^MetaDMPMSS|^text^^Base64^${Buffer.from(sharing.mailBodyProfessional as string, 'utf8').toString('base64')}|F`,
      ]);
      assert.equal(msg.all('NTE').length, 0);
    });

    it('buildMdmBuffer gives the same message as UTF-8 bytes; the codec reads it back', () => {
      const bytes = buildMdmBuffer(ldl.xml, ldl.meta, patient, ldlDoc, settings(), 'T02', { controlId: 'MDM0001', now: NOW });
      assert.ok(bytes.equals(Buffer.from(er7, 'utf8')));
      const back = parseHl7(bytes);
      assert.equal(back.get('PID-5[2].1'), 'MARTIN');
      assert.ok(carried(back).equals(Buffer.from(ldl.xml, 'utf8')));
    });

    it('takes the CDA as bytes as well', async () => {
      const b = await buildCdaN1Buffer({ pdf, patient, document: ldlDoc, settings: settings(), now: NOW });
      const m = parseHl7(buildMdm(b.bytes, b.meta, patient, ldlDoc, settings(), 'T02'));
      assert.ok(carried(m).equals(b.bytes));
    });

    it('round trip: unwrapHl7Document reads back the action, the flags, the participants, the mail body and the document', () => {
      for (const input of [er7, Buffer.from(er7, 'utf8')]) {
        const u = unwrapHl7Document(input);
        assert.equal(u.action, 'new');
        assert.ok(Buffer.isBuffer(u.cda) && u.cda.equals(Buffer.from(ldl.xml, 'utf8')));
        assert.equal(u.profile, '2.1^CISIS_CDA_HL7_V2');
        for (const flag of Object.keys(SHARING_FLAG_CODES) as SharingFlag[]) assert.equal(u.sharing[flag], sharing[flag] === true, flag);
        assert.equal(u.sharing.mailBodyProfessional, sharing.mailBodyProfessional);
        assert.equal(u.sharing.mailBodyPatient, undefined);
        assert.equal(u.sharing.patientMayNotReply, undefined);
        assert.deepEqual(
          u.participants.map(({ location: _, ...p }) => p),
          [
            {
              role: 'SB',
              person: { id: '810001234567', family: 'MÉDECIN', given: 'Paul', authority: '1.2.250.1.71.4.2.1', idType: 'IDNPS' },
              organization: { name: 'CHU X (fictif)', id: '690000001', idType: 'FINEG', authority: '1.2.250.1.71.4.2.2' },
            },
            { role: 'RCT', person: { id: '810009876543', family: 'GÉNÉRALISTE', given: 'Anne', authority: '1.2.250.1.71.4.2.1', idType: 'IDNPS' }, mail: 'anne.generaliste@medecin.mssante.fr' },
            { role: 'RCT', organization: { name: 'Cardiologie', id: '4012', idType: 'UF', authority: '690000001' }, mail: 'secretariat.cardio@chu-y.mssante.fr' },
            { role: 'REPLY', mail: 'paul.medecin@chu-x.mssante.fr' },
          ],
        );
        assert.deepEqual(u.txa?.uniqueId, { extension: ldl.meta.id.extension, root: ldl.meta.id.root });
        assert.equal(u.txa?.completionStatus, 'AU');
        assert.deepEqual(
          u.patientIds.map((p) => `${p.id}|${p.oid}|${p.type}`),
          [`${MARIE_NIR}|${OID.NIR}|INS`, `123456|${OID.IPP}|PI`],
        );
        assert.deepEqual(u.warnings, []);
      }
    });
  });

  describe('ORU^R01 (HL7 2.5)', () => {
    let msg: Hl7Message;
    before(() => {
      msg = parseHl7(buildTransmission('ORU', 'new', ldl.xml, ldl.meta, patient, ldlDoc, settings(), { controlId: 'ORU0001', now: NOW }));
    });

    it('profils-messages.md "Message ORU^R01^ORU_R01 en HL7v2.5": MSH PID PV1 ORC OBR, the document OBX and its PRT, the metadata; no EVN, no TXA', () => {
      assert.deepEqual(names(msg), ['MSH', 'PID', 'PV1', 'ORC', 'OBR', 'OBX', 'PRT', 'PRT', 'PRT', 'PRT', ...Array(11).fill('OBX')]);
      const h = msg.header();
      assert.deepEqual([h.type, h.event, h.structure, h.version], ['ORU', 'R01', 'ORU_R01', '2.5']);
      assert.equal(msg.segments[0].raw(17), 'FRA');
      assert.equal(msg.segments[0].raw(21), '2.1^CISIS_CDA_HL7_V2');
    });

    it('OBX-5 ^TEXT^XML^Base64^ (ORU), flags CE, CORPSMAIL_PS ^TEXT^^Base64^', () => {
      assert.ok(msg.segment('OBX')?.raw(5).startsWith('^TEXT^XML^Base64^'));
      assert.ok(carried(msg).equals(Buffer.from(ldl.xml, 'utf8')));
      const lines = metadata(msg);
      assert.deepEqual(lines.slice(0, 10), flagLines('CE', ['dmp', 'mssantePs', 'invisibleToPatient', 'ackReception']));
      assert.ok(lines[10].startsWith('12|ED|CORPSMAIL_PS^Corps du mail pour un PS^MetaDMPMSS|^TEXT^^Base64^'));
    });

    it('evenements-declenchants.md: new / replace / delete are OBX-11 F / C / D with ORC-1 NW / RO / CA, read back by unwrap', () => {
      for (const [action, cda, doc, obx11, orc1] of [
        ['new', ldl, ldlDoc, 'F', 'NW'],
        ['replace', v2, v2Doc, 'C', 'RO'],
        ['delete', ldl, ldlDoc, 'D', 'CA'],
      ] as const) {
        const er7 = buildTransmission('ORU', action, cda.xml, cda.meta, patient, doc, settings(), { now: NOW });
        const m = parseHl7(er7);
        assert.equal(m.header().event, 'R01');
        assert.equal(m.get('OBX-11'), obx11, action);
        assert.equal(m.get('ORC-1'), orc1, action);
        assert.ok(m.all('OBX').slice(1).every((o) => o.raw(11) === 'F'), 'metadata OBX-11 "arbitrairement fixée à « F »"');
        const u = unwrapHl7Document(er7);
        assert.equal(u.action, action);
        assert.equal(u.txa, null);
        assert.ok(Buffer.isBuffer(u.cda) && u.cda.equals(Buffer.from(cda.xml, 'utf8')));
      }
    });

    it('buildTransmissionBuffer: the same message as bytes', () => {
      const er7 = buildTransmission('ORU', 'new', ldl.xml, ldl.meta, patient, ldlDoc, settings(), { controlId: 'ORU0001', now: NOW });
      assert.ok(buildTransmissionBuffer('ORU', 'new', ldl.xml, ldl.meta, patient, ldlDoc, settings(), { controlId: 'ORU0001', now: NOW }).equals(Buffer.from(er7, 'utf8')));
    });
  });

  describe('identity not qualified', () => {
    it('PID-3 holds the IPP only; no INS in the message nor in the CDA it carries; PID-32 PROV', () => {
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
      assert.equal(msg.segment('OBR')?.raw(4), "PRESC-KINE^Prescription d'actes de kinésithérapie^TRE_A05");
      assert.deepEqual(metadata(msg), flagLines('CWE', []));
    });

    it('DESTDMP: refused, CdaBuildError NOT_QUALIFIED (mapping.md: the DMP patientId is the INS)', () => {
      const doc = { ...provisionalDoc, sharing: { dmp: true } };
      refuses(() => buildMdm(provisional.xml, provisional.meta, provisionalPatient(), doc, settings(), 'T02'), 'NOT_QUALIFIED', 'document.sharing.dmp');
      refuses(() => buildTransmission('ORU', 'delete', provisional.xml, provisional.meta, provisionalPatient(), doc, settings()), 'NOT_QUALIFIED', 'document.sharing.dmp');
    });

    it('MSSanté to professionals: allowed (def-proc-collab.md: MSSanté without a qualified INS)', () => {
      const doc = { ...provisionalDoc, sharing: { mssantePs: true, recipients: [{ mssante: 'anne.generaliste@medecin.mssante.fr', idNat: '10009876543', family: 'GÉNÉRALISTE' }] } };
      const msg = parseHl7(buildMdm(provisional.xml, provisional.meta, provisionalPatient(), doc, settings(), 'T02'));
      assert.equal(msg.all('PRT')[1].raw(15), '^^X.400^anne.generaliste@medecin.mssante.fr');
    });

    it('the patient as MSSanté recipient: refused, NOT_QUALIFIED (PRT-5 of a patient is the INS, PRT-5.9.2 1.2.250.1.213.1.4.8 / .9)', () => {
      const doc = { ...provisionalDoc, sharing: { mssantePatient: true, recipients: [{ mssante: 'jean@patient.mssante.fr', patient: true }] } };
      refuses(() => buildMdm(provisional.xml, provisional.meta, provisionalPatient(), doc, settings(), 'T02'), 'NOT_QUALIFIED', 'document.sharing.recipients[0].patient');
    });
  });

  describe('MSSanté to the patient', () => {
    const patientSharing: SharingInput = {
      mssantePatient: true,
      patientMayNotReply: true,
      recipients: [{ mssante: `${MARIE_NIR}@patient.mssante.fr`, patient: true }],
      mailBodyPatient: 'Bonjour Madame, voici votre lettre de liaison.',
      mailBodyProfessional: 'Cher confrère,\nci-joint.',
    };
    let er7: string;
    let msg: Hl7Message;
    before(() => {
      er7 = buildMdm(ldl.xml, ldl.meta, patient, { ...ldlDoc, sharing: patientSharing }, settings(), 'T02', { now: NOW });
      msg = parseHl7(er7);
    });

    it('PRT RCT of the patient: PRT-5 the INS, birth name typed L, INS; PRT-15 the mailbox', () => {
      const rct = msg.all('PRT')[1];
      assert.equal(rct.raw(4), 'RCT^Result Copies To^participation');
      assert.equal(rct.raw(5), `${MARIE_NIR}^MARTIN^Marie^^^^^^${NIR_AUTHORITY}^L^^^INS`);
      assert.equal(rct.raw(15), `^^X.400^${MARIE_NIR}@patient.mssante.fr`);
    });

    it('"Echange MSSanté Patient": NTE-4 FIN right after DESTMSSANTEPAT; CORPSMAIL_PS then CORPSMAIL_PATIENT, base64 of UTF-8', () => {
      const i = msg.segments.findIndex((s) => s.name === 'OBX' && s.value(3, 1, 1) === 'DESTMSSANTEPAT');
      assert.equal(msg.segments[i].raw(5), 'Y^^expandedYes-NoIndicator');
      assert.equal(msg.segments[i + 1].name, 'NTE');
      assert.deepEqual(msg.segments[i + 1].fields, ['NTE', '', '', '', 'FIN']);
      assert.equal(msg.all('NTE').length, 1);
      const bodies = msg.all('OBX').slice(-2);
      assert.deepEqual(
        bodies.map((o) => [o.raw(2), o.raw(3), Buffer.from(o.value(5, 1, 5), 'base64').toString('utf8')]),
        [
          ['ED', 'CORPSMAIL_PS^Corps du mail pour un PS^MetaDMPMSS', patientSharing.mailBodyProfessional],
          ['ED', 'CORPSMAIL_PATIENT^Corps du mail pour le patient^MetaDMPMSS', patientSharing.mailBodyPatient],
        ],
      );
    });

    it('no NTE when the patient may reply', () => {
      const m = parseHl7(buildMdm(ldl.xml, ldl.meta, patient, { ...ldlDoc, sharing: { ...patientSharing, patientMayNotReply: false } }, settings(), 'T02'));
      assert.equal(m.all('NTE').length, 0);
    });

    it('round trip: unwrap reads the patient recipient, FIN and both mail bodies', () => {
      const u = unwrapHl7Document(Buffer.from(er7, 'utf8'));
      assert.equal(u.sharing.mssantePatient, true);
      assert.equal(u.sharing.mssantePs, false);
      assert.equal(u.sharing.patientMayNotReply, true);
      assert.equal(u.sharing.mailBodyPatient, patientSharing.mailBodyPatient);
      assert.equal(u.sharing.mailBodyProfessional, patientSharing.mailBodyProfessional);
      const rct = u.participants.find((p) => p.role === 'RCT');
      assert.deepEqual(rct?.person, { id: MARIE_NIR, family: 'MARTIN', given: 'Marie', authority: OID.NIR, idType: 'INS' });
      assert.equal(rct?.mail, `${MARIE_NIR}@patient.mssante.fr`);
    });
  });

  describe('MDM^T10: a new version', () => {
    it('TXA-13 the replaced document, ORC-1 RO, OBX-11 C, MODIF_CONF_CODE and MASQUE_PS as asked', () => {
      const er7 = buildMdm(v2.xml, v2.meta, patient, v2Doc, settings(), 'T10');
      const msg = parseHl7(er7);
      assert.deepEqual([msg.header().type, msg.header().event, msg.header().structure], ['MDM', 'T10', 'MDM_T02']);
      assert.equal(msg.segment('TXA')?.raw(12), `${v2.meta.id.extension}^^${v2.meta.id.root}^ISO`);
      assert.equal(msg.segment('TXA')?.raw(13), `${ldl.meta.id.extension}^^${ldl.meta.id.root}^ISO`);
      assert.equal(msg.get('ORC-1'), 'RO');
      assert.equal(msg.get('OBX-11'), 'C');
      assert.deepEqual(metadata(msg), flagLines('CWE', ['dmp', 'confidentialityChange', 'hiddenFromProfessionals']));
      assert.ok(carried(msg).equals(Buffer.from(v2.xml, 'utf8')));
      const u = unwrapHl7Document(er7);
      assert.equal(u.action, 'replace');
      assert.deepEqual(u.txa?.parentId, { extension: ldl.meta.id.extension, root: ldl.meta.id.root });
      assert.equal(u.sharing.confidentialityChange, true);
    });

    it('TXA-12 / TXA-13 of ids without extension: the OID alone in EI-1 ("règle de peuplement")', async () => {
      const root = '1.2.250.1.999.1.2.1.71024000081';
      const d1 = documentInput('CR-IMAGERIE', { id: root });
      const first = await buildCdaN1({ pdf, patient, document: d1, settings: settings(), now: NOW });
      const d2 = documentInput('CR-IMAGERIE', { id: '1.2.250.1.999.1.2.1.71024000082', replaces: { id: first.meta.id, setId: first.meta.setId, version: 1 } });
      const second = await buildCdaN1({ pdf, patient, document: d2, settings: settings(), now: NOW });
      const msg = parseHl7(buildMdm(second.xml, second.meta, patient, d2, settings(), 'T10'));
      assert.equal(msg.segment('TXA')?.raw(12), '1.2.250.1.999.1.2.1.71024000082');
      assert.equal(msg.segment('TXA')?.raw(13), root);
    });

    it('refuses a replacement of a document that replaces nothing (MDM T10 and ORU C)', () => {
      refuses(() => buildMdm(ldl.xml, ldl.meta, patient, ldlDoc, settings(), 'T10'), 'MISSING', 'document.replaces');
      refuses(() => buildTransmission('ORU', 'replace', ldl.xml, ldl.meta, patient, ldlDoc, settings()), 'MISSING', 'document.replaces');
    });
  });

  describe('MDM^T04: deletion', () => {
    it('ORC-1 CA, OBX-11 D, the last version carried, no TXA-13', () => {
      const er7 = buildMdm(ldl.xml, ldl.meta, patient, documentInput('LDL', { sharing: { dmp: true } }), settings(), 'T04');
      const msg = parseHl7(er7);
      assert.equal(msg.header().event, 'T04');
      assert.equal(msg.header().structure, 'MDM_T02');
      assert.equal(msg.get('ORC-1'), 'CA');
      assert.equal(msg.get('OBX-11'), 'D');
      assert.equal(msg.segment('TXA')?.raw(13), '');
      assert.ok(carried(msg).equals(Buffer.from(ldl.xml, 'utf8')));
      assert.equal(unwrapHl7Document(er7).action, 'delete');
    });
  });

  describe('PV1 (profils-messages.md, "Les données concernant le patient et la venue du patient")', () => {
    it('PV1-19 is required when PV1-2 is E, I, O or R: a CdaBuildError names document.encounter.id', () => {
      for (const [code, cls] of [
        ['EMER', 'E'],
        ['IMP', 'I'],
        ['AMB', 'O'],
        ['EXTERNE', 'O'],
        ['SEANCE', 'R'],
      ]) {
        const doc = documentInput('LDL', { encounter: { start: '2026-11-20T08:30:00+01:00', code } });
        refuses(() => buildMdm(ldl.xml, ldl.meta, patient, doc, settings(), 'T02'), 'MISSING', 'document.encounter.id', new RegExp(`patient class ${cls}`));
      }
    });

    it('PV1-2 N without encounter type: PV1-19 only when known', () => {
      const doc = documentInput('LDL', { encounter: { start: '2026-11-20T08:30:00+01:00' } });
      const msg = parseHl7(buildMdm(ldl.xml, ldl.meta, patient, doc, settings(), 'T02'));
      assert.equal(msg.get('PV1-2'), 'N');
      assert.equal(msg.segment('PV1')?.raw(19), '');
      assert.equal(msg.segment('PV1')?.raw(44), '20261120083000+0100');
      assert.equal(msg.segment('PV1')?.raw(45), '');
    });
  });

  describe('what the volet does not allow: a CdaBuildError', () => {
    const request = (s: SharingInput) => () => buildMdm(ldl.xml, ldl.meta, patient, documentInput('LDL', { sharing: s }), settings(), 'T02');

    it('MSSanté asked without recipients', () => {
      refuses(request({ mssantePs: true }), 'MISSING', 'document.sharing.recipients');
      refuses(request({ mssantePs: true, recipients: [{ mssante: `${MARIE_NIR}@patient.mssante.fr`, patient: true }] }), 'MISSING', 'document.sharing.recipients');
      refuses(request({ mssantePatient: true, recipients: [{ mssante: 'anne.generaliste@medecin.mssante.fr' }] }), 'MISSING', 'document.sharing.recipients');
    });

    it('INVISIBLE_PATIENT with DESTMSSANTEPAT ("un document clinique masqué au patient ne doit pas être envoyé au patient par MSSanté")', () => {
      refuses(request({ invisibleToPatient: true, mssantePatient: true, recipients: [{ mssante: `${MARIE_NIR}@patient.mssante.fr`, patient: true }] }), 'INVALID', 'document.sharing.mssantePatient');
    });

    it('mail addresses that are none (PRT-15.4 of RCT and REPLY)', () => {
      refuses(request({ mssantePs: true, recipients: [{ mssante: 'anne.generaliste' }] }), 'INVALID', 'document.sharing.recipients[0].mssante');
      refuses(request({ mssantePs: true, recipients: [{ mssante: 'a@b.fr' }, { mssante: 'x y@b.fr' }] }), 'INVALID', 'document.sharing.recipients[1].mssante');
      refuses(request({ mssantePs: true, recipients: [{ family: 'X' } as unknown as RecipientInput] }), 'MISSING', 'document.sharing.recipients[0].mssante');
      refuses(request({ replyTo: 'secretariat@' }), 'INVALID', 'document.sharing.replyTo');
    });

    it('a named professional recipient without national identifier (PRT-5.1)', () => {
      refuses(request({ mssantePs: true, recipients: [{ mssante: 'anne.generaliste@medecin.mssante.fr', family: 'GÉNÉRALISTE' }] }), 'MISSING', 'document.sharing.recipients[0].idNat');
    });

    it('MSH-3 to MSH-6 missing ("Le segment MSH": R)', () => {
      const h = settings().hl7;
      refuses(() => buildMdm(ldl.xml, ldl.meta, patient, ldlDoc, settings({ hl7: { ...h, receivingFacility: ' ' } }), 'T02'), 'MISSING', 'settings.hl7.receivingFacility');
      refuses(() => buildTransmission('ORU', 'new', ldl.xml, ldl.meta, patient, ldlDoc, settings({ hl7: undefined })), 'MISSING', 'settings.hl7.sendingApplication');
    });
  });

  describe('values with HL7 delimiters', () => {
    it('are escaped and read back', async () => {
      const p: PatientIdentity = qualifiedPatient({ usedName: 'DURAND|LEROY', usedFirstName: 'Marie^Jo' });
      const doc = documentInput('CRO', { author: { idNat: '10001234567', family: 'A&B', given: 'C~D', specialty: 'G15_10' } });
      const r = await buildCdaN1({ pdf, patient: p, document: doc, settings: settings() });
      const msg = parseHl7(buildMdm(r.xml, r.meta, p, doc, settings(), 'T02'));
      assert.equal(msg.get('PID-5.1'), 'DURAND|LEROY');
      assert.equal(msg.get('PID-5.2'), 'Marie^Jo');
      assert.equal(msg.get('PRT-5.2'), 'A&B');
      assert.equal(msg.get('PRT-5.3'), 'C~D');
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
      refuses(() => buildMdm(ldl.xml, ldl.meta, qualifiedPatient({ qualified: false, status: 'VALI' }), ldlDoc, settings(), 'T02'), 'INVALID', 'patient.qualified');
    });

    it('the meta of another document, or of the version it replaces', () => {
      refuses(() => buildMdm(ldl.xml, provisional.meta, patient, ldlDoc, settings(), 'T02'), 'INVALID', 'meta.id');
      refuses(() => buildMdm(v2.xml, ldl.meta, patient, v2Doc, settings(), 'T02'), 'INVALID', 'meta.id');
    });

    it('no CDA, an unknown kind, carrier or action', () => {
      refuses(() => buildMdm('', ldl.meta, patient, ldlDoc, settings(), 'T02'), 'MISSING', 'cdaXml');
      refuses(() => buildMdm(ldl.xml, ldl.meta, patient, ldlDoc, settings(), 'T03' as never), 'INVALID', 'kind');
      refuses(() => buildTransmission('OUL' as never, 'new', ldl.xml, ldl.meta, patient, ldlDoc, settings()), 'INVALID', 'carrier');
      refuses(() => buildTransmission('ORU', 'update' as never, ldl.xml, ldl.meta, patient, ldlDoc, settings()), 'INVALID', 'action');
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
        const u = unwrapHl7Document(bytes);
        assert.ok(Buffer.isBuffer(u.cda) && u.cda.equals(cda.bytes));
      }
    });
  });
});
