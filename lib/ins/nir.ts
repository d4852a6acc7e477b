// The INS matricule (NIR or NIA) and the OIDs of its assigning authorities.

export type InsKind = 'NIR' | 'NIA';
export type InsEnvironment = 'production' | 'test' | 'demo';

export interface InsOidInfo {
  kind: InsKind;
  environment: InsEnvironment;
  label: string;
}

/**
 * The assigning authorities of the INS (référentiel INS, ANS), by OID — the universal id PID-3.4.2 of
 * a PID-3 repetition typed `INS`:
 * - 1.2.250.1.213.1.4.8  INS-NIR, production
 * - 1.2.250.1.213.1.4.9  INS-NIA, production
 * - 1.2.250.1.213.1.4.10 INS-NIR of the test environment
 * - 1.2.250.1.213.1.4.11 INS-NIR of the demonstration environment
 * Any other OID is not an INS (see LEGACY_INS_OIDS for the former INS-C). Frozen.
 */
export const INS_OIDS: Record<string, InsOidInfo> = Object.freeze({
  '1.2.250.1.213.1.4.8': Object.freeze({ kind: 'NIR', environment: 'production', label: 'INS-NIR' }),
  '1.2.250.1.213.1.4.9': Object.freeze({ kind: 'NIA', environment: 'production', label: 'INS-NIA' }),
  '1.2.250.1.213.1.4.10': Object.freeze({ kind: 'NIR', environment: 'test', label: 'INS-NIR (test)' }),
  '1.2.250.1.213.1.4.11': Object.freeze({ kind: 'NIR', environment: 'demo', label: 'INS-NIR (demo)' }),
} as Record<string, InsOidInfo>);

/** OIDs of former national identifiers that are no longer an INS: 1.2.250.1.213.1.4.2 is the INS-C (computed INS). */
export const LEGACY_INS_OIDS: Record<string, string> = Object.freeze({
  '1.2.250.1.213.1.4.2': 'INS-C',
} as Record<string, string>);

/** The INS_OIDS entry of an OID (own keys only: "constructor" is not an OID). */
export function insOidInfo(oid: string): InsOidInfo | undefined {
  return Object.hasOwn(INS_OIDS, oid) ? INS_OIDS[oid] : undefined;
}

export type InsKeyCheck = { ok: true } | { ok: false; reason: string; expectedKey?: string };

/** First characters (sex digit) accepted for an INS-NIR, and for an INS-NIA or when the kind is not known. */
const NIR_SEX = '12';
const ANY_SEX = '123478';

/**
 * Checks an INS matricule (NIR or NIA): 15 characters, a 13-character number then a 2-digit key.
 * - Characters 6–7 (the département of birth) may be `2A` or `2B` (Corsica); before computing the
 *   key they are replaced by `19` and `18`. Every other character is a digit.
 * - The key is 97 − (number mod 97), written on two digits (01 to 97). The 13-digit number does not
 *   fit a double exactly, so it is computed with BigInt.
 * - The first character is the sex digit: 1 or 2; 3, 4, 7 and 8 (temporary and waiting numbers) are
 *   accepted too unless `kind` is 'NIR', for which only 1 and 2 are.
 * A wrong key gives `expectedKey`, the key the number calls for.
 */
export function checkInsKey(value: string, kind?: InsKind): InsKeyCheck {
  if (typeof value !== 'string') return { ok: false, reason: `not a character string (${value === null ? 'null' : typeof value})` };
  if (value.length !== 15) {
    return { ok: false, reason: `${value.length} character${value.length === 1 ? '' : 's'} instead of 15 (13-character number and 2-digit key)` };
  }
  const key = value.slice(13);
  const dept = value.slice(5, 7);
  const digits = dept === '2A' || dept === '2B' ? value.slice(0, 5) + (dept === '2A' ? '19' : '18') + value.slice(7, 13) : value.slice(0, 13);
  if (!/^\d{13}$/.test(digits)) {
    return { ok: false, reason: 'the number holds characters other than digits (only 2A or 2B, for Corsica, at positions 6–7)' };
  }
  if (!/^\d{2}$/.test(key)) return { ok: false, reason: `the key "${key}" (characters 14–15) is not two digits` };
  const allowed = kind === 'NIR' ? NIR_SEX : ANY_SEX;
  if (!allowed.includes(digits[0])) {
    return {
      ok: false,
      reason: `first character (sex) "${digits[0]}" is not ${kind === 'NIR' ? '1 or 2 (INS-NIR)' : '1, 2, 3, 4, 7 or 8'}`,
    };
  }
  const expectedKey = String(97n - (BigInt(digits) % 97n)).padStart(2, '0');
  if (key !== expectedKey) return { ok: false, reason: `wrong key ${key}, expected ${expectedKey}`, expectedKey };
  return { ok: true };
}

/** A checkInsKey reason without the values of the matricule it quotes (for texts that may be logged). */
export function keyReasonWithoutValues(reason: string): string {
  return reason.replace(/"[^"]*"/g, '"#"').replace(/wrong key \d+, expected \d+/, 'wrong key');
}
