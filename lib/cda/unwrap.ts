// Taking a CDA document out of the HL7 v2 message that carries it (CI-SIS volet "Transmission de
// documents CDA en HL7 v2"): ORU^R01, MDM^T02 (new document), MDM^T10 (replacement), MDM^T04 (status or
// visibility change), the document in an OBX of type ED, the sharing metadata in the OBX lines coded
// in "MetaDMPMSS" (as lib/cda/mdm.ts writes them), and what the acknowledgement must say.
import { isAscii } from 'node:buffer';
import {
  buildSafeAck,
  Hl7ParseError,
  parseHl7,
  readHeader,
  unescapeValue,
  type AckCode,
  type AckError,
  type Hl7Header,
  type Hl7Message,
  type Segment,
} from '../hl7';
import { MDM_METADATA_CODES, SHARING_FLAG_CODES, type MetadataCode, type SharingFlag } from './mdm';
export { SHARING_FLAG_CODES, type MetadataCode, type SharingFlag };
import { readCda, type CdaReading, type ReadCdaOptions } from './parse';
import type { SharingInput } from './types';
import { Base64Decoder, CdaRejectError, type CdaRejectCode } from './xml';

/** The message types and events that carry a document, and are read. */
export const DOCUMENT_EVENTS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  ORU: Object.freeze(['R01']),
  MDM: Object.freeze(['T02', 'T04', 'T10']),
});

/** The coding system of the metadata OBX (OBX-3.3). */
export const METADATA_CODING_SYSTEM = 'MetaDMPMSS';

const FLAG_OF_CODE = new Map<string, SharingFlag>(Object.entries(SHARING_FLAG_CODES).map(([flag, code]) => [code, flag as SharingFlag]));

/** One metadata OBX as read. */
export interface SharingLine {
  /** OBX-1. */
  setId: string;
  /** OBX-2 (CE, XCN, XTN…). */
  valueType: string;
  /** OBX-3.1 and OBX-3.2. */
  code: string;
  label: string;
  /** OBX-4 (groups the XCN and XTN lines of one recipient). */
  subId: string;
  /** OBX-5.1 decoded (Y / N for a flag, the PS identifier of an XCN, '' for an XTN). */
  value: string;
  /** ERR-2 location of the OBX (OBX^<occurrence>). */
  location: string;
}

/** A recipient named by DESTINATAIRE lines (XCN and / or XTN with the same OBX-4). */
export interface SharingRecipient {
  subId: string;
  /** National PS identifier as written (XCN-1, "8" + RPPS). */
  idNat?: string;
  family?: string;
  given?: string;
  /** MSSanté address (XTN-4). */
  mssante?: string;
}

/** The sharing metadata of the message: the flags given (Y → true, N → false; absent when not sent), recipients, and every line. */
export type SharingMetadata = { [K in SharingFlag]?: boolean } & {
  recipients: SharingRecipient[];
  lines: SharingLine[];
};

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

/** How to acknowledge an error: AR (message rejected) or AE (error), an HL7 table 0357 code and the ERR-2 location. */
export interface AckAdvice {
  code: AckCode;
  hl7Code: string;
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

function readSharing(msg: Hl7Message, warnings: string[]): SharingMetadata {
  const sharing: SharingMetadata = { recipients: [], lines: [] };
  const recipients = new Map<string, SharingRecipient>();
  msg.all('OBX').forEach((obx, i) => {
    const code = obx.value(3, 1, 1).trim();
    const system = obx.value(3, 1, 3).trim();
    const known = Object.hasOwn(MDM_METADATA_CODES, code);
    if (system !== METADATA_CODING_SYSTEM && !(known && !system)) return;
    const line: SharingLine = {
      setId: obx.value(1),
      valueType: obx.value(2).trim(),
      code,
      label: obx.value(3, 1, 2),
      subId: obx.value(4).trim(),
      value: obx.value(5, 1, 1).trim(),
      location: `OBX^${i + 1}`,
    };
    sharing.lines.push(line);
    if (!known) {
      warnings.push(`metadata OBX ${line.location}: code "${sanitize(code)}" is not one of ${Object.keys(MDM_METADATA_CODES).join(', ')}`);
      return;
    }
    const flag = FLAG_OF_CODE.get(code);
    if (flag) {
      const v = line.value.toUpperCase();
      if (v === 'Y' || v === 'N') sharing[flag] = v === 'Y';
      else warnings.push(`metadata OBX ${line.location} (${code}): "${sanitize(line.value, 8)}" is neither Y nor N: ignored`);
      return;
    }
    if (code === 'DESTINATAIRE') {
      const key = line.subId || `#${i + 1}`;
      let r = recipients.get(key);
      if (!r) {
        r = { subId: line.subId };
        recipients.set(key, r);
        sharing.recipients.push(r);
      }
      if (line.valueType === 'XTN') {
        const address = obx.value(5, 1, 4).trim();
        if (address) r.mssante = address;
      } else {
        const id = obx.value(5, 1, 1).trim();
        const family = obx.value(5, 1, 2).trim();
        const given = obx.value(5, 1, 3).trim();
        if (id) r.idNat = id;
        if (family) r.family = family;
        if (given) r.given = given;
      }
    }
  });
  return sharing;
}

function ei(seg: Segment | undefined, field: number): { extension: string; root: string } | null {
  if (!seg) return null;
  const extension = seg.value(field, 1, 1).trim();
  const root = seg.value(field, 1, 3).trim();
  return extension || root ? { extension, root } : null;
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

const HL7_PARSE_CODES: Record<string, string> = { INCOMPLETE_HEADER: '101', UNSUPPORTED_CHARSET: '207' };

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
    throw new DocumentMessageError('NOT_HL7', `not a readable HL7 v2 message: ${err instanceof Error ? err.message : String(err)}`, header, { code: 'AR', hl7Code: code }, { cause: err });
  }
  const header = message.header();
  const warnings: string[] = [];
  const events = Object.hasOwn(DOCUMENT_EVENTS, header.type) ? DOCUMENT_EVENTS[header.type] : undefined;
  if (!events) {
    throw new DocumentMessageError(
      'UNSUPPORTED_MESSAGE',
      `message type ${sanitize(header.type)}^${sanitize(header.event)} does not carry a document: ORU^R01, MDM^T02, MDM^T04 or MDM^T10 expected`,
      header,
      { code: 'AR', hl7Code: '200', location: 'MSH^1^9^1^1' },
    );
  }
  if (!events.includes(header.event)) {
    throw new DocumentMessageError(
      'UNSUPPORTED_MESSAGE',
      `event ${sanitize(header.type)}^${sanitize(header.event)} is not read: ${events.map((e) => `${header.type}^${e}`).join(', ')} carry a document`,
      header,
      { code: 'AR', hl7Code: '201', location: 'MSH^1^9^1^2' },
    );
  }

