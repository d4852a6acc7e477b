// Reading IHE PAM FR ADT messages (ITI-30, ITI-31) from an identity registry: the patient identity,
// its INS and identity status, what a store should do with it, and what the ACK must say.

import { Hl7ParseError } from '../hl7/errors';
import { Hl7Message, parseHl7, readHeader, type Segment } from '../hl7/message';
import { checkInsKey, insOidInfo, LEGACY_INS_OIDS, type InsEnvironment, type InsKind } from './nir';
import { hl7Date, parseDtm } from './time';

export type IdentityStatus = 'PROV' | 'RECUP' | 'VALI' | 'QUAL';

/** An INS kept from a message: its key is right and its OID is one of INS_OIDS. */
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

export interface PatientIdentity {
  ipp: Ipp;
  ins: Ins | null;
  /** The RNIV identity status (PID-32). */
  status: IdentityStatus;
  /** The other PID-32 codes (DOUT, FICT, HOMD, HOMA, USUR, VIDE, …), in message order. */
  attributes: string[];
  /** QUAL (or VALI with the valiWithInsIsQualified option), with a kept INS, every birth trait, and neither DOUT nor FICT. */
  qualified: boolean;
  /** Birth name: PID-5.1 of the repetition typed L. */
  birthName: string;
  /** Birth first names, space separated: PID-5.3 of the repetition typed L. */
  firstNames: string;
  /** First birth first name: PID-5.2 of the repetition typed L. */
  firstName: string;
  /** PID-7 as YYYY-MM-DD ('' when absent or invalid). */
  birthDate: string;
  /** PID-8 ('U' when absent or invalid). */
  sex: 'F' | 'M' | 'U';
  /** INSEE code of the birth place: PID-11.9 of the repetition typed BDL ('' when absent). */
  birthPlace: string;
  /** Used name and first name: PID-5.1 and PID-5.2 of the repetition typed D ('' when absent). */
  usedName: string;
  usedFirstName: string;
  /**
   * The identities this one replaces: MRG-1 of an A40 (merged away) or an A47 (former identifier).
   * For A24 / A37 it names the other patient of the link (ipp and ins of the second PID, also given
   * whole in AdtReading.linked): nothing is replaced, the action says what to do.
   */
  replaces?: { ipp: Ipp; ins?: Ins | null }[];
}

export interface AdtIssue {
  /** HL7 table 0357 code. */
  code: string;
  /** ERR-2 location: segment^occurrence^field[^repetition[^component]], e.g. 'PID^1^3^2'. */
  location: string;
  text: string;
  severity: 'E' | 'W';
}

export type AdtAction = 'update' | 'merge' | 'change-id' | 'link' | 'unlink' | 'none';

export interface AdtReading {
  /** What the ACK must say: AR rejected (not processable at all), AE processed with errors, AA accepted. */
  ack: 'AA' | 'AE' | 'AR';
  /** MSH-9.2. */
  event: string;
  /** MSH-10. */
  controlId: string;
  /** MSH-3.1, then "/" and MSH-4.1 when there is a sending facility (e.g. "GAM/CHU-X"). */
  sender: string;
  /** EVN-6, else EVN-2, else MSH-7, in ISO 8601 (offset kept as ±HH:MM when sent). */
  eventTime: string | null;
  /** What a store should do; 'none' when the message is rejected or has nothing to apply. */
  action: AdtAction;
  /** The identity of the (first) PID; null when ack is AR or when there is no usable identity (no IPP). */
  patient: PatientIdentity | null;
  /** A24 / A37: the identity of the second PID, linked to or unlinked from `patient`. */
  linked?: PatientIdentity;
  /** Errors (severity E: the ack is AE, or AR) and warnings (severity W: reported, ack unchanged). */
  issues: AdtIssue[];
  /** Why the patient's INS was not kept (wrong key, unknown OID, legacy coding…); absent when kept or when none was sent. */
  insRejected?: string;
}

export interface AdtOptions {
  /** Count VALI with a valid INS as qualified, as older PAM FR senders meant it (default false). */
  valiWithInsIsQualified?: boolean;
  /** MSH-12.1 values accepted (default ['2.5', '2.5.1']). */
  supportedVersions?: string[];
}

// --- events -------------------------------------------------------------------------------------

