// The establishment as the nodes hold it: the properties of a segur-establishment configuration node —
// the same names the pdf-to-cda-n1 and portability-export nodes used for their own fields before it —
// mapped, in this file only, to what lib/cda builds with (EstablishmentSettings) and what lib/export
// writes (the producer of an export), and checked. A node takes its establishment from its
// `establishment` property; without one, from its own old fields (flows written before the
// configuration node); msg.settings still overrides per message (pdf-to-cda-n1, mergeSettings).
import { facilityType, isFiness, isOid, isTelecom, practiceSetting, type EstablishmentSettings } from '../../lib/cda';
import { isTimeZone } from '../../lib/timezone';
import type { Node, NodeAPI } from './red';

/** The properties of a segur-establishment node (and the old fields of pdf-to-cda-n1, same names). */
export interface EstablishmentFields {
  documentIdRoot?: unknown;
  setIdRoot?: unknown;
  ippAuthorityOid?: unknown;
  encounterIdRoot?: unknown;
  /** FINESS géographique: the custodian, the authors' organization, PRT-8 FINEG of the PFI message. */
  custodianFiness?: unknown;
  custodianName?: unknown;
  custodianStreet?: unknown;
  custodianPostalCode?: unknown;
  custodianCity?: unknown;
  custodianTelecom?: unknown;
  defaultFacilityType?: unknown;
  defaultPracticeSetting?: unknown;
  timeZone?: unknown;
  hl7SendingApplication?: unknown;
  hl7SendingFacility?: unknown;
  hl7ReceivingApplication?: unknown;
  hl7ReceivingFacility?: unknown;
  hl7ProcessingId?: unknown;
}

export const DEFAULT_TIME_ZONE = 'Europe/Paris';
const PROCESSING_IDS = ['P', 'T', 'D'] as const;

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : typeof v === 'number' && Number.isFinite(v) ? String(v) : '');

/**
 * The fields that say "this node was configured before segur-establishment": the identifying ones. The
 * others (time zone, facility type, practice setting, processing id) had default values in the dialog,
 * so every old node holds them and they say nothing.
 */
export const LEGACY_CDA_FIELDS = Object.freeze([
  'documentIdRoot',
  'setIdRoot',
  'ippAuthorityOid',
  'encounterIdRoot',
  'custodianFiness',
  'custodianName',
  'custodianStreet',
  'custodianPostalCode',
  'custodianCity',
  'custodianTelecom',
  'hl7SendingApplication',
  'hl7SendingFacility',
  'hl7ReceivingApplication',
  'hl7ReceivingFacility',
] as const);

/**
 * The old fields of portability-export hold something: a producer, or a time zone other than the old
 * dialog's default (Europe/Paris, held by every old node).
 */
export function hasLegacyExportFields(def: { producerName?: unknown; producerFiness?: unknown; timeZone?: unknown }): boolean {
  const tz = str(def.timeZone);
  return str(def.producerName) !== '' || str(def.producerFiness) !== '' || (tz !== '' && tz !== DEFAULT_TIME_ZONE);
}

/** Whether one of `fields` holds a value in `def`. */
export function hasAnyField(def: Record<string, unknown>, fields: readonly string[]): boolean {
  return fields.some((f) => str(def[f]) !== '');
}

/** Settings for lib/cda (buildCdaN1, buildTransmission): empty fields left out, the time zone defaulted. */
export function establishmentSettings(f: EstablishmentFields): Partial<EstablishmentSettings> {
  const s: Partial<EstablishmentSettings> = {};
  const set = <K extends keyof EstablishmentSettings>(key: K, v: unknown) => {
    if (str(v)) s[key] = str(v) as EstablishmentSettings[K];
  };
  set('documentIdRoot', f.documentIdRoot);
  set('setIdRoot', f.setIdRoot);
  set('ippAuthorityOid', f.ippAuthorityOid);
  set('encounterIdRoot', f.encounterIdRoot);
  set('defaultFacilityType', f.defaultFacilityType);
  set('defaultPracticeSetting', f.defaultPracticeSetting);
  s.timeZone = str(f.timeZone) || DEFAULT_TIME_ZONE;
  const custodian: EstablishmentSettings['custodian'] = { finess: str(f.custodianFiness), name: str(f.custodianName) };
  const address = { streetName: str(f.custodianStreet), postalCode: str(f.custodianPostalCode), city: str(f.custodianCity) };
  const parts = Object.entries(address).filter(([, v]) => v);
  if (parts.length) custodian.address = Object.fromEntries(parts);
  if (str(f.custodianTelecom)) custodian.telecom = [str(f.custodianTelecom)];
  s.custodian = custodian;
  const hl7: NonNullable<EstablishmentSettings['hl7']> = {};
  if (str(f.hl7SendingApplication)) hl7.sendingApplication = str(f.hl7SendingApplication);
  if (str(f.hl7SendingFacility)) hl7.sendingFacility = str(f.hl7SendingFacility);
  if (str(f.hl7ReceivingApplication)) hl7.receivingApplication = str(f.hl7ReceivingApplication);
  if (str(f.hl7ReceivingFacility)) hl7.receivingFacility = str(f.hl7ReceivingFacility);
  const pid = str(f.hl7ProcessingId) as (typeof PROCESSING_IDS)[number];
  if (PROCESSING_IDS.includes(pid)) hl7.processingId = pid;
  s.hl7 = hl7;
  return s;
}

