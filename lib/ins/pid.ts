// One PID segment of a PAM FR ADT message (and the ZFD that completes it): the patient identity, its
// INS when the identity is qualified, and what the ACK must say about it.

import type { Segment } from '../hl7/message';
import type { Findings } from './findings';
import { readIdentifiers } from './identifiers';
import { INSEE_CODE, qualificationGaps, type IdentityVerification, type PatientIdentity } from './identity';
import { readStatusCodes } from './status';
import { controlCharacter, valueOf } from './text';
import { dtmInstant, hl7Date, parseDtm } from './time';

export interface ReadContext {
  /** MSH-11.1 (P production, T test, D debug). */
  processingId: string;
  /** The establishment's time zone (times without an offset). */
  timeZone: string;
  /** Now, ms since the epoch. */
  now: number;
  /** Today in that time zone, YYYY-MM-DD. */
  today: string;
}

export interface PidReading {
  /** Null when PID-3 has no usable IPP. */
  patient: PatientIdentity | null;
  /** Why the INS sent was not integrated (the warnings say where); absent when kept or when none was sent. */
  insSetAside?: string;
}

/** XPN-1, XPN-2, XPN-3 length in France (hl7v2-datatypes-fr.txt, N.10 XPN: LEN 194). */
const XPN_MAX = 194;

/**
 * Reads PID occurrence `occ` (and, for the first one, the ZFD segment `zfd`):
 * - PID-3: the IPP and the INS candidates (readIdentifiers); no IPP is an error 101 (nothing recorded);
 * - PID-5, every repetition by its type XPN-7 (PAM FR §6.6.2, hl7v2-datatypes-fr N.10): L the birth
 *   name (5.1), first birth first name (5.2) and birth first names (5.3); D the used name and first name;
 *   S the pseudonym; U (unspecified) is not read; another type or none is a warning. `""` deletes a value
 *   (§6.6.2: `""^Orianne^^^^^D` — she no longer has a used name). A value with a control character or
 *   longer than 194 characters is an error 102: names are stored exactly as the CDA will show them;
 * - PID-7 (§6.6.4): YYYYMMDD[…]; not a date, or after today, is an error 102;
 * - PID-8 (§6.6.5, table 0001 in France): F, M or U; anything else (O was removed by PAM FR 2.11,
 *   CP-ITI-FR-2023-155) is an error 103;
 * - PID-11 typed BDL: the INSEE code of the birth place in 11.9; another shape is a warning and is not kept;
 * - PID-32 (§6.6.15): the status VIDE, PROV or VALI and the other codes of table 0445 as attributes;
 *   no status, several, or codes outside the table are warnings;
 * - ZFD-4…8 (§6.18): the verification of the identity;
 * - the INS is kept only when qualificationGaps finds nothing: otherwise the message is still integrated,
 *   without the INS, and each reason is a warning located where the message is at fault (§6.6.15).
 */
