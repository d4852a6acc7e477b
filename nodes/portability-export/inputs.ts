// The inputs of portability-export, read and checked before anything is exported: the node's
// configuration (edit dialog), the selection / depth / types / output of a message, the output folder
// and the archive's file name. Every refusal is a PortabilityExportError whose code (msg.error.code)
// is one of lib/export's ExportError codes or one of this node's own (NO_STORE, TOO_LARGE, BUSY,
// INTERNAL), and whose message names the property at fault — never a patient's IPP or INS.
import os from 'node:os';
import path from 'node:path';
import { isFiness } from '../../lib/cda';
import { localIso, slug, type ExportDepth, type ExportErrorCode, type ExportSelection } from '../../lib/export';
import { exportProducer, type ExportProducer } from '../shared/establishment';
import type { NodeDef, NodeMessage } from '../shared/red';

export type PortabilityErrorCode = ExportErrorCode | 'NO_STORE' | 'NO_ESTABLISHMENT' | 'BAD_ESTABLISHMENT' | 'TOO_LARGE' | 'BUSY' | 'INTERNAL';

/** A Catch-able error: `code` becomes msg.error.code. No `cause` (it could carry a patient's IPP). */
export class PortabilityExportError extends Error {
  constructor(
    readonly code: PortabilityErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const bad = (message: string) => new PortabilityExportError('BAD_ARGUMENT', message);

export const MiB = 1024 * 1024;
/** A buffer export larger than this (MiB) is refused unless the node says otherwise. */
export const DEFAULT_MAX_BUFFER_MIB = 20;
/** The largest limit accepted for a buffer export (MiB): beyond, export to a file. */
export const MAX_BUFFER_MIB = 1024;
/** Default depth of the node: the last 5 years. */
export const DEFAULT_YEARS = 5;
/** Default output folder, relative to the Node-RED user directory. */
export const DEFAULT_FOLDER = path.join('segur-dpi', 'exports');
/** Exports waiting behind the running one, at most (one export at a time per node). */
export const QUEUE_LIMIT = 20;
/**
 * The default types of an export with a depth (years, since): the DSR's scope, lib/export's default (LDL, CRO,
 * ordonnances). An export of the whole history takes every type. The node's Document types field is empty
 * for the default; it held this text before, which still means the default.
 */
export const FORMER_DEFAULT_TYPES = 'LDL,CRO,ORDONNANCE';
export const DEFAULT_TIME_ZONE = 'Europe/Paris';
const MAX_FILENAME = 200;

export type OutputMode = 'file' | 'buffer';
export type DepthMode = 'years' | 'since' | 'everything';

export interface PortabilityExportDef extends NodeDef {
  store?: string;
  /** The segur-establishment configuration node; producerName, producerFiness and timeZone are the node's own, from before it (used without one). */
  establishment?: string;
  folder?: string;
  output?: string;
  maxBufferMiB?: number | string;
  depthMode?: string;
  years?: number | string;
  since?: string;
  types?: string;
  versions?: string;
  producerName?: string;
  producerFiness?: string;
  timeZone?: string;
}

export interface Settings {
  storeId: string;
  folder: string;
  /** The folder is the default one (created when missing); a configured folder must exist. */
  defaultFolder: boolean;
  output: OutputMode;
  /** Largest buffer export, in MiB as configured, and in bytes. */
  maxBufferMiB: number;
  maxBufferBytes: number;
  depth: ExportDepth;
  /** The node's Document types; undefined: the default (see FORMER_DEFAULT_TYPES). */
  types: string[] | undefined;
  versions: 'all' | 'current';
  producer: ExportProducer | undefined;
  timeZone: string;
  /** What goes in default file names: the FINESS, else the establishment's name, else "segur-dpi". */
  establishment: string;
  /** What is wrong with the configuration (each message is then refused with it); null when fine. */
  problem: string | null;
}

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : typeof v === 'number' && Number.isFinite(v) ? String(v) : '');

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (Buffer.isBuffer(v)) return 'a Buffer';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/** Type codes or aliases from a comma / space separated string or an array; "all" or "*" alone: every type. */
export function parseTypes(v: unknown, where: string): string[] | undefined {
  let list: string[];
  if (typeof v === 'string') list = v.split(/[\s,;]+/);
  else if (Array.isArray(v)) {
    list = v.map((x, i) => {
      if (typeof x !== 'string') throw bad(`${where}[${i}] must be a type code or alias (a string), not ${describeValue(x)}`);
      return x;
    });
  } else throw bad(`${where} must be a list of type codes or aliases (an array, or a comma-separated string), not ${describeValue(v)}`);
  list = list.map((x) => x.trim()).filter(Boolean);
  if (!list.length) return undefined;
  if (list.length === 1 && ['all', '*'].includes(list[0].toLowerCase())) return ['*'];
  return list;
}

/** The node's Document types field says "the default": empty, absent, or the former default text (whatever its case and separators). */
export function isDefaultTypes(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v !== 'string') return false;
  const words = v.split(/[\s,;]+/).filter(Boolean).map((w) => w.toUpperCase());
  return words.length === 0 || words.sort().join(',') === FORMER_DEFAULT_TYPES.split(',').sort().join(',');
}

