import { decodeMessageBytes, encodeText, encodingOf, type Hl7Encoding } from './charset';
import { DEFAULT_DELIMITERS, escapeValue, unescapeValue, type Delimiters } from './escape';
import { Hl7ParseError } from './errors';
import { parsePath, type Hl7Path } from './path';

/** A decoded field: repetitions → components → sub-components, escape sequences decoded. */
export type FieldValue = string[][][];

/** What a reader needs to route a message: taken from MSH, as strings. */
export interface Hl7Header {
  fieldSeparator: string;
  encodingCharacters: string;
  /** MSH-3 … MSH-6 in ER7 form (components joined with the component separator, e.g. "APP^1.2.3^ISO"). */
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  /** MSH-7 as sent (e.g. 20261123095501+0100). */
  dateTime: string;
  /** MSH-9.1, MSH-9.2, MSH-9.3 (e.g. ADT, A01, ADT_A01). */
  type: string;
  event: string;
  structure: string;
  /** MSH-10. */
  controlId: string;
  /** MSH-11.1 (P, T, D). */
  processingId: string;
  /** MSH-12.1 (e.g. 2.5). */
  version: string;
  /** MSH-18, first repetition ('' when not declared). */
  charset: string;
}

export interface ParseOptions {
  /**
   * Require MSH-9 (message type), MSH-10 (control id) and MSH-12 (version): a header without them
   * is an INCOMPLETE_HEADER error (default true).
   */
  requireHeader?: boolean;
}

const SEGMENT_ID = /^[A-Z0-9]{3}$/;

/** Whether the line starts with three capital letters or digits. */
function isSegmentId(line: string): boolean {
  if (line.length < 3) return false;
  for (let i = 0; i < 3; i++) {
    const c = line.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57))) return false;
  }
  return true;
}

function splitSegments(text: string): string[] {
  const lines = text.indexOf('\n') < 0 ? text.split('\r') : text.split(/\r\n|\n\r|\r|\n/);
  // drop empty and blank lines in place (the trailing terminator leaves one)
  let kept = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.length && (l.charCodeAt(0) > 32 || l.trim().length)) lines[kept++] = l;
  }
  lines.length = kept;
  return lines;
}

function isDelimiterChar(c: number): boolean {
  // printable, not a letter, digit or space
  return c > 32 && c < 127 && !((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122));
}

function parseDelimiters(text: string): Delimiters {
  if (text.length < 4) throw new Hl7ParseError('BAD_DELIMITERS', 'MSH ends before MSH-1 (field separator)');
  const field = text[3];
  if (!isDelimiterChar(field.charCodeAt(0))) {
    throw new Hl7ParseError('BAD_DELIMITERS', `MSH-1 field separator "${field}" is not usable (a letter, digit, space or control character)`);
  }
  let end = 4;
  while (end < text.length && end < 10 && text[end] !== field && text[end] !== '\r' && text[end] !== '\n') end++;
  const enc = text.slice(4, end);
  if (enc.length < 2 || enc.length > 5 || (end < text.length && text[end] !== field)) {
    throw new Hl7ParseError('BAD_DELIMITERS', `MSH-2 encoding characters "${enc}" must be 2 to 5 characters (e.g. ^~\\&)`);
  }
  for (let i = 0; i < enc.length; i++) {
    const c = enc[i];
    if (!isDelimiterChar(c.charCodeAt(0)) || c === field || enc.indexOf(c) !== i) {
      throw new Hl7ParseError('BAD_DELIMITERS', `MSH-2 encoding characters "${enc}" are repeated, alphanumeric or white space`);
    }
  }
  return {
    field,
    component: enc[0],
    repetition: enc[1],
    escape: enc[2] ?? '',
    subcomponent: enc[3] ?? '',
    truncation: enc[4] ?? '',
  };
}

/** The piece n (0-based) of text cut at sep, without building an array; null when absent. */
function piece(text: string, sep: string, n: number): string | null {
  let start = 0;
  for (let i = 0; i < n; i++) {
    const at = text.indexOf(sep, start);
    if (at < 0) return null;
    start = at + 1;
  }
  const end = text.indexOf(sep, start);
  return end < 0 ? text.slice(start) : text.slice(start, end);
}

/**
 * One segment: fields[n] is field n in ER7 (encoded) form; for MSH, fields[1] is MSH-1 and fields[2]
 * MSH-2. A parsed segment keeps its line and cuts it into fields the first time it is read.
 */
