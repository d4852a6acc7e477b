// History export benchmark: the segur-dpi-export command line on 1,000 and 20,000 archived documents
// (~50 KiB each, PDF + CDA: the 20,000 run is ~1 GiB), beside baselines measured in the same run on the
// same store:
// - "copy": read every document's CDA and PDF from the store and append them to one file (no ZIP, no
//   checksum, no manifest) — the floor: what reading the bytes out of SQLite and writing them costs;
// - "yazl as is" and "archiver 8": the same ZIP entries (CDA deflated at zlib's default level, PDF
//   stored) written by the two well-kept ZIP libraries, used as their documentation shows — the
//   measured reason the export writes its ZIP itself (lib/export/zip.ts);
// - "ZIP only": the same entries through the export's own ZIP layer (ZipSink, lib/export/zip.ts),
//   without manifests, FHIR bundle, per-file checksums and read-me files — the chosen writer, on the same
//   work as the two libraries.
// Each run is its own child process, so that the peak RSS it reports (VmHWM, which starts afresh at exec:
// bench/table.ts peakRssMiB) is the run's alone, not the store filling's.
// EXPORT_BENCH_DOCS=1000,20000 (counts), EXPORT_BENCH_KIB=50 (document size) scale it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import { SqliteIdentityStore } from '../lib/store';
import { peakRssMiB, type BenchTable } from './table';

interface ChildReport {
  ms: number;
  peakRssMiB: number;
  documents: number;
  outBytes: number;
}

// --- child side ----------------------------------------------------------------------------------

