// HL7 v2 MDM wrapping of a CDA document for the PFI (plateforme d'intermédiation) that shares it with
// the DMP and over MSSanté, after the CI-SIS volet "Transmission de documents CDA en HL7 v2".
import { createMessage, escapeValue, newControlId, type Delimiters, type Hl7Message, type Segment } from '../hl7';
import { insOidInfo, type PatientIdentity } from '../ins';
import { cdaToBuffer, formatId, parseId, psIdentifier } from './build';
import { CdaBuildError } from './errors';
import { formatTs, isTimeZone } from './time';
import type { CdaId, CdaMeta, DocumentInput, EstablishmentSettings, ProfessionalInput, RecipientInput, SharingInput } from './types';

/**
 * T02: a new document (original document notification and content); T10: a new version that replaces
 * the previous one (document replacement notification and content; TXA-13 names the replaced one);
 * T04: a status change of a document already sent (document status change notification and content):
 * by default its withdrawal (TXA-19 CA), or, with sharing.confidentialityChange, a change of its DMP
 * visibility (TXA-19 AV and the visibility OBX).
 */
export type MdmKind = 'T02' | 'T10' | 'T04';

export interface MdmOptions {
  /** MSH-10 (default: a new control id). */
  controlId?: string;
  /** MSH-7 and EVN-2 (default: now). */
  now?: Date;
  /** TXA-19 document availability status (HL7 table 0273); default AV, and CA for a T04 withdrawal. */
  availability?: 'AV' | 'CA' | 'OB' | 'UN';
}

/**
 * The metadata OBX of the volet (OBX-3 coding system "MetaDMPMSS") and their display names. Flags are
 * CE values `Y^^expandedYes-NoIndicator` or `N^^expandedYes-NoIndicator` (HL7 table 0532);
 * DESTINATAIRE is an XCN (the PS, national identifier under 1.2.250.1.71.4.2.1), followed, for a
 * recipient with a mailbox, by an XTN OBX `^NET^Internet^<address>` with the same OBX-4 sub-id.
 */
export const MDM_METADATA_CODES = Object.freeze({
  MASQUE_PS: 'Masqué aux professionnels de Santé',
  INVISIBLE_PATIENT: 'Document Non Visible par le patient',
  INVISIBLE_REPRESENTANTS_LEGAUX: 'Non visible par les représentants Légaux du patient',
  MODIFICATION_CONFIDENTIALITE: 'Modification Confidentialité',
  DESTDMP: 'Destinataire DMP',
  DESTMSSANTEPS: 'Destinataire PS',
  DESTMSSANTEPAT: 'Destinataire Patient',
  DESTINATAIRE: 'Destinataire',
  ACK_RECEPTION: 'Accusé de réception',
  ACK_LECTURE: 'Accusé de lecture',
});
export type MetadataCode = keyof typeof MDM_METADATA_CODES;
export type SharingFlag = Exclude<keyof SharingInput, 'recipients'>;

/** Which metadata OBX (OBX-3.1, coding system MetaDMPMSS) carries which SharingInput flag (written here, read by unwrap.ts). */
export const SHARING_FLAG_CODES: Readonly<Record<SharingFlag, MetadataCode>> = Object.freeze({
  dmp: 'DESTDMP',
  mssantePs: 'DESTMSSANTEPS',
  mssantePatient: 'DESTMSSANTEPAT',
  hiddenFromProfessionals: 'MASQUE_PS',
  invisibleToPatient: 'INVISIBLE_PATIENT',
  invisibleToLegalRepresentatives: 'INVISIBLE_REPRESENTANTS_LEGAUX',
  confidentialityChange: 'MODIFICATION_CONFIDENTIALITE',
  ackReception: 'ACK_RECEPTION',
  ackReading: 'ACK_LECTURE',
});
const FLAGS = Object.entries(SHARING_FLAG_CODES) as [SharingFlag, MetadataCode][];

/** PID-3 assigning authority namespace of each INS OID (IHE PAM FR). */
const INS_NAMESPACES: Record<string, string> = {
  '1.2.250.1.213.1.4.8': 'ASIP-SANTE-INS-NIR',
  '1.2.250.1.213.1.4.9': 'ASIP-SANTE-INS-NIA',
  '1.2.250.1.213.1.4.10': 'ASIP-SANTE-INS-NIR-TEST',
  '1.2.250.1.213.1.4.11': 'ASIP-SANTE-INS-NIR-DEMO',
};

