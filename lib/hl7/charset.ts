import { isAscii, isUtf8 } from 'node:buffer';
import { Hl7EncodingError, Hl7ParseError } from './errors';

/**
 * Character sets of HL7 table 0211 the codec reads and writes (MSH-18, first repetition).
 * `ascii` messages are decoded like ISO 8859-1 (a superset) and must be 7-bit when written.
 */
export type Hl7Encoding = 'ascii' | 'latin1' | 'latin9' | 'utf8';

const BY_NAME: Record<string, Hl7Encoding> = {
  '': 'utf8', // undeclared: see decodeHl7 for the fallback
  ASCII: 'ascii',
  '8859/1': 'latin1',
  '8859/15': 'latin9',
  'UNICODE UTF-8': 'utf8',
  'UTF-8': 'utf8', // seen in the field although not in table 0211
};

/** Maps an MSH-18 value to the encoding; throws UNSUPPORTED_CHARSET for the others. */
export function encodingOf(msh18: string): Hl7Encoding {
  const name = msh18.trim().toUpperCase();
  const enc = BY_NAME[name];
  if (!enc) {
    throw new Hl7ParseError(
      'UNSUPPORTED_CHARSET',
      `MSH-18 character set "${msh18}" is not supported (supported: ASCII, 8859/1, 8859/15, UNICODE UTF-8)`,
    );
  }
  return enc;
}

// ISO 8859-15 differs from ISO 8859-1 at eight code points.
const LATIN9_DECODE: Record<number, string> = {
  0xa4: '\u20ac', 0xa6: '\u0160', 0xa8: '\u0161', 0xb4: '\u017d', 0xb8: '\u017e', 0xbc: '\u0152', 0xbd: '\u0153', 0xbe: '\u0178',
};
const LATIN9_ENCODE = new Map<number, number>(Object.entries(LATIN9_DECODE).map(([b, c]) => [c.charCodeAt(0), Number(b)]));
const LATIN9_REPLACED = new Set(Object.keys(LATIN9_DECODE).map(Number));

/** Decodes bytes in the given encoding (bytes already checked: see checkMessageBytes; UTF-8 is not checked here). */
export function decodeBytes(buf: Uint8Array, enc: Hl7Encoding): string {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  switch (enc) {
    case 'utf8':
      return b.toString('utf8');
    case 'ascii':
    case 'latin1':
      return b.toString('latin1');
    case 'latin9': {
      const s = b.toString('latin1');
      return /[\xa4\xa6\xa8\xb4\xb8\xbc-\xbe]/.test(s) ? s.replace(/[\xa4\xa6\xa8\xb4\xb8\xbc-\xbe]/g, (c) => LATIN9_DECODE[c.charCodeAt(0)]) : s;
    }
  }
}

/**
 * How errors name each encoding: MSH-18's values for the 8-bit sets and ASCII (BY_NAME), UTF-8 by its usual
 * name — MSH-18 writes it `UNICODE UTF-8` (IHE PAM FR 2.11.1 §6.1).
 */
const SET_NAMES: Record<Hl7Encoding, string> = { ascii: 'ASCII', latin1: '8859/1', latin9: '8859/15', utf8: 'UTF-8' };

/** A character ASCII, or 8859-1, cannot carry. */
const BEYOND: Record<'ascii' | 'latin1', RegExp> = { ascii: /[^\x00-\x7f]/, latin1: /[^\x00-\xff]/ };

/**
 * Encodes text in the given encoding; a character the encoding cannot carry is an UNENCODABLE error. ASCII
 * and 8859-1 are checked by one regular expression, then written by Buffer's Latin-1 encoding (one byte per
 * code unit): five times faster than a loop in JavaScript over a 500-character ADT message (every message
 * journaled, every ACK sent).
 */
export function encodeText(text: string, enc: Hl7Encoding): Buffer {
  if (enc === 'utf8') return Buffer.from(text, 'utf8');
  if (enc !== 'latin9') {
    // every character is one byte of the set: Buffer's Latin-1 encoding writes each code unit as its byte
    const beyond = BEYOND[enc].exec(text);
    if (beyond) throw unencodable(text, beyond.index, enc);
    return Buffer.from(text, 'latin1');
  }
  const out = Buffer.allocUnsafe(text.length);
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    const mapped = LATIN9_ENCODE.get(c);
    if (mapped !== undefined) c = mapped;
    else if (LATIN9_REPLACED.has(c)) c = 0x100; // ¤ ¦ ¨ ´ ¸ ¼ ½ ¾ do not exist in 8859-15
    if (c > 0xff) throw unencodable(text, i, enc);
    out[i] = c;
  }
  return out;
}

