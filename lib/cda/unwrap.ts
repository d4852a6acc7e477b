// Taking a CDA document out of the HL7 v2 message that carries it, as the CI-SIS transport volets write
// it (../shared/specs: "Transmission de documents CDA en HL7 v2" 2.1, and "Transmission au LPS d'un
// document CDA provenant d'un courriel MSSanté" 1.1 — the PFI to the receiving software): ORU^R01 and
// MDM^T02 (new document), MDM^T10 (replacement), MDM^T04 (deletion), the document in an OBX of type ED,
// what is asked of it (ORC-1, OBX-11), the metadata OBX of table « MétaDMP/MSS », the PRT participants,
// and what the acknowledgement must say.
import { isAscii } from 'node:buffer';
import {
  buildSafeAck,
  Hl7EncodingError,
  Hl7ParseError,
  parseHl7,
  readHeader,
  unescapeValue,
  type AckCode,
  type AckError,
  type AckOptions,
  type Hl7Header,
  type Hl7Message,
  type Segment,
} from '../hl7';
import { readCda, type CdaReading, type ReadCdaOptions } from './parse';
import { ACTION_OF_KIND, FLAG_OF, type SharingFlag } from './transmission';
import {
  APPLICATION_ERROR_CODE,
  APPLICATION_ERROR_SYSTEM,
  DOCUMENT_ACTIONS,
  MESSAGE_ERROR_CONDITION,
  MESSAGE_ERROR_SYSTEM,
  METADATA,
  METADATA_SYSTEM,
  type ApplicationErrorCode,
  type DocumentAction,
  type MetadataCode,
  type Participation,
} from './volet';
import { Base64Decoder, CdaRejectError, type CdaRejectCode } from './xml';

/** The message types and events that carry a document, and are read. */
export const DOCUMENT_EVENTS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  ORU: Object.freeze(['R01']),
  MDM: Object.freeze(['T02', 'T04', 'T10']),
});

/** The HL7 versions read (MSH-12.1): the volets send ORU in 2.5 and MDM in 2.6. */
export const DOCUMENT_VERSIONS: readonly string[] = Object.freeze(['2.5', '2.5.1', '2.6']);

/** One metadata OBX as read. */
export interface SharingLine {
  /** OBX-1. */
  setId: string;
  /** OBX-2 (CWE, CE, ED…). */
  valueType: string;
  /** OBX-3.1 and OBX-3.2. */
  code: string;
  label: string;
  /** OBX-5.1 decoded (Y / N for a flag; '' for a mail body). */
  value: string;
  /** ERR-2 location of the OBX (OBX^<occurrence>). */
  location: string;
}

/**
 * The metadata of table « MétaDMP/MSS » (profils-messages.md, "Les métadonnées DMP/MSSanté"): each flag
 * sent (Y → true, N → false; absent when not sent), the mail bodies, the NTE "FIN" after DESTMSSANTEPAT,
 * and every line as read.
 */
export type SharingMetadata = { [K in SharingFlag]?: boolean } & {
  mailBodyProfessional?: string;
  mailBodyPatient?: string;
  patientMayNotReply?: boolean;
  lines: SharingLine[];
};

/** A PRT segment (pre-adopted from HL7 2.9): the sender (SB), a recipient (RCT), the reply address (REPLY). */
export interface TransportParticipant {
  role: Participation | string;
  /** PRT-5: a professional (national id) or the patient (INS). */
  person?: { id: string; family: string; given: string; authority: string; idType: string };
  /** PRT-8. */
  organization?: { name: string; id: string; idType: string; authority: string };
  /** PRT-10.1. */
  device?: string;
  /** PRT-15.4: the MSSanté mailbox. */
  mail?: string;
  /** ERR-2 location (PRT^<occurrence>). */
  location: string;
}

/** Where the document was found. */
export interface DocumentCarrier {
  /** 1-based occurrence of the OBX in the message. */
  occurrence: number;
  /** OBX-1. */
  setId: string;
  /** OBX-3: the document type as the sender codes it. */
  observation: { code: string; text: string; system: string };
  /** ED-2 (TEXT, application…), ED-3 (XML…), ED-4 (Base64, A, Hex). */
  typeOfData: string;
  subtype: string;
  encoding: string;
  /** ERR-2 location of the data: OBX^<occurrence>^5^1^5. */
  location: string;
}

