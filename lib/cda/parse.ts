// Reading a CDA R2 document received from outside (CI-SIS header; level 1: a PDF in nonXMLBody, level 3:
// a structuredBody): what it is, who it is about (the INS and the birth traits), and the PDF, byte for
// byte. The XML is read by lib/cda/xml.ts (no DTD, no entities, bounded size and depth).
import { checkInsKey, insOidInfo, LEGACY_INS_OIDS, type InsEnvironment, type InsKind } from '../ins';
import type { CdaId } from './types';
import { CdaRejectError, checkXmlHead, DEFAULT_MAX_BYTES, readXml, type OpenDirective, type SafeXmlOptions, type XmlTag } from './xml';

export const HL7_V3_NS = 'urn:hl7-org:v3';

/** A coded value as written (code, codeSystem, displayName attributes; '' when absent). */
export interface CdaCode {
  code: string;
  codeSystem: string;
  displayName: string;
}

/** The INS read from recordTarget/patientRole/id (root one of INS_OIDS). */
export interface CdaIns {
  /** The matricule as written (15 characters when well formed). */
  value: string;
  /** The id's root: 1.2.250.1.213.1.4.8 (INS-NIR), .9 (INS-NIA), .10 (INS-NIR test), .11 (INS-NIR demo). */
  oid: string;
  kind: InsKind;
  environment: InsEnvironment;
  /** checkInsKey for the OID's kind: a wrong key must never be used to find a patient. */
  keyValid: boolean;
  /** Why the key check failed (null when valid). */
  keyError: string | null;
  /** 'test' / 'demo' for the INS-NIR of the test / demonstration environments, null in production. */
  flagged: 'test' | 'demo' | null;
}

/** The patient's traits as the document gives them (CI-SIS name qualifiers). */
export interface CdaTraits {
  /** family qualifier="BR" (else the first family without qualifier). */
  birthName: string;
  /** The given names without qualifier (the birth first names), space separated. */
  firstNames: string;
  /** given qualifier="BR" (first birth first name), else the first word of firstNames. */
  firstName: string;
  /** family qualifier="CL" (used name), else qualifier="SP" (spouse's name). */
  usedName: string;
  /** given qualifier="CL" (used first name). */
  usedFirstName: string;
  /** birthTime as YYYY-MM-DD ('' when absent or not a full date). */
  birthDate: string;
  /** administrativeGenderCode/@code: F, M, else U. */
  sex: 'F' | 'M' | 'U';
  /** birthplace/place/addr/county: the INSEE code of the birth place ('' when absent). */
  birthPlace: string;
}

export interface CdaReading {
  /** ClinicalDocument/id (null when absent). */
  id: CdaId | null;
  setId: CdaId | null;
  /** versionNumber/@value (null when absent or not an integer). */
  version: number | null;
  /** ClinicalDocument/code. */
  code: CdaCode | null;
  /** ClinicalDocument/code/@code (the document type, e.g. 11502-2 CR d'examens biologiques). */
  typeCode: string;
  title: string;
  /** effectiveTime/@value in ISO 8601 (2026-11-23T10:15:00+01:00, or 2026-11-23 for a date); '' when absent or invalid. */
  effectiveTime: string;
  /** confidentialityCode/@code (N, R, V). */
  confidentiality: string;
  /** ClinicalDocument/templateId/@root values. */
  templateIds: string[];
  /** The first author. */
  author: {
    id: CdaId | null;
    given: string;
    family: string;
    /** assignedAuthor/code (profession / specialty). */
    specialty: CdaCode | null;
    organization: { id: CdaId | null; name: string } | null;
  } | null;
  custodian: { id: CdaId | null; name: string } | null;
  patient: {
    /** The INS (the first patientRole/id under an INS OID), null when there is none. */
    ins: CdaIns | null;
    /**
     * The document names several different INS (another value, or the same under another OID): it says
     * two things about whose it is, and is never matched on either (lib/cda matchPatient: ins-ambiguous).
     */
    insAmbiguous: boolean;
    /** Every recordTarget/patientRole/id (the INS included), in document order. */
    ids: CdaId[];
    traits: CdaTraits;
  };
  /** 1: nonXMLBody (a PDF), 3: structuredBody. */
  level: 1 | 3;
  /** Level 1: the PDF, decoded byte for byte from nonXMLBody/text. Level 3: null. */
  pdf: Buffer | null;
  /** Level 3: the structuredBody element exactly as written in the document. */
  bodyXml?: string;
  /** relatedDocument (the document this one replaces, RPLC, or appends to, APND…). */
  relatedDocument?: { type: string; parentId: CdaId | null; parentSetId: CdaId | null; parentVersion: number | null };
  /** What was read but is odd (several INS, an INS-C, a PDF without %%EOF…). No patient data in them. */
  warnings: string[];
  /** Size of the document in bytes, and the encoding it was read in. */
  bytes: number;
  encoding: string;
}