export class Segment {
  /** The segment id (MSH, PID, OBX…). */
  readonly name: string;
  private line: string | null;
  private cut: string[] | null;
  /** Field n split into its repetitions (ER7 form), once, the first time a repetition is read. */
  private reps: (string[] | undefined)[] = [];

  constructor(
    private readonly msg: Hl7Message,
    fieldsOrLine: string[] | string,
  ) {
    if (typeof fieldsOrLine === 'string') {
      this.line = fieldsOrLine;
      this.cut = null;
      this.name = fieldsOrLine.slice(0, 3);
    } else {
      this.line = null;
      this.cut = fieldsOrLine;
      this.name = fieldsOrLine[0];
    }
  }

  /** The fields in ER7 form (index = field number). */
  get fields(): string[] {
    if (this.cut === null) {
      this.cut = (this.line as string).split(this.msg.delimiters.field);
      this.line = null;
    }
    return this.cut;
  }

  private get isMsh(): boolean {
    return this.name === 'MSH';
  }

  /** Field n in ER7 form ('' when absent). */
  raw(n: number): string {
    return this.fields[n] ?? '';
  }

  /**
   * The repetitions of field n in ER7 form ([] when empty), split once and kept: reading repetition after
   * repetition is linear in the field's length, however many there are.
   */
  rawRepetitions(n: number): readonly string[] {
    const known = this.reps[n];
    if (known) return known;
    const raw = this.fields[n];
    const split = !raw ? [] : this.isMsh && n <= 2 ? [raw] : raw.indexOf(this.msg.delimiters.repetition) < 0 ? [raw] : raw.split(this.msg.delimiters.repetition);
    this.reps[n] = split;
    return split;
  }

  /** Number of repetitions of field n (0 when empty). */
  repetitions(n: number): number {
    return this.rawRepetitions(n).length;
  }

  /** One primitive value, decoded: field n, repetition r, component c, sub-component s (all 1-based). */
  value(n: number, r = 1, c = 1, s = 1): string {
    if (n <= 2 && this.isMsh) {
      const raw = this.fields[n] ?? '';
      return r === 1 && c === 1 && s === 1 ? raw : '';
    }
    let v: string | null = this.rawRepetitions(n)[r - 1] ?? null;
    if (!v) return '';
    const d = this.msg.delimiters;
    v = piece(v, d.component, c - 1);
    if (v === null) return '';
    if (d.subcomponent) v = piece(v, d.subcomponent, s - 1);
    else if (s !== 1) return '';
    if (v === null) return '';
    return unescapeValue(v, d, this.msg.encoding);
  }

  /** Field n decoded as repetitions → components → sub-components ([] when empty). */
  field(n: number): FieldValue {
    const raw = this.fields[n];
    if (!raw) return [];
    if (n <= 2 && this.isMsh) return [[[raw]]];
    const d = this.msg.delimiters;
    const enc = this.msg.encoding;
    const reps = this.rawRepetitions(n);
    const out: FieldValue = new Array(reps.length);
    for (let i = 0; i < reps.length; i++) {
      const rep = reps[i];
      const comps = rep.indexOf(d.component) < 0 ? [rep] : rep.split(d.component);
      const outComps: string[][] = new Array(comps.length);
      for (let j = 0; j < comps.length; j++) {
        const comp = comps[j];
        const subs = d.subcomponent && comp.indexOf(d.subcomponent) >= 0 ? comp.split(d.subcomponent) : [comp];
        for (let k = 0; k < subs.length; k++) subs[k] = unescapeValue(subs[k], d, enc);
        outComps[j] = subs;
      }
      out[i] = outComps;
    }
    return out;
  }

  /** Sets field n from its ER7 (already encoded) form. */
  setRaw(n: number, raw: string): this {
    if (this.isMsh && n <= 2) throw new Hl7ParseError('BAD_PATH', 'MSH-1 and MSH-2 hold the delimiters and cannot be set');
    while (this.fields.length <= n) this.fields.push('');
    this.fields[n] = raw;
    this.reps[n] = undefined;
    if (this.isMsh) this.msg.invalidate();
    return this;
  }

  /** Sets one primitive value (escaped as needed); r, c, s are 1-based. */
  set(n: number, value: string, r = 1, c = 1, s = 1): this {
    const d = this.msg.delimiters;
    const reps = (this.fields[n] ?? '').split(d.repetition);
    while (reps.length < r) reps.push('');
    const comps = reps[r - 1].split(d.component);
    while (comps.length < c) comps.push('');
    const subSep = d.subcomponent || '&';
    const subs = comps[c - 1].split(subSep);
    while (subs.length < s) subs.push('');
    subs[s - 1] = escapeValue(value, d);
    comps[c - 1] = trimEmpty(subs).join(subSep);
    reps[r - 1] = trimEmpty(comps).join(d.component);
    return this.setRaw(n, trimEmpty(reps).join(d.repetition));
  }

