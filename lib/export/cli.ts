// segur-dpi-export: the patient's history export without Node-RED (the procedure "via un script").
// Opens the layer's SQLite store (ins-store.db), runs exportHistory, prints a summary.
// Exit status: 0 done, 1 usage error (the command line is wrong), 2 export error (message on stderr).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteIdentityStore } from '../store';
import { ExportError } from './errors';
import { packageVersion } from './version';
import { exportHistory, SEGUR_EXPORT_TYPES, type ExportDepth, type ExportResult, type ExportStage, turnEventLoop } from './export';

export const USAGE = `Usage: segur-dpi-export --store <ins-store.db>
         (--since <YYYY-MM-DD> | --years <N> | --all-history)
         (--ipp <IPP>… | --ins <INS>… | --all-patients)
         [--types <code,code,…> | --types all] [--current-only]
         [--establishment <name>] [--finess <FINESS>] [--tz <time zone>]
         --out <export.zip> [--force] [--json]

Exports the history of health documents of one patient, a list of patients or the whole
establishment from the Ségur DPI layer's store, as one ZIP archive: per document its CDA (as
archived) and its PDF, manifest.csv and manifest.json (one line per document: patient name, first
names, birth date, sex, INS when qualified, IPP, document id, type, production date, author, files,
SHA-256), a FHIR R4 Bundle (fhir-bundle.json), manifest.sha256 (sha256sum -c) and LISEZ-MOI.txt /
README.txt describing every field. The archive is written to <out>.partial-… then renamed: no partial
file is ever left behind.

Store
  --store FILE          the layer's SQLite store (Node-RED user dir: segur-dpi/ins-store.db); only read.
                        Safe while Node-RED runs.
Depth (exactly one)
  --since DATE          documents produced on or after DATE (YYYY-MM-DD, midnight in --tz; or an ISO
                        date-time with offset)
  --years N             documents of the last N years (from the same day N years ago, midnight)
  --all-history         every document, whatever its date
Patients (one or more --ipp / --ins, or --all-patients)
  --ipp IPP             an IPP (bare id, or "<authority OID>|<id>"); repeat it or separate with commas
  --ins INS             an INS (15 characters): the patient whose identity carrying it is qualified
  --all-patients        every patient of the establishment
Documents
  --types LIST          type codes or aliases, comma separated (default ${SEGUR_EXPORT_TYPES.join(',')}:
                        LDL lettre de liaison, CRO compte rendu opératoire, ORDONNANCE); "all" for every type
  --current-only        leave out replaced and cancelled versions (default: every version, marked)
Output
  --out FILE            the ZIP archive to write (its folder must exist)
  --force               overwrite FILE if it exists (default: refuse)
  --establishment NAME  the establishment, written in the export
  --finess FINESS       its FINESS number, written in the export
  --tz ZONE             IANA time zone for dates (default Europe/Paris)
  --no-compress         store every file uncompressed (faster, larger)
  --json                print the summary as JSON
  -h, --help            this help;  -V, --version  the version

Exit status: 0 the archive is written; 1 usage error; 2 export error (unknown patient, depth in the
future, folder missing or not writable, output exists, store unreadable…), message on stderr.

Example: segur-dpi-export --store ~/.node-red/segur-dpi/ins-store.db --years 5 --ipp 123456 --out dupont.zip`;

interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const defaultIo: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};


class UsageError extends Error {}

function values(v: string[] | undefined): string[] {
  return (v ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
}

function summary(r: ExportResult): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return [
    'segur-dpi-export: archive written',
    `  file       ${r.file}`,
    `  patients   ${n(r.patients)}`,
    `  documents  ${n(r.documents)}`,
    `  files      ${n(r.files)}`,
    `  bytes      ${n(r.bytes)}`,
    `  sha256     ${r.sha256}`,
    `  since      ${r.since ?? 'whole history'}`,
    `  types      ${r.types.join(', ')}`,
    `  export id  ${r.exportId}`,
    '',
  ].join('\n');
}

function parse(a: string[]) {
  return parseArgs({
    args: a,
    strict: true,
    allowPositionals: false,
    options: {
      store: { type: 'string' },
      since: { type: 'string' },
      years: { type: 'string' },
      'all-history': { type: 'boolean' },
      ipp: { type: 'string', multiple: true },
      ins: { type: 'string', multiple: true },
      'all-patients': { type: 'boolean' },
      types: { type: 'string', multiple: true },
      'current-only': { type: 'boolean' },
      out: { type: 'string' },
      force: { type: 'boolean' },
      establishment: { type: 'string' },
      finess: { type: 'string' },
      tz: { type: 'string' },
      'no-compress': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
    },
  });
}

/**
 * For tests: SEGUR_DPI_EXPORT_PAUSE_AT=<stage> (see ExportStage) stops the export at that point, says so on
 * stderr ("paused at <stage>") and holds the event loop — a synchronous read of stdin — until stdin ends: a
 * signal sent meanwhile lands on a busy process, as on a loaded machine, at a point the test chose.
 */