export function readPid(pid: Segment, occ: number, f: Findings, ctx: ReadContext, zfd?: Segment): PidReading {
  const at = `PID^${occ}`;
  const ids = readIdentifiers(pid, 3, at, f, ctx.processingId);
  if (!ids.ipp) f.error('101', `${at}^3`, 'no IPP: no PID-3 repetition with identifier type PI and an id');

  const names = readNames(pid, at, f);
  const status = readStatus(pid, at, f);
  // built property by property: V8 (Node 20) takes a slow path for { ...names, more } — 11 µs a message
  const identity: Omit<PatientIdentity, 'ipp' | 'ins' | 'qualified'> = {
    status: status.status,
    attributes: status.attributes,
    birthName: names.birthName,
    firstNames: names.firstNames,
    firstName: names.firstName,
    birthDate: readBirthDate(pid, at, f, ctx),
    sex: readSex(pid, at, f),
    birthPlace: readBirthPlace(pid, at, f),
    usedName: names.usedName,
    usedFirstName: names.usedFirstName,
    pseudonym: names.pseudonym,
    verification: zfd ? readVerification(zfd, f, ctx) : null,
  };
  let ins = ids.ins;
  const reading: PidReading = { patient: null };
  if (ins) {
    const gaps = qualificationGaps(identity, ins);
    const decisive = gaps.filter((g) => g.field === 32);
    const shown = decisive.length ? decisive : gaps;
    // an AE message is not integrated at all: its errors say why, "INS not integrated" would be noise
    for (const g of f.hasErrors ? [] : shown) {
      const loc = g.field === 3 ? ids.insLocation : g.field === 'ZFD-4' ? 'ZFD^1^4' : `${at}^${g.field}`;
      f.warn(g.code, loc, `INS not integrated: ${g.text}`);
    }
    if (gaps.length) {
      reading.insSetAside = shown.map((g) => g.text).join('; ');
      ins = null;
    }
  } else if (ids.setAside.length) {
    reading.insSetAside = ids.setAside.join('; ');
  }
  if (!ids.ipp) return reading;
  reading.patient = Object.assign({ ipp: ids.ipp, ins, qualified: ins !== null }, identity);
  return reading;
}

type Names = Pick<PatientIdentity, 'birthName' | 'firstName' | 'firstNames' | 'usedName' | 'usedFirstName' | 'pseudonym'>;

function readNames(pid: Segment, at: string, f: Findings): Names {
  const out: Names = { birthName: '', firstName: '', firstNames: '', usedName: '', usedFirstName: '', pseudonym: null };
  const seen = new Set<string>();
  for (let r = 1, n = pid.repetitions(5); r <= n; r++) {
    const loc = `${at}^5^${r}`;
    const type = valueOf(pid.value(5, r, 7)).toUpperCase();
    const part = (c: number): string => {
      const v = valueOf(pid.value(5, r, c));
      const bad = controlCharacter(v);
      if (bad !== null) {
        f.error('102', `${loc}^${c}`, `PID-5.${c} holds a control character (U+${bad})`);
        return '';
      }
      if (v.length > XPN_MAX) {
        f.error('102', `${loc}^${c}`, `PID-5.${c} is ${v.length} characters long: at most ${XPN_MAX} (XPN)`);
        return '';
      }
      return v;
    };
    if (type === 'L' || type === 'D' || type === 'S') {
      if (seen.has(type)) {
        f.warn('198', loc, `a second name typed ${type}: only the first is read`);
        continue;
      }
      seen.add(type);
    }
    if (type === 'L') {
      out.birthName = part(1);
      out.firstName = part(2);
      out.firstNames = part(3).replace(/\s+/g, ' ');
    } else if (type === 'D') {
      out.usedName = part(1);
      out.usedFirstName = part(2);
    } else if (type === 'S') {
      const name = part(1);
      const firstName = part(2);
      out.pseudonym = name || firstName ? { name, firstName } : null;
    } else if (type !== 'U' && pid.rawRepetitions(5)[r - 1] !== '') {
      f.warn(
        type ? '103' : '101',
        `${loc}^7`,
        type ? `name type ${type} is not used in France (L, D, S or U): not read` : 'name without its type (PID-5.7): not read',
      );
    }
  }
  return out;
}

function readBirthDate(pid: Segment, at: string, f: Findings, ctx: ReadContext): string {
  const raw = valueOf(pid.value(7));
  if (!raw) return '';
  const date = hl7Date(raw);
  if (!date) {
    f.error('102', `${at}^7`, 'the birth date (PID-7) is not a date (YYYYMMDD)');
    return '';
  }
  if (date > ctx.today) {
    f.error('102', `${at}^7`, 'the birth date (PID-7) is in the future');
    return '';
  }
  return date;
}

function readSex(pid: Segment, at: string, f: Findings): PatientIdentity['sex'] {
  const raw = valueOf(pid.value(8));
  if (raw === 'F' || raw === 'M' || raw === 'U') return raw;
  if (raw) f.error('103', `${at}^8`, `the sex (PID-8) is not F, M or U${raw === 'O' ? ' (O was removed by PAM FR 2.11)' : ''}`);
  return 'U';
}