  /** Sets field n from a structure: a string (one value), components (string[]), or repetitions of components (string[][]). */
  setField(n: number, value: string | string[] | string[][]): this {
    const d = this.msg.delimiters;
    const reps: string[][] = typeof value === 'string' ? [[value]] : value.length && Array.isArray(value[0]) ? (value as string[][]) : [value as string[]];
    const raw = reps.map((comps) => trimEmpty(comps.map((c) => escapeValue(c, d))).join(d.component));
    return this.setRaw(n, trimEmpty(raw).join(d.repetition));
  }

  toString(): string {
    if (this.line !== null) return this.line;
    const sep = this.msg.delimiters.field;
    if (this.isMsh) return 'MSH' + sep + this.fields.slice(2).join(sep);
    let end = this.fields.length;
    while (end > 1 && this.fields[end - 1] === '') end--;
    return this.fields.slice(0, end).join(sep);
  }
}

function trimEmpty(parts: string[]): string[] {
  let end = parts.length;
  while (end > 1 && parts[end - 1] === '') end--;
  return end === parts.length ? parts : parts.slice(0, end);
}

export class Hl7Message {
  /** The segments in order; append with addSegment() (the lookups by id index them as they come). */
  readonly segments: Segment[] = [];
  private cachedHeader: Hl7Header | null = null;
  /** Segments by id, built on the first lookup and extended with the segments appended since. */
  private byName: Map<string, Segment[]> | null = null;
  private indexed = 0;

  /** Use parseHl7() or createMessage(). */
  constructor(
    readonly delimiters: Delimiters,
    /** Encoding used to read \X..\ escapes and to write the message as bytes. */
    readonly encoding: Hl7Encoding,
  ) {}

  /**
   * The segments by id: each segment is indexed once, so that reading occurrence after occurrence
   * (OBX[1] … OBX[20000]) is linear in the number of segments, not one scan of them per occurrence.
   */
  private index(): Map<string, Segment[]> {
    if (!this.byName || this.indexed > this.segments.length) {
      this.byName = new Map();
      this.indexed = 0;
    }
    const segs = this.segments;
    for (; this.indexed < segs.length; this.indexed++) {
      const s = segs[this.indexed];
      const list = this.byName.get(s.name);
      if (list) list.push(s);
      else this.byName.set(s.name, [s]);
    }
    return this.byName;
  }

  /** The n-th (1-based) segment with this id. */
  segment(name: string, occurrence = 1): Segment | undefined {
    return this.index().get(name)?.[occurrence - 1];
  }

  /** Every segment with this id, in order. */
  all(name: string): Segment[] {
    return this.index().get(name)?.slice() ?? [];
  }

  /** Appends a segment and returns it. */
  addSegment(name: string): Segment {
    if (!SEGMENT_ID.test(name)) throw new Hl7ParseError('BAD_SEGMENT', `"${name}" is not a segment id`);
    const seg = new Segment(this, [name]);
    this.segments.push(seg);
    return seg;
  }

  /**
   * One primitive value by path, decoded ('' when absent): `PID-3[2].4.2` is PID, field 3, second
   * repetition, component 4, sub-component 2; `OBX[2]-5` the second OBX. Omitted parts default to 1,
   * so `PID-5` is the first component of the first repetition of PID-5.
   */
  get(path: string): string {
    const p = parsePath(path);
    const seg = this.segment(p.segment, p.occurrence);
    if (!seg || p.field === 0) return seg && p.field === 0 ? seg.name : '';
    return seg.value(p.field, p.repetition ?? 1, p.component ?? 1, p.subcomponent ?? 1);
  }

  /** The value at the path in every repetition of the field (a repetition given in the path is ignored). */
  getAll(path: string): string[] {
    const p = parsePath(path);
    const seg = this.segment(p.segment, p.occurrence);
    if (!seg || !p.field) return [];
    const out: string[] = [];
    for (let r = 1, n = seg.repetitions(p.field); r <= n; r++) out.push(seg.value(p.field, r, p.component ?? 1, p.subcomponent ?? 1));
    return out;
  }

  /** Sets one primitive value by path (escaping it), adding the segment when it is the next occurrence. */
  set(path: string, value: string): this {
    const p = parsePath(path);
    if (!p.field) throw new Hl7ParseError('BAD_PATH', `${path}: a field number is needed to set a value`);
    this.segmentForWrite(p).set(p.field, value, p.repetition ?? 1, p.component ?? 1, p.subcomponent ?? 1);
    return this;
  }

