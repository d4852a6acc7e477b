// CDA / HL7 time stamps (TS): YYYYMMDD for a date, YYYYMMDDHHMMSS+ZZZZ for an instant, in the
// producer's local time (the CI-SIS header rules require the offset whenever there is a time).

import { offsetMinutes, wallClock } from '../timezone';

/** A date or instant: a Date, an ISO 8601 string, or an HL7 TS string. See toTs. */
export type DateInput = Date | string;

export { isTimeZone, offsetMinutes } from '../timezone';

const p2 = (n: number) => String(n).padStart(2, '0');

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  return `${sign}${p2(Math.floor(a / 60))}${p2(a % 60)}`;
}

/** An instant as YYYYMMDDHHMMSS+ZZZZ in the wall-clock time of `timeZone`. */
export function formatTs(instant: Date | number, timeZone: string): string {
  const t = typeof instant === 'number' ? instant : instant.getTime();
  const w = wallClock(t, timeZone);
  return `${w.y}${p2(w.mo)}${p2(w.d)}${p2(w.h)}${p2(w.mi)}${p2(w.s)}${formatOffset(offsetMinutes(t, timeZone))}`;
}

function daysIn(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function validDate(y: number, mo: number, d: number): boolean {
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo);
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const HL7_TS = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?([+-]\d{4})?$/;

/**
 * A date or instant as an HL7 / CDA TS, or null when `value` is not one:
 * - a Date: the instant, YYYYMMDDHHMMSS+ZZZZ in `timeZone`;
 * - "YYYY-MM-DD": the day, YYYYMMDD;
 * - "YYYY-MM-DDTHH:MM[:SS[.fff]]" with Z or an offset: that instant, written in `timeZone`;
 *   without an offset: that wall-clock time in `timeZone`;
 * - an HL7 TS "YYYYMMDD[HHMM[SS]][±ZZZZ]": kept as it is when it carries a date only or an offset;
 *   a time without offset is read as wall-clock time in `timeZone` and given its offset.
 */
export function toTs(value: DateInput, timeZone: string): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : formatTs(value, timeZone);
  if (typeof value !== 'string') return null;
  const v = value.trim();
  let m = ISO_DATE.exec(v);
  if (m) return validDate(+m[1], +m[2], +m[3]) ? `${m[1]}${m[2]}${m[3]}` : null;
  m = ISO_DATETIME.exec(v);
  if (m) {
    const [, y, mo, d, h, mi, s, zone] = m;
    if (!validDate(+y, +mo, +d) || +h > 23 || +mi > 59 || +(s ?? 0) > 59) return null;
    if (zone) {
      const t = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${zone === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`);
      return Number.isNaN(t) ? null : formatTs(t, timeZone);
    }
    return wallTs(+y, +mo, +d, +h, +mi, +(s ?? 0), timeZone);
  }
  m = HL7_TS.exec(v);
  if (m) {
    const [, y, mo, d, h, mi, s, zone] = m;
    if (!validDate(+y, +mo, +d)) return null;
    if (h === undefined) return zone ? null : `${y}${mo}${d}`;
    if (+h > 23 || +mi > 59 || +(s ?? 0) > 59) return null;
    if (zone) {
      if (+zone.slice(1, 3) > 14 || +zone.slice(3) > 59) return null;
      return `${y}${mo}${d}${h}${mi}${s ?? '00'}${zone}`;
    }
    return wallTs(+y, +mo, +d, +h, +mi, +(s ?? 0), timeZone);
  }
  return null;
}

/** A wall-clock time of `timeZone` with its offset (in a DST gap or overlap: the offset in force just before). */
function wallTs(y: number, mo: number, d: number, h: number, mi: number, s: number, timeZone: string): string {
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  let off = offsetMinutes(asUtc, timeZone);
  off = offsetMinutes(asUtc - off * 60000, timeZone);
  return `${y}${p2(mo)}${p2(d)}${p2(h)}${p2(mi)}${p2(s)}${formatOffset(off)}`;
}

/** The UTC instant of a TS (a date alone: midnight UTC), for ordering two values. */
export function tsInstant(ts: string): number {
  const m = HL7_TS.exec(ts);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s, zone] = m;
  const t = Date.UTC(+y, +mo - 1, +d, +(h ?? 0), +(mi ?? 0), +(s ?? 0));
  if (!zone) return t;
  const off = (zone[0] === '-' ? -1 : 1) * (+zone.slice(1, 3) * 60 + +zone.slice(3));
  return t - off * 60000;
}
