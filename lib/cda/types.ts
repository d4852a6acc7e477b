// Input and output shapes of the CDA R2 level-1 builder (build.ts) and of its HL7 v2 MDM wrapping (mdm.ts).
import type { PdfAConformance } from '../pdf';
import type { DocumentTypeConcept } from './codes';
import type { DateInput } from './time';

export type { DateInput };

/**
 * An instance identifier (II). As input, a string is read as:
 * - "root^extension" (e.g. "1.2.250.1.999.1.2^DOC0001");
 * - an OID alone (digits and dots, e.g. "1.2.250.1.999.1.2.7"): root without extension;
 * - anything else: an extension under the default root of the field (settings.documentIdRoot for
 *   document ids, settings.setIdRoot for set ids, settings.encounterIdRoot for encounter ids).
 */
export interface CdaId {
  root: string;
  extension?: string;
}

/** The document type aliases of the Ségur DSR and the LOINC code each stands for. */
export type DocumentTypeAlias = 'LDL' | 'CRO' | 'ORDONNANCE' | 'CR-BIO' | 'CR-IMAGERIE';

/**
 * A postal address. Either lines (`streetAddressLine`s) or structured parts, not both: the CI-SIS
 * address rule (addr.sch) forbids mixing them.
 */
export interface AddressInput {
  lines?: readonly string[];
  houseNumber?: string;
  streetName?: string;
  /** Building, floor, "lieu-dit"… */
  additionalLocator?: string;
  postalCode?: string;
  city?: string;
  country?: string;
}

/**
 * Telecom addresses as URIs with the prefixes the CI-SIS allows: "tel:", "fax:", "mailto:", "http:",
 * "ftp:", "mllp:" (e.g. "tel:+33472000000", "mailto:secretariat@chu-x.mssante.fr").
 */
export type Telecoms = readonly string[];

/** Civility or professional title (TRE_R81-Civilite, TRE_R11-CiviliteExercice). */
export type NamePrefix = 'M' | 'MLLE' | 'MME' | 'DR' | 'MC' | 'MG' | 'PC' | 'PG' | 'PR';

/** A health professional (author, legal authenticator, performer). */
export interface ProfessionalInput {
  /**
   * National PS identifier (ANS convention, root 1.2.250.1.71.4.2.1): an RPPS number (11 digits) is
   * written "8" + RPPS; an identifier already prefixed ("8" + 11 digits, or "0" + 9-digit ADELI) is kept.
   */
  idNat: string;
  family: string;
  given?: string;
  /** Profession / specialty code of JDV_AuthorSpecialty-CISIS (e.g. "G15_10" Médecin, "G15_10/SM26"). */
  specialty: string;
  prefix?: NamePrefix;
  telecom?: Telecoms;
  address?: AddressInput;
}

export interface AuthorInput extends ProfessionalInput {
  /** When the author wrote the document (default: the document's effectiveTime). */
  time?: DateInput;
}

export interface LegalAuthenticatorInput extends ProfessionalInput {
  /** When the document was signed (default: the document's effectiveTime). */
  time?: DateInput;
}

/** A health organization, identified per the ANS structure identifier convention (root 1.2.250.1.71.4.2.2). */
export interface OrganizationInput {
  /** FINESS (9 characters, written "1" + FINESS) or SIRET (14 digits, written "3" + SIRET). */
  id: string;
  idType: 'FINESS' | 'SIRET';
  name: string;
  address?: AddressInput;
  telecom?: Telecoms;
}

/** The care encounter the document belongs to (componentOf/encompassingEncounter). */
export interface EncounterInput {
  start: DateInput;
  end?: DateInput;
  /** Healthcare facility type, TRE_R02-SecteurActivite (e.g. "SA01"); default settings.defaultFacilityType. */
  facilityType?: string;
  /**
   * Practice setting, TRE_A01-CadreExercice (e.g. "ETABLISSEMENT"); default settings.defaultPracticeSetting.
   * Written, as the CI-SIS asks, in documentationOf/serviceEvent/performer/assignedEntity/
   * representedOrganization/standardIndustryClassCode (the XDS practiceSettingCode).
   */
  practiceSetting?: string;
  /** Name of the care unit (e.g. "Service de cardiologie"): healthCareFacility/serviceProviderOrganization/name. */
  service?: string;
  /** Encounter number (the venue, PV1-19); a plain string is an extension under settings.encounterIdRoot. */
  id?: string | CdaId;
  /** Administrative file number (NDA, PID-18 of the MDM / ORU); a plain string is an extension under settings.encounterIdRoot. */
  account?: string | CdaId;
  /** Encounter type, TRE_R304-HL7v3ActCode (IMP, EMER, AMB, FLD, HH, VR) or TRE_R305-TypeRencontre (EXTERNE, SEANCE). */
  code?: string;
}

