// The HL7 v2 message that hands a CDA document to the PFI (plateforme d'intermédiation, which feeds the
// DMP and MSSanté), as the CI-SIS volet "Transmission de documents CDA en HL7 v2" 2.1 writes it
// (../shared/specs/volet-transmission-cda-hl7v2/profils-messages.md): MDM^T02 / T10 / T04 (HL7 2.6) or
// ORU^R01 (HL7 2.5), segment by segment.
import { createMessage, escapeValue, newControlId, type Delimiters, type Hl7Message, type Segment } from '../hl7';
import { insOidInfo, type PatientIdentity } from '../ins';
import { cdaToBuffer, formatId, parseId, psIdentifier } from './build';
import { CdaBuildError } from './errors';
import { formatTs, isTimeZone, toTs } from './time';
import type { CdaId, CdaMeta, DocumentInput, EstablishmentSettings, ParticipantOrganizationInput, RecipientInput, SenderInput, SharingInput } from './types';
import {
  DOCUMENT_ACTIONS,
  MESSAGE_PROFILES,
  MESSAGE_VERSIONS,
  METADATA,
  METADATA_FLAGS,
  METADATA_SYSTEM,
  PARTICIPATION_SYSTEM,
  PARTICIPATIONS,
  PS_ID_OID,
  STRUCTURE_ID_OID,
  YES_NO_SYSTEM,
  type DocumentAction,
  type MetadataCode,
  type Participation,
} from './volet';

/** T02 a new document, T10 its replacement (a new version), T04 its deletion (evenements-declenchants.md). */
export type MdmKind = 'T02' | 'T10' | 'T04';

/** The message type that carries the document: MDM (HL7 2.6) or ORU^R01 (HL7 2.5). */
export type Carrier = 'MDM' | 'ORU';

export interface TransmissionOptions {
  /** MSH-10 (default: a new control id). */
  controlId?: string;
  /** MSH-7 and EVN-2 (default: now). */
  now?: Date;
}

/** Which SharingInput flag each metadata OBX carries (written here, read by unwrap.ts). */
export const SHARING_FLAG_CODES = Object.freeze({
  hiddenFromProfessionals: 'MASQUE_PS',
  invisibleToPatient: 'INVISIBLE_PATIENT',
  invisibleToLegalRepresentatives: 'INVISIBLE_REP_LEGAUX',
  secretConnection: 'CONNEXION_SECRETE',
  confidentialityChange: 'MODIF_CONF_CODE',
  dmp: 'DESTDMP',
  mssantePs: 'DESTMSSANTEPS',
  mssantePatient: 'DESTMSSANTEPAT',
  ackReception: 'ACK_RECEPTION',
  ackReading: 'ACK_LECTURE_MSS',
} as const satisfies Record<string, MetadataCode>);
export type SharingFlag = keyof typeof SHARING_FLAG_CODES;
const FLAG_OF: Readonly<Record<string, SharingFlag>> = Object.freeze(
  Object.fromEntries(Object.entries(SHARING_FLAG_CODES).map(([flag, code]) => [code, flag as SharingFlag])),
);

/** PID-3 assigning authority namespace of each INS OID (IHE France data types N.1 CX). */
const INS_NAMESPACES: Record<string, string> = {
  '1.2.250.1.213.1.4.8': 'ASIP-SANTE-INS-NIR',
  '1.2.250.1.213.1.4.9': 'ASIP-SANTE-INS-NIA',
  '1.2.250.1.213.1.4.10': 'ASIP-SANTE-INS-NIR-TEST',
  '1.2.250.1.213.1.4.11': 'ASIP-SANTE-INS-NIR-DEMO',
};

/** PRT-5.9 and PRT-8.6 (profils-messages.md: PS 1.2.250.1.71.4.2.1, structures 1.2.250.1.71.4.2.2). */
const PS_AUTHORITY = ['ASIP-SANTE-PS', PS_ID_OID, 'ISO'];
const STRUCTURE_AUTHORITY = ['ASIP-SANTE-ST', STRUCTURE_ID_OID, 'ISO'];

