// Look-ups in the generated code tables (codes.ts) and the Ségur document type aliases.
import {
  ADMINISTRATIVE_GENDERS,
  CONFIDENTIALITY_CODES,
  DOCUMENT_TYPES,
  ENCOUNTER_TYPES,
  HEALTHCARE_FACILITY_TYPES,
  PRACTICE_SETTINGS,
  SPECIALTIES,
  type CodedConcept,
  type DocumentTypeConcept,
} from './codes';
import type { DocumentTypeAlias } from './types';

/** The LOINC code each Ségur DSR alias stands for. */
export const DOCUMENT_TYPE_ALIASES: Readonly<Record<DocumentTypeAlias, string>> = Object.freeze({
  /** Lettre de liaison à la sortie d'un établissement de soins */
  LDL: '11490-0',
  /** CR opératoire */
  CRO: '34874-8',
  /** Prescription de produits de santé */
  ORDONNANCE: '57833-6',
  /** CR d'examens biologiques */
  'CR-BIO': '11502-2',
  /** CR d'imagerie médicale */
  'CR-IMAGERIE': '18748-4',
});

function byCode<T extends CodedConcept>(rows: readonly T[]): Map<string, T> {
  const m = new Map<string, T>();
  for (const r of rows) if (!m.has(r.code)) m.set(r.code, r);
  return m;
}

const documentTypes = byCode(DOCUMENT_TYPES);
const specialties = byCode(SPECIALTIES);
const facilityTypes = byCode(HEALTHCARE_FACILITY_TYPES);
const practiceSettings = byCode(PRACTICE_SETTINGS);
const encounterTypes = byCode(ENCOUNTER_TYPES);
const confidentiality = byCode(CONFIDENTIALITY_CODES);
const genders = byCode(ADMINISTRATIVE_GENDERS);

/** The document type of an alias (LDL…) or a code of the DMP typeCode value set; undefined when unknown. */
export function documentType(typeOrAlias: string): DocumentTypeConcept | undefined {
  const key = typeof typeOrAlias === 'string' ? typeOrAlias.trim() : '';
  const alias = Object.hasOwn(DOCUMENT_TYPE_ALIASES, key.toUpperCase()) ? DOCUMENT_TYPE_ALIASES[key.toUpperCase() as DocumentTypeAlias] : null;
  return documentTypes.get(alias ?? key);
}

export const specialty = (code: string) => specialties.get(code);
export const facilityType = (code: string) => facilityTypes.get(code);
export const practiceSetting = (code: string) => practiceSettings.get(code);
export const encounterType = (code: string) => encounterTypes.get(code);
export const confidentialityCode = (code: string) => confidentiality.get(code);
export const administrativeGender = (code: string) => genders.get(code);