/** The producer lib/export writes in an export (LISEZ-MOI, manifest.json): the establishment's name and FINESS. */
export interface ExportProducer {
  name: string;
  finess?: string;
}

/** The producer of an export from a name and a FINESS (either may be empty); undefined when both are. */
export function exportProducer(name: unknown, finess: unknown): ExportProducer | undefined {
  const n = str(name);
  const f = str(finess);
  if (!n && !f) return undefined;
  return { name: n || `FINESS ${f}`, ...(f ? { finess: f } : {}) };
}

/** Where each field is in the configuration node's dialog, for the texts that name it. */
export const FIELD_LABELS: Readonly<Record<keyof EstablishmentFields, string>> = Object.freeze({
  documentIdRoot: 'document id OID (documentIdRoot)',
  setIdRoot: 'setId OID (setIdRoot)',
  ippAuthorityOid: 'IPP authority OID (ippAuthorityOid)',
  encounterIdRoot: 'encounter id OID (encounterIdRoot)',
  custodianFiness: 'FINESS (custodianFiness)',
  custodianName: 'establishment name (custodianName)',
  custodianStreet: 'street (custodianStreet)',
  custodianPostalCode: 'postal code (custodianPostalCode)',
  custodianCity: 'city (custodianCity)',
  custodianTelecom: 'telecom (custodianTelecom)',
  defaultFacilityType: 'facility type (defaultFacilityType)',
  defaultPracticeSetting: 'practice setting (defaultPracticeSetting)',
  timeZone: 'time zone (timeZone)',
  hl7SendingApplication: 'MSH-3 sending application (hl7SendingApplication)',
  hl7SendingFacility: 'MSH-4 sending facility (hl7SendingFacility)',
  hl7ReceivingApplication: 'MSH-5 receiving application (hl7ReceivingApplication)',
  hl7ReceivingFacility: 'MSH-6 receiving facility (hl7ReceivingFacility)',
  hl7ProcessingId: 'MSH-11 processing id (hl7ProcessingId)',
});

/** An HL7 v2 field the establishment gives in ER7 form (MSH-3…6): components (^) and subcomponents (&), nothing that would end the field. */
const HL7_FIELD = /^[^|~\\\u0000-\u001f\u007f]*$/;

/**
 * What is wrong with an establishment, one text per field naming it and saying why (its value quoted:
 * these are the establishment's identifiers, never patient data). Required: the FINESS and the name
 * (every document and export names the establishment). The document id OID and MSH-3…6 are needed by
 * pdf-to-cda-n1 only (missingForCda), not by an establishment that only exports.
 */