/** Encounter type (TRE_R304 / TRE_R305) → PV1-2 patient class (HL7 table 0004). */
const PATIENT_CLASS: Record<string, string> = { IMP: 'I', EMER: 'E', AMB: 'O', EXTERNE: 'O', SEANCE: 'R', HH: 'O', FLD: 'E', VR: 'N' };

/** OBX-3.3 / OBR-4.3 of a document type: LN for LOINC, TRE_A05 for the ANS's complementary types. */
function typeSystem(codeSystem: string): string {
  if (codeSystem === '2.16.840.1.113883.6.1') return 'LN';
  if (codeSystem === '1.2.250.1.213.1.1.4.12') return 'TRE_A05';
  return codeSystem;
}

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

/**
 * TXA-12 / TXA-13 (profils-messages.md, "règle de peuplement"): with an extension, `extension^^root^ISO`;
 * without, the root alone.
 */
function documentNumber(id: CdaId): Component[] {
  return id.extension ? [id.extension, '', id.root, 'ISO'] : [id.root];
}

function hl7Date(isoDate: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(isoDate) ? isoDate.replace(/-/g, '') : '';
}

function xmlAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const MAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

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

/** Stands for the base64 of the document in the ER7 of the other segments ("|" never comes from an escaped value). */
const PLACEHOLDER = '|@@CDA-BASE64@@|';

interface Parts {
  head: string;
  b64: string;
  tail: string;
}

/**
 * Checks what the message is asked to say before a byte is written: the CDA and its meta agree, the
 * identity is the document's, the sharing request holds together (the DMP needs a qualified INS —
 * mapping.md: the DMP's patientId is the INS-NIR; MSSanté recipients where MSSanté is asked…).
 */
