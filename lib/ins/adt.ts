// Reading IHE PAM FR ADT messages (ITI-30, ITI-31) from an identity registry: the patient identity,
// its INS when the identity is qualified, what the identity registry should do with it, and what the
// ACK must say. Pure domain code: lib/hl7 parses, lib/store records, the nodes answer.

import { hash } from 'node:crypto';
import { Hl7EncodingError, Hl7ParseError } from '../hl7/errors';
import { Hl7Message, parseHl7, readHeader, type Segment } from '../hl7/message';
import { eventRule, type AdtAction } from './events';
import { Findings, type AdtIssue } from './findings';
import { readIdentifiers, type Ins, type Ipp } from './identifiers';
import type { PatientIdentity } from './identity';
import { readPid, type ReadContext } from './pid';
import { valueOf } from './text';
import { localDate } from '../timezone';
import { dtmInstant, parseDtm } from './time';

export interface AdtReading {
  /** What the ACK must say: AR rejected (not processable at all), AE not integrated (errors), AA accepted. */
  ack: 'AA' | 'AE' | 'AR';
  /** MSH-9.2. */
  event: string;
  /** MSH-10. */
  controlId: string;
  /** MSH-3.1, then "/" and MSH-4.1 when there is a sending facility (e.g. "GAM/CHU-X"). */
  sender: string;
  /** EVN-6, else EVN-2, else MSH-7, in ISO 8601 as sent (offset kept as ±HH:MM when sent). */
  eventTime: string | null;
  /** That time as an instant (a time without offset is the establishment's wall-clock time); null when none. */
  eventMs: number | null;
  /**
   * SHA-256 of the message's segments with MSH-7 left out: two messages with the same sender and control
   * id are the same message only when this is the same too (a resend may stamp a new MSH-7).
   */
  contentHash: string;
  /** What the identity registry should do; 'none' when the message is rejected or has nothing to record. */
  action: AdtAction;
  /** Why an accepted event records nothing (an event PAM FR keeps out…). */
  nothingToRecord?: string;
  /** The identity of the (first) PID; null when ack is AR or when there is no usable identity (no IPP). */
  patient: PatientIdentity | null;
  /** A24 / A37: the identity of the second PID, linked to or unlinked from `patient`. */
  linked?: PatientIdentity;
  /** A47 with an INS in MRG-1 (change-ins): that INS, by which the patient is found (PAM FR §4.4.2–§4.4.4). */
  formerIns?: Pick<Ins, 'value' | 'oid'>;
  /** Errors (severity E: the ack is AE, or AR) and warnings (severity W: reported, ack unchanged). */
  issues: AdtIssue[];
  /** Why the patient's INS was not integrated (wrong key, no VALI, a trait missing…); absent when kept or none was sent. */
  insSetAside?: string;
}

export interface AdtOptions {
  /** MSH-12.1 values accepted (default ['2.5', '2.5.1']). */
  supportedVersions?: string[];
  /** The establishment's time zone, for HL7 times without an offset (default Europe/Paris). */
  timeZone?: string;
  /** Now, in ms since the epoch (default Date.now()). */
  now?: number;
  /** How far ahead of now an event time may be (clocks drift), in ms (default 10 minutes). */
  clockToleranceMs?: number;
}

export const DEFAULT_CLOCK_TOLERANCE_MS = 10 * 60_000;

export { ADT_EVENT_ACTIONS, NOT_APPLIED_EVENTS, type AdtAction } from './events';
export type { AdtIssue } from './findings';
export type { Ins, Ipp } from './identifiers';
export type { PatientIdentity } from './identity';

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

/**
 * EVN-6 (event occurred), else EVN-2 (recorded), else MSH-7: an unreadable one is a warning and the next
 * is used. A time later than now plus the clock tolerance is an error 102: one absurd date (9999…) would
 * otherwise make every later message for the patient look out of date.
 */
