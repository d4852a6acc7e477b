// INS (identité nationale de santé) rules applied to IHE PAM FR ADT messages. Pure domain code.
//
// readAdt / readAdtPayload tell, for one ADT message from an identity registry, what the ACK must say
// (AA / AE / AR with HL7 table 0357 codes and ERR locations), what a store should do (update, merge,
// change-id, link, unlink, none), the identity (IPP, INS, RNIV status, birth traits) and the event
// time. In short (details in the doc comments of lib/ins/adt.ts and lib/ins/nir.ts):
// - AR (nothing read): unparsable input; MSH-9.1 not ADT (200); event not handled (201); MSH-12 not
//   supported (203); a segment the event cannot do without missing (100: PID, MRG of A40/A47, second
//   PID of A24/A37).
// - AE (read, with errors): segment order (100); no IPP (101, no identity); INS with a wrong key or
//   malformed (102, INS dropped); invalid birth date (102) or sex (103); none or several of PROV,
//   RECUP, VALI, QUAL in PID-32 (103); a QUAL identity without one of its birth traits (101).
// - W (reported only): INS under an unknown OID, INS-C and NH legacy codings (never read as an INS),
//   non-ISO OID type, test/demo INS in a production message, unreadable times, odd birth places.
export { INS_OIDS, LEGACY_INS_OIDS, checkInsKey, insOidInfo, type InsKind, type InsEnvironment, type InsOidInfo, type InsKeyCheck } from './nir';
export {
  readAdt,
  readAdtPayload,
  ADT_EVENT_ACTIONS,
  type IdentityStatus,
  type Ins,
  type Ipp,
  type PatientIdentity,
  type AdtIssue,
  type AdtAction,
  type AdtReading,
  type AdtOptions,
} from './adt';