const UPDATE_EVENTS = [
  // ITI-30 patient identity feed
  'A28', 'A31',
  // ITI-31 encounters: admit, transfer, discharge, register, pre-admit, update, class changes, cancels
  'A01', 'A02', 'A03', 'A04', 'A05', 'A06', 'A07', 'A08', 'A11', 'A12', 'A13', 'A38',
  // pending events, leave of absence, attending doctor / location changes, patient tracking
  'A14', 'A15', 'A16', 'A25', 'A26', 'A27', 'A21', 'A22', 'A52', 'A53', 'A54', 'A55', 'A09', 'A10', 'A32', 'A33',
  // A44: the encounter moves to the PID patient (MRG names the former one); the identity is the PID's
  'A44',
  // PAM FR movement events
  'Z80', 'Z81', 'Z82', 'Z83', 'Z84', 'Z85', 'Z86', 'Z87', 'Z88', 'Z89', 'Z99',
];

/** The ADT trigger events read, and the action each asks of a store. Any other event is rejected (AR 201). */
export const ADT_EVENT_ACTIONS: Readonly<Record<string, Exclude<AdtAction, 'none'>>> = Object.freeze({
  ...Object.fromEntries(UPDATE_EVENTS.map((e) => [e, 'update' as const])),
  A40: 'merge',
  A47: 'change-id',
  A24: 'link',
  A37: 'unlink',
});

const RNIV_STATUSES: readonly IdentityStatus[] = ['PROV', 'RECUP', 'VALI', 'QUAL'];
const NOT_QUALIFIABLE = ['DOUT', 'FICT'];

// --- findings -----------------------------------------------------------------------------------

class Findings {
  readonly issues: AdtIssue[] = [];
  rejected = false;
  /** An error that makes the message impossible to process: the ack is AR. */
  reject(code: string, location: string, text: string): void {
    this.rejected = true;
    this.issues.push({ code, location, text, severity: 'E' });
  }
  error(code: string, location: string, text: string): void {
    this.issues.push({ code, location, text, severity: 'E' });
  }
  warn(code: string, location: string, text: string): void {
    this.issues.push({ code, location, text, severity: 'W' });
  }
  get ack(): AdtReading['ack'] {
    if (this.rejected) return 'AR';
    return this.issues.some((i) => i.severity === 'E') ? 'AE' : 'AA';
  }
}

// --- identifiers (PID-3, MRG-1) -----------------------------------------------------------------

interface Identifiers {
  ipp: Ipp | null;
  ins: Ins | null;
  /** Why identifiers that looked like an INS were not kept. */
  rejected: string[];
}

/**
 * Reads the CX repetitions of PID-3 (or MRG-1):
 * - the IPP is the first repetition typed PI (CX-5) with an id: id CX-1, authority CX-4.1, OID CX-4.2
 *   (a warning when the OID is missing; a PI under an INS or INS-C OID is a miscoded INS, not an IPP);
 * - the INS is a repetition typed INS whose CX-4.2 is one of INS_OIDS (CX-4.3 should be ISO: another
 *   value is a warning, the OID deciding); its value must pass checkInsKey for the OID's kind, else
 *   error 102 at <seg>^<n>^<field>^<repetition> (a warning for MRG-1) and the INS is not kept;
 *   CX-7 (effective date) gives validFrom;
 * - typed INS with another OID, or none: warning 103, not kept;
 * - legacy codings — the INS-C (OID 1.2.250.1.213.1.4.2, type INS-C or any type INS-…, authority
 *   ASIP-SANTE-INS…) and a NIR typed NH — and an INS OID under another type (PI, PT, none): warning
 *   103, never read as an INS;
 * - a second, different valid INS: warning, the first is kept.
 */