  // the document OBX
  const obxs = message.all('OBX');
  let carrierIndex = -1;
  const seen: string[] = [];
  for (let i = 0; i < obxs.length; i++) {
    const obx = obxs[i];
    const type = obx.value(2).trim().toUpperCase();
    if (obx.value(3, 1, 3).trim() === METADATA_CODING_SYSTEM) continue;
    if (type === 'RP') seen.push(`OBX^${i + 1} is a reference pointer (RP), never followed`);
    if (type !== 'ED') continue;
    const typeOfData = obx.value(5, 1, 2).trim();
    const subtype = obx.value(5, 1, 3).trim();
    if (/xml/i.test(subtype) || (!subtype && /xml/i.test(typeOfData))) {
      if (carrierIndex < 0) carrierIndex = i;
      else warnings.push(`OBX^${i + 1} also carries an XML document: only the first (OBX^${carrierIndex + 1}) is read`);
    } else {
      seen.push(`OBX^${i + 1} carries ${sanitize(typeOfData) || '?'}/${sanitize(subtype) || '?'}, not XML`);
    }
  }
  if (carrierIndex < 0) {
    throw new DocumentMessageError(
      'NO_DOCUMENT',
      `no OBX of type ED carrying a CDA document (OBX-5 ^TEXT^XML^Base64^…)${seen.length ? `: ${seen.join('; ')}` : ''}`,
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
        const decoder = new Base64Decoder(bytes.length, `the document in ${location} (ED Base64)`);
        decoder.feedBytes(bytes);
        cda = decoder.end();
      } else {
        const data = text();
        const decoder = new Base64Decoder(data.length, `the document in ${location} (ED Base64)`);
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
  if (seen.length) warnings.push(...seen);

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
    sharing: readSharing(message, warnings),
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
 * (data type error) at `location` (104, value too long, for TOO_LARGE); for anything else AE 207
 * (application internal error).
 */
export function ackAdvice(err: unknown, location?: string): AckAdvice {
  if (err instanceof DocumentMessageError) return err.ack;
  if (err instanceof CdaRejectError) return { code: 'AE', hl7Code: err.code === 'TOO_LARGE' ? '104' : '102', location };
  return { code: 'AE', hl7Code: '207', location };
}

/**
 * The acknowledgement of a document message (buildSafeAck: always builds): AA when `err` is undefined,
 * else per ackAdvice, with the error's message as MSA-3 / ERR-8 (CdaRejectError messages name what is
 * wrong, never patient data). `original`: the message or its header (DocumentMessageError.header when
 * the message could not be read; undefined when there is none).
 */
export function documentAck(original: Hl7Message | Hl7Header | null | undefined, err?: unknown, opts: { text?: string; location?: string } = {}): string {
  if (err === undefined) return buildSafeAck(original ?? undefined, { code: 'AA', text: opts.text });
  const advice = ackAdvice(err, opts.location);
  const text = opts.text ?? (err instanceof Error ? err.message : String(err));
  const error: AckError = { code: advice.hl7Code, text, severity: 'E' };
  if (advice.location) error.location = advice.location;
  return buildSafeAck(original ?? undefined, { code: advice.code, text, errors: [error] });
}