/** TXA of an MDM message. */
export interface DocumentTxa {
  /** TXA-2. */
  type: { code: string; text: string; system: string };
  /** TXA-12: the document's unique id (EI-1 extension, EI-3 root). */
  uniqueId: { extension: string; root: string };
  /** TXA-13: the document replaced (T10). */
  parentId: { extension: string; root: string } | null;
  /** TXA-17 (LA legally authenticated…), TXA-18 (U, R, V), TXA-19 (AV available, CA cancelled…). */
  completionStatus: string;
  confidentiality: string;
  availability: string;
}

export interface UnwrappedDocument {
  /** What is asked: new (MDM^T02, OBX-11 F), replace (T10, C), delete (T04, D). */
  action: DocumentAction;
  hl7: {
    type: string;
    event: string;
    structure: string;
    controlId: string;
    /** MSH-3.1, then "/" and MSH-4.1 when there is a sending facility. */
    sender: string;
    version: string;
    processingId: string;
  };
  /** The CDA document: bytes for Base64 and Hex data, text for ED encoding A (escaped text). */
  cda: Buffer | string;
  carrier: DocumentCarrier;
  sharing: SharingMetadata;
  participants: TransportParticipant[];
  /** MSH-21: the message profile (e.g. 2.1^CISIS_CDA_HL7_V2, 1.1^CISIS_CDA_HL7_LPS). */
  profile: string;
  /** LPS volet: the MSSanté mail the document came in (the OBX after the document: OBX-3.1 Message-ID, OBX-3.2 subject). */
  mail?: { messageId: string; subject: string; body?: string };
  txa: DocumentTxa | null;
  /** PID-3: the patient identifiers the message gives (to compare with the CDA's recordTarget). */
  patientIds: { id: string; authority: string; oid: string; type: string }[];
  /** For the acknowledgement (buildSafeAck / documentAck). */
  header: Hl7Header;
  /**
   * The message as parsed. For a message received as bytes, the data of an OBX of type ED (ED-5 to
   * the end of OBX-5) that is plain ASCII without escape sequences is read from the bytes, never made
   * a string: in `message` it is empty (the document is in `cda`).
   */
  message: Hl7Message;
  warnings: string[];
}

/**
 * How to acknowledge an error: AR (rejected: may succeed if sent again) or AE (error), the ERR-3 code of
 * table messageErrorCondition, for 207 the ERR-5 code of table applicationErrorCode (LPS volet
 * error-codes.md: 900–906), and the ERR-2 location.
 */
export interface AckAdvice {
  code: AckCode;
  hl7Code: string;
  application?: ApplicationErrorCode;
  location?: string;
}

/** A document message refused: the error, the message header when it could be read (for the ACK), and the ACK advice. */
export class DocumentMessageError extends CdaRejectError {
  override readonly name: string = 'DocumentMessageError';
  constructor(
    code: CdaRejectCode,
    message: string,
    readonly header: Hl7Header | null,
    readonly ack: AckAdvice,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

function sanitize(s: string, max = 32): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, max);
}

/** Raw ER7 of components c.. of the first repetition (unescaped later); '' when absent. */
function componentsFrom(raw: string, d: { component: string }, c: number): string {
  let at = 0;
  for (let i = 1; i < c; i++) {
    const next = raw.indexOf(d.component, at);
    if (next < 0) return '';
    at = next + 1;
  }
  return at === 0 ? raw : raw.slice(at);
}