export function establishmentProblems(f: EstablishmentFields): string[] {
  const problems: string[] = [];
  const say = (key: keyof EstablishmentFields, why: string) => problems.push(`${FIELD_LABELS[key]}: ${why}`);
  for (const key of ['documentIdRoot', 'setIdRoot', 'ippAuthorityOid', 'encounterIdRoot'] as const) {
    const v = str(f[key]);
    if (v && !isOid(v)) say(key, `"${v}" is not an OID (digits and dots, e.g. 1.2.250.1.999.1.2; 64 characters at most)`);
  }
  const finess = str(f.custodianFiness);
  if (!finess) say('custodianFiness', 'missing: the FINESS géographique of the establishment');
  else if (!isFiness(finess)) say('custodianFiness', `"${finess}" is not a FINESS number (9 characters: the département, 2 digits or 2A / 2B, then 7 digits)`);
  if (!str(f.custodianName)) say('custodianName', 'missing');
  const telecom = str(f.custodianTelecom);
  if (telecom && !isTelecom(telecom)) say('custodianTelecom', `"${telecom}" is not a URI with a prefix the CI-SIS allows (tel:, fax:, mailto:, http:, ftp:, mllp:)`);
  const tz = str(f.timeZone) || DEFAULT_TIME_ZONE;
  if (!isTimeZone(tz)) say('timeZone', `"${tz}" is not an IANA time zone (e.g. Europe/Paris, America/Cayenne, Indian/Reunion)`);
  const facility = str(f.defaultFacilityType);
  if (facility && !facilityType(facility)) say('defaultFacilityType', `"${facility}" is not a code of TRE_R02-SecteurActivite (e.g. SA01)`);
  const setting = str(f.defaultPracticeSetting);
  if (setting && !practiceSetting(setting)) say('defaultPracticeSetting', `"${setting}" is not a code of TRE_A01-CadreExercice (e.g. ETABLISSEMENT)`);
  for (const key of ['hl7SendingApplication', 'hl7SendingFacility', 'hl7ReceivingApplication', 'hl7ReceivingFacility'] as const) {
    const v = str(f[key]);
    if (v && !HL7_FIELD.test(v)) say(key, 'holds a character that ends an HL7 v2 field (|, ~, \\ or a control character): give the field in ER7 form, components separated by ^');
  }
  const pid = str(f.hl7ProcessingId);
  if (pid && !(PROCESSING_IDS as readonly string[]).includes(pid)) say('hl7ProcessingId', `"${pid}" is not P, T or D`);
  return problems;
}

/** What pdf-to-cda-n1 needs that an establishment may leave empty: the document id OID, MSH-3 to MSH-6 (the volet marks them R). */
export const CDA_FIELDS = Object.freeze(['documentIdRoot', 'hl7SendingApplication', 'hl7SendingFacility', 'hl7ReceivingApplication', 'hl7ReceivingFacility'] as const);

export function missingForCda(f: EstablishmentFields): string[] {
  return CDA_FIELDS.filter((k) => !str(f[k]));
}

// --- the configuration node as the other nodes see it -------------------------------------------

/** The segur-establishment configuration node (RED.nodes.getNode). */
export interface EstablishmentNode extends Node {
  /** "name", else "custodianName (FINESS)": how texts name it. */
  readonly label: string;
  /** What is wrong with its configuration (establishmentProblems); empty when it is fine. */
  readonly problems: readonly string[];
  /** IANA time zone of the establishment. */
  readonly timeZone: string;
  /** The fields pdf-to-cda-n1 needs that are empty (missingForCda). */
  readonly missingForCda: readonly string[];
  /** Settings for lib/cda; a new object at each call (msg.settings is merged over it). */
  settings(): Partial<EstablishmentSettings>;
  /** The producer of an export (its name and FINESS). */
  exportProducer(): ExportProducer | undefined;
}

export function isEstablishmentNode(node: Node | null): node is EstablishmentNode {
  return node !== null && node.type === 'segur-establishment' && typeof (node as Partial<EstablishmentNode>).settings === 'function';
}

/**
 * Where a node takes its establishment from: its `establishment` configuration node; without one, its own
 * old fields when it has some ('legacy'); else nothing ('none'). A configuration node named but not found
 * (deleted, or not deployed) is 'missing', one whose configuration is wrong 'invalid'.
 */
export type EstablishmentSource =
  | { kind: 'establishment'; node: EstablishmentNode }
  | { kind: 'invalid'; node: EstablishmentNode }
  | { kind: 'missing'; id: string }
  | { kind: 'legacy' }
  | { kind: 'none' };

export function establishmentSource(RED: NodeAPI, id: unknown, hasLegacy: boolean): EstablishmentSource {
  const ref = typeof id === 'string' && id !== '_ADD_' ? id.trim() : '';
  if (ref) {
    const found = RED.nodes.getNode(ref);
    if (!isEstablishmentNode(found)) return { kind: 'missing', id: ref };
    return found.problems.length ? { kind: 'invalid', node: found } : { kind: 'establishment', node: found };
  }
  return hasLegacy ? { kind: 'legacy' } : { kind: 'none' };
}
