// CDA R2 level-1 documents conforming to the CI-SIS (structuration minimale, IHE XDS-SD) from a PDF and
// the patient's identity, and their HL7 v2 MDM wrapping for the PFI (DMP / MSSanté).
export { buildCdaN1, buildCdaN1Buffer, cdaToBuffer, formatId, parseId, psIdentifier, structureIdentifier, newIdExtension, isOid, isFiness, isTelecom, CDA_OIDS } from './build';
export {
  buildMdm,
  buildMdmBuffer,
  buildTransmission,
  buildTransmissionBuffer,
  identityStatusCodes,
  SHARING_FLAG_CODES,
  type Carrier,
  type MdmKind,
  type SharingFlag,
  type TransmissionOptions,
} from './transmission';
export * from './volet';
export { CdaBuildError, type CdaBuildErrorCode } from './errors';
export { DOCUMENT_TYPE_ALIASES, documentType, facilityType, practiceSetting } from './vocabulary';
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
  ParticipantOrganizationInput,
  ProfessionalInput,
  RecipientInput,
  SenderInput,
  ReplacedDocumentInput,
  ServiceEventInput,
  SharingInput,
  Telecoms,
} from './types';
// reading documents received: safe XML, CDA header and body, ORU/MDM carriers, patient matching
export { readCda, readCdaStream, tsToIso, HL7_V3_NS, type CdaReading, type CdaIns, type CdaTraits, type CdaCode, type ReadCdaOptions, type ByteStream } from './parse';
export {
  CdaRejectError,
  Base64Decoder,
  decodeBase64Strict,
  readXml,
  checkXmlHead,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_ELEMENTS,
  type CdaRejectCode,
  type SafeXmlOptions,
  type XmlTag,
  type XmlVisitor,
  type OpenDirective,
  type XmlReadInfo,
} from './xml';
export {
  unwrapHl7Document,
  readHl7Document,
  documentAck,
  ackAdvice,
  voletAckOptions,
  ACK_COUNTRY,
  DocumentMessageError,
  DOCUMENT_EVENTS,
  DOCUMENT_VERSIONS,
  type UnwrappedDocument,
  type SharingMetadata,
  type SharingLine,
  type TransportParticipant,
  type DocumentCarrier,
  type DocumentTxa,
  type AckAdvice,
} from './unwrap';
// the PFI's business acknowledgements (ZAM^Z01 / Z02 / Z03) and their technical ACK
export {
  readZam,
  zamAck,
  buildZam,
  ZamError,
  type ZamReading,
  type ZamStep,
  type ZamParty,
  type ZamReportedError,
  type ZamHeader,
  type ZamErrorCode,
  type ZamInput,
} from './zam';
export { matchPatient, compareTraits, normalizeName, missingInsTraits, applicationErrorOf, type PatientMatch, type MatchMethod, type MatchCandidate, type TraitMismatch, type Trait, type MatchOptions } from './match';
// replacements and deletions received: what they may do to the archive (LPS volet 900, 901, 906)
export { planLifecycle, partyId, LifecycleRefusal, type LifecyclePlan, type LifecycleRefusalCode } from './lifecycle';