function readSharing(msg: Hl7Message, warnings: string[], setAside: SetAside | null): SharingMetadata {
  const sharing: SharingMetadata = { lines: [] };
  const segments = msg.segments;
  let obxCount = 0;
  for (let k = 0; k < segments.length; k++) {
    const obx = segments[k];
    if (obx.name !== 'OBX') continue;
    obxCount++;
    const code = obx.value(3, 1, 1).trim();
    const system = obx.value(3, 1, 3).trim();
    const known = Object.hasOwn(METADATA, code);
    if (system !== METADATA_SYSTEM && !(known && !system)) continue;
    const line: SharingLine = { setId: obx.value(1), valueType: obx.value(2).trim(), code, label: obx.value(3, 1, 2), value: obx.value(5, 1, 1).trim(), location: `OBX^${obxCount}` };
    sharing.lines.push(line);
    if (!known) {
      warnings.push(`metadata OBX ${line.location}: code "${sanitize(code)}" is not in table MétaDMP/MSS (${Object.keys(METADATA).join(', ')})`);
      continue;
    }
    const flag = FLAG_OF[code as MetadataCode];
    if (flag) {
      const v = line.value.toUpperCase();
      if (v === 'Y' || v === 'N') sharing[flag] = v === 'Y';
      else warnings.push(`metadata OBX ${line.location} (${code}): "${sanitize(line.value, 8)}" is neither Y nor N: ignored`);
      // profils-messages.md, "Echange MSSanté Patient": an NTE whose NTE-4 is FIN after it: the patient may not reply
      if (code === 'DESTMSSANTEPAT' && segments[k + 1]?.name === 'NTE' && segments[k + 1].value(4, 1, 1).trim().toUpperCase() === 'FIN') sharing.patientMayNotReply = true;
      continue;
    }
    // CORPSMAIL_PS, CORPSMAIL_PATIENT: ED, the text in base64 (or as escaped text)
    const body = mailBody(obx, msg, setAside?.get(obxCount - 1));
    if (body === null) warnings.push(`metadata OBX ${line.location} (${code}): the mail body is not readable base64: ignored`);
    else if (code === 'CORPSMAIL_PS') sharing.mailBodyProfessional = body;
    else sharing.mailBodyPatient = body;
  }
  return sharing;
}

/**
 * The text of a mail body OBX (ED: ^text^^Base64^<data>, padding optional; or ^text^^A^<escaped text>).
 * `setAside`: its data when it was read from the message bytes (setAsideEdData).
 */
function mailBody(obx: Segment, msg: Hl7Message, setAside: Buffer | undefined): string | null {
  const enc = obx.value(5, 1, 4).trim().toUpperCase();
  const data = setAside ? setAside.toString('latin1') : obx.value(5, 1, 5);
  if (enc === 'A' || enc === '') return setAside ? data : unescapeValue(data, msg.delimiters, msg.encoding);
  if (enc !== 'BASE64' && enc !== 'B64') return null;
  try {
    const decoder = new Base64Decoder(data.length, 'mail body', true);
    decoder.feed(data);
    return decoder.end().toString('utf8');
  } catch {
    return null;
  }
}

/** The PRT segments of the message (profils-messages.md: SB, RCT, REPLY). */
function readParticipants(msg: Hl7Message): TransportParticipant[] {
  return msg.all('PRT').map((prt, i) => {
    const p: TransportParticipant = { role: prt.value(4, 1, 1).trim().toUpperCase(), location: `PRT^${i + 1}` };
    const personId = prt.value(5, 1, 1).trim();
    if (personId || prt.value(5, 1, 2).trim()) {
      const oid = prt.value(5, 1, 9, 2).trim();
      p.person = {
        id: personId,
        family: prt.value(5, 1, 2).trim(),
        given: prt.value(5, 1, 3).trim(),
        // the ANS examples write the patient's authority OID in PRT-5.9 directly, without sub-components
        authority: oid || prt.value(5, 1, 9, 1).trim(),
        idType: prt.value(5, 1, 13).trim(),
      };
    }
    const orgName = prt.value(8, 1, 1).trim();
    const orgId = prt.value(8, 1, 10).trim();
    // PRT-8.6: an OID in HD-2, or (a service, a UF) the establishment's FINESS alone in HD-1
    if (orgName || orgId) p.organization = { name: orgName, id: orgId, idType: prt.value(8, 1, 7).trim(), authority: prt.value(8, 1, 6, 2).trim() || prt.value(8, 1, 6, 1).trim() };
    const device = prt.value(10, 1, 1).trim();
    if (device) p.device = device;
    const mail = prt.value(15, 1, 4).trim();
    if (mail) p.mail = mail;
    return p;
  });
}

/**
 * What the message asks (evenements-declenchants.md): MDM^T02 / T10 / T04 new / replace / delete; ORU^R01
 * per OBX-11 of the document (F, C, D). ORC-1 (NW, RO, CA) and OBX-11 must agree with it (profils-messages.md,
 * "Le segment ORC": "En cas d'incohérence entre ces champs, le message HL7 sera rejeté"): a contradiction
 * is an AE 103 naming the field.
 */