function checkRequest(cda: string | Buffer, meta: CdaMeta, patient: PatientIdentity, settings: EstablishmentSettings, action: DocumentAction, sharing: SharingInput): { qualified: boolean; header: string } {
  if (!(typeof cda === 'string' || Buffer.isBuffer(cda)) || cda.length === 0) {
    throw new CdaBuildError('MISSING', 'cdaXml', 'the CDA document is missing (cdaXml: the xml of buildCdaN1)');
  }
  const bodyAt = cda.indexOf('<nonXMLBody');
  const header = Buffer.isBuffer(cda) ? cda.subarray(0, bodyAt < 0 ? 1 << 20 : bodyAt).toString('utf8') : bodyAt < 0 ? cda : cda.slice(0, bodyAt);
  if (!header.includes('<ClinicalDocument')) throw new CdaBuildError('INVALID', 'cdaXml', 'cdaXml is not a CDA document (no ClinicalDocument element)');
  if (!meta || !meta.id || !meta.typeCode) throw new CdaBuildError('MISSING', 'meta', 'the CDA meta is missing (meta: the meta of buildCdaN1)');
  if (!patient || !patient.ipp || !str(patient.ipp.id)) throw new CdaBuildError('MISSING', 'patient.ipp.id', 'the IPP is missing (patient.ipp.id)');
  if (action === 'replace' && !meta.replaces) {
    throw new CdaBuildError('MISSING', 'document.replaces', 'a replacement names the document it replaces: build the CDA with document.replaces');
  }
  const idAt = header.indexOf('<id ');
  const docId = `<id root="${xmlAttr(meta.id.root)}"${meta.id.extension ? ` extension="${xmlAttr(meta.id.extension)}"` : ''}/>`;
  if (idAt < 0 || !header.startsWith(docId, idAt)) throw new CdaBuildError('INVALID', 'meta.id', `meta.id ${formatId(meta.id)} is not the id of this CDA document`);
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
  if (sharing.dmp === true && !qualified) {
    throw new CdaBuildError('NOT_QUALIFIED', 'document.sharing.dmp', 'the DMP needs the qualified INS of the patient (its patientId is the INS): this identity is not qualified, the document can go by MSSanté only');
  }
  const recipients = sharing.recipients ?? [];
  recipients.forEach((r, i) => {
    const field = `document.sharing.recipients[${i}]`;
    if (!MAIL.test(str(r?.mssante))) throw new CdaBuildError(str(r?.mssante) ? 'INVALID' : 'MISSING', `${field}.mssante`, `${field}.mssante: an MSSanté mailbox is needed`);
    // profils-messages.md, PRT RCT: PRT-5 "requis si le destinataire est un professionnel de santé ou un
    // patient", PRT-5.1 its identifier, PRT-5.9.2 1.2.250.1.71.4.2.1 for a professional, "du patient
    // 1.2.250.1.213.1.4.8 (INS-NIR) ou 1.2.250.1.213.1.4.9 (INS-NIA)": the patient is named by the INS,
    // which only a qualified identity carries; a professional by the national identifier
    if (r.patient === true && !qualified) {
      throw new CdaBuildError('NOT_QUALIFIED', `${field}.patient`, `${field}: the patient as MSSanté recipient is identified by the INS (PRT-5), which this identity, not qualified, does not carry`);
    }
    if (r.patient !== true && !str(r.idNat) && (str(r.family) || str(r.given))) {
      throw new CdaBuildError('MISSING', `${field}.idNat`, `${field}: a professional recipient is identified by the national PS identifier (PRT-5.1): idNat is missing`);
    }
  });
  if (sharing.mssantePs === true && !recipients.some((r) => !r.patient)) {
    throw new CdaBuildError('MISSING', 'document.sharing.recipients', 'sharing.mssantePs asks for MSSanté recipients: none is given (recipients without patient: true)');
  }
  if (sharing.mssantePatient === true) {
    if (!recipients.some((r) => r.patient)) throw new CdaBuildError('MISSING', 'document.sharing.recipients', 'sharing.mssantePatient asks for the patient\'s mailbox: no recipient with patient: true');
    // profils-messages.md, INVISIBLE_PATIENT: "un document clinique masqué au patient ne doit pas être envoyé au patient par MSSanté"
    if (sharing.invisibleToPatient === true) throw new CdaBuildError('INVALID', 'document.sharing.mssantePatient', 'a document not visible to the patient is never sent to the patient by MSSanté');
  }
  if (str(sharing.replyTo) && !MAIL.test(str(sharing.replyTo))) throw new CdaBuildError('INVALID', 'document.sharing.replyTo', 'document.sharing.replyTo is not a mail address');
  return { qualified, header };
}

/**
 * XCN-10, the name type, of a PRT-5 with a name. The volet has PRT filled "conformément aux « Contraintes
 * sur les types de données HL7 v2.5 … IHE France » release 1.8" (profils-messages.md, "Les données
 * concernant la demande de traitement"), whose XCN-10 "doit être renseigné dès lors que l'un au moins des
 * deux composants XCN-2, XCN-3 est renseigné" (N.8 XCN-10, table 0200 as N.10 XPN-7): D for a professional
 * (as that annex's XCN examples and the volet's write it), L for the patient's birth name.
 */
function nameType(family: string, given: string, type: 'D' | 'L'): string {
  return family || given ? type : '';
}

/** XCN of a professional for PRT-5: id^family^given^^^^^^authority^D^^^IDNPS (profils-messages.md PRT-5.1, .2, .3, .9, .13; XCN-10 nameType). */
function professional(d: Delimiters, idNat: string, family: string, given: string, field: string): string {
  const id = psIdentifier(idNat, field);
  return er7(d, [[id, family, given, '', '', '', '', '', PS_AUTHORITY, nameType(family, given, 'D'), '', '', 'IDNPS']]);
}

/**
 * XON for PRT-8: name^^^^^authority^type^^^id (PRT-8.1, .6, .7, .10). PRT-8.6 of a recipient inside an
 * establishment may be its FINESS alone (profils-messages.md PRT-8.6: "N° FINESS ou N° FINEG pour
 * identifier une organisation intra-établissement"; IHE France data types N.9 XON:
 * `Urologie^^^^^120456789^UF^^^3435`, "seule la 1° sous composante du type HD est renseignée"): HD-3 ISO
 * only beside an OID in HD-2.
 */