/** The absolute output folder: empty → <userDir>/segur-dpi/exports; relative → under the user directory. */
export function resolveFolder(folder: string | undefined, userDir: string | undefined): { folder: string; isDefault: boolean } {
  const base = userDir && userDir.trim() ? userDir : path.join(os.homedir(), '.node-red');
  const name = (folder ?? '').trim();
  return { folder: path.resolve(base, name || DEFAULT_FOLDER), isDefault: !name };
}

/**
 * The node's settings from its configuration; a faulty setting is reported in `problem`. The producer and
 * the time zone are the establishment's when the node has one (`establishment`), else the node's own
 * fields (flows written before segur-establishment).
 */
export function configSettings(
  config: PortabilityExportDef,
  userDir: string | undefined,
  establishment?: { producer: ExportProducer | undefined; timeZone: string },
): Settings {
  const problems: string[] = [];
  const storeId = typeof config.store === 'string' && config.store !== '_ADD_' ? config.store.trim() : '';
  const { folder, isDefault } = resolveFolder(config.folder, userDir);
  const output: OutputMode = config.output === 'buffer' ? 'buffer' : 'file';
  if (config.output !== undefined && config.output !== '' && config.output !== 'file' && config.output !== 'buffer') {
    problems.push(`output mode "${String(config.output)}" is neither file nor buffer`);
  }
  let maxMib = DEFAULT_MAX_BUFFER_MIB;
  if (config.maxBufferMiB !== undefined && config.maxBufferMiB !== '') {
    const n = Number(config.maxBufferMiB);
    if (Number.isFinite(n) && n > 0 && n <= MAX_BUFFER_MIB) maxMib = n;
    else problems.push(`largest buffer export must be a number of MiB above 0 and at most ${MAX_BUFFER_MIB}, not "${String(config.maxBufferMiB)}"`);
  }
  const mode = (str(config.depthMode) || 'years') as DepthMode;
  let depth: ExportDepth;
  if (mode === 'everything') depth = { everything: true };
  else if (mode === 'since') {
    // an empty or malformed date is reported at deploy; messages giving their own depth still work
    depth = { since: str(config.since) };
  } else {
    if (mode !== 'years') problems.push(`default depth "${mode}" is not years, since or everything`);
    const raw = config.years === undefined || config.years === '' ? DEFAULT_YEARS : Number(config.years);
    depth = { years: Number.isFinite(raw) ? raw : NaN };
  }
  let types: string[] | undefined;
  try {
    types = isDefaultTypes(config.types) ? undefined : parseTypes(config.types, 'configured types');
  } catch (err) {
    problems.push((err as Error).message);
  }
  const versions = config.versions === 'current' ? 'current' : 'all';
  let producer: ExportProducer | undefined;
  let timeZone: string;
  if (establishment) {
    producer = establishment.producer;
    timeZone = establishment.timeZone;
  } else {
    const finess = str(config.producerFiness);
    if (finess && !isFiness(finess)) problems.push(`FINESS "${finess}" is not 9 characters (2 digits or 2A/2B, then 7 digits)`);
    producer = exportProducer(config.producerName, finess);
    timeZone = str(config.timeZone) || DEFAULT_TIME_ZONE;
  }
  return {
    storeId,
    folder,
    defaultFolder: isDefault,
    output,
    maxBufferMiB: maxMib,
    maxBufferBytes: Math.floor(maxMib * MiB),
    depth,
    types,
    versions,
    producer,
    timeZone,
    establishment: slug(producer?.finess || producer?.name || '', 40) || 'segur-dpi',
    problem: problems.length ? `configuration: ${problems.join('; ')}` : null,
  };
}

