// CDA R2 level-1 document (CI-SIS "structuration minimale" + IHE XDS-SD) from a PDF and the patient's
// identity. The header follows the ANS Schematron rules of the CI-SIS conformance material
// (CI-SIS_StructurationMinimale.sch, IHE_XDS-SD.sch and their includes); the body is the PDF, base64.
import { isAscii } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces';
import { checkInsKey, insOidInfo, type PatientIdentity } from '../ins';
import { inspectPdf, PdfError, type PdfInfo } from '../pdf';
import type { CodedConcept, DocumentTypeConcept } from './codes';
import { CdaBuildError } from './errors';
import { isTimeZone, toTs, tsInstant, type DateInput } from './time';
import type {
  AddressInput,
  CdaBuildInput,
  CdaBuildResult,
  CdaId,
  CdaMeta,
  EstablishmentSettings,
  OrganizationInput,
  ProfessionalInput,
  Telecoms,
} from './types';
import {
  administrativeGender,
  confidentialityCode,
  documentType,
  encounterType,
  facilityType,
  practiceSetting,
  specialty,
} from './vocabulary';

/** The OIDs the header uses. */
export const CDA_OIDS = Object.freeze({
  /** templateId: conformance to the HL7 France specifications */
  HL7_FRANCE: '2.16.840.1.113883.2.8.2.1',
  /** templateId: conformance to the CI-SIS */
  CI_SIS: '1.2.250.1.213.1.1.1.1',
  /** templateId: IHE XDS-SD (scanned document / level 1) */
  XDS_SD: '1.3.6.1.4.1.19376.1.2.20',
  /** typeId root (CDA R2 POCD_HD000040) */
  CDA_TYPE_ID: '2.16.840.1.113883.1.3',
  /** national health professional identifiers (IdNat_PS: "8"+RPPS, "0"+ADELI) */
  PS: '1.2.250.1.71.4.2.1',
  /** national structure identifiers (IdNat_Struct: "1"+FINESS, "3"+SIRET) */
  STRUCTURE: '1.2.250.1.71.4.2.2',
  LOINC: '2.16.840.1.113883.6.1',
});

const DEFAULT_TIME_ZONE = 'Europe/Paris';
const OID_RE = /^[0-2](\.(0|[1-9]\d*))+$/;
/** IHE XDS uniqueId: the extension of root^extension is at most 16 characters. */
const MAX_EXTENSION = 16;
const TELECOM_RE = /^(tel|fax|mailto|http|ftp|mllp):\S/;
const PREFIXES = ['M', 'MLLE', 'MME', 'DR', 'MC', 'MG', 'PC', 'PG', 'PR'];

// --- small helpers ------------------------------------------------------------------------------

const missing = (field: string, what: string) => new CdaBuildError('MISSING', field, `${what} is missing (${field})`);
const invalid = (field: string, why: string) => new CdaBuildError('INVALID', field, `${field}: ${why}`);

function str(v: unknown): string {
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
}

/** Characters XML 1.0 cannot carry (C0 controls but tab, CR, LF; U+FFFE/U+FFFF; lone surrogates) are dropped. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '');
}

/** An OID as the CDA identifiers take it: digits and dots, 64 characters at most. */
export function isOid(s: string): boolean {
  return OID_RE.test(s) && s.length <= 64;
}

/** A telecom URI with a prefix the CI-SIS allows (tel:, fax:, mailto:, http:, ftp:, mllp:). */
export function isTelecom(s: string): boolean {
  return TELECOM_RE.test(s);
}

/** A FINESS number: 9 characters, the département (2 digits, or 2A / 2B for Corsica) then 7 digits. */
export function isFiness(s: string): boolean {
  return /^(\d{2}|2[AB])\d{7}$/.test(s);
}

/** Reads an identifier input (see CdaId) under `defaultRoot`. */
export function parseId(value: string | CdaId, defaultRoot: string | undefined, field: string, rootField: string): CdaId {
  let id: CdaId;
  if (typeof value === 'object' && value !== null) {
    id = { root: str(value.root) };
    const ext = str(value.extension);
    if (ext) id.extension = ext;
  } else {
    const s = str(value);
    if (!s) throw missing(field, 'the identifier');
    const caret = s.indexOf('^');
    if (caret >= 0) id = { root: s.slice(0, caret).trim(), extension: s.slice(caret + 1).trim() };
    else if (isOid(s)) id = { root: s };
    else {
      if (!defaultRoot) throw missing(rootField, `the OID for ${field} given as an extension ("${s}")`);
      id = { root: defaultRoot, extension: s };
    }
    if (id.extension === '') delete id.extension;
  }
  if (!isOid(id.root)) throw invalid(field, `"${id.root}" is not an OID (digits and dots, 64 characters at most)`);
  if (id.extension !== undefined && /[\s^]/.test(id.extension)) throw invalid(field, `the extension "${id.extension}" holds white space or "^"`);
  return id;
}