async function copyBaseline(db: string, out: string): Promise<{ documents: number }> {
  const store = new SqliteIdentityStore({ file: db });
  const fd = fs.openSync(out, 'wx', 0o600);
  let documents = 0;
  try {
    for await (const doc of store.listDocuments({ allVersions: true })) {
      const c = await store.documentContent(doc.id);
      if (!c) throw new Error(`missing ${doc.id}`);
      fs.writeSync(fd, c.cda);
      if (c.pdf) fs.writeSync(fd, c.pdf);
      documents++;
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
    await store.close();
  }
  return { documents };
}

/** yazl as the documentation shows it: every entry added, paced by its stream, nothing else. */
async function yazlAsIs(db: string, out: string): Promise<{ documents: number }> {
  const store = new SqliteIdentityStore({ file: db });
  const fd = fs.openSync(out, 'wx', 0o600);
  const zip = new ZipFile();
  const done = pipeline(zip.outputStream as unknown as Readable, fs.createWriteStream(out, { fd, autoClose: false, highWaterMark: 1024 * 1024 }));
  let documents = 0;
  try {
    for await (const doc of store.listDocuments({ allVersions: true })) {
      const c = await store.documentContent(doc.id);
      if (!c?.pdf) throw new Error(`missing ${doc.id}`);
      zip.addBuffer(c.cda, `d/${doc.id}.xml`);
      const pdf = c.pdf;
      await new Promise<void>((resolve) =>
        zip.addReadStreamLazy(`d/${doc.id}.pdf`, { size: pdf.length, compress: false }, (cb) => {
          const rs = Readable.from([pdf]);
          rs.once('end', resolve);
          cb(null, rs);
        }),
      );
      documents++;
    }
    zip.end();
    await done;
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
    await store.close();
  }
  return { documents };
}

/** The export's own ZIP layer (ZipSink: lib/export/zip.ts, paced as the export paces it), the same entries, nothing else. */
async function zipOnly(db: string, out: string): Promise<{ documents: number }> {
  const { ZipSink } = await import('../lib/export/export');
  const store = new SqliteIdentityStore({ file: db });
  const fd = fs.openSync(out, 'wx', 0o600);
  const sink = new ZipSink({ fd, file: out }, new Date(), true);
  let documents = 0;
  const inFlight: { p: Promise<void>; bytes: number }[] = [];
  let bytes = 0;
  try {
    for await (const doc of store.listDocuments({ allVersions: true })) {
      const c = await store.documentContent(doc.id);
      if (!c?.pdf) throw new Error(`missing ${doc.id}`);
      const mtime = new Date(doc.effectiveTime);
      void sink.add(`d/${doc.id}.xml`, c.cda, { mtime });
      inFlight.push({ p: sink.add(`d/${doc.id}.pdf`, c.pdf, { mtime, compress: false }), bytes: c.cda.length + c.pdf.length });
      bytes += c.cda.length + c.pdf.length;
      if (bytes > 8 * 1024 * 1024 || inFlight.length > 16) {
        while (bytes > 4 * 1024 * 1024 || inFlight.length > 8) {
          const x = inFlight.shift() as { p: Promise<void>; bytes: number };
          await x.p;
          bytes -= x.bytes;
        }
      }
      documents++;
    }
    await Promise.all(inFlight.map((x) => x.p));
    await sink.finish('');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
    await store.close();
  }
  return { documents };
}

/**
 * archiver 8 (streaming ZIP, ZIP64) as its documentation shows it, paced on its public 'entry' event
 * like the export paces its own writer (at most 8 MiB / 16 documents appended and not yet written):
 * CDA deflated at zlib's default level (as yazl and the export), PDF stored.
 */
async function archiverRun(db: string, out: string): Promise<{ documents: number }> {
  const { ZipArchive } = await import('archiver');
  const store = new SqliteIdentityStore({ file: db });
  const fd = fs.openSync(out, 'wx', 0o600);
  const zip = new ZipArchive({ zlib: { level: 6 } });
  const waiting: (() => void)[] = [];
  zip.on('entry', () => waiting.shift()?.());
  const done = pipeline(zip, fs.createWriteStream(out, { fd, autoClose: false, highWaterMark: 1024 * 1024 }));
  let documents = 0;
  const inFlight: { p: Promise<void>; bytes: number }[] = [];
  let bytes = 0;
  try {
    for await (const doc of store.listDocuments({ allVersions: true })) {
      const c = await store.documentContent(doc.id);
      if (!c?.pdf) throw new Error(`missing ${doc.id}`);
      const date = new Date(doc.effectiveTime);
      waiting.push(() => undefined);
      zip.append(c.cda, { name: `d/${doc.id}.xml`, date });
      inFlight.push({ p: new Promise<void>((resolve) => waiting.push(resolve)), bytes: c.cda.length + c.pdf.length });
      zip.append(c.pdf, { name: `d/${doc.id}.pdf`, date, store: true });
      bytes += c.cda.length + c.pdf.length;
      if (bytes > 8 * 1024 * 1024 || inFlight.length > 16) {
        while (bytes > 4 * 1024 * 1024 || inFlight.length > 8) {
          const x = inFlight.shift() as { p: Promise<void>; bytes: number };
          await x.p;
          bytes -= x.bytes;
        }
      }
      documents++;
    }
    await Promise.all(inFlight.map((x) => x.p));
    await zip.finalize();
    await done;
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
    await store.close();
  }
  return { documents };
}

async function exportRun(db: string, out: string, extra: string[]): Promise<{ documents: number }> {
  // loaded here, not at the top: each child loads only what its run needs (the peak RSS is the run's)
  const { main: cliMain } = await import('../lib/export/cli');
  let stdout = '';
  let stderr = '';
  const code = await cliMain(['--store', db, '--all-history', '--all-patients', '--types', 'all', '--json', '--out', out, ...extra], {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  if (code !== 0) throw new Error(`segur-dpi-export exited with ${code}: ${stderr}`);
  return { documents: (JSON.parse(stdout) as { documents: number }).documents };
}

async function child(args: string[]): Promise<void> {
  const [mode, db, out, ...extra] = args;
  const t0 = performance.now();
  const r =
    mode === 'copy'
      ? await copyBaseline(db, out)
      : mode === 'zip'
        ? await zipOnly(db, out)
        : mode === 'yazl-as-is'
          ? await yazlAsIs(db, out)
          : mode === 'archiver'
            ? await archiverRun(db, out)
            : await exportRun(db, out, extra);
  const report: ChildReport = {
    ms: performance.now() - t0,
    peakRssMiB: peakRssMiB(),
    documents: r.documents,
    outBytes: fs.statSync(out).size,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// --- parent side ---------------------------------------------------------------------------------

function runChild(args: string[]): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, '--child', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bench child ${args[0]} exited with ${code}: ${err}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() as string) as ChildReport);
      } catch (e) {
        reject(new Error(`bench child ${args[0]}: no report (${String(e)}): ${out} ${err}`));
      }
    });
  });
}

const MB = 1e6;

