// The patient identifiers of PID-3 and MRG-1 (CX, repeatable): the IPP and the INS candidates.

import type { Segment } from '../hl7/message';
import type { Findings } from './findings';
import { checkInsKey, insOidInfo, keyReasonWithoutValues, LEGACY_INS_OIDS, type InsEnvironment, type InsKind } from './nir';
import { controlCharacter, HL7_NULL } from './text';
import { hl7Date } from './time';

/** An INS read from a message: its key is right and its OID is one of INS_OIDS. */
export interface Ins {
  /** The 15-character matricule (NIR or NIA with its key). */
  value: string;
  /** The assigning authority OID (PID-3.4.2). */
  oid: string;
  kind: InsKind;
  environment: InsEnvironment;
  /** CX-7 effective date as YYYY-MM-DD, null when absent. */
  validFrom: string | null;
}

/** The IPP: the PID-3 repetition typed PI. */
export interface Ipp {
  id: string;
  /** Assigning authority namespace id (PID-3.4.1). */
  authority: string;
  /** Assigning authority universal id (PID-3.4.2), '' when the sender gives none. */
  oid: string;
}

export interface Identifiers {
  ipp: Ipp | null;
  /** The INS the repetitions give (PAM FR §4.4.1: the INS-NIR over the INS-NIA); whether it is kept is decided later. */
  ins: Ins | null;
  /** Location (ERR-2) of that INS repetition. */
  insLocation: string;
  /** An INS OID carried "" as its value: every INS of the patient is deleted (PAM FR §4.4.3, §4.4.4). */
  insDeleted: boolean;
  /** Why INS repetitions were set aside (wrong key, unknown OID, several…); each is also a warning. */
  setAside: string[];
}

/** CX-1 length in France (hl7v2-datatypes-fr.txt, N.1 CX: LEN 128). */
const CX1_MAX = 128;

interface Candidate extends Ins {
  location: string;
  repetition: number;
}

/**
 * Reads the CX repetitions of PID-3 or MRG-1, each decoded once (hl7v2-datatypes-fr.txt N.1):
 * - the IPP is the first repetition typed PI (CX-5) with an id (CX-1), authority CX-4.1, OID CX-4.2 (a
 *   warning when there is no OID); an id with control characters or longer than 128 characters is an
 *   error 102 (an identifier is never shortened or cleaned);
 * - an INS is a repetition typed INS under one of INS_OIDS (CX-4.2; CX-4.3 should be ISO). Set aside,
 *   each with a warning naming its repetition: a wrong key or malformed matricule (102), an unknown or
 *   missing OID (103), an INS of the test or demonstration environment in a production message
 *   (MSH-11 P, 103), legacy codings — the INS-C, a NIR typed NH, an INS OID under another type (103);
 * - PAM FR §6.6.1: the sender transmits only its latest INS; §4.4.1: the INS-NIA may come with the
 *   INS-NIR, and then the INS-NIR is the one. So: one INS-NIR (with or without INS-NIAs) gives that
 *   NIR; else one INS-NIA gives it; two different NIRs, two different NIAs, or the same INS repeated
 *   are a cardinality warning (198) and no INS;
 * - `""` as the value of an INS repetition (HL7 null) says the INS is deleted (§4.4.3);
 * - a repetition identical to an earlier one is read once (one warning counts the copies).
 * Each repetition is read from the field split once (Segment.rawRepetitions): linear in its length.
 */