/** The root^extension form of an identifier (the root alone when it has no extension). */
export function formatId(id: CdaId): string {
  return id.extension ? `${id.root}^${id.extension}` : id.root;
}

function sameId(a: CdaId, b: CdaId): boolean {
  return a.root === b.root && (a.extension ?? '') === (b.extension ?? '');
}

/** A new document identifier extension: time (base 36) then random, 16 characters, upper case. */
export function newIdExtension(): string {
  const time = Date.now().toString(36).toUpperCase();
  let rand = '';
  for (const b of randomBytes(MAX_EXTENSION)) rand += (b % 36).toString(36);
  return (time + rand.toUpperCase()).slice(0, MAX_EXTENSION);
}

/** A TS; `instant`: a time is needed (document, authoring and signing times), not a date alone. */
function timeOf(value: DateInput | undefined, field: string, tz: string, instant = false): string {
  if (value === undefined || value === null || value === '') throw missing(field, 'the date');
  const ts = toTs(value, tz);
  const shown = value instanceof Date ? 'an invalid Date' : `"${String(value)}"`;
  if (!ts) throw invalid(field, `${shown} is not a date or date-time (YYYY-MM-DD, ISO 8601 date-time, or HL7 YYYYMMDD[HHMM[SS]][+ZZZZ])`);
  if (instant && ts.length === 8) throw invalid(field, `${shown} is a date without time: a date and time is needed (e.g. 2026-11-23T10:15:00+01:00)`);
  return ts;
}

function checkOrder(start: string, end: string | undefined, field: string): void {
  if (end !== undefined && tsInstant(end) < tsInstant(start)) throw invalid(`${field}.end`, `ends (${end}) before it starts (${start})`);
}

/** The national PS identifier: "8" + RPPS, or kept when already prefixed ("8" + 11 digits, "0" + ADELI). */
export function psIdentifier(idNat: string, field: string): string {
  const v = str(idNat).replace(/\s+/g, '');
  if (/^\d{11}$/.test(v)) return `8${v}`;
  if (/^8\d{11}$/.test(v) || /^0(\d{2}|2[AB])\d{7}$/.test(v)) return v;
  throw invalid(field, `"${idNat}" is neither an RPPS number (11 digits) nor a national PS identifier ("8" + RPPS, "0" + ADELI)`);
}

/** The national structure identifier: "1" + FINESS or "3" + SIRET. */
export function structureIdentifier(id: string, idType: 'FINESS' | 'SIRET', field: string): string {
  const v = str(id).replace(/\s+/g, '');
  if (idType === 'FINESS') {
    if (!isFiness(v)) throw invalid(field, `"${id}" is not a FINESS number (9 characters: 2 for the département, 7 digits)`);
    return `1${v}`;
  }
  if (idType === 'SIRET') {
    if (!/^\d{14}$/.test(v)) throw invalid(field, `"${id}" is not a SIRET number (14 digits)`);
    return `3${v}`;
  }
  throw invalid(`${field.replace(/\.id$/, '')}.idType`, `"${String(idType)}" is neither FINESS nor SIRET`);
}

function checkTelecoms(list: Telecoms | undefined, field: string): string[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw invalid(field, 'expected a list of URIs (tel:…, mailto:…)');
  return list.map((t, i) => {
    const v = str(t);
    if (!isTelecom(v)) throw invalid(`${field}[${i}]`, `"${t}" is not a telecom URI with a prefix the CI-SIS allows (tel:, fax:, mailto:, http:, ftp:, mllp:)`);
    return v;
  });
}

function checkAddress(a: AddressInput | undefined, field: string): AddressInput | undefined {
  if (a === undefined || a === null) return undefined;
  if (typeof a !== 'object') throw invalid(field, 'expected an address object');
  const parts = (['houseNumber', 'streetName', 'additionalLocator', 'postalCode', 'city', 'country'] as const).filter((k) => str(a[k]));
  const lines = (a.lines ?? []).map(str).filter(Boolean);
  if (lines.length && parts.length) {
    throw invalid(field, `either address lines or structured parts (${parts.join(', ')}), not both (CI-SIS addr rule)`);
  }
  if (!lines.length && !parts.length) return undefined;
  return a;
}

// --- resolved inputs ----------------------------------------------------------------------------

interface Professional {
  id: string;
  family: string;
  given: string;
  prefix: string;
  specialty: CodedConcept;
  telecom: string[];
  address?: AddressInput;
}

interface Organization {
  id: string;
  name: string;
  telecom: string[];
  address?: AddressInput;
}