const PS_AUTHORITY: string[] = ['ASIP-SANTE-PS', '1.2.250.1.71.4.2.1', 'ISO'];

/** Encounter type (TRE_R304 / TRE_R305) → PV1-2 patient class (HL7 table 0004). */
const PATIENT_CLASS: Record<string, string> = { IMP: 'I', EMER: 'E', AMB: 'O', EXTERNE: 'O', SEANCE: 'R', HH: 'O', FLD: 'E', VR: 'N' };

/** CDA confidentialityCode → TXA-18 (HL7 table 0272): N usual control, R restricted, V very restricted. */
const TXA_CONFIDENTIALITY: Record<string, string> = { N: 'U', R: 'R', V: 'V' };

/** A component: a value, or its sub-components. */
type Component = string | string[];

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

/** ER7 of a field from repetitions of components, each value escaped; trailing empty parts dropped. */
function er7(d: Delimiters, reps: Component[][]): string {
  const trim = (parts: string[]) => {
    let end = parts.length;
    while (end > 0 && parts[end - 1] === '') end--;
    return parts.slice(0, end);
  };
  const sub = d.subcomponent || '&';
  return trim(
    reps.map((comps) => trim(comps.map((c) => (Array.isArray(c) ? trim(c.map((s) => escapeValue(s, d))).join(sub) : escapeValue(c, d)))).join(d.component)),
  ).join(d.repetition);
}

function xcn(p: ProfessionalInput | RecipientInput, field: string): Component[] {
  const id = str(p.idNat) ? psIdentifier(p.idNat as string, `${field}.idNat`) : '';
  const prefix = 'prefix' in p ? str(p.prefix) : '';
  return [id, str(p.family), str(p.given), '', '', prefix, '', '', id ? PS_AUTHORITY : '', 'D', '', '', id ? 'IDNPS' : ''];
}

/** The components of an EI: extension^^root^ISO (EI-1 entity identifier, EI-3 universal id, EI-4 ISO). */
function ei(id: CdaId): Component[] {
  return [id.extension ?? '', '', id.root, 'ISO'];
}

function hl7Date(isoDate: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(isoDate) ? isoDate.replace(/-/g, '') : '';
}

function xmlAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function addObx(msg: Hl7Message, setId: number, type: string, code: MetadataCode, subId: string, value: string): Segment {
  const d = msg.delimiters;
  const obx = msg.addSegment('OBX');
  obx.setRaw(1, String(setId));
  obx.setRaw(2, type);
  obx.setRaw(3, er7(d, [[code, MDM_METADATA_CODES[code], 'MetaDMPMSS']]));
  if (subId) obx.setRaw(4, escapeValue(subId, d));
  obx.setRaw(5, value);
  obx.setRaw(11, 'F');
  return obx;
}

/**
 * Wraps a CDA document built by buildCdaN1 in an MDM message (ER7, MSH-18 UNICODE UTF-8) for the PFI:
 *
 * - MSH: MDM^<kind>^MDM_T02, version settings.hl7.version (default 2.6), MSH-17 FRA;
 * - EVN: EVN-1 the event, EVN-2 now;
 * - PID: PID-3 the IPP (`id^^^authority&OID&ISO^PI`), then the INS ONLY when the identity is qualified
 *   (`value^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS`, namespace after the OID: -NIA, -NIR-TEST,
 *   -NIR-DEMO); PID-5 the birth names typed L (birth name, first birth first name, birth first names)
 *   and the used names typed D; PID-7; PID-8; PID-11 `^^^^^^BDL^^<INSEE>`; PID-32 VALI beside the INS of
 *   a qualified identity, else its status (see identityStatusCodes), then its attributes;
 * - PV1: PV1-2 the patient class from the encounter type (I, E, O, R, N), PV1-19 the encounter number;
 * - TXA: TXA-2 the type (code^display^LN, or the TRE_A05 OID as coding system), TXA-3 TEXT, TXA-4 and
 *   TXA-6 the document time, TXA-5 / TXA-9 the author and TXA-10 the legal authenticator (XCN, national
 *   PS identifier typed IDNPS), TXA-12 the CDA id as an EI (`extension^^root^ISO`), TXA-13 the replaced
 *   document (T10), TXA-17 LA (legally authenticated), TXA-18 U / R / V, TXA-19 availability;
 * - OBX 1: `ED`, OBX-3 the type, OBX-5 `^TEXT^XML^Base64^<base64 of the CDA's UTF-8 bytes>`, OBX-11 F;
 * - OBX 2…: document.sharing as MetaDMPMSS OBX (see MDM_METADATA_CODES), in the order DESTDMP,
 *   DESTMSSANTEPS, DESTMSSANTEPAT, MASQUE_PS, INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX,
 *   MODIFICATION_CONFIDENTIALITE, ACK_RECEPTION, ACK_LECTURE (only the flags given), then the recipients.
 *
 * The base64 goes in with Segment.setRaw (its alphabet has no HL7 delimiter): no per-character escaping.
 * Checks that `meta` and `patient` are those of `cdaXml` (its id and the patient's IPP are in its header,
 * the INS there only for a qualified identity) and throws CdaBuildError otherwise.
 */