export function readIdentifiers(seg: Segment, field: number, segLoc: string, f: Findings, processingId: string): Identifiers {
  const out: Identifiers = { ipp: null, ins: null, insLocation: '', insDeleted: false, setAside: [] };
  const where = `${segLoc.split('^')[0]}-${field}`;
  const candidates: Candidate[] = [];
  const setAside = (code: string, loc: string, why: string) => {
    f.warn(code, loc, why);
    out.setAside.push(why);
  };
  const seen = new Map<string, number>();
  const copied = new Set<number>();
  let copies = 0;
  const reps = seg.rawRepetitions(field);
  for (let r = 1; r <= reps.length; r++) {
    const key = reps[r - 1];
    const first = seen.get(key);
    if (first !== undefined) {
      copies++;
      copied.add(first);
      continue;
    }
    seen.set(key, r);
    const loc = `${segLoc}^${field}^${r}`;
    const comp = (c: number, s = 1) => seg.value(field, r, c, s).trim();
    const id = comp(1);
    const namespace = comp(4, 1);
    const oid = comp(4, 2);
    const oidType = comp(4, 3);
    const type = comp(5).toUpperCase();
    const legacy = Object.hasOwn(LEGACY_INS_OIDS, oid) ? LEGACY_INS_OIDS[oid] : '';
    const info = insOidInfo(oid);

    if (type === 'PI' && !legacy && !info) {
      if (!id || id === HL7_NULL || out.ipp) continue;
      const bad = controlCharacter(id);
      if (bad !== null || id.length > CX1_MAX) {
        f.error('102', loc, bad !== null ? `the IPP holds a control character (U+${bad})` : `the IPP is ${id.length} characters long: at most ${CX1_MAX} (CX-1)`);
        continue;
      }
      out.ipp = { id, authority: namespace === HL7_NULL ? '' : namespace, oid: oid === HL7_NULL ? '' : oid };
      if (!out.ipp.oid) f.warn('101', loc, `the IPP has no assigning authority OID (${where}.4.2)`);
      continue;
    }
    if (type === 'INS') {
      if (!info) {
        setAside(
          '103',
          loc,
          legacy
            ? `legacy ${legacy} (OID ${oid}) is no longer an INS: not read`
            : oid
              ? `identifier typed INS under an assigning authority that is not an INS OID ("${oid}"): not read`
              : `identifier typed INS without its assigning authority OID (${where}.4.2): not read`,
        );
        continue;
      }
      if (id === HL7_NULL) {
        out.insDeleted = true;
        continue;
      }
      if (!id) {
        setAside('101', loc, `${info.label} repetition without a value`);
        continue;
      }
      if (oidType.toUpperCase() !== 'ISO') f.warn('103', loc, `the ${info.label} assigning authority should have universal id type ISO (${where}.4.3 is "${oidType}")`);
      const check = checkInsKey(id, info.kind);
      if (!check.ok) {
        setAside('102', loc, `${info.label} not integrated: ${keyReasonWithoutValues(check.reason)}`);
        continue;
      }
      if (processingId === 'P' && info.environment !== 'production') {
        setAside('103', loc, `${info.label} of the ${info.environment} environment in a production message (MSH-11 P): not integrated`);
        continue;
      }
      const eff = comp(7);
      const validFrom = eff && eff !== HL7_NULL ? hl7Date(eff) : null;
      if (eff && eff !== HL7_NULL && !validFrom) f.warn('102', loc, `INS effective date (${where}.7) is not a date`);
      candidates.push({ value: id, oid, kind: info.kind, environment: info.environment, validFrom, location: loc, repetition: r });
      continue;
    }
    const legacyType = type.startsWith('INS');
    const legacyNamespace = /^ASIP-SANTE-INS/i.test(namespace);
    if (type === 'NH' || legacyType || legacy || legacyNamespace || info) {
      const why =
        type === 'NH'
          ? 'NIR typed NH (the insured person’s number, not the INS)'
          : legacy
            ? `legacy ${legacy} (OID ${oid}) is no longer an INS`
            : legacyType
              ? `identifier type "${type}" is a legacy coding`
              : `identifier with an INS authority typed "${type}" instead of INS`;
      setAside('103', loc, `${why}: not read as an INS`);
    }
  }
  if (copies) f.warn('198', `${segLoc}^${field}`, `${where} repeats an earlier repetition ${copies} time${copies > 1 ? 's' : ''}: each read once`);
  chooseIns(candidates, copied, out, segLoc, field, f);
  return out;
}

/** PAM FR §6.6.1 and §4.4.1: which of the INS candidates is the patient's, if any. */
function chooseIns(candidates: Candidate[], copied: Set<number>, out: Identifiers, segLoc: string, field: number, f: Findings): void {
  if (!candidates.length) return;
  const none = (why: string) => {
    f.warn('198', `${segLoc}^${field}`, `${why}: no INS integrated (PAM FR §6.6.1: only the latest INS is sent)`);
    out.setAside.push(why);
  };
  if (out.insDeleted) return none('an INS is both deleted ("") and given');
  const keys = new Set<string>();
  for (const c of candidates) {
    const key = `${c.oid}|${c.value}`;
    if (copied.has(c.repetition) || keys.has(key)) return none('the same INS is repeated');
    keys.add(key);
  }
  const nirs = candidates.filter((c) => c.kind === 'NIR');
  const nias = candidates.filter((c) => c.kind === 'NIA');
  if (nirs.length > 1) return none(`${nirs.length} different INS-NIR`);
  if (nirs.length === 1) return take(nirs[0], out);
  if (nias.length > 1) return none(`${nias.length} different INS-NIA`);
  take(nias[0], out);
}

function take(c: Candidate, out: Identifiers): void {
  const { location, repetition: _r, ...ins } = c;
  out.ins = ins;
  out.insLocation = location;
}