/** maxBytes (default 50 MiB), maxDepth (256), maxElements (1,000,000): see SafeXmlOptions. */
export type ReadCdaOptions = SafeXmlOptions;

// --- helpers --------------------------------------------------------------------------------------

function idOf(attrs: Readonly<Record<string, string>>): CdaId | null {
  const root = (attrs.root ?? '').trim();
  if (!root) return null;
  const extension = (attrs.extension ?? '').trim();
  return extension ? { root, extension } : { root };
}

function codeOf(attrs: Readonly<Record<string, string>>): CdaCode | null {
  if (attrs.code === undefined && attrs.displayName === undefined) return null;
  return { code: (attrs.code ?? '').trim(), codeSystem: (attrs.codeSystem ?? '').trim(), displayName: attrs.displayName ?? '' };
}

function daysIn(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

const TS = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(?:(\d{2})(?:\.\d+)?)?)?([+-]\d{4})?$/;

/** An HL7 TS (YYYYMMDD[HHMM[SS[.s]]][±ZZZZ]) in ISO 8601; '' when it is not one. */
export function tsToIso(ts: string): string {
  const m = TS.exec((ts ?? '').trim());
  if (!m) return '';
  const [, y, mo, d, h, mi, s, zone] = m;
  if (+mo < 1 || +mo > 12 || +d < 1 || +d > daysIn(+y, +mo)) return '';
  if (h === undefined) return `${y}-${mo}-${d}`;
  if (+h > 23 || +mi > 59 || +(s ?? 0) > 59) return '';
  const z = zone ? `${zone.slice(0, 3)}:${zone.slice(3)}` : '';
  return `${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${z}`;
}

const words = (s: string) => s.replace(/\s+/g, ' ').trim();

// --- the reader -----------------------------------------------------------------------------------

/** Paths (below ClinicalDocument, HL7 v3 namespace) of the elements whose text is kept. */
const TEXT_PATHS = new Set([
  'title',
  'recordTarget/patientRole/patient/name/family',
  'recordTarget/patientRole/patient/name/given',
  'recordTarget/patientRole/patient/birthplace/place/addr/county',
  'author/assignedAuthor/assignedPerson/name/family',
  'author/assignedAuthor/assignedPerson/name/given',
  'author/assignedAuthor/representedOrganization/name',
  'custodian/assignedCustodian/representedCustodianOrganization/name',
]);

/** Longest text kept for one header element (a title, a name): more is cut. */
const MAX_TEXT = 4096;

const PDF_MAGIC = '%PDF-';