function readIdentifiers(seg: Segment, field: number, segLoc: string, f: Findings, strict: boolean, processingId: string): Identifiers {
  const out: Identifiers = { ipp: null, ins: null, rejected: [] };
  const where = `${segLoc.split('^')[0]}-${field}`;
  const n = seg.repetitions(field);
  for (let r = 1; r <= n; r++) {
    const loc = `${segLoc}^${field}^${r}`;
    const id = seg.value(field, r, 1).trim();
    const namespace = seg.value(field, r, 4, 1).trim();
    const oid = seg.value(field, r, 4, 2).trim();
    const oidType = seg.value(field, r, 4, 3).trim();
    const type = seg.value(field, r, 5).trim().toUpperCase();
    const legacyOid = Object.hasOwn(LEGACY_INS_OIDS, oid) ? LEGACY_INS_OIDS[oid] : '';
    if (type === 'PI' && !legacyOid && !insOidInfo(oid)) {
      if (!id || out.ipp) continue;
      out.ipp = { id, authority: namespace, oid };
      if (!oid) f.warn('101', loc, `the IPP ${id} has no assigning authority OID (${where}.4.2)`);
      continue;
    }
    if (type === 'INS') {
      const info = insOidInfo(oid);
      if (!info) {
        const why = legacyOid
          ? `legacy ${legacyOid} (OID ${oid}) is no longer an INS`
          : oid
            ? `identifier typed INS with an unknown assigning authority OID "${oid}"`
            : `identifier typed INS without an assigning authority OID (${where}.4.2)`;
        f.warn('103', loc, `${why}: not read as an INS`);
        out.rejected.push(why);
        continue;
      }
      if (!id) {
        const why = `identifier typed ${info.label} without a value`;
        f.warn('101', loc, why);
        out.rejected.push(why);
        continue;
      }
      if (oidType.toUpperCase() !== 'ISO') {
        f.warn('103', loc, `the ${info.label} assigning authority should have universal id type ISO (${where}.4.3 is "${oidType}")`);
      }
      const check = checkInsKey(id, info.kind);
      if (!check.ok) {
        const why = `INS ${id} (${info.label}) rejected: ${check.reason}`;
        if (strict) f.error('102', loc, why);
        else f.warn('102', loc, why);
        out.rejected.push(why);
        continue;
      }
      let validFrom: string | null = null;
      const eff = seg.value(field, r, 7).trim();
      if (eff) {
        validFrom = hl7Date(eff);
        if (!validFrom) f.warn('102', loc, `INS effective date (${where}.7) "${eff}" is not a date`);
      }
      if (out.ins) {
        if (out.ins.value !== id || out.ins.oid !== oid) f.warn('103', loc, `a second INS (${id}, ${info.label}) is ignored: ${out.ins.value} is kept`);
        continue;
      }
      out.ins = { value: id, oid, kind: info.kind, environment: info.environment, validFrom };
      if (processingId === 'P' && info.environment !== 'production') {
        f.warn('103', loc, `${info.label} from the ${info.environment} environment in a production message (MSH-11 P)`);
      }
      continue;
    }
    const legacyType = type.startsWith('INS');
    const legacyNamespace = /^ASIP-SANTE-INS/i.test(namespace);
    if (type === 'NH' || legacyType || legacyOid || legacyNamespace || insOidInfo(oid)) {
      const why =
        type === 'NH'
          ? `NIR coded with identifier type NH (legacy)`
          : legacyOid
            ? `legacy ${legacyOid} (OID ${oid}) is no longer an INS`
            : legacyType
              ? `identifier type "${type}" is a legacy coding`
              : `identifier with an INS authority (${namespace || oid}) typed "${type}" instead of INS`;
      f.warn('103', loc, `${why}: not read as an INS`);
      out.rejected.push(why);
    }
  }
  return out;
}

// --- PID ----------------------------------------------------------------------------------------

interface PidReading {
  patient: PatientIdentity | null;
  insRejected?: string;
}

/**
 * Reads one PID (occurrence `occ`):
 * - identifiers: see readIdentifiers; no IPP is error 101 at PID^n^3 and no identity (null);
 * - PID-5 typed L: birth name 5.1, first birth first name 5.2, birth first names 5.3; typed D: used
 *   name and used first name;
 * - PID-7 YYYYMMDD[HHMM…] → YYYY-MM-DD, anything else error 102;
 * - PID-8 F, M or U, anything else error 103 (sex then U);
 * - PID-11 typed BDL (11.7): INSEE code of the birth place in 11.9 (99xxx abroad, 99999 unknown
 *   country); not 5 characters of the INSEE shape: warning 102;
 * - PID-32: exactly one of PROV, RECUP, VALI, QUAL (repeated identical codes count once); none or
 *   several: error 103 at PID^n^32, and the status is the least trusted one sent (PROV if none).
 *   The other codes are attributes, kept in order (DOUT, FICT, HOMD, HOMA, USUR, VIDE, others);
 * - a QUAL identity (or VALI with an INS under valiWithInsIsQualified) must have birth name, first
 *   birth first name, birth first names, birth date, sex and birth place: each one missing is error
 *   101 naming it; QUAL with DOUT or FICT is a warning, QUAL without INS too;
 * - qualified = QUAL (or VALI + INS under the option), a kept INS, every trait present and valid,
 *   neither DOUT nor FICT.
 */
