// Safe reading of XML received from outside (CDA documents): no DTD, no entity but the five predefined
// ones and character references, bounded size and depth, and a base64 text content (the PDF of a CDA
// level-1 document) decoded straight from the input into one preallocated Buffer.
//
// The parser is saxes (streaming, namespace-aware, well-formedness checked); this file decides what
// reaches it and when:
// - the size is checked first (a Buffer's length, a string's length): nothing else is done with a
//   document over the limit (a string's UTF-8 size, up to three times its length, is counted as it is
//   read and checked as the count grows);
// - the prolog (what comes before the root element) is scanned here before saxes sees a byte: a
//   DOCTYPE, with or without an internal subset, is refused there, so neither an external entity
//   (XXE) nor an entity expansion (billion laughs) is ever read, however long the DTD;
// - the input is handed to saxes one piece of markup at a time (up to and including the `>` that
//   closes the next tag), so that an element's handler runs when the parser stands exactly after its
//   start tag: the base64 text of nonXMLBody/text is then read here, from the input, without ever
//   being copied into the parser's text buffer (see readXml, XmlVisitor.open).
import { isUtf8 } from 'node:buffer';
import { SaxesParser, type SaxesTagNS } from 'saxes';

/** Why a received document (or the HL7 message that carries it) was refused. */
export type CdaRejectCode =
  /** not XML at all, or not well-formed (unclosed tags, text outside the root, two roots, truncated…) */
  | 'NOT_XML'
  /** bytes that are not in the declared (or default UTF-8) encoding, or an encoding that is not supported */
  | 'BAD_ENCODING'
  /** a DOCTYPE declaration (DTDs are refused whole: no XXE, no entity expansion) */
  | 'DTD'
  /** a reference to an entity other than the five predefined ones (&lt; &gt; &amp; &quot; &apos;) */
  | 'ENTITY'
  /** elements nested deeper than maxDepth */
  | 'TOO_DEEP'
  /** more bytes than maxBytes, or more elements than maxElements */
  | 'TOO_LARGE'
  /** well-formed XML whose root is not ClinicalDocument in the urn:hl7-org:v3 namespace */
  | 'NOT_CDA'
  /** a CDA document whose header cannot be used (no recordTarget, several bodies…) */
  | 'BAD_CDA'
  /** no PDF in the body: no body, nonXMLBody/text of another media type or representation, a reference instead of inline data, empty */
  | 'NO_PDF'
  /** base64 text that is not strictly base64 (invalid character, truncated, misplaced padding) */
  | 'BAD_BASE64'
  /** the decoded body does not start with %PDF- */
  | 'NOT_PDF'
  /** HL7 carrier (unwrap.ts): not an HL7 v2 message */
  | 'NOT_HL7'
  /** HL7 carrier: a message type or event other than ORU^R01, MDM^T02, MDM^T04, MDM^T10 */
  | 'UNSUPPORTED_MESSAGE'
  /** HL7 carrier: no OBX of type ED carrying a CDA document */
  | 'NO_DOCUMENT'
  /** HL7 carrier: an ED value that cannot be read (unknown encoding, bad hex) */
  | 'BAD_ED';

/**
 * A received document refused: a stable `code` and a message naming what was found — positions, element
 * names, at most the first 16 ASCII characters of an input that is not XML or the first 5 bytes of a
 * body that is not a PDF, to say what it looks like; never names, identifiers or text of the document.
 */
