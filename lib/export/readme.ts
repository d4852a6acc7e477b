// LISEZ-MOI.txt (French) and README.txt (English): what the archive holds, every field of the
// manifests, the FHIR mapping, how to check the checksums, and how this export was produced.
import { MANIFEST_COLUMNS } from './manifest';

export interface ExportDescription {
  exportId: string;
  producedAt: string;
  timeZone: string;
  software: { name: string; version: string };
  producer: { name: string; finess?: string } | null;
  selection: { all: boolean; ipp: string[]; ins: string[] };
  depth: { mode: 'since' | 'years' | 'everything'; since: string | null; years?: number; asked?: string };
  /** The exported types, or '*' for every type. */
  types: { code: string; label: string }[] | '*';
  versions: 'all' | 'current';
  counts: { patients: number; documents: number; files: number };
}

const EOL = '\r\n';

function wrapList(items: string[], indent: string): string {
  return items.map((i) => `${indent}${i}`).join(EOL);
}

/** The command line that produces the same export (the store path stays a placeholder). */
export function equivalentCommand(d: ExportDescription): string {
  const parts = ['npx segur-dpi-export --store <ins-store.db>'];
  if (d.depth.mode === 'since') parts.push(`--since ${d.depth.asked ?? d.depth.since}`);
  else if (d.depth.mode === 'years') parts.push(`--years ${d.depth.years}`);
  else parts.push('--all-history');
  if (d.selection.all) parts.push('--all-patients');
  for (const v of d.selection.ipp) parts.push(`--ipp ${v}`);
  for (const v of d.selection.ins) parts.push(`--ins ${v}`);
  parts.push(`--types ${d.types === '*' ? 'all' : d.types.map((t) => t.code).join(',')}`);
  if (d.versions === 'current') parts.push('--current-only');
  parts.push('--out <export.zip>');
  return parts.join(' ');
}

const PATIENT_FIELDS_FR = [
  'folder : nom du dossier du patient (patients/<folder>/)',
  'fhirPatient : référence de la ressource Patient dans fhir-bundle.json (urn:uuid:…)',
  'identitySource : identity-store (identité courante du référentiel d\'identités) ou document (identité portée par le document le plus récent)',
  'ipp, ippOid, formerIpps (IPP fusionnés dans celui-ci, "OID|IPP")',
  'birthName, firstNames, firstName, usedName, birthDate, sex : comme dans le manifeste des documents',
  'ins, insOid : UNIQUEMENT si l\'identité est qualifiée ; insQualified : true / false',
  'documents : nombre de documents exportés pour ce patient (0 possible : patient demandé sans document dans la période)',
];

const PATIENT_FIELDS_EN = [
  'folder: the patient\'s folder name (patients/<folder>/)',
  'fhirPatient: reference of the Patient resource in fhir-bundle.json (urn:uuid:…)',
  'identitySource: identity-store (the current identity in the identity registry) or document (the identity carried by the latest document)',
  'ipp, ippOid, formerIpps (IPPs merged into this one, "OID|IPP")',
  'birthName, firstNames, firstName, usedName, birthDate, sex: as in the document manifest',
  'ins, insOid: ONLY when the identity is qualified; insQualified: true / false',
  'documents: number of documents exported for the patient (may be 0: a patient asked for, with no document in the period)',
];

