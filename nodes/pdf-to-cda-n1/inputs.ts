// The inputs of pdf-to-cda-n1 read and checked (payload bytes, settings, MDM event), and the texts of
// its errors: they name the input at fault, never the value it holds (no patient data in logs).
import { createHash } from 'node:crypto';
import {
  CdaBuildError,
  DOCUMENT_TYPE_ALIASES,
  DOCUMENT_TYPES,
  HEALTHCARE_FACILITY_TYPES,
  PRACTICE_SETTINGS,
  type CdaMeta,
  type EstablishmentSettings,
  type MdmKind,
} from '../../lib/cda';
import { PdfError } from '../../lib/pdf';
import type { NodeDef } from '../shared/red';

export interface PdfToCdaDef extends NodeDef {
  store?: string;
  documentIdRoot?: string;
  setIdRoot?: string;
  ippAuthorityOid?: string;
  encounterIdRoot?: string;
  custodianFiness?: string;
  custodianName?: string;
  custodianStreet?: string;
  custodianPostalCode?: string;
  custodianCity?: string;
  custodianTelecom?: string;
  defaultFacilityType?: string;
  defaultPracticeSetting?: string;
  timeZone?: string;
  hl7SendingApplication?: string;
  hl7SendingFacility?: string;
  hl7ReceivingApplication?: string;
  hl7ReceivingFacility?: string;
  hl7Version?: string;
  hl7ProcessingId?: string;
  defaultType?: string;
  requirePdfA?: boolean;
  archive?: boolean;
  /** MiB */
  maxPdfSize?: string | number;
}

/** What output 1 and 2 carry in msg.cda. */
export interface CdaSummary {
  id: string;
  setId: string;
  version: number;
  typeCode: string;
  title: string;
  effectiveTime: string;
  insIncluded: boolean;
  pdfa: CdaMeta['pdfa'];
  archived: boolean;
  /** MDM^T04 only: the archived document was marked cancelled. */
  cancelled?: boolean;
  warnings: string[];
}

export type PdfToCdaErrorCode =
  | CdaBuildError['code']
  /** msg.payload is not a PDF as a Buffer or a base64 string; msg.patient, msg.ipp, msg.document, msg.settings or msg.mdm of the wrong type */
  | 'BAD_INPUT'
  /** the PDF is larger than maxPdfSize */
  | 'TOO_LARGE'
  /** requirePdfA is on and the PDF declares no PDF/A-1 conformance */
  | 'NOT_PDFA'
  /** msg.ipp is not in the ins store */
  | 'UNKNOWN_IPP'
  /** msg.ipp or archiving needs the ins store, and there is none (or it cannot be used) */
  | 'NO_STORE'
  /** the ins store refused the document (or already holds another one under its id) */
  | 'ARCHIVE';

/** A Catch-able error: `code` (msg.error.code), the input at fault in `field`, a message naming it (never its value). */
export class PdfToCdaError extends Error {
  constructor(
    readonly code: PdfToCdaErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(message.includes(field) ? message : `${field}: ${message}`);
  }
}

export const MiB = 1024 * 1024;
export const DEFAULT_MAX_PDF_MIB = 50;
const MDM_KINDS: readonly MdmKind[] = ['T02', 'T10', 'T04'];
const BASE64 = /^[A-Za-z0-9+/\-_\s]*={0,2}\s*$/;
const DATA_URI = /^data:application\/pdf;base64,/i;

export const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

// --- error texts: fields, not values -----------------------------------------------------------

/** Fields whose values are codes or establishment settings: the builder's message may quote them. */
const CODE_FIELDS = /^(document\.type|document\.confidentiality|document\.encounter\.(facilityType|practiceSetting|code)|document\.(author|legalAuthenticator|serviceEvent\.performer)\.(specialty|prefix)|settings(\..*)?|kind|msg\.mdm)$/;

/** A builder message without the values it quotes: quoted text, long digit runs (dates, numbers; OIDs kept). */
export function redactValues(text: string): string {
  return text.replace(/"[^"]*"/g, '"***"').replace(/(?<![\d.])\d{6,}(?:[+-]\d{4})?(?![\d.])/g, '***');
}