function organization(d: Delimiters, o: ParticipantOrganizationInput, field: string): string {
  if (!str(o.name) || !str(o.id)) throw new CdaBuildError('MISSING', field, `${field} needs a name and an id`);
  const oid = str(o.authority?.oid);
  if (o.authority && !oid && !str(o.authority.namespace)) throw new CdaBuildError('MISSING', `${field}.authority`, `${field}.authority needs an OID or a namespace (e.g. the FINESS of the establishment)`);
  const authority = o.authority ? [str(o.authority.namespace), oid, oid ? 'ISO' : ''] : STRUCTURE_AUTHORITY;
  return er7(d, [[str(o.name), '', '', '', '', authority, str(o.idType) || 'FINEG', '', '', str(o.id)]]);
}

function addPrt(msg: Hl7Message, role: Participation, fields: { person?: string; organization?: string; device?: string; mail?: string }): void {
  const d = msg.delimiters;
  const prt = msg.addSegment('PRT');
  prt.setRaw(2, 'UC');
  prt.setRaw(4, er7(d, [[role, PARTICIPATIONS[role], PARTICIPATION_SYSTEM]]));
  if (fields.person) prt.setRaw(5, fields.person);
  if (fields.organization) prt.setRaw(8, fields.organization);
  if (fields.device) prt.setRaw(10, er7(d, [[fields.device]]));
  if (fields.mail) prt.setRaw(15, er7(d, [['', '', 'X.400', fields.mail]]));
}

/**
 * The PRT segments after the document OBX: SB the sender (required for the DMP: the PFI builds the VIHF
 * from it, mapping.md), one RCT per MSSanté recipient, REPLY the reply address.
 */
function addParticipants(msg: Hl7Message, patient: PatientIdentity, document: DocumentInput, settings: EstablishmentSettings, sharing: SharingInput, qualified: boolean): void {
  const d = msg.delimiters;
  const sender: SenderInput = sharing.sender ?? {};
  const author = document.author;
  const idNat = str(sender.idNat) || (sender.device ? '' : str(author?.idNat));
  const senderOrg: ParticipantOrganizationInput | undefined =
    sender.organization ?? (settings.custodian?.finess ? { name: str(settings.custodian.name), id: str(settings.custodian.finess), idType: 'FINEG' } : undefined);
  addPrt(msg, 'SB', {
    person: idNat ? professional(d, idNat, str(sender.family) || str(author?.family), str(sender.given) || str(author?.given), 'document.sharing.sender.idNat') : undefined,
    organization: senderOrg ? organization(d, senderOrg, 'document.sharing.sender.organization') : undefined,
    device: str(sender.device) || undefined,
  });
  (sharing.recipients ?? []).forEach((r: RecipientInput, i) => {
    const field = `document.sharing.recipients[${i}]`;
    let person: string | undefined;
    if (r.patient) {
      // PRT-5 of the patient: the INS (profils-messages.md PRT-5.9.2 1.2.250.1.213.1.4.8 / .9, PRT-5.13 INS)
      const ins = qualified ? patient.ins : null;
      if (ins) {
        const family = str(patient.birthName);
        const given = str(patient.firstName);
        person = er7(d, [[ins.value, family, given, '', '', '', '', '', [INS_NAMESPACES[ins.oid] ?? '', ins.oid, 'ISO'], nameType(family, given, 'L'), '', '', 'INS']]);
      }
    } else if (str(r.idNat)) {
      person = professional(d, str(r.idNat), str(r.family), str(r.given), `${field}.idNat`);
    }
    addPrt(msg, 'RCT', {
      person,
      organization: r.organization ? organization(d, r.organization, `${field}.organization`) : undefined,
      device: str(r.device) || undefined,
      mail: str(r.mssante),
    });
  });
  if (str(sharing.replyTo)) addPrt(msg, 'REPLY', { mail: str(sharing.replyTo) });
}