function eventTimeOf(msg: Hl7Message, f: Findings, ctx: ReadContext, toleranceMs: number): { iso: string; ms: number } | null {
  const evn = msg.segment('EVN');
  const msh = msg.segments[0];
  const sources: [string, string, string | undefined][] = [
    ['EVN-6', 'EVN^1^6', evn?.value(6)],
    ['EVN-2', 'EVN^1^2', evn?.value(2)],
    ['MSH-7', 'MSH^1^7', msh.value(7)],
  ];
  for (const [path, loc, raw] of sources) {
    const v = valueOf(raw);
    if (!v) continue;
    const p = parseDtm(v);
    if (!p) {
      f.warn('102', loc, `${path} is not an HL7 date/time: not used as the event time`);
      continue;
    }
    const ms = dtmInstant(p, ctx.timeZone);
    if (ms > ctx.now + toleranceMs) {
      f.error('102', loc, `${path} is in the future (more than ${Math.round(toleranceMs / 60000)} min ahead of this system's clock)`);
      return null;
    }
    return { iso: p.iso, ms };
  }
  return null;
}

/** SHA-256 of the segments as sent (trailing empty fields left out), MSH-7 blanked. */
function contentHashOf(msg: Hl7Message): string {
  const sep = msg.delimiters.field;
  const lines: string[] = [];
  for (const seg of msg.segments) {
    let line: string;
    if (seg.name === 'MSH') {
      const fields = seg.fields.slice();
      fields[7] = '';
      line = fields.join(sep);
    } else line = seg.toString();
    let end = line.length;
    while (end > 3 && line[end - 1] === sep) end--;
    lines.push(end === line.length ? line : line.slice(0, end));
  }
  return hash('sha256', lines.join('\r'), 'hex');
}

// --- entry points -------------------------------------------------------------------------------

/**
 * Reads an IHE PAM FR ADT message from an identity registry.
 *
 * Header (any failure is an AR and no identity is read): MSH-9.1 must be ADT (else 200); MSH-9.2 an ADT
 * event code (else 201); MSH-12.1 one of `supportedVersions` (else 203). An event of ADT_EVENT_ACTIONS is
 * read; another ADT event (A08, Z80…, see NOT_APPLIED_EVENTS) is accepted with nothing to record.
 *
 * Action: A28, A31 and the ITI-31 events update the PID identity; A40 merges (patient.replaces = MRG-1,
 * which disappears); A47 with an IPP in MRG-1 changes the IPP (patient.replaces = the former one); A47
 * with an INS and no IPP in MRG-1 changes or removes the INS of the patient who holds it (formerIns: the
 * MRG-1 INS; the PID gives the new INS, or `""` for none, and the new status: PAM FR §4.4.2–§4.4.4); A24
 * links and A37 unlinks the two PIDs (`linked` = the second identity). The action is 'none' when the ack
 * is not AA or when the identities it needs are not usable.
 *
 * An INS is integrated only in a qualified identity (see qualificationGaps): otherwise the message is
 * integrated without it, and the ACK stays AA with warnings naming where and why (PAM FR §6.6.15).
 */
