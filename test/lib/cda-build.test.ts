import assert from 'node:assert/strict';
import {
  buildCdaN1,
  buildCdaN1Buffer,
  cdaToBuffer,
  CdaBuildError,
  DOCUMENT_TYPES,
  type CdaBuildErrorCode,
  type CdaBuildInput,
  type CdaBuildResult,
  toTs,
} from '../../lib/cda';
import { PdfError } from '../../lib/pdf';
import { OID } from '../fixtures/adt';
import {
  AUTHOR,
  documentInput,
  DOC_ROOT,
  PRESCRIPTION_TYPES,
  provisionalPatient,
  qualifiedPatient,
  SEGUR_TYPES,
  SET_ROOT,
  settings,
} from '../fixtures/cda';
import { cached, encryptedPdf, largePdf, MiB, NOT_PDFS, openActionJavaScriptPdf, pagelessPdf, pdfAPdf, textPdf, truncatedPdf } from '../fixtures/pdf';
import { checkCda, describeErrors, isError, type CdaCheckReport } from '../support/check-cda';

const NOW = new Date('2026-11-23T09:30:00Z');

function input(over: Partial<CdaBuildInput> & { pdf: Buffer }): CdaBuildInput {
  return { patient: qualifiedPatient(), document: documentInput('LDL'), settings: settings(), now: NOW, ...over };
}

/** The header: everything before the level-1 body. */
function header(xml: string): string {
  return xml.slice(0, xml.indexOf('<nonXMLBody'));
}

function bodyBase64(xml: string): string {
  const m = /<text mediaType="application\/pdf" representation="B64">([^<]*)<\/text>/.exec(xml);
  assert.ok(m, 'no level-1 body');
  return m[1];
}