function requestedAction(message: Hl7Message, header: Hl7Header, documentObx: Segment, occurrence: number): DocumentAction {
  const obx11 = documentObx.value(11).trim().toUpperCase();
  const orc1 = message.segment('ORC')?.value(1).trim().toUpperCase() ?? '';
  const byObx = (Object.keys(DOCUMENT_ACTIONS) as DocumentAction[]).find((a) => DOCUMENT_ACTIONS[a].obx11 === obx11);
  const action = header.type === 'MDM' ? ACTION_OF_KIND[header.event as keyof typeof ACTION_OF_KIND] : byObx;
  if (!action) {
    throw new DocumentMessageError('UNSUPPORTED_MESSAGE', `OBX-11 of the document is "${sanitize(obx11, 4)}": F (new), C (replacement) or D (deletion) expected`, header, {
      code: 'AE',
      hl7Code: '103',
      location: `OBX^${occurrence}^11`,
    });
  }
  const expected = DOCUMENT_ACTIONS[action];
  if (obx11 && obx11 !== expected.obx11) {
    throw new DocumentMessageError('UNSUPPORTED_MESSAGE', `OBX-11 "${sanitize(obx11, 4)}" contradicts ${header.type}^${header.event} (${expected.obx11} expected)`, header, {
      code: 'AE',
      hl7Code: '103',
      location: `OBX^${occurrence}^11`,
    });
  }
  if (orc1 && orc1 !== expected.orc) {
    throw new DocumentMessageError('UNSUPPORTED_MESSAGE', `ORC-1 "${sanitize(orc1, 4)}" contradicts the request (${expected.orc} expected for ${action})`, header, {
      code: 'AE',
      hl7Code: '103',
      location: 'ORC^1^1',
    });
  }
  return action;
}

/**
 * LPS volet (volet-lps-cda-mssante/profils-messages.md, "Le groupe de segments portant les informations
 * du courriel MSSanté"): the OBX after the document, ED, describes the mail the document came in —
 * OBX-3.1 its Message-ID, OBX-3.2 its subject, OBX-5 its content in base64. Its 0-based OBX occurrence
 * and what it says; null when the message has none.
 */
function readMail(obxs: Segment[], documentIndex: number, msg: Hl7Message, setAside: SetAside | null): { index: number; mail: NonNullable<UnwrappedDocument['mail']> } | null {
  const index = documentIndex + 1;
  const next = obxs[index];
  if (!next || next.value(2).trim().toUpperCase() !== 'ED' || next.value(3, 1, 3).trim() === METADATA_SYSTEM || /xml/i.test(next.value(5, 1, 3))) return null;
  const body = mailBody(next, msg, setAside?.get(index));
  return { index, mail: { messageId: next.value(3, 1, 1).trim(), subject: next.value(3, 1, 2).trim(), ...(body !== null ? { body } : {}) } };
}

/**
 * An EI as TXA-12 / TXA-13 write it (profils-messages.md, "règle de peuplement"): `extension^^root^ISO`
 * when the document id has an extension, else the OID alone in EI-1 (EI-2 may name the organisation).
 */
function ei(seg: Segment | undefined, field: number): { extension: string; root: string } | null {
  if (!seg) return null;
  const first = seg.value(field, 1, 1).trim();
  const root = seg.value(field, 1, 3).trim();
  if (!root) return first ? { extension: '', root: first } : null;
  return { extension: first, root };
}

/** The ED data left out of the parsed message: OBX occurrence (0-based) → its bytes (a view of the input). */
type SetAside = Map<number, Buffer>;

const CR = 0x0d;
const LF = 0x0a;
/** "OBX" */
const O = 0x4f;
const B = 0x42;
const X = 0x58;

function isSpaceByte(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === CR || c === LF || c === 0x0b || c === 0x0c;
}

/** Whether bytes [a, b) are "ED" in any case, give or take spaces and tabs around. */
function isEdType(buf: Buffer, a: number, b: number): boolean {
  while (a < b && (buf[a] === 0x20 || buf[a] === 0x09)) a++;
  while (b > a && (buf[b - 1] === 0x20 || buf[b - 1] === 0x09)) b--;
  return b - a === 2 && (buf[a] | 0x20) === 0x65 && (buf[a + 1] | 0x20) === 0x64;
}

/**
 * For a message received as bytes: finds, without decoding the message, the data of every OBX of type
 * ED — ED-5 to the end of OBX-5, what unwrapHl7Document reads as the data — that is plain ASCII
 * without the escape character (base64 always is), and returns the message without those bytes
 * (`skeleton`, a small Buffer the codec parses as usual: MSH-18, segments, every other field) and the
 * bytes set aside by OBX occurrence. The bytes set aside hold no segment terminator, field separator
 * or escape sequence and are the same text in every character set the codec reads, so the skeleton
 * parses to the same segments and values, ED-5 empty. Null when nothing is set aside, or when the
 * start of the message is not as expected (it is then parsed whole, and refused as before if wrong).
 */
