// What cda-ingest does with one input, apart from Node-RED: read the document (a CDA R2 document, or
// the ORU^R01 / MDM^T02 / T10 / T04 message that carries it), check what the archive needs, and shape
// msg.cda, the archive record and the rejection. The texts of rejections come from lib/cda
// (CdaRejectError messages name what is wrong, never patient data) or from here (the same rule).
import { createHash } from 'node:crypto';
import {
  CdaRejectError,
  DocumentMessageError,
  documentType,
  formatId,
  readCda,
  readHl7Document,
  ackAdvice,
  voletAckOptions,
  type AckAdvice,
  type CdaCode,
  type CdaId,
  type CdaIns,
  type CdaReading,
  type CdaRejectCode,
  type CdaTraits,
  type DocumentCarrier,
  type DocumentTxa,
  type PatientMatch,
  type SharingMetadata,
  type TransportParticipant,
  type UnwrappedDocument,
  partyId,
  type DocumentAction,
  type LifecycleRefusalCode,
} from '../../lib/cda';
import { buildSafeAck, readHeader, type AckCode, type Hl7Header } from '../../lib/hl7';
import { inspectPdf, PdfError, type PdfErrorCode } from '../../lib/pdf';
import { ippKey, type DocumentInput, type DocumentPatient } from '../../lib/store';

export const MiB = 1024 * 1024;

/** Default largest document, in MiB. */
export const DEFAULT_MAX_MIB = 50;

/**
 * An HL7 message may be this much larger than the document limit before it is read at all: base64 is
 * 4/3 of the bytes it carries, plus the other segments.
 */
export const HL7_OVERHEAD = MiB;

/** The part of an input read for the header of a message refused before it is parsed. */
const HEAD = 64 * 1024;

/** Why a document is refused: the codes of lib/cda (reading, replacement / deletion), the PDF's, and two of this node's. */
export type IngestRejectCode =
  | CdaRejectCode
  | LifecycleRefusalCode
  /** the PDF of a level-1 document fails the checks of a PDF produced here (lib/pdf inspectPdf): PDF_ENCRYPTED, PDF_JAVASCRIPT… */
  | `PDF_${PdfErrorCode}`
  /** msg.payload is not a string or a Buffer (null, an object, a number…) */
  | 'BAD_INPUT'
  /** a level-3 document (structuredBody) while the node accepts level 1 only */
  | 'LEVEL_3';

/** A refused input: the code, the message (no patient data), and for an HL7 message the ACK advice and header. */
export class IngestRejection extends Error {
  constructor(
    readonly code: IngestRejectCode,
    message: string,
    readonly ack: AckAdvice,
    readonly header: Hl7Header | null = null,
  ) {
    super(message);
  }
}

/** The largest document for a message: the node's limit, lowered (never raised) by msg.maxSize (MiB). */
export function effectiveMaxBytes(configMiB: unknown, msgMiB: unknown): number {
  const base = Number(configMiB);
  const limit = (Number.isFinite(base) && base > 0 ? base : DEFAULT_MAX_MIB) * MiB;
  const asked = typeof msgMiB === 'number' ? msgMiB : typeof msgMiB === 'string' && msgMiB.trim() ? Number(msgMiB) : NaN;
  return Number.isFinite(asked) && asked > 0 ? Math.min(limit, Math.floor(asked * MiB)) : Math.floor(limit);
}

/** The largest HL7 message read for a document limit (base64 of the document, plus HL7_OVERHEAD). */
export function hl7Limit(maxBytes: number): number {
  return Math.ceil(maxBytes / 3) * 4 + HL7_OVERHEAD;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** msg.payload as a string or a Buffer (a Uint8Array is viewed as a Buffer, not copied); null otherwise. */
export function payloadInput(payload: unknown): string | Buffer | null {
  if (typeof payload === 'string' || Buffer.isBuffer(payload)) return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return null;
}

/** Whether the input is an HL7 v2 message (ER7): "MSH" after an optional byte order mark and white space. */
export function looksLikeHl7(input: string | Buffer): boolean {
  const max = Math.min(input.length, 256);
  let i = 0;
  if (typeof input === 'string') {
    if (input.charCodeAt(0) === 0xfeff) i = 1;
    while (i < max && /\s/.test(input[i])) i++;
    return input.startsWith('MSH', i);
  }
  if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) i = 3;
  while (i < max && (input[i] === 0x20 || input[i] === 0x09 || input[i] === 0x0a || input[i] === 0x0d)) i++;
  return input[i] === 0x4d && input[i + 1] === 0x53 && input[i + 2] === 0x48;
}

