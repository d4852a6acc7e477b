import assert from 'node:assert/strict';
import { resolveDepth, parseSince } from '../../lib/export/depth';
import { ExportError } from '../../lib/export/errors';
import { iiToIdentifier, nameUuid, patientResource } from '../../lib/export/fhir';
import { csvHeader, csvLine, jsonRow, MANIFEST_COLUMNS, type ManifestRow } from '../../lib/export/manifest';
import { asciiFold, patientFolderName, slug, typeSlug, UniqueNames } from '../../lib/export/names';
import { lisezMoi, readMe, type ExportDescription } from '../../lib/export/readme';
import { exportHistory } from '../../lib/export';
import { SqliteIdentityStore, type DocumentPatient } from '../../lib/store';
import { NOW, syntheticCda, syntheticPdf, unzipAll } from '../fixtures/export-docs';

const row = (over: Partial<ManifestRow> = {}): ManifestRow => ({
  patientFolder: 'X_Y_2000-01-01_1',
  ipp: '1',
  ippOid: '1.2.3',
  birthName: 'X',
  firstNames: 'Y',
  firstName: 'Y',
  usedName: '',
  birthDate: '2000-01-01',
  sex: 'F',
  ins: null,
  insOid: null,
  insQualified: false,
  documentId: '1.2^A',
  setId: '1.3^A',
  version: 1,
  status: 'current',
  replaces: null,
  typeCode: '11490-0',
  typeCodeSystem: '2.16.840.1.113883.6.1',
  typeLabel: 'LDL',
  title: 'T',
  productionDate: '2026-01-01T10:00:00+01:00',
  authorId: null,
  authorName: null,
  authorSpecialty: null,
  origin: 'produced',
  archivedAt: '2026-01-01T09:00:00.000Z',
  cdaFile: 'a.xml',
  cdaBytes: 1,
  cdaSha256: 'f'.repeat(64),
  pdfFile: null,
  pdfBytes: null,
  pdfSha256: null,
  ...over,
});