function setAsideEdData(buf: Buffer): { skeleton: Buffer; data: SetAside } | null {
  let p = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  while (p < buf.length && isSpaceByte(buf[p])) p++;
  if (buf.length < p + 8 || buf[p] !== 0x4d || buf[p + 1] !== 0x53 || buf[p + 2] !== 0x48) return null;
  const field = buf[p + 3];
  const component = buf[p + 4];
  const escape = buf[p + 6];
  const delimiter = (c: number) => c > 32 && c < 127 && !((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) && c !== 0x2b && c !== 0x2f && c !== 0x3d;
  // MSH-2 with at least an escape character; none of them in the base64 alphabet
  if (!delimiter(field) || !delimiter(component) || !delimiter(buf[p + 5]) || !delimiter(escape) || escape === field || escape === component) return null;

  const data: SetAside = new Map();
  const cut: number[] = [];
  let obx = 0;
  let nextCr = -2;
  let nextLf = -2;
  let ls = p;
  while (ls < buf.length) {
    // the line [ls, le): segments end with CR, LF or both (empty lines are no segment)
    if (nextCr !== -1 && nextCr < ls) nextCr = buf.indexOf(CR, ls);
    if (nextLf !== -1 && nextLf < ls) nextLf = buf.indexOf(LF, ls);
    const le = nextCr < 0 ? (nextLf < 0 ? buf.length : nextLf) : nextLf < 0 ? nextCr : Math.min(nextCr, nextLf);
    // an OBX segment (counted as the codec counts them), with fields
    const i = le - ls >= 3 && buf[ls] === O && buf[ls + 1] === B && buf[ls + 2] === X ? obx++ : -1;
    if (i >= 0 && le - ls > 3 && buf[ls + 3] === field) {
      // OBX-2 and OBX-5: fields 2 and 5 (the segment id is field 0)
      const starts: number[] = [];
      let at = ls;
      for (let f = 1; f <= 5 && at >= 0; f++) {
        at = buf.indexOf(field, at);
        if (at < 0 || at >= le) at = -1;
        else starts.push(++at);
      }
      if (at >= 0 && isEdType(buf, starts[1], starts[2] - 1)) {
        let end = buf.indexOf(field, at);
        if (end < 0 || end > le) end = le;
        // ED-5 starts after the fourth component separator of OBX-5
        let c = at;
        for (let k = 0; k < 4 && c >= 0; k++) {
          c = buf.indexOf(component, c);
          c = c < 0 || c >= end ? -1 : c + 1;
        }
        if (c >= 0 && end > c) {
          const bytes = buf.subarray(c, end);
          if (bytes.indexOf(escape) < 0 && isAscii(bytes)) {
            data.set(i, bytes);
            cut.push(c, end);
          }
        }
      }
    }
    ls = le + 1;
  }
  if (!cut.length) return null;
  const parts: Buffer[] = [];
  let from = 0;
  for (let k = 0; k < cut.length; k += 2) {
    parts.push(buf.subarray(from, cut[k]));
    from = cut[k + 1];
  }
  parts.push(buf.subarray(from));
  return { skeleton: Buffer.concat(parts), data };
}

const HL7_PARSE_CODES: Record<string, string> = { INCOMPLETE_HEADER: '101', UNSUPPORTED_CHARSET: '103' };

/**
 * Takes the CDA document out of an ORU^R01 or MDM^T02 / T04 / T10 message (ER7, a string or bytes
 * decoded per MSH-18). The document is the first OBX of type ED whose ED-3 (or ED-2) names XML
 * (`^TEXT^XML^Base64^<data>`, `^application^xml^Base64^…`); its data (ED-5, taken whole to the end of
 * OBX-5 so that an unescaped delimiter in escaped text is not lost) is decoded per ED-4:
 * - Base64 (or B64): strictly (lib/cda/xml Base64Decoder), into a Buffer — for a message received as
 *   bytes, straight from them: the codec parses the message without the ED data (plain ASCII without
 *   escape sequences, as base64 is), which is never made a string;
 * - A, or empty: the XML as text, HL7 escape sequences decoded (\F\ \S\ \T\ \R\ \E\ \Xhh\ \.br\);
 * - Hex: into a Buffer.
 * OBX lines coded MetaDMPMSS give `sharing` (the flags of SharingInput, recipients, every line).
 *
 * Throws DocumentMessageError (with the header when readable, and the ACK advice):
 * NOT_HL7 (AR 100 / 101 / 207), UNSUPPORTED_MESSAGE (AR 200 message type, 201 event), NO_DOCUMENT
 * (AE 101: no OBX ED carrying XML; a reference pointer RP is never followed), BAD_ED (AE 102: unknown
 * ED encoding, bad hex), BAD_BASE64 (AE 102 at OBX^n^5^1^5).
 */
export function unwrapHl7Document(input: string | Buffer): UnwrappedDocument {
  let message: Hl7Message;
  let setAside: SetAside | null = null;
  try {
    const found = Buffer.isBuffer(input) ? setAsideEdData(input) : null;
    if (found) setAside = found.data;
    message = parseHl7(found ? found.skeleton : input);
  } catch (err) {
    let header: Hl7Header | null = null;
    try {
      header = readHeader(input, { requireHeader: false });
    } catch {
      header = null;
    }
    const code = err instanceof Hl7ParseError ? (HL7_PARSE_CODES[err.code] ?? '100') : '100';
    // an error of the message, not of the moment: AE (the LPS volet keeps AR for what may succeed if sent again)
    if (err instanceof Hl7EncodingError) {
      throw new DocumentMessageError('BAD_ENCODING', err.message, header, { code: 'AE', hl7Code: '102', location: 'MSH^1^18' }, { cause: err });
    }
    throw new DocumentMessageError('NOT_HL7', `not a readable HL7 v2 message: ${err instanceof Error ? err.message : String(err)}`, header, { code: 'AE', hl7Code: code }, { cause: err });
  }
  const header = message.header();
  const warnings: string[] = [];
  const events = Object.hasOwn(DOCUMENT_EVENTS, header.type) ? DOCUMENT_EVENTS[header.type] : undefined;
  if (!events) {
    throw new DocumentMessageError(
      'UNSUPPORTED_MESSAGE',
      `message type ${sanitize(header.type)}^${sanitize(header.event)} does not carry a document: ORU^R01, MDM^T02, MDM^T04 or MDM^T10 expected`,
      header,
      { code: 'AE', hl7Code: '200', location: 'MSH^1^9^1^1' },
    );
  }
  if (!events.includes(header.event)) {
    throw new DocumentMessageError(
      'UNSUPPORTED_MESSAGE',
      `event ${sanitize(header.type)}^${sanitize(header.event)} is not read: ${events.map((e) => `${header.type}^${e}`).join(', ')} carry a document`,
      header,
      { code: 'AE', hl7Code: '201', location: 'MSH^1^9^1^2' },
    );
  }
  if (!DOCUMENT_VERSIONS.includes(header.version.trim())) {
    throw new DocumentMessageError(
      'UNSUPPORTED_MESSAGE',
      `HL7 version "${sanitize(header.version, 8)}" is not read: ${DOCUMENT_VERSIONS.join(', ')} (the volets send ORU in 2.5, MDM in 2.6)`,
      header,
      { code: 'AE', hl7Code: '203', location: 'MSH^1^12' },
    );
  }

  // the document OBX
  const obxs = message.all('OBX');
  let carrierIndex = -1;
  const seen: { index: number; text: string }[] = [];
  for (let i = 0; i < obxs.length; i++) {
    const obx = obxs[i];
    const type = obx.value(2).trim().toUpperCase();
    if (obx.value(3, 1, 3).trim() === METADATA_SYSTEM) continue;
    if (type === 'RP') seen.push({ index: i, text: `OBX^${i + 1} is a reference pointer (RP), never followed` });
    if (type !== 'ED') continue;
    const typeOfData = obx.value(5, 1, 2).trim();
    const subtype = obx.value(5, 1, 3).trim();
    if (/xml/i.test(subtype) || (!subtype && /xml/i.test(typeOfData))) {
      if (carrierIndex < 0) carrierIndex = i;
      else warnings.push(`OBX^${i + 1} also carries an XML document: only the first (OBX^${carrierIndex + 1}) is read`);
    } else {
      seen.push({ index: i, text: `OBX^${i + 1} carries ${sanitize(typeOfData) || '?'}/${sanitize(subtype) || '?'}, not XML` });
    }
  }
  if (carrierIndex < 0) {
    throw new DocumentMessageError(
      'NO_DOCUMENT',
      `no OBX of type ED carrying a CDA document (OBX-5 ^TEXT^XML^Base64^…)${seen.length ? `: ${seen.map((x) => x.text).join('; ')}` : ''}`,
      header,
      { code: 'AE', hl7Code: '101', location: obxs.length ? 'OBX^1^5' : 'OBX' },
    );
  }
  const obx = obxs[carrierIndex];
  const location = `OBX^${carrierIndex + 1}^5^1^5`;
  const carrier: DocumentCarrier = {
    occurrence: carrierIndex + 1,
    setId: obx.value(1),
    observation: { code: obx.value(3, 1, 1), text: obx.value(3, 1, 2), system: obx.value(3, 1, 3) },
    typeOfData: obx.value(5, 1, 2).trim(),
    subtype: obx.value(5, 1, 3).trim(),
    encoding: obx.value(5, 1, 4).trim(),
    location,
  };
  const d = message.delimiters;
  // the data: set aside as bytes (ASCII without escape: the same text as the field's), or from the field
  const bytes = setAside?.get(carrierIndex);
  const text = (): string => (bytes ? bytes.toString('latin1') : componentsFrom(obx.raw(5), d, 5));
  let cda: Buffer | string;
  const enc = carrier.encoding.toUpperCase();
  if (enc === 'BASE64' || enc === 'B64') {
    try {
      if (bytes) {
        // straight from the message bytes into the document's Buffer
        const decoder = new Base64Decoder(bytes.length, `the document in ${location} (ED Base64)`, true);
        decoder.feedBytes(bytes);
        cda = decoder.end();
      } else {
        const data = text();
        const decoder = new Base64Decoder(data.length, `the document in ${location} (ED Base64)`, true);
        decoder.feed(d.escape && data.indexOf(d.escape) >= 0 ? unescapeValue(data, d, message.encoding) : data);
        cda = decoder.end();
      }
    } catch (err) {
      if (err instanceof CdaRejectError) throw new DocumentMessageError(err.code, err.message, header, { code: 'AE', hl7Code: '102', location }, { cause: err });
      throw err;
    }
    if (cda.length === 0) throw new DocumentMessageError('NO_DOCUMENT', `the document in ${location} is empty`, header, { code: 'AE', hl7Code: '101', location });
  } else if (enc === 'A' || enc === '') {
    cda = unescapeValue(text(), d, message.encoding);
    if (!cda.trim()) throw new DocumentMessageError('NO_DOCUMENT', `the document in ${location} is empty`, header, { code: 'AE', hl7Code: '101', location });
  } else if (enc === 'HEX') {
    const hex = text().replace(/\s+/g, '');
    if (!hex || hex.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(hex)) {
      throw new DocumentMessageError('BAD_ED', `the document in ${location} (ED Hex) is not an even number of hexadecimal digits`, header, { code: 'AE', hl7Code: '102', location });
    }
    cda = Buffer.from(hex, 'hex');
  } else {
    throw new DocumentMessageError(
      'BAD_ED',
      `ED encoding (OBX^${carrierIndex + 1}^5^1^4) "${sanitize(carrier.encoding)}" is not supported: Base64, A (escaped text) or Hex`,
      header,
      { code: 'AE', hl7Code: '102', location: `OBX^${carrierIndex + 1}^5^1^4` },
    );
  }
  const mail = readMail(obxs, carrierIndex, message, setAside);
  for (const x of seen) if (x.index !== mail?.index) warnings.push(x.text);
  const action = requestedAction(message, header, obx, carrierIndex + 1);

  const msh = message.segments[0];
  const facility = msh.value(4).trim();
  const txaSeg = message.segment('TXA');
  const txa: DocumentTxa | null = txaSeg
    ? {
        type: { code: txaSeg.value(2, 1, 1), text: txaSeg.value(2, 1, 2), system: txaSeg.value(2, 1, 3) },
        uniqueId: ei(txaSeg, 12) ?? { extension: '', root: '' },
        parentId: ei(txaSeg, 13),
        completionStatus: txaSeg.value(17).trim(),
        confidentiality: txaSeg.value(18).trim(),
        availability: txaSeg.value(19).trim(),
      }
    : null;
  if (header.type === 'MDM' && !txaSeg) warnings.push('MDM message without TXA segment');
  const pid = message.segment('PID');
  const patientIds: UnwrappedDocument['patientIds'] = [];
  if (pid) {
    for (let r = 1, n = pid.repetitions(3); r <= n; r++) {
      const id = pid.value(3, r, 1).trim();
      if (id) patientIds.push({ id, authority: pid.value(3, r, 4, 1).trim(), oid: pid.value(3, r, 4, 2).trim(), type: pid.value(3, r, 5).trim() });
    }
  }
  return {
    action,
    hl7: {
      type: header.type,
      event: header.event,
      structure: header.structure,
      controlId: header.controlId,
      sender: msh.value(3).trim() + (facility ? `/${facility}` : ''),
      version: header.version,
      processingId: header.processingId,
    },
    cda,
    carrier,
    sharing: readSharing(message, warnings, setAside),
    participants: readParticipants(message),
    profile: msh.raw(21),
    ...(mail ? { mail: mail.mail } : {}),
    txa,
    patientIds,
    header,
    message,
    warnings,
  };
}

/**
 * Unwraps the document (unwrapHl7Document) and reads it (readCda). A CdaRejectError of readCda is
 * rethrown as a DocumentMessageError carrying the header and the ACK advice (AE 102 at the data's
 * location, 104 for TOO_LARGE).
 */
export function readHl7Document(input: string | Buffer, opts: ReadCdaOptions = {}): { unwrapped: UnwrappedDocument; reading: CdaReading } {
  const unwrapped = unwrapHl7Document(input);
  try {
    return { unwrapped, reading: readCda(unwrapped.cda, opts) };
  } catch (err) {
    if (err instanceof CdaRejectError) {
      throw new DocumentMessageError(err.code, err.message, unwrapped.header, ackAdvice(err, unwrapped.carrier.location), { cause: err });
    }
    throw err;
  }
}

/**
 * The ACK advice for an error: a DocumentMessageError's own; for a CdaRejectError of readCda AE 102
 * (data type error) at `location` — a document over the size limit is AE 207 with ERR-5 906 (the volets'
 * table has no "value too long"); for anything else AE 207 (application error).
 */
export function ackAdvice(err: unknown, location?: string): AckAdvice {
  if (err instanceof DocumentMessageError) return err.ack;
  if (err instanceof CdaRejectError) return err.code === 'TOO_LARGE' ? { code: 'AE', hl7Code: '207', application: '906', location } : { code: 'AE', hl7Code: '102', location };
  return { code: 'AE', hl7Code: '207', location };
}

/** MSH-17 of the acknowledgements of both volets. */
export const ACK_COUNTRY = 'FRA';

/**
 * The options of an acknowledgement as the volets write it (error-codes.md of both): MSH-17 FRA, ERR-3
 * in table messageErrorCondition, ERR-5 in table applicationErrorCode for a 207, ERR-8 the text.
 * AA: no ERR. `text` is MSA-3 (clip it to 80 characters) and `detail` ERR-8 (default `text`).
 */
export function voletAckOptions(code: AckCode, text: string, advice?: AckAdvice, detail?: string): AckOptions {
  const opts: AckOptions = { code, text, countryCode: ACK_COUNTRY, errorTable: { name: MESSAGE_ERROR_SYSTEM, labels: MESSAGE_ERROR_CONDITION } };
  if (code === 'AA' || !advice) return opts;
  const error: AckError = { code: advice.hl7Code, text: detail ?? text, severity: 'E' };
  if (advice.location) error.location = advice.location;
  if (advice.application) error.application = { code: advice.application, text: APPLICATION_ERROR_CODE[advice.application], system: APPLICATION_ERROR_SYSTEM };
  opts.errors = [error];
  return opts;
}

/**
 * The acknowledgement of a document message (buildSafeAck: always builds; voletAckOptions): AA when
 * `err` is undefined, else per ackAdvice, with the error's message as MSA-3 / ERR-8 (CdaRejectError
 * messages name what is wrong, never patient data). `original`: the message or its header
 * (DocumentMessageError.header when the message could not be read; undefined when there is none).
 */
export function documentAck(original: Hl7Message | Hl7Header | null | undefined, err?: unknown, opts: { text?: string; location?: string } = {}): string {
  if (err === undefined) return buildSafeAck(original ?? undefined, voletAckOptions('AA', opts.text ?? ''));
  const advice = ackAdvice(err, opts.location);
  const text = opts.text ?? (err instanceof Error ? err.message : String(err));
  return buildSafeAck(original ?? undefined, voletAckOptions(advice.code, text, advice));
}