export function lisezMoi(d: ExportDescription): string {
  const sel = d.selection.all
    ? 'tous les patients de l\'établissement'
    : [d.selection.ipp.length ? `IPP ${d.selection.ipp.join(', ')}` : '', d.selection.ins.length ? `INS ${d.selection.ins.join(', ')}` : '']
        .filter(Boolean)
        .join(' ; ');
  const depth =
    d.depth.mode === 'everything'
      ? 'tout l\'historique (aucune limite de date)'
      : d.depth.mode === 'years'
        ? `les ${d.depth.years} dernières années : documents produits depuis le ${d.depth.since}`
        : `documents produits depuis le ${d.depth.since} (demandé : ${d.depth.asked})`;
  const types = d.types === '*' ? 'tous les types de documents' : d.types.map((t) => `${t.code} (${t.label})`).join(' ; ');
  const lines = [
    'EXPORT DE L\'HISTORIQUE DES DOCUMENTS DE SANTÉ — COUCHE SÉGUR DPI',
    '=================================================================',
    '',
    `Cette archive contient ${d.counts.documents} document(s) de ${d.counts.patients} patient(s), soit ${d.counts.files} fichiers.`,
    'Elle est exhaustive pour la sélection, la profondeur et les types indiqués ci-dessous : chaque document',
    'archivé qui y répond est présent, avec son document CDA et son PDF.',
    '',
    '1. COMMENT CET EXPORT A ÉTÉ PRODUIT',
    '-----------------------------------',
    `Date de l'export      : ${d.producedAt} (fuseau ${d.timeZone})`,
    `Identifiant de l'export : ${d.exportId}`,
    `Logiciel              : ${d.software.name} ${d.software.version}`,
    `Établissement         : ${d.producer ? `${d.producer.name}${d.producer.finess ? ` (FINESS ${d.producer.finess})` : ''}` : 'non renseigné'}`,
    `Sélection             : ${sel}`,
    `Profondeur            : ${depth}`,
    `Types                 : ${types}`,
    `Versions              : ${d.versions === 'all' ? 'toutes (en vigueur, remplacées, annulées ; voir la colonne status)' : 'versions en vigueur seulement'}`,
    '',
    'Commande équivalente (procédure « via un script », sans Node-RED) :',
    `  ${equivalentCommand(d)}`,
    'La date de production retenue est celle du document (ClinicalDocument/effectiveTime) ; une date sans heure',
    `s'entend à 0 h dans le fuseau ${d.timeZone}. « --years N » part du même jour N ans plus tôt, à 0 h.`,
    '',
    '2. CONTENU DE L\'ARCHIVE',
    '-----------------------',
    'patients/<NOM>_<Prénom>_<AAAA-MM-JJ>_<IPP>/          un dossier par patient (nom de naissance, premier',
    '                                                     prénom, date de naissance, IPP)',
    '    <AAAA-MM-JJ>_<type>_v<version>_<id>.xml           le document CDA R2 niveau 1 (CI-SIS), octet pour octet',
    '                                                     tel qu\'il a été archivé',
    '    <AAAA-MM-JJ>_<type>_v<version>_<id>.pdf           le PDF du même document (lisible directement)',
    'manifest.csv        une ligne par document (tableur)',
    'manifest.json       les mêmes lignes, plus la description de l\'export et la liste des patients',
    'fhir-bundle.json    les mêmes informations en FHIR R4 (Bundle de type collection)',
    'manifest.sha256     l\'empreinte SHA-256 de chaque fichier de l\'archive (sauf lui-même)',
    'LISEZ-MOI.txt       ce fichier ; README.txt : le même en anglais',
    '',
    'Noms de fichiers : <AAAA-MM-JJ> = date de production (date locale écrite dans le document) ; <type> =',
    'lettre-de-liaison (LOINC 11490-0), CR-operatoire (34874-8), ordonnance (57833-6), sinon le libellé du type ;',
    '<id> = les 8 premiers caractères hexadécimaux du SHA-256 de l\'identifiant du document (documentId).',
    'Les noms sont en ASCII, sans accents ni espaces. La date de modification de chaque fichier dans le ZIP est',
    'la date de production du document. Les PDF sont stockés sans compression (ils sont déjà compressés), les',
    'autres fichiers sont compressés (deflate). Archive ZIP standard (ZIP64 au-delà de 4 Gio ou 65 535 fichiers).',
    '',
    '3. MANIFESTES',
    '-------------',
    'manifest.csv : UTF-8 avec BOM (Excel le reconnaît), séparateur « ; » (Excel en français), fins de ligne CRLF,',
    'valeur entre guillemets si elle contient ; " ou un retour à la ligne (guillemet doublé). Une valeur qui',
    'commence par = + - ou @ est précédée d\'une apostrophe (protection contre les formules Excel) : les valeurs',
    'exactes sont dans manifest.json. Dates au format ISO 8601. Valeur vide = absente.',
    '',
    'manifest.json : { "format": "segur-dpi-export", "formatVersion": 1, "export": {…}, "patients": […],',
    '"documents": […] }. "export" reprend la section 1 ; "documents" a exactement les champs de manifest.csv',
    '(null pour une valeur absente, nombres et booléens JSON).',
    '',
    'Champs de chaque document (colonnes de manifest.csv, dans cet ordre) :',
    ...MANIFEST_COLUMNS.map((c) => `  ${c.name.padEnd(16)} ${c.fr}`),
    '',
    'Champs de chaque patient (manifest.json, "patients") :',
    wrapList(PATIENT_FIELDS_FR, '  - '),
    '',
    'Identité : les colonnes patient d\'un document sont l\'identité telle qu\'elle était quand le document a été',
    'archivé (celle de l\'en-tête CDA). Le dossier du patient et la ressource Patient FHIR portent l\'identité',
    'courante du référentiel d\'identités quand il la connaît (voir identitySource).',
    'INS : l\'INS (et son OID) n\'apparaît QUE si l\'identité était qualifiée ; un patient sans INS qualifiée n\'a',
    'd\'INS nulle part dans l\'export (manifestes, FHIR, et documents CDA, qui ne la portent pas non plus).',
    '',
    '4. CORRESPONDANCE FHIR R4 (fhir-bundle.json)',
    '--------------------------------------------',
    'Bundle type "collection" : une ressource Patient par patient, une DocumentReference par document ;',
    'fullUrl urn:uuid:… ; DocumentReference.subject renvoie au Patient.',
    'Patient.identifier : IPP (type PI, system urn:oid:<OID de l\'IPP>, use usual ; IPP fusionnés : use old) ;',
    '  INS si qualifiée (type INS-NIR / INS-NIA / INS-NIR-TEST / INS-NIR-DEMO de FR Core, system',
    '  urn:oid:1.2.250.1.213.1.4.8 (…9, …10, …11), use official).',
    'Patient.extension fr-core-identity-reliability (identityStatus, système',
    '  https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445) : QUAL pour une identité qualifiée (PID-32',
    '  VALI avec son INS en IHE PAM FR 2.11 ; FR Core nomme QUAL ce que PAM FR transmet VALI), VALI pour VALI',
    '  sans INS retenue, PROV ; absente quand le statut n\'est pas connu.',
    'Patient.name : official = nom de naissance + prénoms de naissance ; usual = nom utilisé.',
    'Patient.gender : female / male / unknown (F / M / U). Patient.birthDate : date de naissance.',
    'DocumentReference.masterIdentifier : l\'identifiant du document CDA (system urn:oid:<racine>, value',
    '  <extension>) ; identifier (secondary) : le setId ; status : current, superseded (remplacé),',
    '  entered-in-error (annulé) ; docStatus final ; type : code LOINC (http://loinc.org) ou TRE_A05',
    '  (urn:oid:1.2.250.1.213.1.1.4.12) avec son libellé ; date : date de production ; author : identifiant',
    '  national (urn:oid:1.2.250.1.71.4.2.1) et nom ; relatesTo replaces : le document remplacé ;',
    '  description : le titre.',
    'DocumentReference.content[0] : le CDA — attachment.contentType text/xml, format',
    '  urn:ihe:iti:xds-sd:pdf:2008 (IHE XDS-SD, system urn:oid:1.3.6.1.4.1.19376.1.2.3) ;',
    '  content[1] : le PDF — application/pdf, format urn:ihe:iti:xds:2017:mimeTypeSufficient.',
    '  attachment.url = chemin relatif du fichier dans l\'archive ; size = taille en octets ; hash = SHA-1 en',
    '  base64 (définition FHIR R4 de Attachment.hash ; les empreintes SHA-256 sont dans les manifestes) ;',
    '  creation = date de production.',
    '',
    '5. VÉRIFIER L\'INTÉGRITÉ',
    '-----------------------',
    'Linux :   unzip export.zip -d export && cd export && sha256sum -c manifest.sha256',
    'macOS :   unzip export.zip -d export && cd export && shasum -a 256 -c manifest.sha256',
    'Windows (PowerShell) : Get-FileHash -Algorithm SHA256 <fichier> et comparer avec manifest.sha256',
    '          (ou les colonnes cdaSha256 / pdfSha256 de manifest.csv).',
    'Chaque ligne doit finir par « OK ». L\'empreinte SHA-256 de l\'archive ZIP elle-même ne peut pas être dans',
    'l\'archive : le logiciel l\'affiche à la fin de l\'export (sha256) ; comparez-la avec « sha256sum export.zip ».',
    '',
    '6. PROTECTION DES DONNÉES',
    '-------------------------',
    'Cette archive contient des données de santé à caractère personnel. Conservez-la et transmettez-la par des',
    'moyens sécurisés (messagerie sécurisée de santé, support chiffré), et supprimez-la quand elle n\'est plus',
    'utile. Le fichier est créé lisible par son seul propriétaire.',
    '',
  ];
  return lines.join(EOL);
}