function professional(p: ProfessionalInput | undefined, field: string, isAuthor: boolean): Professional {
  const code = isAuthor ? 'MISSING_AUTHOR' : 'MISSING';
  const role = isAuthor ? 'the author' : field.split('.').pop();
  if (!p || typeof p !== 'object') throw new CdaBuildError(code, field, `${role} is missing (${field}: idNat, family, specialty)`);
  const lacks: string[] = [];
  if (!str(p.idNat)) lacks.push('idNat (RPPS)');
  if (!str(p.family)) lacks.push('family');
  if (!str(p.specialty)) lacks.push('specialty (JDV_AuthorSpecialty-CISIS code)');
  if (lacks.length) {
    const first = lacks[0].split(' ')[0];
    throw new CdaBuildError(code, `${field}.${first}`, `${role} has no ${lacks.join(', no ')} (${field})`);
  }
  const spec = specialty(str(p.specialty));
  if (!spec) throw invalid(`${field}.specialty`, `"${p.specialty}" is not a profession/specialty code of JDV_AuthorSpecialty-CISIS (e.g. G15_10, G15_10/SM26)`);
  const prefix = str(p.prefix).toUpperCase();
  if (prefix && !PREFIXES.includes(prefix)) throw invalid(`${field}.prefix`, `"${p.prefix}" is not one of ${PREFIXES.join(', ')}`);
  return {
    id: psIdentifier(p.idNat, `${field}.idNat`),
    family: clean(str(p.family)),
    given: clean(str(p.given)),
    prefix,
    specialty: spec,
    telecom: checkTelecoms(p.telecom, `${field}.telecom`),
    address: checkAddress(p.address, `${field}.address`),
  };
}

function organization(o: OrganizationInput, field: string, idField = `${field}.id`): Organization {
  if (!o || typeof o !== 'object') throw missing(field, 'the organization');
  if (!str(o.id)) throw missing(idField, 'the organization identifier (FINESS or SIRET)');
  if (!str(o.name)) throw missing(`${field}.name`, 'the organization name');
  return {
    id: structureIdentifier(o.id, o.idType, idField),
    name: clean(str(o.name)),
    telecom: checkTelecoms(o.telecom, `${field}.telecom`),
    address: checkAddress(o.address, `${field}.address`),
  };
}

interface PatientParts {
  ids: CdaId[];
  insIncluded: boolean;
  family: [string, string][];
  given: [string | null, string][];
  gender: CodedConcept;
  birthTime: string | null;
  birthPlace: string;
}

function patientParts(p: PatientIdentity, settings: EstablishmentSettings): PatientParts {
  if (!p || typeof p !== 'object') throw missing('patient', 'the patient identity');
  const ippId = str(p.ipp?.id);
  if (!ippId) throw missing('patient.ipp.id', 'the IPP');
  const ippRoot = str(p.ipp?.oid) || str(settings.ippAuthorityOid);
  if (!ippRoot) throw missing('patient.ipp.oid', 'the IPP assigning authority OID (or settings.ippAuthorityOid)');
  if (!isOid(ippRoot)) throw invalid(str(p.ipp?.oid) ? 'patient.ipp.oid' : 'settings.ippAuthorityOid', `"${ippRoot}" is not an OID`);

  const ids: CdaId[] = [];
  let insIncluded = false;
  const birthDate = str(p.birthDate);
  if (p.qualified === true) {
    const lacks: [string, string][] = [];
    if (!p.ins || !str(p.ins.value) || !str(p.ins.oid)) lacks.push(['patient.ins', 'INS (value and OID)']);
    if (!str(p.birthName)) lacks.push(['patient.birthName', 'birth name']);
    if (!str(p.firstName)) lacks.push(['patient.firstName', 'first birth first name']);
    if (!birthDate) lacks.push(['patient.birthDate', 'birth date']);
    if (p.sex !== 'F' && p.sex !== 'M') lacks.push(['patient.sex', 'sex (F or M)']);
    if (lacks.length) {
      throw new CdaBuildError(
        'MISSING_TRAIT',
        lacks[0][0],
        `qualified identity without its ${lacks.map((l) => `${l[1]} (${l[0]})`).join(', ')}: a document carrying the INS needs every INS trait`,
      );
    }
    const ins = p.ins as NonNullable<PatientIdentity['ins']>;
    const info = insOidInfo(str(ins.oid));
    if (!info) throw invalid('patient.ins.oid', `"${ins.oid}" is not an INS assigning authority OID (1.2.250.1.213.1.4.8 INS-NIR, .9 INS-NIA, .10 test, .11 demo)`);
    const key = checkInsKey(str(ins.value), info.kind);
    if (!key.ok) throw invalid('patient.ins.value', `the INS is not valid: ${key.reason.replace(/\d/g, '#')}`);
    ids.push({ root: str(ins.oid), extension: str(ins.value) });
    insIncluded = true;
  }
  ids.push({ root: ippRoot, extension: ippId });

  const family: [string, string][] = [];
  if (str(p.birthName)) family.push(['BR', clean(str(p.birthName))]);
  if (str(p.usedName)) family.push(['CL', clean(str(p.usedName))]);
  if (!family.length) throw missing('patient.birthName', 'the patient name (birth name or used name)');
  const given: [string | null, string][] = [];
  if (str(p.firstNames)) given.push([null, clean(str(p.firstNames).replace(/\s+/g, ' '))]);
  if (str(p.firstName)) given.push(['BR', clean(str(p.firstName))]);
  if (str(p.usedFirstName)) given.push(['CL', clean(str(p.usedFirstName))]);

  let birthTime: string | null = null;
  if (birthDate) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate);
    birthTime = m ? toTs(birthDate, 'UTC') : null;
    if (!birthTime) throw invalid('patient.birthDate', 'the birth date is not a date (YYYY-MM-DD)');
  }
  const sex = p.sex === 'F' || p.sex === 'M' ? p.sex : 'U';
  return {
    ids,
    insIncluded,
    family,
    given,
    gender: administrativeGender(sex) as CodedConcept,
    birthTime,
    birthPlace: clean(str(p.birthPlace)),
  };
}

