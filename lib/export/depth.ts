// The depth of an export: since a date, the last N years, or the whole history. Dates without a time
// are read as midnight in the establishment's time zone (default Europe/Paris), so that "since
// 2021-01-01" keeps a document written on 1 January 2021 at 00:30 in Paris (23:30 UTC the day before).
import { isTimeZone, localDate, offsetMinutes, wallClock as wall, wallInstant } from '../timezone';
import { ExportError } from './errors';

export type ExportDepth = { since: string } | { years: number } | { everything: true };

export interface ResolvedDepth {
  mode: 'since' | 'years' | 'everything';
  /** The first production instant kept (ISO 8601 with the time zone's offset), null for the whole history. */
  since: string | null;
  sinceMs: number | null;
  /** The number of years asked (mode 'years'). */
  years?: number;
  /** The date as given (mode 'since'). */
  asked?: string;
}

export { isTimeZone, localDate };

/** The instant of 00:00 on y-mo-d in `timeZone`. */
export function localMidnight(y: number, mo: number, d: number, timeZone: string): number {
  return wallInstant(y, mo, d, 0, 0, 0, 0, timeZone);
}

const p2 = (n: number) => String(n).padStart(2, '0');

/** An instant as YYYY-MM-DDTHH:MM:SS±HH:MM in `timeZone`. */
export function localIso(ms: number, timeZone: string): string {
  const w = wall(ms, timeZone);
  const off = offsetMinutes(ms, timeZone);
  const a = Math.abs(off);
  return `${w.y}-${p2(w.mo)}-${p2(w.d)}T${p2(w.h)}:${p2(w.mi)}:${p2(w.s)}${off < 0 ? '-' : '+'}${p2(Math.floor(a / 60))}:${p2(a % 60)}`;
}

function daysIn(y: number, mo: number): number {
  return new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A date (YYYY-MM-DD, midnight in timeZone) or an ISO date-time with its offset, as an instant (ms). */
export function parseSince(value: string, timeZone: string): number {
  const v = value.trim();
  const d = DATE_RE.exec(v);
  if (d) {
    const [y, mo, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
    if (mo < 1 || mo > 12 || day < 1 || day > daysIn(y, mo)) throw new ExportError('BAD_ARGUMENT', `depth: "${value}" is not a valid date`);
    return localMidnight(y, mo, day, timeZone);
  }
  const t = DATE_TIME_RE.exec(v);
  if (t) {
    const [y, mo, day] = [Number(t[1]), Number(t[2]), Number(t[3])];
    const ms = Date.parse(v);
    if (mo < 1 || mo > 12 || day < 1 || day > daysIn(y, mo) || !Number.isFinite(ms)) {
      throw new ExportError('BAD_ARGUMENT', `depth: "${value}" is not a valid date-time`);
    }
    return ms;
  }
  throw new ExportError(
    'BAD_ARGUMENT',
    `depth: "${value}" is neither a date (YYYY-MM-DD) nor a date-time with its offset (YYYY-MM-DDTHH:MM:SS+01:00 or …Z)`,
  );
}

/** Reads the depth against `now`: exactly one of since, years, everything. */
export function resolveDepth(depth: ExportDepth | null | undefined, now: Date, timeZone: string): ResolvedDepth {
  const d = (depth ?? {}) as { since?: unknown; years?: unknown; everything?: unknown };
  const given = (['since', 'years', 'everything'] as const).filter((k) => d[k] !== undefined && d[k] !== null && d[k] !== false);
  if (given.length !== 1) {
    throw new ExportError(
      'BAD_ARGUMENT',
      given.length
        ? `depth: give one of since, years or everything, not ${given.join(' and ')}`
        : 'depth: give since (a date), years (a number of years) or everything: true',
    );
  }
  const nowMs = now.getTime();
  if (given[0] === 'everything') {
    if (d.everything !== true) throw new ExportError('BAD_ARGUMENT', 'depth: everything must be true');
    return { mode: 'everything', since: null, sinceMs: null };
  }
  if (given[0] === 'since') {
    if (typeof d.since !== 'string') throw new ExportError('BAD_ARGUMENT', 'depth: since must be a date string (YYYY-MM-DD)');
    const ms = parseSince(d.since, timeZone);
    if (ms > nowMs) {
      throw new ExportError('FUTURE_DEPTH', `depth: since ${d.since} is in the future (now is ${localIso(nowMs, timeZone)})`);
    }
    return { mode: 'since', since: localIso(ms, timeZone), sinceMs: ms, asked: d.since.trim() };
  }
  const years = d.years;
  if (typeof years !== 'number' || !Number.isFinite(years)) throw new ExportError('BAD_ARGUMENT', 'depth: years must be a number');
  if (years < 0) throw new ExportError('FUTURE_DEPTH', `depth: ${years} years reaches into the future`);
  if (!Number.isInteger(years) || years < 1 || years > 200) {
    throw new ExportError('BAD_ARGUMENT', `depth: years must be a whole number from 1 to 200 (got ${years})`);
  }
  // the same calendar day N years ago (29 February → 28 February), from midnight, in the time zone
  const [y, mo, day] = localDate(nowMs, timeZone).split('-').map(Number);
  const ms = localMidnight(y - years, mo, Math.min(day, daysIn(y - years, mo)), timeZone);
  return { mode: 'years', since: localIso(ms, timeZone), sinceMs: ms, years };
}