function readBirthPlace(pid: Segment, at: string, f: Findings): string {
  for (let r = 1, n = pid.repetitions(11); r <= n; r++) {
    if (valueOf(pid.value(11, r, 7)).toUpperCase() !== 'BDL') continue;
    const code = valueOf(pid.value(11, r, 9));
    if (code && !INSEE_CODE.test(code)) {
      f.warn('102', `${at}^11^${r}^9`, 'the birth place (PID-11.9 typed BDL) is not an INSEE code (5 characters, 99xxx abroad): not kept');
      return '';
    }
    return code;
  }
  return '';
}

function readStatus(pid: Segment, at: string, f: Findings): ReturnType<typeof readStatusCodes> {
  const codes: string[] = [];
  for (let r = 1, n = pid.repetitions(32); r <= n; r++) codes.push(valueOf(pid.value(32, r)));
  const s = readStatusCodes(codes);
  if (s.missing) f.warn('101', `${at}^32`, 'no identity status (VIDE, PROV or VALI) in PID-32: required since the INS (PAM FR §6.6.15)');
  if (s.contradictory.length) f.warn('103', `${at}^32`, `several identity statuses in PID-32 (${s.contradictory.join(', ')}): ${s.status}, the least trusted, is kept`);
  if (s.unknown.length) f.warn('103', `${at}^32`, `${s.unknown.join(', ')}: not in table 0445 of PAM FR (§6.6.15), kept as sent`);
  return s;
}

/** IHE-ZFD-5 (PAM FR §6.18.5) and IHE-ZFD-7 (§6.18.7). Frozen. */
const ZFD_METHODS: readonly string[] = Object.freeze(['SM', 'CV', 'INSI', 'CB', 'RFID']);
const ZFD_DOCUMENTS: readonly string[] = Object.freeze(['AN', 'CC', 'CE', 'CM', 'CN', 'CS', 'LE', 'PA', 'PC', 'TC']);

/** ZFD-4…8 (PAM FR §6.18.4–§6.18.8); unknown codes and unreadable dates are warnings (codes kept as sent). */
function readVerification(zfd: Segment, f: Findings, ctx: ReadContext): IdentityVerification {
  const v = (n: number) => valueOf(zfd.value(n));
  const corrected = v(4).toUpperCase();
  if (corrected && corrected !== 'Y' && corrected !== 'N') f.warn('103', 'ZFD^1^4', 'ZFD-4 is not Y or N (table 0136)');
  const method = v(5).toUpperCase();
  if (method && !ZFD_METHODS.includes(method)) f.warn('103', 'ZFD^1^5', `ZFD-5 "${method}" is not in table IHE-ZFD-5 (${ZFD_METHODS.join(', ')}): kept as sent`);
  const document = v(7).toUpperCase();
  if (document && !ZFD_DOCUMENTS.includes(document)) f.warn('103', 'ZFD^1^7', `ZFD-7 "${document}" is not in table IHE-ZFD-7 (${ZFD_DOCUMENTS.join(', ')}): kept as sent`);
  const time = (n: number, dateOnly: boolean): string | null => {
    const raw = v(n);
    if (!raw) return null;
    const p = parseDtm(raw);
    if (!p || (dateOnly && !p.fullDate)) {
      f.warn('102', `ZFD^1^${n}`, `ZFD-${n} is not a date`);
      return null;
    }
    if (!dateOnly && dtmInstant(p, ctx.timeZone) > ctx.now + 24 * 3600_000) f.warn('102', `ZFD^1^${n}`, `ZFD-${n} is in the future`);
    return dateOnly ? p.date : p.iso;
  };
  return {
    birthDateCorrected: corrected === 'Y' ? true : corrected === 'N' ? false : null,
    method,
    insiQueriedAt: time(6, false),
    document,
    documentValidUntil: time(8, true),
  };
}