function readPid(pid: Segment, occ: number, f: Findings, opts: AdtOptions, processingId: string): PidReading {
  const at = `PID^${occ}`;
  const ids = readIdentifiers(pid, 3, at, f, true, processingId);
  if (!ids.ipp) f.error('101', `${at}^3`, 'no IPP: no PID-3 repetition with identifier type PI and an id');

  // names
  let birthName = '';
  let firstName = '';
  let firstNames = '';
  let usedName = '';
  let usedFirstName = '';
  let haveL = false;
  let haveD = false;
  for (let r = 1, n = pid.repetitions(5); r <= n; r++) {
    const type = pid.value(5, r, 7).trim().toUpperCase();
    if (type === 'L' && !haveL) {
      haveL = true;
      birthName = pid.value(5, r, 1).trim();
      firstName = pid.value(5, r, 2).trim();
      firstNames = pid.value(5, r, 3).trim().replace(/\s+/g, ' ');
    } else if (type === 'D' && !haveD) {
      haveD = true;
      usedName = pid.value(5, r, 1).trim();
      usedFirstName = pid.value(5, r, 2).trim();
    }
  }

  // birth date
  const rawDate = pid.value(7).trim();
  let birthDate = '';
  if (rawDate) {
    birthDate = hl7Date(rawDate) ?? '';
    if (!birthDate) f.error('102', `${at}^7`, `birth date (PID-7) "${rawDate}" is not a valid date (YYYYMMDD)`);
  }

  // sex
  const rawSex = pid.value(8).trim();
  let sex: PatientIdentity['sex'] = 'U';
  if (rawSex === 'F' || rawSex === 'M' || rawSex === 'U') sex = rawSex;
  else if (rawSex) f.error('103', `${at}^8`, `sex (PID-8) "${rawSex}" is not F, M or U`);

  // birth place
  let birthPlace = '';
  for (let r = 1, n = pid.repetitions(11); r <= n; r++) {
    if (pid.value(11, r, 7).trim().toUpperCase() !== 'BDL') continue;
    birthPlace = pid.value(11, r, 9).trim();
    if (birthPlace && !/^(\d{5}|2[AB]\d{3})$/.test(birthPlace)) {
      f.warn('102', `${at}^11^${r}`, `birth place (PID-11.9 type BDL) "${birthPlace}" is not an INSEE code (5 characters, 99xxx abroad)`);
    }
    break;
  }

  // identity status and attributes
  const codes: string[] = [];
  for (let r = 1, n = pid.repetitions(32); r <= n; r++) {
    const c = pid.value(32, r, 1).trim().toUpperCase();
    if (c && !codes.includes(c)) codes.push(c);
  }
  const statuses = RNIV_STATUSES.filter((s) => codes.includes(s));
  const attributes = codes.filter((c) => !(RNIV_STATUSES as readonly string[]).includes(c));
  const statusOk = statuses.length === 1;
  if (!statusOk) {
    f.error(
      '103',
      `${at}^32`,
      statuses.length === 0
        ? `no identity status in PID-32 (${codes.length ? codes.join(', ') : 'empty'}): exactly one of PROV, RECUP, VALI, QUAL is expected`
        : `several identity statuses in PID-32 (${codes.filter((c) => (RNIV_STATUSES as readonly string[]).includes(c)).join(', ')}): exactly one of PROV, RECUP, VALI, QUAL is expected`,
    );
  }
  const status: IdentityStatus = statuses[0] ?? 'PROV';

  // qualification
  const blocking = attributes.filter((a) => NOT_QUALIFIABLE.includes(a));
  const claimsQualified = statusOk && (status === 'QUAL' || (opts.valiWithInsIsQualified === true && status === 'VALI' && ids.ins !== null));
  let traitsOk = true;
  if (claimsQualified) {
    const missing: [boolean, string, string][] = [
      [!birthName, `${at}^5`, 'birth name (PID-5 type L)'],
      [!firstName, `${at}^5`, 'first birth first name (PID-5.2 type L)'],
      [!firstNames, `${at}^5`, 'birth first names (PID-5.3 type L)'],
      [!rawDate, `${at}^7`, 'birth date (PID-7)'],
      [!rawSex, `${at}^8`, 'sex (PID-8)'],
      [!birthPlace, `${at}^11`, 'birth place INSEE code (PID-11.9 type BDL; 99999 when the country is unknown)'],
    ];
    for (const [isMissing, loc, what] of missing) {
      if (!isMissing) continue;
      traitsOk = false;
      f.error('101', loc, `${status} identity without its ${what}`);
    }
    if (rawDate && !birthDate) traitsOk = false;
    if (rawSex && rawSex !== sex) traitsOk = false;
    if (status === 'QUAL' && blocking.length) {
      f.warn('103', `${at}^32`, `QUAL identity with attribute ${blocking.join(', ')}: not counted as qualified`);
    }
    if (status === 'QUAL' && !ids.ins && ids.rejected.length === 0) {
      f.warn('101', `${at}^3`, 'QUAL identity without an INS (PID-3 typed INS): not counted as qualified');
    }
  }
  const qualified = claimsQualified && traitsOk && ids.ins !== null && blocking.length === 0;

  const reading: PidReading = { patient: null };
  if (!ids.ins && ids.rejected.length) reading.insRejected = ids.rejected.join('; ');
  if (!ids.ipp) return reading;
  reading.patient = {
    ipp: ids.ipp,
    ins: ids.ins,
    status,
    attributes,
    qualified,
    birthName,
    firstNames,
    firstName,
    birthDate,
    sex,
    birthPlace,
    usedName,
    usedFirstName,
  };
  return reading;
}