// --- the message ---------------------------------------------------------------------------------

export interface Request {
  selection: ExportSelection;
  /** Where each IPP / INS value came from (msg.ipp, msg.ipp[2]…), to name it in errors without its value. */
  origins: { ipp: string[]; ins: string[] };
  kind: 'all' | 'patient' | 'patients';
  depth: ExportDepth;
  /** The types asked for; undefined: lib/export's default (the DSR's scope); ['*']: every type. */
  types: string[] | undefined;
  output: OutputMode;
  /** The file name asked for (msg.filename), checked; null: the default name. */
  filename: string | null;
}

/** An IPP given as a string, a number or {id, oid | authority} → "id" or "authority|id". */
function ippValue(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)) {
    const o = v as Record<string, unknown>;
    const id = str(o.id);
    if (!id) throw bad(`${where} has no id`);
    const authority = str(o.oid) || str(o.authority);
    return authority ? `${authority}|${id}` : id;
  }
  throw bad(`${where} must be an IPP (a string, or {id, oid}), not ${describeValue(v)}`);
}

function insValue(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) && typeof (v as { value?: unknown }).value === 'string') {
    return (v as { value: string }).value;
  }
  throw bad(`${where} must be an INS (a string of 15 characters, or {value}), not ${describeValue(v)}`);
}

function values(v: unknown, name: string, one: (x: unknown, where: string) => string): { list: string[]; origins: string[] } {
  if (v === undefined || v === null) return { list: [], origins: [] };
  const items = Array.isArray(v) ? v : [v];
  const list: string[] = [];
  const origins: string[] = [];
  items.forEach((x, i) => {
    const where = Array.isArray(v) ? `${name}[${i}]` : name;
    const value = one(x, where).trim();
    if (!value) throw bad(`${where} is empty`);
    list.push(value);
    origins.push(where);
  });
  return { list, origins };
}

/** The selection of a message: msg.ipp, msg.ins (a value or an array) or msg.all === true. */
export function selectionFrom(msg: NodeMessage): Pick<Request, 'selection' | 'origins' | 'kind'> {
  if (msg.all !== undefined && msg.all !== null && typeof msg.all !== 'boolean') throw bad(`msg.all must be true or false, not ${describeValue(msg.all)}`);
  const ipp = values(msg.ipp, 'msg.ipp', ippValue);
  const ins = values(msg.ins, 'msg.ins', insValue);
  const selection: ExportSelection = {};
  if (msg.all === true) selection.all = true;
  if (ipp.list.length) selection.ipp = ipp.list;
  if (ins.list.length) selection.ins = ins.list;
  const count = new Set([...ipp.list, ...ins.list.map((x) => x.toUpperCase())]).size;
  return { selection, origins: { ipp: ipp.origins, ins: ins.origins }, kind: msg.all === true ? 'all' : count > 1 ? 'patients' : 'patient' };
}

/** The depth of a message (msg.since, msg.years, msg.everything), or `fallback` when it gives none. */
export function depthFrom(msg: NodeMessage, fallback: ExportDepth): ExportDepth {
  const d: { since?: string; years?: number; everything?: true } = {};
  let given = false;
  if (msg.since !== undefined && msg.since !== null && msg.since !== '') {
    if (typeof msg.since === 'string') d.since = msg.since;
    else if (msg.since instanceof Date && Number.isFinite(msg.since.getTime())) d.since = msg.since.toISOString();
    else throw bad(`msg.since must be a date (YYYY-MM-DD) or a date-time with its offset, not ${describeValue(msg.since)}`);
    given = true;
  }
  if (msg.years !== undefined && msg.years !== null && msg.years !== '') {
    if (typeof msg.years === 'number') d.years = msg.years;
    else if (typeof msg.years === 'string' && /^\s*-?\d+\s*$/.test(msg.years)) d.years = Number(msg.years);
    else throw bad(`msg.years must be a whole number of years, not ${typeof msg.years === 'string' ? `"${msg.years}"` : describeValue(msg.years)}`);
    given = true;
  }
  if (msg.everything !== undefined && msg.everything !== null) {
    if (typeof msg.everything !== 'boolean') throw bad(`msg.everything must be true or false, not ${describeValue(msg.everything)}`);
    if (msg.everything) d.everything = true;
    given = true;
  }
  // only msg.everything === false: no depth given by the message, the node's default applies
  return given && Object.keys(d).length ? (d as ExportDepth) : fallback;
}