// --- XML ----------------------------------------------------------------------------------------

function ii(parent: XMLBuilder, name: string, id: CdaId): XMLBuilder {
  return parent.ele(name, id.extension ? { root: id.root, extension: id.extension } : { root: id.root }).up();
}

function coded(parent: XMLBuilder, name: string, c: CodedConcept, codeSystemName?: string): XMLBuilder {
  const attrs: Record<string, string> = { code: c.code, codeSystem: c.codeSystem };
  if (codeSystemName) attrs.codeSystemName = codeSystemName;
  attrs.displayName = c.displayName;
  return parent.ele(name, attrs).up();
}

function addr(parent: XMLBuilder, a: AddressInput | undefined): void {
  if (!a) return;
  const el = parent.ele('addr');
  const lines = (a.lines ?? []).map(str).filter(Boolean);
  if (lines.length) {
    for (const l of lines) el.ele('streetAddressLine').txt(clean(l));
    return;
  }
  for (const k of ['houseNumber', 'streetName', 'additionalLocator', 'postalCode', 'city', 'country'] as const) {
    const v = str(a[k]);
    if (v) el.ele(k).txt(clean(v));
  }
}

function telecoms(parent: XMLBuilder, list: string[]): void {
  for (const t of list) parent.ele('telecom', { value: t });
}

function personName(parent: XMLBuilder, p: Professional): void {
  const name = parent.ele('name');
  if (p.prefix) name.ele('prefix').txt(p.prefix);
  if (p.given) name.ele('given').txt(p.given);
  name.ele('family').txt(p.family);
}

function organizationEl(parent: XMLBuilder, name: string, o: Organization, industry?: CodedConcept): void {
  const el = parent.ele(name);
  ii(el, 'id', { root: CDA_OIDS.STRUCTURE, extension: o.id });
  el.ele('name').txt(o.name);
  telecoms(el, o.telecom);
  addr(el, o.address);
  if (industry) coded(el, 'standardIndustryClassCode', industry);
}

/** assignedAuthor / assignedEntity content: id, code, addr, telecom, assignedPerson, representedOrganization. */
function assigned(el: XMLBuilder, p: Professional, org: Organization | null, industry?: CodedConcept): void {
  ii(el, 'id', { root: CDA_OIDS.PS, extension: p.id });
  coded(el, 'code', p.specialty);
  addr(el, p.address);
  telecoms(el, p.telecom);
  personName(el.ele('assignedPerson'), p);
  if (org) organizationEl(el, 'representedOrganization', org, industry);
}

/** Stands for the PDF's base64 in the serialized header; the body is the last text node (lastIndexOf). */
const PLACEHOLDER = '@@node-red-contrib-segur-dpi:pdf-base64@@';

// --- entry point --------------------------------------------------------------------------------

function checkSettings(s: EstablishmentSettings): { tz: string } {
  if (!s || typeof s !== 'object') throw missing('settings', 'the establishment settings');
  if (!str(s.documentIdRoot)) throw missing('settings.documentIdRoot', 'the OID of the document identifiers');
  if (!isOid(str(s.documentIdRoot))) throw invalid('settings.documentIdRoot', `"${s.documentIdRoot}" is not an OID`);
  if (s.setIdRoot !== undefined && !isOid(str(s.setIdRoot))) throw invalid('settings.setIdRoot', `"${s.setIdRoot}" is not an OID`);
  if (s.encounterIdRoot !== undefined && !isOid(str(s.encounterIdRoot))) throw invalid('settings.encounterIdRoot', `"${s.encounterIdRoot}" is not an OID`);
  if (!s.custodian || typeof s.custodian !== 'object') throw missing('settings.custodian', 'the custodian (FINESS, name)');
  if (!str(s.custodian.finess)) throw missing('settings.custodian.finess', 'the custodian FINESS');
  if (!str(s.custodian.name)) throw missing('settings.custodian.name', 'the custodian name');
  const tz = str(s.timeZone) || DEFAULT_TIME_ZONE;
  if (!isTimeZone(tz)) throw invalid('settings.timeZone', `"${s.timeZone}" is not an IANA time zone (e.g. Europe/Paris)`);
  return { tz };
}

