import assert from 'node:assert/strict';
import { buildCdaN1 } from '../../lib/cda/build';
import { buildMdm } from '../../lib/cda/transmission';
import { readCda } from '../../lib/cda/parse';
import {
  ackAdvice,
  documentAck,
  DocumentMessageError,
  readHl7Document,
  unwrapHl7Document,
  type AckAdvice,
  type DocumentCarrier,
  type SharingMetadata,
  type UnwrappedDocument,
} from '../../lib/cda/unwrap';
import { CdaRejectError, type CdaRejectCode } from '../../lib/cda/xml';
import { parseAck, parseHl7 } from '../../lib/hl7';
import { MARIE_NIR } from '../fixtures/adt';
import { documentInput, qualifiedPatient, settings } from '../fixtures/cda';
import { carrierMessage, cdaXml, HOSTILE, LAB_DOC_ROOT, LAB_IPP_OID, PARTICIPANTS, pdfLike, SHARING_LINES, STRUCTURED_BODY } from '../fixtures/cda-hostile';
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
      u = unwrapHl7Document(carrierMessage(xml, { metadata: SHARING_LINES, participants: PARTICIPANTS, controlId: 'MDM42' }));
    });

    it('summarises the header', () => {
      assert.deepEqual(u.hl7, { type: 'MDM', event: 'T02', structure: 'MDM_T02', controlId: 'MDM42', sender: 'LABO/LABO-ESSAIS', version: '2.6', processingId: 'P' });
      assert.equal(u.action, 'new');
      assert.equal(u.profile, '2.1^CISIS_CDA_HL7_V2');
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
        type: { code: '11502-2', text: '', system: '' },
        uniqueId: { extension: 'CRBIO2026000123', root: LAB_DOC_ROOT },
        parentId: null,
        completionStatus: 'AU',
        confidentiality: '',
        availability: '',
      });
      assert.deepEqual(u.patientIds, [
        { id: 'LAB-778899', authority: 'LABO', oid: LAB_IPP_OID, type: 'PI' },
        { id: MARIE_NIR, authority: 'ASIP-SANTE-INS-NIR', oid: '1.2.250.1.213.1.4.8', type: 'INS' },
      ]);
    });

    it('reads the ten flags of table MétaDMP/MSS under their published names, and every line', () => {
      const { lines, ...flags } = u.sharing;
      assert.deepEqual(flags, {
        hiddenFromProfessionals: true,
        invisibleToPatient: false,
        invisibleToLegalRepresentatives: true,
        secretConnection: false,
        confidentialityChange: false,
        dmp: true,
        mssantePs: true,
        mssantePatient: false,
        ackReception: false,
        ackReading: false,
      });
      assert.equal(lines.length, SHARING_LINES.length);
      assert.deepEqual(lines[0], { setId: '2', valueType: 'CWE', code: 'MASQUE_PS', label: 'Masqué aux professionnels de Santé', value: 'Y', location: 'OBX^2' });
      assert.deepEqual(u.warnings, []);
    });

    it('reads the PRT participants: the sender (SB) and the MSSanté recipient (RCT)', () => {
      assert.deepEqual(u.participants, [
        {
          role: 'SB',
          person: { id: '810009876543', family: 'BIOLOGISTE', given: 'Claire', authority: '1.2.250.1.71.4.2.1', idType: 'IDNPS' },
          organization: { name: 'LABO ESSAIS', id: '1690001234', idType: 'FINEG', authority: '1.2.250.1.71.4.2.2' },
          location: 'PRT^1',
        },
        {
          role: 'RCT',
          person: { id: '810001112223', family: 'GENERALISTE', given: 'Jean', authority: '1.2.250.1.71.4.2.1', idType: 'IDNPS' },
          mail: 'jean.generaliste@medecin.mssante.fr',
          location: 'PRT^2',
        },
      ]);
    });
  });

  it('reads the request (evenements-declenchants.md): T10 replaces TXA-13, T04 deletes; ORU by OBX-11', () => {
    const t10 = unwrapHl7Document(carrierMessage(xml, { event: 'T10' }));
    assert.equal(t10.action, 'replace');
    assert.deepEqual(t10.txa?.parentId, { extension: 'CRBIO2026000100', root: LAB_DOC_ROOT });
    const t04 = unwrapHl7Document(carrierMessage(xml, { event: 'T04', metadata: [['MODIF_CONF_CODE', 'N^^expandedYes-NoIndicator']] }));
    assert.equal(t04.action, 'delete');
    assert.equal(t04.sharing.confidentialityChange, false);
    assert.ok((t04.cda as Buffer).equals(Buffer.from(xml)));
    for (const [obx11, action] of [['F', 'new'], ['C', 'replace'], ['D', 'delete']] as const) {
      const orc = { F: 'NW', C: 'RO', D: 'CA' }[obx11];
      assert.equal(unwrapHl7Document(carrierMessage(xml, { type: 'ORU', obx11, orc })).action, action);
    }
  });

  it('refuses a request the message contradicts (ORC-1, OBX-11): AE 103 naming the field', () => {
    refused(() => unwrapHl7Document(carrierMessage(xml, { event: 'T10', obx11: 'F' })), 'UNSUPPORTED_MESSAGE', 'AE', '103', /OBX-11 "F" contradicts MDM\^T10/);
    refused(() => unwrapHl7Document(carrierMessage(xml, { event: 'T04', orc: 'NW' })), 'UNSUPPORTED_MESSAGE', 'AE', '103', /ORC-1 "NW"/);
    refused(() => unwrapHl7Document(carrierMessage(xml, { type: 'ORU', obx11: 'X' })), 'UNSUPPORTED_MESSAGE', 'AE', '103', /F \(new\), C \(replacement\) or D \(deletion\)/);
  });

  it('reads TXA-12 written without extension (the OID alone, EI-2 the organisation) as the volet allows', () => {
    const noExt = carrierMessage(xml).replace(/\|CRBIO2026000123\^\^[0-9.]+\^ISO\|/, `|${LAB_DOC_ROOT}.123^Organisation-Y|`);
    assert.deepEqual(unwrapHl7Document(noExt).txa?.uniqueId, { extension: '', root: `${LAB_DOC_ROOT}.123` });
  });

  it('reads the mail bodies (CORPSMAIL_PS, CORPSMAIL_PATIENT) in base64, with or without the final "=" padding, and NTE FIN', () => {
    const body = 'Cher confrère, voici le CR.';
    const b64 = Buffer.from(body).toString('base64');
    assert.ok(b64.endsWith('='), 'a text whose base64 is padded');
    const msg = carrierMessage(xml, {
      metadata: [
        ['DESTMSSANTEPAT', 'Y^^expandedYes-NoIndicator'],
        ['CORPSMAIL_PS', `^text^^Base64^${b64.replace(/=+$/, '')}`, 'ED'],
        ['CORPSMAIL_PATIENT', `^text^^Base64^${b64}`, 'ED'],
      ],
    }).replace(/(DESTMSSANTEPAT[^\r]*\r)/, '$1NTE||||FIN\r');
    for (const input of [msg, Buffer.from(msg)]) {
      const u = unwrapHl7Document(input);
      assert.equal(u.sharing.mailBodyProfessional, body);
      assert.equal(u.sharing.mailBodyPatient, body);
      assert.equal(u.sharing.patientMayNotReply, true);
      assert.deepEqual(u.warnings, []);
    }
    // one character short of a group, or padding bits set: not base64, ignored with a warning
    const broken = unwrapHl7Document(carrierMessage(xml, { metadata: [['CORPSMAIL_PS', '^text^^Base64^Q2hlciBjb25mcsOocmUsIHZvdXMgdHJvdXZlcmV6IGNpLWpvaW50IGxlIENSIGTigJlpbWFnZXJpZSBkZSBNLkR1cG9ud', 'ED']] }));
    assert.equal(broken.sharing.mailBodyProfessional, undefined);
    assert.match(broken.warnings.join(), /CORPSMAIL_PS\): the mail body is not readable base64/);
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

  it('reads what lib/cda/transmission buildMdm writes: the CDA, the flags, the participants', async () => {
    const patient = qualifiedPatient();
    const document = documentInput('CR-BIO', {
      sharing: {
        dmp: true,
        mssantePs: true,
        mssantePatient: true,
        hiddenFromProfessionals: false,
        invisibleToPatient: false,
        invisibleToLegalRepresentatives: true,
        ackReception: true,
        recipients: [{ idNat: '10001112223', family: 'GÉNÉRALISTE', given: 'Jean', mssante: 'jean.generaliste@medecin.mssante.fr' }, { mssante: 'marie@patient.mssante.fr', patient: true }],
      },
    });
    const pdfDoc = await textPdf();
    const built = await buildCdaN1({ pdf: pdfDoc, patient, document, settings: settings() });
    const mdm = buildMdm(built.xml, built.meta, patient, document, settings(), 'T02', { controlId: 'B1' });
    const { unwrapped: u, reading } = readHl7Document(mdm);
    assert.equal(u.hl7.controlId, 'B1');
    assert.equal(u.action, 'new');
    assert.equal((u.cda as Buffer).toString('utf8'), built.xml);
    const { lines, ...flags } = u.sharing;
    assert.deepEqual(flags, {
      hiddenFromProfessionals: false,
      invisibleToPatient: false,
      invisibleToLegalRepresentatives: true,
      secretConnection: false,
      confidentialityChange: false,
      dmp: true,
      mssantePs: true,
      mssantePatient: true,
      ackReception: true,
      ackReading: false,
    });
    assert.equal(lines.length, 10);
    assert.deepEqual(
      u.participants.map((p) => [p.role, p.person?.idType ?? '', p.mail ?? '']),
      [
        ['SB', 'IDNPS', ''],
        ['RCT', 'IDNPS', 'jean.generaliste@medecin.mssante.fr'],
        ['RCT', 'INS', 'marie@patient.mssante.fr'],
      ],
    );
    assert.deepEqual(u.warnings, []);
    assert.deepEqual(reading.id, built.meta.id);
    assert.ok(reading.pdf?.equals(pdfDoc));
    assert.deepEqual(u.txa?.uniqueId, { extension: built.meta.id.extension, root: built.meta.id.root });
  });

  describe('refusals, with what the ACK must say', () => {
    // the LPS volet (error-codes.md) keeps AR for what may succeed if sent again: an unreadable message is AE
    it('not HL7: NOT_HL7, AE 100 (header unknown)', () => {
      const e = refused(() => unwrapHl7Document('<ClinicalDocument/>'), 'NOT_HL7', 'AE', '100', /not a readable HL7 v2 message/);
      assert.equal(e.header, null);
      const truncated = refused(() => unwrapHl7Document('MSH|^~\\&|LABO|X|DPI|Y|20261123||MDM^T02'), 'NOT_HL7', 'AE', '101');
      assert.equal(truncated.header?.type, 'MDM');
    });

    it('not ORU / MDM: UNSUPPORTED_MESSAGE, AE 200; another event: AE 201; another version: AE 203', () => {
      const adt = refused(() => unwrapHl7Document(carrierMessage(xml, { type: 'ADT', event: 'A28' })), 'UNSUPPORTED_MESSAGE', 'AE', '200', /ADT\^A28 does not carry a document/);
      assert.equal(adt.header?.controlId, 'DOC0001');
      assert.equal(adt.ack.location, 'MSH^1^9^1^1');
      refused(() => unwrapHl7Document(carrierMessage(xml, { event: 'T01' })), 'UNSUPPORTED_MESSAGE', 'AE', '201', /MDM\^T02, MDM\^T04, MDM\^T10/);
      refused(() => unwrapHl7Document(carrierMessage(xml, { type: 'ORU', event: 'R30' })), 'UNSUPPORTED_MESSAGE', 'AE', '201');
      const v23 = refused(() => unwrapHl7Document(carrierMessage(xml, { version: '2.3' })), 'UNSUPPORTED_MESSAGE', 'AE', '203', /HL7 version "2.3" is not read/);
      assert.equal(v23.ack.location, 'MSH^1^12');
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
      const large = refused(() => readHl7Document(carrierMessage(cdaXml()), { maxBytes: 1000 }), 'TOO_LARGE', 'AE', '207');
      assert.equal(large.ack.application, '906');
    });
  });

  describe('messages received as bytes: the ED data decoded straight from the bytes', () => {
    const b64 = Buffer.from(xml).toString('base64');

    /** What unwrapHl7Document gives (or throws) for one input, to compare the bytes and the text paths. */
    function outcome(input: string | Buffer): Record<string, unknown> {
      try {
        const u = unwrapHl7Document(input);
        return {
          hl7: u.hl7,
          cda: Buffer.isBuffer(u.cda) ? u.cda.toString('hex') : u.cda,
          carrier: u.carrier,
          sharing: u.sharing,
          txa: u.txa,
          patientIds: u.patientIds,
          header: u.header,
          warnings: u.warnings,
        };
      } catch (err) {
        assert.ok(err instanceof DocumentMessageError, String(err));
        return { code: err.code, message: err.message, ack: err.ack, header: err.header };
      }
    }

    /** The message as bytes gives what the same message as text gives (the text path parses it whole). */
    function sameAsText(text: string, charset: BufferEncoding = 'utf8'): Record<string, unknown> {
      const bytes = outcome(Buffer.from(text, charset));
      assert.deepEqual(bytes, outcome(text));
      return bytes;
    }

    /** The document OBX moved after the metadata OBX lines. */
    function documentLast(text: string): string {
      const lines = text.split('\r').filter(Boolean);
      const doc = lines.findIndex((l) => l.startsWith('OBX|') && !l.includes('^MetaDMPMSS|'));
      lines.push(lines.splice(doc, 1)[0]);
      return lines.join('\r') + '\r';
    }

    it('reads the data from the bytes: the parsed message holds the other fields, ED-5 left out', () => {
      const u = unwrapHl7Document(Buffer.from(carrierMessage(xml, { metadata: SHARING_LINES, controlId: 'B1' }), 'utf8'));
      assert.ok((u.cda as Buffer).equals(Buffer.from(xml)));
      const obx = u.message.segment('OBX');
      assert.equal(obx?.value(5, 1, 4), 'Base64');
      assert.equal(obx?.value(5, 1, 5), '', 'the base64 text was never made a string');
      assert.equal(u.message.all('OBX').length, 1 + SHARING_LINES.length);
      assert.equal(u.message.segment('TXA')?.value(12), 'CRBIO2026000123');
      assert.equal(u.sharing.lines[0].label, 'Masqué aux professionnels de Santé');
      assert.equal(parseAck(documentAck(u.message)).controlId, 'B1');
    });

    it('MDM with the metadata OBX lines after, or before, the document OBX', () => {
      const after = sameAsText(carrierMessage(xml, { metadata: SHARING_LINES }));
      assert.equal((after.carrier as DocumentCarrier).location, 'OBX^1^5^1^5');
      const before = sameAsText(documentLast(carrierMessage(xml, { metadata: SHARING_LINES })));
      assert.equal((before.carrier as DocumentCarrier).location, `OBX^${SHARING_LINES.length + 1}^5^1^5`);
      const { lines: linesAfter, ...sharingAfter } = after.sharing as SharingMetadata;
      const { lines: linesBefore, ...sharingBefore } = before.sharing as SharingMetadata;
      assert.deepEqual(sharingBefore, sharingAfter);
      assert.deepEqual(
        linesBefore.map((l) => l.location),
        linesAfter.map((_, i) => `OBX^${i + 1}`),
      );
      assert.equal(before.cda, Buffer.from(xml).toString('hex'));
      const bad = sameAsText(documentLast(carrierMessage(xml, { metadata: SHARING_LINES, rawData: `${b64.slice(0, 8)}^${b64.slice(8)}` })));
      assert.equal(bad.code, 'BAD_BASE64');
      assert.deepEqual(bad.ack, { code: 'AE', hl7Code: '102', location: `OBX^${SHARING_LINES.length + 1}^5^1^5` });
    });

    it('ORU with two OBX ED: the first carrying XML is read, the other named in a warning', () => {
      const other = cdaXml({ body: { pdf: pdfLike(3000, 7) }, title: 'Autre' });
      const base = carrierMessage(xml, { type: 'ORU' });
      const second = `OBX|2|ED|11502-2^CR^LN||^TEXT^XML^Base64^${Buffer.from(other).toString('base64')}||||||F\r`;
      const two = sameAsText(base + second);
      assert.equal(two.cda, Buffer.from(xml).toString('hex'));
      assert.equal((two.carrier as DocumentCarrier).location, 'OBX^1^5^1^5');
      assert.deepEqual(two.warnings, ['OBX^2 also carries an XML document: only the first (OBX^1) is read']);
      // the second one is never decoded: broken, it changes nothing
      assert.deepEqual(sameAsText(base + second.replace('Base64^', 'Base64^!!')), two);
      // the first one broken: an error, not the second one
      const bad = sameAsText(carrierMessage(xml, { type: 'ORU', rawData: `${b64.slice(0, 10)}!${b64.slice(10)}` }) + second);
      assert.equal(bad.code, 'BAD_BASE64');
      assert.equal((bad.ack as AckAdvice).location, 'OBX^1^5^1^5');
      // a PDF in OBX^1, the CDA in OBX^2
      const pdfFirst = carrierMessage(pdf, { type: 'ORU', typeOfData: 'application', subtype: 'pdf' }) + second;
      const u = sameAsText(pdfFirst);
      assert.equal(u.cda, Buffer.from(other).toString('hex'));
      assert.equal((u.carrier as DocumentCarrier).location, 'OBX^2^5^1^5');
      assert.deepEqual(u.warnings, ['OBX^1 carries application/pdf, not XML']);
    });

    it('segments ended by CR, LF or CRLF; a byte order mark and blank lines before MSH', () => {
      const text = carrierMessage(xml, { metadata: SHARING_LINES });
      const cr = sameAsText(text);
      for (const eol of ['\n', '\r\n', '\n\r']) assert.deepEqual(sameAsText(text.replace(/\r/g, eol)), cr, JSON.stringify(eol));
      assert.deepEqual(sameAsText(`\ufeff\r\n  ${text.replace(/\r/g, '\r\n')}`), cr);
      // no terminator after the last segment, the data last in it (MDM: the request is the event's, OBX-11 may be absent)
      const lastData = carrierMessage(xml).replace(/\|\|\|\|\|\|F\r$/, '');
      assert.equal(sameAsText(lastData).cda, Buffer.from(xml).toString('hex'));
    });

    it('base64 with a stray character: BAD_BASE64 at OBX^1^5^1^5, as for the text', () => {
      const unpadded = pdfLike(3000).toString('base64'); // 4000 characters, no padding
      const big64 = Buffer.from(cdaXml({ body: { pdf: pdfLike(100_000) } })).toString('base64'); // over one 64 KiB window
      const cases: [string, RegExp][] = [
        [`${b64.slice(0, 100)}^${b64.slice(100)}`, /character "\^" \(U\+005E\) at offset 100/],
        [`${b64.slice(0, 101)}~${b64.slice(101)}`, /"~"/],
        [`${b64.slice(0, 102)}&${b64.slice(102)}`, /"&"/],
        [`${b64.slice(0, 103)}!${b64.slice(103)}`, /"!"/],
        [`${b64.slice(0, 104)}é${b64.slice(104)}`, /U\+00E9/],
        [`${b64.slice(0, 105)}\\X41\\${b64.slice(105)}`, /not valid base64/],
        [`${big64.slice(0, 70000)}*${big64.slice(70000)}`, /"\*" \(U\+002A\) at offset 70000/],
        [`${big64.slice(0, 65536)}QQ==${big64.slice(65536)}`, /after the "=" padding \(character 65540\)/],
        [b64.replace(/\+/g, '-').replace(/\//g, '_'), /"[-_]"/],
        [b64.slice(0, -3), /truncated/],
        [`${unpadded}QQ==QUJD`, /after the "=" padding/],
        [`${unpadded}QR==`, /padding bits/],
        [`${unpadded}Q===`, /more than two "="/],
        [`QQ==${b64}`, /after the "=" padding/],
      ];
      for (const [rawData, why] of cases) {
        const got = sameAsText(carrierMessage(xml, { rawData, metadata: SHARING_LINES, controlId: 'KO2' }));
        assert.equal(got.code, 'BAD_BASE64', rawData.slice(0, 120));
        assert.match(got.message as string, why);
        assert.match(got.message as string, /OBX\^1\^5\^1\^5/);
        assert.deepEqual(got.ack, { code: 'AE', hl7Code: '102', location: 'OBX^1^5^1^5' });
        assert.equal((got.header as { controlId: string }).controlId, 'KO2');
      }
      // a field separator in the data ends OBX-5: what is before it is the data
      const cut = sameAsText(carrierMessage(xml, { rawData: `${b64.slice(0, 101)}|${b64.slice(101)}` }));
      assert.equal(cut.code, 'BAD_BASE64');
      assert.match(cut.message as string, /truncated: 101 significant characters/);
    });

    it('base64 that is valid but not canonical: white space, escaped line breaks', () => {
      const spaced = sameAsText(carrierMessage(xml, { rawData: b64.replace(/(.{76})/g, '$1 ') }));
      assert.equal(spaced.cda, Buffer.from(xml).toString('hex'));
      const broken = sameAsText(carrierMessage(xml, { rawData: b64.replace(/(.{76})/g, '$1\\.br\\') }));
      assert.equal(broken.cda, Buffer.from(xml).toString('hex'));
      assert.equal(sameAsText(carrierMessage(xml, { rawData: '    ' })).code, 'NO_DOCUMENT');
      // the last group without its "=" padding, as several ANS example messages send it
      const padded = [xml, `${xml} `, `${xml}  `].map((x) => Buffer.from(x).toString('base64')).find((x) => x.endsWith('=')) as string;
      const unpadded = sameAsText(carrierMessage(xml, { rawData: padded.replace(/=+$/, '') }));
      assert.equal(Buffer.from(unpadded.cda as string, 'hex').toString('base64'), padded);
    });

    it('the other segments decoded per MSH-18: 8859/1, 8859/15, undeclared (UTF-8, else Latin-1)', () => {
      const latin = sameAsText(carrierMessage(xml, { metadata: SHARING_LINES, charset: '8859/1' }), 'latin1');
      assert.equal((latin.sharing as SharingMetadata).lines[0].label, 'Masqué aux professionnels de Santé');
      assert.equal(latin.cda, Buffer.from(xml).toString('hex'));
      const latin9 = carrierMessage(xml, { metadata: [['MASQUE_PS', 'Y^^expandedYes-NoIndicator']], charset: '8859/15' }).replace('Masqué', 'Œuvre €');
      const l9 = outcome(Buffer.from(Array.from(latin9, (c) => (c === 'Œ' ? 0xbc : c === '€' ? 0xa4 : c.charCodeAt(0)))));
      assert.deepEqual(l9, outcome(latin9));
      assert.equal((l9.sharing as SharingMetadata).lines[0].label, 'Œuvre € aux professionnels de Santé');
      // MSH-18 empty: UTF-8 when the bytes are UTF-8, else Latin-1 (the data, ASCII, changes nothing)
      const undeclared = carrierMessage(xml, { metadata: SHARING_LINES, charset: '' });
      assert.equal(((sameAsText(undeclared, 'utf8').sharing as SharingMetadata).lines[0].label), 'Masqué aux professionnels de Santé');
      assert.equal(((sameAsText(undeclared, 'latin1').sharing as SharingMetadata).lines[0].label), 'Masqué aux professionnels de Santé');
      // bytes not valid in the declared character set: AE 102 at MSH^1^18 (issue 11), never U+FFFD
      const wrong = outcome(Buffer.from(carrierMessage(xml, { metadata: SHARING_LINES, charset: 'UNICODE UTF-8' }), 'latin1'));
      assert.equal(wrong.code, 'BAD_ENCODING');
      assert.deepEqual(wrong.ack, { code: 'AE', hl7Code: '102', location: 'MSH^1^18' });
      const ebcdic = outcome(Buffer.from(carrierMessage(xml, { charset: 'EBCDIC' })));
      assert.equal(ebcdic.code, 'NOT_HL7');
      assert.equal((ebcdic.ack as AckAdvice).hl7Code, '103'); // MSH-18 not in the table of character sets
    });

    it('ED Hex and escaped text (A) as bytes; broken messages refused as before', () => {
      assert.equal(sameAsText(carrierMessage(xml, { encoding: 'Hex' })).cda, Buffer.from(xml).toString('hex'));
      assert.equal(sameAsText(carrierMessage(xml, { encoding: 'Hex', rawData: 'ABC' })).code, 'BAD_ED');
      assert.equal(sameAsText(carrierMessage(xml, { encoding: 'A', type: 'ORU' })).cda, xml);
      assert.equal(sameAsText(carrierMessage('<ClinicalDocument/>', { encoding: 'A', type: 'ORU' })).cda, '<ClinicalDocument/>');
      assert.equal(sameAsText(carrierMessage(xml, { encoding: 'UUENCODE', rawData: 'xx' })).code, 'BAD_ED');
      assert.equal(sameAsText(carrierMessage(xml, { type: 'ADT', event: 'A28' })).code, 'UNSUPPORTED_MESSAGE');
      assert.equal(sameAsText(carrierMessage(xml, { valueType: 'RP', rawData: 'file:///etc/passwd' })).code, 'NO_DOCUMENT');
      assert.equal(sameAsText(carrierMessage(xml, { rawData: '' })).code, 'NO_DOCUMENT');
      assert.equal(sameAsText(`${carrierMessage(xml)}ZZ|1\r`).code, 'NOT_HL7');
      assert.equal(sameAsText(carrierMessage(xml).replace('OBX|1|', 'OBXY1|')).code, 'NOT_HL7');
    });

    it('carries a 10 MB PDF (base64 in base64) from bytes, CRLF, byte for byte', function () {
      this.timeout(60000);
      const big = pdfLike(10 * 1000 * 1000, 5);
      const mdm = Buffer.from(carrierMessage(cdaXml({ body: { pdf: big } }), { metadata: SHARING_LINES }).replace(/\r/g, '\r\n'), 'utf8');
      const { unwrapped, reading } = readHl7Document(mdm);
      assert.ok(reading.pdf?.equals(big));
      assert.equal(unwrapped.sharing.dmp, true);
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

    it('AE with the messageErrorCondition code, location and reason of the refusal; MSH-17 FRA', () => {
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
      assert.equal(ar.code, 'AE');
      assert.equal(ar.errors[0].code, '100');
    });

    it('advises AE 207 for an unexpected error, AE 102 for a CdaRejectError, 207 + ERR-5 906 for a document too large (no 104 in the volets)', () => {
      assert.deepEqual(ackAdvice(new Error('disk full'), 'OBX^1^5'), { code: 'AE', hl7Code: '207', location: 'OBX^1^5' });
      assert.deepEqual(ackAdvice(new CdaRejectError('NOT_PDF', 'x'), 'OBX^2^5^1^5'), { code: 'AE', hl7Code: '102', location: 'OBX^2^5^1^5' });
      assert.deepEqual(ackAdvice(new CdaRejectError('TOO_LARGE', 'x')), { code: 'AE', hl7Code: '207', application: '906', location: undefined });
    });

    it('writes ERR as the LPS volet does: ERR-3 in table messageErrorCondition, ERR-5 in applicationErrorCode', () => {
      const u = unwrapHl7Document(carrierMessage(xml, { controlId: 'R9' }));
      const ack = documentAck(u.message, new CdaRejectError('TOO_LARGE', 'too large'));
      const lines = ack.split('\r');
      assert.equal(parseHl7(ack).segments[0].value(17), 'FRA');
      const err = lines.find((l) => l.startsWith('ERR|')) ?? '';
      assert.equal(err.split('|')[3], '207^Application error^messageErrorCondition');
      assert.equal(err.split('|')[5], "906^Erreur 'Autre'^applicationErrorCode");
      assert.equal(parseAck(ack).errors[0].application?.code, '906');
    });
  });
});