function addObx(msg: Hl7Message, setId: number, type: string, observation: string, value: string, status: string): Segment {
  const obx = msg.addSegment('OBX');
  obx.setRaw(1, String(setId));
  obx.setRaw(2, type);
  obx.setRaw(3, observation);
  obx.setRaw(5, value);
  obx.setRaw(11, status);
  return obx;
}

/**
 * The metadata groups (profils-messages.md, "Les métadonnées DMP/MSSanté"): the ten flags of table
 * « MétaDMP/MSS », every one written, Y or N, in the table's order, OBX-2 CWE (MDM) or CE (ORU), OBX-5
 * `Y^^expandedYes-NoIndicator`, OBX-11 F; an NTE "FIN" after DESTMSSANTEPAT when the patient may not
 * reply; then the mail bodies, OBX-2 ED, base64 of the UTF-8 text.
 */
function addMetadata(msg: Hl7Message, carrier: Carrier, sharing: SharingInput, from: number): void {
  const d = msg.delimiters;
  let n = from;
  const coded = carrier === 'MDM' ? 'CWE' : 'CE';
  for (const code of METADATA_FLAGS) {
    const flag = FLAG_OF[code];
    addObx(msg, ++n, coded, er7(d, [[code, METADATA[code], METADATA_SYSTEM]]), er7(d, [[sharing[flag] === true ? 'Y' : 'N', '', YES_NO_SYSTEM]]), 'F');
    if (code === 'DESTMSSANTEPAT' && sharing.mssantePatient === true && sharing.patientMayNotReply === true) msg.addSegment('NTE').setRaw(4, 'FIN');
  }
  const text = carrier === 'MDM' ? 'text' : 'TEXT';
  for (const [code, body] of [
    ['CORPSMAIL_PS', sharing.mailBodyProfessional],
    ['CORPSMAIL_PATIENT', sharing.mailBodyPatient],
  ] as const) {
    if (!str(body)) continue;
    const b64 = Buffer.from(String(body), 'utf8').toString('base64');
    addObx(msg, ++n, 'ED', er7(d, [[code, METADATA[code], METADATA_SYSTEM]]), `${d.component}${text}${d.component}${d.component}Base64${d.component}${b64}`, 'F');
  }
}

