// CDA R2 level-1 documents conforming to the CI-SIS (structuration minimale, IHE XDS-SD) from a PDF and
// the patient's identity, and their HL7 v2 MDM wrapping for the PFI (DMP / MSSanté).
export { buildCdaN1, buildCdaN1Buffer, cdaToBuffer, formatId, parseId, psIdentifier, structureIdentifier, newIdExtension, CDA_OIDS } from './build';
export { buildMdm, buildMdmBuffer, MDM_METADATA_CODES, type MdmKind, type MdmOptions } from './mdm';
export { CdaBuildError, type CdaBuildErrorCode } from './errors';
export { DOCUMENT_TYPE_ALIASES, documentType } from './vocabulary';
export { toTs, formatTs, type DateInput } from './time';
export * from './codes';
export type {
  AddressInput,
  AuthorInput,
  CdaBuildInput,
  CdaBuildResult,
  CdaId,
  CdaMeta,
  DocumentInput,
  DocumentTypeAlias,
  EncounterInput,
  EstablishmentSettings,
  LegalAuthenticatorInput,
  NamePrefix,
  OrganizationInput,
  ProfessionalInput,
  RecipientInput,
  ReplacedDocumentInput,
  ServiceEventInput,
  SharingInput,
  Telecoms,
} from './types';