function unencodable(text: string, i: number, enc: Hl7Encoding): Hl7ParseError {
  return new Hl7ParseError(
    'UNENCODABLE',
    `character U+${text.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')} at offset ${i} cannot be written in ${SET_NAMES[enc]}`,
  );
}

/** Reads MSH-18 (first repetition, first component) from the first line of a message, without decoding it. */
export function declaredCharset(firstLine: string): string {
  if (firstLine.length < 8 || !firstLine.startsWith('MSH')) return '';
  const fs = firstLine[3];
  // MSH-18 starts after the 17th field separator, MSH-1 (at index 3) being the first
  let at = 3;
  for (let n = 0; n < 16 && at >= 0; n++) at = firstLine.indexOf(fs, at + 1);
  if (at < 0) return '';
  const end = firstLine.indexOf(fs, at + 1);
  const msh18 = end < 0 ? firstLine.slice(at + 1) : firstLine.slice(at + 1, end);
  if (!msh18) return '';
  let stop = msh18.length;
  for (const sep of [firstLine[5], firstLine[4]]) {
    const i = msh18.indexOf(sep); // repetition, then component separator
    if (i >= 0 && i < stop) stop = i;
  }
  return msh18.slice(0, stop);
}

export interface DecodedMessage {
  text: string;
  /** The MSH-18 value as declared ('' when absent). */
  charset: string;
  encoding: Hl7Encoding;
}

/** What checkMessageBytes found: the declared and the used character set, and the bytes without a BOM. */
export interface CheckedBytes {
  /** The MSH-18 value as declared ('' when absent). */
  charset: string;
  encoding: Hl7Encoding;
  /** The message bytes, a UTF-8 byte order mark dropped. */
  body: Buffer;
}

/** The first line (MSH) of a message's bytes, read as Latin-1 (MSH is ASCII in every supported set). */
function firstLine(body: Buffer): string {
  let end = body.length;
  const cr = body.indexOf(0x0d);
  if (cr >= 0) end = cr;
  const lf = body.indexOf(0x0a);
  if (lf >= 0 && lf < end) end = lf;
  return body.toString('latin1', 0, end);
}

/**
 * Why the bytes from `at` do not start a well-formed UTF-8 sequence (Unicode, table 3-7), or null when
 * they do: no overlong form, no UTF-16 surrogate (CESU-8), nothing above U+10FFFF, no cut sequence.
 */
function utf8Fault(b: Uint8Array, at: number): string | null {
  const c = b[at];
  if (c < 0x80) return null;
  if (c < 0xc0) return 'a continuation byte without a lead byte';
  if (c < 0xc2) return 'an overlong encoding';
  if (c > 0xf4) return 'a byte never used in UTF-8';
  const need = c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
  // the allowed range of the second byte (table 3-7)
  let lo = 0x80;
  let hi = 0xbf;
  if (c === 0xe0) lo = 0xa0;
  else if (c === 0xed) hi = 0x9f;
  else if (c === 0xf0) lo = 0x90;
  else if (c === 0xf4) hi = 0x8f;
  for (let k = 1; k <= need; k++) {
    const x = b[at + k];
    if (x === undefined || x < 0x80 || x > 0xbf) return 'a sequence cut short';
    if (k === 1 && (x < lo || x > hi)) {
      if (c === 0xed) return 'a UTF-16 surrogate (CESU-8)';
      if (c === 0xf4) return 'a code point above U+10FFFF';
      return 'an overlong encoding';
    }
  }
  return null;
}

/** The first byte that does not belong to a well-formed UTF-8 sequence, and why; null when all do. */
export function firstInvalidUtf8(b: Uint8Array): { offset: number; why: string } | null {
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    const why = utf8Fault(b, i);
    if (why) return { offset: i, why };
    i += c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
  }
  return null;
}

function firstNonAscii(b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) if (b[i] > 0x7f) return i;
  return -1;
}

/**
 * The ERR-2 location (segment^occurrence^field, e.g. 'PID^1^5') of the byte at `offset` in an ER7
 * message, read from its bytes (segments end at CR or LF, fields at the MSH-1 separator); '' when the
 * bytes are not ER7 there.
 */
