// Wall-clock time in an IANA time zone (Europe/Paris by default in this pack), with Intl only: used
// for CDA time stamps (lib/cda/time.ts), export depths (lib/export/depth.ts) and ADT event times
// (lib/ins: an HL7 time without an offset is the establishment's wall-clock time).

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether `timeZone` is an IANA time zone this runtime knows (e.g. Europe/Paris). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** A wall-clock reading: year, month (1–12), day, hour, minute, second. */
export interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

/** The wall-clock time of `timeZone` at this instant, read by Intl (a few tens of microseconds). */
function wallClockIntl(instant: number, timeZone: string): Wall {
  const parts = formatterFor(timeZone).formatToParts(new Date(instant));
  const get = (t: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour') % 24, mi: get('minute'), s: get('second') };
}

/** The offset from UTC, in seconds, read by Intl. */
function offsetSecondsIntl(instant: number, timeZone: string): number {
  const w = wallClockIntl(instant, timeZone);
  return (Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(instant / 1000) * 1000) / 1000;
}

/**
 * Offsets are read by Intl once per time zone and quarter of an hour, and kept when the offset is the same
 * at both ends of that quarter (so no transition falls inside it; a quarter that holds one is read each
 * time). Every ADT message and CDA time stamp asks for an offset: Intl for each would be most of the work.
 */
const QUARTER = 15 * 60_000;
const offsets = new Map<string, number>();

function offsetSeconds(instant: number, timeZone: string): number {
  const bucket = Math.floor(instant / QUARTER);
  const key = `${timeZone}|${bucket}`;
  const known = offsets.get(key);
  if (known !== undefined) return known;
  const start = offsetSecondsIntl(bucket * QUARTER, timeZone);
  if (start !== offsetSecondsIntl(bucket * QUARTER + QUARTER - 1, timeZone)) return offsetSecondsIntl(instant, timeZone);
  if (offsets.size >= 10_000) offsets.clear();
  offsets.set(key, start);
  return start;
}

/** The wall-clock time of `timeZone` at this instant (ms since the epoch). */
export function wallClock(instant: number, timeZone: string): Wall {
  const t = new Date(Math.floor(instant / 1000) * 1000 + offsetSeconds(instant, timeZone) * 1000);
  return { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours(), mi: t.getUTCMinutes(), s: t.getUTCSeconds() };
}

/** Offset from UTC, in minutes, of `timeZone` at this instant (Europe/Paris: 60 in winter, 120 in summer). */
export function offsetMinutes(instant: number, timeZone: string): number {
  return Math.round(offsetSeconds(instant, timeZone) / 60);
}

/**
 * The instant at which the wall clock of `timeZone` shows y-mo-d h:mi:s.ms (in a DST gap or overlap: the
 * offset in force just before).
 */
export function wallInstant(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, timeZone: string): number {
  const utc = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const first = utc - offsetMinutes(utc, timeZone) * 60000;
  return utc - offsetMinutes(first, timeZone) * 60000; // the offset at the result, not at the UTC reading
}

/** The calendar date (YYYY-MM-DD) of an instant in `timeZone`. */
export function localDate(instant: number, timeZone: string): string {
  const w = wallClock(instant, timeZone);
  return `${w.y}-${String(w.mo).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
}