export function readMe(d: ExportDescription): string {
  const sel = d.selection.all
    ? 'every patient of the establishment'
    : [d.selection.ipp.length ? `IPP ${d.selection.ipp.join(', ')}` : '', d.selection.ins.length ? `INS ${d.selection.ins.join(', ')}` : '']
        .filter(Boolean)
        .join('; ');
  const depth =
    d.depth.mode === 'everything'
      ? 'the whole history (no date limit)'
      : d.depth.mode === 'years'
        ? `the last ${d.depth.years} years: documents produced since ${d.depth.since}`
        : `documents produced since ${d.depth.since} (asked: ${d.depth.asked})`;
  const types = d.types === '*' ? 'every document type' : d.types.map((t) => `${t.code} (${t.label})`).join('; ');
  const lines = [
    'PATIENT HEALTH DOCUMENT HISTORY EXPORT — SEGUR DPI LAYER',
    '========================================================',
    '',
    `This archive holds ${d.counts.documents} document(s) of ${d.counts.patients} patient(s), ${d.counts.files} files.`,
    'It is exhaustive for the selection, depth and types below: every archived document that matches is here,',
    'with its CDA document and its PDF. (LISEZ-MOI.txt is this text in French.)',
    '',
    '1. HOW THIS EXPORT WAS PRODUCED',
    '-------------------------------',
    `Exported at   : ${d.producedAt} (time zone ${d.timeZone})`,
    `Export id     : ${d.exportId}`,
    `Software      : ${d.software.name} ${d.software.version}`,
    `Establishment : ${d.producer ? `${d.producer.name}${d.producer.finess ? ` (FINESS ${d.producer.finess})` : ''}` : 'not given'}`,
    `Selection     : ${sel}`,
    `Depth         : ${depth}`,
    `Types         : ${types}`,
    `Versions      : ${d.versions === 'all' ? 'all (current, replaced, cancelled; see the status column)' : 'current versions only'}`,
    '',
    'Equivalent command (the procedure "via a script", without Node-RED):',
    `  ${equivalentCommand(d)}`,
    'The production date is the document\'s (ClinicalDocument/effectiveTime); a date without a time means',
    `00:00 in ${d.timeZone}. "--years N" starts on the same day N years earlier, at 00:00.`,
    '',
    '2. CONTENT',
    '----------',
    'patients/<NAME>_<Firstname>_<YYYY-MM-DD>_<IPP>/       one folder per patient (birth name, first birth',
    '                                                     first name, birth date, IPP)',
    '    <YYYY-MM-DD>_<type>_v<version>_<id>.xml           the CDA R2 level-1 document (CI-SIS), byte for byte',
    '                                                     as archived',
    '    <YYYY-MM-DD>_<type>_v<version>_<id>.pdf           the PDF of the same document (readable as is)',
    'manifest.csv        one line per document (spreadsheet)',
    'manifest.json       the same rows, plus the description of the export and the list of patients',
    'fhir-bundle.json    the same information as FHIR R4 (a Bundle of type collection)',
    'manifest.sha256     the SHA-256 of every file in the archive (except itself)',
    'README.txt          this file; LISEZ-MOI.txt: the same in French',
    '',
    'File names: <YYYY-MM-DD> = production date (the local date written in the document); <type> =',
    'lettre-de-liaison (LOINC 11490-0), CR-operatoire (34874-8), ordonnance (57833-6), else the type\'s label;',
    '<id> = the first 8 hex digits of the SHA-256 of the document id (documentId). Names are ASCII, without',
    'accents or spaces. Each file\'s modification date in the ZIP is the document\'s production date. PDFs are',
    'stored uncompressed (they are compressed already), other files deflated. A standard ZIP archive (ZIP64',
    'beyond 4 GiB or 65,535 files).',
    '',
    '3. MANIFESTS',
    '------------',
    'manifest.csv: UTF-8 with a BOM (so that Excel reads it as UTF-8), ";" separator (French Excel), CRLF line',
    'ends, a value in double quotes when it holds ; " or a line break (quotes doubled). A value starting with',
    '= + - or @ gets a leading apostrophe (Excel formula protection): manifest.json holds the exact values.',
    'Dates are ISO 8601. An empty value means absent.',
    '',
    'manifest.json: { "format": "segur-dpi-export", "formatVersion": 1, "export": {…}, "patients": […],',
    '"documents": […] }. "export" is section 1; "documents" has exactly the fields of manifest.csv (null for',
    'an absent value, JSON numbers and booleans).',
    '',
    'Fields of each document (the columns of manifest.csv, in this order):',
    ...MANIFEST_COLUMNS.map((c) => `  ${c.name.padEnd(16)} ${c.en}`),
    '',
    'Fields of each patient (manifest.json, "patients"):',
    wrapList(PATIENT_FIELDS_EN, '  - '),
    '',
    'Identity: the patient columns of a document are the identity as it was when the document was archived',
    '(that of the CDA header). The patient\'s folder and the FHIR Patient carry the current identity of the',
    'identity registry when it knows the patient (see identitySource).',
    'INS: the INS (and its OID) appears ONLY when the identity was qualified; a patient without a qualified INS',
    'has no INS anywhere in the export (manifests, FHIR, and the CDA documents, which do not carry it either).',
    '',
    '4. FHIR R4 MAPPING (fhir-bundle.json)',
    '-------------------------------------',
    'Bundle type "collection": one Patient per patient, one DocumentReference per document; fullUrl',
    'urn:uuid:…; DocumentReference.subject points at the Patient.',
    'Patient.identifier: IPP (type PI, system urn:oid:<IPP OID>, use usual; merged IPPs: use old); the INS when',
    '  qualified (FR Core type INS-NIR / INS-NIA / INS-NIR-TEST / INS-NIR-DEMO, system',
    '  urn:oid:1.2.250.1.213.1.4.8 (…9, …10, …11), use official).',
    'Patient.extension fr-core-identity-reliability (identityStatus, system',
    '  https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445): QUAL for a qualified identity (PID-32 VALI',
    '  with its INS in IHE PAM FR 2.11; FR Core calls QUAL what PAM FR sends as VALI), VALI for VALI without',
    '  an INS kept, PROV; absent when the status is not known.',
    'Patient.name: official = birth name + birth first names; usual = used name.',
    'Patient.gender: female / male / unknown (F / M / U). Patient.birthDate: birth date.',
    'DocumentReference.masterIdentifier: the CDA document id (system urn:oid:<root>, value <extension>);',
    '  identifier (secondary): the setId; status: current, superseded (replaced), entered-in-error',
    '  (cancelled); docStatus final; type: LOINC code (http://loinc.org) or TRE_A05',
    '  (urn:oid:1.2.250.1.213.1.1.4.12) with its display; date: production date; author: national identifier',
    '  (urn:oid:1.2.250.1.71.4.2.1) and name; relatesTo replaces: the replaced document; description: title.',
    'DocumentReference.content[0]: the CDA — attachment.contentType text/xml, format',
    '  urn:ihe:iti:xds-sd:pdf:2008 (IHE XDS-SD, system urn:oid:1.3.6.1.4.1.19376.1.2.3);',
    '  content[1]: the PDF — application/pdf, format urn:ihe:iti:xds:2017:mimeTypeSufficient.',
    '  attachment.url = the file\'s relative path in the archive; size = bytes; hash = base64 SHA-1 (FHIR R4\'s',
    '  definition of Attachment.hash; the SHA-256 checksums are in the manifests); creation = production date.',
    '',
    '5. CHECKING INTEGRITY',
    '---------------------',
    'Linux:   unzip export.zip -d export && cd export && sha256sum -c manifest.sha256',
    'macOS:   unzip export.zip -d export && cd export && shasum -a 256 -c manifest.sha256',
    'Windows (PowerShell): Get-FileHash -Algorithm SHA256 <file>, compared with manifest.sha256',
    '         (or the cdaSha256 / pdfSha256 columns of manifest.csv).',
    'Every line must end with "OK". The SHA-256 of the ZIP archive itself cannot be inside it: the software',
    'prints it at the end of the export (sha256); compare it with "sha256sum export.zip".',
    '',
    '6. DATA PROTECTION',
    '------------------',
    'This archive holds personal health data. Keep and send it through secure means (secure health messaging,',
    'encrypted media) and delete it once no longer needed. The file is created readable by its owner only.',
    '',
  ];
  return lines.join(EOL);
}
