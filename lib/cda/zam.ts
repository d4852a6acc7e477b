// The business acknowledgements (accusés métier) the PFI sends back about a document the DPI handed it in
// an MDM / ORU, as the CI-SIS volet "Transmission de documents CDA en HL7 v2" 2.1 writes them
// (../shared/specs/volet-transmission-cda-hl7v2/profils-messages.md, "Description des messages HL7
// d'accusés métier"): ZAM^Z01^ZAM_Z01 the DMP received the document, ZAM^Z02^ZAM_Z01 the recipient's
// MSSanté server received the mail, ZAM^Z03^ZAM_Z01 the mail was read (or processed) — and the technical
// ACK the DPI answers each with ("Message d'acquittement technique des accusés métiers").
//
// Structure ZAM_Z01 (Figure 20, "Structure fonctionnelle des messages accusé métier": image27.png of the IG
// sources, not copied in ../shared/specs): MSH [1..1], SFT [0..*], EVN [1..1] "Date et heure de
// l'évènement acquitté", OBX [1..1] the status, OBX [0..1] the party ("Requis pour les évènements Z02 et
// Z03"), ERR [0..1].
import { createMessage, Hl7Message, Hl7ParseError, buildSafeAck, parseHl7, readHeader, type Hl7Header, type Segment } from '../hl7';
import { CdaBuildError } from './errors';
import { tsToIso } from './parse';
import { formatTs, isTimeZone, toTs, type DateInput } from './time';
import { voletAckOptions, type AckAdvice } from './unwrap';
import {
  ACK_METIER,
  ACK_METIER_SYSTEM,
  ACK_METIER_SYSTEM_ACCENTED,
  APPLICATION_ERROR_CODE,
  MESSAGE_CHARSETS,
  MESSAGE_ERROR_CONDITION,
  MESSAGE_ERROR_SYSTEM,
  MESSAGE_PROFILES,
  MESSAGE_VERSIONS,
  MSSANTE_EQUIPMENT_TYPE,
  SMTP_ERROR_CODE,
  SMTP_ERROR_SYSTEM,
  YES_NO_SYSTEM,
  ZAM_EVENTS,
  ZAM_STRUCTURE,
  type ZamEvent,
} from './volet';

/** What a ZAM reports: the step of the document's journey (ZAM_EVENTS). */
export type ZamStep = (typeof ZAM_EVENTS)[ZamEvent]['journey'];

/** The second OBX of a Z02 (DESTINATAIRE_MSS, the recipient) or a Z03 (LECTEUR_MSS, the mailbox that read the mail). */
export interface ZamParty {
  /** OBX-3.1: DESTINATAIRE_MSS or LECTEUR_MSS. */
  role: 'DESTINATAIRE_MSS' | 'LECTEUR_MSS';
  /** OBX-5.4 (XTN communication address): the MSSanté address. */
  address: string;
  /** OBX-4 (optional): the recipient's id (Z02), the health professional's id (Z03); '' when not given. */
  id: string;
  /** ERR-2 location of the OBX (OBX^<occurrence>). */
  location: string;
}

/** An ERR of the ZAM: what went wrong at the DMP / MSSanté / the recipient (profils-messages.md, "Segment ERR"). */
export interface ZamReportedError {
  /** ERR-3: 207^Application error^messageErrorCondition in the volet. */
  code: string;
  label: string;
  table: string;
  /** ERR-4.1: the severity, HL7 table 0516 errorSeverity (the volet: "Error, Fatal Error, Information, Warning"; its examples write E). */
  severity: string;
  /** ERR-5: code^text^system — DMP_ERROR_CODE (Z01), SMTPERRORCODE (Z02), applicationErrorCondition (Z03). */
  application: { code: string; text: string; system: string } | null;
  /** ERR-8 user message ('' when absent). */
  text: string;
  /** ERR^<occurrence>. */
  location: string;
}

