import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import portabilityExport = require('../../nodes/portability-export/portability-export');
import insStore = require('../../nodes/ins-store/ins-store');
import segurEstablishment = require('../../nodes/segur-establishment/segur-establishment');
import { resolveDepth } from '../../lib/export/depth';
import { SqliteIdentityStore } from '../../lib/store';
import {
  archiveDocuments,
  feedIdentities,
  fillSynthetic,
  JEAN_NIR,
  MARIE_NIR,
  OID,
  SEGUR_CODES,
  unzipAll,
  ZOE_NIR,
  type ArchivedDoc,
  type PatientName,
} from '../fixtures/export-docs';
import { statusesOf, until, withMessages } from '../support/red-nodes';
import { assertSummary } from '../support/summary';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['ins-store', 'segur-establishment', 'portability-export'], [insStore, segurEstablishment, portabilityExport]);
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const TZ = 'Europe/Paris';
const FIXED_FILES = ['manifest.csv', 'manifest.json', 'fhir-bundle.json', 'manifest.sha256', 'LISEZ-MOI.txt', 'README.txt'];
const EXPORT_KEYS = ['bytes', 'documents', 'exportId', 'file', 'files', 'patients', 'producedAt', 'sha256', 'since', 'types'];

/** Patient data of the fixtures that must never appear in an error text, a status or a default file name. */
const PATIENT_DATA = ['123456', '654321', '700001', '700002', '999999', 'MARTIN', 'DUPONT', 'LEFÈVRE', 'BEN SALAH', MARIE_NIR, JEAN_NIR, ZOE_NIR];
function assertNoPatientData(text: string) {
  for (const v of PATIENT_DATA) assert.ok(!text.includes(v), `"${v}" appears in: ${text}`);
}

/** The node's configuration, as the edit dialog saved it by default before issue 12 (types: the former default text). */
const CONFIG = {
  output: 'file',
  maxBufferMiB: 20,
  depthMode: 'years',
  years: 5,
  since: '',
  types: 'LDL,CRO,ORDONNANCE',
  versions: 'all',
  producerName: '',
  producerFiness: '',
  timeZone: TZ,
};