function coding(value: string | undefined, fallback: string, lookup: (c: string) => CodedConcept | undefined, field: string, fallbackField: string, vs: string): CodedConcept {
  const code = str(value) || str(fallback);
  if (!code) throw missing(field, `the ${vs} code (or ${fallbackField})`);
  const c = lookup(code);
  if (!c) throw invalid(str(value) ? field : fallbackField, `"${code}" is not a code of ${vs}`);
  return c;
}

/** The marker of the level-1 body text: the base64 starts right after it and ends at the next "<". */
const BODY_OPEN = 'representation="B64">';

/**
 * The UTF-8 bytes of a CDA level-1 document: the header and the end are encoded as UTF-8, the base64
 * of the body (ASCII, checked) is copied as Latin-1, sparing the transcoding of megabytes of base64
 * (for the xml of buildCdaN1 with a 10 MiB PDF: about 13 ms against 18 ms for Buffer.from(xml) on the
 * development machine; most of what remains is V8 flattening the spliced string). buildCdaN1Buffer,
 * which never makes that string, is cheaper still. Any XML whose body is not found, short (under
 * 64 KiB) or not ASCII is encoded the ordinary way.
 */
export function cdaToBuffer(xml: string): Buffer {
  const open = xml.indexOf(BODY_OPEN);
  const start = open + BODY_OPEN.length;
  const end = open < 0 ? -1 : xml.indexOf('<', start);
  if (end - start < 65536) return Buffer.from(xml, 'utf8');
  const head = xml.slice(0, start);
  const tail = xml.slice(end);
  const headLen = Buffer.byteLength(head, 'utf8');
  const midLen = end - start;
  const out = Buffer.allocUnsafe(headLen + midLen + Buffer.byteLength(tail, 'utf8'));
  out.write(head, 0, 'utf8');
  out.write(xml.slice(start, end), headLen, midLen, 'latin1');
  out.write(tail, headLen + midLen, 'utf8');
  return isAscii(out.subarray(headLen, headLen + midLen)) ? out : Buffer.from(xml, 'utf8');
}

/** Above this many base64 characters, libxml2 (xmllint without --huge) refuses the text node: 10,000,000 bytes. */
const LIBXML2_MAX_TEXT = 10_000_000;

/**
 * Builds a CDA R2 level-1 document (CI-SIS structuration minimale, IHE XDS-SD) carrying `pdf`.
 *
 * Header, in CDA order: realmCode FR; typeId; templateIds HL7 France, CI-SIS, XDS-SD; id (root
 * settings.documentIdRoot, 16-character extension); code (type, code system and display name of the
 * value set); title; effectiveTime (YYYYMMDDHHMMSS+ZZZZ in settings.timeZone); confidentialityCode;
 * languageCode fr-FR; setId; versionNumber; recordTarget (see below); author (time, PS id, specialty,
 * name, organization); custodian (FINESS); legalAuthenticator (time, signatureCode S, assignedEntity);
 * documentationOf/serviceEvent (period, code, performer whose organization carries the practice setting
 * as standardIndustryClassCode); relatedDocument RPLC (replacement); componentOf/encompassingEncounter
 * (number, type, period, healthCareFacility code TRE_R02 and service). Body: nonXMLBody/text,
 * application/pdf, B64.
 *
 * Patient: patientRole/id = the INS (root its OID, extension its value) ONLY when patient.qualified,
 * then the IPP (root ipp.oid or settings.ippAuthorityOid); name: family BR (birth name), family CL
 * (used name), given without qualifier (the birth first names), given BR (first birth first name),
 * given CL (used first name); administrativeGenderCode (TRE_R303); birthTime (nullFlavor UNK when
 * unknown); birthplace/place/addr/county = the INSEE code of the birth place.
 *
 * The PDF's base64 is spliced into the serialized header (a placeholder in the text node) rather than
 * handed to the DOM builder: see the numbers of npm run bench -- cda.
 *
 * Throws CdaBuildError: BAD_PDF (not a PDF, empty, truncated, encrypted, with JavaScript, a launch
 * action or an embedded file: `cause` is the PdfError),
 * UNKNOWN_TYPE, MISSING_AUTHOR, MISSING_TRAIT (qualified identity without a birth trait or its INS),
 * MISSING or INVALID (any other input: `field` names it).
 */
export async function buildCdaN1(input: CdaBuildInput): Promise<CdaBuildResult> {
  const { head, b64, tail, meta } = await build(input, 'splice');
  return { xml: head + b64 + tail, meta };
}

/**
 * buildCdaN1, giving the document as UTF-8 bytes: the header and the end are encoded as UTF-8 and the
 * base64 of the PDF (ASCII) is written as Latin-1 — without the UTF-8 encoding of a 13 MiB string that
 * Buffer.from(xml) would cost (see npm run bench -- cda). buildMdm and buildMdmBuffer take it as is.
 */