function pauseAt(stage: string | undefined, io: Io): ((at: ExportStage) => void) | undefined {
  if (!stage) return undefined;
  return (at) => {
    if (at !== stage) return;
    io.stderr(`segur-dpi-export: paused at ${at} (SEGUR_DPI_EXPORT_PAUSE_AT) until stdin ends\n`);
    const buf = Buffer.alloc(64);
    for (;;) {
      try {
        if (fs.readSync(0, buf, 0, buf.length, null) === 0) return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN' && code !== 'EINTR') return;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
  };
}

/** Runs the command line; resolves to the exit status. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  // Ctrl-C / SIGTERM, from the start to the end: before the export it never starts, during it the export stops
  // and removes its partial file and scratch folder (exit 2, ABORTED), once the archive has its name it is
  // complete and kept (exit 0). Never the default action (killed where it stands); a second signal changes nothing.
  const controller = new AbortController();
  let signalled: NodeJS.Signals | null = null;
  const stop = (sig: NodeJS.Signals) => {
    signalled ??= sig;
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    return await run(argv, io, controller.signal, () => signalled);
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

async function run(argv: string[], io: Io, signal: AbortSignal, signalled: () => NodeJS.Signals | null): Promise<number> {
  let args: ReturnType<typeof parse>;
  let depth: ExportDepth;
  let store: string;
  let out: string;
  try {
    try {
      args = parse(argv);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const o = args.values;
    if (o.help) {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    if (o.version) {
      io.stdout(`segur-dpi-export ${packageVersion()}\n`);
      return 0;
    }
    if (!o.store) throw new UsageError('--store is required (the layer\'s ins-store.db)');
    if (!o.out) throw new UsageError('--out is required (the ZIP archive to write)');
    store = o.store;
    out = o.out;
    const depths = [o.since !== undefined, o.years !== undefined, !!o['all-history']].filter(Boolean).length;
    if (depths !== 1) throw new UsageError('give exactly one depth: --since DATE, --years N or --all-history');
    if (o.years !== undefined) {
      if (!/^-?\d+$/.test(o.years.trim())) throw new UsageError(`--years takes a whole number of years, not "${o.years}"`);
      depth = { years: Number(o.years) };
    } else if (o.since !== undefined) depth = { since: o.since };
    else depth = { everything: true };
    const ipp = values(o.ipp);
    const ins = values(o.ins);
    if (o['all-patients'] && (ipp.length || ins.length)) throw new UsageError('--all-patients excludes --ipp and --ins');
    if (!o['all-patients'] && !ipp.length && !ins.length) {
      throw new UsageError('no patient given: --ipp IPP, --ins INS (repeatable) or --all-patients');
    }
    if (o.finess && !o.establishment) throw new UsageError('--finess goes with --establishment');
    const types = o.types ? values(o.types) : undefined;
    if (types && !types.length) throw new UsageError('--types is empty');

    if (!fs.existsSync(store)) throw new ExportError('STORE_UNAVAILABLE', `store ${path.resolve(store)} does not exist`);
    if (!fs.statSync(store).isFile()) throw new ExportError('STORE_UNAVAILABLE', `store ${path.resolve(store)} is not a file`);
    let db: SqliteIdentityStore;
    try {
      db = new SqliteIdentityStore({ file: store, checkpoints: 'writer' }); // a command that reads: no feed to keep moving
    } catch (err) {
      throw new ExportError('STORE_UNAVAILABLE', `cannot open the store ${path.resolve(store)}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const result = await exportHistory(
        db,
        { ...(o['all-patients'] ? { all: true } : {}), ...(ipp.length ? { ipp } : {}), ...(ins.length ? { ins } : {}) },
        depth,
        {
          out: { file: out, overwrite: !!o.force },
          softwareVersion: packageVersion(),
          ...(types ? { types: types.length === 1 && types[0].toLowerCase() === 'all' ? ['*'] : types } : {}),
          ...(o.establishment ? { producer: { name: o.establishment, ...(o.finess ? { finess: o.finess } : {}) } } : {}),
          ...(o.tz ? { timeZone: o.tz } : {}),
          ...(o['current-only'] ? { versions: 'current' as const } : {}),
          ...(o['no-compress'] ? { compress: false } : {}),
          signal,
          onStage: pauseAt(process.env.SEGUR_DPI_EXPORT_PAUSE_AT, io),
        },
      );
      if (o.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      else io.stdout(summary(result));
      if (!result.documents) io.stderr('segur-dpi-export: warning: no document matched; the archive lists the patients only\n');
      // a signal that landed while the archive took its name is handled now, and said
      await turnEventLoop();
      const late = signalled();
      if (late) io.stderr(`segur-dpi-export: ${late} came once the archive was complete: kept\n`);
      return 0;
    } finally {
      await db.close();
    }
  } catch (err) {
    if (err instanceof UsageError || (err instanceof ExportError && (err.code === 'BAD_ARGUMENT' || err.code === 'EMPTY_SELECTION'))) {
      io.stderr(`segur-dpi-export: ${err.message}\n(segur-dpi-export --help for the usage)\n`);
      return 1;
    }
    if (err instanceof ExportError) {
      io.stderr(`segur-dpi-export: ${err.code}: ${err.message}\n`);
      return 2;
    }
    io.stderr(`segur-dpi-export: ${(err as Error)?.message ?? String(err)}\n`);
    return 2;
  }
}