export async function run(): Promise<BenchTable[]> {
  const counts = (process.env.EXPORT_BENCH_DOCS || '1000,20000')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  const kib = Number(process.env.EXPORT_BENCH_KIB) || 50;
  const { fillSynthetic } = await import('../test/fixtures/export-docs');
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  /** label → count → {seconds, peak RSS MiB}, for the growth note */
  const runs = new Map<string, Map<number, { s: number; rss: number }>>();
  for (const count of counts) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-bench-export-'));
    try {
      const db = path.join(dir, 'ins-store.db');
      const store = new SqliteIdentityStore({ file: db });
      const t = performance.now();
      const filled = await fillSynthetic(store, count, { kib });
      const fillMs = performance.now() - t;
      await store.close();
      notes.push(
        `${count.toLocaleString('en-US')} documents: ${(filled.bytes / MB).toFixed(0)} MB of CDA + PDF (${((filled.bytes / count) / 1024).toFixed(1)} KiB per document, ${Math.ceil(count / 20).toLocaleString('en-US')} patients), archived in ${(fillMs / 1000).toFixed(1)} s (not measured below).`,
      );
      const scenarios: [string, string[]][] = [
        ['baseline: copy the bytes out of the store into one file', ['copy']],
        ['baseline: yazl 3 as is (ZIP entries only)', ['yazl-as-is']],
        ['baseline: archiver 8, paced (ZIP entries only)', ['archiver']],
        ['lib/export/zip.ts, paced (ZIP entries only)', ['zip']],
        ['segur-dpi-export (CDA deflated, PDF stored)', ['export']],
        ['segur-dpi-export --no-compress', ['export', '--no-compress']],
      ];
      for (const [label, [mode, ...extra]] of scenarios) {
        const out = path.join(dir, `${mode}${extra.length ? '-nc' : ''}.out`);
        const r = await runChild([mode, db, out, ...extra]);
        if (r.documents !== count) throw new Error(`bench: ${label} wrote ${r.documents} of ${count} documents`);
        const s = r.ms / 1000;
        rows.push([label, count.toLocaleString('en-US'), filled.bytes / MB, r.outBytes / MB, s, count / s, filled.bytes / MB / s, r.peakRssMiB]);
        if (!runs.has(label)) runs.set(label, new Map());
        runs.get(label)?.set(count, { s, rss: r.peakRssMiB });
        fs.rmSync(out, { force: true });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  if (counts.length > 1) {
    // linear and bounded? time should grow like the count, peak RSS not at all
    const lo = Math.min(...counts);
    const hi = Math.max(...counts);
    const growth = [...runs]
      .filter(([label]) => !label.startsWith('baseline: copy'))
      .map(([label, m]) => {
        const a = m.get(lo) as { s: number; rss: number };
        const b = m.get(hi) as { s: number; rss: number };
        return `${label.replace(/ \(.*\)$/, '')}: time ×${(b.s / a.s).toFixed(1)}, peak RSS ×${(b.rss / a.rss).toFixed(2)}`;
      });
    notes.push(`From ${lo.toLocaleString('en-US')} to ${hi.toLocaleString('en-US')} documents (×${(hi / lo).toFixed(0)}): ${growth.join('; ')}.`);
  }
  return [
    {
      title: `History export: whole establishment, every type (${counts.map((c) => c.toLocaleString('en-US')).join(' and ')} documents of ~${kib} KiB)`,
      columns: ['run', 'documents', 'input MB', 'output MB', 's', 'docs/s', 'MB/s', 'peak RSS MiB'],
      rows,
      notes: [
        ...notes,
        'Synthetic documents: a PDF-shaped file of incompressible bytes and a CI-SIS-shaped CDA carrying it in base64, in a SQLite store (WAL) on local disk. Each run is a child process (its peak RSS is its own, Node itself included); "s" is the run inside it, store opening to fsync. MB/s = input MB / s.',
        'Baselines: "copy" appends each CDA and PDF read from the store to one file (the floor: store read + write). "ZIP entries only": the same ZIP entries (CDA deflated at zlib\'s default level, PDF stored), without manifests, FHIR bundle, per-file checksums or read-me files, written by yazl 3 used plainly (it scans its entry list from the start at each step and keeps every entry\'s bytes to the end), by archiver 8 (paced on its "entry" events as the export paces its writer; at the end it buffers the whole central directory as ~17 small writes per entry), and by the export\'s own writer lib/export/zip.ts (through ZipSink, SHA-256 of the archive included). segur-dpi-export runs the command line\'s code in the child (lib/export/cli main), checksums (SHA-256 of every file and of the archive, SHA-1 for FHIR) and manifests included.',
      ],
    },
  ];
}

if (require.main === module && process.argv[2] === '--child') {
  child(process.argv.slice(3)).catch((err) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