  private segmentForWrite(p: Hl7Path): Segment {
    const found = this.segment(p.segment, p.occurrence);
    if (found) return found;
    if ((this.index().get(p.segment)?.length ?? 0) !== p.occurrence - 1) {
      throw new Hl7ParseError('BAD_PATH', `${p.segment}[${p.occurrence}] cannot be created before the earlier occurrences`);
    }
    return this.addSegment(p.segment);
  }

  /** The routing summary of MSH (see Hl7Header). */
  header(): Hl7Header {
    if (this.cachedHeader) return this.cachedHeader;
    const msh = this.segments[0];
    const msh9 = msh.field(9)[0] ?? [];
    const h: Hl7Header = {
      fieldSeparator: this.delimiters.field,
      encodingCharacters: msh.raw(2),
      sendingApplication: msh.raw(3),
      sendingFacility: msh.raw(4),
      receivingApplication: msh.raw(5),
      receivingFacility: msh.raw(6),
      dateTime: msh.value(7),
      type: msh9[0]?.[0] ?? '',
      event: msh9[1]?.[0] ?? '',
      structure: msh9[2]?.[0] ?? '',
      controlId: msh.value(10),
      processingId: msh.value(11),
      version: msh.value(12),
      charset: msh.value(18),
    };
    this.cachedHeader = h;
    return h;
  }

  /** The message in ER7 form, each segment ended by the terminator (CR by default). */
  toString(terminator = '\r'): string {
    let out = '';
    for (const s of this.segments) out += s.toString() + terminator;
    return out;
  }

  /** The message as bytes in its encoding (MSH-18). */
  toBuffer(): Buffer {
    return encodeText(this.toString(), this.encoding);
  }

  /** @internal parsing and building change the header; forget the cached summary. */
  invalidate(): void {
    this.cachedHeader = null;
  }
}

function checkHeader(msg: Hl7Message): void {
  const h = msg.header();
  const missing: string[] = [];
  if (!h.type) missing.push('MSH-9 (message type)');
  if (!h.controlId) missing.push('MSH-10 (message control id)');
  if (!h.version) missing.push('MSH-12 (version id)');
  if (missing.length) {
    const truncated = msg.segments[0].fields.length <= 12 ? ' (the header is truncated)' : '';
    throw new Hl7ParseError('INCOMPLETE_HEADER', `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} empty${truncated}`);
  }
}

function parseText(input: string, encoding: Hl7Encoding | null, opts: ParseOptions, headerOnly: boolean): Hl7Message {
  let text = input;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (!(text.charCodeAt(0) > 32)) {
    const lead = text.search(/\S/);
    if (lead < 0) throw new Hl7ParseError('EMPTY', 'the message is empty');
    text = text.slice(lead);
  }
  if (!text.startsWith('MSH')) {
    throw new Hl7ParseError('NOT_HL7', `not an HL7 v2 message: it starts with "${text.slice(0, 3).replace(/[^\x20-\x7e]/g, '?')}", not with an MSH segment`);
  }
  const d = parseDelimiters(text);
  let lines: string[];
  if (headerOnly) {
    const nl = text.search(/[\r\n]/);
    lines = [nl < 0 ? text : text.slice(0, nl)];
  } else {
    lines = splitSegments(text);
  }
  const mshFields = lines[0].split(d.field);
  mshFields.splice(1, 0, d.field); // MSH-1 is the separator itself
  // MSH-18 decides how \X..\ escapes are read; a string input is already decoded text.
  let enc = encoding;
  if (!enc) {
    const charset = piece(piece(mshFields[18] ?? '', d.repetition, 0) ?? '', d.component, 0) ?? '';
    try {
      enc = charset.trim() ? encodingOf(charset) : 'utf8';
    } catch {
      enc = 'utf8';
    }
  }
  const msg = new Hl7Message(d, enc);
  msg.segments.push(new Segment(msg, mshFields));
  const fieldCode = d.field.charCodeAt(0);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!isSegmentId(line) || (line.length > 3 && line.charCodeAt(3) !== fieldCode)) {
      throw new Hl7ParseError('BAD_SEGMENT', `segment ${i + 1} does not start with a segment id ("${line.slice(0, 4).replace(/[^\x20-\x7e]/g, '?')}…")`);
    }
    msg.segments.push(new Segment(msg, line));
  }
  if (opts.requireHeader !== false) checkHeader(msg);
  return msg;
}

