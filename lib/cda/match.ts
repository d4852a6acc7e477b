// Which local record a received document is about: preselected only when the document's INS is the
// INS of a locally qualified identity and the birth traits agree; otherwise the document goes to
// reconciliation (identity vigilance decides). Nothing is ever merged, attached or written here.
import { insOidInfo, type Ipp, type PatientIdentity } from '../ins';
import type { IdentityStore, StoredIdentity } from '../store';
import type { CdaReading, CdaTraits } from './parse';

export type MatchMethod =
  /** the INS (valid key) is the INS of exactly one locally qualified identity, and the traits agree */
  | 'INS'
  /** the document has no INS, and no IPP of it is known locally */
  | 'none'
  /** no INS, or an INS no local identity carries, but the document's IPP (under an authority known locally) names a local identity: never enough to preselect */
  | 'ipp-only'
  /** the INS is that of a locally qualified identity but a birth trait differs */
  | 'traits-mismatch'
  /** the INS is known locally, but on no qualified identity */
  | 'ins-not-qualified'
  /** the document's INS (or, without one, its ids) match no local identity; or there is no store */
  | 'unknown-patient'
  /** the document's INS has a wrong key: it is not used */
  | 'ins-invalid'
  /** several locally qualified identities carry the INS (a duplicate for identity vigilance), or the document names several different INS */
  | 'ins-ambiguous'
  /** the document's INS comes without every INS trait (birth name, first names, birth date, sex, birth place) */
  | 'ins-incomplete'
  /** the INS names one local identity and the document's IPP another */
  | 'ipp-conflict'
  /** set by cda-ingest: the carrying HL7 message's PID-3 names another INS than the document */
  | 'carrier-mismatch';

export type Trait = 'birthName' | 'firstName' | 'birthDate' | 'sex' | 'birthPlace';

/** A trait that differs: both values, as written (for the reconciliation screen; never logged). */
export interface TraitMismatch {
  trait: Trait;
  document: string;
  local: string;
}

/** A local identity considered: its key and status, not the identity itself. */
export interface MatchCandidate {
  /** The IPP key ("<authority OID>|<id>"). */
  key: string;
  /** The PAM FR identity status (PID-32: VIDE, PROV, VALI). */
  status: string;
  qualified: boolean;
  /** Found by the document's INS, or by one of its ids as an IPP. */
  via: 'ins' | 'ipp';
  /** The traits that differ from the document's (empty: they agree). */
  mismatches: Trait[];
}

export interface PatientMatch {
  outcome: 'preselected' | 'reconcile';
  match: {
    method: MatchMethod;
    /** The IPP of the preselected identity (or of the identity the IPP names, for ipp-only). */
    ipp?: Ipp;
    /** The local identity preselected (or named by the IPP, for ipp-only). */
    patient?: PatientIdentity;
    /** Why, in words: trait names, never their values, and no identifier (those are in ipp and candidates). */
    reason: string;
    candidates: MatchCandidate[];
    /** The traits that differ, with both values (traits-mismatch, and ipp-only when they differ). */
    mismatches?: TraitMismatch[];
  };
}

export interface MatchOptions {
  /**
   * OIDs of the IPP assigning authorities whose ids may be looked up (default: any root of the
   * document's patient ids that is not an INS OID; the store's keys carry the authority, so an id of
   * another authority finds nothing).
   */
  ippAuthorities?: string[];
}

const TRAIT_LABELS: Record<Trait, string> = {
  birthName: 'birth name',
  firstName: 'first birth first name',
  birthDate: 'birth date',
  sex: 'sex',
  birthPlace: 'birth place',
};

/**
 * A name as compared (RNIV-like): upper case, diacritics removed (é → E, ç → C), ligatures spread
 * (Œ → OE, Æ → AE, ß → SS), hyphens, apostrophes and white space all one separator (space), trimmed.
 * "Dupont-Hérault", "DUPONT HERAULT" and "dupont  - héraULT" compare equal; "DUPONTHERAULT" does not.
 */
