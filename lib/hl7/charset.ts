import { Hl7ParseError } from './errors';

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

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Decodes bytes in the given encoding. */
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

/** Encodes text in the given encoding; a character the encoding cannot carry is an UNENCODABLE error. */
export function encodeText(text: string, enc: Hl7Encoding): Buffer {
  if (enc === 'utf8') return Buffer.from(text, 'utf8');
  const max = enc === 'ascii' ? 0x7f : 0xff;
  const out = Buffer.allocUnsafe(text.length);
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (enc === 'latin9') {
      const mapped = LATIN9_ENCODE.get(c);
      if (mapped !== undefined) c = mapped;
      else if (LATIN9_REPLACED.has(c)) c = 0x100; // ¤ ¦ ¨ ´ ¸ ¼ ½ ¾ do not exist in 8859-15
    }
    if (c > max) {
      throw new Hl7ParseError(
        'UNENCODABLE',
        `character U+${text.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')} at offset ${i} cannot be written in ${enc === 'latin9' ? '8859/15' : enc === 'latin1' ? '8859/1' : 'ASCII'}`,
      );
    }
    out[i] = c;
  }
  return out;
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

/**
 * Decodes an HL7 message received as bytes, in the character set its MSH-18 declares.
 * When MSH-18 is empty the bytes are read as UTF-8 if they are valid UTF-8, else as ISO 8859-1
 * (many French senders write Latin-1 without declaring it). A UTF-8 byte order mark is dropped.
 */
export function decodeMessageBytes(buf: Buffer, fallback: Hl7Encoding = 'latin1'): DecodedMessage {
  let body = buf;
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) body = buf.subarray(3);
  // MSH is ASCII in every supported character set: read it from a Latin-1 view, which is also the
  // final text when the message is Latin-1 or ASCII.
  const asLatin1 = body.toString('latin1');
  const nl = asLatin1.search(/[\r\n]/);
  const charset = declaredCharset(nl < 0 ? asLatin1 : asLatin1.slice(0, nl));
  if (charset.trim() === '') {
    try {
      return { text: utf8Strict.decode(body), charset, encoding: 'utf8' };
    } catch {
      return { text: fallback === 'latin1' || fallback === 'ascii' ? asLatin1 : decodeBytes(body, fallback), charset, encoding: fallback };
    }
  }
  const encoding = encodingOf(charset);
  const text = encoding === 'latin1' || encoding === 'ascii' ? asLatin1 : decodeBytes(body, encoding);
  return { text, charset, encoding };
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