function headerOf(input: string | Buffer): Hl7Header | null {
  try {
    const head = input.length <= HEAD ? input : typeof input === 'string' ? input.slice(0, HEAD) : input.subarray(0, HEAD);
    return readHeader(head, { requireHeader: false });
  } catch {
    return null;
  }
}

/** What was read from one input. */
export interface Ingested {
  reading: CdaReading;
  /** The carrier message, for ORU / MDM input. */
  unwrapped: UnwrappedDocument | null;
  /** The document's bytes as received (a Buffer input or the decoded ED as is; a string as UTF-8). */
  cdaBytes: () => Buffer;
}

/**
 * Reads one input: an HL7 v2 message carrying a CDA document (readHl7Document), or a CDA document
 * (readCda). Throws IngestRejection (with the ACK advice and header for HL7 input); anything else
 * thrown is a bug.
 */
export function ingest(input: string | Buffer, opts: { maxBytes: number; acceptLevel3: boolean }): Ingested {
  const hl7 = looksLikeHl7(input);
  let reading: CdaReading;
  let unwrapped: UnwrappedDocument | null = null;
  let cda: string | Buffer = input;
  try {
    if (hl7) {
      const limit = hl7Limit(opts.maxBytes);
      if (input.length > limit) {
        throw new DocumentMessageError(
          'TOO_LARGE',
          `the message is ${input.length} ${typeof input === 'string' ? 'characters' : 'bytes'}, over the limit of ${limit} for a document of at most ${opts.maxBytes} bytes (maxSize): not read`,
          headerOf(input),
          { code: 'AE', hl7Code: '207', application: '906' },
        );
      }
      ({ unwrapped, reading } = readHl7Document(input, { maxBytes: opts.maxBytes }));
      cda = unwrapped.cda;
    } else {
      reading = readCda(input, { maxBytes: opts.maxBytes });
    }
  } catch (err) {
    if (err instanceof DocumentMessageError) throw new IngestRejection(err.code, err.message, err.ack, err.header);
    if (err instanceof CdaRejectError) throw new IngestRejection(err.code, err.message, ackAdvice(err));
    throw err;
  }

  // what the archive (and any later use) needs, CDA R2 makes mandatory, and the node's settings
  const location = unwrapped?.carrier.location;
  const header = unwrapped?.header ?? null;
  const refuse = (code: IngestRejectCode, message: string): never => {
    throw new IngestRejection(code, message, { code: 'AE', hl7Code: '102', location }, header);
  };
  if (reading.level === 3 && !opts.acceptLevel3) {
    refuse('LEVEL_3', 'the document is CDA level 3 (component/structuredBody): this node accepts level 1 only (a PDF in component/nonXMLBody)');
  }
  const missing: string[] = [];
  if (!reading.id) missing.push('id (with a root)');
  if (!reading.typeCode) missing.push('code (the document type)');
  if (!reading.effectiveTime) missing.push('effectiveTime (a valid HL7 time stamp)');
  if (missing.length) refuse('BAD_CDA', `the CDA header lacks ClinicalDocument/${missing.join(', ClinicalDocument/')}: mandatory in CDA R2, needed to file the document`);

  const bytes = cda;
  return { reading, unwrapped, cdaBytes: () => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8')) };
}

/**
 * The PDF of a level-1 document passes the checks of a PDF produced here (lib/pdf inspectPdf): not
 * empty, %PDF- then a readable document, not truncated, not encrypted, no JavaScript, no /Launch action,
 * no embedded file. Otherwise an IngestRejection PDF_<code> (AE 207, ERR-5 906 at the document's data):
 * such a document is never preselected nor archived.
 */
export async function checkPdf(got: Ingested): Promise<void> {
  const pdf = got.reading.pdf;
  if (!pdf) return;
  try {
    await inspectPdf(pdf);
  } catch (err) {
    if (!(err instanceof PdfError)) throw err;
    const location = got.unwrapped?.carrier.location;
    throw new IngestRejection(`PDF_${err.code}`, `the PDF of the document is refused: ${err.message}`, { code: 'AE', hl7Code: '207', application: '906', ...(location ? { location } : {}) }, got.unwrapped?.header ?? null);
  }
}

/** Clips a text to `max` characters (MSA-3 is 80 characters at most in HL7 v2.5). */
export function clip(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/** The ACK of an HL7 input as the volets write it (voletAckOptions): AA, or per the advice (MSA-3 clipped, ERR-8 whole). */
export function ackOf(header: Hl7Header | null, code: AckCode, text: string, advice?: AckAdvice): string {
  return buildSafeAck(header ?? undefined, voletAckOptions(code, clip(text), advice, text));
}

// --- msg.cda ---------------------------------------------------------------------------------------

/** The HL7 transport of a document received in an ORU / MDM message (volet 2.1, LPS volet 1.1). */
export interface CdaTransport {
  type: string;
  event: string;
  structure: string;
  controlId: string;
  sender: string;
  version: string;
  processingId: string;
  /** MSH-21: 2.1^CISIS_CDA_HL7_V2 (transmission volet), 1.1^CISIS_CDA_HL7_LPS (LPS volet)… */
  profile: string;
  /** What the message asks: new (T02, OBX-11 F), replace (T10, C), delete (T04, D). */
  action: DocumentAction;
  carrier: DocumentCarrier;
  txa: DocumentTxa | null;
  /** The flags of table « MétaDMP/MSS » under their published names, the mail bodies, every line. */
  sharing: SharingMetadata;
  /** The PRT segments: SB the sender, RCT the recipients, REPLY the reply address. */
  participants: TransportParticipant[];
  /** LPS volet: the MSSanté mail the document came in (Message-ID, subject, body). */
  mail?: UnwrappedDocument['mail'];
  patientIds: UnwrappedDocument['patientIds'];
}

export type ArchiveOutcome =
  /** added to the archive now (a replacement: the document it replaces is marked replaced, msg.cda.target) */
  | 'archived'
  /** the same id with the same bytes was already archived (a message sent again): nothing changed */
  | 'duplicate'
  /** the same id is already archived with other bytes: the archive keeps the first, this one is not archived */
  | 'conflict'
  /** archiving is off (node setting or msg.archive false) */
  | 'off'
  /** a deletion (MDM^T04, OBX-11 D): the archived document is marked deleted (status cancelled), never destroyed */
  | 'deleted'
  /** no identity store configured */
  | 'no-store';

/** What outputs 1 and 2 carry in msg.cda. */
export interface CdaSummary {
  id: string;
  setId: string;
  version: number | null;
  code: CdaCode | null;
  typeCode: string;
  typeLabel: string;
  title: string;
  effectiveTime: string;
  confidentiality: string;
  templateIds: string[];
  author: CdaReading['author'];
  custodian: CdaReading['custodian'];
  patient: { ins: CdaIns | null; ids: CdaId[]; traits: CdaTraits };
  level: 1 | 3;
  relatedDocument: CdaReading['relatedDocument'] | null;
  /** Level 3: the structuredBody element as written. */
  bodyXml?: string;
  bytes: number;
  encoding: string;
  pdfBytes: number;
  /** What is asked of the archive: the carrier's request, else (a CDA alone) replace for relatedDocument RPLC, new otherwise. */
  action: DocumentAction;
  transport: CdaTransport | null;
  archived: boolean;
  archive: ArchiveOutcome;
  /** A replacement or deletion: the document replaced or deleted, and its status now. */
  target?: { id: string; status: 'replaced' | 'cancelled' };
  warnings: string[];
}

/** What is asked of the archive: the carrier's request; for a CDA alone, replace when it says it replaces another (relatedDocument RPLC). */
export function requestedAction(got: Ingested): DocumentAction {
  if (got.unwrapped) return got.unwrapped.action;
  return got.reading.relatedDocument?.type === 'RPLC' && got.reading.relatedDocument.parentId ? 'replace' : 'new';
}

/** The display name of the document type: the DMP value set's, else the document's own, else the code. */
export function typeLabel(reading: CdaReading): string {
  return documentType(reading.typeCode)?.displayName || reading.code?.displayName || reading.title || reading.typeCode;
}

export function summary(got: Ingested, warnings: string[]): CdaSummary {
  const r = got.reading;
  const u = got.unwrapped;
  const id = formatId(r.id as CdaId);
  const s: CdaSummary = {
    id,
    setId: r.setId ? formatId(r.setId) : id,
    version: r.version,
    code: r.code,
    typeCode: r.typeCode,
    typeLabel: typeLabel(r),
    title: r.title,
    effectiveTime: r.effectiveTime,
    confidentiality: r.confidentiality,
    templateIds: r.templateIds,
    author: r.author,
    custodian: r.custodian,
    patient: r.patient,
    level: r.level,
    relatedDocument: r.relatedDocument ?? null,
    bytes: r.bytes,
    encoding: r.encoding,
    pdfBytes: r.pdf?.length ?? 0,
    action: requestedAction(got),
    transport: u
      ? {
          type: u.hl7.type,
          event: u.hl7.event,
          structure: u.hl7.structure,
          controlId: u.hl7.controlId,
          sender: u.hl7.sender,
          version: u.hl7.version,
          processingId: u.hl7.processingId,
          profile: u.profile,
          action: u.action,
          carrier: u.carrier,
          txa: u.txa,
          sharing: u.sharing,
          participants: u.participants,
          ...(u.mail ? { mail: u.mail } : {}),
          patientIds: u.patientIds,
        }
      : null,
    archived: false,
    archive: 'off',
    warnings,
  };
  if (r.level === 3 && r.bodyXml !== undefined) s.bodyXml = r.bodyXml;
  return s;
}

/** The INS OIDs (PID-3 CX-4.2) of the HL7 carrier. */
const INS_OIDS = new Set(['1.2.250.1.213.1.4.8', '1.2.250.1.213.1.4.9', '1.2.250.1.213.1.4.10', '1.2.250.1.213.1.4.11']);

/**
 * A preselection the HL7 carrier contradicts: PID-3 of the message names an INS, and none is the
 * document's. The document then goes to reconciliation (method carrier-mismatch).
 */
export function carrierConflict(got: Ingested, match: PatientMatch): PatientMatch {
  if (match.outcome !== 'preselected' || !got.unwrapped) return match;
  const ins = got.reading.patient.ins;
  const pidIns = got.unwrapped.patientIds.filter((p) => p.type.toUpperCase() === 'INS' || INS_OIDS.has(p.oid));
  if (!ins || !pidIns.length || pidIns.some((p) => p.id === ins.value)) return match;
  const { patient: _preselected, ...rest } = match.match;
  return {
    outcome: 'reconcile',
    match: {
      ...rest,
      method: 'carrier-mismatch',
      reason: `${match.match.reason}, but the INS of the HL7 message (PID-3) is not the document's: the message and the document disagree`,
    },
  };
}

/** The archive record of an accepted document (origin 'received'). */
export function archiveRecord(got: Ingested, cda: CdaSummary, match: PatientMatch, replaces: string | null): DocumentInput {
  const r = got.reading;
  const t = r.patient.traits;
  const preselected = match.outcome === 'preselected' && match.match.method === 'INS';
  const local = preselected ? match.match.ipp : undefined;
  const ins = r.patient.ins;
  const patient: DocumentPatient = {
    ipp: local ? { id: local.id, oid: local.oid, ...(local.authority ? { authority: local.authority } : {}) } : null,
    ins: preselected && ins ? { value: ins.value, oid: ins.oid } : null,
    insQualified: preselected,
    ...(preselected && match.match.patient?.status ? { status: match.match.patient.status } : {}),
    birthName: t.birthName,
    firstNames: t.firstNames,
    firstName: t.firstName,
    usedName: t.usedName,
    birthDate: t.birthDate,
    sex: t.sex,
  };
  const a = r.author;
  return {
    id: cda.id,
    setId: cda.setId,
    version: cda.version ?? 1,
    typeCode: cda.typeCode,
    typeLabel: cda.typeLabel,
    title: cda.title,
    effectiveTime: cda.effectiveTime,
    origin: 'received',
    replaces,
    ippKey: local ? ippKey(local) : null,
    patient,
    author: a
      ? {
          ...(a.id ? { id: partyId(a.id) } : {}),
          ...(a.given ? { given: a.given } : {}),
          ...(a.family ? { family: a.family } : {}),
          ...(a.specialty?.code ? { specialty: a.specialty.code } : {}),
          ...(a.organization?.id ? { organization: partyId(a.organization.id) } : {}),
        }
      : null,
    cda: got.cdaBytes(),
    pdf: r.pdf,
  };
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