const PATIENT_INVALID: Record<string, string> = {
  'patient.ins.value': 'not a valid INS (malformed matricule or wrong key)',
  'patient.ins.oid': 'not an INS assigning authority OID (1.2.250.1.213.1.4.8 INS-NIR, .9 INS-NIA, .10 test, .11 demo)',
  'patient.ipp.oid': 'not an OID',
  'patient.birthDate': 'not a date (YYYY-MM-DD)',
  patient: 'the identity is not the one the document was built for',
  'patient.qualified': 'the qualification of the identity does not match the document',
};

/** The text of a CdaBuildError as it may leave the node. */
export function describeBuildError(e: CdaBuildError): string {
  const f = e.field;
  if (f === 'patient' || f.startsWith('patient.')) {
    if (e.code === 'MISSING_TRAIT') {
      const fields = [...e.message.matchAll(/\((patient\.[\w.]+)\)/g)].map((m) => m[1]);
      return `qualified identity without ${(fields.length ? fields : [f]).join(', ')}: a document carrying the INS needs every INS trait (INS, birth name, first birth first name, birth date, sex F or M)`;
    }
    if (e.code === 'MISSING') return redactValues(e.message);
    return `${f}: ${PATIENT_INVALID[f] ?? 'invalid value'}`;
  }
  if (e.code === 'BAD_PDF') {
    const cause = e.cause instanceof PdfError ? ` (${e.cause.code})` : '';
    return `${redactValues(e.message)}${cause}`;
  }
  return CODE_FIELDS.test(f) ? e.message : redactValues(e.message);
}

// --- inputs -------------------------------------------------------------------------------------

/** msg.payload as the PDF bytes: a Buffer / Uint8Array, a base64 string (optionally a data: URI), or a serialized Buffer. */
export function pdfBytes(payload: unknown, maxBytes: number): Buffer {
  const tooLarge = (n: number) =>
    new PdfToCdaError('TOO_LARGE', 'msg.payload', `the PDF is too large: ${(n / MiB).toFixed(1)} MiB, the limit is ${maxBytes / MiB} MiB (maxPdfSize)`);
  let buf: Buffer;
  if (Buffer.isBuffer(payload)) buf = payload;
  else if (payload instanceof Uint8Array) buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  else if (typeof payload === 'string') {
    let s = payload;
    const uri = DATA_URI.exec(s.slice(0, 40));
    if (uri) s = s.slice(uri[0].length);
    // reject an oversize string before decoding it (4 base64 characters per 3 bytes, some room for line breaks)
    if (s.length > Math.ceil((maxBytes * 4) / 3) * 1.05 + 4096) throw tooLarge(Math.floor((s.length * 3) / 4));
    buf = Buffer.from(s, 'base64');
    // Node skips what is not base64: unbroken base64 (length a multiple of 4) decodes to exactly 3 bytes
    // per 4 characters less the padding, anything skipped makes it shorter; only then is the string
    // scanned (line breaks, or not base64 at all), which costs about twice the decoding
    const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
    if (!(s.length % 4 === 0 && buf.length === (s.length / 4) * 3 - pad) && !BASE64.test(s)) {
      const hint = s.startsWith('%PDF-') ? ' (this one is the PDF itself: give it as a Buffer)' : '';
      throw new PdfToCdaError('BAD_INPUT', 'msg.payload', `a string payload must be the base64 of the PDF${hint}`);
    }
  } else if (isObject(payload) && payload.type === 'Buffer' && Array.isArray(payload.data)) {
    buf = Buffer.from(payload.data as number[]);
  } else {
    throw new PdfToCdaError('BAD_INPUT', 'msg.payload', `msg.payload must be the PDF as a Buffer or a base64 string, not ${describeValue(payload)}`);
  }
  if (buf.length > maxBytes) throw tooLarge(buf.length);
  return buf;
}

