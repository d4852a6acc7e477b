import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCda } from '../../lib/cda';
import { readAdtPayload } from '../../lib/ins';
import { exportHistory, ExportError, MANIFEST_COLUMNS, type ExportResult, type ExportSelection, type ExportDepth, type ExportOptions } from '../../lib/export';
import { SqliteIdentityStore, type DocumentArchive, type DocumentRecord } from '../../lib/store';
import { adtMessage } from '../fixtures/adt';
import {
  archiveDocuments,
  DOC_SPECS,
  docId,
  JEAN_NIR,
  listTree,
  LUCIE_NIR,
  MARIE_NIR,
  NOW,
  OID,
  PATIENTS,
  readCdaHeader,
  readZipDirectory,
  SEGUR_CODES,
  sha1b64,
  sha256,
  tsToIso,
  unzipAll,
  ZOE_NIR,
  feedIdentities,
  fillSynthetic,
  type ArchivedDoc,
  type PatientName,
} from '../fixtures/export-docs';

const VERSION = '9.8.7-test';
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

interface Extracted {
  result: ExportResult;
  files: Map<string, Buffer>;
  manifest: {
    format: string;
    formatVersion: number;
    export: Record<string, any>;
    patients: Record<string, any>[];
    documents: Record<string, any>[];
  };
  bundle: any;
  csv: string[][];
}

