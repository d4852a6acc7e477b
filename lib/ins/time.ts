// HL7 v2 DT / DTM values to ISO 8601, and to instants.
import { wallInstant } from '../timezone';

const DTM = /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?(?:([+-])(\d{2})(\d{2}))?$/;

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

export interface ParsedDtm {
  /** YYYY, YYYY-MM or YYYY-MM-DD. */
  date: string;
  /** YYYY-MM-DD[THH:MM:SS[.s]][±HH:MM], or the date alone when the value has no time. */
  iso: string;
  /** Whether day, month and year are all given. */
  fullDate: boolean;
  /** The numbers read: year, month, day, hour, minute, second, millisecond (missing parts: their first value). */
  parts: [number, number, number, number, number, number, number];
  /** The offset sent, in minutes; null when the value has none. */
  offset: number | null;
}

/**
 * Reads an HL7 DTM `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]` (a DT is the same without the
 * time). The time, when present, is written with seconds (HH:MM:SS, fraction kept) and the offset as
 * ±HH:MM; a value without a time gives the date alone (an offset after a date alone is dropped).
 * Answers null for anything else, including impossible dates (20260230) and times (2460).
 */
export function parseDtm(value: string): ParsedDtm | null {
  const m = DTM.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, hh, mi, ss, frac, sign, oh, om] = m;
  const year = Number(y);
  if (mo !== undefined && (Number(mo) < 1 || Number(mo) > 12)) return null;
  if (d !== undefined && (Number(d) < 1 || Number(d) > daysIn(year, Number(mo)))) return null;
  if (hh !== undefined && Number(hh) > 23) return null;
  if (mi !== undefined && Number(mi) > 59) return null;
  if (ss !== undefined && Number(ss) > 59) return null;
  if (sign !== undefined && (Number(oh) > 14 || Number(om) > 59)) return null;
  const date = d !== undefined ? `${y}-${mo}-${d}` : mo !== undefined ? `${y}-${mo}` : y;
  const parts: ParsedDtm['parts'] = [year, Number(mo ?? 1), Number(d ?? 1), Number(hh ?? 0), Number(mi ?? 0), Number(ss ?? 0), Number((frac ?? '').padEnd(3, '0').slice(0, 3))];
  const offset = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) : null;
  if (hh === undefined) return { date, iso: date, fullDate: d !== undefined, parts, offset: null };
  const time = `${hh}:${mi ?? '00'}:${ss ?? '00'}${frac ? '.' + frac : ''}`;
  return { date, iso: `${date}T${time}${sign ? `${sign}${oh}:${om}` : ''}`, fullDate: true, parts, offset };
}

/** A full date (YYYYMMDD, with or without a time) as YYYY-MM-DD; null when it is not one. */
export function hl7Date(value: string): string | null {
  const p = parseDtm(value);
  return p && p.fullDate ? p.date : null;
}

/**
 * The instant a parsed HL7 DTM stands for (ms since the epoch): with its offset when it carries one, else
 * as the wall-clock time of `timeZone` (the establishment's); missing month, day or time parts count as
 * their first value (a date alone is its midnight; an offset after a date alone is not used).
 */
export function dtmInstant(p: ParsedDtm, timeZone: string): number {
  const [y, mo, d, h, mi, s, ms] = p.parts;
  if (p.offset === null) return wallInstant(y, mo, d, h, mi, s, ms, timeZone);
  return Date.UTC(y, mo - 1, d, h, mi, s, ms) - p.offset * 60000;
}
