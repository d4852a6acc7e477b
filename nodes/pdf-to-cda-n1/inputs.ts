// The inputs of pdf-to-cda-n1 read and checked (payload bytes, settings, the request and its carrier),
// and the texts of its errors: they name the input at fault, never the value it holds (no patient data
// in logs).
import { createHash } from 'node:crypto';
import {
  CdaBuildError,
  DOCUMENT_TYPE_ALIASES,
  DOCUMENT_TYPES,
  HEALTHCARE_FACILITY_TYPES,
  PRACTICE_SETTINGS,
  DOCUMENT_ACTIONS,
  MESSAGE_PROFILES,
  type Carrier,
  type CdaMeta,
  type DocumentAction,
  type EstablishmentSettings,
  type MdmKind,
} from '../../lib/cda';
import { PdfError } from '../../lib/pdf';
import type { NodeDef } from '../shared/red';

export interface PdfToCdaDef extends NodeDef {
  store?: string;
  /** The segur-establishment configuration node; the fields below are the node's own, from before it (used without one). */
  establishment?: string;
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
  hl7ProcessingId?: string;
  /** MDM (default) or ORU: the message that carries the document to the PFI. */
  carrier?: string;
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
  /** A deletion only: the archived document was marked cancelled. */
  cancelled?: boolean;
  warnings: string[];
}

export type PdfToCdaErrorCode =
  | CdaBuildError['code']
  /**
   * msg.payload is not a PDF as a Buffer or a base64 string; msg.patient, msg.ipp, msg.document,
   * msg.settings, msg.carrier, msg.action or msg.mdm of the wrong type or value, or asking for another
   * request than msg.document
   */
  | 'BAD_INPUT'
  /** the PDF is larger than maxPdfSize */
  | 'TOO_LARGE'
  /** requirePdfA is on and the PDF declares no PDF/A-1 conformance */
  | 'NOT_PDFA'
  /** msg.ipp is not in the ins store */
  | 'UNKNOWN_IPP'
  /** msg.ipp or archiving needs the ins store, and there is none (or it cannot be used) */
  | 'NO_STORE'
  /** the ins store refused the document (or already holds another one under its id), or the step 'sent' of its journey */
  | 'ARCHIVE'
  /** no establishment: none selected (and no settings of the node's own, nor msg.settings), or its configuration node is not deployed */
  | 'NO_ESTABLISHMENT'
  /** the establishment selected is wrong (its configuration node logged why at deploy) */
  | 'BAD_ESTABLISHMENT';

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

/**
 * The name, in the establishment's dialog, of each setting a document cannot do without: the document id
 * OID, the custodian's FINESS and name, and the MSH fields the volet requires (profils-messages.md, "Le
 * segment MSH": MSH-3 to MSH-6 R).
 */
const SETTING_LABELS: Readonly<Record<string, string>> = Object.freeze({
  'settings.documentIdRoot': 'the document id OID',
  'settings.custodian': 'the FINESS and the name of the establishment',
  'settings.custodian.finess': 'the FINESS',
  'settings.custodian.name': 'the establishment name',
  'settings.hl7.sendingApplication': 'MSH-3 sending application',
  'settings.hl7.sendingFacility': 'MSH-4 sending facility',
  'settings.hl7.receivingApplication': 'MSH-5 receiving application',
  'settings.hl7.receivingFacility': 'MSH-6 receiving facility',
});

/**
 * DESTDMP for an identity that is not qualified: the DMP's patientId is the INS (mapping.md, "Mapping
 * XDS"); publishing, replacing and deleting on the DMP each need it qualified (def-proc-collab.md, the
 * pré-conditions of the three processes), MSSanté does not (same places: "une dérogation … permet
 * d'échanger un courriel par MSSanté en l'absence d'un INS qualifié"; change-log.md 2.1: "pour la
 * transmission via MSSanté : l'INS qualifié n'est pas obligatoire").
 */
const DMP_NOT_QUALIFIED =
  'document.sharing.dmp: the DMP needs the qualified INS of the patient (DESTDMP: the DMP identifies the patient by the INS) and this identity is not qualified; ' +
  'sending the document by MSSanté stays possible (document.sharing.mssantePs and its recipients; the document then goes without the INS)';

/**
 * The text of a CdaBuildError as it may leave the node. `where`: where the settings come from, for a
 * setting missing (e.g. 'the establishment "CHU X" (segur-establishment)').
 */
