// INS (identité nationale de santé) rules applied to IHE PAM FR 2.11.1 ADT messages. Pure domain code.
//
// readAdt / readAdtPayload tell, for one ADT message from an identity registry, what the ACK must say
// (AA / AE / AR with HL7 table 0357 codes and ERR locations), what the identity registry should do
// (update, merge, change-id, change-ins, link, unlink, none), the identity (IPP, INS when qualified,
// PID-32 status and attributes, birth traits, ZFD verification) and the event time. In short:
// - AR (nothing read): unparsable input; MSH-9.1 not ADT (200); MSH-9.2 not an ADT event code (201);
//   MSH-12 not supported (203); a segment the event cannot do without missing (100).
// - AE (not integrated): segment order (100); no IPP, or an MRG-1 without the identifier it changes
//   (101); an identifier or a name with control characters or too long, a birth date that is not a date
//   or in the future, an event time in the future (102); a sex outside F, M, U (103).
// - AA with warnings (integrated, WITHOUT the INS): an INS without PID-32 VALI, with a wrong key, under
//   an unknown OID, repeated or ambiguous, a qualified identity missing a birth trait or whose sex
//   disagrees with its NIR, a birth date corrected after INSi (PAM FR §6.6.15, §6.6.1, §4.4.1, §6.6.4).
// - AA with nothing to record: ADT events PAM FR keeps out (A08, Z80–Z89…).
export { INS_OIDS, LEGACY_INS_OIDS, checkInsKey, insOidInfo, type InsKind, type InsEnvironment, type InsOidInfo, type InsKeyCheck } from './nir';
export { TABLE_0445, STATUS_LEVELS, IDENTITY_ATTRIBUTES, NOT_QUALIFIABLE, readStatusCodes, fhirInsStatus, FHIR_INS_STATUS } from './status';
export { qualificationGaps, INSEE_CODE, type IdentityVerification, type QualificationGap } from './identity';
export { HL7_NULL } from './text';
export { MAX_ISSUES } from './findings';
export { eventRule } from './events';
export {
  readAdt,
  readAdtPayload,
  ADT_EVENT_ACTIONS,
  NOT_APPLIED_EVENTS,
  DEFAULT_CLOCK_TOLERANCE_MS,
  type Ins,
  type Ipp,
  type PatientIdentity,
  type AdtIssue,
  type AdtAction,
  type AdtReading,
  type AdtOptions,
} from './adt';
