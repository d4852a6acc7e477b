// The manifest: one row per exported document, the same flat fields in manifest.json ("documents")
// and manifest.csv (one column each, in this order). Each field is described here once, in French and
// English; LISEZ-MOI.txt / README.txt list them from this table.

export interface ManifestRow {
  patientFolder: string;
  ipp: string | null;
  ippOid: string | null;
  birthName: string;
  firstNames: string;
  firstName: string;
  usedName: string;
  birthDate: string;
  sex: string;
  ins: string | null;
  insOid: string | null;
  insQualified: boolean;
  documentId: string;
  setId: string;
  version: number;
  status: string;
  replaces: string | null;
  typeCode: string;
  typeCodeSystem: string;
  typeLabel: string;
  title: string;
  productionDate: string;
  authorId: string | null;
  authorName: string | null;
  authorSpecialty: string | null;
  origin: string;
  archivedAt: string;
  cdaFile: string;
  cdaBytes: number;
  cdaSha256: string;
  pdfFile: string | null;
  pdfBytes: number | null;
  pdfSha256: string | null;
}

export interface ColumnDoc {
  name: keyof ManifestRow;
  fr: string;
  en: string;
}

export const MANIFEST_COLUMNS: readonly ColumnDoc[] = [
  { name: 'patientFolder', fr: 'dossier du patient dans l\'archive (patients/<dossier>/)', en: 'the patient\'s folder in the archive (patients/<folder>/)' },
  { name: 'ipp', fr: 'IPP du patient (identifiant permanent dans l\'établissement)', en: 'the patient\'s IPP (permanent identifier in the establishment)' },
  { name: 'ippOid', fr: 'OID de l\'autorité d\'affectation de l\'IPP', en: 'OID of the IPP\'s assigning authority' },
  { name: 'birthName', fr: 'nom de naissance', en: 'birth name' },
  { name: 'firstNames', fr: 'prénoms de naissance (liste, séparés par des espaces)', en: 'birth first names (space separated)' },
  { name: 'firstName', fr: 'premier prénom de naissance', en: 'first birth first name' },
  { name: 'usedName', fr: 'nom utilisé (vide si aucun)', en: 'used name (empty when none)' },
  { name: 'birthDate', fr: 'date de naissance (AAAA-MM-JJ)', en: 'birth date (YYYY-MM-DD)' },
  { name: 'sex', fr: 'sexe : F, M ou U (inconnu)', en: 'sex: F, M or U (unknown)' },
  {
    name: 'ins',
    fr: 'INS (matricule INS, 15 caractères) — UNIQUEMENT si l\'identité était qualifiée ; vide sinon',
    en: 'INS (15 characters) — ONLY when the identity was qualified; empty otherwise',
  },
  {
    name: 'insOid',
    fr: 'OID de l\'INS : 1.2.250.1.213.1.4.8 INS-NIR, .9 INS-NIA, .10 NIR de test, .11 NIR de démonstration',
    en: 'OID of the INS: 1.2.250.1.213.1.4.8 INS-NIR, .9 INS-NIA, .10 test NIR, .11 demo NIR',
  },
  {
    name: 'insQualified',
    fr: 'true si l\'identité était qualifiée (PID-32 VALI avec son INS, IHE PAM FR 2.11 §6.6.15) quand le document a été archivé, false sinon',
    en: 'true when the identity was qualified (PID-32 VALI with its INS, IHE PAM FR 2.11 §6.6.15) when the document was archived, else false',
  },
  { name: 'documentId', fr: 'identifiant du document CDA (ClinicalDocument/id, racine^extension)', en: 'CDA document id (ClinicalDocument/id, root^extension)' },
  { name: 'setId', fr: 'identifiant de l\'ensemble des versions (ClinicalDocument/setId)', en: 'id of the set of versions (ClinicalDocument/setId)' },
  { name: 'version', fr: 'numéro de version (ClinicalDocument/versionNumber)', en: 'version number (ClinicalDocument/versionNumber)' },
  {
    name: 'status',
    fr: 'current (version en vigueur), replaced (remplacée par une version ultérieure), cancelled (annulée)',
    en: 'current (the version in force), replaced (by a later version), cancelled',
  },
  { name: 'replaces', fr: 'identifiant du document que celui-ci remplace (vide si aucun)', en: 'id of the document this one replaces (empty when none)' },
  { name: 'typeCode', fr: 'code du type de document (LOINC, ou TRE_A05)', en: 'document type code (LOINC, or TRE_A05)' },
  { name: 'typeCodeSystem', fr: 'OID du système de codage du type (2.16.840.1.113883.6.1 = LOINC)', en: 'OID of the type\'s code system (2.16.840.1.113883.6.1 = LOINC)' },
  { name: 'typeLabel', fr: 'libellé du type de document', en: 'document type display name' },
  { name: 'title', fr: 'titre du document', en: 'document title' },
  {
    name: 'productionDate',
    fr: 'date de production du document (ClinicalDocument/effectiveTime, ISO 8601 avec décalage horaire)',
    en: 'production date (ClinicalDocument/effectiveTime, ISO 8601 with offset)',
  },
  { name: 'authorId', fr: 'identifiant national de l\'auteur (IdNat_PS : 8 + RPPS)', en: 'the author\'s national identifier (IdNat_PS: 8 + RPPS)' },
  { name: 'authorName', fr: 'prénom et nom de l\'auteur', en: 'the author\'s first name and name' },
  { name: 'authorSpecialty', fr: 'profession / spécialité de l\'auteur (code)', en: 'the author\'s profession / specialty (code)' },
  { name: 'origin', fr: 'produced (produit par l\'établissement) ou received (reçu de l\'extérieur)', en: 'produced (by the establishment) or received (from outside)' },
  { name: 'archivedAt', fr: 'date d\'archivage dans la couche Ségur DPI', en: 'when the layer archived it' },
  { name: 'cdaFile', fr: 'chemin du document CDA (XML, tel qu\'archivé) dans l\'archive', en: 'path of the CDA document (XML, as archived) in the archive' },
  { name: 'cdaBytes', fr: 'taille du fichier CDA en octets', en: 'size of the CDA file in bytes' },
  { name: 'cdaSha256', fr: 'empreinte SHA-256 du fichier CDA (hexadécimal)', en: 'SHA-256 of the CDA file (hex)' },
  { name: 'pdfFile', fr: 'chemin du PDF dans l\'archive (vide si le document n\'a pas de PDF)', en: 'path of the PDF in the archive (empty when the document has none)' },
  { name: 'pdfBytes', fr: 'taille du PDF en octets', en: 'size of the PDF in bytes' },
  { name: 'pdfSha256', fr: 'empreinte SHA-256 du PDF (hexadécimal)', en: 'SHA-256 of the PDF (hex)' },
];

/** Excel reads a cell starting with = + - @ (or a tab / CR) as a formula: such text gets a leading apostrophe. */
function neutralize(s: string): string {
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? neutralize(v) : String(v);
  return /[";\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** UTF-8 byte order mark: Excel reads a CSV as UTF-8 only when it starts with one. */
export const CSV_BOM = '\ufeff';
export const CSV_SEPARATOR = ';';
export const CSV_EOL = '\r\n';

export function csvHeader(): string {
  return CSV_BOM + MANIFEST_COLUMNS.map((c) => c.name).join(CSV_SEPARATOR) + CSV_EOL;
}

export function csvLine(row: ManifestRow): string {
  return MANIFEST_COLUMNS.map((c) => csvCell(row[c.name])).join(CSV_SEPARATOR) + CSV_EOL;
}

/** The row as JSON, keys in column order. */
export function jsonRow(row: ManifestRow): string {
  const o: Record<string, unknown> = {};
  for (const c of MANIFEST_COLUMNS) o[c.name] = row[c.name];
  return JSON.stringify(o);
}
