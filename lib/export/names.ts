// File names a person can browse: ASCII letters, digits, '-', '_' and '.', no accents, no spaces —
// readable on every file system and unzip tool (the ZIP names are then plain ASCII, no UTF-8 flag needed).
import { createHash } from 'node:crypto';
import type { DocumentPatient } from '../store';

const SPECIAL: Record<string, string> = { ß: 'ss', æ: 'ae', Æ: 'AE', œ: 'oe', Œ: 'OE', ø: 'o', Ø: 'O', đ: 'd', Đ: 'D', ł: 'l', Ł: 'L', þ: 'th', Þ: 'TH' };

/** Latin text without its accents (É → E, ç → c, œ → oe). */
export function asciiFold(s: string): string {
  return s
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .replace(/[ßæÆœŒøØđĐłŁþÞ]/g, (c) => SPECIAL[c] ?? c);
}

/** ASCII letters and digits, runs of anything else as one '-', at most `max` characters. */
export function slug(s: string, max = 40): string {
  const out = asciiFold(s)
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return out.length <= max ? out : out.slice(0, max).replace(/-+$/, '');
}

/** Short names of the types of the Ségur DSR; other types get the slug of their display name. */
const TYPE_SLUGS: Record<string, string> = {
  '11490-0': 'lettre-de-liaison',
  '34874-8': 'CR-operatoire',
  '57833-6': 'ordonnance',
  '11502-2': 'CR-biologie',
  '18748-4': 'CR-imagerie',
};

export function typeSlug(code: string, label: string): string {
  return TYPE_SLUGS[code] ?? (slug(label, 48) || slug(code, 48) || 'document');
}

/** YYYY-MM-DD of an ISO 8601 date or date-time as written (the producer's local date). */
export function isoDay(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(iso);
  return m ? m[1] : 'date-inconnue';
}

/** The first 8 hex digits of SHA-256(text): short, stable, and different for different ids. */
export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** <BIRTHNAME>_<Firstname>_<YYYY-MM-DD>_<IPP>, e.g. MARTIN_Marie_1985-05-12_123456. */
export function patientFolderName(p: Pick<DocumentPatient, 'birthName' | 'firstName' | 'firstNames' | 'birthDate' | 'ipp'>, fallbackId: string): string {
  const first = p.firstName || p.firstNames.split(/\s+/)[0] || '';
  const birth = /^\d{4}-\d{2}-\d{2}$/.test(p.birthDate) ? p.birthDate : 'date-inconnue';
  return [
    slug(p.birthName.toUpperCase(), 40) || 'SANS-NOM',
    slug(first, 30) || 'sans-prenom',
    birth,
    slug(p.ipp?.id ?? '', 30) || `sans-IPP-${shortHash(fallbackId)}`,
  ].join('_');
}

/** Hands out names that are unique (case-insensitively, for Windows and macOS): name, name-2, name-3… */
export class UniqueNames {
  private readonly used = new Set<string>();

  take(name: string, ext = ''): string {
    let candidate = name;
    for (let n = 2; this.used.has((candidate + ext).toLowerCase()); n++) candidate = `${name}-${n}`;
    this.used.add((candidate + ext).toLowerCase());
    return candidate + ext;
  }
}
