// The patient's history as a standard, documented, exhaustive export (DSR Ségur DPI: lettres de liaison,
// comptes rendus opératoires, ordonnances de sortie — or any type asked for), with a configurable depth.
//
// One ZIP archive, streamed: each document's bytes are read from the store only when it is written, the
// manifests and the FHIR bundle grow in scratch files beside the output, so memory stays flat whatever
// the number of documents. The archive is written to "<out>.partial-<random>" in the output folder,
// fsync'ed, then renamed (or hard-linked, when overwriting is not allowed) to its name; on any failure the
// partial file and the scratch folder are deleted before the error reaches the caller.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { documentType } from '../cda';
import type { PatientIdentity } from '../ins';
import { ippKey, type DocumentArchive, type DocumentPatient, type DocumentQuery, type DocumentRecord, type IdentityStore, type StoredIdentity } from '../store';
import { isTimeZone, localIso, resolveDepth, type ExportDepth } from './depth';
import { ExportError } from './errors';
import { documentReferenceResource, LOINC_OID, nameUuid, patientResource } from './fhir';
import { csvHeader, csvLine, jsonRow, type ManifestRow } from './manifest';
import { isoDay, patientFolderName, shortHash, typeSlug, UniqueNames } from './names';
import { lisezMoi, readMe, type ExportDescription } from './readme';
import { Spool, spoolIn } from './spool';
import { ZipWriter } from './zip';

export type { ExportDepth };

/** The document types of the Ségur DSR history export: lettre de liaison, CR opératoire, ordonnance. */
export const SEGUR_EXPORT_TYPES: readonly string[] = Object.freeze(['11490-0', '34874-8', '57833-6']);

export interface ExportSelection {
  /** IPPs: the bare id (any authority) or "authority OID|id". */
  ipp?: string | string[];
  /** INS values (15 characters): the patients whose identity carrying it is qualified. */
  ins?: string | string[];
  /** The whole establishment (every patient). Excludes ipp and ins. */
  all?: boolean;
}

export interface ExportOptions {
  /** Type codes (LOINC / TRE_A05) or aliases (LDL, CRO, ORDONNANCE…); default SEGUR_EXPORT_TYPES; ['*'] = every type. */
  types?: string[];
  /** A file (written atomically) or a Buffer (small exports, e.g. for a Node-RED message). */
  out: { file: string; overwrite?: boolean; mode?: number } | { buffer: true };
  /** The export's time (default: now); depth and "future" are judged against it. */
  now?: Date;
  /** The software version written in the export (package.json's version). */
  softwareVersion: string;
  /** The establishment producing the export. */
  producer?: { name: string; finess?: string };
  /** IANA time zone for dates without a time and for the export's own dates (default Europe/Paris). */
  timeZone?: string;
  /** 'all' (default): every version, replaced and cancelled ones included (marked); 'current': current versions only. */
  versions?: 'all' | 'current';
  /** Deflate the XML, JSON, CSV and text files (default true); PDFs are always stored as they are. */
  compress?: boolean;
  /** Stops the export (ABORTED) until the archive takes its name; a signal that comes later leaves the complete archive. */
  signal?: AbortSignal;
  /**
   * @internal For tests: called, synchronously, at each point where the export stands (see ExportStage), so a
   * test can stop it there and send a signal at that exact point.
   */
  onStage?: (stage: ExportStage) => void;
  /** Called after each document written (total: documents found when the export started). */
  onProgress?: (progress: { documents: number; total: number }) => void;
}

export interface ExportResult {
  file?: string;
  buffer?: Buffer;
  /** Patients in the export (those asked for with no document in the period included). */
  patients: number;
  documents: number;
  /** Files in the archive. */
  files: number;
  /** Size of the archive. */
  bytes: number;
  /** SHA-256 (hex) of the archive. */
  sha256: string;
  /** First production instant kept (ISO 8601), null for the whole history. */
  since: string | null;
  /** The type codes exported, ['*'] for every type. */
  types: string[];
  exportId: string;
  producedAt: string;
}

/**
 * The points an export passes: 'selected' (patients and documents known, nothing written), 'partial-created'
 * (<out>.partial-…), 'scratch-created' (its scratch folder <out>.partial-….d), 'writing' (the first document in
 * the archive), 'written' (the archive complete in the partial file), 'linked' (the archive has its name; past
 * this point the export is done and a signal no longer stops it).
 */
export type ExportStage = 'selected' | 'partial-created' | 'scratch-created' | 'writing' | 'written' | 'linked';

/** What exportHistory needs from the store; an IdentityStore also gives current identities and merges. */
export type ExportStore = DocumentArchive & Partial<Pick<IdentityStore, 'byIpp' | 'byIns' | 'links'>>;