export function buildMdm(
  cdaXml: string | Buffer,
  meta: CdaMeta,
  patient: PatientIdentity,
  document: DocumentInput,
  settings: EstablishmentSettings,
  kind: MdmKind,
  opts: MdmOptions = {},
): string {
  const { head, b64, tail } = assemble(cdaXml, meta, patient, document, settings, kind, opts);
  return head + b64 + tail;
}

/**
 * buildMdm, as the bytes to send (UTF-8, as MSH-18 declares): the segments are encoded as UTF-8 and the
 * base64 of OBX-5 (ASCII) copied as Latin-1, which spares a UTF-8 encoding of the whole message — the
 * costly part for a large document (see npm run bench -- cda).
 */
export function buildMdmBuffer(
  cdaXml: string | Buffer,
  meta: CdaMeta,
  patient: PatientIdentity,
  document: DocumentInput,
  settings: EstablishmentSettings,
  kind: MdmKind,
  opts: MdmOptions = {},
): Buffer {
  const { head, b64, tail } = assemble(cdaXml, meta, patient, document, settings, kind, opts);
  const headLen = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLen + b64.length + Buffer.byteLength(tail, 'utf8'));
  out.write(head, 0, 'utf8');
  out.write(b64, headLen, b64.length, 'latin1');
  out.write(tail, headLen + b64.length, 'utf8');
  return out;
}

/**
 * PID-32 as IHE PAM FR 2.11.1 writes it (§6.6.1, §6.6.15): VALI is the status of a qualified identity, the
 * one sent with its INS. So VALI exactly when the INS is written; an identity not qualified here is sent
 * with its own status, PROV when that was VALI (its INS was not kept: §4.4.4 sends such an identity as
 * PROV); then the attributes as received.
 */
export function identityStatusCodes(patient: PatientIdentity, qualified: boolean): string[] {
  const status = qualified ? 'VALI' : str(patient.status) === 'VALI' ? 'PROV' : str(patient.status);
  return [status, ...(patient.attributes ?? []).map(str)].filter(Boolean);
}

/** Stands for OBX-5.5 in the ER7 of the other segments ("|" cannot come from an escaped value). */
const PLACEHOLDER = '|@@CDA-BASE64@@|';