async function buildError(p: Promise<unknown>): Promise<CdaBuildError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CdaBuildError, `expected a CdaBuildError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a CdaBuildError');
}

async function expectBuildError(p: Promise<unknown>, code: CdaBuildErrorCode, field: string, message: RegExp): Promise<CdaBuildError> {
  const err = await buildError(p);
  assert.equal(err.code, code, err.message);
  assert.equal(err.field, field, err.message);
  assert.match(err.message, message);
  return err;
}

describe('lib/cda buildCdaN1 (CI-SIS level 1)', () => {
  let pdfA: Buffer;
  let plain: Buffer;
  const built: Record<string, CdaBuildResult> = {};
  let report: CdaCheckReport;

  before(async function () {
    this.timeout(20 * 60_000);
    pdfA = await pdfAPdf();
    plain = await textPdf();
    const make = async (name: string, i: CdaBuildInput) => {
      built[name] = await buildCdaN1(i);
    };
    for (const type of [...SEGUR_TYPES, ...PRESCRIPTION_TYPES]) {
      await make(`${type}-qualified`, input({ pdf: pdfA, document: documentInput(type) }));
      await make(`${type}-provisional`, input({ pdf: pdfA, patient: provisionalPatient(), document: documentInput(type) }));
    }
    const first = built['LDL-qualified'].meta;
    await make(
      'LDL-version-2',
      input({ pdf: pdfA, document: documentInput('LDL', { title: 'Lettre de liaison (corrigée)', replaces: { id: first.id, setId: first.setId, version: first.version } }) }),
    );
    await make('CR-IMAGERIE-1MiB-not-pdfa', input({ pdf: await cached('large-1-nopdfa', () => largePdf(MiB, { pdfa: false })), document: documentInput('CR-IMAGERIE') }));
    await make(
      'CRO-variants',
      input({
        pdf: plain,
        patient: qualifiedPatient({ usedName: '', usedFirstName: '', firstNames: 'Marie', birthPlace: '99134' }),
        document: documentInput('34874-8', {
          confidentiality: 'V',
          title: 'CR opératoire <cholécystectomie> & suites',
          organization: { id: '12345678901234', idType: 'SIRET', name: 'Clinique des Essais', address: { lines: ['2 avenue des Tests', '69001 LYON'] } },
          legalAuthenticator: { idNat: '810009876543', family: 'CHEF', given: 'Anne', specialty: 'G15_10/SM05', prefix: 'PR', time: '2026-11-23T11:00:00+01:00' },
          encounter: { start: '2026-11-22', facilityType: 'SA03', practiceSetting: 'ETABLISSEMENT', code: 'EXTERNE' },
          serviceEvent: {
            start: '2026-11-22T09:00:00+01:00',
            end: '2026-11-22T10:30:00+01:00',
            code: { code: 'HMFC004', codeSystem: '1.2.250.1.213.2.5', codeSystemName: 'CCAM', displayName: 'Cholécystectomie, par cœlioscopie' },
          },
        }),
      }),
    );
    await make(
      'PRESC-KINE-unknown-sex',
      input({ pdf: pdfA, patient: provisionalPatient({ sex: 'U', birthDate: '', firstName: '', usedName: 'NOM-UTILISÉ' }), document: documentInput('PRESC-KINE', { encounter: { start: '2026-07-14T10:00:00' } }) }),
    );
    report = await checkCda(Object.fromEntries(Object.entries(built).map(([name, r]) => [name, r.xml])));
  });

  describe('the ANS conformance check (../shared/cisis/check-cda)', () => {
    it('checked every document', () => {
      assert.deepEqual(Object.keys(report.files).sort(), Object.keys(built).sort());
    });

    for (const name of [
      ...[...SEGUR_TYPES, ...PRESCRIPTION_TYPES].flatMap((t) => [`${t}-qualified`, `${t}-provisional`]),
      'LDL-version-2',
      'CR-IMAGERIE-1MiB-not-pdfa',
      'CRO-variants',
      'PRESC-KINE-unknown-sex',
    ]) {
      it(`${name}: no error (CDA XSD, CI-SIS structuration minimale, IHE XDS-SD, level-1 body)`, () => {
        const file = report.files[name];
        assert.ok(file, `no report for ${name}`);
        assert.equal(file.errors, 0, describeErrors(report));
        assert.deepEqual(file.findings.filter(isError), [], describeErrors(report));
      });
    }

    it('warns, as the level-1 check does, about a PDF without PDF/A-1 declaration', () => {
      const file = report.files['CR-IMAGERIE-1MiB-not-pdfa'];
      assert.ok(file.findings.some((f) => f.role === 'warning' && /PDF\/A-1/.test(f.message)), JSON.stringify(file.findings));
      assert.match(built['CR-IMAGERIE-1MiB-not-pdfa'].meta.warnings.join('\n'), /no PDF\/A/);
      assert.deepEqual(built['LDL-qualified'].meta.warnings, []);
    });

    after(() => {
      const counts = Object.values(report.files).reduce(
        (a, f) => ({ errors: a.errors + f.errors, warnings: a.warnings + f.findings.filter((x) => x.role === 'warning').length }),
        { errors: 0, warnings: 0 },
      );
      console.log(`      check-cda: ${Object.keys(report.files).length} documents, ${counts.errors} error(s), ${counts.warnings} warning(s)`);
    });
  });

  describe('header', () => {
    it('declares HL7 France, CI-SIS and IHE XDS-SD, realm FR, language fr-FR', () => {
      const h = header(built['LDL-qualified'].xml);
      assert.match(h, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"/);
      assert.match(h, /<realmCode code="FR"\/>/);
      assert.match(h, /<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"\/>/);
      for (const t of ['2.16.840.1.113883.2.8.2.1', '1.2.250.1.213.1.1.1.1', '1.3.6.1.4.1.19376.1.2.20']) assert.ok(h.includes(`<templateId root="${t}"/>`), t);
      assert.match(h, /<languageCode code="fr-FR"\/>/);
    });

    it('codes each type exactly as its value set lists it', () => {
      const expected: Record<string, [string, string, string]> = {
        LDL: ['11490-0', '2.16.840.1.113883.6.1', "Lettre de liaison à la sortie d'un établissement de soins"],
        CRO: ['34874-8', '2.16.840.1.113883.6.1', 'CR opératoire'],
        ORDONNANCE: ['57833-6', '2.16.840.1.113883.6.1', 'Prescription de produits de santé'],
        'CR-BIO': ['11502-2', '2.16.840.1.113883.6.1', "CR d'examens biologiques"],
        'CR-IMAGERIE': ['18748-4', '2.16.840.1.113883.6.1', "CR d'imagerie médicale"],
        'PRESC-BIO': ['PRESC-BIO', '1.2.250.1.213.1.1.4.12', "Prescription d'actes de biologie médicale"],
        'PRESC-KINE': ['PRESC-KINE', '1.2.250.1.213.1.1.4.12', "Prescription d'actes de kinésithérapie"],
        'PRESC-INF': ['PRESC-INF', '1.2.250.1.213.1.1.4.12', "Prescription d'actes infirmiers"],
      };
      for (const [type, [code, system, display]] of Object.entries(expected)) {
        const { xml, meta } = built[`${type}-qualified`];
        const name = system === '2.16.840.1.113883.6.1' ? 'LOINC' : 'TRE_A05-TypeDocComplementaire';
        assert.ok(header(xml).includes(`<code code="${code}" codeSystem="${system}" codeSystemName="${name}" displayName="${display}"/>`), type);
        assert.ok(header(xml).includes(`<title>${display}</title>`), type);
        assert.equal(meta.typeCode, code);
        assert.equal(meta.title, display);
      }
    });

    it('accepts every code of the DMP typeCode table, by code', async () => {
      for (const t of DOCUMENT_TYPES) {
        const { meta } = await buildCdaN1(input({ pdf: pdfA, document: documentInput(t.code) }));
        assert.equal(meta.type, t);
      }
    });

    it('writes times in the producer time zone with their offset', () => {
      const h = header(built['LDL-qualified'].xml);
      assert.match(h, /<effectiveTime value="20261123101500\+0100"\/>/);
      assert.match(h, /<low value="20261120083000\+0100"\/>\s*<high value="20261123100000\+0100"\/>/);
      assert.equal(built['LDL-qualified'].meta.effectiveTime, '20261123101500+0100');
      // a local time without offset in summer (PRESC-KINE-unknown-sex: 14 July), a date alone (CRO-variants)
      assert.match(header(built['PRESC-KINE-unknown-sex'].xml), /<low value="20260714100000\+0200"\/>/);
      assert.match(header(built['CRO-variants'].xml), /<encompassingEncounter>\s*<code code="EXTERNE"[^>]*\/>\s*<effectiveTime>\s*<low value="20261122"\/>/);
    });

    it('defaults the effective time to now', async () => {
      const { meta } = await buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { effectiveTime: undefined }) }));
      assert.equal(meta.effectiveTime, '20261123103000+0100');
    });

    it('gives each document a new id (16-character extension) and a different setId, version 1', () => {
      const ids = new Set<string>();
      for (const { xml, meta } of Object.values(built)) {
        assert.equal(meta.id.root, DOC_ROOT);
        assert.match(meta.id.extension ?? '', /^[0-9A-Z]{16}$/);
        assert.ok(header(xml).includes(`<id root="${DOC_ROOT}" extension="${meta.id.extension}"/>`));
        assert.equal(meta.setId.root, SET_ROOT);
        assert.notEqual(meta.setId.extension, meta.id.extension);
        ids.add(meta.id.extension as string);
      }
      assert.equal(ids.size, Object.keys(built).length);
      assert.equal(built['LDL-qualified'].meta.version, 1);
      assert.match(header(built['LDL-qualified'].xml), /<versionNumber value="1"\/>/);
    });

    it('takes a given id, setId and version', async () => {
      const { xml, meta } = await buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { id: 'DOC-0001', setId: '1.2.250.1.999.7^SET-0001', version: 3 }) }));
      assert.deepEqual(meta.id, { root: DOC_ROOT, extension: 'DOC-0001' });
      assert.deepEqual(meta.setId, { root: '1.2.250.1.999.7', extension: 'SET-0001' });
      assert.match(header(xml), /<setId root="1.2.250.1.999.7" extension="SET-0001"\/>\s*<versionNumber value="3"\/>/);
    });

    it('author: RPPS as national PS identifier 8+RPPS, specialty from JDV_AuthorSpecialty, organization by FINESS', () => {
      const h = header(built['LDL-qualified'].xml);
      assert.match(
        h,
        /<author>\s*<time value="20261123101500\+0100"\/>\s*<assignedAuthor>\s*<id root="1.2.250.1.71.4.2.1" extension="810001234567"\/>\s*<code code="G15_10\/SM26" codeSystem="1.2.250.1.213.1.1.4.5" displayName="Médecin - Qualifié en Médecine Générale \(SM\)"\/>/,
      );
      assert.match(h, /<representedOrganization>\s*<id root="1.2.250.1.71.4.2.2" extension="1690000001"\/>/);
      assert.match(h, /<custodian>\s*<assignedCustodian>\s*<representedCustodianOrganization>\s*<id root="1.2.250.1.71.4.2.2" extension="1690000001"\/>/);
      assert.match(h, /<name>\s*<prefix>DR<\/prefix>\s*<given>Paul<\/given>\s*<family>MÉDECIN<\/family>\s*<\/name>/);
    });

    it('legal authenticator: the author by default, signature S', () => {
      const h = header(built['LDL-qualified'].xml);
      assert.match(h, /<legalAuthenticator>\s*<time value="20261123101500\+0100"\/>\s*<signatureCode code="S"\/>\s*<assignedEntity>\s*<id root="1.2.250.1.71.4.2.1" extension="810001234567"\/>/);
      const v = header(built['CRO-variants'].xml);
      assert.match(v, /<legalAuthenticator>\s*<time value="20261123110000\+0100"\/>\s*<signatureCode code="S"\/>\s*<assignedEntity>\s*<id root="1.2.250.1.71.4.2.1" extension="810009876543"\/>/);
    });

    it('practice setting on the performer, facility type and service on the encounter', () => {
      const h = header(built['LDL-qualified'].xml);
      assert.match(h, /<performer typeCode="PRF">[\s\S]*<standardIndustryClassCode code="ETABLISSEMENT" codeSystem="1.2.250.1.213.1.1.4.9" displayName="Etablissement de santé"\/>[\s\S]*<\/performer>/);
      assert.match(h, /<encompassingEncounter>\s*<id root="1.2.250.1.999.1.3" extension="NDA2026001"\/>\s*<code code="IMP" codeSystem="2.16.840.1.113883.5.4"/);
      assert.match(h, /<healthCareFacility>\s*<code code="SA01" codeSystem="1.2.250.1.71.4.2.4" displayName="Etablissement public de santé"\/>\s*<serviceProviderOrganization>[\s\S]*<name>Service de médecine interne<\/name>/);
      assert.match(header(built['CRO-variants'].xml), /<code code="SA03" codeSystem="1.2.250.1.71.4.2.4"/);
    });

    it('SIRET organization, address lines, escaped title, act code, confidentiality V', () => {
      const h = header(built['CRO-variants'].xml);
      assert.match(h, /<id root="1.2.250.1.71.4.2.2" extension="312345678901234"\/>/);
      assert.match(h, /<streetAddressLine>2 avenue des Tests<\/streetAddressLine>\s*<streetAddressLine>69001 LYON<\/streetAddressLine>/);
      assert.ok(h.includes('<title>CR opératoire &lt;cholécystectomie&gt; &amp; suites</title>'));
      assert.match(h, /<code code="HMFC004" codeSystem="1.2.250.1.213.2.5" codeSystemName="CCAM" displayName="Cholécystectomie, par cœlioscopie"\/>/);
      assert.match(h, /<confidentialityCode code="V" codeSystem="2.16.840.1.113883.5.25" displayName="Très restreint"\/>/);
    });

    it('a new version keeps the setId, increments the version and names the replaced document (RPLC)', () => {
      const first = built['LDL-qualified'].meta;
      const { xml, meta } = built['LDL-version-2'];
      assert.deepEqual(meta.setId, first.setId);
      assert.equal(meta.version, 2);
      assert.notDeepEqual(meta.id, first.id);
      assert.deepEqual(meta.replaces, { id: first.id, setId: first.setId, version: 1 });
      assert.match(
        header(xml),
        new RegExp(
          `<relatedDocument typeCode="RPLC">\\s*<parentDocument>\\s*<id root="${DOC_ROOT}" extension="${first.id.extension}"/>\\s*<setId root="${SET_ROOT}" extension="${first.setId.extension}"/>\\s*<versionNumber value="1"/>`,
        ),
      );
      assert.match(header(xml), /<versionNumber value="2"\/>/);
    });
  });

  describe('patient', () => {
    it('qualified identity: the INS then the IPP, birth and used names with their qualifiers, traits', () => {
      const { xml, meta } = built['LDL-qualified'];
      const p = qualifiedPatient();
      assert.equal(meta.insIncluded, true);
      assert.match(
        header(xml),
        new RegExp(
          `<patientRole>\\s*<id root="1.2.250.1.213.1.4.8" extension="${p.ins?.value}"/>\\s*<id root="${OID.IPP}" extension="123456"/>\\s*<patient>\\s*<name>\\s*` +
            '<family qualifier="BR">MARTIN</family>\\s*<family qualifier="CL">DURAND</family>\\s*' +
            '<given>Marie Louise Anne</given>\\s*<given qualifier="BR">Marie</given>\\s*<given qualifier="CL">Marie</given>\\s*</name>\\s*' +
            '<administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1" displayName="Féminin"/>\\s*<birthTime value="19850512"/>\\s*' +
            '<birthplace>\\s*<place>\\s*<addr>\\s*<county>69123</county>',
        ),
      );
    });

    it('identity not qualified: no INS anywhere in the document, the IPP only', () => {
      for (const type of [...SEGUR_TYPES, ...PRESCRIPTION_TYPES]) {
        const { xml, meta } = built[`${type}-provisional`];
        assert.equal(meta.insIncluded, false);
        const ins = provisionalPatient().ins?.value as string;
        assert.ok(!xml.includes(ins), `${type}: the INS value is in the document`);
        assert.ok(!/1\.2\.250\.1\.213\.1\.4\.(8|9|10|11)"/.test(xml), `${type}: an INS OID is in the document`);
        assert.match(header(xml), new RegExp(`<patientRole>\\s*<id root="${OID.IPP}" extension="654321"/>\\s*<patient>`));
        assert.match(header(xml), /<family qualifier="BR">DUPONT-HÉRAULT<\/family>\s*<given qualifier="BR">Jean<\/given>/);
      }
    });

    it('unknown traits of an identity not qualified: sex U, birth time UNK, no first name', () => {
      const h = header(built['PRESC-KINE-unknown-sex'].xml);
      assert.match(h, /<administrativeGenderCode code="U" codeSystem="2.16.840.1.113883.5.1" displayName="Inconnu"\/>/);
      assert.match(h, /<birthTime nullFlavor="UNK"\/>/);
      assert.match(h, /<family qualifier="CL">NOM-UTILISÉ<\/family>/);
      assert.ok(!h.includes('<given qualifier="BR">'));
    });

    it('uses settings.ippAuthorityOid when the IPP has no OID', async () => {
      const patient = provisionalPatient({ ipp: { id: 'X1', authority: 'CHU-X', oid: '' } });
      const { xml } = await buildCdaN1(input({ pdf: pdfA, patient, settings: settings({ ippAuthorityOid: '1.2.250.1.999.42' }) }));
      assert.ok(header(xml).includes('<id root="1.2.250.1.999.42" extension="X1"/>'));
    });
  });

  describe('body', () => {
    it('is the PDF, base64, byte for byte', () => {
      assert.ok(Buffer.from(bodyBase64(built['LDL-qualified'].xml), 'base64').equals(pdfA));
      assert.equal(built['LDL-qualified'].meta.pages, 1);
      assert.deepEqual(built['LDL-qualified'].meta.pdfa, { part: 1, conformance: 'B' });
    });

    it('buildCdaN1Buffer and cdaToBuffer give the UTF-8 bytes of the same document', async () => {
      const i = input({ pdf: await cached('large-1', () => largePdf(MiB)), document: documentInput('LDL', { id: 'SAME', setId: 'SAMESET' }) });
      const s = await buildCdaN1(i);
      const b = await buildCdaN1Buffer(i);
      assert.ok(b.bytes.equals(Buffer.from(s.xml, 'utf8')));
      assert.ok(cdaToBuffer(s.xml).equals(Buffer.from(s.xml, 'utf8')));
      assert.deepEqual(b.meta, s.meta);
    });
  });

  describe('bad input: a CdaBuildError naming what is wrong', () => {
    it('no author', async () => {
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { author: undefined as never }) })), 'MISSING_AUTHOR', 'document.author', /the author is missing/);
    });

    it('an author without family name or specialty', async () => {
      await expectBuildError(
        buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { author: { ...AUTHOR, family: '' } as never }) })),
        'MISSING_AUTHOR',
        'document.author.family',
        /the author has no family/,
      );
      await expectBuildError(
        buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { author: { ...AUTHOR, specialty: '' } as never }) })),
        'MISSING_AUTHOR',
        'document.author.specialty',
        /no specialty/,
      );
    });

    it('an author with a wrong RPPS or an unknown specialty', async () => {
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { author: { ...AUTHOR, idNat: '1234' } }) })), 'INVALID', 'document.author.idNat', /"1234" is neither an RPPS number/);
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { author: { ...AUTHOR, specialty: 'G99' } }) })), 'INVALID', 'document.author.specialty', /"G99" is not a profession\/specialty code/);
    });

    it('an unknown document type', async () => {
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, document: documentInput('LETTRE') })), 'UNKNOWN_TYPE', 'document.type', /unknown document type "LETTRE"/);
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, document: documentInput('11528-7') })), 'UNKNOWN_TYPE', 'document.type', /"11528-7"/); // retired LOINC code
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, document: documentInput('E1762') })), 'UNKNOWN_TYPE', 'document.type', /"E1762"/); // a format, not a type
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, document: documentInput('') })), 'UNKNOWN_TYPE', 'document.type', /type is missing/);
    });

    const traits: [string, object, string, RegExp][] = [
      ['birth name', { birthName: '' }, 'patient.birthName', /qualified identity without its birth name \(patient\.birthName\)/],
      ['first name', { firstName: '' }, 'patient.firstName', /without its first birth first name \(patient\.firstName\)/],
      ['birth date', { birthDate: '' }, 'patient.birthDate', /without its birth date \(patient\.birthDate\)/],
      ['sex', { sex: 'U' }, 'patient.sex', /without its sex \(F or M\)/],
      ['INS', { ins: null }, 'patient.ins', /without its INS \(value and OID\)/],
    ];
    for (const [what, over, field, message] of traits) {
      it(`a qualified identity without its ${what}`, async () => {
        await expectBuildError(buildCdaN1(input({ pdf: pdfA, patient: qualifiedPatient(over) })), 'MISSING_TRAIT', field, message);
      });
    }

    it('a qualified identity missing several traits names them all', async () => {
      const err = await buildError(buildCdaN1(input({ pdf: pdfA, patient: qualifiedPatient({ birthName: '', birthDate: '' }) })));
      assert.match(err.message, /birth name \(patient\.birthName\), birth date \(patient\.birthDate\)/);
    });

    it('a qualified identity with a wrong INS key', async () => {
      const p = qualifiedPatient();
      const ins = { ...(p.ins as NonNullable<typeof p.ins>), value: `${p.ins?.value.slice(0, 13)}00` };
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, patient: qualifiedPatient({ ins }) })), 'INVALID', 'patient.ins.value', /wrong key/);
    });

    it('no IPP', async () => {
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, patient: provisionalPatient({ ipp: { id: '', authority: '', oid: '' } }) })), 'MISSING', 'patient.ipp.id', /the IPP is missing/);
    });

    const pdfs: [string, () => Promise<Buffer>, string, RegExp][] = [
      ['a PNG image', NOT_PDFS.png, 'NOT_PDF', /document PDF: not a PDF: .* a PNG image/],
      ['base64 text', NOT_PDFS.base64, 'NOT_PDF', /base64 of a PDF/],
      ['an encrypted PDF', async () => encryptedPdf(), 'ENCRYPTED', /document PDF: the PDF is encrypted/],
      ['zero bytes', async () => Buffer.alloc(0), 'EMPTY', /document PDF: the PDF is empty/],
      ['a PDF without page', pagelessPdf, 'EMPTY', /no page/],
      ['a truncated PDF', truncatedPdf, 'TRUNCATED', /truncated/],
      ['a PDF that runs JavaScript when opened', () => openActionJavaScriptPdf(), 'JAVASCRIPT', /document PDF: the PDF runs JavaScript when opened \(\/OpenAction \/S \/JavaScript\)/],
    ];
    for (const [what, make, pdfCode, message] of pdfs) {
      it(`${what} as the PDF`, async () => {
        const err = await expectBuildError(buildCdaN1(input({ pdf: await make() })), 'BAD_PDF', 'pdf', message);
        assert.ok(err.cause instanceof PdfError);
        assert.equal(err.cause.code, pdfCode);
      });
    }

    it('no encounter, or a facility type / practice setting outside its value set', async () => {
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { encounter: undefined as never }) })), 'MISSING', 'document.encounter', /the encounter .* is missing/);
      await expectBuildError(
        buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { encounter: { start: '2026-11-20', facilityType: 'SA99' } }) })),
        'INVALID',
        'document.encounter.facilityType',
        /"SA99" is not a code of TRE_R02-SecteurActivite/,
      );
      await expectBuildError(
        buildCdaN1(input({ pdf: pdfA, settings: settings({ defaultPracticeSetting: 'HOPITAL' }) })),
        'INVALID',
        'settings.defaultPracticeSetting',
        /"HOPITAL" is not a code of TRE_A01-CadreExercice/,
      );
    });

    it('dates: unreadable, or an end before the start', async () => {
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { effectiveTime: '23/11/2026' }) })), 'INVALID', 'document.effectiveTime', /"23\/11\/2026" is not a date/);
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { effectiveTime: '2026-11-23' }) })), 'INVALID', 'document.effectiveTime', /a date without time/);
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { effectiveTime: new Date(NaN) }) })), 'INVALID', 'document.effectiveTime', /an invalid Date/);
      await expectBuildError(
        buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { encounter: { start: '2026-11-20T10:00:00Z', end: '2026-11-19T10:00:00Z' } }) })),
        'INVALID',
        'document.encounter.end',
        /ends .* before it starts/,
      );
    });

    it('a replacement without the setId it keeps, or with the same id', async () => {
      await expectBuildError(
        buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { replaces: { id: 'OLD', version: 1 } }) })),
        'MISSING',
        'document.replaces.setId',
        /the setId of the replaced document/,
      );
      await expectBuildError(
        buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { id: 'SAME', replaces: { id: 'SAME', setId: 'S', version: 1 } }) })),
        'INVALID',
        'document.id',
        /needs a new id/,
      );
      await expectBuildError(
        buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { version: 1, replaces: { id: 'OLD', setId: 'S', version: 1 } }) })),
        'INVALID',
        'document.version',
        /does not follow the replaced version 1/,
      );
    });

    it('settings: document id OID, custodian FINESS, telecom prefix', async () => {
      await expectBuildError(buildCdaN1(input({ pdf: pdfA, settings: settings({ documentIdRoot: 'CHU-X' }) })), 'INVALID', 'settings.documentIdRoot', /"CHU-X" is not an OID/);
      await expectBuildError(
        buildCdaN1(input({ pdf: pdfA, settings: settings({ custodian: { finess: '1234', name: 'X' } }) })),
        'INVALID',
        'settings.custodian.finess',
        /"1234" is not a FINESS number/,
      );
      await expectBuildError(
        buildCdaN1(input({ pdf: pdfA, document: documentInput('LDL', { author: { ...AUTHOR, telecom: ['https://x.fr'] } }) })),
        'INVALID',
        'document.author.telecom[0]',
        /prefix the CI-SIS allows/,
      );
    });
  });

  describe('time stamps (toTs)', () => {
    const tz = 'Europe/Paris';
    it('writes instants in the producer time zone, winter and summer offsets', () => {
      assert.equal(toTs(new Date('2026-01-15T12:00:00Z'), tz), '20260115130000+0100');
      assert.equal(toTs(new Date('2026-07-15T12:00:00Z'), tz), '20260715140000+0200');
      assert.equal(toTs('2026-07-15T12:00:00Z', tz), '20260715140000+0200');
      assert.equal(toTs('2026-07-15T12:00:00-04:00', tz), '20260715180000+0200');
      assert.equal(toTs(new Date('2026-07-15T12:00:00Z'), 'America/Cayenne'), '20260715090000-0300');
    });

    it('reads wall-clock times without offset in the producer time zone, around DST changes', () => {
      assert.equal(toTs('2026-03-29T01:30:00', tz), '20260329013000+0100');
      assert.equal(toTs('2026-03-29T03:30', tz), '20260329033000+0200');
      assert.equal(toTs('2026-10-25T04:00:00', tz), '20261025040000+0100');
      assert.equal(toTs('202611231015', tz), '20261123101500+0100');
    });

    it('keeps dates and HL7 time stamps with an offset; refuses what is no date', () => {
      assert.equal(toTs('2026-11-23', tz), '20261123');
      assert.equal(toTs('20261123', tz), '20261123');
      assert.equal(toTs('20261123101500-0500', tz), '20261123101500-0500');
      for (const bad of ['2026-02-30', '2026-13-01', '23/11/2026', '2026-11-23T25:00:00', '20261123+0100', '', 'now']) assert.equal(toTs(bad, tz), null, bad);
    });
  });

  describe('a 10 MiB PDF (its cost against base64 is measured by npm run bench)', () => {
    it('warns that a body over 10,000,000 base64 characters is too large for libxml2-based validators', async () => {
      const { meta } = await buildCdaN1(input({ pdf: await cached(`large-${10 * MiB}`, () => largePdf(10 * MiB)) }));
      assert.match(meta.warnings.join('\n'), /libxml2/);
    });
  });
});