export function byteLocation(b: Buffer, offset: number): string {
  if (b.length < 4 || b[0] !== 0x4d || b[1] !== 0x53 || b[2] !== 0x48 || offset >= b.length) return '';
  const sep = b[3];
  const start = Math.max(offset > 0 ? b.lastIndexOf(0x0d, offset - 1) : -1, offset > 0 ? b.lastIndexOf(0x0a, offset - 1) : -1) + 1;
  const id = b.toString('latin1', start, start + 3);
  if (!/^[A-Z0-9]{3}$/.test(id)) return '';
  let occurrence = 1;
  if (start > 0) {
    if (b.toString('latin1', 0, 3) === id) occurrence++;
    for (const nl of [0x0d, 0x0a]) {
      const pattern = Buffer.from([nl, ...Buffer.from(id, 'latin1'), sep]);
      for (let at = b.indexOf(pattern); at >= 0 && at < start - 1; at = b.indexOf(pattern, at + 1)) occurrence++;
    }
  }
  let field = 0;
  for (let at = b.indexOf(sep, start); at >= 0 && at < offset; at = b.indexOf(sep, at + 1)) field++;
  if (id === 'MSH' && field > 0) field++; // MSH-1 is the separator itself
  return field > 0 ? `${id}^${occurrence}^${field}` : `${id}^${occurrence}`;
}

function badByte(body: Buffer, charset: string, offset: number, base: number, what: (where: string) => string): Hl7EncodingError {
  const location = byteLocation(body, offset);
  const byte = body[offset];
  const where = `byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')} at offset ${offset + base}${location ? ` (${location})` : ''}`;
  return new Hl7EncodingError(what(where), charset, offset + base, byte, location);
}

/**
 * Checks that the bytes of a message are valid in the character set its MSH-18 declares (throws
 * Hl7EncodingError, code BAD_ENCODING, naming MSH-18, the first bad byte, its offset and its location):
 * - UNICODE UTF-8: well-formed UTF-8 only (no overlong form, no CESU-8 surrogate, no Latin-1 byte);
 * - ASCII: 7-bit bytes only;
 * - 8859/1 and 8859/15: every byte is a character, but a message whose bytes above 0x7F are all
 *   well-formed UTF-8 sequences (at least one) is UTF-8 declared as 8859/x and refused. Latin-1 text
 *   almost never reads as UTF-8 by chance: a French accent (é = 0xE9) followed by a letter is not UTF-8.
 * When MSH-18 is empty, the bytes are UTF-8 when they are valid UTF-8, else `fallback` (ISO 8859-1 by
 * default: many French senders write Latin-1 without declaring it). A UTF-8 byte order mark is dropped.
 * Throws UNSUPPORTED_CHARSET for a character set the codec does not handle. Native checks: a megabyte
 * costs a fraction of a millisecond.
 */
export function checkMessageBytes(buf: Buffer, fallback: Hl7Encoding = 'latin1'): CheckedBytes {
  const base = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  const body = base ? buf.subarray(base) : buf;
  const charset = declaredCharset(firstLine(body));
  if (charset.trim() === '') return { charset, encoding: isUtf8(body) ? 'utf8' : fallback, body };
  const encoding = encodingOf(charset);
  const declared = `"${charset}" (MSH-18)`;
  if (encoding === 'utf8') {
    if (!isUtf8(body)) {
      const bad = firstInvalidUtf8(body) ?? { offset: 0, why: 'not UTF-8' };
      throw badByte(body, charset, bad.offset, base, (where) => `${where} is not valid UTF-8 (${bad.why}): the message declares ${declared}`);
    }
  } else if (!isAscii(body)) {
    if (encoding === 'ascii') {
      throw badByte(body, charset, firstNonAscii(body), base, (where) => `${where} is not ASCII: the message declares ${declared}`);
    }
    if (isUtf8(body)) {
      throw badByte(
        body,
        charset,
        firstNonAscii(body),
        base,
        (where) => `the message declares ${declared} but its bytes above 0x7F are all UTF-8 sequences, the first one at ${where}: UTF-8 sent as ${SET_NAMES[encoding]}`,
      );
    }
  }
  return { charset, encoding, body };
}

/**
 * Decodes an HL7 message received as bytes, in the character set its MSH-18 declares, after checking
 * them (checkMessageBytes: bytes not valid in that set are a BAD_ENCODING error, never replaced by
 * U+FFFD). When MSH-18 is empty the bytes are read as UTF-8 if they are valid UTF-8, else as ISO 8859-1.
 */
export function decodeMessageBytes(buf: Buffer, fallback: Hl7Encoding = 'latin1'): DecodedMessage {
  const { charset, encoding, body } = checkMessageBytes(buf, fallback);
  return { text: decodeBytes(body, encoding), charset, encoding };
}

/** Decodes an HL7 message from bytes in the character set its MSH-18 declares (see decodeMessageBytes). */
export function decodeHl7(buf: Buffer): string {
  return decodeMessageBytes(buf).text;
}

/** Encodes an HL7 message string in the character set its own MSH-18 declares (UTF-8 when absent). */
export function encodeHl7(text: string): Buffer {
  const nl = text.search(/[\r\n]/);
  const charset = declaredCharset(nl < 0 ? text : text.slice(0, nl));
  return encodeText(text, charset.trim() === '' ? 'utf8' : encodingOf(charset));
}
