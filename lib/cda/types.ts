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
  /** Encounter number (NDA); a plain string is an extension under settings.encounterIdRoot. */
  id?: string | CdaId;
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
export interface RecipientInput {
  /** National PS identifier (RPPS, as for ProfessionalInput.idNat). */
  idNat?: string;
  family?: string;
  given?: string;
  /** MSSanté mailbox (e.g. "jean.dupont@medecin.mssante.fr"). */
  mssante?: string;
}

/**
 * How the document is to be shared, for the MDM message to the PFI (metadata OBX segments, coding
 * system "MetaDMPMSS"; each flag given is written, Y or N). Not used in the CDA itself, except that
 * the DMP visibility flags (hidden/invisible) are sent alongside.
 */
export interface SharingInput {
  /** Send to the patient's DMP (OBX DESTDMP). */
  dmp?: boolean;
  /** Send by MSSanté to the health professionals in `recipients` (OBX DESTMSSANTEPS). */
  mssantePs?: boolean;
  /** Send by MSSanté to the patient's Mon espace santé mailbox (OBX DESTMSSANTEPAT). */
  mssantePatient?: boolean;
  /** DMP: hidden from the other health professionals ("masqué aux PS", OBX MASQUE_PS). */
  hiddenFromProfessionals?: boolean;
  /** DMP: not visible to the patient until an announcement consultation (OBX INVISIBLE_PATIENT). */
  invisibleToPatient?: boolean;
  /**
   * DMP: not visible to the patient's legal representatives — the "connexion secrète" of a minor
   * patient (OBX INVISIBLE_REPRESENTANTS_LEGAUX).
   */
  invisibleToLegalRepresentatives?: boolean;
  /** An MDM^T04 that changes the visibility flags above of a document already shared (OBX MODIFICATION_CONFIDENTIALITE). */
  confidentialityChange?: boolean;
  /** MSSanté recipients (OBX DESTINATAIRE, XCN; the mailbox in an XTN OBX with the same OBX-4 sub-id). */
  recipients?: readonly RecipientInput[];
  /** Ask MSSanté for a delivery / read receipt (OBX ACK_RECEPTION, ACK_LECTURE). */
  ackReception?: boolean;
  ackReading?: boolean;
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
  /** MDM header: MSH-3 … MSH-6 in ER7 form, HL7 version (default 2.6), processing id (default P). */
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