function assemble(carrier: Carrier, action: DocumentAction, cda: string | Buffer, meta: CdaMeta, patient: PatientIdentity, document: DocumentInput, settings: EstablishmentSettings, opts: TransmissionOptions): Parts {
  const sharing: SharingInput = document?.sharing ?? {};
  const { qualified } = checkRequest(cda, meta, patient, settings, action, sharing);
  const tz = str(settings?.timeZone) || 'Europe/Paris';
  if (!isTimeZone(tz)) throw new CdaBuildError('INVALID', 'settings.timeZone', `settings.timeZone: "${settings.timeZone}" is not an IANA time zone`);
  const h = settings.hl7 ?? {};
  // profils-messages.md, "Le segment MSH": MSH-3, MSH-4, MSH-5 and MSH-6 are R
  for (const key of ['sendingApplication', 'sendingFacility', 'receivingApplication', 'receivingFacility'] as const) {
    if (!str(h[key])) throw new CdaBuildError('MISSING', `settings.hl7.${key}`, `settings.hl7.${key} is missing: the volet requires MSH-3 to MSH-6 (sending and receiving application and facility)`);
  }
  const now = opts.now ?? new Date();
  const a = DOCUMENT_ACTIONS[action];
  const profile = MESSAGE_PROFILES.transmission;

  // MSH (profils-messages.md "Le segment MSH"): MSH-12 2.6 MDM / 2.5 ORU, MSH-17 FRA, MSH-18, MSH-21
  const msg = createMessage({
    type: carrier,
    event: carrier === 'MDM' ? a.mdm : 'R01',
    structure: carrier === 'MDM' ? 'MDM_T02' : 'ORU_R01',
    controlId: opts.controlId ?? newControlId(),
    version: MESSAGE_VERSIONS[carrier],
    processingId: h.processingId ?? 'P',
    sendingApplication: str(h.sendingApplication),
    sendingFacility: str(h.sendingFacility),
    receivingApplication: str(h.receivingApplication),
    receivingFacility: str(h.receivingFacility),
    dateTime: formatTs(now, tz),
    charset: 'UNICODE UTF-8',
  });
  const d = msg.delimiters;
  const msh = msg.segments[0];
  msh.setRaw(17, 'FRA');
  msh.setRaw(21, er7(d, [[profile.version, profile.namespace]]));

  if (carrier === 'MDM') {
    const evn = msg.addSegment('EVN');
    evn.setRaw(2, formatTs(now, tz));
    evn.setRaw(6, formatTs(now, tz));
  }

  // PID (PAM FR 2.11.1, as profils-messages.md "Les données concernant le patient" asks): PID-3 as the
  // CDA's recordTarget ids (the INS of a qualified identity, then the IPP). The INS without CX-7 / CX-8:
  // PAM FR §6.6.1 "L'émetteur devra donc transmettre uniquement le dernier INS enregistré […] Les
  // composants CX.7 et CX.8 sont alors vides."
  const pid = msg.addSegment('PID');
  pid.setRaw(1, '1');
  const ippRoot = str(patient.ipp.oid) || str(settings.ippAuthorityOid);
  const ids: Component[][] = [];
  if (qualified) {
    const ins = patient.ins as NonNullable<PatientIdentity['ins']>;
    if (!insOidInfo(ins.oid)) throw new CdaBuildError('INVALID', 'patient.ins.oid', `"${ins.oid}" is not an INS OID`);
    ids.push([ins.value, '', '', [INS_NAMESPACES[ins.oid] ?? '', ins.oid, 'ISO'], 'INS']);
  }
  ids.push([str(patient.ipp.id), '', '', [str(patient.ipp.authority), ippRoot, ippRoot ? 'ISO' : ''], 'PI']);
  pid.setRaw(3, er7(d, ids));
  const names: Component[][] = [];
  if (str(patient.usedName) || str(patient.usedFirstName)) names.push([str(patient.usedName), str(patient.usedFirstName), '', '', '', '', 'D']);
  if (str(patient.birthName) || str(patient.firstName)) names.push([str(patient.birthName), str(patient.firstName), str(patient.firstNames), '', '', '', 'L']);
  pid.setRaw(5, er7(d, names));
  pid.setRaw(7, hl7Date(str(patient.birthDate)));
  pid.setRaw(8, patient.sex === 'F' || patient.sex === 'M' ? patient.sex : 'U');
  if (str(patient.birthPlace)) pid.setRaw(11, er7(d, [['', '', '', '', '', '', 'BDL', '', str(patient.birthPlace)]]));
  const enc = document?.encounter;
  const encRoot = str(settings.encounterIdRoot) || undefined;
  if (enc?.account !== undefined && enc.account !== '') {
    const account = parseId(enc.account, encRoot, 'document.encounter.account', 'settings.encounterIdRoot');
    pid.setRaw(18, er7(d, [[account.extension ?? account.root, '', '', ['', account.extension ? account.root : '', account.extension ? 'ISO' : ''], 'AN']]));
  }
  pid.setRaw(32, er7(d, identityStatusCodes(patient, qualified).map((s) => [s])));

  // PV1: PV1-2 (R), PV1-19 (required for E, I, O, R), PV1-44 / PV1-45 (required if known)
  const pv1 = msg.addSegment('PV1');
  pv1.setRaw(1, '1');
  const patientClass = PATIENT_CLASS[str(enc?.code)] ?? 'N';
  pv1.setRaw(2, patientClass);
  if (enc?.id !== undefined && enc.id !== '') {
    const encId = parseId(enc.id, encRoot, 'document.encounter.id', 'settings.encounterIdRoot');
    pv1.setRaw(19, er7(d, [[encId.extension ?? encId.root, '', '', ['', encId.extension ? encId.root : '', encId.extension ? 'ISO' : ''], 'VN']]));
  } else if (patientClass !== 'N') {
    throw new CdaBuildError('MISSING', 'document.encounter.id', `the encounter number (PV1-19) is required for a patient class ${patientClass} (volet: required when PV1-2 is E, I, O or R)`);
  }
  const start = enc?.start !== undefined ? toTs(enc.start, tz) : null;
  const end = enc?.end !== undefined ? toTs(enc.end, tz) : null;
  if (start) pv1.setRaw(44, start);
  if (end) pv1.setRaw(45, end);

  // ORC-1 and OBR-4 (the request and the document type)
  const typeField = er7(d, [[meta.type.code, meta.type.displayName, typeSystem(meta.type.codeSystem)]]);
  msg.addSegment('ORC').setRaw(1, a.orc);
  const obr = msg.addSegment('OBR');
  obr.setRaw(1, '1');
  obr.setRaw(4, typeField);

  // TXA (MDM only): 1, 2 (a plain code), 3 TEXT, 12 the document, 13 the replaced one, 17 AU
  if (carrier === 'MDM') {
    const txa = msg.addSegment('TXA');
    txa.setRaw(1, '1');
    txa.setRaw(2, escapeValue(meta.type.code, d));
    txa.setRaw(3, 'TEXT');
    txa.setRaw(12, er7(d, [documentNumber(meta.id)]));
    if (action === 'replace' && meta.replaces) txa.setRaw(13, er7(d, [documentNumber(meta.replaces.id)]));
    txa.setRaw(17, 'AU');
  }

  // OBX 1: the document (OBX-5 ^text^XML^Base64^… for MDM, ^TEXT^XML^Base64^… for ORU), OBX-11 F / C / D
  addObx(msg, 1, 'ED', typeField, `${d.component}${carrier === 'MDM' ? 'text' : 'TEXT'}${d.component}XML${d.component}Base64${d.component}${PLACEHOLDER}`, a.obx11);
  addParticipants(msg, patient, document, settings, sharing, qualified);
  addMetadata(msg, carrier, sharing, 1);

  const text = msg.toString();
  const at = text.indexOf(PLACEHOLDER);
  const b64 = (Buffer.isBuffer(cda) ? cda : cdaToBuffer(cda)).toString('base64');
  return { head: text.slice(0, at), b64, tail: text.slice(at + PLACEHOLDER.length) };
}