const SOFTWARE = 'node-red-contrib-segur-dpi';
const DEFAULT_TIME_ZONE = 'Europe/Paris';
const QUERY_CHUNK = 400;
const DOS_EPOCH = Date.UTC(1980, 0, 2);
/**
 * Bytes of documents read from the store but not yet consumed by the ZIP writer: reading goes on while
 * earlier documents are compressed and written (thread pool), and stops above this.
 */
const IN_FLIGHT_BYTES = 8 * 1024 * 1024;
/** …and at most this many documents (each pending deflate holds ~300 KiB of zlib state). */
const IN_FLIGHT_DOCUMENTS = 16;

// --- arguments -----------------------------------------------------------------------------------

function list(v: string | string[] | undefined, what: string): string[] {
  if (v === undefined || v === null) return [];
  const arr = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const x of arr) {
    if (typeof x !== 'string' || !x.trim()) throw new ExportError('BAD_ARGUMENT', `selection: an empty ${what}`);
    const t = x.trim();
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

function resolveTypes(types: string[] | undefined): { codes: string[] | null; described: { code: string; label: string }[] | '*' } {
  const asked = types ?? [...SEGUR_EXPORT_TYPES];
  if (!Array.isArray(asked) || !asked.length) throw new ExportError('BAD_ARGUMENT', 'types: give at least one document type (or "*" for every type)');
  if (asked.some((t) => typeof t === 'string' && ['*', 'all'].includes(t.trim().toLowerCase()))) {
    if (asked.length > 1) throw new ExportError('BAD_ARGUMENT', 'types: "*" (every type) goes alone');
    return { codes: null, described: '*' };
  }
  const codes: string[] = [];
  const described: { code: string; label: string }[] = [];
  const unknown: string[] = [];
  for (const t of asked) {
    const concept = typeof t === 'string' ? documentType(t) : undefined;
    if (!concept) {
      unknown.push(String(t));
      continue;
    }
    if (!codes.includes(concept.code)) {
      codes.push(concept.code);
      described.push({ code: concept.code, label: concept.displayName });
    }
  }
  if (unknown.length) {
    throw new ExportError(
      'BAD_ARGUMENT',
      `types: unknown document type ${unknown.map((u) => `"${u}"`).join(', ')} (a LOINC / TRE_A05 code of the DMP type list, or LDL, CRO, ORDONNANCE)`,
    );
  }
  return { codes, described };
}

function checkOutput(out: ExportOptions['out']): { file: string; overwrite: boolean; mode: number } | null {
  if (!out || typeof out !== 'object') throw new ExportError('BAD_ARGUMENT', 'out: give {file} or {buffer: true}');
  if ('buffer' in out) {
    if (out.buffer !== true) throw new ExportError('BAD_ARGUMENT', 'out: buffer must be true');
    return null;
  }
  if (typeof out.file !== 'string' || !out.file.trim()) throw new ExportError('BAD_ARGUMENT', 'out: file is empty');
  const file = path.resolve(out.file);
  const dir = path.dirname(file);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new ExportError('UNWRITABLE', `cannot write ${file}: the folder ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new ExportError('UNWRITABLE', `cannot write ${file}: ${dir} is not a folder`);
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new ExportError('UNWRITABLE', `cannot write ${file}: the folder ${dir} is not writable`);
  }
  const existing = fs.statSync(file, { throwIfNoEntry: false });
  if (existing?.isDirectory()) throw new ExportError('UNWRITABLE', `cannot write ${file}: it is a folder`);
  if (existing && !out.overwrite) throw new ExportError('OUTPUT_EXISTS', `${file} exists (ask to overwrite it, or choose another name)`);
  return { file, overwrite: !!out.overwrite, mode: out.mode ?? 0o600 };
}

// --- patients ------------------------------------------------------------------------------------

function fromIdentity(p: PatientIdentity): DocumentPatient {
  return {
    ipp: p.ipp ? { id: p.ipp.id, oid: p.ipp.oid, authority: p.ipp.authority } : null,
    ins: p.qualified && p.ins ? { value: p.ins.value, oid: p.ins.oid } : null,
    insQualified: !!p.qualified,
    ...(p.status ? { status: p.status } : {}),
    birthName: p.birthName ?? '',
    firstNames: p.firstNames ?? '',
    firstName: p.firstName ?? '',
    usedName: p.usedName ?? '',
    birthDate: p.birthDate ?? '',
    sex: p.sex ?? 'U',
  };
}

/** The INS of an identity, only when it is qualified. */
function qualifiedIns(p: DocumentPatient): { value: string; oid: string } | null {
  return p.insQualified && p.ins?.value ? p.ins : null;
}

function docIppKey(doc: DocumentRecord): string | null {
  if (doc.ippKey) return doc.ippKey;
  return doc.patient.ipp ? ippKey({ id: doc.patient.ipp.id, oid: doc.patient.ipp.oid, authority: doc.patient.ipp.authority ?? '' }) : null;
}

function splitKey(key: string): { authority: string; id: string } {
  const bar = key.indexOf('|');
  return bar < 0 ? { authority: '', id: key } : { authority: key.slice(0, bar), id: key.slice(bar + 1) };
}

interface PatientEntry {
  key: string;
  uuid: string;
  identity: DocumentPatient;
  identitySource: 'identity-store' | 'document';
  /** Production time of the document the identity comes from (identitySource 'document'). */
  identityMs: number;
  /** IPP keys of the documents gathered here other than the identity's own (merged IPPs). */
  otherIpps: Set<string>;
  folder: string;
  names: UniqueNames;
  documents: number;
}

class PatientBook {
  readonly entries = new Map<string, PatientEntry>();
  private readonly survivor = new Map<string, StoredIdentity | null>();

  constructor(private readonly store: ExportStore) {}

  /** The identity the store keeps for an IPP key, following merges (null without an identity store). */
  async identityOf(key: string): Promise<StoredIdentity | null> {
    if (typeof this.store.byIpp !== 'function') return null;
    if (!this.survivor.has(key)) {
      const { authority, id } = splitKey(key);
      const found = await this.store.byIpp(id, authority || undefined);
      this.survivor.set(key, found && !found.mergedInto ? found : null);
    }
    return this.survivor.get(key) ?? null;
  }

  async keyOf(doc: DocumentRecord): Promise<{ key: string; identity: StoredIdentity | null; ipp: string | null }> {
    const ipp = docIppKey(doc);
    if (ipp) {
      const identity = await this.identityOf(ipp);
      return { key: identity?.key ?? ipp, identity, ipp };
    }
    const ins = qualifiedIns(doc.patient);
    return { key: ins ? `ins:${ins.value}` : `doc:${doc.id}`, identity: null, ipp: null };
  }

  addIdentity(identity: StoredIdentity): PatientEntry {
    let e = this.entries.get(identity.key);
    if (!e) {
      e = this.create(identity.key, fromIdentity(identity.patient), 'identity-store', Infinity);
    } else if (e.identitySource !== 'identity-store') {
      e.identity = fromIdentity(identity.patient);
      e.identitySource = 'identity-store';
      e.identityMs = Infinity;
    }
    return e;
  }

  /** Files a document's patient (pass 1, and pass 2 for a document archived meanwhile). */
  async addDocument(doc: DocumentRecord): Promise<PatientEntry> {
    const { key, identity, ipp } = await this.keyOf(doc);
    let e = identity ? this.addIdentity(identity) : this.entries.get(key);
    const ms = Date.parse(doc.effectiveTime);
    if (!e) e = this.create(key, doc.patient, 'document', ms);
    else if (e.identitySource === 'document' && ms >= e.identityMs) {
      e.identity = doc.patient;
      e.identityMs = ms;
    }
    if (ipp && ipp !== key) e.otherIpps.add(ipp);
    return e;
  }

  private create(key: string, identity: DocumentPatient, source: PatientEntry['identitySource'], ms: number): PatientEntry {
    const e: PatientEntry = {
      key,
      uuid: nameUuid(`patient:${key}`),
      identity,
      identitySource: source,
      identityMs: ms,
      otherIpps: new Set(),
      folder: '',
      names: new UniqueNames(),
      documents: 0,
    };
    this.entries.set(key, e);
    return e;
  }

  /** Folder names, unique, given in name order (stable from one export to the next). */
  nameFolders(taken: UniqueNames): void {
    const pending = [...this.entries.values()].filter((e) => !e.folder);
    pending.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const e of pending) e.folder = taken.take(patientFolderName(e.identity, e.key));
  }
}

// --- selection -----------------------------------------------------------------------------------

interface Plan {
  queries: { query: DocumentQuery; insFilter: Set<string> | null }[];
}

async function mergedInto(store: ExportStore, key: string): Promise<string[]> {
  if (typeof store.links !== 'function') return [];
  const out: string[] = [];
  const todo = [key];
  const seen = new Set([key]);
  while (todo.length && seen.size < 256) {
    const k = todo.pop() as string;
    for (const l of await store.links(k)) {
      if ((l.kind === 'merge' || l.kind === 'change-id') && l.key === k && l.active && !seen.has(l.otherKey)) {
        seen.add(l.otherKey);
        out.push(l.otherKey);
        todo.push(l.otherKey);
      }
    }
  }
  return out;
}

async function latestDocument(store: ExportStore, q: DocumentQuery): Promise<DocumentRecord | null> {
  let last: DocumentRecord | null = null;
  for await (const d of store.listDocuments(q)) last = d;
  return last;
}

async function planSelection(
  store: ExportStore,
  book: PatientBook,
  sel: { all: boolean; ipp: string[]; ins: string[] },
  base: DocumentQuery,
): Promise<Plan> {
  if (sel.all) return { queries: [{ query: { ...base }, insFilter: null }] };
  const terms = new Set<string>();
  const insTerms = new Set<string>();
  const unknown: string[] = [];
  const withIdentity = async (identity: StoredIdentity) => {
    book.addIdentity(identity);
    terms.add(identity.key);
    for (const k of await mergedInto(store, identity.key)) terms.add(k);
  };
  for (const v of sel.ipp) {
    let identity: StoredIdentity | null = null;
    if (typeof store.byIpp === 'function') {
      const { authority, id } = splitKey(v);
      identity = v.includes('|') ? await store.byIpp(id, authority || undefined) : await store.byIpp(v);
    }
    const any = await store.countDocuments({ ipps: [v], allVersions: true });
    if (!identity && !any) {
      unknown.push(`IPP ${v}`);
      continue;
    }
    terms.add(v);
    if (identity) await withIdentity(identity);
    else {
      const last = await latestDocument(store, { ipps: [v], allVersions: true });
      if (last) await book.addDocument(last);
    }
  }
  for (const raw of sel.ins) {
    const v = raw.toUpperCase();
    const identities = typeof store.byIns === 'function' ? await store.byIns(v, { qualifiedOnly: true }) : [];
    for (const identity of identities) await withIdentity(identity);
    let found = identities.length > 0;
    let last: DocumentRecord | null = null;
    for await (const d of store.listDocuments({ ins: [v], allVersions: true })) {
      if (qualifiedIns(d.patient)?.value !== v) continue; // an INS read on an unqualified identity identifies no one
      found = true;
      last = d;
      const ipp = docIppKey(d);
      if (ipp) terms.add(ipp);
      else insTerms.add(v);
    }
    if (last) await book.addDocument(last);
    if (!found) unknown.push(`INS ${v}`);
  }
  if (unknown.length) {
    throw new ExportError(
      'UNKNOWN_PATIENT',
      `unknown patient: ${unknown.join(', ')} — no identity in the store and no archived document (an INS counts only on a qualified identity)`,
    );
  }
  const queries: Plan['queries'] = [];
  const t = [...terms];
  for (let i = 0; i < t.length; i += QUERY_CHUNK) queries.push({ query: { ...base, ipps: t.slice(i, i + QUERY_CHUNK) }, insFilter: null });
  const it = [...insTerms];
  for (let i = 0; i < it.length; i += QUERY_CHUNK) {
    const chunk = it.slice(i, i + QUERY_CHUNK);
    queries.push({ query: { ...base, ins: chunk }, insFilter: new Set(chunk) });
  }
  return { queries };
}

// --- the ZIP sink --------------------------------------------------------------------------------

/**
 * @internal The export's ZIP output (exported for bench/export.ts): our streaming ZIP writer (zip.ts, which
 * says why not yazl or archiver) to the partial file or to memory, counting and hashing (SHA-256) the
 * archive's bytes as they go out.
 */
export class ZipSink {
  private readonly zip: ZipWriter;
  bytes = 0;
  private readonly hash = createHash('sha256');
  private readonly chunks: Buffer[] | null;
  private readonly done: Promise<void>;
  private readonly counter: Transform;
  private writeStream: fs.WriteStream | null = null;

  constructor(
    target: { fd: number; file: string } | null,
    mtime: Date,
    compress: boolean,
  ) {
    this.counter = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.hash.update(chunk);
        this.bytes += chunk.length;
        cb(null, chunk);
      },
    });
    let sink: Writable;
    if (target) {
      this.chunks = null;
      sink = this.writeStream = fs.createWriteStream(target.file, { fd: target.fd, autoClose: false, highWaterMark: 1024 * 1024 });
    } else {
      const chunks: Buffer[] = (this.chunks = []);
      sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      });
    }
    this.zip = new ZipWriter(this.counter, { mtime, compress });
    this.done = pipeline(this.counter, sink);
    this.done.catch((err) => this.zip.abort(new ExportError('WRITE_FAILED', `writing the archive failed: ${(err as Error).message}`, { cause: err })));
  }

  /** Files added. */
  get entries(): number {
    return this.zip.entries;
  }

  abort(err: unknown): void {
    this.zip.abort(err);
  }

  /**
   * Adds a file: a Buffer (deflated at once in the thread pool, in parallel with the files before it) or
   * a closed spool (streamed from its scratch file). Files are written in the order added; resolves once
   * this one is written, so the caller bounds what it holds by waiting.
   */
  add(name: string, data: Buffer | Spool, opts: { compress?: boolean; mtime?: Date } = {}): Promise<void> {
    return data instanceof Spool ? this.zip.addStream(name, data.chunks(), data.bytes, opts) : this.zip.addBuffer(name, data, opts);
  }

  async finish(comment: string): Promise<{ sha256: string; buffer: Buffer | null }> {
    await this.zip.finish(comment);
    await this.done;
    return { sha256: this.hash.digest('hex'), buffer: this.chunks ? Buffer.concat(this.chunks) : null };
  }

  destroy(): void {
    this.zip.abort(new ExportError('ABORTED', 'export stopped'));
    this.counter.destroy();
    this.writeStream?.destroy();
  }
}

// --- export --------------------------------------------------------------------------------------

function sha(algo: 'sha256' | 'sha1', b: Buffer, enc: 'hex' | 'base64'): string {
  return createHash(algo).update(b).digest(enc);
}

function authorName(a: DocumentRecord['author']): string | null {
  if (!a) return null;
  return [a.given, a.family].filter(Boolean).join(' ') || null;
}

function typeCodeSystem(code: string): string {
  return documentType(code)?.codeSystem ?? (/^\d{1,8}-\d$/.test(code) ? LOINC_OID : '');
}

function removeQuietly(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true, maxRetries: 3, retryDelay: 10 });
  } catch {
    /* best effort */
  }
}

/**
 * The partial files and scratch folders of the exports under way: removed when the process exits, whatever
 * way it exits (process.exit, an uncaught error) before an export's own cleanup ran.
 */
const underWay = new Set<string>();
let sweepOnExit = false;
function track(p: string): void {
  underWay.add(p);
  if (!sweepOnExit) {
    sweepOnExit = true;
    process.once('exit', () => {
      for (const q of underWay) removeQuietly(q);
    });
  }
}

/**
 * Lets the event loop go through one whole turn. A signal that landed while the process was busy (synchronous
 * work: the store, the manifests) is only handled when the loop polls; an immediate runs after the poll of
 * the turn under way, which may have passed already: the second one runs after the next poll.
 */
export async function turnEventLoop(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Exports the history of the selected patients: their documents of the given types produced within the
 * depth, as one ZIP archive (CDA + PDF per document, manifest.json / manifest.csv, a FHIR R4 Bundle,
 * manifest.sha256, LISEZ-MOI.txt / README.txt). Throws ExportError (see errors.ts); never leaves a
 * partial file behind.
 */
export async function exportHistory(
  store: ExportStore,
  selection: ExportSelection,
  depth: ExportDepth,
  opts: ExportOptions,
): Promise<ExportResult> {
  // 1. arguments, checked before anything is read or written
  if (!opts || typeof opts.softwareVersion !== 'string' || !opts.softwareVersion) {
    throw new ExportError('BAD_ARGUMENT', 'opts.softwareVersion is required (written in the export)');
  }
  const timeZone = opts.timeZone ?? DEFAULT_TIME_ZONE;
  if (!isTimeZone(timeZone)) throw new ExportError('BAD_ARGUMENT', `timeZone: unknown time zone "${timeZone}"`);
  const now = opts.now ?? new Date();
  if (!Number.isFinite(now.getTime())) throw new ExportError('BAD_ARGUMENT', 'now is not a valid date');
  const sel = {
    all: selection?.all === true,
    ipp: list(selection?.ipp, 'IPP'),
    ins: list(selection?.ins, 'INS').map((v) => v.toUpperCase()),
  };
  if (sel.all && (sel.ipp.length || sel.ins.length)) {
    throw new ExportError('BAD_ARGUMENT', 'selection: "all" (the whole establishment) excludes a list of IPP / INS');
  }
  if (!sel.all && !sel.ipp.length && !sel.ins.length) {
    throw new ExportError('EMPTY_SELECTION', 'selection: no patient given — give IPPs or INS, or ask for every patient (all)');
  }
  const resolvedDepth = resolveDepth(depth, now, timeZone);
  const types = resolveTypes(opts.types);
  const versions = opts.versions ?? 'all';
  if (versions !== 'all' && versions !== 'current') throw new ExportError('BAD_ARGUMENT', `versions: "all" or "current", not "${String(versions)}"`);
  const output = checkOutput(opts.out);
  const stage = (at: ExportStage) => opts.onStage?.(at);
  const stopIfAborted = () => {
    if (opts.signal?.aborted) throw new ExportError('ABORTED', 'export aborted');
  };
  stopIfAborted();

  // 2. the patients and documents (nothing written yet: an unknown patient fails here)
  const base: DocumentQuery = {
    ...(resolvedDepth.since ? { since: resolvedDepth.since } : {}),
    ...(types.codes ? { types: types.codes } : {}),
    allVersions: versions === 'all',
  };
  const book = new PatientBook(store);
  const plan = await planSelection(store, book, sel, base);
  const multi = plan.queries.length > 1;
  let total = 0;
  {
    const seen = multi ? new Set<string>() : null;
    for (const { query, insFilter } of plan.queries) {
      for await (const doc of store.listDocuments(query)) {
        if (insFilter && !insFilter.has(qualifiedIns(doc.patient)?.value ?? '')) continue;
        if (seen) {
          if (seen.has(doc.id)) continue;
          seen.add(doc.id);
        }
        await book.addDocument(doc);
        total++;
      }
    }
  }
  const folders = new UniqueNames();
  book.nameFolders(folders);
  stage('selected');
  await turnEventLoop();
  stopIfAborted();

  // 3. the archive
  const exportId = randomUUID();
  const producedAt = localIso(now.getTime(), timeZone);
  const partial = output ? path.join(path.dirname(output.file), `${path.basename(output.file)}.partial-${randomBytes(6).toString('hex')}`) : null;
  const work = partial ? `${partial}.d` : null;
  let fd: number | null = null;
  let sink: ZipSink | null = null;
  const spools: Spool[] = [];
  const onAbort = () => sink?.abort(new ExportError('ABORTED', 'export aborted'));
  opts.signal?.addEventListener('abort', onAbort);
  let linked = false;
  try {
    if (partial && output) {
      try {
        // tracked before they exist: an exit between creating and tracking would leave them
        track(partial);
        fd = fs.openSync(partial, 'wx', output.mode);
        stage('partial-created');
        track(work as string);
        fs.mkdirSync(work as string, { mode: 0o700 });
        stage('scratch-created');
      } catch (err) {
        throw new ExportError('UNWRITABLE', `cannot write in ${path.dirname(output.file)}: ${(err as Error).message}`, { cause: err });
      }
    }
    const spool = (name: string) => {
      const s = spoolIn(work, name);
      spools.push(s);
      return s;
    };
    const csv = spool('manifest.csv');
    const rows = spool('rows.json');
    const docRefs = spool('docrefs.json');
    const sums = spool('sums');
    csv.write(csvHeader());
    sink = new ZipSink(partial ? { fd: fd as number, file: partial } : null, now, opts.compress ?? true);

    const exported = new Set<string>(); // ids of the documents written
    let documents = 0;
    const inFlight: { done: Promise<unknown>; bytes: number }[] = [];
    let inFlightBytes = 0;
    for (const { query, insFilter } of plan.queries) {
      for await (const doc of store.listDocuments(query)) {
        if (opts.signal?.aborted) throw new ExportError('ABORTED', 'export aborted');
        if (insFilter && !insFilter.has(qualifiedIns(doc.patient)?.value ?? '')) continue;
        if (exported.has(doc.id)) continue;
        const entry = await book.addDocument(doc);
        if (!entry.folder) book.nameFolders(folders); // archived after pass 1
        const content = await store.documentContent(doc.id);
        if (!content) throw new ExportError('INTEGRITY', `document ${doc.id}: listed but its content is missing from the store`);
        const cdaSha256 = sha('sha256', content.cda, 'hex');
        const pdfSha256 = content.pdf ? sha('sha256', content.pdf, 'hex') : null;
        if (cdaSha256 !== doc.cdaSha256 || (pdfSha256 ?? null) !== (doc.pdfSha256 ?? null)) {
          throw new ExportError('INTEGRITY', `document ${doc.id}: the stored bytes do not match the checksums recorded when it was archived`);
        }
        const stem = entry.names.take(`${isoDay(doc.effectiveTime)}_${typeSlug(doc.typeCode, doc.typeLabel)}_v${doc.version}_${shortHash(doc.id)}`);
        const dir = `patients/${entry.folder}`;
        const cdaFile = `${dir}/${stem}.xml`;
        const pdfFile = content.pdf ? `${dir}/${stem}.pdf` : null;
        const ms = Date.parse(doc.effectiveTime);
        const mtime = Number.isFinite(ms) && ms >= DOS_EPOCH ? new Date(ms) : now;
        // the CDA is deflated in the thread pool while earlier entries are written; the PDF (stored) follows
        // it, so the PDF's completion means both are in the archive
        let written = sink.add(cdaFile, content.cda, { mtime });
        if (content.pdf && pdfFile) written = sink.add(pdfFile, content.pdf, { mtime, compress: false });

        const p = doc.patient;
        const ins = qualifiedIns(p);
        const system = typeCodeSystem(doc.typeCode);
        const row: ManifestRow = {
          patientFolder: entry.folder,
          ipp: p.ipp?.id ?? null,
          ippOid: p.ipp?.oid || null,
          birthName: p.birthName ?? '',
          firstNames: p.firstNames ?? '',
          firstName: p.firstName ?? '',
          usedName: p.usedName ?? '',
          birthDate: p.birthDate ?? '',
          sex: p.sex ?? 'U',
          ins: ins?.value ?? null,
          insOid: ins?.oid ?? null,
          insQualified: !!p.insQualified,
          documentId: doc.id,
          setId: doc.setId,
          version: doc.version,
          status: doc.status,
          replaces: doc.replaces,
          typeCode: doc.typeCode,
          typeCodeSystem: system,
          typeLabel: doc.typeLabel,
          title: doc.title,
          productionDate: doc.effectiveTime,
          authorId: doc.author?.id ?? null,
          authorName: authorName(doc.author),
          authorSpecialty: doc.author?.specialty ?? null,
          origin: doc.origin,
          archivedAt: doc.archivedAt,
          cdaFile,
          cdaBytes: content.cda.length,
          cdaSha256,
          pdfFile,
          pdfBytes: content.pdf ? content.pdf.length : null,
          pdfSha256,
        };
        csv.write(csvLine(row));
        rows.write(`${documents ? ',\n' : ''}    ${jsonRow(row)}`);
        const uuid = nameUuid(`document:${doc.id}`);
        const docRef = documentReferenceResource(doc, {
          uuid,
          patientUuid: entry.uuid,
          typeCodeSystem: system || LOINC_OID,
          cda: { path: cdaFile, contentType: 'text/xml', bytes: content.cda.length, sha1Base64: sha('sha1', content.cda, 'base64') },
          pdf: content.pdf && pdfFile ? { path: pdfFile, contentType: 'application/pdf', bytes: content.pdf.length, sha1Base64: sha('sha1', content.pdf, 'base64') } : null,
          replacesUuid: doc.replaces && exported.has(doc.replaces) ? nameUuid(`document:${doc.replaces}`) : null,
        });
        docRefs.write(`,\n    ${JSON.stringify({ fullUrl: `urn:uuid:${uuid}`, resource: docRef })}`);
        sums.write(`${cdaSha256}  ${cdaFile}\n`);
        if (pdfFile) sums.write(`${pdfSha256}  ${pdfFile}\n`);
        exported.add(doc.id);
        entry.documents++;
        documents++;
        if (documents === 1) stage('writing');
        const bytes = content.cda.length + (content.pdf?.length ?? 0);
        inFlight.push({ done: written, bytes });
        inFlightBytes += bytes;
        if (inFlightBytes > IN_FLIGHT_BYTES || inFlight.length > IN_FLIGHT_DOCUMENTS) {
          while (inFlightBytes > IN_FLIGHT_BYTES / 2 || inFlight.length > IN_FLIGHT_DOCUMENTS / 2) {
            const oldest = inFlight.shift() as { done: Promise<unknown>; bytes: number };
            await oldest.done;
            inFlightBytes -= oldest.bytes;
          }
        }
        opts.onProgress?.({ documents, total });
      }
    }
    await Promise.all(inFlight.map((x) => x.done));
    if (opts.signal?.aborted) throw new ExportError('ABORTED', 'export aborted');

    // 4. manifests, FHIR bundle, read-me files, checksums
    const patients = [...book.entries.values()].sort((a, b) => (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0));
    const description: ExportDescription = {
      exportId,
      producedAt,
      timeZone,
      software: { name: SOFTWARE, version: opts.softwareVersion },
      producer: opts.producer ? { name: opts.producer.name, ...(opts.producer.finess ? { finess: opts.producer.finess } : {}) } : null,
      selection: sel,
      depth: {
        mode: resolvedDepth.mode,
        since: resolvedDepth.since,
        ...(resolvedDepth.years !== undefined ? { years: resolvedDepth.years } : {}),
        ...(resolvedDepth.asked !== undefined ? { asked: resolvedDepth.asked } : {}),
      },
      types: types.described,
      versions,
      counts: { patients: patients.length, documents, files: sink.entries + 6 },
    };
    const manifest = spool('manifest.json');
    manifest.write('{\n  "format": "segur-dpi-export",\n  "formatVersion": 1,\n');
    manifest.write(`  "export": ${JSON.stringify(description, null, 2).replace(/\n/g, '\n  ')},\n  "patients": [`);
    patients.forEach((e, i) => {
      const ins = qualifiedIns(e.identity);
      manifest.write(
        `${i ? ',' : ''}\n    ${JSON.stringify({
          folder: e.folder,
          fhirPatient: `urn:uuid:${e.uuid}`,
          identitySource: e.identitySource,
          ipp: e.identity.ipp?.id ?? null,
          ippOid: e.identity.ipp?.oid || null,
          formerIpps: [...e.otherIpps].sort(),
          birthName: e.identity.birthName,
          firstNames: e.identity.firstNames,
          firstName: e.identity.firstName,
          usedName: e.identity.usedName,
          birthDate: e.identity.birthDate,
          sex: e.identity.sex,
          ins: ins?.value ?? null,
          insOid: ins?.oid ?? null,
          insQualified: !!e.identity.insQualified,
          documents: e.documents,
        })}`,
      );
    });
    manifest.write(`${patients.length ? '\n  ' : ''}],\n  "documents": [${documents ? '\n' : ''}`);
    manifest.append(rows);
    manifest.write(`${documents ? '\n  ' : ''}]\n}\n`);

    const bundle = spool('fhir-bundle.json');
    bundle.write(
      `{\n  "resourceType": "Bundle",\n  "id": "${exportId}",\n  "meta": { "lastUpdated": "${producedAt}" },\n` +
        `  "identifier": { "system": "urn:ietf:rfc:3986", "value": "urn:uuid:${exportId}" },\n  "type": "collection",\n` +
        `  "timestamp": "${producedAt}",\n  "entry": [`,
    );
    let first = true;
    for (const e of patients) {
      const resource = patientResource({ uuid: e.uuid, identity: e.identity, formerIpps: [...e.otherIpps].sort() });
      bundle.write(`${first ? '' : ','}\n    ${JSON.stringify({ fullUrl: `urn:uuid:${e.uuid}`, resource })}`);
      first = false;
    }
    if (first) {
      // no patient: the document entries (none either) must not start with a comma
      bundle.write('\n  ]\n}\n');
    } else {
      bundle.append(docRefs);
      bundle.write('\n  ]\n}\n');
    }

    const lisez = Buffer.from(lisezMoi(description), 'utf8');
    const readme = Buffer.from(readMe(description), 'utf8');
    csv.close();
    sums.write(`${csv.close()}  manifest.csv\n`);
    sums.write(`${manifest.close()}  manifest.json\n`);
    sums.write(`${bundle.close()}  fhir-bundle.json\n`);
    sums.write(`${sha('sha256', lisez, 'hex')}  LISEZ-MOI.txt\n`);
    sums.write(`${sha('sha256', readme, 'hex')}  README.txt\n`);
    sums.close();
    await Promise.all([
      sink.add('manifest.csv', csv),
      sink.add('manifest.json', manifest),
      sink.add('fhir-bundle.json', bundle),
      sink.add('LISEZ-MOI.txt', lisez),
      sink.add('README.txt', readme),
      sink.add('manifest.sha256', sums),
    ]);
    const { sha256, buffer } = await sink.finish(`Segur DPI export ${exportId} - see LISEZ-MOI.txt / README.txt`);
    stage('written');
    // the last moment a signal stops the export: one that landed while the loop was busy is handled now
    await turnEventLoop();
    stopIfAborted();

    // 5. durable, then visible under its name
    if (output && partial && fd !== null) {
      try {
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        fd = null;
        if (output.overwrite) {
          fs.renameSync(partial, output.file);
          stage('linked');
        } else {
          // link() fails if a file took the name meanwhile: never overwrites by accident
          try {
            fs.linkSync(partial, output.file);
            linked = true;
            stage('linked');
            fs.unlinkSync(partial);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === 'EEXIST') throw new ExportError('OUTPUT_EXISTS', `${output.file} appeared during the export; nothing overwritten`);
            if (linked) throw err;
            // file systems without hard links (FAT, some network shares)
            if (fs.existsSync(output.file)) throw new ExportError('OUTPUT_EXISTS', `${output.file} appeared during the export; nothing overwritten`);
            fs.renameSync(partial, output.file);
            stage('linked');
          }
        }
      } catch (err) {
        if (err instanceof ExportError) throw err;
        throw new ExportError('WRITE_FAILED', `finishing ${output.file} failed: ${(err as Error).message}`, { cause: err });
      }
      try {
        const dfd = fs.openSync(path.dirname(output.file), 'r');
        try {
          fs.fsyncSync(dfd);
        } finally {
          fs.closeSync(dfd);
        }
      } catch {
        /* directories cannot be fsync'ed everywhere (Windows) */
      }
    }
    return {
      ...(output ? { file: output.file } : { buffer: buffer as Buffer }),
      patients: patients.length,
      documents,
      files: sink.entries,
      bytes: sink.bytes,
      sha256,
      since: resolvedDepth.since,
      types: types.codes ?? ['*'],
      exportId,
      producedAt,
    };
  } catch (err) {
    sink?.destroy();
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        /* closing after a failure */
      }
      fd = null;
    }
    if (partial) removeQuietly(partial);
    if (linked && output) removeQuietly(output.file);
    if (err instanceof ExportError) throw err;
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code && /^E[A-Z]+$/.test(code)) throw new ExportError('WRITE_FAILED', `export failed: ${(err as Error).message}`, { cause: err });
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    for (const s of spools) s.dispose();
    if (work) removeQuietly(work);
    if (partial) underWay.delete(partial);
    if (work) underWay.delete(work);
  }
}