export function readAdt(msg: Hl7Message, opts: AdtOptions = {}): AdtReading {
  const f = new Findings();
  const h = msg.header();
  const timeZone = opts.timeZone ?? 'Europe/Paris';
  const now = opts.now ?? Date.now();
  const ctx: ReadContext = { processingId: h.processingId.trim(), timeZone, now, today: localDate(now, timeZone) };
  const time = eventTimeOf(msg, f, ctx, opts.clockToleranceMs ?? DEFAULT_CLOCK_TOLERANCE_MS);
  const reading: AdtReading = {
    ack: 'AA',
    event: h.event.trim().toUpperCase(),
    controlId: h.controlId,
    sender: senderOf(msg),
    eventTime: time?.iso ?? null,
    eventMs: time?.ms ?? null,
    contentHash: contentHashOf(msg),
    action: 'none',
    patient: null,
    issues: [],
  };
  const finish = (): AdtReading => {
    reading.ack = f.ack;
    reading.issues = f.list();
    if (reading.ack !== 'AA') reading.action = 'none';
    if (reading.ack === 'AR') {
      reading.patient = null;
      delete reading.linked;
      delete reading.insSetAside;
      delete reading.formerIns;
    }
    return reading;
  };

  const type = h.type.trim();
  const event = reading.event;
  const rule = type === 'ADT' ? eventRule(event) : null;
  if (type !== 'ADT') {
    f.reject('200', 'MSH^1^9', type ? `message type ${type} is not supported: ADT is expected` : 'MSH-9.1 message type is empty: ADT is expected');
  } else if (!rule) {
    f.reject('201', 'MSH^1^9', event ? `${event} is not an ADT event code` : 'MSH-9.2 trigger event is empty');
  }
  const versions = opts.supportedVersions ?? ['2.5', '2.5.1'];
  if (!versions.includes(h.version.trim())) {
    f.reject('203', 'MSH^1^12', `HL7 version ${h.version ? `"${h.version}"` : '(empty)'} is not supported (supported: ${versions.join(', ')})`);
  }
  if (f.isRejected || !rule) return finish();
  if ('notApplied' in rule) {
    reading.nothingToRecord = `ADT^${event}: ${rule.notApplied}`;
    f.warn('201', 'MSH^1^9', `${reading.nothingToRecord}: nothing recorded`);
    return finish();
  }

  const { pids, mrgs } = checkLayout(msg, event, f);
  if (f.isRejected) return finish();
  const zfd = msg.all('ZFD')[0];
  const main = readPid(pids[0], 1, f, ctx, zfd);
  reading.patient = main.patient;
  if (main.insSetAside) reading.insSetAside = main.insSetAside;
  let action: AdtAction = rule.action;
  let usable = main.patient !== null;

  if (action === 'merge' || action === 'change-id') {
    const old = readIdentifiers(mrgs[0], 1, 'MRG^1', f, ctx.processingId);
    if (old.ipp && main.patient) {
      main.patient.replaces = [old.ins ? { ipp: old.ipp, ins: old.ins } : { ipp: old.ipp }];
    } else if (!old.ipp && action === 'change-id' && old.ins) {
      action = 'change-ins';
      reading.formerIns = { value: old.ins.value, oid: old.ins.oid };
    } else if (!old.ipp) {
      f.error(
        '101',
        'MRG^1^1',
        action === 'merge' ? 'no IPP in MRG-1 (identifier type PI): the identity merged away is unknown' : 'MRG-1 holds neither an IPP (PI) nor a valid INS: the former identifier is unknown',
      );
      usable = false;
    }
  } else if (action === 'link' || action === 'unlink') {
    const other = readPid(pids[1], 2, f, ctx);
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
 * the first missing field), an unsupported MSH-18 character set (103 at MSH^1^18); bytes not valid in
 * the declared character set are AE 102 at MSH^1^18 (the text names the first bad byte and where). The event,
 * control id and sender are read from what MSH there is.
 */
export function readAdtPayload(payload: string | Buffer, opts: AdtOptions = {}): AdtReading {
  let msg: Hl7Message;
  try {
    msg = parseHl7(payload);
  } catch (err) {
    const reading: AdtReading = { ack: 'AR', event: '', controlId: '', sender: '', eventTime: null, eventMs: null, contentHash: '', action: 'none', patient: null, issues: [] };
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
    if (err instanceof Hl7EncodingError) {
      // issue 11: bytes not valid in the declared character set are an error of the message, AE, never U+FFFD
      reading.ack = 'AE';
      reading.issues.push({ code: '102', location: 'MSH^1^18', text: err.message, severity: 'E' });
    } else if (err instanceof Hl7ParseError) {
      const [code, location] = PARSE_ERROR_CODES[err.code] ?? ['100', 'MSH^1'];
      reading.issues.push({ code, location, text: err.message, severity: 'E' });
    } else {
      reading.issues.push({ code: '207', location: '', text: `the message could not be read: ${err instanceof Error ? err.message : String(err)}`, severity: 'E' });
    }
    return reading;
  }
  return readAdt(msg, opts);
}