const ACTION_OF_KIND: Readonly<Record<MdmKind, DocumentAction>> = Object.freeze({ T02: 'new', T10: 'replace', T04: 'delete' });

function kindAction(kind: MdmKind): DocumentAction {
  const action = Object.hasOwn(ACTION_OF_KIND, kind) ? ACTION_OF_KIND[kind] : undefined;
  if (!action) throw new CdaBuildError('INVALID', 'kind', `kind "${String(kind)}" is not T02, T10 or T04`);
  return action;
}

/** The message as the bytes to send (UTF-8, as MSH-18 declares): the base64 copied as Latin-1, which spares a UTF-8 encoding of the whole message. */
function toBuffer({ head, b64, tail }: Parts): Buffer {
  const headLen = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLen + b64.length + Buffer.byteLength(tail, 'utf8'));
  out.write(head, 0, 'utf8');
  out.write(b64, headLen, b64.length, 'latin1');
  out.write(tail, headLen + b64.length, 'utf8');
  return out;
}

/**
 * Wraps a CDA document built by buildCdaN1 in the message the volet "Transmission de documents CDA en
 * HL7 v2" 2.1 describes for the PFI (profils-messages.md), MDM (HL7 2.6) or ORU^R01 (HL7 2.5):
 * - MSH: MDM^<T02|T10|T04>^MDM_T02 or ORU^R01^ORU_R01, MSH-17 FRA, MSH-18 UNICODE UTF-8, MSH-21 2.1^CISIS_CDA_HL7_V2;
 * - EVN (MDM): EVN-2 and EVN-6 now;
 * - PID (PAM FR 2.11.1): PID-3 the INS of a qualified identity then the IPP (as the CDA's recordTarget),
 *   PID-5 used name D and birth name L, PID-7, PID-8, PID-11 BDL, PID-18 the NDA when known, PID-32 VALI
 *   beside the INS (identityStatusCodes);
 * - PV1: PV1-2 from the encounter type, PV1-19 (required for E, I, O, R), PV1-44 / PV1-45 when known;
 * - ORC-1 NW / RO / CA and OBR-4 the document type (code^label^LN or TRE_A05);
 * - TXA (MDM): TXA-1 1, TXA-2 the code, TXA-3 TEXT, TXA-12 the document (extension^^root^ISO), TXA-13 the
 *   replaced one (T10), TXA-17 AU;
 * - OBX 1 the document, base64 of the CDA's bytes, OBX-11 F (new) / C (replacement) / D (deletion);
 * - PRT: SB the sender (the author and the establishment's FINESS géographique unless sharing.sender),
 *   RCT each MSSanté recipient (PRT-15 `^^X.400^<mailbox>`), REPLY the reply address; PRT-5.10 D for a
 *   professional, L for the patient (the XCN-10 of the IHE France data types);
 * - the ten metadata flags, then CORPSMAIL_PS / CORPSMAIL_PATIENT when a mail body is given.
 * Throws CdaBuildError for a request the volets do not allow (the DMP without a qualified INS,
 * MSSanté without recipients…) or an inconsistent input.
 */