// --- structure ----------------------------------------------------------------------------------

interface Layout {
  pids: Segment[];
  mrgs: Segment[];
}

/**
 * Segment order: MSH first and only once (a second MSH is error 100: two messages glued together);
 * SFT only right after MSH; EVN once, before every other segment but MSH and SFT (missing: error
 * 100); every other segment after the first PID (e.g. MRG or PV1 before PID: error 100 naming it).
 * Missing segments the event cannot do without — PID; MRG for A40 and A47; the second PID for A24
 * and A37 — are error 100 with an AR (nothing can be applied). A PID more than the event carries
 * (one; two for A24/A37; PAM FR sends one merge per A40) and a second MRG are error 100.
 */
function checkLayout(msg: Hl7Message, event: string, f: Findings): Layout {
  const segs = msg.segments;
  const counts = new Map<string, number>();
  const evnAt = segs.findIndex((s) => s.name === 'EVN');
  const pidAt = segs.findIndex((s) => s.name === 'PID');
  const said = new Set<string>();
  const once = (key: string, code: string, loc: string, text: string) => {
    if (said.has(key)) return;
    said.add(key);
    f.error(code, loc, text);
  };
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    const n = (counts.get(s.name) ?? 0) + 1;
    counts.set(s.name, n);
    const loc = `${s.name}^${n}`;
    const pos = `segment ${i + 1}`;
    if (s.name === 'MSH') {
      if (i > 0) f.error('100', loc, `a second MSH segment (${pos}): one message at a time is expected`);
      continue;
    }
    if (s.name === 'SFT') {
      if (segs.slice(1, i).some((p) => p.name !== 'SFT')) once('SFT', '100', loc, `SFT segment (${pos}) must directly follow MSH`);
      continue;
    }
    if (s.name === 'EVN') {
      if (n > 1) f.error('100', loc, `EVN segment repeated (${pos})`);
      continue;
    }
    if (evnAt > i) {
      once(`${s.name}<EVN`, '100', loc, `${s.name} segment (${pos}) before EVN: EVN must follow MSH`);
      continue;
    }
    if (s.name !== 'PID' && pidAt > i) once(`${s.name}<PID`, '100', loc, `${s.name} segment (${pos}) before PID`);
  }
  if (evnAt < 0) f.error('100', 'EVN^1', 'EVN segment missing (it must follow MSH)');

  const pids = msg.all('PID');
  const mrgs = msg.all('MRG');
  const expected = event === 'A24' || event === 'A37' ? 2 : 1;
  if (pids.length === 0) f.reject('100', 'PID^1', 'PID segment missing');
  else if (pids.length < expected) f.reject('100', 'PID^2', `${event} ${event === 'A24' ? 'links' : 'unlinks'} two patients: the second PID segment is missing`);
  else if (pids.length > expected) {
    f.error('100', `PID^${expected + 1}`, `PID segment repeated: ${event} carries ${expected === 1 ? 'one patient' : 'two patients'}`);
  }
  if (event === 'A40' || event === 'A47') {
    if (mrgs.length === 0) f.reject('100', 'MRG^1', `MRG segment missing: ${event} needs the ${event === 'A40' ? 'identity merged away' : 'former identifier'} in MRG-1`);
    else if (mrgs.length > 1) f.error('100', 'MRG^2', `MRG segment repeated: one ${event === 'A40' ? 'merge' : 'identifier change'} per message`);
  }
  return { pids, mrgs };
}