export function describeBuildError(e: CdaBuildError, where = "the node's dialog"): string {
  const f = e.field;
  if (e.code === 'NOT_QUALIFIED' && f === 'document.sharing.dmp') return DMP_NOT_QUALIFIED;
  if (e.code === 'MISSING' && Object.hasOwn(SETTING_LABELS, f)) {
    return `${e.message}: set ${SETTING_LABELS[f]} in ${where} (or ${f.replace(/^settings/, 'msg.settings')})`;
  }
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

const ACTION_OF_MDM: Readonly<Record<string, DocumentAction>> = Object.freeze(
  Object.fromEntries(Object.entries(DOCUMENT_ACTIONS).map(([action, a]) => [a.mdm, action as DocumentAction])),
);

/** msg.action ('new', 'replace', 'delete') or msg.mdm (T02, T10, T04, MDM^… accepted) when given: only strings are read. */
function askedAction(action: unknown, mdm: unknown): { action: DocumentAction; field: string } | null {
  let asked: { action: DocumentAction; field: string } | null = null;
  if (action !== undefined && action !== null && action !== '') {
    const a = typeof action === 'string' ? action.trim().toLowerCase() : '';
    if (!Object.hasOwn(DOCUMENT_ACTIONS, a)) throw new PdfToCdaError('BAD_INPUT', 'msg.action', `msg.action must be "new", "replace" or "delete", not ${typeof action === 'string' ? `"${action}"` : describeValue(action)}`);
    asked = { action: a as DocumentAction, field: 'msg.action' };
  }
  if (typeof mdm === 'string' && mdm.trim()) {
    const kind = mdm.trim().toUpperCase().replace(/^MDM\^/, '');
    if (!Object.hasOwn(ACTION_OF_MDM, kind)) throw new PdfToCdaError('BAD_INPUT', 'msg.mdm', `msg.mdm "${mdm}" is not T02, T10 or T04`);
    if (asked && asked.action !== ACTION_OF_MDM[kind]) throw new PdfToCdaError('BAD_INPUT', 'msg.mdm', `msg.mdm ${kind} and msg.action "${asked.action}" ask for different things`);
    asked ??= { action: ACTION_OF_MDM[kind], field: 'msg.mdm' };
  }
  return asked;
}

/**
 * The request (evenements-declenchants.md): msg.action or msg.mdm when given, else a deletion for
 * document.cancel, a replacement for document.replaces, else a new document. A change of visibility
 * (sharing.confidentialityChange, MODIF_CONF_CODE) is a replacement: the volet manages the update of
 * the masking and visibility metadata "comme un remplacement de document" (contexte-metier.md;
 * change-log.md 1.2: the "Remplacement d'un document" process takes the masking / unmasking and the
 * visibility), so it is refused beside a deletion or a new document.
 */
export function documentAction(action: unknown, mdm: unknown, given: Record<string, unknown>): DocumentAction {
  const asked = askedAction(action, mdm);
  const cancel = given.cancel === true;
  const replaces = given.replaces !== undefined && given.replaces !== null && given.replaces !== '';
  const chosen = asked?.action ?? (cancel ? 'delete' : replaces ? 'replace' : 'new');
  if (asked && cancel && chosen !== 'delete') {
    throw new PdfToCdaError('BAD_INPUT', asked.field, `document.cancel asks for a deletion, ${asked.field} for ${chosen === 'new' ? 'a new document' : 'a replacement'}`);
  }
  if (asked && replaces && chosen === 'new') {
    throw new PdfToCdaError('BAD_INPUT', asked.field, `document.replaces asks for a replacement, ${asked.field} for a new document`);
  }
  const sharing = given.sharing;
  if (isObject(sharing) && sharing.confidentialityChange === true && chosen !== 'replace') {
    throw new PdfToCdaError(
      'INVALID',
      'document.sharing.confidentialityChange',
      `document.sharing.confidentialityChange: a change of visibility is a replacement (MDM^T10 / OBX-11 C with MODIF_CONF_CODE Y), not ${chosen === 'delete' ? 'a deletion' : 'a new document'}: send the new version with document.replaces naming the document it replaces`,
    );
  }
  return chosen;
}

/** The carrier: msg.carrier (MDM or ORU) when given, else the node's. */
export function carrierOf(asked: unknown, configured: Carrier): Carrier {
  if (asked === undefined || asked === null || asked === '') return configured;
  const c = typeof asked === 'string' ? asked.trim().toUpperCase() : '';
  if (c !== 'MDM' && c !== 'ORU') throw new PdfToCdaError('BAD_INPUT', 'msg.carrier', `msg.carrier must be "MDM" or "ORU", not ${typeof asked === 'string' ? `"${asked}"` : describeValue(asked)}`);
  return c;
}

/** What output 2 says in msg.transmission: the message, the request, MSH-10 and MSH-21. */
export interface TransmissionSummary {
  carrier: Carrier;
  /** MSH-9.1^MSH-9.2: MDM^T02, MDM^T10, MDM^T04 or ORU^R01. */
  event: string;
  action: DocumentAction;
  controlId: string;
  /** MSH-21: 2.1^CISIS_CDA_HL7_V2. */
  profile: string;
}

export function transmissionSummary(carrier: Carrier, action: DocumentAction, controlId: string): TransmissionSummary {
  const profile = MESSAGE_PROFILES.transmission;
  return { carrier, event: carrier === 'MDM' ? `MDM^${DOCUMENT_ACTIONS[action].mdm}` : 'ORU^R01', action, controlId, profile: `${profile.version}^${profile.namespace}` };
}

/** The MDM event of a request (msg.mdm.event on output 2). */
export const mdmEvent = (action: DocumentAction): MdmKind => DOCUMENT_ACTIONS[action].mdm as MdmKind;

/** "YYYYMMDDHHMMSS+ZZZZ" (or YYYYMMDD) as ISO 8601. */
export function tsToIso(ts: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?([+-]\d{2})(\d{2}))?$/.exec(ts);
  if (!m) return ts;
  if (!m[4]) return `${m[1]}-${m[2]}-${m[3]}`;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}${m[7]}:${m[8]}`;
}

/** ISO 8601 as tsToIso writes it ("YYYY-MM-DDTHH:MM:SS+ZZ:ZZ", or YYYY-MM-DD) back to "YYYYMMDDHHMMSS+ZZZZ". */
export function isoToTs(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})([+-]\d{2}):(\d{2}))?$/.exec(iso);
  if (!m) return iso;
  return m[4] ? `${m[1]}${m[2]}${m[3]}${m[4]}${m[5]}${m[6]}${m[7]}${m[8]}` : `${m[1]}${m[2]}${m[3]}`;
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