export function buildTransmission(carrier: Carrier, action: DocumentAction, cdaXml: string | Buffer, meta: CdaMeta, patient: PatientIdentity, document: DocumentInput, settings: EstablishmentSettings, opts: TransmissionOptions = {}): string {
  if (carrier !== 'MDM' && carrier !== 'ORU') throw new CdaBuildError('INVALID', 'carrier', `carrier "${String(carrier)}" is neither MDM nor ORU`);
  if (!Object.hasOwn(DOCUMENT_ACTIONS, action)) throw new CdaBuildError('INVALID', 'action', `action "${String(action)}" is not new, replace or delete`);
  const { head, b64, tail } = assemble(carrier, action, cdaXml, meta, patient, document, settings, opts);
  return head + b64 + tail;
}

/** buildTransmission, as the bytes to send. */
export function buildTransmissionBuffer(carrier: Carrier, action: DocumentAction, cdaXml: string | Buffer, meta: CdaMeta, patient: PatientIdentity, document: DocumentInput, settings: EstablishmentSettings, opts: TransmissionOptions = {}): Buffer {
  if (carrier !== 'MDM' && carrier !== 'ORU') throw new CdaBuildError('INVALID', 'carrier', `carrier "${String(carrier)}" is neither MDM nor ORU`);
  return toBuffer(assemble(carrier, action, cdaXml, meta, patient, document, settings, opts));
}

/** The MDM^T02 / T10 / T04 of buildTransmission. */
export function buildMdm(cdaXml: string | Buffer, meta: CdaMeta, patient: PatientIdentity, document: DocumentInput, settings: EstablishmentSettings, kind: MdmKind, opts: TransmissionOptions = {}): string {
  return buildTransmission('MDM', kindAction(kind), cdaXml, meta, patient, document, settings, opts);
}

/** buildMdm, as the bytes to send. */
export function buildMdmBuffer(cdaXml: string | Buffer, meta: CdaMeta, patient: PatientIdentity, document: DocumentInput, settings: EstablishmentSettings, kind: MdmKind, opts: TransmissionOptions = {}): Buffer {
  return buildTransmissionBuffer('MDM', kindAction(kind), cdaXml, meta, patient, document, settings, opts);
}

export { ACTION_OF_KIND, FLAG_OF };