export class CdaRejectError extends Error {
  override readonly name: string = 'CdaRejectError';
  constructor(
    readonly code: CdaRejectCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 256;
export const DEFAULT_MAX_ELEMENTS = 1_000_000;

export interface SafeXmlOptions {
  /** Largest document accepted, in bytes (UTF-8 bytes for a string); default 50 MiB. */
  maxBytes?: number;
  /** Deepest element nesting accepted (the root is depth 1); default 256. */
  maxDepth?: number;
  /**
   * Most elements accepted; default 1,000,000 (a large level-3 report has a few hundred thousand). Bounds
   * the time spent on a document made of millions of tiny elements (about 0.4 s per million here).
   */
  maxElements?: number;
}

// --- sources: a string, or bytes in an ASCII-compatible encoding -------------------------------

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;

/**
 * The input as offsets: characters of a string, or bytes of a Buffer in an ASCII-compatible encoding
 * (UTF-8, ISO-8859-1, ISO-8859-15, windows-1252). Markup is ASCII in all of them, so `<`, `>` and `&`
 * are found in the bytes and a piece cut after a `>` starts and ends on a character boundary.
 */
interface Source {
  readonly length: number;
  /** 'UTF-8', 'ISO-8859-1'…, or 'string' for text handed over as a string. */
  readonly encoding: string;
  code(i: number): number;
  indexOf(code: number, from: number): number;
  indexOfAscii(s: string, from: number): number;
  lastIndexOf(code: number, before: number): number;
  /** The decoded text of [a, b). */
  text(a: number, b: number): string;
  /** [a, b) one character per byte (for base64 and markup look-ahead: ASCII in every supported encoding). */
  ascii(a: number, b: number): string;
}

class StringSource implements Source {
  constructor(
    private readonly s: string,
    readonly encoding = 'string',
  ) {}
  get length(): number {
    return this.s.length;
  }
  code(i: number): number {
    return this.s.charCodeAt(i);
  }
  indexOf(code: number, from: number): number {
    return this.s.indexOf(String.fromCharCode(code), from);
  }
  indexOfAscii(needle: string, from: number): number {
    return this.s.indexOf(needle, from);
  }
  lastIndexOf(code: number, before: number): number {
    return before < 0 ? -1 : this.s.lastIndexOf(String.fromCharCode(code), before);
  }
  text(a: number, b: number): string {
    return this.s.slice(a, b);
  }
  ascii(a: number, b: number): string {
    return this.s.slice(a, b);
  }
}

type ByteDecoder = (bytes: Buffer, at: number) => string;

class BufferSource implements Source {
  constructor(
    private readonly buf: Buffer,
    readonly encoding: string,
    private readonly decode: ByteDecoder,
  ) {}
  get length(): number {
    return this.buf.length;
  }
  code(i: number): number {
    return this.buf[i];
  }
  indexOf(code: number, from: number): number {
    return this.buf.indexOf(code, from);
  }
  indexOfAscii(needle: string, from: number): number {
    return this.buf.indexOf(needle, from, 'latin1');
  }
  lastIndexOf(code: number, before: number): number {
    return before < 0 ? -1 : this.buf.lastIndexOf(code, before);
  }
  text(a: number, b: number): string {
    return this.decode(this.buf.subarray(a, b), a);
  }
  ascii(a: number, b: number): string {
    return this.buf.toString('latin1', a, b);
  }
}

const decodeUtf8: ByteDecoder = (bytes, at) => {
  if (!isUtf8(bytes)) {
    throw new CdaRejectError('BAD_ENCODING', `not valid UTF-8 between bytes ${at} and ${at + bytes.length} (declare the encoding, e.g. <?xml version="1.0" encoding="ISO-8859-1"?>, if it is not UTF-8)`);
  }
  return bytes.toString('utf8');
};
const decodeLatin1: ByteDecoder = (bytes) => bytes.toString('latin1');
function whatwgDecoder(label: string): ByteDecoder {
  const d = new TextDecoder(label);
  return (bytes) => d.decode(bytes);
}
/** windows-1252 bytes 0x80–0x9F (Node 20's TextDecoder reads "windows-1252" as ISO-8859-1). */
const CP1252_HIGH = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';
const decodeCp1252: ByteDecoder = (bytes) => {
  const s = bytes.toString('latin1');
  return /[\x80-\x9f]/.test(s) ? s.replace(/[\x80-\x9f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]) : s;
};

/** Encoding names of the XML declaration this reader accepts, by lower-cased name. */
const ENCODINGS: Record<string, { name: string; decoder: () => ByteDecoder }> = {
  'utf-8': { name: 'UTF-8', decoder: () => decodeUtf8 },
  utf8: { name: 'UTF-8', decoder: () => decodeUtf8 },
  'iso-8859-1': { name: 'ISO-8859-1', decoder: () => decodeLatin1 },
  iso8859_1: { name: 'ISO-8859-1', decoder: () => decodeLatin1 },
  'iso_8859-1': { name: 'ISO-8859-1', decoder: () => decodeLatin1 },
  'iso8859-1': { name: 'ISO-8859-1', decoder: () => decodeLatin1 },
  latin1: { name: 'ISO-8859-1', decoder: () => decodeLatin1 },
  'latin-1': { name: 'ISO-8859-1', decoder: () => decodeLatin1 },
  l1: { name: 'ISO-8859-1', decoder: () => decodeLatin1 },
  'us-ascii': { name: 'US-ASCII', decoder: () => decodeLatin1 },
  ascii: { name: 'US-ASCII', decoder: () => decodeLatin1 },
  'iso-8859-15': { name: 'ISO-8859-15', decoder: () => whatwgDecoder('iso-8859-15') },
  'latin-9': { name: 'ISO-8859-15', decoder: () => whatwgDecoder('iso-8859-15') },
  latin9: { name: 'ISO-8859-15', decoder: () => whatwgDecoder('iso-8859-15') },
  'windows-1252': { name: 'windows-1252', decoder: () => decodeCp1252 },
  cp1252: { name: 'windows-1252', decoder: () => decodeCp1252 },
};

const DECL_ENCODING = /^<\?xml\s[^?]*?\bencoding\s*=\s*(["'])([A-Za-z][A-Za-z0-9._-]*)\1/;

function utf16(buf: Buffer, le: boolean, skip: number): string {
  try {
    return new TextDecoder(le ? 'utf-16le' : 'utf-16be', { fatal: true, ignoreBOM: true }).decode(buf.subarray(skip));
  } catch {
    throw new CdaRejectError('BAD_ENCODING', `not valid UTF-16${le ? 'LE' : 'BE'} (the document starts with a UTF-16 byte order mark or "<?" in UTF-16)`);
  }
}

/**
 * The source over `input`, its first offset (after a byte order mark) and its size in bytes — for a
 * string, -1: its UTF-8 size is counted while it is read (measuring it up front costs as much as
 * reading it), the limit checked as the count grows.
 */
function openSource(input: string | Buffer, maxBytes: number): { src: Source; start: number; bytes: number } {
  if (typeof input === 'string') {
    // a string's UTF-8 size is at least its length: a string longer than the limit is refused unmeasured
    if (input.length > maxBytes) throw tooLarge(input.length, maxBytes, true);
    return { src: new StringSource(input), start: input.charCodeAt(0) === 0xfeff ? 1 : 0, bytes: -1 };
  }
  if (!Buffer.isBuffer(input)) {
    throw new CdaRejectError('NOT_XML', `not an XML document: expected a string or a Buffer, got ${input === null ? 'null' : typeof input}`);
  }
  const buf = input;
  if (buf.length > maxBytes) throw tooLarge(buf.length, maxBytes, false);
  // byte order marks, and UTF-16 without one ("<?" as 00 3C 00 3F / 3C 00 3F 00)
  if (buf.length >= 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0x3c && buf[1] === 0 && buf[2] === 0x3f && buf[3] === 0))) {
    const text = utf16(buf, true, buf[0] === 0xff ? 2 : 0);
    return { src: new StringSource(text, 'UTF-16LE'), start: 0, bytes: buf.length };
  }
  if (buf.length >= 2 && ((buf[0] === 0xfe && buf[1] === 0xff) || (buf[0] === 0 && buf[1] === 0x3c && buf[2] === 0 && buf[3] === 0x3f))) {
    const text = utf16(buf, false, buf[0] === 0xfe ? 2 : 0);
    return { src: new StringSource(text, 'UTF-16BE'), start: 0, bytes: buf.length };
  }
  const bom = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  let enc = ENCODINGS['utf-8'];
  if (buf[bom] === LT && buf[bom + 1] === 0x3f) {
    const declEnd = buf.indexOf('?>', bom, 'latin1');
    const decl = buf.toString('latin1', bom, declEnd < 0 ? Math.min(buf.length, bom + 256) : Math.min(declEnd, bom + 1024));
    const m = DECL_ENCODING.exec(decl);
    if (m) {
      const found = Object.hasOwn(ENCODINGS, m[2].toLowerCase()) ? ENCODINGS[m[2].toLowerCase()] : undefined;
      if (!found) {
        throw new CdaRejectError('BAD_ENCODING', `encoding "${m[2]}" (XML declaration) is not supported: UTF-8, ISO-8859-1, ISO-8859-15, windows-1252, US-ASCII or UTF-16 with a byte order mark`);
      }
      if (bom && found.name !== 'UTF-8') throw new CdaRejectError('BAD_ENCODING', `a UTF-8 byte order mark, but the XML declaration says encoding "${m[2]}"`);
      enc = found;
    }
  }
  return { src: new BufferSource(buf, enc.name, enc.decoder()), start: bom, bytes: buf.length };
}

function tooLarge(bytes: number, max: number, atLeast: boolean): CdaRejectError {
  return new CdaRejectError('TOO_LARGE', `the document is ${atLeast ? 'at least ' : ''}${bytes} bytes, over the limit of ${max} bytes (maxBytes)`);
}

// --- the prolog -----------------------------------------------------------------------------------

function isXmlSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** What the start of a non-XML input looks like, for the error message (no content beyond a few ASCII characters). */
function describeStart(src: Source, at: number): string {
  const head = src.ascii(at, Math.min(src.length, at + 16));
  if (head.startsWith('MSH')) return 'an HL7 v2 message (MSH segment): unwrap it first';
  if (head.startsWith('%PDF-')) return 'a PDF file, not a CDA document';
  if (/^PD94bWw|^PENsaW5p|^PD94|^77u/.test(head)) return 'base64 text (of an XML document?): decode it first';
  if (head[0] === '{' || head[0] === '[') return 'JSON or text';
  return `"${head.replace(/[^\x20-\x7e]/g, '?')}"`;
}

/**
 * Reads the prolog (XML declaration, comments, processing instructions, white space) and returns the
 * offset of the root element's `<`. A DOCTYPE — `<!DOCTYPE` in any case, with or without an internal
 * subset or an external identifier — is a DTD error here, before anything else is read. Returns -1
 * when `partial` is true and the input ends before the root element (more bytes are needed to decide).
 */
function scanProlog(src: Source, start: number, partial = false): number {
  const len = src.length;
  let p = start;
  while (p < len && isXmlSpace(src.code(p))) p++;
  if (p >= len) {
    if (partial) return -1;
    throw new CdaRejectError('NOT_XML', 'not an XML document: it is empty');
  }
  p = start;
  const need = (end: number, what: string): number => {
    if (end >= 0) return end;
    if (partial) return -1;
    throw new CdaRejectError('NOT_XML', `not well-formed XML: ${what} at offset ${p} is not terminated (the document is truncated)`);
  };
  if (src.ascii(p, p + 6).match(/^<\?xml[\s?]/)) {
    const e = need(src.indexOfAscii('?>', p + 5), 'the XML declaration');
    if (e < 0) return -1;
    p = e + 2;
  }
  for (;;) {
    while (p < len && isXmlSpace(src.code(p))) p++;
    if (p >= len) {
      if (partial) return -1;
      throw new CdaRejectError('NOT_XML', 'not an XML document: no root element');
    }
    if (src.code(p) !== LT) {
      throw new CdaRejectError('NOT_XML', `not an XML document: it starts with ${describeStart(src, p)}`);
    }
    const head = src.ascii(p, Math.min(len, p + 9));
    if (head.startsWith('<!--')) {
      const e = need(src.indexOfAscii('-->', p + 4), 'a comment');
      if (e < 0) return -1;
      p = e + 3;
    } else if (head.startsWith('<?')) {
      const e = need(src.indexOfAscii('?>', p + 2), 'a processing instruction');
      if (e < 0) return -1;
      p = e + 2;
    } else if (head.toUpperCase().startsWith('<!DOCTYPE') || (partial && head.length < 9 && '<!DOCTYPE'.startsWith(head.toUpperCase()))) {
      if (head.length < 9) return -1;
      throw new CdaRejectError('DTD', `DTD not allowed: the document declares a DOCTYPE (offset ${p}); DTDs, entity declarations and external entities are refused`);
    } else if (head.startsWith('<!')) {
      if (partial && head.length < 4) return -1;
      throw new CdaRejectError('NOT_XML', `not well-formed XML: "${head.replace(/[^\x20-\x7e]/g, '?')}" at offset ${p} before the root element`);
    } else {
      return p;
    }
  }
}

/**
 * Checks the beginning of a document being received: size so far, encoding declaration, DTD. Returns
 * true once the root element has started (the prolog is safe), false when more bytes are needed; throws
 * the same errors as readXml would. Used to refuse a hostile stream before it is received whole.
 */
export function checkXmlHead(head: Buffer): boolean {
  // a UTF-16 head cut in the middle of a code unit: read it up to the last whole one
  const utf16Bom = head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff));
  const { src, start } = openSource(utf16Bom && head.length % 2 ? head.subarray(0, head.length - 1) : head, Number.MAX_SAFE_INTEGER);
  return scanProlog(src, start, true) >= 0;
}

