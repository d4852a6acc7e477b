import { isAscii, isUtf8 } from 'node:buffer';
import { decodeBytes, type Hl7Encoding } from './charset';

/** The delimiters a message declares in MSH-1 and MSH-2. */
export interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string; // '' when MSH-2 declares none
  subcomponent: string;
  truncation: string; // v2.7+ fifth encoding character, '' when absent
}

export const DEFAULT_DELIMITERS: Delimiters = Object.freeze({
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
  truncation: '',
});

function hexToText(hex: string, enc: Hl7Encoding): string | null {
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(hex)) return null;
  const bytes = Buffer.from(hex, 'hex');
  // bytes the character set cannot carry are not decoded (never U+FFFD): the sequence is kept as is
  if ((enc === 'utf8' && !isUtf8(bytes)) || (enc === 'ascii' && !isAscii(bytes))) return null;
  return decodeBytes(bytes, enc);
}

/**
 * Decodes the escape sequences of one primitive value (a component or sub-component):
 * \F\ \S\ \T\ \R\ \E\ give back the delimiters, \Xhh…\ the bytes in the message's character set
 * (kept as is when they are not valid in it: invalid UTF-8, 8-bit bytes in ASCII),
 * \.br\ and \.sp\ a line feed; \H\ \N\ and the other formatting commands (\.in…\ \.ti…\ \.sk…\ \.ce\
 * \.fi\ \.nf\) carry no text and are dropped. Any other sequence (\C..\ \M..\ \Z..\ …) and an
 * unterminated escape are kept as they are.
 */
export function unescapeValue(value: string, d: Delimiters, enc: Hl7Encoding): string {
  const e = d.escape;
  if (!e || value.indexOf(e) < 0) return value;
  let out = '';
  let i = 0;
  for (;;) {
    const start = value.indexOf(e, i);
    if (start < 0) break;
    const end = value.indexOf(e, start + 1);
    if (end < 0) break;
    out += value.slice(i, start);
    const seq = value.slice(start + 1, end);
    let rep: string | null;
    switch (seq) {
      case 'F': rep = d.field; break;
      case 'S': rep = d.component; break;
      case 'T': rep = d.subcomponent; break;
      case 'R': rep = d.repetition; break;
      case 'E': rep = e; break;
      case 'P': rep = d.truncation || null; break;
      case 'H': case 'N': rep = ''; break;
      case '.br': case '.sp': rep = '\n'; break;
      default:
        if (seq[0] === 'X') rep = hexToText(seq.slice(1), enc);
        else if (/^\.(fi|nf|ce|in[+-]?\d*|ti[+-]?\d*|sk[+-]?\d*|sp\d*)$/.test(seq)) rep = /^\.sp/.test(seq) ? '\n' : '';
        else rep = null;
    }
    if (rep === null) {
      out += value.slice(start, end + 1); // not a sequence we know: keep it
    } else {
      out += rep;
    }
    i = end + 1;
  }
  return out + value.slice(i);
}

const escapeCache = new Map<string, { re: RegExp; map: Record<string, string> }>();

function escaperFor(d: Delimiters) {
  const key = d.field + d.component + d.repetition + d.escape + d.subcomponent + d.truncation;
  let c = escapeCache.get(key);
  if (!c) {
    const e = d.escape || '\\';
    const map: Record<string, string> = {
      [d.field]: `${e}F${e}`,
      [d.component]: `${e}S${e}`,
      [d.subcomponent]: `${e}T${e}`,
      [d.repetition]: `${e}R${e}`,
      [e]: `${e}E${e}`,
      '\r': `${e}X0D${e}`,
      '\n': `${e}.br${e}`,
    };
    if (d.truncation) map[d.truncation] = `${e}P${e}`;
    const chars = Object.keys(map).map((ch) => ch.replace(/[\\\]^-]/g, '\\$&')).join('');
    c = { re: new RegExp(`[${chars}]`, 'g'), map };
    escapeCache.set(key, c);
  }
  return c;
}

/**
 * Encodes one primitive value for writing: delimiters become \F\ \S\ \T\ \R\ \E\, a line feed
 * becomes \.br\ and a carriage return \X0D\ (a raw CR would end the segment).
 */
export function escapeValue(value: string, d: Delimiters): string {
  const { re, map } = escaperFor(d);
  re.lastIndex = 0;
  if (!re.test(value)) return value;
  re.lastIndex = 0;
  return value.replace(re, (ch) => map[ch]);
}
