// The FHIR R4 view of the export (fhir-bundle.json): a Bundle of type "collection" holding one Patient
// per patient and one DocumentReference per document, whose attachments point (url, relative) at the
// files of the archive. Identifier conventions follow FR Core (IPP typed PI, INS typed INS-NIR /
// INS-NIA / INS-NIR-TEST / INS-NIR-DEMO, system urn:oid:<OID>; the identity-reliability extension
// fr-core-identity-reliability with the FR Core status of the identity: QUAL for a PAM FR identity that was
// qualified, VALI, PROV — see lib/ins fhirInsStatus); no profile is claimed in meta.
import { createHash } from 'node:crypto';
import { FHIR_INS_STATUS, fhirInsStatus } from '../ins';
import type { DocumentPatient, DocumentRecord } from '../store';

export const FHIR_SYSTEMS = Object.freeze({
  LOINC: 'http://loinc.org',
  V2_0203: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  FR_CORE_V2_0203: 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203',
  /** IHE format codes (XDS formatCode), as urn:oid. */
  IHE_FORMAT: 'urn:oid:1.3.6.1.4.1.19376.1.2.3',
  RFC3986: 'urn:ietf:rfc:3986',
  /** national health professional identifiers (IdNat_PS) */
  PS: 'urn:oid:1.2.250.1.71.4.2.1',
});

export const LOINC_OID = '2.16.840.1.113883.6.1';

/** The FR Core identifier type of each INS OID. */
const INS_TYPES: Record<string, { code: string; display: string }> = {
  '1.2.250.1.213.1.4.8': { code: 'INS-NIR', display: 'NIR définitif' },
  '1.2.250.1.213.1.4.9': { code: 'INS-NIA', display: 'NIR temporaire' },
  '1.2.250.1.213.1.4.10': { code: 'INS-NIR-TEST', display: 'NIR TEST' },
  '1.2.250.1.213.1.4.11': { code: 'INS-NIR-DEMO', display: 'NIR DEMO' },
};

/** The content formats (DocumentReference.content.format). */
export const FORMATS = Object.freeze({
  /** IHE XDS-SD: a CDA R2 document whose body is a PDF (the CI-SIS level 1 documents). */
  CDA_PDF: { system: FHIR_SYSTEMS.IHE_FORMAT, code: 'urn:ihe:iti:xds-sd:pdf:2008', display: 'Document à corps non structuré en PDF (IHE XDS-SD)' },
  /** IHE: the MIME type says all (the PDF alone). */
  MIME_SUFFICIENT: { system: FHIR_SYSTEMS.IHE_FORMAT, code: 'urn:ihe:iti:xds:2017:mimeTypeSufficient', display: 'mimeType Sufficient' },
});

/** A name-based UUID (RFC 4122 version 5 layout, SHA-1 of a fixed namespace + name): the same name, the same UUID. */
export function nameUuid(name: string): string {
  const h = createHash('sha1').update('segur-dpi-export:').update(name).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const OID_RE = /^[0-2](\.(0|[1-9]\d*))+$/;

/** An HL7 v3 II (root^extension, or root alone) as a FHIR Identifier. */
export function iiToIdentifier(id: string): { system: string; value: string } {
  const at = id.indexOf('^');
  const root = at < 0 ? id : id.slice(0, at);
  const ext = at < 0 ? '' : id.slice(at + 1);
  if (!ext) return { system: FHIR_SYSTEMS.RFC3986, value: OID_RE.test(root) ? `urn:oid:${root}` : root };
  return { system: OID_RE.test(root) ? `urn:oid:${root}` : root, value: ext };
}

/** FHIR instant / dateTime of an ISO 8601 value: a date alone stays a date (dateTime allows it). */
function fhirDateTime(iso: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(iso)) return iso;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : iso;
}

/** DocumentReference.date is an instant (time and zone required). */
function fhirInstant(iso: string): string {
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(iso)) return iso;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : iso;
}

const GENDER: Record<string, string> = { F: 'female', M: 'male', U: 'unknown' };

export interface PatientForFhir {
  uuid: string;
  identity: DocumentPatient;
  /** Other IPPs of the same patient (merged into this one), "oid|id". */
  formerIpps: string[];
}