/**
 * Parses an ER7 (pipe-and-hat) HL7 v2 message. A Buffer is decoded in the character set MSH-18
 * declares (see decodeMessageBytes); segments may end with CR, LF or CRLF. Throws Hl7ParseError
 * naming what is wrong for empty, non-HL7 and truncated input.
 */
export function parseHl7(input: string | Buffer, opts: ParseOptions = {}): Hl7Message {
  if (Buffer.isBuffer(input)) {
    const { text, encoding } = decodeMessageBytes(input);
    return parseText(text, encoding, opts, false);
  }
  if (typeof input !== 'string') throw new Hl7ParseError('NOT_HL7', `not an HL7 v2 message: expected a string or Buffer, got ${input === null ? 'null' : typeof input}`);
  return parseText(input, null, opts, false);
}

/**
 * Reads only the MSH segment (e.g. from the first bytes of an oversize message, to answer it):
 * the header summary, without requiring the rest of the message. From bytes, only the first line is
 * decoded, leniently — in its declared character set when its bytes are valid in it, else as Latin-1
 * (every byte is a character) — so that a message refused for its bytes can still be answered.
 */
export function readHeader(input: string | Buffer, opts: ParseOptions = {}): Hl7Header {
  if (!Buffer.isBuffer(input)) return parseText(input, null, opts, true).header();
  const cut = input.subarray(0, 65536);
  let end = cut.length;
  const cr = cut.indexOf(0x0d);
  if (cr >= 0) end = cr;
  const lf = cut.indexOf(0x0a);
  if (lf >= 0 && lf < end) end = lf;
  const line = cut.subarray(0, end);
  let decoded: { text: string; encoding: Hl7Encoding };
  try {
    decoded = decodeMessageBytes(line);
  } catch {
    decoded = { text: line.toString('latin1'), encoding: 'latin1' }; // unsupported MSH-18, or bytes invalid in it
  }
  return parseText(decoded.text, decoded.encoding, opts, true).header();
}

let controlCounter = 0;
/** A message control id unique in this process and across restarts (20 characters at most). */
export function newControlId(): string {
  controlCounter = (controlCounter + 1) % 1679616; // 36^4
  return Date.now().toString(36).toUpperCase() + controlCounter.toString(36).toUpperCase().padStart(4, '0');
}

/** HL7 DTM with seconds and the local time zone offset: YYYYMMDDHHMMSS+ZZZZ. */
export function formatDateTime(date: Date = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -date.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return (
    `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}` +
    `${sign}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`
  );
}

export interface CreateOptions {
  /** MSH-9: message type, trigger event, structure (e.g. ADT, A01, ADT_A01). */
  type: string;
  event?: string;
  structure?: string;
  /** MSH-10 (default: a new control id). */
  controlId?: string;
  /** MSH-12 (default 2.5). */
  version?: string;
  /** MSH-11 (default P). */
  processingId?: string;
  /** MSH-3 … MSH-6 in ER7 form (e.g. "APP^1.2.250.1.x^ISO"). */
  sendingApplication?: string;
  sendingFacility?: string;
  receivingApplication?: string;
  receivingFacility?: string;
  /** MSH-7 (default now). */
  dateTime?: string;
  /** MSH-18 (default UNICODE UTF-8). */
  charset?: string;
  delimiters?: Delimiters;
}

/** Starts a new message with its MSH segment; add segments with addSegment() / set(). */
export function createMessage(o: CreateOptions): Hl7Message {
  const d = o.delimiters ?? DEFAULT_DELIMITERS;
  const charset = o.charset ?? 'UNICODE UTF-8';
  const msg = new Hl7Message(d, charset ? encodingOf(charset) : 'utf8');
  const enc = d.component + d.repetition + d.escape + d.subcomponent + d.truncation;
  const msh = new Segment(msg, ['MSH', d.field, enc]);
  msg.segments.push(msh);
  msh.setRaw(3, o.sendingApplication ?? '');
  msh.setRaw(4, o.sendingFacility ?? '');
  msh.setRaw(5, o.receivingApplication ?? '');
  msh.setRaw(6, o.receivingFacility ?? '');
  msh.set(7, o.dateTime ?? formatDateTime());
  msh.setField(9, [o.type, o.event ?? '', o.structure ?? '']);
  msh.set(10, o.controlId ?? newControlId());
  msh.set(11, o.processingId ?? 'P');
  msh.set(12, o.version ?? '2.5');
  if (charset) msh.set(18, charset);
  return msg;
}