/** The settings of the edit dialog, empty fields left out. */
export function configSettings(c: PdfToCdaDef): Partial<EstablishmentSettings> {
  const s: Partial<EstablishmentSettings> = {};
  const set = <K extends keyof EstablishmentSettings>(key: K, v: unknown) => {
    if (str(v)) s[key] = str(v) as EstablishmentSettings[K];
  };
  set('documentIdRoot', c.documentIdRoot);
  set('setIdRoot', c.setIdRoot);
  set('ippAuthorityOid', c.ippAuthorityOid);
  set('encounterIdRoot', c.encounterIdRoot);
  set('defaultFacilityType', c.defaultFacilityType);
  set('defaultPracticeSetting', c.defaultPracticeSetting);
  s.timeZone = str(c.timeZone) || 'Europe/Paris';
  const custodian: EstablishmentSettings['custodian'] = { finess: str(c.custodianFiness), name: str(c.custodianName) };
  const address = { streetName: str(c.custodianStreet), postalCode: str(c.custodianPostalCode), city: str(c.custodianCity) };
  const parts = Object.entries(address).filter(([, v]) => v);
  if (parts.length) custodian.address = Object.fromEntries(parts);
  if (str(c.custodianTelecom)) custodian.telecom = [str(c.custodianTelecom)];
  s.custodian = custodian;
  const hl7: NonNullable<EstablishmentSettings['hl7']> = {};
  if (str(c.hl7SendingApplication)) hl7.sendingApplication = str(c.hl7SendingApplication);
  if (str(c.hl7SendingFacility)) hl7.sendingFacility = str(c.hl7SendingFacility);
  if (str(c.hl7ReceivingApplication)) hl7.receivingApplication = str(c.hl7ReceivingApplication);
  if (str(c.hl7ReceivingFacility)) hl7.receivingFacility = str(c.hl7ReceivingFacility);
  if (['2.5', '2.5.1', '2.6'].includes(str(c.hl7Version))) hl7.version = str(c.hl7Version) as '2.6';
  if (['P', 'T', 'D'].includes(str(c.hl7ProcessingId))) hl7.processingId = str(c.hl7ProcessingId) as 'P';
  s.hl7 = hl7;
  return s;
}

/**
 * The settings of a message: msg.settings over the configured ones, field by field; `custodian` and
 * `hl7` one level deeper (msg.settings.custodian.name alone changes the name only). Fields set to
 * undefined in msg.settings are ignored.
 */
export function mergeSettings(base: Partial<EstablishmentSettings>, over: unknown): EstablishmentSettings {
  if (over === undefined || over === null) return base as EstablishmentSettings;
  if (!isObject(over)) throw new PdfToCdaError('BAD_INPUT', 'msg.settings', `msg.settings must be an object, not ${describeValue(over)}`);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = (base as Record<string, unknown>)[k];
    out[k] = (k === 'custodian' || k === 'hl7') && isObject(v) && isObject(b) ? { ...b, ...v } : v;
  }
  return out as unknown as EstablishmentSettings;
}

/** The MDM event: msg.mdm (a string) when given, else T04 for document.cancel, T10 for document.replaces, else T02. */
export function mdmKind(mdm: unknown, given: Record<string, unknown>): MdmKind {
  if (typeof mdm === 'string' && mdm.trim()) {
    const kind = mdm.trim().toUpperCase().replace(/^MDM\^/, '');
    if (!(MDM_KINDS as readonly string[]).includes(kind)) throw new PdfToCdaError('BAD_INPUT', 'msg.mdm', `msg.mdm "${mdm}" is not T02, T10 or T04`);
    return kind as MdmKind;
  }
  if (given.cancel === true) return 'T04';
  if (given.replaces !== undefined && given.replaces !== null && given.replaces !== '') return 'T10';
  return 'T02';
}

/** "YYYYMMDDHHMMSS+ZZZZ" (or YYYYMMDD) as ISO 8601. */
export function tsToIso(ts: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?([+-]\d{2})(\d{2}))?$/.exec(ts);
  if (!m) return ts;
  if (!m[4]) return `${m[1]}-${m[2]}-${m[3]}`;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}${m[7]}:${m[8]}`;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The alias of a type code (LDL…) for the status, else the code. */
export const ALIAS_OF = new Map(Object.entries(DOCUMENT_TYPE_ALIASES).map(([alias, code]) => [code, alias]));

/** The code lists the edit dialog offers (GET pdf-to-cda-n1/codes). */
export function editorCodes() {
  const pick = (rows: readonly { code: string; displayName: string }[]) => rows.map((r) => ({ code: r.code, displayName: r.displayName }));
  const types = new Map(DOCUMENT_TYPES.map((t) => [t.code, t.displayName]));
  return {
    documentTypes: [
      ...Object.entries(DOCUMENT_TYPE_ALIASES).map(([alias, code]) => ({ code: alias, displayName: `${types.get(code) ?? ''} (${code})` })),
      ...pick(DOCUMENT_TYPES),
    ],
    facilityTypes: pick(HEALTHCARE_FACILITY_TYPES),
    practiceSettings: pick(PRACTICE_SETTINGS),
  };
}