describe('lib/export formats', () => {
  it('file names: ASCII without accents, readable, bounded', () => {
    assert.equal(asciiFold('ÉLÉONORE Œdipe Straße Łódź Ærø'), 'ELEONORE OEdipe Strasse Lodz AEro');
    assert.equal(slug("  D'ARC — Jeanne  "), 'D-ARC-Jeanne');
    assert.equal(slug('x'.repeat(60), 10), 'xxxxxxxxxx');
    assert.equal(typeSlug('11490-0', 'whatever'), 'lettre-de-liaison');
    assert.equal(typeSlug('34874-8', ''), 'CR-operatoire');
    assert.equal(typeSlug('57833-6', ''), 'ordonnance');
    assert.equal(typeSlug('PRESC-KINE', "Prescription d'actes de kinésithérapie"), 'Prescription-d-actes-de-kinesitherapie');
    const p: Pick<DocumentPatient, 'birthName' | 'firstName' | 'firstNames' | 'birthDate' | 'ipp'> = {
      birthName: 'de la Fontaine-Müller',
      firstName: '',
      firstNames: 'Zoé Anne',
      birthDate: '1990-02-03',
      ipp: { id: 'A/12 3', oid: '1.2' },
    };
    assert.equal(patientFolderName(p, 'k'), 'DE-LA-FONTAINE-MULLER_Zoe_1990-02-03_A-12-3');
    assert.match(patientFolderName({ ...p, birthName: '', birthDate: '', ipp: null }, 'k'), /^SANS-NOM_Zoe_date-inconnue_sans-IPP-[0-9a-f]{8}$/);
    const u = new UniqueNames();
    assert.deepEqual([u.take('a', '.xml'), u.take('A', '.xml'), u.take('a', '.xml'), u.take('a', '.pdf')], ['a.xml', 'A-2.xml', 'a-3.xml', 'a.pdf']);
  });

  it('CSV: UTF-8 BOM, ";" separator, CRLF, quotes when needed, formulas neutralized; JSON exact', () => {
    assert.ok(csvHeader().startsWith('\ufeffpatientFolder;ipp;'));
    assert.ok(csvHeader().endsWith('pdfSha256\r\n'));
    assert.equal(csvHeader().split(';').length, MANIFEST_COLUMNS.length);
    const line = csvLine(row({ birthName: "O'NEIL; \"Junior\"", title: 'two\nlines', usedName: '=HYPERLINK("x")', firstNames: '-1+2', insQualified: true }));
    assert.ok(line.includes(';"O\'NEIL; ""Junior""";'));
    assert.ok(line.includes(';"two\nlines";'));
    assert.ok(line.includes(';"\'=HYPERLINK(""x"")";'));
    assert.ok(line.includes(";'-1+2;"));
    assert.ok(line.includes(';true;'));
    assert.ok(line.endsWith('\r\n'));
    const json = JSON.parse(jsonRow(row({ usedName: '=HYPERLINK("x")' })));
    assert.equal(json.usedName, '=HYPERLINK("x")');
    assert.deepEqual(Object.keys(json), MANIFEST_COLUMNS.map((c) => c.name));
    assert.equal(json.pdfFile, null);
  });

  it('depth: dates at midnight in the time zone (winter, summer), years back to the same day, 29 February', () => {
    assert.equal(new Date(parseSince('2024-07-01', 'Europe/Paris')).toISOString(), '2024-06-30T22:00:00.000Z');
    assert.equal(new Date(parseSince('2024-01-01', 'Europe/Paris')).toISOString(), '2023-12-31T23:00:00.000Z');
    assert.equal(new Date(parseSince('2024-01-01', 'UTC')).toISOString(), '2024-01-01T00:00:00.000Z');
    assert.equal(new Date(parseSince('2024-03-31', 'Europe/Paris')).toISOString(), '2024-03-30T23:00:00.000Z', 'the day summer time starts');
    assert.equal(parseSince('2024-01-01T10:00:00Z', 'Europe/Paris'), Date.parse('2024-01-01T10:00:00Z'));
    const leap = new Date('2028-02-29T12:00:00Z');
    assert.equal(resolveDepth({ years: 1 }, leap, 'Europe/Paris').since, '2027-02-28T00:00:00+01:00');
    assert.equal(resolveDepth({ years: 4 }, leap, 'Europe/Paris').since, '2024-02-29T00:00:00+01:00');
    assert.equal(resolveDepth({ years: 2 }, new Date('2026-07-14T12:00:00Z'), 'Europe/Paris').since, '2024-07-14T00:00:00+02:00');
    assert.deepEqual(resolveDepth({ everything: true }, NOW, 'Europe/Paris'), { mode: 'everything', since: null, sinceMs: null });
    assert.throws(() => resolveDepth({ since: '2027-01-01' }, NOW, 'Europe/Paris'), (e: ExportError) => e.code === 'FUTURE_DEPTH');
    assert.throws(() => resolveDepth({ everything: false } as never, NOW, 'Europe/Paris'), (e: ExportError) => e.code === 'BAD_ARGUMENT');
  });

  it('FHIR: identifiers from HL7 v3 II, name-based UUIDs, Patient without INS when not qualified', () => {
    assert.deepEqual(iiToIdentifier('1.2.250.1^ABC'), { system: 'urn:oid:1.2.250.1', value: 'ABC' });
    assert.deepEqual(iiToIdentifier('1.2.250.1.5'), { system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.250.1.5' });
    assert.match(nameUuid('x'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(nameUuid('x'), nameUuid('x'));
    assert.notEqual(nameUuid('x'), nameUuid('y'));
    const identity: DocumentPatient = {
      ipp: { id: '42', oid: '1.2.250.1.999.1.1', authority: 'CHU-X' },
      ins: { value: '185057512345678', oid: '1.2.250.1.213.1.4.8' },
      insQualified: false,
      birthName: 'DURAND',
      firstNames: '',
      firstName: 'Paul',
      usedName: '',
      birthDate: '',
      sex: 'U',
    };
    const p = patientResource({ uuid: 'u', identity, formerIpps: [] });
    assert.equal(JSON.stringify(p).includes('185057512345678'), false);
    assert.deepEqual(p.name, [{ use: 'official', family: 'DURAND', given: ['Paul'] }]);
    assert.equal(p.gender, 'unknown');
    assert.equal('birthDate' in p, false);
    const q = patientResource({ uuid: 'u', identity: { ...identity, insQualified: true, ins: { value: '1'.repeat(15), oid: '1.2.250.1.213.1.4.9' } }, formerIpps: ['1.2|7'] });
    const ids = q.identifier as { use: string; value: string; type?: { coding: { code: string }[] } }[];
    assert.deepEqual(ids.map((i) => [i.use, i.value, i.type?.coding[0].code]), [
      ['usual', '42', 'PI'],
      ['old', '7', 'PI'],
      ['official', '111111111111111', 'INS-NIA'],
    ]);
  });

  it('FHIR Patient: the FR Core identity-reliability status — PAM FR VALI with its INS is QUAL there, VALI without INS stays VALI', () => {
    const base: DocumentPatient = { ipp: { id: '42', oid: '1.2.250.1.999.1.1' }, ins: null, insQualified: false, birthName: 'X', firstNames: 'Y', firstName: 'Y', usedName: '', birthDate: '2000-01-01', sex: 'F' };
    const statusOf = (identity: DocumentPatient) => {
      const ext = patientResource({ uuid: 'u', identity, formerIpps: [] }).extension as { url: string; extension: { url: string; valueCoding: Record<string, string> }[] }[] | undefined;
      if (!ext) return null;
      assert.equal(ext[0].url, 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability');
      assert.equal(ext[0].extension[0].url, 'identityStatus');
      assert.equal(ext[0].extension[0].valueCoding.system, 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445');
      return [ext[0].extension[0].valueCoding.code, ext[0].extension[0].valueCoding.display];
    };
    const ins = { value: '285056912345688', oid: '1.2.250.1.213.1.4.8' };
    assert.deepEqual(statusOf({ ...base, status: 'VALI', insQualified: true, ins }), ['QUAL', 'Identité qualifiée']);
    assert.deepEqual(statusOf({ ...base, insQualified: true, ins }), ['QUAL', 'Identité qualifiée'], 'an archive written before the status was kept');
    assert.deepEqual(statusOf({ ...base, status: 'VALI' }), ['VALI', 'Identité validée']);
    assert.deepEqual(statusOf({ ...base, status: 'PROV' }), ['PROV', 'Identité provisoire']);
    assert.equal(statusOf({ ...base, status: 'VIDE' }), null);
    assert.equal(statusOf(base), null);
  });

  it('read-me files: every column, both languages, the equivalent command', () => {
    const d: ExportDescription = {
      exportId: 'e',
      producedAt: '2026-11-23T13:00:00+01:00',
      timeZone: 'Europe/Paris',
      software: { name: 'node-red-contrib-segur-dpi', version: '1.2.3' },
      producer: null,
      selection: { all: false, ipp: ['1', '2'], ins: ['3'] },
      depth: { mode: 'years', since: '2021-11-23T00:00:00+01:00', years: 5 },
      types: [{ code: '11490-0', label: 'LDL' }],
      versions: 'current',
      counts: { patients: 2, documents: 3, files: 12 },
    };
    const fr = lisezMoi(d);
    const en = readMe(d);
    for (const c of MANIFEST_COLUMNS) {
      assert.ok(fr.includes(`  ${c.name} `), c.name);
      assert.ok(en.includes(`  ${c.name} `), c.name);
    }
    const cmd = 'npx segur-dpi-export --store <ins-store.db> --years 5 --ipp 1 --ipp 2 --ins 3 --types 11490-0 --current-only --out <export.zip>';
    assert.ok(fr.includes(cmd) && en.includes(cmd));
    assert.ok(fr.includes('les 5 dernières années'));
    assert.ok(en.includes('the last 5 years'));
    assert.ok(fr.includes('\r\n') && !fr.replace(/\r\n/g, '').includes('\n'), 'CRLF line ends');
  });

  it('two patients whose folder names collide get distinct folders', async () => {
    const store = new SqliteIdentityStore({ file: ':memory:' });
    try {
      for (const [i, oid] of ['1.2.250.1.999.1.1', '1.2.250.1.999.7.7'].entries()) {
        const patient: DocumentPatient = {
          ipp: { id: '1000', oid, authority: `A${i}` },
          ins: null,
          insQualified: false,
          birthName: 'MARTIN',
          firstNames: 'Jean',
          firstName: 'Jean',
          usedName: '',
          birthDate: '1970-01-01',
          sex: 'M',
        };
        const id = `1.2.250.1.999.1.2.1^C${i}`;
        const pdf = syntheticPdf(700, i + 1);
        await store.archiveDocument({
          id,
          setId: `1.2.250.1.999.1.2.2^C${i}`,
          version: 1,
          typeCode: '11490-0',
          typeLabel: 'Lettre de liaison',
          title: 'Lettre de liaison',
          effectiveTime: '2026-01-05T10:00:00+01:00',
          origin: 'received',
          replaces: null,
          ippKey: `${oid}|1000`,
          patient,
          author: null,
          cda: syntheticCda({ id, setId: id, typeCode: '11490-0', typeLabel: 'Lettre de liaison', effectiveTs: '20260105100000+0100', patient, pdf }),
          pdf,
        });
      }
      const r = await exportHistory(store, { ipp: '1000' }, { everything: true }, { out: { buffer: true }, softwareVersion: 't', now: NOW });
      assert.deepEqual([r.patients, r.documents], [2, 2]);
      const folders = [...unzipAll(r.buffer!).keys()].filter((n) => n.startsWith('patients/')).map((n) => n.split('/')[1]);
      assert.deepEqual([...new Set(folders)].sort(), ['MARTIN_Jean_1970-01-01_1000', 'MARTIN_Jean_1970-01-01_1000-2']);
    } finally {
      await store.close();
    }
  });
});