function assemble(
  cda: string | Buffer,
  meta: CdaMeta,
  patient: PatientIdentity,
  document: DocumentInput,
  settings: EstablishmentSettings,
  kind: MdmKind,
  opts: MdmOptions,
): { head: string; b64: string; tail: string } {
  if (!(typeof cda === 'string' || Buffer.isBuffer(cda)) || cda.length === 0) {
    throw new CdaBuildError('MISSING', 'cdaXml', 'the CDA document is missing (cdaXml: the xml of buildCdaN1)');
  }
  // the header: up to the level-1 body (decoding only that part of a Buffer)
  const bodyAt = cda.indexOf('<nonXMLBody');
  const header = Buffer.isBuffer(cda) ? cda.subarray(0, bodyAt < 0 ? 1 << 20 : bodyAt).toString('utf8') : bodyAt < 0 ? cda : cda.slice(0, bodyAt);
  if (!header.includes('<ClinicalDocument')) throw new CdaBuildError('INVALID', 'cdaXml', 'cdaXml is not a CDA document (no ClinicalDocument element)');
  if (!meta || !meta.id || !meta.typeCode) throw new CdaBuildError('MISSING', 'meta', 'the CDA meta is missing (meta: the meta of buildCdaN1)');
  if (!patient || !patient.ipp || !str(patient.ipp.id)) throw new CdaBuildError('MISSING', 'patient.ipp.id', 'the IPP is missing (patient.ipp.id)');
  if (kind !== 'T02' && kind !== 'T10' && kind !== 'T04') throw new CdaBuildError('INVALID', 'kind', `kind "${String(kind)}" is not T02, T10 or T04`);
  if (kind === 'T10' && !meta.replaces) {
    throw new CdaBuildError('MISSING', 'document.replaces', 'an MDM^T10 replaces a document: build the CDA with document.replaces');
  }
  const tz = str(settings?.timeZone) || 'Europe/Paris';
  if (!isTimeZone(tz)) throw new CdaBuildError('INVALID', 'settings.timeZone', `settings.timeZone: "${settings.timeZone}" is not an IANA time zone`);

  // the document and the identity must be the same as the CDA's
  // ClinicalDocument/id is the first id element (typeId and templateId come before it)
  const idAt = header.indexOf('<id ');
  const docId = `<id root="${xmlAttr(meta.id.root)}"${meta.id.extension ? ` extension="${xmlAttr(meta.id.extension)}"` : ''}/>`;
  if (idAt < 0 || !header.startsWith(docId, idAt)) {
    throw new CdaBuildError('INVALID', 'meta.id', `meta.id ${formatId(meta.id)} is not the id of this CDA document`);
  }
  const ippRoot = str(patient.ipp.oid) || str(settings.ippAuthorityOid);
  const recordTarget = header.slice(header.indexOf('<recordTarget>'), header.indexOf('</recordTarget>'));
  if (!recordTarget.includes(`<id root="${xmlAttr(ippRoot)}" extension="${xmlAttr(str(patient.ipp.id))}"/>`)) {
    throw new CdaBuildError('INVALID', 'patient', `the CDA document is not about this patient: the IPP (${ippRoot}) given is not in its recordTarget`);
  }
  const qualified = patient.qualified === true && !!patient.ins;
  if (qualified !== meta.insIncluded) {
    throw new CdaBuildError(
      'INVALID',
      'patient.qualified',
      meta.insIncluded ? 'the CDA carries the INS but the identity given is not qualified' : 'the identity given is qualified but the CDA was built without its INS: build it again',
    );
  }

  const h = settings.hl7 ?? {};
  const now = opts.now ?? new Date();
  const msg = createMessage({
    type: 'MDM',
    event: kind,
    structure: 'MDM_T02',
    controlId: opts.controlId ?? newControlId(),
    version: h.version ?? '2.6',
    processingId: h.processingId ?? 'P',
    sendingApplication: h.sendingApplication ?? '',
    sendingFacility: h.sendingFacility ?? '',
    receivingApplication: h.receivingApplication ?? '',
    receivingFacility: h.receivingFacility ?? '',
    dateTime: formatTs(now, tz),
    charset: 'UNICODE UTF-8',
  });
  const d = msg.delimiters;
  msg.segments[0].setRaw(17, 'FRA');

  const evn = msg.addSegment('EVN');
  evn.setRaw(1, kind);
  evn.setRaw(2, formatTs(now, tz));

  // PID
  const pid = msg.addSegment('PID');
  pid.setRaw(1, '1');
  const ids: Component[][] = [[str(patient.ipp.id), '', '', [str(patient.ipp.authority), ippRoot, ippRoot ? 'ISO' : ''], 'PI']];
  if (qualified) {
    const ins = patient.ins as NonNullable<PatientIdentity['ins']>;
    if (!insOidInfo(ins.oid)) throw new CdaBuildError('INVALID', 'patient.ins.oid', `"${ins.oid}" is not an INS OID`);
    ids.push([ins.value, '', '', [INS_NAMESPACES[ins.oid] ?? '', ins.oid, 'ISO'], 'INS', '', ins.validFrom ? hl7Date(ins.validFrom) : '']);
  }
  pid.setRaw(3, er7(d, ids));
  const names: Component[][] = [];
  if (str(patient.birthName) || str(patient.firstName)) names.push([str(patient.birthName), str(patient.firstName), str(patient.firstNames), '', '', '', 'L']);
  if (str(patient.usedName) || str(patient.usedFirstName)) names.push([str(patient.usedName), str(patient.usedFirstName), '', '', '', '', 'D']);
  pid.setRaw(5, er7(d, names));
  pid.setRaw(7, hl7Date(str(patient.birthDate)));
  pid.setRaw(8, patient.sex === 'F' || patient.sex === 'M' ? patient.sex : 'U');
  if (str(patient.birthPlace)) pid.setRaw(11, er7(d, [['', '', '', '', '', '', 'BDL', '', str(patient.birthPlace)]]));
  pid.setRaw(32, er7(d, identityStatusCodes(patient, qualified).map((s) => [s])));

  // PV1
  const pv1 = msg.addSegment('PV1');
  pv1.setRaw(1, '1');
  const enc = document?.encounter;
  pv1.setRaw(2, PATIENT_CLASS[str(enc?.code)] ?? 'N');
  if (enc?.id !== undefined && enc.id !== '') {
    const encId: CdaId = parseId(enc.id, str(settings.encounterIdRoot) || undefined, 'document.encounter.id', 'settings.encounterIdRoot');
    pv1.setRaw(19, er7(d, [[encId.extension ?? '', '', '', ['', encId.root, 'ISO'], 'VN']]));
  }

  // TXA
  const txa = msg.addSegment('TXA');
  const typeCoding = meta.type.codeSystem === '2.16.840.1.113883.6.1' ? 'LN' : meta.type.codeSystem;
  const typeField = er7(d, [[meta.type.code, meta.type.displayName, typeCoding]]);
  txa.setRaw(1, '1');
  txa.setRaw(2, typeField);
  txa.setRaw(3, 'TEXT');
  txa.setRaw(4, meta.effectiveTime);
  if (document?.author) {
    const author = er7(d, [xcn(document.author, 'document.author')]);
    txa.setRaw(5, author);
    txa.setRaw(9, author);
  }
  txa.setRaw(6, meta.effectiveTime);
  const legal = document?.legalAuthenticator ?? document?.author;
  if (legal) txa.setRaw(10, er7(d, [xcn(legal, 'document.legalAuthenticator')]));
  txa.setRaw(12, er7(d, [ei(meta.id)]));
  if (kind === 'T10' && meta.replaces) txa.setRaw(13, er7(d, [ei(meta.replaces.id)]));
  txa.setRaw(17, 'LA');
  txa.setRaw(18, TXA_CONFIDENTIALITY[meta.confidentiality] ?? 'U');
  const sharing = document?.sharing ?? {};
  txa.setRaw(19, opts.availability ?? (kind === 'T04' && !sharing.confidentialityChange ? 'CA' : 'AV'));

  // OBX 1: the document
  const obx = msg.addSegment('OBX');
  obx.setRaw(1, '1');
  obx.setRaw(2, 'ED');
  obx.setRaw(3, typeField);
  obx.setRaw(5, `${d.component}TEXT${d.component}XML${d.component}Base64${d.component}${PLACEHOLDER}`);
  obx.setRaw(11, 'F');

  // OBX 2…: sharing metadata
  let n = 1;
  for (const [key, code] of FLAGS) {
    const v = sharing[key];
    if (typeof v !== 'boolean') continue;
    addObx(msg, ++n, 'CE', code, '', er7(d, [[v ? 'Y' : 'N', '', 'expandedYes-NoIndicator']]));
  }
  (sharing.recipients ?? []).forEach((r, i) => {
    const field = `document.sharing.recipients[${i}]`;
    if (!str(r.idNat) && !str(r.mssante)) throw new CdaBuildError('MISSING', field, `${field} has neither idNat nor mssante`);
    const sub = String(i + 1);
    if (str(r.idNat) || str(r.family)) addObx(msg, ++n, 'XCN', 'DESTINATAIRE', sub, er7(d, [xcn(r, field)]));
    if (str(r.mssante)) {
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(str(r.mssante))) throw new CdaBuildError('INVALID', `${field}.mssante`, `${field}.mssante: "${r.mssante}" is not a mail address`);
      addObx(msg, ++n, 'XTN', 'DESTINATAIRE', sub, er7(d, [['', 'NET', 'Internet', str(r.mssante)]]));
    }
  });

  const er7Text = msg.toString();
  const at = er7Text.indexOf(PLACEHOLDER);
  const b64 = (Buffer.isBuffer(cda) ? cda : cdaToBuffer(cda)).toString('base64');
  return { head: er7Text.slice(0, at), b64, tail: er7Text.slice(at + PLACEHOLDER.length) };
}