/** The act the document reports (documentationOf/serviceEvent). */
export interface ServiceEventInput {
  start: DateInput;
  end?: DateInput;
  /** The act's code (e.g. CCAM), with its code system OID and display name. */
  code?: { code: string; codeSystem: string; displayName: string; codeSystemName?: string };
  /** Who performed it (default: the author). */
  performer?: ProfessionalInput;
}

/** The document this one replaces (relatedDocument typeCode RPLC / parentDocument). */
export interface ReplacedDocumentInput {
  id: string | CdaId;
  /** Its setId (the new version keeps it); needed unless document.setId is given. */
  setId?: string | CdaId;
  /** Its versionNumber; the new version defaults to this + 1. */
  version?: number;
}

/** A recipient of the document over MSSanté. */
/**
 * An organization as the transport volet names it in PRT-8 (XON): name, identifier, its type (HL7 table
 * 0203 as IHE France specialises it: FINEG, FINEJ, IDNST, UF, SVR…) and assigning authority.
 */
export interface ParticipantOrganizationInput {
  name: string;
  /** PRT-8.10: the identifier (a FINESS number, an IDNST, a UF code…). */
  id: string;
  /** PRT-8.7 (default FINEG). */
  idType?: string;
  /**
   * PRT-8.6: assigning authority (default ASIP-SANTE-ST, 1.2.250.1.71.4.2.2). For a service or UF, the
   * establishment's FINESS as namespace and no OID (`Radiologie^^^^^120456789^UF^^^3435`).
   */
  authority?: { namespace?: string; oid?: string };
}

/**
 * An MSSanté recipient of the document (a PRT RCT segment of the volet "Transmission de documents CDA en
 * HL7 v2" 2.1): its mailbox, and who it is — a health professional (national identifier), the patient
 * (PRT-5 is then the patient's INS, written only for a qualified identity), an organization, or an
 * application.
 */
export interface RecipientInput {
  /** MSSanté mailbox (PRT-15.4). */
  mssante: string;
  /** A health professional: national PS identifier (RPPS, as for ProfessionalInput.idNat) and names. */
  idNat?: string;
  family?: string;
  given?: string;
  /** The patient (DESTMSSANTEPAT). */
  patient?: boolean;
  organization?: ParticipantOrganizationInput;
  /** An application: its identifier (PRT-10.1). */
  device?: string;
}

/**
 * Who sends the request (the PRT SB segment): a health professional and their organization (both
 * needed for the DMP: SC.DMP/CONF.12, "FINESS géographique de l'établissement et l'identifiant du
 * professionnel ou du dispositif"), or an application. Default: the document's author, and the
 * establishment (custodian) as a FINESS géographique.
 */
export interface SenderInput {
  idNat?: string;
  family?: string;
  given?: string;
  organization?: ParticipantOrganizationInput;
  device?: string;
}

/**
 * How the document is to be shared: the metadata OBX of the MDM / ORU for the PFI (table « MétaDMP/MSS »,
 * all ten flags written Y or N, default N), the PRT participants, the mail bodies. Not used in the CDA
 * itself.
 */
export interface SharingInput {
  /** Send to the patient's DMP (DESTDMP): only a qualified identity (the DMP's patientId is the INS). */
  dmp?: boolean;
  /** Send by MSSanté to the professionals, organizations or applications among `recipients` (DESTMSSANTEPS). */
  mssantePs?: boolean;
  /** Send by MSSanté to the patient, a recipient with `patient: true` (DESTMSSANTEPAT). */
  mssantePatient?: boolean;
  /** The patient may not answer the mail (NTE-4 "FIN" after DESTMSSANTEPAT). */
  patientMayNotReply?: boolean;
  /** DMP: hidden from the other health professionals (MASQUE_PS). */
  hiddenFromProfessionals?: boolean;
  /** DMP: not visible to the patient (INVISIBLE_PATIENT). */
  invisibleToPatient?: boolean;
  /** DMP: not visible to the patient's legal representatives (INVISIBLE_REP_LEGAUX). */
  invisibleToLegalRepresentatives?: boolean;
  /** DMP "connexion secrète" transaction (CONNEXION_SECRETE). */
  secretConnection?: boolean;
  /** A replacement that changes the visibility above of a document already shared (MODIF_CONF_CODE). */
  confidentialityChange?: boolean;
  /** Ask for the DMP / MSSanté delivery receipts (ACK_RECEPTION) and the MSSanté read receipts (ACK_LECTURE_MSS). */
  ackReception?: boolean;
  ackReading?: boolean;
  /** MSSanté recipients (PRT RCT). */
  recipients?: readonly RecipientInput[];
  /** Where a recipient may answer (PRT REPLY). */
  replyTo?: string;
  /** Text for the body of the mail to the professionals (CORPSMAIL_PS) and to the patient (CORPSMAIL_PATIENT). */
  mailBodyProfessional?: string;
  mailBodyPatient?: string;
  /** The sender of the request (PRT SB); default the author and the establishment. */
  sender?: SenderInput;
}