/** A file name inside the output folder: no path, nothing a file system of the establishment refuses; ".zip" added. */
export function checkFilename(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw bad(`msg.filename must be a file name (a string), not ${describeValue(v)}`);
  const name = v.trim();
  if (!name) return null;
  if (/[/\\]/.test(name) || name.includes('..')) {
    throw bad('msg.filename must be a file name only, inside the configured folder: no "/", "\\" or ".."');
  }
  if (/[\u0000-\u001f\u007f<>:"|?*]/.test(name)) throw bad('msg.filename must not hold control characters nor any of < > : " | ? *');
  if (name.startsWith('.')) throw bad('msg.filename must not start with "." (a hidden file)');
  const full = /\.zip$/i.test(name) ? name : `${name}.zip`;
  if (full.length > MAX_FILENAME) throw bad(`msg.filename is too long (at most ${MAX_FILENAME} characters)`);
  return full;
}

/** Reads a whole message against the node's settings. */
export function readRequest(msg: NodeMessage, s: Settings): Request {
  const sel = selectionFrom(msg);
  const depth = depthFrom(msg, s.depth);
  // msg.types, else the node's; neither: the whole history takes every type, a depth the DSR's default types
  let types = msg.types === undefined || msg.types === null ? s.types : (parseTypes(msg.types, 'msg.types') ?? s.types);
  if (types === undefined && 'everything' in depth && depth.everything === true) types = ['*'];
  let output = s.output;
  if (msg.output !== undefined && msg.output !== null && msg.output !== '') {
    if (msg.output !== 'file' && msg.output !== 'buffer') {
      throw bad(`msg.output must be "file" or "buffer", not ${typeof msg.output === 'string' ? `"${msg.output}"` : describeValue(msg.output)}`);
    }
    output = msg.output;
  }
  return { ...sel, depth, types, output, filename: checkFilename(msg.filename) };
}

/** export-<establishment>-<all | patient | patients>-<YYYYMMDD-HHmmss>.zip, the time in the establishment's zone. */
export function defaultFilename(establishment: string, kind: Request['kind'], now: Date, timeZone: string): string {
  let stamp: string;
  try {
    stamp = localIso(now.getTime(), timeZone);
  } catch {
    stamp = now.toISOString();
  }
  const digits = stamp.replace(/\D/g, '');
  return `export-${establishment}-${kind}-${digits.slice(0, 8)}-${digits.slice(8, 14)}.zip`;
}

/**
 * The message of an UNKNOWN_PATIENT error without the values: lib/export names them ("IPP 123456, INS
 * …"); this names where they came from (msg.ipp[1], msg.ins). Falls back to a general message.
 */
export function unknownPatientMessage(libMessage: string, selection: ExportSelection, origins: Request['origins']): string {
  const tail = 'match neither an identity in the store nor an archived document (an INS counts only on a qualified identity); nothing was exported';
  const general = `unknown patient: an IPP or INS of the selection (msg.ipp / msg.ins) ${tail.replace(/^match /, 'matches ')}`;
  const m = /^unknown patient: (.*?) — /.exec(libMessage);
  if (!m) return general;
  const ipps = (Array.isArray(selection.ipp) ? selection.ipp : []).map((x) => x.trim());
  const inss = (Array.isArray(selection.ins) ? selection.ins : []).map((x) => x.trim().toUpperCase());
  const named: string[] = [];
  for (const part of m[1].split(', ')) {
    const ipp = /^IPP (.*)$/.exec(part);
    const ins = /^INS (.*)$/.exec(part);
    const i = ipp ? ipps.indexOf(ipp[1]) : ins ? inss.indexOf(ins[1]) : -1;
    const where = i < 0 ? undefined : ipp ? origins.ipp[i] : origins.ins[i];
    if (!where) return general;
    named.push(where);
  }
  if (!named.length) return general;
  return `unknown patient: ${named.join(', ')} ${named.length > 1 ? tail : tail.replace(/^match /, 'matches ')}`;
}