const MAGIC: [number[], string][] = [
  [[0x50, 0x4b, 0x03, 0x04], 'a ZIP archive (or an Office document)'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
  [[0x49, 0x49, 0x2a, 0x00], 'a TIFF image'],
  [[0x4d, 0x4d, 0x00, 0x2a], 'a TIFF image'],
  [[0x3c], 'XML or HTML'],
];

/** What the first bytes of a body that is not a PDF look like (a file type, or the 5 bytes as ASCII). */
function describeBytes(head: Buffer): string {
  for (const [sig, what] of MAGIC) if (head.length >= sig.length && sig.every((b, i) => head[i] === b)) return what;
  return `"${head.toString('latin1').replace(/[^\x20-\x7e]/g, '?')}"`;
}

/**
 * Reads a CDA R2 document (level 1 or 3) from a string or bytes (see readXml for the encodings and the
 * safety rules: no DTD, no entity, maxBytes default 50 MiB, maxDepth 256, maxElements 1,000,000).
 *
 * Header: id, setId, versionNumber, code, title, effectiveTime, confidentialityCode, templateIds, the
 * first author (id, name, specialty, organization), custodian, relatedDocument. Patient (the single
 * recordTarget/patientRole): every id; the INS is the first id whose root is one of INS_OIDS, its key
 * checked with checkInsKey (a wrong key is kept with keyValid false: never use it to find a patient);
 * traits from the CI-SIS name qualifiers (family BR birth name, CL / SP used name; given without
 * qualifier the birth first names, BR the first one, CL the used one), birthTime, administrativeGenderCode,
 * birthplace/place/addr/county.
 *
 * Body: level 1 is component/nonXMLBody/text with mediaType application/pdf and representation B64:
 * the base64 is read straight from the input into one Buffer (Base64Decoder, strict: BAD_BASE64), and
 * the bytes must start with %PDF- (NOT_PDF, checked on the first decoded window, before the rest is
 * decoded). Level 3 is component/structuredBody, returned as written (bodyXml).
 *
 * Throws CdaRejectError: the codes of readXml, and NOT_CDA (root not ClinicalDocument in urn:hl7-org:v3),
 * BAD_CDA (no or several recordTarget, several bodies), NO_PDF (no body, or nonXMLBody/text not an inline
 * base64 PDF: another media type or representation, compressed, a reference, empty), BAD_BASE64, NOT_PDF.
 */
export function readCda(input: string | Buffer, opts: ReadCdaOptions = {}): CdaReading {
  const warnings: string[] = [];
  const reading: Omit<CdaReading, 'bytes' | 'encoding' | 'level' | 'patient'> = {
    id: null,
    setId: null,
    version: null,
    code: null,
    typeCode: '',
    title: '',
    effectiveTime: '',
    confidentiality: '',
    templateIds: [],
    author: null,
    custodian: null,
    pdf: null,
    warnings,
  };
  const ids: CdaId[] = [];
  const families: { q: string; v: string }[] = [];
  const givens: { q: string; v: string }[] = [];
  let birthTime = '';
  let sex = '';
  let birthPlace = '';
  let recordTargets = 0;
  let authors = 0;
  let bodies = 0;
  let level: 1 | 3 | 0 = 0;
  let nonXmlText = 0;
  let related: CdaReading['relatedDocument'];
  const author = { id: null as CdaId | null, given: [] as string[], family: '', specialty: null as CdaCode | null, orgId: null as CdaId | null, orgName: '', seen: false };
  const custodian = { id: null as CdaId | null, name: '', seen: false };

  // the path of each open element below the root: "recordTarget/patientRole/id"
  const paths: string[] = [];
  let collect: { depth: number; path: string; attrs: Readonly<Record<string, string>>; text: string } | null = null;

  const visitorOpen = (tag: XmlTag): OpenDirective => {
    if (tag.depth === 1) {
      if (tag.local !== 'ClinicalDocument' || tag.uri !== HL7_V3_NS) {
        const ns = tag.uri ? `namespace ${tag.uri}` : 'no namespace';
        throw new CdaRejectError('NOT_CDA', `not a CDA document: the root element is <${tag.name}> in ${ns}, not ClinicalDocument in ${HL7_V3_NS}`);
      }
      paths.length = 0;
      paths.push('');
      return;
    }
    const parent = paths[tag.depth - 2] ?? '';
    const local = tag.uri === HL7_V3_NS ? tag.local : `{${tag.uri}}${tag.local}`;
    const path = parent ? `${parent}/${local}` : local;
    paths[tag.depth - 1] = path;
    const a = tag.attrs;
    const slash = path.indexOf('/');
    const top = slash < 0 ? path : path.slice(0, slash);
    // elements of a second recordTarget / author are counted, not read
    if (tag.depth === 2) {
      if (local === 'recordTarget') recordTargets++;
      else if (local === 'author') authors++;
      else if (local === 'component') bodies++;
    }
    if (top === 'recordTarget' && recordTargets > 1) return;
    if (top === 'author' && authors > 1) return;
    if (TEXT_PATHS.has(path)) collect = { depth: tag.depth, path, attrs: a, text: '' };
    switch (path) {
      case 'id':
        reading.id = idOf(a);
        return;
      case 'setId':
        reading.setId = idOf(a);
        return;
      case 'versionNumber': {
        const v = (a.value ?? '').trim();
        reading.version = /^\d{1,9}$/.test(v) ? Number(v) : null;
        return;
      }
      case 'code':
        reading.code = codeOf(a);
        reading.typeCode = reading.code?.code ?? '';
        return;
      case 'effectiveTime':
        reading.effectiveTime = tsToIso(a.value ?? '');
        if (a.value && !reading.effectiveTime) warnings.push('effectiveTime is not an HL7 time stamp');
        return;
      case 'confidentialityCode':
        reading.confidentiality = (a.code ?? '').trim();
        return;
      case 'templateId':
        if (a.root) reading.templateIds.push(a.root.trim());
        return;
      case 'recordTarget/patientRole/id': {
        const id = idOf(a);
        if (id) ids.push(id);
        return;
      }
      case 'recordTarget/patientRole/patient/administrativeGenderCode':
        sex = (a.code ?? '').trim().toUpperCase();
        return;
      case 'recordTarget/patientRole/patient/birthTime':
        birthTime = (a.value ?? '').trim();
        return;
      case 'author/assignedAuthor':
        author.seen = true;
        return;
      case 'author/assignedAuthor/id':
        if (!author.id) author.id = idOf(a);
        return;
      case 'author/assignedAuthor/code':
        author.specialty = codeOf(a);
        return;
      case 'author/assignedAuthor/representedOrganization/id':
        if (!author.orgId) author.orgId = idOf(a);
        return;
      case 'custodian/assignedCustodian/representedCustodianOrganization':
        custodian.seen = true;
        return;
      case 'custodian/assignedCustodian/representedCustodianOrganization/id':
        if (!custodian.id) custodian.id = idOf(a);
        return;
      case 'relatedDocument':
        if (!related) related = { type: (a.typeCode ?? '').trim(), parentId: null, parentSetId: null, parentVersion: null };
        return;
      case 'relatedDocument/parentDocument/id':
        if (related && !related.parentId) related.parentId = idOf(a);
        return;
      case 'relatedDocument/parentDocument/setId':
        if (related && !related.parentSetId) related.parentSetId = idOf(a);
        return;
      case 'relatedDocument/parentDocument/versionNumber':
        if (related && /^\d{1,9}$/.test((a.value ?? '').trim())) related.parentVersion = Number(a.value.trim());
        return;
      case 'component/nonXMLBody':
      case 'component/structuredBody':
        if (level) throw new CdaRejectError('BAD_CDA', 'the document has more than one body (component/nonXMLBody or structuredBody)');
        level = local === 'nonXMLBody' ? 1 : 3;
        return local === 'structuredBody' ? { capture: 'raw' } : undefined;
      case 'component/nonXMLBody/text': {
        if (++nonXmlText > 1) throw new CdaRejectError('BAD_CDA', 'nonXMLBody has more than one text element');
        const mediaType = (a.mediaType ?? 'text/plain').trim();
        const representation = (a.representation ?? 'TXT').trim();
        if (mediaType.split(';')[0].trim().toLowerCase() !== 'application/pdf') {
          throw new CdaRejectError('NO_PDF', `the level-1 body is "${mediaType.replace(/[^\x20-\x7e]/g, '?').slice(0, 64)}", not application/pdf (nonXMLBody/text/@mediaType)`);
        }
        if (representation.toUpperCase() !== 'B64') {
          throw new CdaRejectError('NO_PDF', `the level-1 body has representation "${representation.replace(/[^\x20-\x7e]/g, '?').slice(0, 16)}", not B64: a PDF is carried in base64`);
        }
        if (a.compression !== undefined) {
          throw new CdaRejectError('NO_PDF', `the level-1 body is compressed (compression="${a.compression.replace(/[^\x20-\x7e]/g, '?').slice(0, 8)}"): not supported, send the PDF uncompressed`);
        }
        return {
          capture: 'base64',
          label: 'the nonXMLBody/text base64',
          headBytes: PDF_MAGIC.length,
          onHead: (head) => {
            if (head.length === 0) return; // empty: NO_PDF when it closes
            if (head.length < PDF_MAGIC.length || head.toString('latin1') !== PDF_MAGIC) {
              throw new CdaRejectError('NOT_PDF', `the level-1 body is not a PDF: its decoded content does not start with %PDF- but with ${describeBytes(head)}`);
            }
          },
        };
      }
      default:
        return;
    }
  };

  const info = readXml(
    input,
    {
      open: visitorOpen,
      close(tag) {
        if (collect && tag.depth === collect.depth) {
          const c = collect;
          collect = null;
          commit(c.path, c.attrs, c.text);
        }
      },
      text(text, tag) {
        if (collect && tag.depth === collect.depth && collect.text.length < MAX_TEXT) collect.text += text.slice(0, MAX_TEXT - collect.text.length);
      },
      captured(tag, value) {
        if (tag.local === 'structuredBody') {
          reading.bodyXml = value as string;
          return;
        }
        const pdf = value as Buffer;
        if (pdf.length === 0) throw new CdaRejectError('NO_PDF', 'the level-1 body (nonXMLBody/text) is empty');
        reading.pdf = pdf;
        const tailFrom = Math.max(0, pdf.length - 1024);
        if (pdf.indexOf('%%EOF', tailFrom, 'latin1') < 0) warnings.push('the PDF has no %%EOF marker in its last 1024 bytes: it may be truncated');
      },
    },
    opts,
  );

  function commit(path: string, attrs: Readonly<Record<string, string>>, text: string): void {
    const v = words(text);
    const q = (attrs.qualifier ?? '').trim().toUpperCase();
    switch (path) {
      case 'title':
        reading.title = v;
        break;
      case 'recordTarget/patientRole/patient/name/family':
        if (v) families.push({ q, v });
        break;
      case 'recordTarget/patientRole/patient/name/given':
        if (v) givens.push({ q, v });
        break;
      case 'recordTarget/patientRole/patient/birthplace/place/addr/county':
        birthPlace = v;
        break;
      case 'author/assignedAuthor/assignedPerson/name/family':
        if (!author.family) author.family = v;
        break;
      case 'author/assignedAuthor/assignedPerson/name/given':
        if (v) author.given.push(v);
        break;
      case 'author/assignedAuthor/representedOrganization/name':
        if (!author.orgName) author.orgName = v;
        break;
      case 'custodian/assignedCustodian/representedCustodianOrganization/name':
        if (!custodian.name) custodian.name = v;
        break;
    }
  }

  if (recordTargets === 0 || (ids.length === 0 && families.length === 0)) {
    throw new CdaRejectError('BAD_CDA', 'the document names no patient (no recordTarget/patientRole with an id or a name)');
  }
  if (recordTargets > 1) {
    throw new CdaRejectError('BAD_CDA', `the document has ${recordTargets} recordTarget elements: a CI-SIS document is about one patient`);
  }
  if (bodies === 0 || !level) throw new CdaRejectError('NO_PDF', 'the document has no body (component/nonXMLBody or component/structuredBody)');
  if (level === 1 && !reading.pdf) {
    throw new CdaRejectError('NO_PDF', nonXmlText ? 'the level-1 body (nonXMLBody/text) is empty' : 'nonXMLBody has no text element (the PDF)');
  }

  // the INS
  let ins: CdaIns | null = null;
  let insAmbiguous = false;
  for (const id of ids) {
    const oidInfo = insOidInfo(id.root);
    if (!oidInfo) {
      if (Object.hasOwn(LEGACY_INS_OIDS, id.root)) warnings.push(`a patient id under ${id.root} (${LEGACY_INS_OIDS[id.root]}) is not an INS: ignored`);
      continue;
    }
    if (!id.extension) {
      warnings.push(`a patient id under the ${oidInfo.label} OID has no extension: ignored`);
      continue;
    }
    if (ins) {
      if (ins.value !== id.extension || ins.oid !== id.root) {
        insAmbiguous = true;
        warnings.push('several different INS in recordTarget/patientRole/id: the document is matched on none of them');
      }
      continue;
    }
    const key = checkInsKey(id.extension, oidInfo.kind);
    ins = {
      value: id.extension,
      oid: id.root,
      kind: oidInfo.kind,
      environment: oidInfo.environment,
      keyValid: key.ok,
      keyError: key.ok ? null : key.reason,
      flagged: oidInfo.environment === 'production' ? null : oidInfo.environment,
    };
    if (!key.ok) warnings.push(`the ${oidInfo.label} has an invalid key (${key.reason}): it must not be used to find the patient`);
  }

  // the traits
  const fam = (q: string) => families.find((f) => f.q === q)?.v ?? '';
  const giv = (q: string) => givens.find((g) => g.q === q)?.v ?? '';
  let birthName = fam('BR');
  if (!birthName && families.some((f) => f.q === '')) {
    birthName = fam('');
    warnings.push('the birth name is read from a family element without qualifier="BR"');
  }
  const firstNames = words(givens.filter((g) => g.q === '').map((g) => g.v).join(' '));
  const firstName = giv('BR') || firstNames.split(' ')[0] || '';
  const birthDate = /^\d{8}/.test(birthTime) ? tsToIso(birthTime.slice(0, 8)) : '';
  if (birthTime && !birthDate) warnings.push('birthTime is not a full date (YYYYMMDD)');
  const traits: CdaTraits = {
    birthName,
    firstNames,
    firstName,
    usedName: fam('CL') || fam('SP'),
    usedFirstName: giv('CL'),
    birthDate,
    sex: sex === 'F' || sex === 'M' ? sex : 'U',
    birthPlace,
  };

  if (author.seen || author.id || author.family) {
    reading.author = {
      id: author.id,
      given: author.given.join(' '),
      family: author.family,
      specialty: author.specialty,
      organization: author.orgId || author.orgName ? { id: author.orgId, name: author.orgName } : null,
    };
  }
  if (custodian.seen) reading.custodian = { id: custodian.id, name: custodian.name };
  if (related) reading.relatedDocument = related;

  return {
    ...reading,
    patient: { ins, insAmbiguous, ids, traits },
    level,
    bytes: info.bytes,
    encoding: info.encoding,
  };
}

/** A stream of bytes: a Node Readable, or any async iterable of Buffers / strings. */
export type ByteStream = AsyncIterable<Buffer | Uint8Array | string> & { destroy?: (err?: Error) => void };

/**
 * Reads a CDA document from a stream (a file, an HTTP body) without trusting it to end: the stream is
 * destroyed and the promise rejected as soon as more than maxBytes have arrived (TOO_LARGE) or the
 * first bytes declare a DTD (DTD) — the rest is never read. Then as readCda.
 */
export async function readCdaStream(stream: ByteStream, opts: ReadCdaOptions = {}): Promise<CdaReading> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const chunks: Buffer[] = [];
  let total = 0;
  let headChecked = false;
  let nextCheck = 1024;
  const stop = (err: Error): never => {
    try {
      stream.destroy?.(err);
    } catch {
      // already closed
    }
    throw err;
  };
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    total += buf.length;
    if (total > maxBytes) stop(new CdaRejectError('TOO_LARGE', `the document is more than ${maxBytes} bytes (maxBytes): ${total} bytes received, the rest was not read`));
    chunks.push(buf);
    if (!headChecked && total >= nextCheck) {
      try {
        headChecked = checkXmlHead(chunks.length === 1 ? buf : Buffer.concat(chunks, total));
      } catch (err) {
        stop(err as Error);
      }
      nextCheck = total * 2;
    }
  }
  return readCda(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total), opts);
}