/** What the document is and who is responsible for it. */
export interface DocumentInput {
  /** A Ségur alias (LDL, CRO, ORDONNANCE, CR-BIO, CR-IMAGERIE) or any code of DOCUMENT_TYPES (e.g. "11490-0", "PRESC-KINE"). */
  type: DocumentTypeAlias | string;
  /** Default: the type's display name. */
  title?: string;
  /** When the document was produced (default: `now`). */
  effectiveTime?: DateInput;
  /** TRE_A08-HL7Confidentiality: N normal (default), R restricted, V very restricted. */
  confidentiality?: 'N' | 'R' | 'V';
  author: AuthorInput;
  /** Default: the author, signing at the document's effectiveTime. */
  legalAuthenticator?: LegalAuthenticatorInput;
  /** The author's organization (default settings.organization, else the custodian). */
  organization?: OrganizationInput;
  encounter: EncounterInput;
  /** Default: the encounter's period, performed by the author. */
  serviceEvent?: ServiceEventInput;
  /** Extension (or full id) of ClinicalDocument/id; default a new 16-character extension under settings.documentIdRoot. */
  id?: string | CdaId;
  /** setId (default: a new one for a first version, replaces.setId for a replacement). */
  setId?: string | CdaId;
  /** versionNumber (default 1, or replaces.version + 1). */
  version?: number;
  replaces?: ReplacedDocumentInput;
  sharing?: SharingInput;
}

/** What the establishment configures once. */
export interface EstablishmentSettings {
  /** OID under which the establishment numbers its documents (ClinicalDocument/id root). */
  documentIdRoot: string;
  /** OID for setIds (default documentIdRoot). */
  setIdRoot?: string;
  /** OID of the IPP assigning authority, used when the identity's ipp.oid is empty. */
  ippAuthorityOid?: string;
  /** OID for encounter numbers given as plain strings. */
  encounterIdRoot?: string;
  /** The organization keeping the document (custodian): FINESS, name, address, telecom. */
  custodian: { finess: string; name: string; address?: AddressInput; telecom?: Telecoms };
  /** TRE_R02-SecteurActivite code used when an encounter gives none (e.g. "SA01"). */
  defaultFacilityType: string;
  /** TRE_A01-CadreExercice code used when an encounter gives none (e.g. "ETABLISSEMENT"). */
  defaultPracticeSetting: string;
  /** The authors' organization when a document names none (default: the custodian). */
  organization?: OrganizationInput;
  /** IANA time zone the times are written in (default "Europe/Paris"). */
  timeZone?: string;
  /**
   * Header of the MDM / ORU: MSH-3 … MSH-6 in ER7 form (all four required: the volet marks them R),
   * processing id (default P). `version` is not used by the transmission: the volet fixes MSH-12 (2.6 for
   * MDM, 2.5 for ORU).
   */
  hl7?: {
    sendingApplication?: string;
    sendingFacility?: string;
    receivingApplication?: string;
    receivingFacility?: string;
    version?: '2.5' | '2.5.1' | '2.6';
    processingId?: 'P' | 'T' | 'D';
  };
}

/** What buildCdaN1 says about the document it built (and what buildMdm needs). */
export interface CdaMeta {
  /** ClinicalDocument/id. */
  id: CdaId;
  /** ClinicalDocument/setId. */
  setId: CdaId;
  /** ClinicalDocument/versionNumber. */
  version: number;
  /** ClinicalDocument/code/@code. */
  typeCode: string;
  /** The type with its code system and display name, as written. */
  type: DocumentTypeConcept;
  title: string;
  /** ClinicalDocument/effectiveTime/@value (YYYYMMDDHHMMSS+ZZZZ, or YYYYMMDD). */
  effectiveTime: string;
  confidentiality: 'N' | 'R' | 'V';
  /** Whether the patient's INS is in the document (only for a qualified identity). */
  insIncluded: boolean;
  /** The PDF/A declaration of the PDF, null when none. */
  pdfa: PdfAConformance | null;
  /** Pages of the PDF. */
  pages: number;
  /** The replaced document (relatedDocument RPLC), when there is one. */
  replaces?: { id: CdaId; setId?: CdaId; version?: number };
  /**
   * What the document is built with but should not be: a PDF without PDF/A-1 declaration (the CI-SIS
   * level-1 check warns), a body too large for libxml2-based validators.
   */
  warnings: string[];
}

export interface CdaBuildInput {
  pdf: Buffer;
  patient: import('../ins').PatientIdentity;
  document: DocumentInput;
  settings: EstablishmentSettings;
  /** The current time (default new Date()): document effectiveTime and signing time when not given. */
  now?: Date;
}

export interface CdaBuildResult {
  /** The CDA document (UTF-8 XML, declaration included). */
  xml: string;
  meta: CdaMeta;
}
