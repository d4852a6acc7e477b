import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { SaxesParser } from 'saxes';
import { buildCdaN1 } from '../../lib/cda/build';
import { readCda, readCdaStream, tsToIso, type CdaReading } from '../../lib/cda/parse';
import { Base64Decoder, CdaRejectError, decodeBase64Strict, type CdaRejectCode } from '../../lib/cda/xml';
import { MARIE_NIR, OID, withKey, withWrongKey } from '../fixtures/adt';
import { documentInput, provisionalPatient, qualifiedPatient, settings } from '../fixtures/cda';
import {
  billionLaughs,
  cdaXml,
  deeplyNested,
  HOSTILE,
  LAB_DOC_ROOT,
  LAB_IPP_OID,
  pdfLike,
  STRUCTURED_BODY,
  wrapBase64,
  type CdaSpec,
} from '../fixtures/cda-hostile';
import { textPdf } from '../fixtures/pdf';

const MiB = 1024 * 1024;

function rejects(input: string | Buffer, code: CdaRejectCode, message?: RegExp, opts?: Parameters<typeof readCda>[1]): CdaRejectError {
  let caught: unknown;
  try {
    readCda(input, opts);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CdaRejectError, `expected CdaRejectError ${code}, got ${caught === undefined ? 'no error' : String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  if (message) assert.match(caught.message, message);
  return caught;
}

/** Counts the calls made to the file system and to saxes while `f` runs. */
function watch<T>(f: () => T): { result?: T; error?: unknown; fsCalls: string[]; saxesWrites: number } {
  const fsCalls: string[] = [];
  const names = ['readFileSync', 'openSync', 'readSync', 'readFile', 'open', 'read', 'createReadStream', 'existsSync', 'statSync'] as const;
  const fsAny = fs as unknown as Record<string, unknown>;
  const saved = names.map((n) => fsAny[n]);
  for (const n of names) {
    const orig = fsAny[n] as (...a: unknown[]) => unknown;
    fsAny[n] = (...args: unknown[]) => {
      fsCalls.push(`${n}(${String(args[0])})`);
      return orig.apply(fs, args);
    };
  }
  const proto = SaxesParser.prototype as unknown as { write: (...a: unknown[]) => unknown };
  const write = proto.write;
  let saxesWrites = 0;
  proto.write = function (this: unknown, ...args: unknown[]) {
    saxesWrites++;
    return write.apply(this, args);
  };
  try {
    return { result: f(), fsCalls, saxesWrites };
  } catch (error) {
    return { error, fsCalls, saxesWrites };
  } finally {
    names.forEach((n, i) => (fsAny[n] = saved[i]));
    proto.write = write;
  }
}

describe('lib/cda readCda (received CDA R2 documents)', () => {
  describe('a level-1 document (CI-SIS header, PDF)', () => {
    const pdf = pdfLike(50_000);
    const xml = cdaXml({ body: { pdf } });
    let r: CdaReading;
    before(() => {
      r = readCda(xml);
    });

    it('reads the header', () => {
      assert.deepEqual(r.id, { root: LAB_DOC_ROOT, extension: 'CRBIO2026000123' });
      assert.deepEqual(r.setId, { root: LAB_DOC_ROOT, extension: 'SETBIO2026000123' });
      assert.equal(r.version, 1);
      assert.deepEqual(r.code, { code: '11502-2', codeSystem: '2.16.840.1.113883.6.1', displayName: "CR d'examens biologiques" });
      assert.equal(r.typeCode, '11502-2');
      assert.equal(r.title, "Compte rendu d'examens biologiques");
      assert.equal(r.effectiveTime, '2026-11-23T10:15:00+01:00');
      assert.equal(r.confidentiality, 'N');
      assert.deepEqual(r.templateIds, ['2.16.840.1.113883.2.8.2.1', '1.2.250.1.213.1.1.1.1', '1.3.6.1.4.1.19376.1.2.20']);
      assert.deepEqual(r.author, {
        id: { root: '1.2.250.1.71.4.2.1', extension: '810009876543' },
        given: 'Claire',
        family: 'BIOLOGISTE',
        specialty: { code: 'G15_10/SM05', codeSystem: '1.2.250.1.213.1.1.4.5', displayName: 'Médecin - Biologie médicale (SM)' },
        organization: { id: { root: '1.2.250.1.71.4.2.2', extension: '1690009999' }, name: 'Laboratoire des Essais (fictif)' },
      });
      assert.deepEqual(r.custodian, { id: { root: '1.2.250.1.71.4.2.2', extension: '1690009999' }, name: 'Laboratoire des Essais (fictif)' });
      assert.equal(r.relatedDocument, undefined);
      assert.deepEqual(r.warnings, []);
      assert.equal(r.encoding, 'string');
      assert.equal(r.bytes, Buffer.byteLength(xml));
    });

    it('reads the INS (key checked) and every patient id', () => {
      assert.deepEqual(r.patient.ins, {
        value: MARIE_NIR,
        oid: OID.NIR,
        kind: 'NIR',
        environment: 'production',
        keyValid: true,
        keyError: null,
        flagged: null,
      });
      assert.deepEqual(r.patient.ids, [
        { root: OID.NIR, extension: MARIE_NIR },
        { root: LAB_IPP_OID, extension: 'LAB-778899' },
      ]);
    });

    it('reads the traits from the CI-SIS name qualifiers', () => {
      assert.deepEqual(r.patient.traits, {
        birthName: 'MARTIN',
        firstNames: 'Marie Louise Anne',
        firstName: 'Marie',
        usedName: 'DURAND',
        usedFirstName: '',
        birthDate: '1985-05-12',
        sex: 'F',
        birthPlace: '69123',
      });
    });

    it('gives the PDF byte for byte', () => {
      assert.equal(r.level, 1);
      assert.ok(r.pdf && pdf.equals(r.pdf));
      assert.equal(r.bodyXml, undefined);
    });

    it('reads the same from the UTF-8 bytes, with or without a byte order mark', () => {
      for (const input of [Buffer.from(xml, 'utf8'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml, 'utf8')])]) {
        const b = readCda(input);
        assert.equal(b.encoding, 'UTF-8');
        assert.deepEqual({ ...b, encoding: 'string', bytes: 0 }, { ...r, bytes: 0 });
      }
    });

    it('reads a string starting with a byte order mark', () => {
      assert.ok(readCda('\ufeff' + xml).pdf?.equals(pdf));
    });
  });

  describe('encodings', () => {
    const spec: CdaSpec = { birthName: 'DUPONT-HÉRAULT', firstNames: 'Zoé Noëlle', firstName: 'Zoé', usedName: null, title: 'Résultats — sérologie' };

    it('honours encoding="ISO-8859-1" (and its aliases) in the XML declaration', () => {
      for (const name of ['ISO-8859-1', 'iso-8859-1', 'latin1', 'ISO_8859-1']) {
        const text = cdaXml({ ...spec, title: 'Résultats de sérologie', declaration: `<?xml version="1.0" encoding="${name}"?>` });
        const r = readCda(Buffer.from(text, 'latin1'));
        assert.equal(r.encoding, 'ISO-8859-1');
        assert.equal(r.patient.traits.birthName, 'DUPONT-HÉRAULT');
        assert.equal(r.patient.traits.firstNames, 'Zoé Noëlle');
        assert.equal(r.title, 'Résultats de sérologie');
      }
    });

    it('reads windows-1252 and ISO-8859-15 (the euro sign, œ)', () => {
      const text = cdaXml({ ...spec, birthName: 'CŒUR', title: 'Facture 12 €', declaration: '<?xml version="1.0" encoding="windows-1252"?>' });
      const bytes = Buffer.from(text.replace('Œ', '\x8c').replace('€', '\x80'), 'latin1');
      const r = readCda(bytes);
      assert.equal(r.patient.traits.birthName, 'CŒUR');
      assert.equal(r.title, 'Facture 12 €');
      const t15 = cdaXml({ ...spec, birthName: 'CŒUR', title: 'Facture 12 €', declaration: '<?xml version="1.0" encoding="ISO-8859-15"?>' });
      const r15 = readCda(Buffer.from(t15.replace('Œ', '\xbc').replace('€', '\xa4'), 'latin1'));
      assert.equal(r15.patient.traits.birthName, 'CŒUR');
      assert.equal(r15.title, 'Facture 12 €');
    });

    it('reads UTF-16 with a byte order mark', () => {
      const text = cdaXml({ ...spec, declaration: '<?xml version="1.0" encoding="UTF-16"?>' });
      const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
      const r = readCda(le);
      assert.equal(r.patient.traits.birthName, 'DUPONT-HÉRAULT');
      assert.equal(r.title, spec.title);
      const be = Buffer.from(le);
      be.swap16();
      assert.equal(readCda(be).patient.traits.firstName, 'Zoé');
    });

    it('refuses bytes that are not in the declared encoding, and unsupported encodings', () => {
      const latin1AsUtf8 = Buffer.from(cdaXml(spec), 'latin1'); // declared UTF-8
      rejects(latin1AsUtf8, 'BAD_ENCODING', /not valid UTF-8/);
      rejects(Buffer.from(cdaXml({ declaration: '<?xml version="1.0" encoding="EBCDIC-FR"?>' })), 'BAD_ENCODING', /EBCDIC-FR.*not supported/);
      rejects(Buffer.from('\ufeff' + cdaXml({ declaration: '<?xml version="1.0" encoding="ISO-8859-1"?>' })), 'BAD_ENCODING', /byte order mark/);
    });
  });

  describe('the base64 body, however it is written', () => {
    const pdf = pdfLike(200_001);
    const b64 = pdf.toString('base64');
    const cases: [string, CdaSpec][] = [
      ['on one line', { lineWidth: 0 }],
      ['in 64-character lines ended by CRLF', { lineWidth: 64, eol: '\r\n' }],
      ['in odd-length lines (77), indented with tabs and spaces', { lineWidth: 77, eol: '\n\t  ' }],
      ['with a namespace prefix (cda:)', { prefix: 'cda' }],
      ['in a CDATA section', { body: { text: `<![CDATA[${wrapBase64(b64)}]]>` } }],
      ['split by a comment and a CDATA section', { body: { text: `${b64.slice(0, 1001)}<!-- coupure -->${b64.slice(1001, 5000)}<![CDATA[${b64.slice(5000, 7003)}]]>\n${b64.slice(7003)}` } }],
      ['with character references (&#43; &#x2F; &#10;)', { body: { text: wrapBase64(b64, 76, '&#10;').replace(/\+/g, '&#43;').replace(/\//g, '&#x2F;') } }],
      ['after a start tag with ">" in an attribute value', { textAttributes: 'ID="corps>pdf"' }],
      ['with an xml-stylesheet processing instruction and comments before the root', { prolog: '<?xml-stylesheet type="text/xsl" href="file:///etc/cda.xsl"?>\n<!-- envoyé par le laboratoire -->\n' }],
    ];
    for (const [what, spec] of cases) {
      it(`decodes it byte for byte ${what}`, () => {
        const xml = cdaXml({ body: { pdf }, ...spec });
        const r = readCda(xml);
        assert.ok(r.pdf, 'a PDF');
        assert.equal(r.pdf.length, pdf.length);
        assert.ok(pdf.equals(r.pdf));
        assert.ok(readCda(Buffer.from(xml, 'utf8')).pdf?.equals(pdf), 'from bytes too');
      });
    }

    it('decodes a 20 MB PDF byte for byte, from a string and from bytes', function () {
      this.timeout(60000);
      const big = pdfLike(20 * 1000 * 1000, 7);
      const xml = cdaXml({ body: { pdf: big } });
      const fromString = readCda(xml);
      assert.ok(fromString.pdf?.equals(big));
      const fromBytes = readCda(Buffer.from(xml, 'utf8'));
      assert.ok(fromBytes.pdf?.equals(big));
      assert.deepEqual(fromBytes.warnings, []);
    });

    it('warns when the PDF has no %%EOF near its end', () => {
      const cut = pdfLike(10_000).subarray(0, 9000);
      const r = readCda(cdaXml({ body: { pdf: cut } }));
      assert.match(r.warnings.join('\n'), /no %%EOF/);
    });
  });

  describe('the patient', () => {
    it('reads NIA, test and demonstration INS, flagged', () => {
      const nia = withKey('3850599123456');
      assert.deepEqual(readCda(cdaXml({ ins: nia, insOid: OID.NIA })).patient.ins, { value: nia, oid: OID.NIA, kind: 'NIA', environment: 'production', keyValid: true, keyError: null, flagged: null });
      const test = readCda(cdaXml({ insOid: OID.NIR_TEST })).patient.ins;
      assert.equal(test?.flagged, 'test');
      assert.equal(test?.environment, 'test');
      assert.equal(readCda(cdaXml({ insOid: OID.NIR_DEMO })).patient.ins?.flagged, 'demo');
    });

    it('checks the key (Corsica 2A / 2B included) and keeps a wrong key flagged, with a warning', () => {
      const corsica = withKey('185072A012345');
      assert.equal(readCda(cdaXml({ ins: corsica })).patient.ins?.keyValid, true);
      const wrong = withWrongKey('2850569123456');
      const r = readCda(cdaXml({ ins: wrong }));
      assert.equal(r.patient.ins?.value, wrong);
      assert.equal(r.patient.ins?.keyValid, false);
      assert.match(r.patient.ins?.keyError ?? '', /wrong key/);
      assert.match(r.warnings.join('\n'), /invalid key/);
      assert.equal(readCda(cdaXml({ ins: '12345' })).patient.ins?.keyValid, false);
    });

    it('has no INS without an id under an INS OID; an INS-C is not an INS', () => {
      assert.equal(readCda(cdaXml({ ins: null })).patient.ins, null);
      const legacy = readCda(cdaXml({ ins: null, extraIds: [{ root: OID.INS_C, extension: '0123456789012345678901' }] }));
      assert.equal(legacy.patient.ins, null);
      assert.match(legacy.warnings.join('\n'), /INS-C/);
      assert.equal(legacy.patient.ids.length, 2);
    });

    it('flags two different INS (insAmbiguous: matched on neither), with a warning', () => {
      const other = withKey('1850275056789');
      const r = readCda(cdaXml({ extraIds: [{ root: OID.NIR, extension: other }] }));
      assert.equal(r.patient.ins?.value, MARIE_NIR);
      assert.equal(r.patient.insAmbiguous, true);
      assert.match(r.warnings.join('\n'), /several different INS/);
      assert.equal(readCda(cdaXml()).patient.insAmbiguous, false);
    });

    it('reads used names (CL, else SP), several first names, a missing BR given', () => {
      const r = readCda(
        cdaXml({
          rawName: '<family qualifier="SP">LEROY</family><family qualifier="BR">MARTIN</family><given>Marie</given><given>Louise  Anne</given><given qualifier="CL">Malou</given>',
        }),
      );
      assert.equal(r.patient.traits.birthName, 'MARTIN');
      assert.equal(r.patient.traits.usedName, 'LEROY');
      assert.equal(r.patient.traits.firstNames, 'Marie Louise Anne');
      assert.equal(r.patient.traits.firstName, 'Marie');
      assert.equal(r.patient.traits.usedFirstName, 'Malou');
      const plain = readCda(cdaXml({ rawName: '<family>MARTIN</family><given>Marie</given>' }));
      assert.equal(plain.patient.traits.birthName, 'MARTIN');
      assert.match(plain.warnings.join('\n'), /without qualifier="BR"/);
    });

    it('reads the birth date of a birthTime with a time; none from a nullFlavor', () => {
      assert.equal(readCda(cdaXml({ birthTime: '19850512103000+0100' })).patient.traits.birthDate, '1985-05-12');
      assert.equal(readCda(cdaXml({ birthTime: null })).patient.traits.birthDate, '');
      const partial = readCda(cdaXml({ birthTime: '1985' }));
      assert.equal(partial.patient.traits.birthDate, '');
      assert.match(partial.warnings.join('\n'), /not a full date/);
      assert.equal(readCda(cdaXml({ sex: 'UN' })).patient.traits.sex, 'U');
    });

    it('reads relatedDocument (a replacement)', () => {
      const r = readCda(cdaXml({ relatedDocument: { typeCode: 'RPLC', id: 'CRBIO2026000100', setId: 'SETBIO2026000123', version: 1 } }));
      assert.deepEqual(r.relatedDocument, {
        type: 'RPLC',
        parentId: { root: LAB_DOC_ROOT, extension: 'CRBIO2026000100' },
        parentSetId: { root: LAB_DOC_ROOT, extension: 'SETBIO2026000123' },
        parentVersion: 1,
      });
    });
  });

  describe('a level-3 document (structuredBody)', () => {
    it('keeps the structuredBody as written, and has no PDF', () => {
      const xml = cdaXml({ body: { structured: STRUCTURED_BODY } });
      const r = readCda(xml);
      assert.equal(r.level, 3);
      assert.equal(r.pdf, null);
      assert.equal(r.bodyXml, `<structuredBody>${STRUCTURED_BODY}</structuredBody>`);
      assert.ok(xml.includes(r.bodyXml as string));
      assert.equal(r.patient.ins?.value, MARIE_NIR);
    });

    it('keeps it exactly from UTF-8 bytes with accents, and with a prefix', () => {
      const body = STRUCTURED_BODY.replace('Biochimie', 'Biochimie — résultats validés');
      const xml = cdaXml({ body: { structured: body }, prefix: 'v3', birthName: 'HÉRAULT' });
      const r = readCda(Buffer.from(xml, 'utf8'));
      const start = xml.indexOf('<v3:structuredBody>');
      const end = xml.indexOf('</v3:structuredBody>') + '</v3:structuredBody>'.length;
      assert.equal(r.bodyXml, xml.slice(start, end));
      assert.equal(r.patient.traits.birthName, 'HÉRAULT');
    });
  });

  describe('documents built by lib/cda/build (buildCdaN1)', () => {
    it('reads back what the builder wrote: ids, type, INS, traits, the PDF', async () => {
      const pdf = await textPdf();
      const patient = qualifiedPatient();
      const built = await buildCdaN1({ pdf, patient, document: documentInput('CR-IMAGERIE'), settings: settings() });
      const r = readCda(built.xml);
      assert.deepEqual(r.id, built.meta.id);
      assert.deepEqual(r.setId, built.meta.setId);
      assert.equal(r.typeCode, built.meta.typeCode);
      assert.equal(r.title, built.meta.title);
      assert.deepEqual(r.patient.ins, { value: patient.ins?.value, oid: patient.ins?.oid, kind: 'NIR', environment: 'production', keyValid: true, keyError: null, flagged: null });
      const t = r.patient.traits;
      assert.deepEqual(
        [t.birthName, t.firstNames, t.firstName, t.usedName, t.usedFirstName, t.birthDate, t.sex, t.birthPlace],
        [patient.birthName, patient.firstNames, patient.firstName, patient.usedName, patient.usedFirstName, patient.birthDate, patient.sex, patient.birthPlace],
      );
      assert.ok(r.pdf?.equals(pdf));
    });

    it('finds no INS in the document of an identity that is not qualified', async () => {
      const built = await buildCdaN1({ pdf: await textPdf(), patient: provisionalPatient(), document: documentInput('CR-BIO'), settings: settings() });
      const r = readCda(built.xml);
      assert.equal(r.patient.ins, null);
      assert.deepEqual(r.patient.ids, [{ root: OID.IPP, extension: '654321' }]);
      assert.equal(r.patient.traits.birthName, 'DUPONT-HÉRAULT');
    });
  });

  describe('readCdaStream', () => {
    it('reads a document arriving in chunks', async () => {
      const pdf = pdfLike(300_000);
      const bytes = Buffer.from(cdaXml({ body: { pdf } }), 'utf8');
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += 7777) chunks.push(bytes.subarray(i, i + 7777));
      const r = await readCdaStream(Readable.from(chunks));
      assert.ok(r.pdf?.equals(pdf));
    });

    it('stops reading a stream over maxBytes (TOO_LARGE) without draining it', async () => {
      let produced = 0;
      let destroyed = false;
      const stream = new Readable({
        read() {
          if (produced >= 60) return this.push(null);
          produced++;
          this.push(produced === 1 ? Buffer.concat([Buffer.from(cdaXml({ body: { text: '' } }).split('<text')[0]), Buffer.alloc(MiB - 4000, 0x41)]) : Buffer.alloc(MiB, 0x41));
        },
        destroy(err, cb) {
          destroyed = true;
          cb(err);
        },
      });
      await assert.rejects(readCdaStream(stream), (err: unknown) => err instanceof CdaRejectError && err.code === 'TOO_LARGE');
      assert.ok(produced <= 52, `${produced} MiB pulled from a 60 MiB stream`);
      assert.ok(destroyed, 'the stream is destroyed');
    });

    it('stops at a DOCTYPE in the first bytes (DTD) without reading the rest', async () => {
      let pulled = 0;
      async function* gen() {
        yield Buffer.from(billionLaughs());
        for (;;) {
          pulled++;
          yield Buffer.alloc(64 * 1024, 0x20);
          if (pulled > 1000) return;
        }
      }
      await assert.rejects(readCdaStream(gen()), (err: unknown) => err instanceof CdaRejectError && err.code === 'DTD');
      assert.ok(pulled <= 1, `${pulled} chunks pulled after the DTD`);
    });
  });

  describe('hostile inputs', () => {
    it('refuses an XXE (DOCTYPE with an external entity): DTD, and no file is opened', () => {
      const w = watch(() => readCda(HOSTILE.xxeFile));
      assert.ok(w.error instanceof CdaRejectError && w.error.code === 'DTD', String(w.error));
      assert.match((w.error as Error).message, /DTD not allowed.*DOCTYPE \(offset 39\)/);
      assert.deepEqual(w.fsCalls, []);
      assert.equal(w.saxesWrites, 0, 'refused before the parser sees a byte');
      const fromBytes = watch(() => readCda(Buffer.from(HOSTILE.xxeFile)));
      assert.equal((fromBytes.error as CdaRejectError).code, 'DTD');
      assert.deepEqual(fromBytes.fsCalls, []);
    });

    it('refuses every other DTD: network XXE, external DTD, parameter entities, lower case after comments and PIs, inside the root', () => {
      for (const name of ['xxeHttp', 'externalDtd', 'parameterEntity', 'disguisedDoctype'] as const) {
        const w = watch(() => readCda(HOSTILE[name]));
        assert.equal((w.error as CdaRejectError)?.code, 'DTD', `${name}: ${String(w.error)}`);
        assert.equal(w.saxesWrites, 0, `${name}: refused before the parser`);
      }
      rejects(HOSTILE.doctypeInside, 'DTD');
    });

    it('refuses the billion laughs at its DOCTYPE, before the DTD is read (even padded to 5 MB)', () => {
      for (const doc of [billionLaughs(), billionLaughs(5 * MiB)]) {
        const w = watch(() => readCda(doc));
        assert.equal((w.error as CdaRejectError)?.code, 'DTD');
        assert.match((w.error as Error).message, /offset 22\)/);
        assert.equal(w.saxesWrites, 0);
      }
    });

    it('refuses entity references without a DTD (ENTITY), whatever their name', () => {
      rejects(HOSTILE.undeclaredEntity, 'ENTITY', /only &lt; &gt; &amp; &quot; &apos;/);
      rejects(HOSTILE.prototypeEntity, 'ENTITY');
      rejects(cdaXml({ body: { text: `${pdfLike(1000).toString('base64')}&xxe;` } }), 'ENTITY');
    });

    it('refuses deep nesting (TOO_DEEP), default 256 levels or maxDepth', () => {
      rejects(deeplyNested(300), 'TOO_DEEP', /deeper than 256/);
      const w = watch(() => readCda(deeplyNested(1_000_000)));
      assert.equal((w.error as CdaRejectError).code, 'TOO_DEEP');
      assert.ok(w.saxesWrites < 300, `${w.saxesWrites} pieces read`);
      rejects(deeplyNested(250), 'BAD_CDA'); // deep, but within the limit
      rejects(cdaXml(), 'TOO_DEEP', /deeper than 5/, { maxDepth: 5 });
    });

    it('refuses a 60 MiB document (TOO_LARGE) without reading it, as bytes or as a string', () => {
      const head = Buffer.from(cdaXml({ body: { text: '' } }).split('<text')[0]);
      const big = Buffer.alloc(60 * MiB, 0x41);
      head.copy(big);
      const w = watch(() => readCda(big));
      assert.equal((w.error as CdaRejectError).code, 'TOO_LARGE');
      assert.match((w.error as Error).message, /62914560 bytes, over the limit of 52428800 bytes/);
      assert.equal(w.saxesWrites, 0);
      rejects('A'.repeat(60 * MiB), 'TOO_LARGE', /at least 62914560 bytes/);
      // a string whose UTF-8 form is over the limit though its length is not: refused as it is read
      const accents = cdaXml({ title: 'é'.repeat(3000) });
      const utf8 = Buffer.byteLength(accents);
      rejects(accents, 'TOO_LARGE', /more than \d+ bytes in UTF-8/, { maxBytes: utf8 - 1 });
      assert.ok(accents.length < utf8 - 3000);
      assert.equal(readCda(accents, { maxBytes: utf8 }).bytes, utf8);
      rejects(cdaXml(), 'TOO_LARGE', /limit of 1000 bytes/, { maxBytes: 1000 });
    });

    it('refuses a document of more elements than maxElements (default 1,000,000): TOO_LARGE', () => {
      const flat = `<ClinicalDocument xmlns="urn:hl7-org:v3">${'<a/>'.repeat(1_000_001)}</ClinicalDocument>`;
      rejects(flat, 'TOO_LARGE', /more than 1000000 elements/);
      rejects(cdaXml(), 'TOO_LARGE', /more than 20 elements/, { maxElements: 20 });
    });

    it('refuses input that is not XML (NOT_XML), saying what it looks like', () => {
      rejects('', 'NOT_XML', /empty/);
      rejects('   \n ', 'NOT_XML', /empty/);
      rejects('MSH|^~\\&|LABO|X\r', 'NOT_XML', /HL7 v2 message/);
      rejects(pdfLike(100), 'NOT_XML', /PDF file/);
      rejects(Buffer.from(cdaXml()).toString('base64'), 'NOT_XML', /base64/);
      rejects('{"resourceType":"Bundle"}', 'NOT_XML', /JSON/);
      rejects('Bonjour', 'NOT_XML', /starts with "Bonjour"/);
      rejects(undefined as unknown as string, 'NOT_XML', /got undefined/);
    });

    it('refuses XML that is not well formed (NOT_XML): truncated, two roots, text after the root, bad markup', () => {
      const xml = cdaXml();
      rejects(xml.slice(0, xml.indexOf('<recordTarget') + 40), 'NOT_XML');
      rejects(xml.slice(0, xml.indexOf('<text') + 400), 'NOT_XML', /not terminated|truncated/);
      rejects(`${xml}<ClinicalDocument xmlns="urn:hl7-org:v3"/>`, 'NOT_XML', /one root/);
      rejects(`${xml}texte`, 'NOT_XML');
      rejects(xml.replace('<title>', '<title><'), 'NOT_XML');
      rejects(xml.replace('</title>', '</titre>'), 'NOT_XML');
      rejects('<?xml version="1.0"?><!-- pas fini', 'NOT_XML', /not terminated/);
      rejects('<?xml version="1.0"?><!ELEMENT x ANY><x/>', 'NOT_XML');
    });

    it('refuses XML that is not CDA (NOT_CDA) as soon as the root is read', () => {
      rejects('<root/>', 'NOT_CDA', /<root> in no namespace/);
      rejects(cdaXml().replace(' xmlns="urn:hl7-org:v3"', ''), 'NOT_CDA', /not ClinicalDocument in urn:hl7-org:v3/);
      rejects('<ClinicalDocument xmlns="urn:hl7-org:v2"/>', 'NOT_CDA', /namespace urn:hl7-org:v2/);
      rejects('<Bundle xmlns="http://hl7.org/fhir"><entry/></Bundle>', 'NOT_CDA');
    });

    it('refuses a CDA without a PDF body (NO_PDF), and never follows a reference', () => {
      rejects(cdaXml({ body: null }), 'NO_PDF', /no body/);
      rejects(cdaXml({ mediaType: 'text/plain', body: { text: 'Bonjour' } }), 'NO_PDF', /"text\/plain", not application\/pdf/);
      rejects(cdaXml({ mediaType: 'image/jpeg' }), 'NO_PDF', /image\/jpeg/);
      rejects(cdaXml({ representation: 'TXT' }), 'NO_PDF', /representation "TXT"/);
      rejects(cdaXml({ textAttributes: 'compression="DF"' }), 'NO_PDF', /compressed/);
      rejects(cdaXml({ body: { text: '' } }), 'NO_PDF', /empty/);
      rejects(cdaXml({ body: { text: '\n   \n' } }), 'NO_PDF', /empty/);
      rejects(cdaXml({ body: { raw: '<nonXMLBody><text mediaType="application/pdf" representation="B64"/></nonXMLBody>' } }), 'NO_PDF', /empty/);
      rejects(cdaXml({ body: { raw: '<nonXMLBody/>' } }), 'NO_PDF', /no text element/);
      const w = watch(() => readCda(cdaXml({ body: { text: '<reference value="file:///etc/passwd"/>' } })));
      assert.equal((w.error as CdaRejectError).code, 'NO_PDF');
      assert.match((w.error as Error).message, /<reference> instead of inline base64 data/);
      assert.deepEqual(w.fsCalls, []);
      // the same when the start tag holds a ">" (the text is then read through the parser)
      rejects(cdaXml({ textAttributes: 'ID="a>b"', body: { text: '<reference value="http://127.0.0.1:9/x.pdf"/>' } }), 'NO_PDF', /<reference>/);
      rejects(cdaXml({ textAttributes: 'ID="a>b"', mediaType: 'application/pdf', body: { pdf: Buffer.from('GIF89a……') } }), 'NOT_PDF');
    });

    it('refuses a header without one patient, or two bodies (BAD_CDA)', () => {
      rejects(cdaXml({ recordTargets: 0 }), 'BAD_CDA', /no patient/);
      rejects(cdaXml({ recordTargets: 2 }), 'BAD_CDA', /2 recordTarget/);
      rejects(cdaXml({ body: { raw: `<structuredBody>${STRUCTURED_BODY}</structuredBody><nonXMLBody/>` } }), 'BAD_CDA', /more than one body/);
    });

    it('refuses base64 that is not strictly base64 (BAD_BASE64)', () => {
      const b64 = pdfLike(3000).toString('base64'); // 4000 characters, no padding
      rejects(cdaXml({ body: { text: b64.slice(0, -1) } }), 'BAD_BASE64', /truncated: 3999 significant characters/);
      rejects(cdaXml({ body: { text: b64.slice(0, 2000) + '*' + b64.slice(2000) } }), 'BAD_BASE64', /character "\*" \(U\+002A\) at offset 2000/);
      rejects(cdaXml({ body: { text: b64.replace(/\+/g, '-').replace(/\//g, '_') } }), 'BAD_BASE64', /"[-_]"/);
      rejects(cdaXml({ body: { text: b64 + 'QQ==QUJD' } }), 'BAD_BASE64', /after the "=" padding/);
      rejects(cdaXml({ body: { text: b64 + 'Q===' } }), 'BAD_BASE64', /more than two "="/);
      rejects(cdaXml({ body: { text: b64 + 'QR==' } }), 'BAD_BASE64', /padding bits/);
      rejects(cdaXml({ body: { text: "Ceci n'est pas un PDF" } }), 'BAD_BASE64');
      rejects(cdaXml({ body: { text: b64 + '\u00e9' } }), 'BAD_BASE64', /U\+00E9/);
    });

    it('refuses a body that decodes to something else than a PDF (NOT_PDF), from its first bytes', () => {
      const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pdfLike(5000).subarray(20)]);
      rejects(cdaXml({ body: { pdf: png } }), 'NOT_PDF', /PNG image/);
      rejects(cdaXml({ body: { pdf: Buffer.from('Hello, world') } }), 'NOT_PDF', /"Hello/);
      rejects(cdaXml({ body: { pdf: Buffer.from('%PD') } }), 'NOT_PDF');
      // 3 MiB of non-PDF then an invalid character: NOT_PDF is seen on the first window, before the rest is read
      const junk = Buffer.alloc(3 * MiB, 0x20).toString('base64');
      rejects(cdaXml({ body: { text: `${junk}!` } }), 'NOT_PDF');
    });
  });

  describe('Base64Decoder and tsToIso', () => {
    it('decodes in pieces cut anywhere, white space anywhere', () => {
      const bytes = pdfLike(10_000);
      const text = wrapBase64(bytes.toString('base64'), 61, ' \r\n');
      for (const step of [1, 3, 4, 5, 1000, 1 << 20]) {
        const d = new Base64Decoder(text.length);
        for (let i = 0; i < text.length; i += step) d.feed(text.slice(i, i + step));
        assert.ok(d.end().equals(bytes), `pieces of ${step}`);
      }
      for (const n of [0, 1, 2, 3, 4, 5]) assert.ok(decodeBase64Strict(Buffer.alloc(n, 0xab).toString('base64')).equals(Buffer.alloc(n, 0xab)));
      assert.throws(() => decodeBase64Strict('QUJD\nR'), /truncated: 5/);
    });

    it('gives the same bytes and errors, canonical or not, from text or from bytes (feedBytes)', () => {
      const bytes = pdfLike(300_001);
      const canonical = bytes.toString('base64'); // several 64 KiB windows, padded
      const mixed = canonical.slice(0, 140_000) + wrapBase64(canonical.slice(140_000, 150_000), 50, ' ') + canonical.slice(150_000);
      for (const text of [canonical, mixed]) {
        const fromText = new Base64Decoder(text.length);
        fromText.feed(text);
        assert.ok(fromText.end().equals(bytes));
        const fromBytes = new Base64Decoder(text.length);
        fromBytes.feedBytes(Buffer.from(text, 'latin1'));
        assert.ok(fromBytes.end().equals(bytes));
        const fromArray = new Base64Decoder(10);
        fromArray.feedBytes(new Uint8Array(Buffer.from(text, 'latin1')));
        assert.ok(fromArray.end().equals(bytes));
      }
      const unpadded = pdfLike(300_000).toString('base64');
      const broken: [string, RegExp][] = [
        [`${unpadded.slice(0, 150_000)}*${unpadded.slice(150_000)}`, /character "\*" \(U\+002A\) at offset 150000/],
        [`${unpadded.slice(0, 65_532)}QQ==${unpadded.slice(65_536)}`, /data after the "=" padding \(character 65536\)/],
        [`${unpadded.slice(0, 65_536)}QQ==${unpadded.slice(65_536)}`, /data after the "=" padding \(character 65540\)/],
        [`${unpadded}QQ=`, /truncated: 400003 significant characters/],
        [`${unpadded}QR==`, /padding bits/],
        [`${unpadded.slice(0, 200_000)}-${unpadded.slice(200_001)}`, /"-"/],
      ];
      for (const [text, why] of broken) {
        assert.throws(() => decodeBase64Strict(text), why);
        const d = new Base64Decoder(text.length);
        assert.throws(() => {
          d.feedBytes(Buffer.from(text, 'latin1'));
          d.end();
        }, why);
      }
    });

    it('grows its buffer when the text is longer than announced', () => {
      const bytes = pdfLike(5000);
      const d = new Base64Decoder(10);
      d.feed(bytes.toString('base64'));
      assert.ok(d.end().equals(bytes));
    });

    it('zeroes the unused end of its buffer (no stale memory behind the PDF)', () => {
      const out = decodeBase64Strict(wrapBase64(pdfLike(100_000).toString('base64'), 10));
      const whole = Buffer.from(out.buffer, out.byteOffset, out.buffer.byteLength - out.byteOffset);
      assert.ok(whole.length > out.length + 1000, 'the buffer was sized from the text, white space included');
      assert.ok(whole.subarray(out.length).every((b) => b === 0));
    });

    it('converts HL7 time stamps to ISO 8601', () => {
      assert.equal(tsToIso('20261123101500+0100'), '2026-11-23T10:15:00+01:00');
      assert.equal(tsToIso('202611231015'), '2026-11-23T10:15:00');
      assert.equal(tsToIso('20261123'), '2026-11-23');
      assert.equal(tsToIso('20260230'), '');
      assert.equal(tsToIso('2026'), '');
    });
  });
});
