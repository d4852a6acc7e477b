import assert from 'node:assert/strict';
import { buildCdaN1 } from '../../lib/cda/build';
import { buildMdm } from '../../lib/cda/mdm';
import { readCda } from '../../lib/cda/parse';
import { ackAdvice, documentAck, DocumentMessageError, readHl7Document, unwrapHl7Document, type UnwrappedDocument } from '../../lib/cda/unwrap';
import { CdaRejectError, type CdaRejectCode } from '../../lib/cda/xml';
import { parseAck, parseHl7 } from '../../lib/hl7';
import { MARIE_NIR } from '../fixtures/adt';
import { documentInput, qualifiedPatient, settings } from '../fixtures/cda';
import { carrierMessage, cdaXml, HOSTILE, LAB_DOC_ROOT, LAB_IPP_OID, pdfLike, SHARING_LINES, STRUCTURED_BODY } from '../fixtures/cda-hostile';
import { textPdf } from '../fixtures/pdf';

function refused(f: () => unknown, code: CdaRejectCode, ack: string, hl7Code: string, message?: RegExp): DocumentMessageError {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DocumentMessageError, `expected DocumentMessageError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.ack.code, ack);
  assert.equal(caught.ack.hl7Code, hl7Code);
  if (message) assert.match(caught.message, message);
  return caught;
}

describe('lib/cda unwrapHl7Document (CDA in HL7 v2: ORU^R01, MDM^T02 / T04 / T10)', () => {
  const pdf = pdfLike(20_000);
  const xml = cdaXml({ body: { pdf }, title: 'Résultats — sérologie & bilan' });

  describe('MDM^T02 with the CDA in base64 and sharing metadata', () => {
    let u: UnwrappedDocument;
    before(() => {
      u = unwrapHl7Document(carrierMessage(xml, { metadata: SHARING_LINES, controlId: 'MDM42' }));
    });

    it('summarises the header', () => {
      assert.deepEqual(u.hl7, { type: 'MDM', event: 'T02', structure: 'MDM_T02', controlId: 'MDM42', sender: 'LABO/LABO-ESSAIS', version: '2.6', processingId: 'P' });
      assert.equal(u.header.controlId, 'MDM42');
      assert.equal(u.message.segment('TXA')?.value(12), 'CRBIO2026000123');
    });

    it('gives the CDA bytes, readable by readCda', () => {
      assert.ok(Buffer.isBuffer(u.cda));
      assert.ok((u.cda as Buffer).equals(Buffer.from(xml, 'utf8')));
      const r = readCda(u.cda);
      assert.equal(r.title, 'Résultats — sérologie & bilan');
      assert.ok(r.pdf?.equals(pdf));
    });

    it('says where the document was found', () => {
      assert.deepEqual(u.carrier, {
        occurrence: 1,
        setId: '1',
        observation: { code: '11502-2', text: "CR d'examens biologiques", system: 'LN' },
        typeOfData: 'TEXT',
        subtype: 'XML',
        encoding: 'Base64',
        location: 'OBX^1^5^1^5',
      });
      assert.deepEqual(u.txa, {
        type: { code: '11502-2', text: "CR d'examens biologiques", system: 'LN' },
        uniqueId: { extension: 'CRBIO2026000123', root: LAB_DOC_ROOT },
        parentId: null,
        completionStatus: 'LA',
        confidentiality: 'U',
        availability: 'AV',
      });
      assert.deepEqual(u.patientIds, [
        { id: 'LAB-778899', authority: 'LABO', oid: LAB_IPP_OID, type: 'PI' },
        { id: MARIE_NIR, authority: 'ASIP-SANTE-INS-NIR', oid: '1.2.250.1.213.1.4.8', type: 'INS' },
      ]);
    });

    it('reads the sharing metadata: flags, recipients, every line', () => {
      const { lines, recipients, ...flags } = u.sharing;
      assert.deepEqual(flags, {
        dmp: true,
        mssantePs: true,
        mssantePatient: false,
        hiddenFromProfessionals: true,
        invisibleToPatient: false,
        invisibleToLegalRepresentatives: true,
      });
      assert.deepEqual(recipients, [{ subId: '1', idNat: '810001112223', family: 'GENERALISTE', given: 'Jean', mssante: 'jean.generaliste@medecin.mssante.fr' }]);
      assert.equal(lines.length, SHARING_LINES.length);
      assert.deepEqual(lines[3], { setId: '5', valueType: 'CE', code: 'MASQUE_PS', label: 'Masqué aux professionnels de Santé', subId: '', value: 'Y', location: 'OBX^5' });
      assert.deepEqual(u.warnings, []);
    });
  });

  it('reads MDM^T10 (replacement: TXA-13) and MDM^T04 (TXA-19 CA, visibility change)', () => {
    const t10 = unwrapHl7Document(carrierMessage(xml, { event: 'T10' }));
    assert.deepEqual(t10.txa?.parentId, { extension: 'CRBIO2026000100', root: LAB_DOC_ROOT });
    const t04 = unwrapHl7Document(carrierMessage(xml, { event: 'T04', metadata: [['MODIFICATION_CONFIDENTIALITE', 'Y^^expandedYes-NoIndicator'], ['MASQUE_PS', 'N^^expandedYes-NoIndicator']] }));
    assert.equal(t04.txa?.availability, 'CA');
    assert.equal(t04.sharing.confidentialityChange, true);
    assert.equal(t04.sharing.hiddenFromProfessionals, false);
    assert.ok((t04.cda as Buffer).equals(Buffer.from(xml)));
  });

  it('reads ORU^R01', () => {
    const u = unwrapHl7Document(carrierMessage(xml, { type: 'ORU' }));
    assert.equal(u.hl7.type, 'ORU');
    assert.equal(u.hl7.event, 'R01');
    assert.equal(u.txa, null);
    assert.ok((u.cda as Buffer).equals(Buffer.from(xml)));
  });

  it('reads the CDA as escaped text (ED encoding A): delimiters and line ends restored', () => {
    const tricky = cdaXml({ body: { structured: STRUCTURED_BODY.replace('Glucose', 'Glucose | ~ ^ \\ &amp; &lt;\r\n') }, title: 'A^B|C~D\\E&F' });
    const u = unwrapHl7Document(carrierMessage(tricky, { encoding: 'A', type: 'ORU' }));
    assert.equal(typeof u.cda, 'string');
    assert.equal(u.cda, tricky);
    const r = readCda(u.cda);
    assert.equal(r.title, 'A^B|C~D\\E&F');
    assert.equal(r.level, 3);
  });

  it('reads the CDA in hexadecimal (ED encoding Hex), and ^application^xml^', () => {
    const hex = unwrapHl7Document(carrierMessage(xml, { encoding: 'Hex' }));
    assert.ok((hex.cda as Buffer).equals(Buffer.from(xml)));
    const app = unwrapHl7Document(carrierMessage(xml, { typeOfData: 'application', subtype: 'xml' }));
    assert.ok((app.cda as Buffer).equals(Buffer.from(xml)));
    const noSubtype = unwrapHl7Document(carrierMessage(xml, { typeOfData: 'text/xml', subtype: '' }));
    assert.ok((noSubtype.cda as Buffer).equals(Buffer.from(xml)));
  });

  it('reads messages given as bytes, Latin-1 (MSH-18 8859/1) included', () => {
    const u = unwrapHl7Document(Buffer.from(carrierMessage(xml), 'utf8'));
    assert.ok((u.cda as Buffer).equals(Buffer.from(xml)));
    const latinXml = cdaXml({ body: { structured: STRUCTURED_BODY }, birthName: 'HÉRAULT', declaration: '<?xml version="1.0" encoding="ISO-8859-1"?>' });
    const latin = unwrapHl7Document(Buffer.from(carrierMessage(latinXml, { encoding: 'A', charset: '8859/1' }), 'latin1'));
    assert.equal(latin.cda, latinXml);
    assert.equal(readCda(latin.cda).patient.traits.birthName, 'HÉRAULT');
  });

  it('carries a 10 MB PDF (base64 in base64) byte for byte', function () {
    this.timeout(60000);
    const big = pdfLike(10 * 1000 * 1000, 3);
    const { reading } = readHl7Document(carrierMessage(cdaXml({ body: { pdf: big } })));
    assert.ok(reading.pdf?.equals(big));
  });

  it('reads what lib/cda/mdm buildMdm writes: the CDA and the sharing flags and recipients', async () => {
    const patient = qualifiedPatient();
    const document = documentInput('CR-BIO', {
      sharing: {
        dmp: true,
        mssantePs: true,
        mssantePatient: true,
        hiddenFromProfessionals: false,
        invisibleToPatient: true,
        invisibleToLegalRepresentatives: false,
        ackReception: true,
        recipients: [{ idNat: '10001112223', family: 'GÉNÉRALISTE', given: 'Jean', mssante: 'jean.generaliste@medecin.mssante.fr' }, { mssante: 'secretariat@chu-y.mssante.fr' }],
      },
    });
    const pdfDoc = await textPdf();
    const built = await buildCdaN1({ pdf: pdfDoc, patient, document, settings: settings() });
    const mdm = buildMdm(built.xml, built.meta, patient, document, settings(), 'T02', { controlId: 'B1' });
    const { unwrapped: u, reading } = readHl7Document(mdm);
    assert.equal(u.hl7.controlId, 'B1');
    assert.equal((u.cda as Buffer).toString('utf8'), built.xml);
    const { lines, recipients, ...flags } = u.sharing;
    assert.deepEqual(flags, { dmp: true, mssantePs: true, mssantePatient: true, hiddenFromProfessionals: false, invisibleToPatient: true, invisibleToLegalRepresentatives: false, ackReception: true });
    assert.deepEqual(recipients, [
      { subId: '1', idNat: '810001112223', family: 'GÉNÉRALISTE', given: 'Jean', mssante: 'jean.generaliste@medecin.mssante.fr' },
      { subId: '2', mssante: 'secretariat@chu-y.mssante.fr' },
    ]);
    assert.ok(lines.every((l) => l.code));
    assert.deepEqual(u.warnings, []);
    assert.deepEqual(reading.id, built.meta.id);
    assert.ok(reading.pdf?.equals(pdfDoc));
    assert.deepEqual(u.txa?.uniqueId, { extension: built.meta.id.extension, root: built.meta.id.root });
  });

  describe('refusals, with what the ACK must say', () => {
    it('not HL7: NOT_HL7, AR 100 (header unknown)', () => {
      const e = refused(() => unwrapHl7Document('<ClinicalDocument/>'), 'NOT_HL7', 'AR', '100', /not a readable HL7 v2 message/);
      assert.equal(e.header, null);
      const truncated = refused(() => unwrapHl7Document('MSH|^~\\&|LABO|X|DPI|Y|20261123||MDM^T02'), 'NOT_HL7', 'AR', '101');
      assert.equal(truncated.header?.type, 'MDM');
    });

    it('not ORU / MDM: UNSUPPORTED_MESSAGE, AR 200; another event: AR 201', () => {
      const adt = refused(() => unwrapHl7Document(carrierMessage(xml, { type: 'ADT', event: 'A28' })), 'UNSUPPORTED_MESSAGE', 'AR', '200', /ADT\^A28 does not carry a document/);
      assert.equal(adt.header?.controlId, 'DOC0001');
      assert.equal(adt.ack.location, 'MSH^1^9^1^1');
      refused(() => unwrapHl7Document(carrierMessage(xml, { event: 'T01' })), 'UNSUPPORTED_MESSAGE', 'AR', '201', /MDM\^T02, MDM\^T04, MDM\^T10/);
      refused(() => unwrapHl7Document(carrierMessage(xml, { type: 'ORU', event: 'R30' })), 'UNSUPPORTED_MESSAGE', 'AR', '201');
    });

    it('no OBX ED carrying XML: NO_DOCUMENT, AE 101 (a reference pointer is never followed)', () => {
      refused(() => unwrapHl7Document(carrierMessage(xml, { noDocument: true, metadata: SHARING_LINES })), 'NO_DOCUMENT', 'AE', '101', /no OBX of type ED/);
      refused(() => unwrapHl7Document(carrierMessage(xml, { valueType: 'RP', rawData: 'file:///etc/passwd' })), 'NO_DOCUMENT', 'AE', '101', /reference pointer \(RP\), never followed/);
      refused(() => unwrapHl7Document(carrierMessage(pdf, { typeOfData: 'application', subtype: 'pdf' })), 'NO_DOCUMENT', 'AE', '101', /application\/pdf, not XML/);
      refused(() => unwrapHl7Document(carrierMessage(xml, { rawData: '' })), 'NO_DOCUMENT', 'AE', '101', /empty/);
    });

    it('malformed base64: BAD_BASE64, AE 102 at OBX^1^5^1^5', () => {
      const b64 = Buffer.from(xml).toString('base64');
      const e = refused(() => unwrapHl7Document(carrierMessage(xml, { rawData: b64.slice(0, -3) })), 'BAD_BASE64', 'AE', '102', /OBX\^1\^5\^1\^5.*truncated/);
      assert.equal(e.ack.location, 'OBX^1^5^1^5');
      refused(() => unwrapHl7Document(carrierMessage(xml, { rawData: `${b64.slice(0, 100)}!${b64.slice(100)}` })), 'BAD_BASE64', 'AE', '102', /"!"/);
    });

    it('an ED encoding not understood, or bad hex: BAD_ED, AE 102', () => {
      refused(() => unwrapHl7Document(carrierMessage(xml, { encoding: 'UUENCODE', rawData: 'xx' })), 'BAD_ED', 'AE', '102', /"UUENCODE" is not supported/);
      refused(() => unwrapHl7Document(carrierMessage(xml, { encoding: 'Hex', rawData: 'ABC' })), 'BAD_ED', 'AE', '102');
    });

    it('a hostile or broken CDA inside a good message: readHl7Document gives the header and AE 102 at the data', () => {
      const dtd = refused(() => readHl7Document(carrierMessage(HOSTILE.xxeFile, { controlId: 'X1' })), 'DTD', 'AE', '102', /DTD not allowed/);
      assert.equal(dtd.header?.controlId, 'X1');
      assert.equal(dtd.ack.location, 'OBX^1^5^1^5');
      assert.ok(dtd.cause instanceof CdaRejectError);
      refused(() => readHl7Document(carrierMessage(cdaXml({ mediaType: 'text/plain' }))), 'NO_PDF', 'AE', '102');
      refused(() => readHl7Document(carrierMessage(cdaXml()), { maxBytes: 1000 }), 'TOO_LARGE', 'AE', '104');
    });
  });

  describe('documentAck', () => {
    it('AA for a document taken in, mirroring the header', () => {
      const u = unwrapHl7Document(carrierMessage(xml, { controlId: 'OK1' }));
      const ack = documentAck(u.message);
      const parsed = parseAck(ack);
      assert.equal(parsed.code, 'AA');
      assert.equal(parsed.controlId, 'OK1');
      const msh = parseHl7(ack).header();
      assert.equal(msh.receivingApplication, 'LABO^1.2.250.1.999.7.9^ISO');
      assert.equal(msh.event, 'T02');
    });

    it('AE / AR with the HL7 code, location and reason of the refusal', () => {
      let err: unknown;
      try {
        readHl7Document(carrierMessage(cdaXml({ body: { text: 'QUJD!' } }), { controlId: 'KO1' }));
      } catch (e) {
        err = e;
      }
      const e = err as DocumentMessageError;
      const parsed = parseAck(documentAck(e.header, e));
      assert.equal(parsed.code, 'AE');
      assert.equal(parsed.controlId, 'KO1');
      assert.deepEqual(parsed.errors.map((x) => [x.code, x.location]), [['102', 'OBX^1^5^1^5']]);
      assert.match(parsed.text, /not valid base64/);

      let notHl7: unknown;
      try {
        unwrapHl7Document('bonjour');
      } catch (x) {
        notHl7 = x;
      }
      const ar = parseAck(documentAck((notHl7 as DocumentMessageError).header, notHl7));
      assert.equal(ar.code, 'AR');
      assert.equal(ar.errors[0].code, '100');
    });

    it('advises AE 207 for an unexpected error, AE 102 / 104 for a CdaRejectError', () => {
      assert.deepEqual(ackAdvice(new Error('disk full'), 'OBX^1^5'), { code: 'AE', hl7Code: '207', location: 'OBX^1^5' });
      assert.deepEqual(ackAdvice(new CdaRejectError('NOT_PDF', 'x'), 'OBX^2^5^1^5'), { code: 'AE', hl7Code: '102', location: 'OBX^2^5^1^5' });
      assert.equal(ackAdvice(new CdaRejectError('TOO_LARGE', 'x')).hl7Code, '104');
    });
  });
});