export async function buildCdaN1Buffer(input: CdaBuildInput): Promise<{ bytes: Buffer; meta: CdaMeta }> {
  const { head, b64, tail, meta } = await build(input, 'splice');
  const headLen = Buffer.byteLength(head, 'utf8');
  const bytes = Buffer.allocUnsafe(headLen + b64.length + Buffer.byteLength(tail, 'utf8'));
  bytes.write(head, 0, 'utf8');
  bytes.write(b64, headLen, b64.length, 'latin1');
  bytes.write(tail, headLen + b64.length, 'utf8');
  return { bytes, meta };
}

/**
 * @internal The document in three parts (the base64 of the PDF apart) and its meta. `body` says how
 * the base64 gets into the XML: 'splice' (what buildCdaN1 does) or 'dom' (a text node of xmlbuilder2,
 * serialized with the header: then `head` is the whole document), for the comparison printed by
 * npm run bench -- cda.
 */
export async function build(input: CdaBuildInput, body: 'splice' | 'dom'): Promise<{ head: string; b64: string; tail: string; meta: CdaMeta }> {
  if (!input || typeof input !== 'object') throw missing('input', 'the build input ({pdf, patient, document, settings})');
  const { pdf, patient, document: doc, settings } = input;
  const { tz } = checkSettings(settings);
  if (!doc || typeof doc !== 'object') throw missing('document', 'the document description');
  const now = input.now ?? new Date();

  // what, when, how confidential
  if (!str(doc.type)) throw new CdaBuildError('UNKNOWN_TYPE', 'document.type', 'the document type is missing (document.type: LDL, CRO, ORDONNANCE, CR-BIO, CR-IMAGERIE or a code of JDV_J07-XdsTypeCode-CISIS)');
  const type: DocumentTypeConcept | undefined = documentType(doc.type);
  if (!type) {
    throw new CdaBuildError(
      'UNKNOWN_TYPE',
      'document.type',
      `unknown document type "${doc.type}": expected LDL, CRO, ORDONNANCE, CR-BIO, CR-IMAGERIE or a code of the DMP typeCode value set (JDV_J07-XdsTypeCode-CISIS, TRE_A04-Loinc, TRE_A05-TypeDocComplementaire)`,
    );
  }
  const title = clean(str(doc.title)) || type.displayName;
  const effectiveTime = timeOf(doc.effectiveTime ?? now, 'document.effectiveTime', tz, true);
  const conf = confidentialityCode(str(doc.confidentiality) || 'N');
  if (!conf) throw invalid('document.confidentiality', `"${doc.confidentiality}" is not N, R or V (TRE_A08-HL7Confidentiality)`);

  // who
  const author = professional(doc.author, 'document.author', true);
  const authorTime = doc.author.time !== undefined ? timeOf(doc.author.time, 'document.author.time', tz, true) : effectiveTime;
  const legal = doc.legalAuthenticator ? professional(doc.legalAuthenticator, 'document.legalAuthenticator', false) : author;
  const legalTime = doc.legalAuthenticator?.time !== undefined ? timeOf(doc.legalAuthenticator.time, 'document.legalAuthenticator.time', tz, true) : effectiveTime;
  const custodian = organization(
    { id: settings.custodian.finess, idType: 'FINESS', name: settings.custodian.name, address: settings.custodian.address, telecom: settings.custodian.telecom },
    'settings.custodian',
    'settings.custodian.finess',
  );
  const org = doc.organization ? organization(doc.organization, 'document.organization') : settings.organization ? organization(settings.organization, 'settings.organization') : custodian;

  // the encounter and the act
  const enc = doc.encounter;
  if (!enc || typeof enc !== 'object') throw missing('document.encounter', 'the encounter (start, facility type, practice setting)');
  const encStart = timeOf(enc.start, 'document.encounter.start', tz);
  const encEnd = enc.end !== undefined && enc.end !== '' ? timeOf(enc.end, 'document.encounter.end', tz) : undefined;
  checkOrder(encStart, encEnd, 'document.encounter');
  const facility = coding(enc.facilityType, settings.defaultFacilityType, facilityType, 'document.encounter.facilityType', 'settings.defaultFacilityType', 'TRE_R02-SecteurActivite');
  const setting = coding(enc.practiceSetting, settings.defaultPracticeSetting, practiceSetting, 'document.encounter.practiceSetting', 'settings.defaultPracticeSetting', 'TRE_A01-CadreExercice');
  const encCode = str(enc.code) ? encounterType(str(enc.code)) : undefined;
  if (str(enc.code) && !encCode) throw invalid('document.encounter.code', `"${enc.code}" is not a code of TRE_R304-HL7v3ActCode or TRE_R305-TypeRencontre (IMP, EMER, AMB, EXTERNE, SEANCE…)`);
  const encId = enc.id !== undefined && enc.id !== '' ? parseId(enc.id, str(settings.encounterIdRoot) || undefined, 'document.encounter.id', 'settings.encounterIdRoot') : undefined;
  const se = doc.serviceEvent ?? { start: enc.start, end: enc.end };
  const seStart = timeOf(se.start, 'document.serviceEvent.start', tz);
  const seEnd = se.end !== undefined && se.end !== '' ? timeOf(se.end, 'document.serviceEvent.end', tz) : undefined;
  checkOrder(seStart, seEnd, 'document.serviceEvent');
  if (se.code !== undefined && (!str(se.code.code) || !str(se.code.codeSystem) || !str(se.code.displayName))) {
    throw invalid('document.serviceEvent.code', 'needs code, codeSystem and displayName (CI-SIS documentationOf rule)');
  }
  if (se.code !== undefined && !isOid(str(se.code.codeSystem))) throw invalid('document.serviceEvent.code.codeSystem', `"${se.code.codeSystem}" is not an OID`);
  const performer = se.performer ? professional(se.performer, 'document.serviceEvent.performer', false) : author;

  // identifiers and versions
  const setIdRoot = str(settings.setIdRoot) || str(settings.documentIdRoot);
  const id = doc.id !== undefined && doc.id !== '' ? parseId(doc.id, str(settings.documentIdRoot), 'document.id', 'settings.documentIdRoot') : { root: str(settings.documentIdRoot), extension: newIdExtension() };
  if (id.extension && id.extension.length > MAX_EXTENSION) {
    throw invalid('document.id', `the extension "${id.extension}" is longer than ${MAX_EXTENSION} characters (IHE XDS uniqueId)`);
  }
  let replaces: CdaMeta['replaces'];
  if (doc.replaces) {
    const r = doc.replaces;
    if (r.id === undefined || r.id === '') throw missing('document.replaces.id', 'the id of the replaced document');
    replaces = { id: parseId(r.id, str(settings.documentIdRoot), 'document.replaces.id', 'settings.documentIdRoot') };
    if (r.setId !== undefined && r.setId !== '') replaces.setId = parseId(r.setId, setIdRoot, 'document.replaces.setId', 'settings.setIdRoot');
    if (r.version !== undefined) {
      if (!Number.isInteger(r.version) || r.version < 1) throw invalid('document.replaces.version', `"${r.version}" is not a version number (1, 2, …)`);
      replaces.version = r.version;
    }
    if (sameId(replaces.id, id)) throw invalid('document.id', 'a new version needs a new id: it equals the id of the replaced document');
  }
  let setId: CdaId;
  if (doc.setId !== undefined && doc.setId !== '') setId = parseId(doc.setId, setIdRoot, 'document.setId', 'settings.setIdRoot');
  else if (replaces?.setId) setId = replaces.setId;
  else if (replaces) throw missing('document.replaces.setId', 'the setId of the replaced document (a new version keeps it; or give document.setId)');
  else setId = { root: setIdRoot, extension: newIdExtension() };
  if (replaces?.setId && !sameId(replaces.setId, setId)) throw invalid('document.setId', `a new version keeps the setId of the document it replaces (${formatId(replaces.setId)})`);
  if (sameId(setId, id)) throw invalid('document.setId', 'the setId must differ from the document id');
  let version: number;
  if (doc.version !== undefined) {
    if (!Number.isInteger(doc.version) || doc.version < 1) throw invalid('document.version', `"${doc.version}" is not a version number (1, 2, …)`);
    version = doc.version;
  } else if (replaces) {
    if (replaces.version === undefined) throw missing('document.version', 'the version number of the new version (or document.replaces.version)');
    version = replaces.version + 1;
  } else version = 1;
  if (replaces?.version !== undefined && version <= replaces.version) {
    throw invalid('document.version', `version ${version} does not follow the replaced version ${replaces.version}`);
  }

  const pat = patientParts(patient, settings);

  // the PDF last: the cheap checks first
  let info: PdfInfo;
  try {
    info = await inspectPdf(pdf);
  } catch (err) {
    if (err instanceof PdfError) throw new CdaBuildError('BAD_PDF', 'pdf', `document PDF: ${err.message}`, { cause: err });
    throw err;
  }

  // --- header ---
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('urn:hl7-org:v3', 'ClinicalDocument', {
    'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
  });
  root.ele('realmCode', { code: 'FR' });
  root.ele('typeId', { root: CDA_OIDS.CDA_TYPE_ID, extension: 'POCD_HD000040' });
  root.ele('templateId', { root: CDA_OIDS.HL7_FRANCE });
  root.ele('templateId', { root: CDA_OIDS.CI_SIS });
  root.ele('templateId', { root: CDA_OIDS.XDS_SD });
  ii(root, 'id', id);
  coded(root, 'code', type, type.codeSystem === CDA_OIDS.LOINC ? 'LOINC' : type.valueSet);
  root.ele('title').txt(title);
  root.ele('effectiveTime', { value: effectiveTime });
  coded(root, 'confidentialityCode', conf);
  root.ele('languageCode', { code: 'fr-FR' });
  ii(root, 'setId', setId);
  root.ele('versionNumber', { value: String(version) });

  const role = root.ele('recordTarget').ele('patientRole');
  for (const pid of pat.ids) ii(role, 'id', pid);
  const pt = role.ele('patient');
  const name = pt.ele('name');
  for (const [q, v] of pat.family) name.ele('family', { qualifier: q }).txt(v);
  if (pat.given.length) for (const [q, v] of pat.given) name.ele('given', q ? { qualifier: q } : {}).txt(v);
  else name.ele('given', { nullFlavor: 'UNK' });
  coded(pt, 'administrativeGenderCode', pat.gender);
  pt.ele('birthTime', pat.birthTime ? { value: pat.birthTime } : { nullFlavor: 'UNK' });
  if (pat.birthPlace) pt.ele('birthplace').ele('place').ele('addr').ele('county').txt(pat.birthPlace);

  const au = root.ele('author');
  au.ele('time', { value: authorTime });
  assigned(au.ele('assignedAuthor'), author, org);

  const cust = root.ele('custodian').ele('assignedCustodian').ele('representedCustodianOrganization');
  ii(cust, 'id', { root: CDA_OIDS.STRUCTURE, extension: custodian.id });
  cust.ele('name').txt(custodian.name);
  if (custodian.telecom.length) cust.ele('telecom', { value: custodian.telecom[0] });
  addr(cust, custodian.address);

  const la = root.ele('legalAuthenticator');
  la.ele('time', { value: legalTime });
  la.ele('signatureCode', { code: 'S' });
  assigned(la.ele('assignedEntity'), legal, org);

  const ev = root.ele('documentationOf').ele('serviceEvent', { classCode: 'ACT', moodCode: 'EVN' });
  if (se.code) {
    const attrs: Record<string, string> = { code: str(se.code.code), codeSystem: str(se.code.codeSystem) };
    if (str(se.code.codeSystemName)) attrs.codeSystemName = str(se.code.codeSystemName);
    attrs.displayName = clean(str(se.code.displayName));
    ev.ele('code', attrs);
  }
  const evTime = ev.ele('effectiveTime');
  evTime.ele('low', { value: seStart });
  if (seEnd) evTime.ele('high', { value: seEnd });
  assigned(ev.ele('performer', { typeCode: 'PRF' }).ele('assignedEntity'), performer, org, setting);

  if (replaces) {
    const parent = root.ele('relatedDocument', { typeCode: 'RPLC' }).ele('parentDocument');
    ii(parent, 'id', replaces.id);
    if (replaces.setId) ii(parent, 'setId', replaces.setId);
    if (replaces.version !== undefined) parent.ele('versionNumber', { value: String(replaces.version) });
  }

  const ee = root.ele('componentOf').ele('encompassingEncounter');
  if (encId) ii(ee, 'id', encId);
  if (encCode) coded(ee, 'code', encCode);
  const eeTime = ee.ele('effectiveTime');
  eeTime.ele('low', { value: encStart });
  if (encEnd) eeTime.ele('high', { value: encEnd });
  const hcf = ee.ele('location').ele('healthCareFacility');
  coded(hcf, 'code', facility);
  const spo = hcf.ele('serviceProviderOrganization');
  ii(spo, 'id', { root: CDA_OIDS.STRUCTURE, extension: org.id });
  spo.ele('name').txt(clean(str(enc.service)) || org.name);

  const text = root.ele('component').ele('nonXMLBody').ele('text', { mediaType: 'application/pdf', representation: 'B64' });
  const b64 = pdf.toString('base64');
  let parts: { head: string; b64: string; tail: string };
  if (body === 'dom') {
    text.txt(b64);
    parts = { head: root.end({ prettyPrint: true }), b64: '', tail: '' };
  } else {
    text.txt(PLACEHOLDER);
    const serialized = root.end({ prettyPrint: true });
    const at = serialized.lastIndexOf(PLACEHOLDER);
    parts = { head: serialized.slice(0, at), b64, tail: serialized.slice(at + PLACEHOLDER.length) };
  }

  const warnings: string[] = [];
  if (!info.pdfa) warnings.push('the PDF declares no PDF/A conformance (XMP pdfaid): the CI-SIS expects PDF/A-1 for a level-1 document');
  else if (info.pdfa.part !== 1) warnings.push(`the PDF declares PDF/A-${info.pdfa.part}${info.pdfa.conformance ?? ''}: the CI-SIS level-1 check expects PDF/A-1`);
  if (b64.length > LIBXML2_MAX_TEXT) {
    warnings.push(
      `the base64 body is ${b64.length} characters: libxml2-based validators (xmllint without --huge) refuse text nodes over ${LIBXML2_MAX_TEXT} bytes (a PDF over about 7.15 MiB)`,
    );
  }

  const meta: CdaMeta = {
    id,
    setId,
    version,
    typeCode: type.code,
    type,
    title,
    effectiveTime,
    confidentiality: conf.code as CdaMeta['confidentiality'],
    insIncluded: pat.insIncluded,
    pdfa: info.pdfa,
    pages: info.pages,
    warnings,
  };
  if (replaces) meta.replaces = replaces;
  return { ...parts, meta };
}