/** MSH of the ZAM, summarised. */
export interface ZamHeader {
  /** MSH-3.1 / MSH-4.1 (the PFI) and MSH-5.1 / MSH-6.1 (the DPI). */
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  /** MSH-3.1, then "/" and MSH-4.1 when there is a sending facility. */
  sender: string;
  /** MSH-10: the ZAM's own control id (MSA-2 of its ACK). */
  controlId: string;
  /** MSH-7 in ISO 8601 ('' when it is not a time stamp). */
  dateTime: string;
  /** MSH-11.1, MSH-12.1, MSH-17, MSH-18. */
  processingId: string;
  version: string;
  countryCode: string;
  charset: string;
}

export interface ZamReading {
  /** MSH-9.2. */
  event: ZamEvent;
  step: ZamStep;
  /** First OBX-5.1: Y → true (success), N → false (error). */
  ok: boolean;
  /** First OBX-4: MSH-10 of the MDM / ORU that carried the document. */
  messageControlId: string;
  /** Z02 / Z03: the second OBX; null for Z01. */
  party: ZamParty | null;
  /** The ERR segments (the volet allows one, required when `ok` is false). */
  errors: ZamReportedError[];
  /** EVN-2, in ISO 8601: the time of the event acknowledged ('' when absent). */
  eventTime: string;
  hl7: ZamHeader;
  /** MSH-21: 2.1^CISIS_CDA_HL7_V2 in the volet. */
  profile: { version: string; namespace: string };
  /** For the acknowledgement (zamAck). */
  header: Hl7Header;
  message: Hl7Message;
  /** What the volet asks and the message does not do, without changing what it reports. */
  warnings: string[];
}

/** Why a message is not a ZAM the volet defines. */
export type ZamErrorCode =
  /** not readable as HL7 v2 (AE 100; 101 header truncated; 103 MSH-18 unknown) */
  | 'NOT_HL7'
  /** MSH-9.1 is not ZAM (AE 200) */
  | 'NOT_ZAM'
  /** ZAM, but not Z01, Z02 or Z03 (AE 201) */
  | 'UNSUPPORTED_EVENT'
  /** MSH-12.1 is not 2.6 (AE 203) */
  | 'UNSUPPORTED_VERSION'
  /** no status OBX (AE 100), or its OBX-5.1 empty (AE 101) */
  | 'MISSING_STATUS'
  /** OBX-5.1 of the status is neither Y nor N, HL7 table 0136 (AE 103) */
  | 'BAD_STATUS'
  /** an OBX where the status or the party is expected codes another observation (AE 103) */
  | 'BAD_OBSERVATION'
  /** OBX-4 of the status is empty: which message is acknowledged is unknown (AE 101) */
  | 'MISSING_CONTROL_ID'
  /** Z02 / Z03 without the party OBX (AE 100) or without its address OBX-5.4 (AE 101) */
  | 'MISSING_PARTY';