export function normalizeName(name: string): string {
  return (name ?? '')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[Œœ]/g, 'OE')
    .replace(/[Ææ]/g, 'AE')
    .replace(/ß/g, 'SS')
    .toUpperCase()
    .replace(/[\s\-\u2010-\u2015\u2212'\u2018\u2019\u02bc`´]+/g, ' ')
    .trim();
}

function firstWord(s: string): string {
  return (s ?? '').trim().split(/\s+/)[0] ?? '';
}

/**
 * The traits of the document that differ from the local identity's: birth name, first birth first name
 * (the document's given BR, else the first of its first names; locally firstName, else the first of
 * firstNames), birth date, sex (U never agrees), and the birth place when both give one.
 */
export function compareTraits(doc: CdaTraits, local: PatientIdentity): TraitMismatch[] {
  const out: TraitMismatch[] = [];
  const name = (trait: Trait, a: string, b: string) => {
    if (!normalizeName(a) || normalizeName(a) !== normalizeName(b)) out.push({ trait, document: a, local: b });
  };
  name('birthName', doc.birthName, local.birthName);
  name('firstName', doc.firstName || firstWord(doc.firstNames), local.firstName || firstWord(local.firstNames));
  if (!doc.birthDate || doc.birthDate !== local.birthDate) out.push({ trait: 'birthDate', document: doc.birthDate, local: local.birthDate });
  if (doc.sex === 'U' || doc.sex !== local.sex) out.push({ trait: 'sex', document: doc.sex, local: local.sex });
  const place = (s: string) => (s ?? '').trim().toUpperCase();
  if (place(doc.birthPlace) && place(local.birthPlace) && place(doc.birthPlace) !== place(local.birthPlace)) {
    out.push({ trait: 'birthPlace', document: doc.birthPlace, local: local.birthPlace });
  }
  return out;
}

/**
 * The INS traits a document gives the INS without (référentiel INS: birth name, first names, birth date,
 * sex, birth place — the INSEE code of the commune, or of the country for a birth abroad).
 */
export function missingInsTraits(t: CdaTraits): Trait[] {
  const out: Trait[] = [];
  if (!t.birthName.trim()) out.push('birthName');
  if (!(t.firstNames || t.firstName).trim()) out.push('firstName');
  if (!t.birthDate) out.push('birthDate');
  if (t.sex !== 'F' && t.sex !== 'M') out.push('sex');
  if (!t.birthPlace.trim()) out.push('birthPlace');
  return out;
}

/**
 * The LPS volet's application error (volet-lps-cda-mssante/error-codes.md) for a document that cannot
 * be integrated automatically (`method` not INS): 903 no INS in the document; 905 the INS without every trait; 902 an INS
 * no local identity carries, nor any of its IPPs; 904 an INS that does not match exactly the local
 * identity (traits, qualification, another IPP, an invalid key, several INS, the carrier's PID-3…).
 */
export function applicationErrorOf(method: MatchMethod, documentHasIns: boolean): '902' | '903' | '904' | '905' | null {
  if (method === 'INS') return null;
  if (!documentHasIns) return '903';
  switch (method) {
    case 'ins-incomplete':
      return '905';
    case 'unknown-patient':
      return '902';
    default:
      return '904';
  }
}

function candidate(s: StoredIdentity, via: 'ins' | 'ipp', mismatches: TraitMismatch[]): MatchCandidate {
  return { key: s.key, status: s.patient.status, qualified: s.patient.qualified, via, mismatches: mismatches.map((m) => m.trait) };
}

function listTraits(m: TraitMismatch[]): string {
  return m.map((x) => TRAIT_LABELS[x.trait]).join(', ');
}

/** The local identities the document's non-INS ids name as IPPs (byIpp with the id's root as authority). */
async function byIpps(reading: CdaReading, store: IdentityStore, opts: MatchOptions): Promise<StoredIdentity[]> {
  const found = new Map<string, StoredIdentity>();
  for (const id of reading.patient.ids) {
    if (!id.extension || insOidInfo(id.root)) continue;
    if (opts.ippAuthorities && !opts.ippAuthorities.includes(id.root)) continue;
    const s = await store.byIpp(id.extension, id.root);
    if (s && !s.mergedInto && !found.has(s.key)) found.set(s.key, s);
  }
  return [...found.values()];
}

/**
 * Decides which local record a received document is about. Read-only: the store is only queried.
 *
 * - preselected (method INS): the document's INS has a valid key, exactly one locally qualified identity (PID-32 VALI with its INS: lib/ins qualificationGaps)
 *   carries it under the same OID (store.byIns(value, {qualifiedOnly: true})), its birth traits agree
 *   (compareTraits) and no IPP of the document names another local identity;
 * - otherwise reconcile, with the method saying why: ins-invalid (wrong key: the INS is not used),
 *   traits-mismatch (which traits, in `mismatches`), ins-ambiguous (several qualified identities),
 *   ipp-conflict (the INS and the IPP name different identities), ins-not-qualified (the INS is known
 *   only on identities not qualified), ipp-only (no usable INS, or an INS unknown locally, but an IPP
 *   of the document names a local identity), none (no INS and no known IPP), unknown-patient (an INS
 *   that no local identity carries and no known IPP; or no store).
 * Test and demo INS (OIDs .10, .11) are matched like production ones: the OID must be the same on both
 * sides, so a test INS only ever matches an identity the registry sent with the test OID.
 */
export async function matchPatient(reading: CdaReading, store: IdentityStore | null, opts: MatchOptions = {}): Promise<PatientMatch> {
  const ins = reading.patient.ins;
  const traits = reading.patient.traits;
  const reconcile = (method: MatchMethod, reason: string, candidates: MatchCandidate[] = [], extra: Partial<PatientMatch['match']> = {}): PatientMatch => ({
    outcome: 'reconcile',
    match: { method, reason, candidates, ...extra },
  });
  if (!store) return reconcile(ins ? 'unknown-patient' : 'none', 'no identity store to compare the document with');

  const ippFound = await byIpps(reading, store, opts);
  const ippCandidates = () => ippFound.map((s) => candidate(s, 'ipp', compareTraits(traits, s.patient)));
  /**
   * Without a usable INS (none, a wrong key, or one no local identity carries): an IPP of the document
   * may name a local identity — never enough to preselect. `method` when no IPP is known, `withIpp` when one is.
   */
  const byIppOnly = (method: MatchMethod, withIpp: MatchMethod, why: string): PatientMatch => {
    if (ippFound.length === 1) {
      const s = ippFound[0];
      const mismatches = compareTraits(traits, s.patient);
      const agree = mismatches.length ? `; ${listTraits(mismatches)} differ${mismatches.length === 1 ? 's' : ''}` : '; the traits agree';
      const localIns = ins?.keyValid && method === 'unknown-patient' ? (s.patient.ins ? ' (it carries another INS)' : ' (it has no INS)') : '';
      return reconcile(withIpp, `${why}; the document's IPP names a local identity${localIns}${agree}`, ippCandidates(), {
        ipp: s.patient.ipp,
        patient: s.patient,
        ...(mismatches.length ? { mismatches } : {}),
      });
    }
    if (ippFound.length > 1) return reconcile(withIpp, `${why}; the document's ids name ${ippFound.length} different local identities`, ippCandidates());
    return reconcile(method, `${why} and no IPP of it is known locally`);
  };

  if (!ins) return byIppOnly('none', 'ipp-only', 'the document has no INS');
  if (reading.patient.insAmbiguous) return reconcile('ins-ambiguous', 'the document names several different INS: it is matched on none of them', ippCandidates());
  if (!ins.keyValid) return byIppOnly('ins-invalid', 'ins-invalid', `the document's INS has an invalid key (${ins.keyError ?? 'wrong key'}): it is not used`);
  const absent = missingInsTraits(traits);
  if (absent.length) {
    return reconcile('ins-incomplete', `the document gives the INS without ${absent.map((t) => TRAIT_LABELS[t]).join(', ')}: an INS is used only with every INS trait`, ippCandidates());
  }

  const qualified = (await store.byIns(ins.value, { qualifiedOnly: true })).filter((s) => s.patient.ins?.oid === ins.oid && !s.mergedInto);
  if (qualified.length === 1) {
    const s = qualified[0];
    const mismatches = compareTraits(traits, s.patient);
    const candidates = [candidate(s, 'ins', mismatches), ...ippCandidates().filter((c) => c.key !== s.key)];
    if (mismatches.length) {
      return reconcile('traits-mismatch', `the INS is that of a qualified identity but ${listTraits(mismatches)} differ${mismatches.length === 1 ? 's' : ''}`, candidates, {
        ipp: s.patient.ipp,
        mismatches,
      });
    }
    const other = ippFound.find((x) => x.key !== s.key);
    if (other) {
      return reconcile('ipp-conflict', `the INS is that of a qualified identity but the document's IPP names another local identity`, candidates, { ipp: s.patient.ipp });
    }
    return {
      outcome: 'preselected',
      match: {
        method: 'INS',
        ipp: s.patient.ipp,
        patient: s.patient,
        reason: `the INS is that of a qualified identity and the birth traits agree`,
        candidates,
      },
    };
  }
  if (qualified.length > 1) {
    const candidates = qualified.map((s) => candidate(s, 'ins', compareTraits(traits, s.patient)));
    return reconcile('ins-ambiguous', `${qualified.length} qualified local identities carry this INS (msg.match.candidates): a duplicate for identity vigilance`, candidates);
  }
  const any = (await store.byIns(ins.value, { qualifiedOnly: false })).filter((s) => !s.mergedInto);
  const sameOid = any.filter((s) => s.patient.ins?.oid === ins.oid);
  if (sameOid.length) {
    const candidates = [...sameOid.map((s) => candidate(s, 'ins', compareTraits(traits, s.patient))), ...ippCandidates().filter((c) => !sameOid.some((s) => s.key === c.key))];
    const statuses = [...new Set(sameOid.map((s) => s.patient.status))].join(', ');
    return reconcile('ins-not-qualified', `the INS is known locally on ${sameOid.length === 1 ? 'an identity' : `${sameOid.length} identities`}, not qualified (${statuses})`, candidates, {
      ipp: sameOid.length === 1 ? sameOid[0].patient.ipp : undefined,
    });
  }
  const otherOid = any.length ? ` (the same number is known under another INS OID: ${[...new Set(any.map((s) => s.patient.ins?.oid))].join(', ')})` : '';
  return byIppOnly('unknown-patient', 'ipp-only', `no local identity carries the document's INS${otherOid}`);
}