// --- strict base64 --------------------------------------------------------------------------------

/**
 * Characters read at a time: 64 KiB strings stay in V8's young generation (larger ones go to the large
 * object space, or are external strings, and cost several times more to make and compare).
 */
const WINDOW = 1 << 16;
const RUN = /[A-Za-z0-9+/=]*/y;
/** A character that is neither "=" nor white space. */
const PAD_TAIL = /[^=\t\n\r ]/;

function charName(c: number): string {
  const hex = `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  return c >= 0x21 && c < 0x7f ? `"${String.fromCharCode(c)}" (${hex})` : hex;
}

/**
 * Strict base64 decoding into one preallocated Buffer, fed in pieces (each cut into windows of 64 KiB
 * characters): the alphabet A–Z a–z 0–9 + /, XML white space (space, tab, CR, LF) anywhere, one or
 * two "=" only at the very end, a total of significant characters that is a multiple of 4, and zero
 * padding bits in the last group. A window of whole groups is first decoded by Node's native decoder
 * at the next free offset and taken as it is when encoding the bytes back gives the window exactly
 * (canonical base64: no white space, nothing outside the alphabet, "=" only as the last padding — the
 * common case, at native speed). Any other window is checked with a sticky regular expression, then
 * its whole 4-character groups are decoded by Node's native decoder straight from the window (white
 * space included: the decoder skips it); the 0–3 characters of a group cut by the window are carried
 * to the next one. No copy of the text without its white space is ever made. Both ways give the same
 * bytes and the same errors. `label` names the text in error messages (e.g. "the nonXMLBody/text
 * base64").
 */
export class Base64Decoder {
  private out: Buffer;
  private off = 0;
  private pending = '';
  private pads = 0;
  private seen = 0;
  private significant = 0;
  private last = '';

  /**
   * @param unpadded accept a text whose last group lacks its "=" padding (two or three characters: as
   *   several ANS example messages send it); the padding bits are checked all the same.
   */
  constructor(
    capacityChars: number,
    private readonly label = 'the base64 text',
    private readonly unpadded = false,
  ) {
    this.out = Buffer.allocUnsafe(Math.max(16, Math.floor((capacityChars * 3) / 4) + 3));
  }

  /** Bytes decoded so far. */
  get written(): number {
    return this.off;
  }

  /** The first n decoded bytes (fewer when fewer were decoded). */
  head(n: number): Buffer {
    return this.out.subarray(0, Math.min(n, this.off));
  }

  private bad(why: string): CdaRejectError {
    return new CdaRejectError('BAD_BASE64', `${this.label} is not valid base64: ${why}`);
  }

  /** Feeds a piece of the text (any length: it is read by windows of 64 KiB characters). */
  feed(text: string): void {
    if (text.length <= WINDOW) this.window(text);
    else for (let i = 0; i < text.length; i += WINDOW) this.window(text.slice(i, i + WINDOW));
  }

  /**
   * Feeds a piece of the text given as bytes, each byte one character (ISO 8859-1: base64 is ASCII),
   * read by windows of 64 KiB: the bytes are never turned into one string.
   */
  feedBytes(bytes: Uint8Array): void {
    const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < b.length; i += WINDOW) this.window(b.toString('latin1', i, Math.min(b.length, i + WINDOW)));
  }

  private reserve(chars: number): void {
    const need = this.off + Math.floor((chars * 3) / 4) + 3;
    if (need > this.out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.out.length * 2));
      this.out.copy(bigger, 0, 0, this.off);
      this.out = bigger;
    }
  }

  /**
   * The fast way: a window of whole groups, nothing pending, no padding seen, that is canonical base64
   * (the bytes decoded encode back to the window exactly) is taken as decoded. False (nothing changed
   * but scratch bytes beyond the decoded ones) for any other window, which is then read the strict way.
   */
  private canonical(w: string): boolean {
    const n = w.length;
    if (n === 0 || n % 4 !== 0 || this.pending || this.pads) return false;
    this.reserve(n);
    const wrote = this.out.write(w, this.off, 'base64');
    // canonical base64 decodes to 3 bytes per group, less one per "=" (two at most)
    if (wrote < (n / 4) * 3 - 2 || this.out.toString('base64', this.off, this.off + wrote) !== w) return false;
    this.off += wrote;
    this.seen += n;
    this.significant += n;
    this.last = w.slice(n - 4);
    this.pads = (n / 4) * 3 - wrote;
    return true;
  }

  private window(w: string): void {
    if (this.canonical(w)) return;
    const n = w.length;
    let ws = 0;
    // the alphabet, "=" and white space; anything else is an error (RUN includes "=": V8 matches that
    // class several times faster than the one without it)
    for (let i = 0; i < n; ) {
      RUN.lastIndex = i;
      RUN.test(w);
      i = RUN.lastIndex;
      if (i >= n) break;
      const c = w.charCodeAt(i);
      if (!isXmlSpace(c)) throw this.bad(`character ${charName(c)} at offset ${this.seen + i}`);
      ws++;
      i++;
    }
    // "=" only at the very end: from the first one on, nothing but "=" (two at most) and white space
    const eq = this.pads ? 0 : w.indexOf('=');
    if (eq >= 0) {
      const tail = eq === 0 ? w : w.slice(eq);
      const data = PAD_TAIL.exec(tail);
      if (data) throw this.bad(`data after the "=" padding (character ${this.seen + eq + data.index})`);
      let count = 0;
      for (let k = tail.indexOf('='); k >= 0; k = tail.indexOf('=', k + 1)) count++;
      this.pads += count;
      if (this.pads > 2) throw this.bad(`more than two "=" padding characters (character ${this.seen + eq})`);
    }
    this.seen += n;
    let sig = n - ws;
    if (!sig) return;
    this.significant += sig;
    // the last four significant characters, for the padding-bits check
    let tail = '';
    for (let k = n - 1; k >= 0 && tail.length < 4; k--) if (!isXmlSpace(w.charCodeAt(k))) tail = w[k] + tail;
    this.last = (this.last + tail).slice(-4);

    let start = 0;
    if (this.pending) {
      let group = this.pending;
      while (group.length < 4 && start < n) {
        const c = w.charCodeAt(start);
        if (!isXmlSpace(c)) {
          group += w[start];
          sig--;
        }
        start++;
      }
      if (group.length < 4) {
        this.pending = group;
        return;
      }
      this.write(group);
      this.pending = '';
    }
    // keep the characters of an incomplete last group for the next window
    let cut = n;
    let carry = '';
    for (let k = sig % 4; k > 0; ) {
      cut--;
      if (!isXmlSpace(w.charCodeAt(cut))) {
        carry = w[cut] + carry;
        k--;
      }
    }
    if (cut > start) this.write(start === 0 && cut === n ? w : w.slice(start, cut));
    this.pending = carry;
  }

  private write(groups: string): void {
    this.reserve(groups.length);
    this.off += this.out.write(groups, this.off, 'base64');
  }

  /**
   * Ends the text: throws BAD_BASE64 when it is truncated (significant characters not a multiple of 4,
   * unless `unpadded` and the last group lacks only its "=") or its last group has padding bits set, and returns the decoded bytes (a view of the preallocated
   * Buffer; its unused end is zeroed).
   */
  end(): Buffer {
    if (this.pending) {
      if (!this.unpadded || this.pads || this.pending.length < 2) {
        throw this.bad(`truncated: ${this.significant} significant characters, not a multiple of 4`);
      }
      // the last group without its padding: as if it were there
      const group = this.pending.padEnd(4, '=');
      this.pads = 4 - this.pending.length;
      this.last = group;
      this.pending = '';
      this.write(group);
    }
    if (this.pads) {
      const again = this.out.subarray(this.off - (3 - this.pads), this.off).toString('base64');
      if (again !== this.last) throw this.bad('the last group has padding bits set (corrupted or truncated)');
    }
    this.out.fill(0, this.off);
    return this.out.subarray(0, this.off);
  }
}

/** Strictly decodes a whole base64 text (see Base64Decoder). */
export function decodeBase64Strict(text: string, label?: string): Buffer {
  const d = new Base64Decoder(text.length, label);
  d.feed(text);
  return d.end();
}

// --- the reader -----------------------------------------------------------------------------------

/** An element as the visitor sees it. */
export interface XmlTag {
  /** The name as written (prefix:local). */
  readonly name: string;
  readonly local: string;
  /** The namespace URI ('' for none). */
  readonly uri: string;
  /** Attribute values by local name for attributes without a namespace, by "{uri}local" for the others. */
  readonly attrs: Readonly<Record<string, string>>;
  /** 1 for the root element. */
  readonly depth: number;
  readonly selfClosing: boolean;
}

export type OpenDirective =
  | void
  | undefined
  /**
   * Read the element's text content as base64 (see Base64Decoder) into a Buffer handed to
   * XmlVisitor.captured. `onHead` gets the first `headBytes` decoded bytes as soon as they are decoded
   * (before the rest of the text is read), and may throw to stop there.
   */
  | { capture: 'base64'; label?: string; headBytes?: number; onHead?: (head: Buffer) => void }
  /** Hand the element's markup, as written in the input (start tag to end tag), to XmlVisitor.captured. */
  | { capture: 'raw' };

export interface XmlVisitor {
  /** A start tag (for an empty element, close follows at once). May throw to stop reading. */
  open(tag: XmlTag): OpenDirective;
  close(tag: XmlTag): void;
  /** Text and CDATA directly inside `tag` (not for an element whose content is captured as base64). */
  text?(text: string, tag: XmlTag): void;
  /** The content an open directive asked for, when the element closes. */
  captured?(tag: XmlTag, value: Buffer | string): void;
}

export interface XmlReadInfo {
  /** Size of the document in bytes. */
  bytes: number;
  /** The encoding the bytes were read in ('string' for a string input). */
  encoding: string;
}

interface Frame {
  tag: XmlTag;
  directive: OpenDirective;
  /** Source offset of the start tag's "<" (raw capture). */
  start: number;
  /** Base64 capture through the parser's text events (the slow path). */
  decoder?: Base64Decoder;
  headDone?: boolean;
}

function toTag(t: SaxesTagNS, depth: number): XmlTag {
  const attrs: Record<string, string> = Object.create(null);
  for (const a of Object.values(t.attributes)) {
    if (a.uri === 'http://www.w3.org/2000/xmlns/' || a.name === 'xmlns') continue;
    attrs[a.uri ? `{${a.uri}}${a.local}` : a.local] = a.value;
  }
  return { name: t.name, local: t.local, uri: t.uri, attrs, depth, selfClosing: t.isSelfClosing };
}

function saxesError(err: Error): CdaRejectError {
  const m = /^(\d+):(\d+): (.*)$/s.exec(err.message);
  const what = m ? m[3] : err.message;
  const where = m ? ` (line ${m[1]}, column ${m[2]})` : '';
  if (/undefined entity/.test(what)) {
    return new CdaRejectError('ENTITY', `entity reference not allowed${where}: only &lt; &gt; &amp; &quot; &apos; and character references are read (no DTD, no entity declarations)`, { cause: err });
  }
  if (/doctype/i.test(what)) return new CdaRejectError('DTD', `DTD not allowed${where}: ${what}`, { cause: err });
  return new CdaRejectError('NOT_XML', `not well-formed XML${where}: ${what}`, { cause: err });
}

/**
 * Reads an XML document safely (see the top of this file) and calls the visitor for each element.
 * `input`: a string, or bytes in UTF-8 (default), ISO-8859-1 / US-ASCII, ISO-8859-15 or windows-1252 as
 * the XML declaration says, or UTF-16 with a byte order mark. Processing instructions other than the
 * XML declaration (e.g. <?xml-stylesheet?>) are allowed and ignored: nothing they name is ever fetched.
 * Throws CdaRejectError: TOO_LARGE (maxBytes, maxElements), BAD_ENCODING, NOT_XML, DTD, ENTITY,
 * TOO_DEEP, BAD_BASE64, and whatever the visitor throws.
 */
export function readXml(input: string | Buffer, visitor: XmlVisitor, opts: SafeXmlOptions = {}): XmlReadInfo {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxElements = opts.maxElements ?? DEFAULT_MAX_ELEMENTS;
  const { src, start, bytes: size } = openSource(input, maxBytes);
  const rootAt = scanProlog(src, start);
  // a string input: its UTF-8 size, counted piece by piece
  const measure = size < 0;
  let bytes = measure ? (start ? 3 : 0) : size;
  const countBytes = (n: number) => {
    bytes += n;
    if (bytes > maxBytes) throw new CdaRejectError('TOO_LARGE', `the document is more than ${maxBytes} bytes in UTF-8 (maxBytes)`);
  };

  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: Frame[] = [];
  // the piece being written: its source range, decoded text, and stream position
  let segFrom = 0;
  let segText = '';
  let streamBase = 0;
  const single = src.encoding !== 'UTF-8'; // one offset per character
  /** Source offset of a parser position inside the piece being written. */
  const sourceOffset = (position: number): number => {
    const chars = position - streamBase;
    return single ? segFrom + chars : segFrom + Buffer.byteLength(segText.slice(0, chars), 'utf8');
  };
  let fastCapture: Frame | null = null;
  let sawRoot = false;
  let elements = 0;

  parser.on('doctype', () => {
    throw new CdaRejectError('DTD', 'DTD not allowed: a DOCTYPE declaration inside the document');
  });
  parser.on('opentag', (t) => {
    const depth = stack.length + 1;
    if (depth > maxDepth) throw new CdaRejectError('TOO_DEEP', `elements are nested deeper than ${maxDepth} levels (maxDepth) at <${t.name}>`);
    if (++elements > maxElements) throw new CdaRejectError('TOO_LARGE', `the document has more than ${maxElements} elements (maxElements)`);
    sawRoot = true;
    const parent = stack[stack.length - 1];
    if (parent?.decoder) {
      throw new CdaRejectError('NO_PDF', `<${parent.tag.name}> holds an element <${t.name}> instead of inline base64 data (a reference is never followed)`);
    }
    const tag = toTag(t, depth);
    const directive = visitor.open(tag);
    const frame: Frame = { tag, directive, start: -1 };
    if (directive && !tag.selfClosing) {
      const end = sourceOffset(parser.position);
      if (directive.capture === 'raw') frame.start = src.lastIndexOf(LT, end - 1);
      else if (parser.position - streamBase === segText.length) fastCapture = frame; // the parser stands right after the start tag
      else frame.decoder = new Base64Decoder(segText.length - (parser.position - streamBase), directive.label);
    }
    stack.push(frame);
  });
  parser.on('closetag', () => {
    const frame = stack.pop() as Frame;
    const { tag, directive } = frame;
    if (directive && visitor.captured) {
      if (directive.capture === 'raw') {
        if (tag.selfClosing) visitor.captured(tag, segText.slice(segText.lastIndexOf('<', parser.position - streamBase - 1), parser.position - streamBase));
        else visitor.captured(tag, src.text(frame.start, sourceOffset(parser.position)));
      } else if (frame.decoder) {
        const bytesOut = frame.decoder.end();
        if (!frame.headDone && directive.onHead) directive.onHead(bytesOut.subarray(0, directive.headBytes ?? 0));
        visitor.captured(tag, bytesOut);
      } else if (tag.selfClosing) {
        visitor.captured(tag, Buffer.alloc(0));
      }
    }
    visitor.close(tag);
  });
  const onText = (text: string) => {
    const frame = stack[stack.length - 1];
    if (!frame) return;
    if (frame.decoder) {
      frame.decoder.feed(text);
      const d = frame.directive as Extract<OpenDirective, { capture: 'base64' }>;
      if (!frame.headDone && d.onHead && frame.decoder.written >= (d.headBytes ?? 0)) {
        frame.headDone = true;
        d.onHead(frame.decoder.head(d.headBytes ?? 0));
      }
      return;
    }
    if (visitor.text) visitor.text(text, frame.tag);
  };
  parser.on('text', onText);
  parser.on('cdata', onText);

  const write = (from: number, to: number) => {
    segFrom = from;
    segText = src.text(from, to);
    if (measure) countBytes(Buffer.byteLength(segText, 'utf8'));
    try {
      parser.write(segText);
    } catch (err) {
      throw err instanceof CdaRejectError ? err : saxesError(err as Error);
    }
    streamBase += segText.length;
  };

  // the prolog, as saxes must see it (declaration, comments, PIs), then one piece of markup at a time
  if (rootAt > start) write(start, rootAt);
  let pos = rootAt;
  const len = src.length;
  while (pos < len) {
    const lt = src.indexOf(LT, pos);
    let end: number;
    if (lt < 0) end = len;
    else {
      const gt = src.indexOf(GT, lt);
      end = gt < 0 ? len : gt + 1;
    }
    write(pos, end);
    pos = end;
    if (fastCapture) {
      const frame: Frame = fastCapture;
      fastCapture = null;
      pos = captureBase64(src, pos, frame);
      // the parser goes on from the end tag: it sees <text …></text>
    }
  }
  try {
    parser.close();
  } catch (err) {
    throw err instanceof CdaRejectError ? err : saxesError(err as Error);
  }
  if (!sawRoot) throw new CdaRejectError('NOT_XML', 'not an XML document: no root element');
  return { bytes, encoding: src.encoding };

  /**
   * Reads the text content of the element whose start tag ends at `from`, straight from the source:
   * character data (with character and predefined entity references), CDATA sections, comments and
   * processing instructions, up to its end tag — whose offset is returned. A child element is an error
   * (NO_PDF: e.g. <reference value="…"/>, which is never followed).
   */
  function captureBase64(s: Source, from: number, frame: Frame): number {
    const d = frame.directive as Extract<OpenDirective, { capture: 'base64' }>;
    let lt = s.indexOf(LT, from);
    const decoder = new Base64Decoder((lt < 0 ? s.length : lt) - from, d.label);
    frame.decoder = decoder;
    const headBytes = d.headBytes ?? 0;
    const checkHead = () => {
      if (!frame.headDone && d.onHead && decoder.written >= headBytes) {
        frame.headDone = true;
        d.onHead(decoder.head(headBytes));
      }
    };
    const feedRange = (a: number, b: number) => {
      for (let w = a; w < b; w += WINDOW) {
        decoder.feed(s.ascii(w, Math.min(b, w + WINDOW)));
        checkHead();
      }
    };
    const unterminated = (what: string) =>
      new CdaRejectError('NOT_XML', `not well-formed XML: ${what} in <${frame.tag.name}> at offset ${from} is not terminated (the document is truncated)`);
    /** Bytes beyond one per character (a string input's UTF-8 size): only comments and PIs may hold non-ASCII here. */
    let extra = 0;
    const skipped = (a: number, b: number) => {
      if (measure) extra += Buffer.byteLength(s.text(a, b), 'utf8') - (b - a);
    };
    let p = from;
    let amp = s.indexOf(AMP, from);
    for (;;) {
      if (lt < 0) throw unterminated('the text');
      // character data up to the next markup, with its references
      while (amp >= 0 && amp < lt) {
        feedRange(p, amp);
        const semi = s.indexOf(0x3b, amp);
        if (semi < 0 || semi > amp + 12 || semi > lt) throw new CdaRejectError('NOT_XML', `not well-formed XML: "&" not followed by a reference at offset ${amp}`);
        decoder.feed(reference(s.ascii(amp + 1, semi), amp));
        p = semi + 1;
        amp = s.indexOf(AMP, p);
      }
      feedRange(p, lt);
      const head = s.ascii(lt, Math.min(s.length, lt + 9));
      if (head.startsWith('</')) {
        if (measure) countBytes(lt - from + extra);
        return lt;
      } else if (head.startsWith('<![CDATA[')) {
        const e = s.indexOfAscii(']]>', lt + 9);
        if (e < 0) throw unterminated('a CDATA section');
        feedRange(lt + 9, e);
        p = e + 3;
      } else if (head.startsWith('<!--')) {
        const e = s.indexOfAscii('-->', lt + 4);
        if (e < 0) throw unterminated('a comment');
        skipped(lt, e);
        p = e + 3;
      } else if (head.startsWith('<?')) {
        const e = s.indexOfAscii('?>', lt + 2);
        if (e < 0) throw unterminated('a processing instruction');
        skipped(lt, e);
        p = e + 2;
      } else {
        const name = /^<([^\s/>]*)/.exec(s.ascii(lt, Math.min(s.length, lt + 64)))?.[1]?.replace(/[^\x20-\x7e]/g, '?') ?? '';
        throw new CdaRejectError('NO_PDF', `<${frame.tag.name}> holds an element <${name}> instead of inline base64 data (a reference is never followed)`);
      }
      if (amp >= 0 && amp < p) amp = s.indexOf(AMP, p);
      lt = s.indexOf(LT, p);
    }
  }
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function reference(name: string, at: number): string {
  let code = NaN;
  if (/^#x[0-9A-Fa-f]{1,6}$/.test(name)) code = parseInt(name.slice(2), 16);
  else if (/^#[0-9]{1,7}$/.test(name)) code = parseInt(name.slice(1), 10);
  else if (Object.hasOwn(PREDEFINED, name)) return PREDEFINED[name];
  else throw new CdaRejectError('ENTITY', `entity reference "&${name.replace(/[^\x20-\x7e]/g, '?')};" at offset ${at} not allowed: only &lt; &gt; &amp; &quot; &apos; and character references are read`);
  const ok = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
  if (!ok) throw new CdaRejectError('NOT_XML', `not well-formed XML: character reference "&${name};" at offset ${at} is not an XML character`);
  return String.fromCodePoint(code);
}