/** A ZAM refused: the reason, the header when it could be read (for the ACK), and the ACK advice (AE, ERR-3, ERR-2). */
export class ZamError extends Error {
  override readonly name = 'ZamError';
  constructor(
    readonly code: ZamErrorCode,
    message: string,
    readonly header: Hl7Header | null,
    readonly ack: AckAdvice,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const EVENTS = Object.keys(ZAM_EVENTS) as ZamEvent[];
/** HL7 table 0136 (profils-messages.md, OBX-5.1 "Table HL7 : 0136 : Y (Yes) -> Succès, N (No) -> Erreur"). */
const YES_NO: Readonly<Record<string, boolean>> = Object.freeze({ Y: true, N: false });
/** OBX-5.3 of the status: the volet's name of table 0136, or its HL7 name. */
const YES_NO_SYSTEMS = Object.freeze([YES_NO_SYSTEM, 'HL70136']);
/** OBX-11 of both OBX (profils-messages.md: "Valeur fixée à « F »"). */
const FINAL = 'F';
/** ERR-3 of a ZAM (profils-messages.md, "Segment ERR": 207^Application error^messageErrorCondition). */
const APPLICATION_ERROR = '207';
const PARSE_CODES: Readonly<Record<string, { hl7Code: string; location?: string }>> = Object.freeze({
  INCOMPLETE_HEADER: { hl7Code: '101', location: 'MSH' },
  UNSUPPORTED_CHARSET: { hl7Code: '103', location: 'MSH^1^18' },
});

function sanitize(s: string, max = 32): string {
  return s.replace(/[^\x20-\x7e\u00c0-\u00ff]/g, '?').slice(0, max);
}

function parse(input: string | Buffer | Hl7Message): Hl7Message {
  if (input instanceof Hl7Message) return input;
  try {
    return parseHl7(input);
  } catch (err) {
    let header: Hl7Header | null = null;
    try {
      header = typeof input === 'string' || Buffer.isBuffer(input) ? readHeader(input, { requireHeader: false }) : null;
    } catch {
      header = null;
    }
    const advice = (err instanceof Hl7ParseError && PARSE_CODES[err.code]) || { hl7Code: '100' };
    throw new ZamError('NOT_HL7', `not a readable HL7 v2 message: ${err instanceof Error ? err.message : String(err)}`, header, { code: 'AE', ...advice }, { cause: err });
  }
}

/** MSH-9 ZAM^Z01 / Z02 / Z03 and MSH-12.1 2.6 (profils-messages.md, "Segment MSH" of each ZAM). */
function checkType(header: Hl7Header): ZamEvent {
  const type = `${sanitize(header.type)}^${sanitize(header.event)}`;
  if (header.type !== 'ZAM') {
    throw new ZamError('NOT_ZAM', `message type ${type} is not a business acknowledgement: ZAM^Z01, ZAM^Z02 or ZAM^Z03 expected`, header, {
      code: 'AE',
      hl7Code: '200',
      location: 'MSH^1^9^1^1',
    });
  }
  if (!(EVENTS as string[]).includes(header.event)) {
    throw new ZamError('UNSUPPORTED_EVENT', `event ${type} is not one of the volet's: ${EVENTS.map((e) => `ZAM^${e}`).join(', ')}`, header, {
      code: 'AE',
      hl7Code: '201',
      location: 'MSH^1^9^1^2',
    });
  }
  if (header.version.trim() !== MESSAGE_VERSIONS.ZAM) {
    throw new ZamError('UNSUPPORTED_VERSION', `HL7 version "${sanitize(header.version, 8)}" is not the ZAM's: ${MESSAGE_VERSIONS.ZAM}`, header, {
      code: 'AE',
      hl7Code: '203',
      location: 'MSH^1^12',
    });
  }
  return header.event as ZamEvent;
}

function readHeaderFields(message: Hl7Message, header: Hl7Header, warnings: string[]): { hl7: ZamHeader; profile: ZamReading['profile'] } {
  const msh = message.segments[0];
  const facility = msh.value(4).trim();
  const hl7: ZamHeader = {
    sendingApplication: msh.value(3).trim(),
    sendingFacility: facility,
    receivingApplication: msh.value(5).trim(),
    receivingFacility: msh.value(6).trim(),
    sender: msh.value(3).trim() + (facility ? `/${facility}` : ''),
    controlId: header.controlId,
    dateTime: tsToIso(header.dateTime),
    processingId: header.processingId,
    version: header.version,
    countryCode: msh.value(17).trim(),
    charset: header.charset,
  };
  const profile = { version: msh.value(21, 1, 1).trim(), namespace: msh.value(21, 1, 2).trim() };
  const want = MESSAGE_PROFILES.transmission;
  if (profile.version !== want.version || profile.namespace !== want.namespace) {
    warnings.push(`MSH-21 is "${sanitize(profile.version, 8)}^${sanitize(profile.namespace)}": the volet's ZAM carry ${want.version}^${want.namespace}`);
  }
  if (hl7.countryCode !== 'FRA') warnings.push(`MSH-17 is "${sanitize(hl7.countryCode, 8)}": the volet's ZAM carry FRA`);
  if (!MESSAGE_CHARSETS.includes(header.charset.trim())) warnings.push(`MSH-18 is "${sanitize(header.charset)}": the volet allows ${MESSAGE_CHARSETS.join(' or ')}`);
  if (!message.segment('EVN')) warnings.push('no EVN segment: ZAM_Z01 requires one, the time of the event acknowledged (Figure 20)');
  return { hl7, profile };
}

/** OBX-3.3 of the ZAM's OBX: AckMetierZAM (ack-metier-zam.md), or AckMétierZAM as the Z02 table writes it for DESTINATAIRE_MSS. */
function checkObservation(obx: Segment, n: number, valueType: string, warnings: string[]): void {
  const system = obx.value(3, 1, 3).trim();
  if (system !== ACK_METIER_SYSTEM && system !== ACK_METIER_SYSTEM_ACCENTED) warnings.push(`OBX^${n}^3^1^3 is "${sanitize(system)}": ${ACK_METIER_SYSTEM} expected`);
  const type = obx.value(2).trim();
  if (type !== valueType) warnings.push(`OBX^${n}^2 is "${sanitize(type, 8)}": ${valueType} expected`);
  const status = obx.value(11).trim();
  if (status !== FINAL) warnings.push(`OBX^${n}^11 is "${sanitize(status, 8)}": ${FINAL} expected`);
}

/** The first OBX (profils-messages.md, "Segment OBX portant le statut"): OBX-3.1 the event's code, OBX-4 the MDM / ORU, OBX-5.1 Y / N. */
function readStatus(obxs: Segment[], event: ZamEvent, header: Hl7Header, warnings: string[]): { ok: boolean; messageControlId: string } {
  const code = ZAM_EVENTS[event].status;
  const at = obxs.findIndex((o) => o.value(3, 1, 1).trim() === code);
  if (at < 0) {
    if (obxs.length === 0) throw new ZamError('MISSING_STATUS', `ZAM^${event} without OBX: the first OBX carries the status ${code}`, header, { code: 'AE', hl7Code: '100', location: 'OBX^1' });
    throw new ZamError('BAD_OBSERVATION', `OBX^1 codes "${sanitize(obxs[0].value(3, 1, 1))}": the status of a ZAM^${event} is ${code}`, header, {
      code: 'AE',
      hl7Code: '103',
      location: 'OBX^1^3^1^1',
    });
  }
  const n = at + 1;
  if (at !== 0) warnings.push(`the status ${code} is OBX^${n}: the volet makes it the first OBX`);
  const obx = obxs[at];
  checkObservation(obx, n, 'CWE', warnings);
  const value = obx.value(5, 1, 1).trim();
  if (!value) throw new ZamError('MISSING_STATUS', `OBX^${n}^5 (${code}) is empty: Y or N expected`, header, { code: 'AE', hl7Code: '101', location: `OBX^${n}^5^1^1` });
  if (!Object.hasOwn(YES_NO, value)) {
    throw new ZamError('BAD_STATUS', `OBX^${n}^5 (${code}) is "${sanitize(value, 8)}": Y or N expected (HL7 table 0136)`, header, {
      code: 'AE',
      hl7Code: '103',
      location: `OBX^${n}^5^1^1`,
    });
  }
  const system = obx.value(5, 1, 3).trim();
  if (system && !YES_NO_SYSTEMS.includes(system)) warnings.push(`OBX^${n}^5^1^3 is "${sanitize(system)}": ${YES_NO_SYSTEM} expected`);
  const messageControlId = obx.value(4).trim();
  if (!messageControlId) {
    throw new ZamError('MISSING_CONTROL_ID', `OBX^${n}^4 is empty: it names the MDM / ORU (MSH-10) that carried the document`, header, {
      code: 'AE',
      hl7Code: '101',
      location: `OBX^${n}^4`,
    });
  }
  return { ok: YES_NO[value], messageControlId };
}

/** The second OBX of a Z02 / Z03 (profils-messages.md, "Segment OBX portant les informations du destinataire / du lecteur"). */
function readParty(obxs: Segment[], event: ZamEvent, header: Hl7Header, warnings: string[]): ZamParty | null {
  const role = ZAM_EVENTS[event].party;
  if (!role) return null;
  const at = obxs.findIndex((o) => o.value(3, 1, 1).trim() === role);
  if (at < 0) {
    const status = ZAM_EVENTS[event].status;
    const other = obxs.findIndex((o) => o.value(3, 1, 1).trim() !== status);
    if (other < 0) throw new ZamError('MISSING_PARTY', `ZAM^${event} without its second OBX ${role}`, header, { code: 'AE', hl7Code: '100', location: 'OBX^2' });
    throw new ZamError('BAD_OBSERVATION', `OBX^${other + 1} codes "${sanitize(obxs[other].value(3, 1, 1))}": the second OBX of a ZAM^${event} is ${role}`, header, {
      code: 'AE',
      hl7Code: '103',
      location: `OBX^${other + 1}^3^1^1`,
    });
  }
  const n = at + 1;
  if (at !== 1) warnings.push(`${role} is OBX^${n}: the volet makes it the second OBX`);
  const obx = obxs[at];
  checkObservation(obx, n, 'XTN', warnings);
  const address = obx.value(5, 1, 4).trim();
  if (!address) throw new ZamError('MISSING_PARTY', `OBX^${n}^5^1^4 (${role}) is empty: the MSSanté address is expected`, header, { code: 'AE', hl7Code: '101', location: `OBX^${n}^5^1^4` });
  const equipment = obx.value(5, 1, 3).trim();
  if (equipment !== MSSANTE_EQUIPMENT_TYPE) warnings.push(`OBX^${n}^5^1^3 is "${sanitize(equipment, 8)}": ${MSSANTE_EQUIPMENT_TYPE} expected`);
  return { role, address, id: obx.value(4).trim(), location: `OBX^${n}` };
}

/** The ERR segments (profils-messages.md, "Segment ERR" of each ZAM). */
function readErrors(message: Hl7Message, event: ZamEvent, warnings: string[]): ZamReportedError[] {
  const systems: readonly string[] = ZAM_EVENTS[event].errorSystems;
  const errors = message.all('ERR').map((err, i): ZamReportedError => {
    const application = err.value(5, 1, 1) || err.value(5, 1, 2) ? { code: err.value(5, 1, 1).trim(), text: err.value(5, 1, 2), system: err.value(5, 1, 3).trim() } : null;
    const e: ZamReportedError = {
      code: err.value(3, 1, 1).trim(),
      label: err.value(3, 1, 2).trim(),
      table: err.value(3, 1, 3).trim(),
      severity: err.value(4, 1, 1).trim(),
      application,
      text: err.value(8),
      location: `ERR^${i + 1}`,
    };
    if (e.code !== APPLICATION_ERROR) warnings.push(`ERR^${i + 1}^3 is "${sanitize(e.code, 8)}": a ZAM reports ${APPLICATION_ERROR} (${MESSAGE_ERROR_CONDITION[APPLICATION_ERROR]})`);
    if (application && !systems.includes(application.system)) warnings.push(`ERR^${i + 1}^5^1^3 is "${sanitize(application.system)}": a ZAM^${event} codes its errors in ${systems.join(' or ')}`);
    return e;
  });
  if (errors.length > 1) warnings.push(`${errors.length} ERR segments: the volet allows one`);
  return errors;
}

/**
 * Reads a business acknowledgement ZAM^Z01 / Z02 / Z03 (a string, bytes decoded per MSH-18 — UNICODE
 * UTF-8 or 8859/15 in the volet — or a parsed message): the step it reports, its status, the MDM / ORU it
 * is about, the MSSanté party (Z02 / Z03), the errors, the header.
 *
 * Throws ZamError (with the header when readable, and the ACK advice: AE, ERR-3 of table
 * messageErrorCondition, ERR-2) for what is not a ZAM the volet defines: NOT_HL7, NOT_ZAM, UNSUPPORTED_EVENT,
 * UNSUPPORTED_VERSION, MISSING_STATUS, BAD_STATUS, BAD_OBSERVATION, MISSING_CONTROL_ID, MISSING_PARTY.
 * What the volet asks without it changing what the message reports is a warning: an N status without ERR
 * (ERR "Requis si le champ 5 du premier OBX prend la valeur N"), no EVN, MSH-17 / MSH-18 / MSH-21, OBX-2,
 * OBX-3.3, OBX-11, the ERR-3 code and ERR-5 system, an OBX out of its place.
 */
export function readZam(input: string | Buffer | Hl7Message): ZamReading {
  const message = parse(input);
  const header = message.header();
  const event = checkType(header);
  const warnings: string[] = [];
  const { hl7, profile } = readHeaderFields(message, header, warnings);
  const obxs = message.all('OBX');
  const { ok, messageControlId } = readStatus(obxs, event, header, warnings);
  const party = readParty(obxs, event, header, warnings);
  const errors = readErrors(message, event, warnings);
  if (!ok && errors.length === 0) warnings.push(`the status is N without ERR: the volet requires ERR when the first OBX-5 is N (ZAM^${event}, "Segment ERR")`);
  const known: string[] = [ZAM_EVENTS[event].status, ZAM_EVENTS[event].party ?? ZAM_EVENTS[event].status];
  obxs.forEach((o, i) => {
    const code = o.value(3, 1, 1).trim();
    if (!known.includes(code)) warnings.push(`OBX^${i + 1} codes "${sanitize(code)}", not an observation of a ZAM^${event}: not read`);
  });
  return {
    event,
    step: ZAM_EVENTS[event].journey,
    ok,
    messageControlId,
    party,
    errors,
    eventTime: tsToIso(message.segment('EVN')?.value(2) ?? ''),
    hl7,
    profile,
    header,
    message,
    warnings,
  };
}

function isReading(x: ZamReading | Hl7Message | Hl7Header): x is ZamReading {
  return !(x instanceof Hl7Message) && 'step' in x && 'header' in x;
}

/**
 * The technical ACK of a ZAM (profils-messages.md, "Message d'acquittement technique des accusés métiers":
 * the ACK of "Le message d'acquittement du message HL7v2", MSH-9 ACK^Z01^ACK / ACK^Z02^ACK / ACK^Z03^ACK),
 * built by buildSafeAck (always builds) with voletAckOptions: MSH-3…6 the ZAM's swapped, MSH-11, MSH-12
 * and MSH-18 the ZAM's, MSH-17 FRA, MSA-2 the ZAM's MSH-10, and
 * - no `error`: AA;
 * - a ZamError: its advice, AE with ERR-2 the location, ERR-3 the code in table messageErrorCondition,
 *   ERR-8 the reason (MSA-3 its first 80 characters);
 * - anything else (the DPI could not take the acknowledgement in charge now): AR 207 — MSA-1 AR "le
 *   message est rejeté pour une raison circonstancielle. Il peut être réémis plus tard".
 * `original`: the reading, the message or its header; for a ZamError without it, the error's header.
 */
export function zamAck(original: ZamReading | Hl7Message | Hl7Header | null | undefined, error?: unknown, opts: { text?: string; controlId?: string } = {}): string {
  const source = original ? (isReading(original) ? original.header : original) : error instanceof ZamError ? (error.header ?? undefined) : undefined;
  const extra = opts.controlId ? { controlId: opts.controlId } : {};
  if (error === undefined) return buildSafeAck(source, { ...voletAckOptions('AA', opts.text ?? ''), ...extra });
  const advice: AckAdvice = error instanceof ZamError ? error.ack : { code: 'AR', hl7Code: APPLICATION_ERROR };
  const text = opts.text ?? (error instanceof Error ? error.message : String(error));
  // MSA-3 clipped to 80 characters (voletAckOptions), the whole reason in ERR-8
  return buildSafeAck(source, { ...voletAckOptions(advice.code, text.slice(0, 80), advice, text), ...extra });
}

/** What buildZam writes. */
export interface ZamInput {
  event: ZamEvent;
  /** First OBX-5.1: Y (true) or N (false). */
  ok: boolean;
  /** First OBX-4: MSH-10 of the MDM / ORU that carried the document. */
  messageControlId: string;
  /** Z02 / Z03 (required): the recipient / the reader, OBX-5.4 its MSSanté address, OBX-4 its id when given. */
  party?: { address: string; id?: string };
  /**
   * The ERR (required when `ok` is false): ERR-5 code^text^system (system by default the event's: DMP_ERROR_CODE,
   * SMTPERRORCODE, applicationErrorCondition; text by default the label of table SMTPERRORCODE / 900–906),
   * ERR-4 severity (default E), ERR-8 an optional message.
   */
  error?: { code: string; text?: string; system?: string; severity?: string; message?: string };
  /** EVN-2, the time of the event acknowledged (default `now`). */
  eventTime?: DateInput;
  /** MSH-3 … MSH-6 in ER7 form (the PFI sends, the DPI receives), MSH-11 (default P), MSH-18 (default UNICODE UTF-8). */
  hl7?: {
    sendingApplication?: string;
    sendingFacility?: string;
    receivingApplication?: string;
    receivingFacility?: string;
    processingId?: 'P' | 'T' | 'D';
    charset?: 'UNICODE UTF-8' | '8859/15';
  };
  /** MSH-10 (default: a new control id). */
  controlId?: string;
  /** MSH-7 (default: now). */
  now?: Date;
  /** IANA time zone of MSH-7 / EVN-2 (default Europe/Paris). */
  timeZone?: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

/** ERR-5.2 from the volet's tables when the caller gives no text. */
function errorLabel(code: string, system: string): string {
  if (system === SMTP_ERROR_SYSTEM && Object.hasOwn(SMTP_ERROR_CODE, code)) return SMTP_ERROR_CODE[code as keyof typeof SMTP_ERROR_CODE];
  if ((ZAM_EVENTS.Z03.errorSystems as readonly string[]).includes(system) && Object.hasOwn(APPLICATION_ERROR_CODE, code)) return APPLICATION_ERROR_CODE[code as keyof typeof APPLICATION_ERROR_CODE];
  return '';
}

function checkZamInput(input: ZamInput): void {
  if (!input || !Object.hasOwn(ZAM_EVENTS, input.event)) throw new CdaBuildError('INVALID', 'event', `event "${String(input?.event)}" is not ${EVENTS.join(', ')}`);
  if (typeof input.ok !== 'boolean') throw new CdaBuildError('MISSING', 'ok', 'ok (the status, Y or N) is missing');
  if (!str(input.messageControlId)) throw new CdaBuildError('MISSING', 'messageControlId', 'messageControlId (OBX-4: MSH-10 of the MDM / ORU acknowledged) is missing');
  if (ZAM_EVENTS[input.event].party && !str(input.party?.address)) {
    throw new CdaBuildError('MISSING', 'party.address', `a ZAM^${input.event} names the MSSanté ${input.event === 'Z02' ? 'recipient' : 'reader'}: party.address is missing`);
  }
  if (!input.ok && !str(input.error?.code)) throw new CdaBuildError('MISSING', 'error.code', 'an N status is written with its ERR (profils-messages.md: "Requis si le champ 5 du premier OBX prend la valeur N"): error.code is missing');
}

/**
 * Writes a business acknowledgement as the volet lays it out (profils-messages.md, "Description des
 * contraintes à appliquer sur les accusés métiers"; Figure 20) — the PFI's side, for tests and simulators:
 * - MSH: ZAM^Z0x^ZAM_Z01, MSH-12 2.6, MSH-17 FRA, MSH-18 UNICODE UTF-8 or 8859/15, MSH-21 2.1^CISIS_CDA_HL7_V2;
 * - EVN-2 the time of the event acknowledged;
 * - OBX 1: CWE, OBX-3 ACK_RECEPTION_DMP / ACK_RECEPTION_MSS / ACK_LECTURE_MSS ^label^AckMetierZAM, OBX-4 the
 *   MDM / ORU's control id, OBX-5 `Y^^expandedYes-NoIndicator` (or N), OBX-11 F;
 * - OBX 2 (Z02 / Z03): XTN, OBX-3 DESTINATAIRE_MSS / LECTEUR_MSS ^label^AckMetierZAM (the table's spelling:
 *   the Z02 table writes AckMétierZAM, see ACK_METIER_SYSTEM_ACCENTED), OBX-4 the party's id, OBX-5
 *   `^^X.400^<address>`, OBX-11 F;
 * - ERR: ERR-3 207^Application error^messageErrorCondition, ERR-4, ERR-5 code^text^system, ERR-8.
 * Throws CdaBuildError for an input the volet does not allow (an unknown event, Z02 / Z03 without address,
 * an N status without error…).
 */
export function buildZam(input: ZamInput): string {
  checkZamInput(input);
  const tz = str(input.timeZone) || 'Europe/Paris';
  if (!isTimeZone(tz)) throw new CdaBuildError('INVALID', 'timeZone', `timeZone: "${input.timeZone}" is not an IANA time zone`);
  const now = input.now ?? new Date();
  const eventTime = input.eventTime === undefined ? formatTs(now, tz) : toTs(input.eventTime, tz);
  if (!eventTime) throw new CdaBuildError('INVALID', 'eventTime', 'eventTime is neither a Date, an ISO 8601 date / time nor an HL7 time stamp');
  const h = input.hl7 ?? {};
  const charset = h.charset ?? 'UNICODE UTF-8';
  if (!MESSAGE_CHARSETS.includes(charset)) throw new CdaBuildError('INVALID', 'hl7.charset', `hl7.charset "${String(charset)}" is not ${MESSAGE_CHARSETS.join(' or ')}`);
  const def = ZAM_EVENTS[input.event];

  const msg = createMessage({
    type: 'ZAM',
    event: input.event,
    structure: ZAM_STRUCTURE,
    controlId: input.controlId,
    version: MESSAGE_VERSIONS.ZAM,
    processingId: h.processingId ?? 'P',
    sendingApplication: h.sendingApplication ?? '',
    sendingFacility: h.sendingFacility ?? '',
    receivingApplication: h.receivingApplication ?? '',
    receivingFacility: h.receivingFacility ?? '',
    dateTime: formatTs(now, tz),
    charset,
  });
  const msh = msg.segments[0];
  msh.set(17, 'FRA');
  msh.setField(21, [MESSAGE_PROFILES.transmission.version, MESSAGE_PROFILES.transmission.namespace]);
  msg.addSegment('EVN').set(2, eventTime);

  const status = msg.addSegment('OBX');
  status.set(1, '1');
  status.set(2, 'CWE');
  status.setField(3, [def.status, ACK_METIER[def.status], ACK_METIER_SYSTEM]);
  status.set(4, str(input.messageControlId));
  status.setField(5, [input.ok ? 'Y' : 'N', '', YES_NO_SYSTEM]);
  status.set(11, FINAL);

  if (def.party && input.party) {
    const party = msg.addSegment('OBX');
    party.set(1, '2');
    party.set(2, 'XTN');
    party.setField(3, [def.party, ACK_METIER[def.party], ACK_METIER_SYSTEM]);
    if (str(input.party.id)) party.set(4, str(input.party.id));
    party.setField(5, ['', '', MSSANTE_EQUIPMENT_TYPE, str(input.party.address)]);
    party.set(11, FINAL);
  }

  if (input.error && str(input.error.code)) {
    const e = input.error;
    const system = str(e.system) || def.errorSystems[0];
    const err = msg.addSegment('ERR');
    err.setField(3, [APPLICATION_ERROR, MESSAGE_ERROR_CONDITION[APPLICATION_ERROR], MESSAGE_ERROR_SYSTEM]);
    err.set(4, str(e.severity) || 'E');
    err.setField(5, [str(e.code), str(e.text) || errorLabel(str(e.code), system), system]);
    if (str(e.message)) err.set(8, str(e.message));
  }
  return msg.toString();
}