// --- header -------------------------------------------------------------------------------------

function senderOf(msg: Hl7Message): string {
  const app = msg.get('MSH-3').trim();
  const facility = msg.get('MSH-4').trim();
  return facility ? `${app}/${facility}` : app;
}

function eventTimeOf(msg: Hl7Message, f: Findings): string | null {
  const sources: [string, string][] = [
    ['EVN-6', 'EVN^1^6'],
    ['EVN-2', 'EVN^1^2'],
    ['MSH-7', 'MSH^1^7'],
  ];
  for (const [path, loc] of sources) {
    const v = msg.get(path).trim();
    if (!v) continue;
    const p = parseDtm(v);
    if (p) return p.iso;
    f.warn('102', loc, `${path} "${v}" is not an HL7 date/time: not used as the event time`);
  }
  return null;
}

// --- entry points -------------------------------------------------------------------------------

/**
 * Reads an IHE PAM FR ADT message from an identity registry.
 *
 * Header (any failure is an AR and no identity is read): MSH-9.1 must be ADT (else 200); MSH-9.2 one of
 * ADT_EVENT_ACTIONS (else 201); MSH-12.1 one of `supportedVersions` (else 203).
 *
 * Action: A28, A31 and the ITI-31 encounter events (A01…A55, Z80…Z99) update the PID identity; A40
 * merges (patient.replaces = the IPP, and INS if any, of MRG-1, which disappears); A47 changes the
 * identifier (patient.replaces = MRG-1, the former identifier); A24 links and A37 unlinks the two PIDs
 * (`linked` = the second identity; patient.replaces = its ipp and ins too). The action is 'none'
 * when the ack is AR or when the identities it needs are not usable (no IPP in PID-3, MRG-1 or the
 * second PID). AE readings keep their identity and action: what was rejected (an INS with a wrong
 * key…) is left out of it, and the issues say what.
 *
 * eventTime: EVN-6 (event occurred), else EVN-2 (recorded), else MSH-7, as ISO 8601; an unreadable
 * one is a warning and the next is used. See checkLayout, readPid and readIdentifiers for the rest.
 */