describe('portability-export node', function () {
  this.timeout(120_000);
  let tmp: string;
  let dbFile: string;
  let docs: ArchivedDoc[];
  let out: string;
  let seq = 0;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-pexp-'));
    dbFile = path.join(tmp, 'ins-store.db');
    const store = new SqliteIdentityStore({ file: dbFile });
    try {
      await feedIdentities(store);
      docs = await archiveDocuments(store);
    } finally {
      await store.close();
    }
  });
  beforeEach(() => {
    out = path.join(tmp, `out-${++seq}`);
    fs.mkdirSync(out);
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A flow: ins-store [, segur-establishment 'est' with `establishment`] → portability-export → 'out', catch → 'err'. */
  function flow(config: Record<string, unknown> = {}, file = dbFile, establishment?: Record<string, unknown>): Msg[] {
    return [
      { id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file },
      ...(establishment ? [{ id: 'est', type: 'segur-establishment', name: '', ...establishment }] : []),
      { id: 'n', type: 'portability-export', name: '', store: 'st', folder: out, ...CONFIG, ...config, wires: [['out']] },
      { id: 'out', type: 'helper' },
      { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['err']] },
      { id: 'err', type: 'helper' },
    ];
  }

  class Probe {
    readonly outs: Msg[] = [];
    readonly errors: Msg[] = [];
    readonly statuses: Msg[] = [];
    /** Errors the node reported (node.error), Catch-able or not. */
    readonly reported: Msg[] = [];
    constructor() {
      helper.getNode('n').on('call:error', (call: { args: Msg[] }) => this.reported.push(call.args[0]));
      helper.getNode('out').on('input', (m: Msg) => this.outs.push(m));
      helper.getNode('err').on('input', (m: Msg) => this.errors.push(m));
      helper.getNode('n').on('call:status', (call: { args: Msg[] }) => this.statuses.push(call.args[0]));
    }

    async send(msg: Msg, timeoutMs = 60_000): Promise<{ out?: Msg; err?: Msg }> {
      const [o, e] = [this.outs.length, this.errors.length];
      helper.getNode('n').receive(msg);
      await until(() => this.outs.length > o || this.errors.length > e, 'an output or an error', timeoutMs);
      // issue 12: the output, or what a Catch node gets, carries one line without patient data
      if (this.outs[o]) assertSummary(this.outs[o], { has: [/^EXPORT [0-9a-f-]{36} · (patient|patients|all) · [\d,]+ patients? · [\d,]+ documents? · [\d,]+ bytes$/], not: PATIENT_DATA });
      if (this.errors[e]) assertSummary(this.errors[e], { has: [`EXPORT · ERROR ${this.errors[e].error.code}`], not: PATIENT_DATA });
      return { out: this.outs[o], err: this.errors[e] };
    }

    async export(msg: Msg): Promise<Msg> {
      const r = await this.send(msg);
      assert.equal(r.err, undefined, `no error expected: ${r.err?.error?.code} ${r.err?.error?.message}`);
      return r.out!;
    }

    /** Expects a Catch-able error with `code`, nothing sent, and nothing written in the output folder. */
    async refuse(msg: Msg, code: string, text?: RegExp): Promise<Msg> {
      const r = await this.send(msg);
      assert.equal(r.out, undefined, 'nothing sent');
      assert.ok(r.err, 'a Catch-able error');
      assert.equal(r.err.error.source.id, 'n');
      assert.equal(r.err.error.code, code, r.err.error.message);
      if (text) assert.match(r.err.error.message, text);
      assertNoPatientData(r.err.error.message);
      assert.deepEqual(fs.readdirSync(out), [], 'no file, partial or not, in the output folder');
      const last = this.statuses[this.statuses.length - 1];
      assert.equal(last.text, `error: ${code}`);
      return r.err.error;
    }
  }

  async function start(config: Record<string, unknown> = {}, file = dbFile, establishment?: Record<string, unknown>): Promise<Probe> {
    await helper.load(NODES, flow(config, file, establishment));
    return new Probe();
  }

  /**
   * The ids an export must hold (every version: the node's default). Without types: every type for the whole
   * history (no `since`), the DSR's default types for a depth.
   */
  function expected(o: { who?: PatientName[]; since?: number | null; types?: string[] | '*' } = {}): string[] {
    const types = o.types ?? (o.since === undefined || o.since === null ? '*' : Object.values(SEGUR_CODES));
    return docs
      .filter((d) => !o.who || o.who.includes(d.spec.who))
      .filter((d) => o.since === undefined || o.since === null || Date.parse(d.input.effectiveTime) >= o.since)
      .filter((d) => types === '*' || types.includes(d.input.typeCode))
      .map((d) => d.id)
      .sort();
  }
  const yearsAgo = (n: number) => resolveDepth({ years: n }, new Date(), TZ).sinceMs;

  /** Checks a file-mode output against the archive it names; returns the manifest. */
  function checkFile(m: Msg, ids: string[], o: { kind?: string } = {}): Msg {
    assert.equal(typeof m.payload, 'string');
    assert.equal(path.dirname(m.payload), out);
    assert.equal(path.basename(m.payload), m.filename);
    if (o.kind) {
      assert.match(m.filename, new RegExp(`^export-segur-dpi-${o.kind}-\\d{8}-\\d{6}(-\\d+)?\\.zip$`));
      assertNoPatientData(m.filename);
    }
    assert.ok(fs.statSync(m.payload).isFile());
    assert.equal(fs.statSync(m.payload).mode & 0o777, 0o600, 'the archive is readable by its owner only');
    assert.deepEqual(Object.keys(m.export).sort(), EXPORT_KEYS);
    assert.equal(m.export.file, m.payload);
    const zip = fs.readFileSync(m.payload);
    assert.equal(m.export.bytes, zip.length);
    assert.equal(m.export.sha256, sha256(zip));
    const files = unzipAll(zip);
    assert.equal(m.export.files, files.size);
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
    assert.equal(manifest.export.exportId, m.export.exportId);
    assert.equal(manifest.export.producedAt, m.export.producedAt);
    assert.deepEqual(manifest.documents.map((r: Msg) => r.documentId).sort(), ids);
    assert.equal(m.export.documents, ids.length);
    assert.equal(m.export.patients, manifest.patients.length);
    if (has('unzip')) {
      const listing = execFileSync('unzip', ['-l', m.payload], { encoding: 'utf8' });
      const names = manifest.documents.flatMap((r: Msg) => [r.cdaFile, r.pdfFile].filter(Boolean));
      for (const name of [...names, ...FIXED_FILES]) assert.ok(listing.includes(name), `unzip -l lists ${name}`);
      assert.match(listing, new RegExp(`\\s${files.size} files\\s*$`));
      assert.equal(names.length, ids.length * 2, 'a CDA and a PDF per document');
    }
    return manifest;
  }

  describe('selection, depth and types (file mode)', () => {
    it('one patient by IPP: the archive in the folder, msg.export, unzip lists the documents', async () => {
      const p = await start();
      const m = await p.export({ ipp: '123456', everything: true, topic: 'kept' });
      const manifest = checkFile(m, expected({ who: ['MARIE'] }), { kind: 'patient' });
      assert.equal(m.topic, 'kept', 'the other properties are kept');
      assert.equal(m.export.since, null);
      assert.deepEqual(m.export.types, ['*'], 'the whole history: every type');
      assert.equal(m.export.patients, 1);
      assert.equal(manifest.patients[0].ipp, '123456');
      assert.deepEqual(fs.readdirSync(out), [m.filename], 'only the archive in the folder');
      assert.deepEqual(p.statuses[p.statuses.length - 1], { fill: 'green', shape: 'dot', text: `done: ${m.export.documents} documents` });
      assert.ok(p.statuses.some((s) => /^exporting \d+\/\d+$/.test(s.text)), 'the progress in the status');
    });

    it('by IPP object {id, oid}, by INS, a list, IPP and INS together', async () => {
      const p = await start();
      checkFile(await p.export({ ipp: { id: '123456', oid: OID.IPP }, everything: true }), expected({ who: ['MARIE'] }), { kind: 'patient' });
      checkFile(await p.export({ ins: MARIE_NIR, everything: true }), expected({ who: ['MARIE'] }), { kind: 'patient' });
      checkFile(await p.export({ ins: [ZOE_NIR.toLowerCase()], everything: true }), expected({ who: ['ZOE'] }), { kind: 'patient' });
      const list = await p.export({ ipp: ['123456', '700002'], everything: true });
      checkFile(list, expected({ who: ['MARIE', 'AHMED'] }), { kind: 'patients' });
      assert.equal(list.export.patients, 2);
      const both = await p.export({ ipp: '700002', ins: ZOE_NIR, everything: true });
      checkFile(both, expected({ who: ['AHMED', 'ZOE'] }), { kind: 'patients' });
      // a patient known to the identity store without any document: exported, with no document
      const lucie = await p.export({ ipp: '700003', everything: true });
      checkFile(lucie, [], { kind: 'patient' });
      assert.equal(lucie.export.patients, 1);
      assert.equal(fs.readdirSync(out).length, 6, 'six archives, none overwritten');
    });

    it('the whole establishment (msg.all)', async () => {
      const p = await start();
      const m = await p.export({ all: true, everything: true });
      checkFile(m, expected(), { kind: 'all' });
      assert.equal(m.export.patients, 5 - 1, 'every patient with a document (LUCIE has none)');
    });

    it('the whole establishment of an empty store: a valid archive with no document', async () => {
      const p = await start({}, path.join(tmp, 'empty.db'));
      const m = await p.export({ all: true, everything: true });
      checkFile(m, [], { kind: 'all' });
      assert.equal(m.export.patients, 0);
      assert.equal(m.export.files, FIXED_FILES.length);
      if (has('unzip')) assert.equal(spawnSync('unzip', ['-tq', m.payload]).status, 0);
      assert.equal(p.statuses[p.statuses.length - 1].text, 'done: 0 documents');
    });

    it('depth: msg.since, msg.years, msg.everything, and the configured default (5 years, since, everything)', async () => {
      let p = await start();
      const since = await p.export({ all: true, since: '2021-11-23' });
      checkFile(since, expected({ since: Date.parse('2021-11-23T00:00:00+01:00') }));
      assert.equal(since.export.since, '2021-11-23T00:00:00+01:00');
      const years = await p.export({ all: true, years: 3 });
      checkFile(years, expected({ since: yearsAgo(3) }));
      const yearsText = await p.export({ all: true, years: '3' });
      assert.equal(yearsText.export.since, years.export.since);
      const date = await p.export({ all: true, since: new Date('2020-01-01T00:00:00+01:00') });
      checkFile(date, expected({ since: Date.parse('2020-01-01T00:00:00+01:00') }));
      const everything = await p.export({ all: true, everything: true });
      checkFile(everything, expected());
      // no depth in the message: the node's (5 years by default); msg.everything false is no depth
      const byDefault = await p.export({ all: true });
      checkFile(byDefault, expected({ since: yearsAgo(5) }));
      assert.equal(byDefault.export.since, resolveDepth({ years: 5 }, new Date(), TZ).since);
      checkFile(await p.export({ all: true, everything: false }), expected({ since: yearsAgo(5) }));
      await helper.unload();

      p = await start({ depthMode: 'since', since: '2020-01-01' });
      const s = await p.export({ all: true });
      assert.equal(s.export.since, '2020-01-01T00:00:00+01:00');
      checkFile(s, expected({ since: Date.parse('2020-01-01T00:00:00+01:00') }));
      checkFile(await p.export({ all: true, years: 2 }), expected({ since: yearsAgo(2) }), { kind: 'all' });
      await helper.unload();

      p = await start({ depthMode: 'everything' });
      checkFile(await p.export({ ipp: '654321' }), expected({ who: ['JEAN'] }));
    });

    it('types: msg.types (array, string, "all"), the configured types, current versions only', async () => {
      let p = await start();
      const cro = await p.export({ all: true, everything: true, types: 'CRO' });
      checkFile(cro, expected({ types: ['34874-8'] }));
      assert.deepEqual(cro.export.types, ['34874-8']);
      checkFile(await p.export({ all: true, everything: true, types: ['LDL', '57833-6'] }), expected({ types: ['11490-0', '57833-6'] }));
      checkFile(await p.export({ all: true, everything: true, types: '' }), expected(), { kind: 'all' });
      const all = await p.export({ all: true, everything: true, types: 'all' });
      checkFile(all, expected({ types: '*' }));
      assert.deepEqual(all.export.types, ['*']);
      await helper.unload();

      p = await start({ types: 'CR-BIO, CR-IMAGERIE', versions: 'current', producerName: 'CHU X (fictif)', producerFiness: '690000001' });
      const m = await p.export({ ipp: '123456', everything: true });
      assert.match(m.filename, /^export-690000001-patient-\d{8}-\d{6}\.zip$/);
      const manifest = checkFile(m, expected({ who: ['MARIE'], types: ['11502-2', '18748-4'] }));
      assert.deepEqual(manifest.export.producer, { name: 'CHU X (fictif)', finess: '690000001' });
      assert.equal(manifest.export.versions, 'current');
      // current versions only: the replaced lettre de liaison (X0005) is left out
      const ldl = await p.export({ ipp: '123456', everything: true, types: 'LDL' });
      checkFile(ldl, expected({ who: ['MARIE'], types: ['11490-0'] }).filter((id) => !id.endsWith('X0005')));
    });

    it('issue 12: the whole history exports every type unless types are given (msg.types, the node\'s Document types); a depth keeps the DSR\'s default types', async () => {
      // a node saved with the former default text ("LDL,CRO,ORDONNANCE"), as the example's
      let p = await start();
      const all = await p.export({ all: true, everything: true });
      checkFile(all, expected({ types: '*' }), { kind: 'all' });
      assert.deepEqual(all.export.types, ['*']);
      checkFile(await p.export({ ipp: '123456', everything: true }), expected({ who: ['MARIE'], types: '*' }), { kind: 'patient' });
      checkFile(await p.export({ all: true, everything: true, types: 'LDL' }), expected({ types: ['11490-0'] }));
      const years = await p.export({ all: true, years: 5 });
      checkFile(years, expected({ since: yearsAgo(5) }));
      assert.deepEqual(years.export.types, Object.values(SEGUR_CODES), 'with a depth: the DSR\'s default types');
      await helper.unload();

      // a node dropped now (Document types empty) whose default depth is the whole history
      p = await start({ types: '', depthMode: 'everything' });
      const byDefault = await p.export({ all: true });
      checkFile(byDefault, expected({ types: '*' }), { kind: 'all' });
      assert.deepEqual(byDefault.export.types, ['*']);
      assert.deepEqual((await p.export({ all: true, years: 5 })).export.types, Object.values(SEGUR_CODES));
      await helper.unload();

      // types the node gives are kept for the whole history too
      p = await start({ types: 'CR-BIO' });
      const bio = await p.export({ all: true, everything: true });
      checkFile(bio, expected({ types: ['11502-2'] }));
      assert.deepEqual(bio.export.types, ['11502-2']);
    });

    it('msg.filename: the name chosen, ".zip" added; an existing file is never overwritten', async () => {
      const p = await start();
      const m = await p.export({ ipp: '123456', everything: true, filename: 'dossier-demande-42.zip' });
      assert.equal(m.filename, 'dossier-demande-42.zip');
      assert.equal(m.payload, path.join(out, 'dossier-demande-42.zip'));
      const n = await p.export({ ipp: '123456', everything: true, filename: 'dossier demande 43' });
      assert.equal(n.filename, 'dossier demande 43.zip');
      const before = fs.readFileSync(m.payload);
      const r = await p.send({ ipp: '123456', everything: true, filename: 'dossier-demande-42.zip' });
      assert.equal(r.err?.error.code, 'OUTPUT_EXISTS');
      assert.ok(fs.readFileSync(m.payload).equals(before), 'the existing archive is untouched');
      assert.deepEqual(fs.readdirSync(out).sort(), ['dossier demande 43.zip', 'dossier-demande-42.zip']);
    });

    it('default folder: <userDir>/segur-dpi/exports, created when missing; a configured folder must exist', async () => {
      const userDir = path.join(tmp, `user-${seq}`);
      helper.settings({ userDir });
      let p = await start({ folder: '' });
      const m = await p.export({ all: true, everything: true });
      const folder = path.join(userDir, 'segur-dpi', 'exports');
      assert.equal(path.dirname(m.payload), folder);
      assert.equal(fs.statSync(folder).mode & 0o777, 0o700);
      await helper.unload();

      // relative: under the user directory; must exist
      p = await start({ folder: 'archives/portabilite' });
      const r = await p.send({ all: true, everything: true });
      assert.equal(r.err?.error.code, 'UNWRITABLE');
      assert.ok(!fs.existsSync(path.join(userDir, 'archives')), 'a configured folder is not created');
      fs.mkdirSync(path.join(userDir, 'archives', 'portabilite'), { recursive: true });
      const ok = await p.export({ all: true, everything: true });
      assert.equal(path.dirname(ok.payload), path.join(userDir, 'archives', 'portabilite'));
    });

    it('queues: one export at a time, in order, each its own file', async () => {
      const p = await start();
      const n = helper.getNode('n');
      n.receive({ all: true, everything: true, _n: 1 });
      n.receive({ ipp: '123456', everything: true, _n: 2 });
      n.receive({ all: true, everything: true, _n: 3 });
      await until(() => p.outs.length === 3 || p.errors.length > 0, 'three exports', 60_000);
      assert.equal(p.errors.length, 0);
      assert.deepEqual(p.outs.map((m) => m._n), [1, 2, 3]);
      assert.equal(new Set(p.outs.map((m) => m.payload)).size, 3, 'three files');
      checkFile(p.outs[0], expected(), { kind: 'all' });
      checkFile(p.outs[1], expected({ who: ['MARIE'] }), { kind: 'patient' });
      checkFile(p.outs[2], expected(), { kind: 'all' });
      assert.ok(p.statuses.some((s) => /\(\+\d+ queued\)$/.test(s.text)), 'the status shows the queue');
    });
  });

  describe('buffer mode', () => {
    it('msg.payload is the ZIP (unzip reads it), msg.export.file null, nothing in the folder', async function () {
      const p = await start({ output: 'buffer' });
      const m = await p.export({ ipp: '123456', everything: true });
      assert.ok(Buffer.isBuffer(m.payload));
      assert.deepEqual(Object.keys(m.export).sort(), EXPORT_KEYS);
      assert.equal(m.export.file, null);
      assert.equal(m.export.bytes, m.payload.length);
      assert.equal(m.export.sha256, sha256(m.payload));
      assert.match(m.filename, /^export-segur-dpi-patient-\d{8}-\d{6}\.zip$/);
      assert.deepEqual(fs.readdirSync(out), [], 'nothing written in the folder');
      const files = unzipAll(m.payload);
      const manifest = JSON.parse(files.get('manifest.json')!.toString());
      assert.deepEqual(manifest.documents.map((r: Msg) => r.documentId).sort(), expected({ who: ['MARIE'] }));
      if (has('unzip')) {
        const zip = path.join(tmp, `buffer-${seq}.zip`);
        fs.writeFileSync(zip, m.payload);
        const t = spawnSync('unzip', ['-tq', zip], { encoding: 'utf8' });
        assert.equal(t.status, 0, t.stdout + t.stderr);
        const into = path.join(tmp, `buffer-${seq}`);
        execFileSync('unzip', ['-q', zip, '-d', into]);
        for (const name of FIXED_FILES) assert.ok(fs.existsSync(path.join(into, name)), name);
        if (has('sha256sum')) assert.equal(spawnSync('sha256sum', ['-c', '--quiet', 'manifest.sha256'], { cwd: into }).status, 0);
      }
      // msg.output overrides the configured mode, both ways
      const f = await p.export({ ipp: '123456', everything: true, output: 'file' });
      checkFile(f, expected({ who: ['MARIE'] }), { kind: 'patient' });
    });

    it('msg.output "buffer" on a file node; an archive over the largest buffer is refused (TOO_LARGE), nothing kept', async () => {
      const tmpBefore = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('segur-dpi-export-'));
      const p = await start({ maxBufferMiB: 0.05 });
      const small = await p.export({ ipp: '700003', everything: true, output: 'buffer' });
      assert.ok(Buffer.isBuffer(small.payload) && small.payload.length < 0.05 * 1024 * 1024);
      const e = await p.refuse({ all: true, everything: true, types: 'all', output: 'buffer' }, 'TOO_LARGE', /0\.05 MiB.*file/);
      assert.ok(!('cause' in e));
      const tmpAfter = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('segur-dpi-export-'));
      assert.deepEqual(tmpAfter.sort(), tmpBefore.sort(), 'no temporary folder left');
    });
  });

  describe('errors: Catch-able, with a code, no patient data, no file', () => {
    it('unknown patient, empty selection, bad arguments', async () => {
      const p = await start();
      let e = await p.refuse({ ipp: '999999', everything: true }, 'UNKNOWN_PATIENT', /^Error: unknown patient: msg\.ipp matches neither/);
      e = await p.refuse({ ipp: ['123456', '999999'], everything: true }, 'UNKNOWN_PATIENT', /msg\.ipp\[1\]/);
      assert.doesNotMatch(e.message, /msg\.ipp\[0\]/);
      // an INS read on an identity that is not qualified identifies no one
      await p.refuse({ ins: [MARIE_NIR, JEAN_NIR], everything: true }, 'UNKNOWN_PATIENT', /msg\.ins\[1\]/);
      await p.refuse({ everything: true }, 'EMPTY_SELECTION');
      await p.refuse({ ipp: [], ins: [], everything: true }, 'EMPTY_SELECTION');
      await p.refuse({ all: false, everything: true }, 'EMPTY_SELECTION');
      await p.refuse({ all: true, ipp: '123456', everything: true }, 'BAD_ARGUMENT', /all/);
      await p.refuse({ all: 'yes', everything: true }, 'BAD_ARGUMENT', /msg\.all/);
      await p.refuse({ ipp: ['123456', ''], everything: true }, 'BAD_ARGUMENT', /msg\.ipp\[1\] is empty/);
      await p.refuse({ ipp: true, everything: true }, 'BAD_ARGUMENT', /msg\.ipp/);
      await p.refuse({ all: true, since: '2020-01-01', years: 2 }, 'BAD_ARGUMENT', /since and years/);
      await p.refuse({ all: true, since: '23/11/2020' }, 'BAD_ARGUMENT', /depth/);
      await p.refuse({ all: true, years: 'five' }, 'BAD_ARGUMENT', /msg\.years/);
      await p.refuse({ all: true, everything: 'yes' }, 'BAD_ARGUMENT', /msg\.everything/);
      await p.refuse({ all: true, everything: true, types: 'FOO' }, 'BAD_ARGUMENT', /types/);
      await p.refuse({ all: true, everything: true, types: 42 }, 'BAD_ARGUMENT', /msg\.types/);
      await p.refuse({ all: true, everything: true, output: 'mail' }, 'BAD_ARGUMENT', /msg\.output/);
    });

    it('depth in the future', async () => {
      const p = await start();
      await p.refuse({ ipp: '123456', since: '2099-01-01' }, 'FUTURE_DEPTH', /future/);
      await p.refuse({ all: true, years: -1 }, 'FUTURE_DEPTH');
    });

    it('msg.filename with a path: refused, nothing written anywhere', async () => {
      const p = await start();
      for (const filename of ['../evil.zip', '../../evil', 'sub/evil.zip', '/tmp/evil.zip', '..', 'a\\b.zip', '.hidden.zip', 'a\u0000b.zip', 'x:y.zip']) {
        await p.refuse({ ipp: '123456', everything: true, filename }, 'BAD_ARGUMENT', /msg\.filename/);
      }
      assert.ok(!fs.existsSync(path.join(tmp, 'evil.zip')) && !fs.existsSync(path.join(tmp, 'evil')), 'nothing outside the folder');
      await p.refuse({ ipp: '123456', everything: true, filename: 42 }, 'BAD_ARGUMENT', /msg\.filename/);
    });

    it('unwritable folder (a path under a regular file)', async () => {
      const file = path.join(tmp, `regular-${seq}`);
      fs.writeFileSync(file, 'not a folder');
      const p = await start({ folder: path.join(file, 'exports') });
      const e = await p.refuse({ ipp: '123456', everything: true }, 'UNWRITABLE');
      assert.match(e.message, /exports/);
      assert.equal(fs.readFileSync(file, 'utf8'), 'not a folder');
      // the default folder cannot be created under a regular file either
      await helper.unload();
      helper.settings({ userDir: file });
      const q = await start({ folder: '' });
      await q.refuse({ ipp: '123456', everything: true }, 'UNWRITABLE', /segur-dpi/);
    });

    it('configuration errors and a missing store', async () => {
      let p = await start({ producerFiness: 'ABC' });
      await p.refuse({ ipp: '123456', everything: true }, 'BAD_ARGUMENT', /FINESS/);
      await helper.unload();
      p = await start({ timeZone: 'Mars/Olympus' });
      await p.refuse({ ipp: '123456', everything: true }, 'BAD_ARGUMENT', /time zone/);
      await helper.unload();
      p = await start({ types: 'LDL,FOO' });
      await p.refuse({ ipp: '123456', everything: true }, 'BAD_ARGUMENT', /"FOO"/);
      const ldl = await p.export({ ipp: '123456', everything: true, types: 'LDL' });
      checkFile(ldl, expected({ who: ['MARIE'], types: ['11490-0'] }));
      fs.rmSync(ldl.payload);
      await helper.unload();
      p = await start({ depthMode: 'since', since: '' });
      await p.refuse({ ipp: '123456' }, 'BAD_ARGUMENT', /depth/);
      const own = await p.export({ ipp: '123456', years: 5 });
      checkFile(own, expected({ who: ['MARIE'], since: yearsAgo(5) }));
      fs.rmSync(own.payload);
      await helper.unload();
      await helper.load(NODES, flow().map((n) => (n.id === 'n' ? { ...n, store: '' } : n)));
      p = new Probe();
      await p.refuse({ ipp: '123456', everything: true }, 'NO_STORE');
    });
  });

  describe('issue 12: the establishment (segur-establishment)', () => {
    const GUYANE = { custodianName: 'CH de Cayenne (fictif)', custodianFiness: '970000001', timeZone: 'America/Cayenne' };

    it('its name and FINESS are the producer of the export, its time zone the export\'s; the old fields of the node are ignored once it is selected, used without one', async () => {
      const old = { producerName: 'Ancien nom', producerFiness: '690000001', timeZone: 'Europe/Paris' };
      let p = await start({ establishment: 'est', ...old }, dbFile, GUYANE);
      let m = await p.export({ ipp: '123456', everything: true });
      assert.match(m.filename, /^export-970000001-patient-\d{8}-\d{6}\.zip$/);
      let manifest = checkFile(m, expected({ who: ['MARIE'] }));
      assert.deepEqual(manifest.export.producer, { name: 'CH de Cayenne (fictif)', finess: '970000001' });
      assert.equal(manifest.export.timeZone, 'America/Cayenne');
      assert.match(manifest.export.producedAt, /-0[34]:00$/, 'produced at, in Cayenne time');
      await helper.unload();

      // a node from before segur-establishment: its own fields, as before
      p = await start(old);
      m = await p.export({ ipp: '123456', everything: true });
      manifest = checkFile(m, expected({ who: ['MARIE'] }));
      assert.deepEqual(manifest.export.producer, { name: 'Ancien nom', finess: '690000001' });
      assert.equal(manifest.export.timeZone, 'Europe/Paris');
    });

    it('an establishment not deployed, or wrong: a red status, every export refused (NO_ESTABLISHMENT / BAD_ESTABLISHMENT) saying why, nothing written', async () => {
      let p = await start({ establishment: 'nowhere' });
      assert.deepEqual(statusesOf(helper.getNode('n'))[0], { fill: 'red', shape: 'ring', text: 'establishment not found' });
      await p.refuse({ ipp: '123456', everything: true }, 'NO_ESTABLISHMENT', /configuration node nowhere is not deployed/);
      await helper.unload();
      p = await start({ establishment: 'est' }, dbFile, { ...GUYANE, timeZone: 'America/Kourou' });
      assert.deepEqual(statusesOf(helper.getNode('n'))[0], { fill: 'red', shape: 'ring', text: 'establishment invalid' });
      await p.refuse({ ipp: '123456', everything: true }, 'BAD_ESTABLISHMENT', /the establishment CH de Cayenne \(fictif\) \(970000001\) is not valid \(time zone \(timeZone\): "America\/Kourou" is not an IANA time zone/);
    });
  });

  describe('redeploy', () => {
    let bigDb: string;
    let total = 0;
    before(async function () {
      this.timeout(300_000);
      bigDb = path.join(tmp, 'big.db');
      const store = new SqliteIdentityStore({ file: bigDb });
      try {
        total = (await fillSynthetic(store, 2500, { kib: 60, patients: 100, now: new Date() })).documents;
      } finally {
        await store.close();
      }
    });

    it('closing the flow during a long export aborts it and leaves no partial file', async () => {
      const p = await start({}, bigDb);
      helper.getNode('n').receive({ all: true, everything: true, types: 'all' });
      helper.getNode('n').receive({ all: true, everything: true, types: 'all', _n: 'waiting' });
      await until(() => p.statuses.some((s) => /^exporting [1-9]\d*\/\d+/.test(s.text ?? '')), 'the export under way', 60_000);
      const progress = p.statuses.filter((s) => /^exporting \d+\/\d+/.test(s.text ?? '')).pop()!;
      const [written, found] = /(\d+)\/(\d+)/.exec(progress.text)!.slice(1).map(Number);
      assert.equal(found, total);
      assert.ok(written < found, 'closed mid-way');
      const entries = fs.readdirSync(out);
      assert.ok(entries.some((e) => e.includes('.partial-')), `a partial file while it runs: ${entries}`);
      await helper.getNode('n').close(false); // what a redeploy does; resolves once the node has closed
      assert.deepEqual(fs.readdirSync(out), [], 'no partial file, no scratch folder, no archive');
      assert.equal(p.outs.length, 0, 'nothing sent');
      // the running export and the waiting one each end with an ABORTED error
      await until(() => p.reported.length >= 2, 'two errors reported');
      assert.deepEqual(
        p.reported.map((e) => e.code),
        ['ABORTED', 'ABORTED'],
        p.reported.map((e) => e.message).join('; '),
      );
      assert.ok(p.reported.some((e) => /export aborted: the node was stopped/.test(e.message)));
      assert.ok(p.reported.some((e) => /export not started/.test(e.message)));
    });

    it('at most 20 exports wait behind the running one: the next is refused (BUSY)', async () => {
      const p = await start({}, bigDb);
      const n = helper.getNode('n');
      for (let i = 0; i < 22; i++) n.receive({ all: true, everything: true, types: 'all', _n: i });
      await until(() => p.errors.length > 0, 'a refusal', 30_000);
      assert.equal(p.errors.length, 1);
      assert.equal(p.errors[0].error.code, 'BUSY');
      assert.equal(p.errors[0]._n, 21);
      assert.match(p.errors[0].error.message, /20 exports are already waiting/);
      await n.close(false);
      await until(() => p.reported.length >= 22, 'the 21 others aborted');
      assert.deepEqual(p.reported.map((e) => e.code).sort(), ['ABORTED', ...Array(20).fill('ABORTED'), 'BUSY'].sort());
      assert.equal(p.outs.length, 0);
      assert.deepEqual(fs.readdirSync(out), [], 'no partial file');
    });

    it('a buffer export stops as soon as it grows over the largest buffer', async () => {
      const p = await start({ output: 'buffer', maxBufferMiB: 2 }, bigDb);
      const e = await p.refuse({ all: true, everything: true, types: 'all' }, 'TOO_LARGE');
      assert.match(e.message, /2 MiB/);
      const progress = p.statuses.filter((s) => /^exporting \d+\/\d+/.test(s.text ?? '')).map((s) => Number(/(\d+)\//.exec(s.text)![1]));
      assert.ok(progress.every((n) => n < total / 2), `stopped early (${progress.pop()} of ${total})`);
    });
  });
});