export function patientResource(p: PatientForFhir): Record<string, unknown> {
  const id = p.identity;
  const identifier: Record<string, unknown>[] = [];
  const ippIdentifier = (ippId: string, oid: string | undefined, authority: string | undefined, use: string) => ({
    use,
    type: { coding: [{ system: FHIR_SYSTEMS.V2_0203, code: 'PI', display: 'Patient internal identifier' }] },
    ...(oid && OID_RE.test(oid) ? { system: `urn:oid:${oid}` } : {}),
    value: ippId,
    ...(authority && !(oid && OID_RE.test(oid)) ? { assigner: { display: authority } } : {}),
  });
  if (id.ipp) identifier.push(ippIdentifier(id.ipp.id, id.ipp.oid, id.ipp.authority, 'usual'));
  for (const key of p.formerIpps) {
    const bar = key.indexOf('|');
    identifier.push(ippIdentifier(key.slice(bar + 1), key.slice(0, bar), undefined, 'old'));
  }
  if (id.insQualified && id.ins) {
    const t = INS_TYPES[id.ins.oid];
    identifier.push({
      use: 'official',
      ...(t ? { type: { coding: [{ system: FHIR_SYSTEMS.FR_CORE_V2_0203, code: t.code, display: t.display }] } } : {}),
      system: `urn:oid:${id.ins.oid}`,
      value: id.ins.value,
    });
  }
  const names: Record<string, unknown>[] = [];
  const given = id.firstNames.trim() ? id.firstNames.trim().split(/\s+/) : id.firstName ? [id.firstName] : [];
  if (id.birthName || given.length) {
    names.push({ use: 'official', ...(id.birthName ? { family: id.birthName } : {}), ...(given.length ? { given } : {}) });
  }
  if (id.usedName) names.push({ use: 'usual', family: id.usedName });
  const reliability = fhirInsStatus(id.status ?? '', id.insQualified && !!id.ins);
  return {
    resourceType: 'Patient',
    id: p.uuid,
    ...(reliability
      ? {
          extension: [
            {
              url: FHIR_INS_STATUS.extension,
              extension: [{ url: 'identityStatus', valueCoding: { system: FHIR_INS_STATUS.system, code: reliability, display: FHIR_INS_STATUS.display[reliability] } }],
            },
          ],
        }
      : {}),
    ...(identifier.length ? { identifier } : {}),
    ...(names.length ? { name: names } : {}),
    gender: GENDER[id.sex] ?? 'unknown',
    ...(/^\d{4}-\d{2}-\d{2}$/.test(id.birthDate) ? { birthDate: id.birthDate } : {}),
  };
}

export interface AttachmentForFhir {
  path: string;
  contentType: string;
  bytes: number;
  sha1Base64: string;
}

const STATUS: Record<string, string> = { current: 'current', replaced: 'superseded', cancelled: 'entered-in-error' };

export function documentReferenceResource(
  doc: DocumentRecord,
  opts: {
    uuid: string;
    patientUuid: string;
    typeCodeSystem: string;
    cda: AttachmentForFhir;
    pdf: AttachmentForFhir | null;
    /** The UUID of the replaced document when it is in the same bundle. */
    replacesUuid: string | null;
  },
): Record<string, unknown> {
  const typeSystem = opts.typeCodeSystem === LOINC_OID ? FHIR_SYSTEMS.LOINC : `urn:oid:${opts.typeCodeSystem}`;
  const a = doc.author;
  const authorName = a ? [a.given, a.family].filter(Boolean).join(' ') : '';
  const attachment = (f: AttachmentForFhir, title: string) => ({
    contentType: f.contentType,
    language: 'fr-FR',
    url: f.path,
    size: f.bytes,
    hash: f.sha1Base64,
    title,
    creation: fhirDateTime(doc.effectiveTime),
  });
  const content: Record<string, unknown>[] = [{ attachment: attachment(opts.cda, `${doc.title} (CDA R2 N1)`), format: FORMATS.CDA_PDF }];
  if (opts.pdf) content.push({ attachment: attachment(opts.pdf, `${doc.title} (PDF)`), format: FORMATS.MIME_SUFFICIENT });
  return {
    resourceType: 'DocumentReference',
    id: opts.uuid,
    masterIdentifier: iiToIdentifier(doc.id),
    identifier: [{ use: 'secondary', ...iiToIdentifier(doc.setId) }],
    status: STATUS[doc.status] ?? 'current',
    docStatus: 'final',
    type: { coding: [{ system: typeSystem, code: doc.typeCode, display: doc.typeLabel }], text: doc.typeLabel },
    subject: { reference: `urn:uuid:${opts.patientUuid}` },
    date: fhirInstant(doc.effectiveTime),
    ...(a && (authorName || a.id)
      ? { author: [{ ...(a.id ? { identifier: { system: FHIR_SYSTEMS.PS, value: a.id } } : {}), ...(authorName ? { display: authorName } : {}) }] }
      : {}),
    ...(doc.replaces
      ? {
          relatesTo: [
            {
              code: 'replaces',
              target: opts.replacesUuid ? { reference: `urn:uuid:${opts.replacesUuid}`, identifier: iiToIdentifier(doc.replaces) } : { identifier: iiToIdentifier(doc.replaces) },
            },
          ],
        }
      : {}),
    description: doc.title,
    content,
  };
}