export function readAdt(msg: Hl7Message, opts: AdtOptions = {}): AdtReading {
  const f = new Findings();
  const h = msg.header();
  const reading: AdtReading = {
    ack: 'AA',
    event: h.event,
    controlId: h.controlId,
    sender: senderOf(msg),
    eventTime: eventTimeOf(msg, f),
    action: 'none',
    patient: null,
    issues: f.issues,
  };
  const finish = (): AdtReading => {
    reading.ack = f.ack;
    if (reading.ack === 'AR') {
      reading.patient = null;
      reading.action = 'none';
      delete reading.linked;
      delete reading.insRejected;
    }
    return reading;
  };

  const type = h.type.trim();
  const event = h.event.trim().toUpperCase();
  reading.event = event;
  if (type !== 'ADT') {
    f.reject('200', 'MSH^1^9', type ? `message type ${type} is not supported: ADT is expected` : 'MSH-9.1 message type is empty: ADT is expected');
  } else if (!Object.hasOwn(ADT_EVENT_ACTIONS, event)) {
    f.reject('201', 'MSH^1^9', event ? `ADT event ${event} is not supported` : 'MSH-9.2 trigger event is empty');
  }
  const versions = opts.supportedVersions ?? ['2.5', '2.5.1'];
  if (!versions.includes(h.version.trim())) {
    f.reject('203', 'MSH^1^12', `HL7 version ${h.version ? `"${h.version}"` : '(empty)'} is not supported (supported: ${versions.join(', ')})`);
  }
  if (f.rejected) return finish();

  const action = ADT_EVENT_ACTIONS[event];
  const { pids, mrgs } = checkLayout(msg, event, f);
  if (f.rejected) return finish();

  const processingId = h.processingId.trim();
  const main = readPid(pids[0], 1, f, opts, processingId);
  reading.patient = main.patient;
  if (main.insRejected) reading.insRejected = main.insRejected;
  let usable = main.patient !== null;

  if (action === 'merge' || action === 'change-id') {
    const mrg = mrgs[0];
    const old = readIdentifiers(mrg, 1, 'MRG^1', f, false, processingId);
    if (!old.ipp) {
      f.error('101', 'MRG^1^1', `no IPP in MRG-1 (identifier type PI): the ${action === 'merge' ? 'identity merged away' : 'former identifier'} is unknown`);
      usable = false;
    } else if (main.patient) {
      const replaced: { ipp: Ipp; ins?: Ins | null } = { ipp: old.ipp };
      if (old.ins || old.rejected.length) replaced.ins = old.ins;
      main.patient.replaces = [replaced];
    }
  } else if (action === 'link' || action === 'unlink') {
    const other = readPid(pids[1], 2, f, opts, processingId);
    if (other.patient) {
      reading.linked = other.patient;
      if (main.patient) main.patient.replaces = [{ ipp: other.patient.ipp, ins: other.patient.ins }];
    } else usable = false;
  }
  if (usable) reading.action = action;
  return finish();
}

const PARSE_ERROR_CODES: Record<string, [string, string]> = {
  EMPTY: ['100', 'MSH^1'],
  NOT_HL7: ['100', 'MSH^1'],
  BAD_SEGMENT: ['100', ''],
  BAD_DELIMITERS: ['102', 'MSH^1^2'],
  INCOMPLETE_HEADER: ['101', 'MSH^1'],
  UNSUPPORTED_CHARSET: ['103', 'MSH^1^18'],
};

/**
 * Parses then reads an ADT message (see readAdt). Input that cannot be parsed gives an AR reading
 * with one issue naming what is wrong: empty or not HL7 (100 at MSH^1), a line that is not a segment
 * (100, no location: the line has no segment id; the text gives its position), unusable delimiters (102 at MSH^1^2), MSH-9/10/12 empty or cut off (101 at
 * the first missing field), an unsupported MSH-18 character set (103 at MSH^1^18). The event,
 * control id and sender are read from what MSH there is.
 */
export function readAdtPayload(payload: string | Buffer, opts: AdtOptions = {}): AdtReading {
  let msg: Hl7Message;
  try {
    msg = parseHl7(payload);
  } catch (err) {
    const reading: AdtReading = { ack: 'AR', event: '', controlId: '', sender: '', eventTime: null, action: 'none', patient: null, issues: [] };
    try {
      const h = readHeader(payload, { requireHeader: false });
      reading.event = h.event;
      reading.controlId = h.controlId;
      const app = h.sendingApplication.split('^')[0];
      const facility = h.sendingFacility.split('^')[0];
      reading.sender = facility ? `${app}/${facility}` : app;
      const t = parseDtm(h.dateTime);
      reading.eventTime = t ? t.iso : null;
      if (err instanceof Hl7ParseError && err.code === 'INCOMPLETE_HEADER') {
        const missing = !h.type ? 9 : !h.controlId ? 10 : 12;
        reading.issues.push({ code: '101', location: `MSH^1^${missing}`, text: err.message, severity: 'E' });
        return reading;
      }
    } catch {
      // no readable MSH either
    }
    if (err instanceof Hl7ParseError) {
      const [code, location] = PARSE_ERROR_CODES[err.code] ?? ['100', 'MSH^1'];
      reading.issues.push({ code, location, text: err.message, severity: 'E' });
    } else {
      reading.issues.push({ code: '207', location: '', text: `the message could not be read: ${err instanceof Error ? err.message : String(err)}`, severity: 'E' });
    }
    return reading;
  }
  return readAdt(msg, opts);
}
