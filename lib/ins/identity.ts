// The patient identity an ADT message gives, and the rule that decides whether it is qualified — the
// only case in which it carries its INS.

import type { Ins, Ipp } from './identifiers';
import { checkInsKey, insOidInfo, keyReasonWithoutValues } from './nir';
import { NOT_QUALIFIABLE } from './status';

/** ZFD-4 to ZFD-8 (PAM FR 2.11.1 §6.18): how the identity was obtained and checked. */
export interface IdentityVerification {
  /** ZFD-4: the birth date was corrected after the INSi query (Y → true, N → false, absent → null). */
  birthDateCorrected: boolean | null;
  /** ZFD-5, table IHE-ZFD-5: SM saisie manuelle, CV carte Vitale, INSI téléservice INSi, CB code à barre, RFID ('' when absent). */
  method: string;
  /** ZFD-6: when the INSi teleservice was queried (ISO 8601), null when absent. */
  insiQueriedAt: string | null;
  /** ZFD-7, table IHE-ZFD-7: the identity document checked (AN, CC, CE, CM, CN, CS, LE, PA, PC, TC; '' when absent). */
  document: string;
  /** ZFD-8: end of validity of that document (YYYY-MM-DD), null when absent. */
  documentValidUntil: string | null;
}

export interface PatientIdentity {
  ipp: Ipp;
  /** The INS, ONLY when the identity is qualified (see qualificationGaps); null otherwise. */
  ins: Ins | null;
  /** The identity status sent in PID-32: VIDE, PROV or VALI (PAM FR §6.6.15, table 0445); '' when none was sent. */
  status: string;
  /** The other PID-32 codes, as sent, in message order (HOMA, FICT, DOUT, DOUB, …). */
  attributes: string[];
  /** VALI with a valid INS, every birth trait, and none of NOT_QUALIFIABLE: the identity may carry its INS. */
  qualified: boolean;
  /** Birth name: PID-5.1 of the repetition typed L. */
  birthName: string;
  /** Birth first names, space separated: PID-5.3 of the repetition typed L. */
  firstNames: string;
  /** First birth first name: PID-5.2 of the repetition typed L. */
  firstName: string;
  /** PID-7 as YYYY-MM-DD ('' when absent). */
  birthDate: string;
  /** PID-8 ('U' when absent). */
  sex: 'F' | 'M' | 'U';
  /** INSEE code of the birth place: PID-11.9 of the repetition typed BDL ('' when absent). */
  birthPlace: string;
  /** Used name and used first name: PID-5.1 and PID-5.2 of the repetition typed D ('' when none). */
  usedName: string;
  usedFirstName: string;
  /** Pseudonym: PID-5 typed S (PAM FR §6.6.2), null when none. */
  pseudonym?: { name: string; firstName: string } | null;
  /** ZFD-4…8, null when the message has no ZFD segment. */
  verification?: IdentityVerification | null;
  /**
   * The identities this one replaces: MRG-1 of an A40 (merged away) or an A47 (former IPP). For A24 / A37
   * it names the other patient of the link (also given whole in AdtReading.linked).
   */
  replaces?: { ipp: Ipp; ins?: Ins | null }[];
}

/** Why an identity cannot carry its INS: one gap per reason, located in the PID it came from. */
export interface QualificationGap {
  /** HL7 table 0357 code of the matching warning. */
  code: string;
  /** PID-relative location: field number (5, 7, 8, 11, 32…), or 'ZFD-4'. */
  field: number | 'ZFD-4';
  text: string;
}

/** INSEE code of a place of birth: 5 digits (99xxx abroad, 99999 unknown country) or 2A/2B and 3 digits (Corsica). */
export const INSEE_CODE = /^(\d{5}|2[AB]\d{3})$/;

/**
 * Whether an identity may carry its INS, and if not why. PAM FR 2.11.1 sends the INS only with a
 * qualified identity, "PID.32 = VALI" (§6.6.1, §6.6.15), and requires with it the birth name (§6.6.2,
 * hl7v2-datatypes-fr N.10 XPN-1), the birth date (§6.6.4) and the sex (§6.6.5); the INS traits of the
 * référentiel INS add the birth first names (XPN-3, the INSi list), the first of them (XPN-2) and the
 * birth place (INSEE code, PID-11.9 typed BDL). So the identity is qualified when:
 * - its status is VALI and none of NOT_QUALIFIABLE (DOUT, FICT, DOUB, DOUA, COLV, DESA, INVA, USUR) is sent;
 * - its INS is under one of INS_OIDS with a right key;
 * - birth name, first birth first name, birth first names, birth date, sex (F or M: the INSi gives no
 *   other, §6.6.5), birth place (an INSEE code) are all present;
 * - the sex agrees with the first character of an INS-NIR (1 male, 2 female);
 * - the birth date was not corrected after the INSi query (ZFD-4 ≠ Y: §6.6.4 "si la date de naissance est
 *   corrigée, l'identité ne peut pas être au statut récupéré et qualifié, et le matricule INS ne peut
 *   pas être véhiculé").
 * `ins` is the INS the message (or the record) gives, before this rule decides whether it is kept.
 */
export function qualificationGaps(p: Omit<PatientIdentity, 'qualified' | 'ins' | 'ipp'>, ins: Ins | null): QualificationGap[] {
  const gaps: QualificationGap[] = [];
  if (p.status !== 'VALI') {
    gaps.push({ code: '103', field: 32, text: `the identity status is ${p.status || 'missing'}, not VALI: PAM FR §6.6.15 integrates the INS only with VALI` });
  }
  const blocking = p.attributes.filter((a) => NOT_QUALIFIABLE.includes(a));
  if (blocking.length) gaps.push({ code: '103', field: 32, text: `PID-32 also holds ${blocking.join(', ')}: never a qualified identity` });
  if (!ins) {
    gaps.push({ code: '101', field: 3, text: 'no INS' });
    return gaps;
  }
  const info = insOidInfo(ins.oid);
  const key = info ? checkInsKey(ins.value, info.kind) : { ok: false as const, reason: 'not an INS OID' };
  if (!key.ok) gaps.push({ code: '102', field: 3, text: `the INS is not valid (${keyReasonWithoutValues(key.reason)})` });
  const missing: [boolean, number, string][] = [
    [!p.birthName, 5, 'birth name (PID-5.1 typed L)'],
    [!p.firstName, 5, 'first birth first name (PID-5.2 typed L)'],
    [!p.firstNames, 5, 'birth first names (PID-5.3 typed L)'],
    [!p.birthDate, 7, 'birth date (PID-7)'],
    [p.sex !== 'F' && p.sex !== 'M', 8, 'sex F or M (PID-8)'],
    [!INSEE_CODE.test(p.birthPlace), 11, 'birth place INSEE code (PID-11.9 typed BDL)'],
  ];
  for (const [isMissing, field, what] of missing) if (isMissing) gaps.push({ code: '101', field, text: `a qualified identity needs its ${what}` });
  if (key.ok && info?.kind === 'NIR' && (p.sex === 'F' || p.sex === 'M')) {
    const expected = ins.value[0] === '1' ? 'M' : 'F';
    if (p.sex !== expected) gaps.push({ code: '102', field: 8, text: `the sex (PID-8) disagrees with the first character of the INS-NIR (1 male, 2 female)` });
  }
  if (p.verification?.birthDateCorrected === true) {
    gaps.push({ code: '103', field: 'ZFD-4', text: 'the birth date was corrected after the INSi query (ZFD-4 Y): PAM FR §6.6.4 sends no INS then' });
  }
  return gaps;
}