/** Reads a CSV written with ';', CRLF, RFC 4180 quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ';') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

describe('lib/export exportHistory', function () {
  this.timeout(60_000);
  let dir: string;
  let store: SqliteIdentityStore;
  let docs: ArchivedDoc[];
  let seq = 0;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-export-'));
    store = new SqliteIdentityStore({ file: path.join(dir, 'ins-store.db') });
    await feedIdentities(store);
    docs = await archiveDocuments(store);
  });
  after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function outDir(): string {
    const d = path.join(dir, `out-${++seq}`);
    fs.mkdirSync(d);
    return d;
  }

  async function run(selection: ExportSelection, depth: ExportDepth, opts: Partial<ExportOptions> = {}): Promise<Extracted> {
    const d = outDir();
    const file = path.join(d, 'export.zip');
    const result = await exportHistory(store, selection, depth, { out: { file }, softwareVersion: VERSION, now: NOW, ...opts });
    assert.deepEqual(fs.readdirSync(d), ['export.zip'], 'only the archive in the output folder');
    const files = unzipAll(file);
    return {
      result,
      files,
      manifest: JSON.parse(files.get('manifest.json')!.toString('utf8')),
      bundle: JSON.parse(files.get('fhir-bundle.json')!.toString('utf8')),
      csv: parseCsv(files.get('manifest.csv')!.toString('utf8')),
    };
  }

  /** The ids an export must hold. */
  function expected(o: { who?: PatientName[]; since?: string; types?: string[] | '*'; current?: boolean } = {}): string[] {
    const types = o.types ?? Object.values(SEGUR_CODES);
    const replaced = new Set(DOC_SPECS.filter((s) => s.replaces).map((s) => s.replaces));
    return docs
      .filter((d) => !o.who || o.who.includes(d.spec.who))
      .filter((d) => !o.since || Date.parse(d.input.effectiveTime) >= Date.parse(o.since))
      .filter((d) => types === '*' || types.includes(d.input.typeCode))
      .filter((d) => !o.current || !replaced.has(d.spec.n))
      .map((d) => d.id)
      .sort();
  }

  const ids = (x: Extracted) => x.manifest.documents.map((r) => r.documentId as string).sort();

  /** Everything an archive must be, whatever the selection. */
  function checkArchive(x: Extracted): void {
    const { files, manifest, bundle, csv, result } = x;
    // files: the documents plus the six fixed files, and nothing else
    const docFiles = manifest.documents.flatMap((r) => [r.cdaFile, r.pdfFile].filter(Boolean));
    assert.deepEqual(
      [...files.keys()].sort(),
      [...docFiles, 'manifest.csv', 'manifest.json', 'fhir-bundle.json', 'manifest.sha256', 'LISEZ-MOI.txt', 'README.txt'].sort(),
    );
    assert.equal(result.files, files.size);
    assert.equal(result.documents, manifest.documents.length);
    assert.equal(result.patients, manifest.patients.length);
    for (const name of files.keys()) assert.match(name, /^[A-Za-z0-9._\/-]+$/, `${name}: ASCII-safe`);
    assert.equal(manifest.format, 'segur-dpi-export');
    assert.equal(manifest.formatVersion, 1);
    assert.equal(manifest.export.software.version, VERSION);
    assert.deepEqual(manifest.export.counts, { patients: result.patients, documents: result.documents, files: result.files });

    // every row: files, checksums, and the CDA header it describes
    for (const row of manifest.documents) {
      const archived = docs.find((d) => d.id === row.documentId)!;
      assert.ok(archived, `${row.documentId} is an archived document`);
      const cda = files.get(row.cdaFile)!;
      const pdf = files.get(row.pdfFile)!;
      assert.ok(cda.equals(archived.input.cda), `${row.cdaFile}: the CDA as archived`);
      assert.ok(pdf.equals(archived.input.pdf!), `${row.pdfFile}: the PDF as archived`);
      assert.equal(row.cdaSha256, sha256(cda));
      assert.equal(row.pdfSha256, sha256(pdf));
      assert.equal(row.cdaBytes, cda.length);
      assert.equal(row.pdfBytes, pdf.length);
      assert.ok(row.cdaFile.startsWith(`patients/${row.patientFolder}/`));
      assert.equal(row.cdaFile.replace(/\.xml$/, '.pdf'), row.pdfFile);
      // the CDA header as lib/cda's reader sees it, and the PDF it carries, byte for byte
      const h = readCda(cda);
      const ii = (id: { root: string; extension?: string } | null) => (id ? (id.extension ? `${id.root}^${id.extension}` : id.root) : null);
      assert.equal(row.documentId, ii(h.id));
      assert.equal(row.setId, ii(h.setId));
      assert.equal(row.version, h.version);
      assert.equal(row.typeCode, h.typeCode);
      assert.equal(row.typeCodeSystem, h.code?.codeSystem);
      assert.equal(row.typeLabel, h.code?.displayName);
      assert.equal(row.title, h.title);
      assert.equal(row.productionDate, h.effectiveTime);
      const t = h.patient.traits;
      assert.deepEqual(
        [row.birthName, row.firstNames, row.firstName, row.usedName, row.birthDate, row.sex],
        [t.birthName, t.firstNames, t.firstName, t.usedName, t.birthDate, t.sex],
      );
      assert.equal(row.authorId, h.author?.id?.extension);
      assert.equal(row.authorName, `${h.author?.given} ${h.author?.family}`);
      assert.ok(h.patient.ids.some((i) => i.root === row.ippOid && i.extension === row.ipp), 'the IPP of the header');
      if (row.insQualified) {
        assert.deepEqual([h.patient.ins?.oid, h.patient.ins?.value], [row.insOid, row.ins], 'a qualified INS: the one of the header');
      } else {
        assert.equal(row.ins, null);
        assert.equal(row.insOid, null);
        assert.equal(h.patient.ins, null, 'no INS in the CDA of an unqualified identity');
      }
      assert.ok(h.pdf?.equals(pdf), 'the PDF file is the one the CDA carries');
      assert.equal(tsToIso(readCdaHeader(cda).effectiveTime), h.effectiveTime, 'a second XML reader agrees');
      assert.equal(row.status, archived.spec.n === 5 && docs.some((d) => d.spec.replaces === 5) ? 'replaced' : 'current');
    }

    // the CSV: a BOM, the columns in order, the same values as the JSON
    assert.ok(files.get('manifest.csv')!.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])), 'UTF-8 BOM');
    const [header, ...lines] = csv;
    assert.deepEqual(header, MANIFEST_COLUMNS.map((c, i) => (i === 0 ? `\ufeff${c.name}` : c.name)));
    assert.equal(lines.length, manifest.documents.length);
    lines.forEach((line, i) => {
      const row = manifest.documents[i];
      assert.deepEqual(Object.keys(row), MANIFEST_COLUMNS.map((c) => c.name));
      MANIFEST_COLUMNS.forEach((c, j) => assert.equal(line[j], row[c.name] === null ? '' : String(row[c.name]), `${c.name} of row ${i}`));
    });

    // manifest.sha256: every file but itself, each checksum right
    const sums = files.get('manifest.sha256')!.toString('utf8').trimEnd().split('\n');
    const named = new Map(sums.map((l) => [l.slice(66), l.slice(0, 64)]));
    assert.ok(sums.every((l) => /^[0-9a-f]{64}  \S+$/.test(l)));
    assert.deepEqual([...named.keys()].sort(), [...files.keys()].filter((n) => n !== 'manifest.sha256').sort());
    for (const [name, sum] of named) assert.equal(sum, sha256(files.get(name)!), name);

    // FHIR: a collection; every reference resolves; every attachment is a file of the archive
    assert.equal(bundle.resourceType, 'Bundle');
    assert.equal(bundle.type, 'collection');
    const entries = bundle.entry as { fullUrl: string; resource: any }[];
    const byUrl = new Map(entries.map((e) => [e.fullUrl, e.resource]));
    assert.equal(byUrl.size, entries.length, 'fullUrls are unique');
    const patients = entries.filter((e) => e.resource.resourceType === 'Patient');
    const refs = entries.filter((e) => e.resource.resourceType === 'DocumentReference');
    assert.equal(patients.length, manifest.patients.length);
    assert.equal(refs.length, manifest.documents.length);
    for (const e of entries) assert.equal(e.fullUrl, `urn:uuid:${e.resource.id}`);
    const urls = new Set<string>();
    for (const { resource: r } of refs) {
      assert.equal(byUrl.get(r.subject.reference)?.resourceType, 'Patient');
      const row = manifest.documents.find((d) => r.content[0].attachment.url === d.cdaFile)!;
      assert.ok(row, 'the DocumentReference of a manifest row');
      const [root, ext] = row.documentId.split('^');
      assert.deepEqual(r.masterIdentifier, { system: `urn:oid:${root}`, value: ext });
      assert.equal(r.status, row.status === 'replaced' ? 'superseded' : 'current');
      const typeSystem = row.typeCodeSystem === '2.16.840.1.113883.6.1' ? 'http://loinc.org' : `urn:oid:${row.typeCodeSystem}`;
      assert.deepEqual(r.type.coding[0], { system: typeSystem, code: row.typeCode, display: row.typeLabel });
      assert.equal(r.date, row.productionDate);
      assert.equal(manifest.patients.find((p) => p.fhirPatient === r.subject.reference)?.folder, row.patientFolder);
      assert.equal(r.content.length, 2);
      assert.deepEqual(
        r.content.map((c: any) => [c.attachment.contentType, c.format.code]),
        [
          ['text/xml', 'urn:ihe:iti:xds-sd:pdf:2008'],
          ['application/pdf', 'urn:ihe:iti:xds:2017:mimeTypeSufficient'],
        ],
      );
      for (const c of r.content) {
        const f = files.get(c.attachment.url);
        assert.ok(f, `${c.attachment.url} is in the archive`);
        assert.equal(c.attachment.size, f.length);
        assert.equal(c.attachment.hash, sha1b64(f));
        urls.add(c.attachment.url);
      }
    }
    assert.deepEqual([...urls].sort(), docFiles.sort(), 'the bundle references every document file');
    for (const { resource: p } of patients) {
      const m = manifest.patients.find((x) => x.fhirPatient === `urn:uuid:${p.id}`)!;
      assert.ok(m);
      const ins = (p.identifier ?? []).find((i: any) => i.system?.startsWith('urn:oid:1.2.250.1.213.1.4.'));
      if (m.insQualified) assert.deepEqual([ins?.system, ins?.value], [`urn:oid:${m.insOid}`, m.ins]);
      else assert.equal(ins, undefined);
      const ipp = p.identifier.find((i: any) => i.use === 'usual');
      assert.deepEqual([ipp.system, ipp.value, ipp.type.coding[0].code], [`urn:oid:${m.ippOid}`, m.ipp, 'PI']);
      assert.equal(p.gender, { F: 'female', M: 'male', U: 'unknown' }[m.sex as string]);
      assert.equal(p.birthDate, m.birthDate);
      assert.equal(p.name.find((n: any) => n.use === 'official').family, m.birthName);
      assert.equal(m.documents, manifest.documents.filter((d) => d.patientFolder === m.folder).length);
    }

    // the read-me files describe every field and how the export was made
    for (const name of ['LISEZ-MOI.txt', 'README.txt']) {
      const t = files.get(name)!.toString('utf8');
      for (const c of MANIFEST_COLUMNS) assert.ok(t.includes(`  ${c.name} `), `${name} describes ${c.name}`);
      assert.ok(t.includes(VERSION));
      assert.ok(t.includes('sha256sum -c manifest.sha256'));
      assert.ok(t.includes(manifest.export.exportId));
      assert.ok(t.includes('urn:ihe:iti:xds-sd:pdf:2008'));
    }

    // the ZIP: PDFs stored, the rest deflated; the result's size and checksum are the file's
    const zip = result.file ? fs.readFileSync(result.file) : result.buffer!;
    const { entries: zentries, comment } = readZipDirectory(zip);
    for (const e of zentries) assert.equal(e.method, e.name.endsWith('.pdf') ? 0 : 8, e.name);
    assert.match(comment, /Segur DPI export/);
    assert.equal(result.bytes, zip.length);
    assert.equal(result.sha256, sha256(zip));
  }

  it('exports the whole establishment, whole history: exactly the LDL, CRO and ordonnances, each checked against its CDA', async () => {
    const x = await run({ all: true }, { everything: true }, { producer: { name: 'CHU X (fictif)', finess: '690000001' } });
    assert.deepEqual(ids(x), expected());
    assert.equal(x.result.documents, 15);
    assert.equal(x.result.patients, 4, 'every patient with a document (LUCIE has none)');
    assert.equal(x.result.since, null);
    assert.deepEqual(x.result.types, ['11490-0', '34874-8', '57833-6']);
    checkArchive(x);
    // none of the other types
    for (const n of [4, 8, 11]) assert.ok(!ids(x).includes(docId(n)));
    // folders: birth name, first name, birth date, IPP — ASCII
    assert.deepEqual(x.manifest.patients.map((p) => p.folder), [
      'BEN-SALAH_Ahmed_1960-07-04_700002',
      'DUPONT-HERAULT_Jean_1975-02-01_654321',
      'LEFEVRE_Zoe_1992-03-14_700001',
      'MARTIN_Marie_1985-05-12_123456',
    ]);
    assert.ok(x.files.has('patients/MARTIN_Marie_1985-05-12_123456/2023-06-02_lettre-de-liaison_v2_' + x.manifest.documents.find((d) => d.documentId === docId(6))!.cdaFile.slice(-12)));
    // the replaced version is there, superseded, and the new one says so
    const v2 = x.bundle.entry.find((e: any) => e.resource.masterIdentifier?.value === 'X0006').resource;
    const v1 = x.bundle.entry.find((e: any) => e.resource.masterIdentifier?.value === 'X0005');
    assert.equal(v1.resource.status, 'superseded');
    assert.equal(v2.relatesTo[0].code, 'replaces');
    assert.equal(v2.relatesTo[0].target.reference, v1.fullUrl);
    assert.equal(x.manifest.documents.find((d) => d.documentId === docId(6))!.replaces, docId(5));
    assert.deepEqual(x.manifest.export.producer, { name: 'CHU X (fictif)', finess: '690000001' });
    assert.ok(x.files.get('LISEZ-MOI.txt')!.toString().includes('CHU X (fictif) (FINESS 690000001)'));
    assert.equal((fs.statSync(x.result.file!).mode & 0o777).toString(8), '600', 'readable by its owner only');
  });

  it('cuts the history at a date: since 2020-01-01 is midnight in Paris (23:00 UTC the day before)', async () => {
    const x = await run({ all: true }, { since: '2020-01-01' });
    assert.equal(x.result.since, '2020-01-01T00:00:00+01:00');
    assert.deepEqual(ids(x), expected({ since: '2020-01-01T00:00:00+01:00' }));
    assert.ok(ids(x).includes(docId(17)), '2020-01-01T00:30+01:00 is kept');
    assert.ok(!ids(x).includes(docId(16)), '2019-12-31T23:50+01:00 is not');
    checkArchive(x);
    assert.deepEqual(x.manifest.export.depth, { mode: 'since', since: '2020-01-01T00:00:00+01:00', asked: '2020-01-01' });
    assert.ok(x.files.get('LISEZ-MOI.txt')!.toString().includes('--since 2020-01-01'));
  });

  it('keeps the last N years: from the same day N years ago, midnight in Paris', async () => {
    const x = await run({ all: true }, { years: 5 });
    assert.equal(x.result.since, '2021-11-23T00:00:00+01:00');
    assert.deepEqual(ids(x), expected({ since: '2021-11-23T00:00:00+01:00' }));
    assert.ok(ids(x).includes(docId(14)) && !ids(x).includes(docId(13)));
    checkArchive(x);
    assert.deepEqual(x.manifest.export.depth, { mode: 'years', since: '2021-11-23T00:00:00+01:00', years: 5 });
    // a date-time with its offset is taken as is; summer time is handled
    const y = await run({ all: true }, { since: '2023-06-01T16:00:00+02:00' });
    assert.deepEqual(ids(y), expected({ since: '2023-06-01T14:00:00Z' }));
    assert.equal((await run({ ipp: '123456' }, { years: 1 })).result.since, '2025-11-23T00:00:00+01:00');
  });

  it('exports one patient by IPP, with the identity store\'s current identity and her INS', async () => {
    const x = await run({ ipp: '123456' }, { everything: true });
    assert.deepEqual(ids(x), expected({ who: ['MARIE'] }));
    assert.equal(x.result.patients, 1);
    checkArchive(x);
    const [p] = x.manifest.patients;
    assert.deepEqual(
      [p.folder, p.identitySource, p.ins, p.insOid, p.insQualified, p.usedName, p.documents],
      ['MARTIN_Marie_1985-05-12_123456', 'identity-store', MARIE_NIR, OID.NIR, true, 'DURAND', 6],
    );
    const patient = x.bundle.entry[0].resource;
    assert.deepEqual(patient.name, [
      { use: 'official', family: 'MARTIN', given: ['Marie', 'Louise', 'Anne'] },
      { use: 'usual', family: 'DURAND' },
    ]);
    assert.deepEqual(patient.identifier.find((i: any) => i.use === 'official'), {
      use: 'official',
      type: { coding: [{ system: 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203', code: 'INS-NIR', display: 'NIR définitif' }] },
      system: 'urn:oid:1.2.250.1.213.1.4.8',
      value: MARIE_NIR,
    });
    assert.equal(patient.gender, 'female');
    // the IPP with its authority OID selects the same
    const y = await run({ ipp: `${OID.IPP}|123456` }, { everything: true });
    assert.deepEqual(ids(y), ids(x));
  });

  it('exports one patient by INS (identity store or documents only), and a list of patients', async () => {
    const marie = await run({ ins: MARIE_NIR }, { everything: true });
    assert.deepEqual(ids(marie), expected({ who: ['MARIE'] }));
    const zoe = await run({ ins: ZOE_NIR.toLowerCase() }, { everything: true });
    assert.deepEqual(ids(zoe), expected({ who: ['ZOE'] }));
    assert.equal(zoe.manifest.patients[0].identitySource, 'document');
    checkArchive(zoe);
    const list = await run({ ipp: ['654321', '700002'] }, { everything: true });
    assert.deepEqual(ids(list), expected({ who: ['JEAN', 'AHMED'] }));
    assert.equal(list.result.patients, 2);
    checkArchive(list);
    const mixed = await run({ ipp: ['700002', '700002'], ins: [ZOE_NIR, MARIE_NIR] }, { since: '2022-01-01' });
    assert.deepEqual(ids(mixed), expected({ who: ['AHMED', 'ZOE', 'MARIE'], since: '2022-01-01T00:00:00+01:00' }));
    checkArchive(mixed);
  });

  it('filters types (codes or aliases, "*" for every type) and versions', async () => {
    const others = await run({ all: true }, { everything: true }, { types: ['CR-BIO', 'PRESC-KINE', '18748-4'] });
    assert.deepEqual(ids(others), [docId(4), docId(8), docId(11)].sort());
    checkArchive(others);
    assert.deepEqual(others.result.types, ['11502-2', 'PRESC-KINE', '18748-4']);
    const tre = others.manifest.documents.find((d) => d.typeCode === 'PRESC-KINE')!;
    assert.equal(tre.typeCodeSystem, '1.2.250.1.213.1.1.4.12');
    assert.ok(tre.cdaFile.includes('_Prescription-d-actes-de-kinesitherapie_v1_'));
    const every = await run({ all: true }, { everything: true }, { types: ['*'] });
    assert.deepEqual(ids(every), expected({ types: '*' }));
    assert.equal(every.result.documents, DOC_SPECS.length);
    assert.deepEqual(every.result.types, ['*']);
    const ldl = await run({ ipp: '123456' }, { everything: true }, { types: ['LDL'], versions: 'current' });
    assert.deepEqual(ids(ldl), [docId(2), docId(6)]);
  });

  it('puts no INS anywhere for a patient whose identity is not qualified (the INS read is stored, not qualified)', async () => {
    assert.equal(PATIENTS.JEAN.qualified, false);
    assert.equal(docs.find((d) => d.spec.who === 'JEAN')!.input.patient.ins?.value, JEAN_NIR, 'the archive holds the unqualified INS');
    const x = await run({ ipp: '654321' }, { everything: true }, { types: ['*'] });
    assert.equal(x.result.documents, 4);
    checkArchive(x);
    const everything = await run({ all: true }, { everything: true }, { types: ['*'] });
    const zipBytes = (e: Extracted) => fs.readFileSync(e.result.file!);
    for (const e of [x, everything]) {
      // every extracted file (CDA included: the builder writes no INS for an unqualified identity) and the ZIP itself
      for (const [name, bytes] of e.files) {
        assert.ok(!bytes.includes(JEAN_NIR), `${name} has no INS of Jean`);
        assert.ok(!bytes.includes(JEAN_NIR.slice(0, 13)), `${name} has not the 13 first characters of Jean's INS`);
      }
      assert.ok(!zipBytes(e).includes(JEAN_NIR));
    }
    // the control: a qualified patient's INS is there
    assert.ok(everything.files.get('manifest.json')!.includes(MARIE_NIR));
    assert.ok([...everything.files.entries()].some(([n, b]) => n.endsWith('.xml') && b.includes(MARIE_NIR)));
    assert.equal(x.manifest.patients[0].insQualified, false);
    assert.equal(x.manifest.patients[0].ins, null);
  });

  it('lists a patient asked for who has no document in the period: a valid archive with no document', async () => {
    const lucie = await run({ ipp: '700003' }, { everything: true });
    assert.equal(lucie.result.documents, 0);
    assert.equal(lucie.result.patients, 1);
    checkArchive(lucie);
    assert.deepEqual(lucie.csv.length, 1, 'the header line only');
    assert.equal(lucie.manifest.patients[0].ins, LUCIE_NIR);
    assert.equal(lucie.bundle.entry.length, 1);
    const byIns = await run({ ins: LUCIE_NIR }, { everything: true });
    assert.equal(byIns.manifest.patients[0].folder, 'BERNARD_Lucie_2000-01-20_700003');
    const marieLater = await run({ ipp: '123456' }, { since: '2026-11-01' });
    assert.equal(marieLater.result.documents, 0);
    assert.equal(marieLater.result.patients, 1);
    checkArchive(marieLater);
    assert.ok(marieLater.files.get('README.txt')!.toString().includes('0 document(s) of 1 patient(s)'));
  });

  it('exports to a Buffer with the same content', async () => {
    const file = await run({ ipp: '700001' }, { everything: true });
    const r = await exportHistory(store, { ipp: '700001' }, { everything: true }, { out: { buffer: true }, softwareVersion: VERSION, now: NOW });
    assert.ok(Buffer.isBuffer(r.buffer));
    assert.equal(r.file, undefined);
    const files = unzipAll(r.buffer!);
    assert.deepEqual([...files.keys()].sort(), [...file.files.keys()].sort());
    for (const [name, bytes] of files) {
      if (/\.(xml|pdf|csv)$/.test(name)) assert.ok(bytes.equals(file.files.get(name)!), name);
    }
    checkArchive({
      result: r,
      files,
      manifest: JSON.parse(files.get('manifest.json')!.toString()),
      bundle: JSON.parse(files.get('fhir-bundle.json')!.toString()),
      csv: parseCsv(files.get('manifest.csv')!.toString()),
    });
  });

  it('is read by unzip, and sha256sum -c manifest.sha256 passes in the extracted folder', async function () {
    if (!has('unzip') || !has('sha256sum')) this.skip();
    const x = await run({ all: true }, { everything: true }, { types: ['*'] });
    const into = path.join(path.dirname(x.result.file!), 'x');
    execFileSync('unzip', ['-q', x.result.file!, '-d', into]);
    assert.deepEqual(listTree(into), [...x.files.keys()].sort());
    const check = spawnSync('sha256sum', ['-c', 'manifest.sha256'], { cwd: into, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.equal(check.stdout.trim().split('\n').length, x.files.size - 1);
    assert.ok(check.stdout.trim().split('\n').every((l) => l.endsWith(': OK')));
    const test = spawnSync('unzip', ['-tq', x.result.file!], { encoding: 'utf8' });
    assert.equal(test.status, 0, test.stdout);
  });

  it('follows merges: documents filed under a merged IPP are in the surviving patient\'s history', async () => {
    const d = outDir();
    const s = new SqliteIdentityStore({ file: path.join(d, 'merge.db') });
    try {
      await feedIdentities(s);
      // a document of Marie filed under an old IPP, a later one under her IPP, then an A40 merging 654999 into 123456
      const old = { ...PATIENTS.MARIE, ipp: { ...PATIENTS.MARIE.ipp, id: '654999' } };
      await archiveDocuments(s, [
        { n: 901, who: 'MARIE', type: 'LDL', effectiveTime: '2018-05-05T10:00:00+02:00', patient: old },
        { n: 902, who: 'MARIE', type: 'CRO', effectiveTime: '2024-05-05T10:00:00+02:00' },
      ]);
      const merge = readAdtPayload(adtMessage({ event: 'A40', controlId: 'MERGE1', mrg: { ipp: '654999' } }));
      assert.equal((await s.applyAdt(merge, { sender: 'GAM/CHU-X', controlId: 'MERGE1', actor: 'test' }, { code: 'AA', text: '' })).outcome, 'applied');
      const r = await exportHistory(s, { ipp: '123456' }, { everything: true }, { out: { buffer: true }, softwareVersion: VERSION, now: NOW });
      const files = unzipAll(r.buffer!);
      const m = JSON.parse(files.get('manifest.json')!.toString());
      assert.equal(r.documents, 2);
      assert.equal(r.patients, 1);
      assert.deepEqual(m.patients[0].formerIpps, [`${OID.IPP}|654999`]);
      assert.deepEqual(m.documents.map((x: any) => [x.ipp, x.patientFolder]), [
        ['654999', 'MARTIN_Marie_1985-05-12_123456'],
        ['123456', 'MARTIN_Marie_1985-05-12_123456'],
      ]);
      const patient = JSON.parse(files.get('fhir-bundle.json')!.toString()).entry[0].resource;
      assert.deepEqual(patient.identifier.filter((i: any) => i.use === 'old').map((i: any) => i.value), ['654999']);
      // the old IPP leads to the same history; the whole establishment has one patient
      const viaOld = await exportHistory(s, { ipp: '654999' }, { everything: true }, { out: { buffer: true }, softwareVersion: VERSION, now: NOW });
      assert.equal(viaOld.documents, 2);
      const all = await exportHistory(s, { all: true }, { everything: true }, { out: { buffer: true }, softwareVersion: VERSION, now: NOW });
      assert.deepEqual([all.patients, all.documents], [1, 2]);
    } finally {
      await s.close();
    }
  });

  describe('bad input: a clear error, and no file left behind', () => {
    async function fails(
      code: string,
      selection: ExportSelection,
      depth: ExportDepth,
      opts: Partial<ExportOptions> = {},
      target?: string,
    ): Promise<ExportError> {
      const d = outDir();
      const before = listTree(d);
      const file = target ?? path.join(d, 'export.zip');
      const err = await exportHistory(store, selection, depth, { out: { file }, softwareVersion: VERSION, now: NOW, ...opts }).then(
        () => assert.fail('the export should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ExportError, String(err));
      assert.equal(err.code, code, err.message);
      assert.deepEqual(listTree(d), before, 'nothing left in the output folder');
      return err;
    }

    it('unknown patient (IPP, INS, or an INS only read on an unqualified identity)', async () => {
      let e = await fails('UNKNOWN_PATIENT', { ipp: ['123456', '999999'] }, { everything: true });
      assert.match(e.message, /IPP 999999/);
      assert.doesNotMatch(e.message, /123456/);
      e = await fails('UNKNOWN_PATIENT', { ins: '199999999999999' }, { everything: true });
      assert.match(e.message, /INS 199999999999999/);
      e = await fails('UNKNOWN_PATIENT', { ins: JEAN_NIR }, { everything: true });
      assert.match(e.message, /qualified/);
    });

    it('empty selection', async () => {
      const e = await fails('EMPTY_SELECTION', {}, { everything: true });
      assert.match(e.message, /no patient given/);
      await fails('EMPTY_SELECTION', { ipp: [], ins: [] }, { everything: true });
      await fails('BAD_ARGUMENT', { ipp: [' '] }, { everything: true });
      await fails('BAD_ARGUMENT', { all: true, ipp: '123456' }, { everything: true });
    });

    it('depth in the future', async () => {
      let e = await fails('FUTURE_DEPTH', { all: true }, { since: '2026-11-24' });
      assert.match(e.message, /future/);
      e = await fails('FUTURE_DEPTH', { all: true }, { since: '2026-11-23T13:00:01+01:00' });
      await fails('FUTURE_DEPTH', { all: true }, { years: -2 });
      // today is not the future
      const today = await run({ all: true }, { since: '2026-11-23' });
      assert.equal(today.result.documents, 0);
      assert.ok(e);
    });

    it('malformed depth, types or options', async () => {
      await fails('BAD_ARGUMENT', { all: true }, { since: '2026-02-30' });
      await fails('BAD_ARGUMENT', { all: true }, { since: '23/11/2020' });
      await fails('BAD_ARGUMENT', { all: true }, { since: '2020-01-01T10:00:00' });
      await fails('BAD_ARGUMENT', { all: true }, { since: '2020-01-01', years: 3 } as unknown as ExportDepth);
      await fails('BAD_ARGUMENT', { all: true }, {} as ExportDepth);
      await fails('BAD_ARGUMENT', { all: true }, { years: 0 });
      await fails('BAD_ARGUMENT', { all: true }, { years: 2.5 });
      const e = await fails('BAD_ARGUMENT', { all: true }, { everything: true }, { types: ['LDL', '99999-9'] });
      assert.match(e.message, /99999-9/);
      await fails('BAD_ARGUMENT', { all: true }, { everything: true }, { types: [] });
      await fails('BAD_ARGUMENT', { all: true }, { everything: true }, { timeZone: 'Mars/Olympus' });
    });

    it('output folder missing, not a folder, or output existing', async () => {
      const d = outDir();
      let e = await fails('UNWRITABLE', { all: true }, { everything: true }, {}, path.join(d, 'missing', 'export.zip'));
      assert.match(e.message, /does not exist/);
      fs.writeFileSync(path.join(d, 'plain-file'), 'x');
      e = await fails('UNWRITABLE', { all: true }, { everything: true }, {}, path.join(d, 'plain-file', 'export.zip'));
      assert.match(e.message, /not a folder/);
      assert.deepEqual(listTree(d), ['plain-file']);
      fs.mkdirSync(path.join(d, 'a-folder.zip'));
      await fails('UNWRITABLE', { all: true }, { everything: true }, {}, path.join(d, 'a-folder.zip'));
      const existing = path.join(d, 'existing.zip');
      fs.writeFileSync(existing, 'keep me');
      await fails('OUTPUT_EXISTS', { all: true }, { everything: true }, {}, existing);
      assert.equal(fs.readFileSync(existing, 'utf8'), 'keep me');
      const r = await exportHistory(store, { ipp: '700002' }, { everything: true }, { out: { file: existing, overwrite: true }, softwareVersion: VERSION, now: NOW });
      assert.equal(r.documents, 3);
      assert.equal(sha256(fs.readFileSync(existing)), r.sha256);
      assert.deepEqual(listTree(d), ['existing.zip', 'plain-file']);
    });

    it('a folder that cannot be written (read-only), when the process is not root', async function () {
      if (process.getuid?.() === 0) this.skip(); // root writes anywhere: covered by the missing-folder case
      const d = outDir();
      fs.chmodSync(d, 0o500);
      try {
        const e = await exportHistory(store, { all: true }, { everything: true }, { out: { file: path.join(d, 'x.zip') }, softwareVersion: VERSION, now: NOW }).catch((x) => x);
        assert.equal(e.code, 'UNWRITABLE');
        assert.deepEqual(fs.readdirSync(d), []);
      } finally {
        fs.chmodSync(d, 0o700);
      }
    });

    /** A store that fails on the n-th document read, or alters its bytes. */
    function faulty(mode: 'throw' | 'corrupt', at: number): DocumentArchive {
      let reads = 0;
      return {
        archiveDocument: (d) => store.archiveDocument(d),
        getDocument: (id) => store.getDocument(id),
        listDocuments: (q) => store.listDocuments(q),
        countDocuments: (q) => store.countDocuments(q),
        cancelDocument: (id) => store.cancelDocument(id),
        async documentContent(id: string) {
          const c = await store.documentContent(id);
          if (++reads === at) {
            if (mode === 'throw') throw new Error('disk I/O error (simulated)');
            return c && { cda: Buffer.concat([c.cda, Buffer.from(' ')]), pdf: c.pdf };
          }
          return c;
        },
      };
    }

    for (const [mode, code] of [
      ['throw', null],
      ['corrupt', 'INTEGRITY'],
    ] as const) {
      it(`a failure in the middle of the export (${mode}) deletes the partial file`, async () => {
        const d = outDir();
        const file = path.join(d, 'export.zip');
        const err = await exportHistory(faulty(mode, 5), { all: true }, { everything: true }, { out: { file }, softwareVersion: VERSION, now: NOW }).then(
          () => assert.fail('should fail'),
          (e: Error) => e,
        );
        if (code) assert.equal((err as ExportError).code, code);
        else assert.match(err.message, /simulated/);
        assert.deepEqual(fs.readdirSync(d), []);
      });
    }

    it('an abort (AbortSignal) stops the export and deletes the partial file', async () => {
      const d = outDir();
      const ctl = new AbortController();
      const seen: number[] = [];
      const err = await exportHistory(store, { all: true }, { everything: true }, {
        out: { file: path.join(d, 'export.zip') },
        softwareVersion: VERSION,
        now: NOW,
        signal: ctl.signal,
        onProgress: (p) => {
          seen.push(p.documents);
          if (p.documents === 3) ctl.abort();
          assert.equal(p.total, 15);
        },
      }).catch((e: ExportError) => e);
      assert.equal((err as ExportError).code, 'ABORTED');
      assert.deepEqual(seen, [1, 2, 3]);
      assert.deepEqual(fs.readdirSync(d), []);
    });
  });

  it('exports with a DocumentArchive alone (no identity store): identities from the latest document', async () => {
    const archiveOnly: DocumentArchive = {
      archiveDocument: (d) => store.archiveDocument(d),
      getDocument: (id) => store.getDocument(id),
      listDocuments: (q) => store.listDocuments(q),
      countDocuments: (q) => store.countDocuments(q),
      cancelDocument: (id) => store.cancelDocument(id),
      documentContent: (id) => store.documentContent(id),
    };
    const r = await exportHistory(archiveOnly, { ipp: ['123456', '654321'], ins: ZOE_NIR }, { everything: true }, { out: { buffer: true }, softwareVersion: VERSION, now: NOW });
    const m = JSON.parse(unzipAll(r.buffer!).get('manifest.json')!.toString());
    assert.deepEqual(m.patients.map((p: any) => p.identitySource), ['document', 'document', 'document']);
    assert.equal(r.documents, expected({ who: ['MARIE', 'JEAN', 'ZOE'] }).length);
    // an INS only known from unqualified documents identifies no one
    const err = await exportHistory(archiveOnly, { ins: JEAN_NIR }, { everything: true }, { out: { buffer: true }, softwareVersion: VERSION, now: NOW }).catch((e) => e);
    assert.equal(err.code, 'UNKNOWN_PATIENT');
    const rec: DocumentRecord | null = await store.getDocument(docId(1));
    assert.equal(rec?.typeCode, '34874-8');
  });

  it('writes ZIP64 beyond 65,535 files (33,000 documents; EXPORT_TEST_ZIP64=1, about 30 s)', async function () {
    if (!process.env.EXPORT_TEST_ZIP64) this.skip();
    this.timeout(600_000);
    const d = outDir();
    const s = new SqliteIdentityStore({ file: path.join(d, 'zip64.db') });
    try {
      await fillSynthetic(s, 33_000, { kib: 1 });
      const file = path.join(d, 'zip64.zip');
      const r = await exportHistory(s, { all: true }, { everything: true }, { types: ['*'], out: { file }, softwareVersion: VERSION, now: NOW });
      assert.equal(r.files, 66_006);
      const zip = fs.readFileSync(file);
      const { entries } = readZipDirectory(zip);
      assert.equal(entries.length, 66_006, 'the entry count comes from the ZIP64 end of central directory');
      assert.ok(zip.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06])), 'ZIP64 end of central directory record');
      const sums = unzipAll(zip).get('manifest.sha256')!.toString().trimEnd().split('\n');
      assert.equal(sums.length, 66_005);
      if (has('unzip')) assert.equal(spawnSync('unzip', ['-tq', file], { encoding: 'utf8' }).status, 0);
    } finally {
      await s.close();
    }
  });
});
