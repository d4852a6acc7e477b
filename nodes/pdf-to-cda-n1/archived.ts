// A document produced by pdf-to-cda-n1 as the ins-store archive keeps it (lib/store DocumentRecord), and
// back: the record archived before a document leaves the node, and, for a deletion, the archived
// document as the transmission needs it — its meta and the identity it was built for — so that the
// deletion carries the very bytes that were sent.
import { documentType, formatId, psIdentifier, structureIdentifier, CdaBuildError, type CdaId, type CdaMeta, type DocumentInput, type EstablishmentSettings } from '../../lib/cda';
import { insOidInfo, type PatientIdentity } from '../../lib/ins';
import { ippKey, type DocumentInput as ArchivedDocumentInput, type DocumentPatient, type DocumentRecord } from '../../lib/store';
import { isoToTs, str, tsToIso } from './inputs';

/**
 * The id of the organisation the author acts for, as the CDA's author/assignedAuthor/
 * representedOrganization/id extension writes it (document.organization, else settings.organization,
 * else the custodian: lib/cda/build.ts) and as cda-ingest archives it.
 */
function authorOrganization(doc: DocumentInput, settings: EstablishmentSettings): string {
  const org = doc.organization ?? settings.organization;
  return org ? structureIdentifier(org.id, org.idType, 'document.organization.id') : structureIdentifier(settings.custodian.finess, 'FINESS', 'settings.custodian.finess');
}

/** What the archive keeps of a document built by buildCdaN1: its header fields, the identity (the INS only when written), the author, the bytes. */
export function archiveRecord(bytes: Buffer, pdf: Buffer, meta: CdaMeta, patient: PatientIdentity, doc: DocumentInput, settings: EstablishmentSettings): ArchivedDocumentInput {
  const ippOid = str(patient.ipp?.oid) || str(settings.ippAuthorityOid);
  const docPatient: DocumentPatient = {
    ipp: { id: str(patient.ipp?.id), oid: ippOid, ...(str(patient.ipp?.authority) ? { authority: str(patient.ipp.authority) } : {}) },
    ins: meta.insIncluded && patient.ins ? { value: str(patient.ins.value), oid: str(patient.ins.oid) } : null,
    insQualified: meta.insIncluded,
    ...(str(patient.status) ? { status: str(patient.status) } : {}),
    birthName: str(patient.birthName),
    firstNames: str(patient.firstNames),
    firstName: str(patient.firstName),
    usedName: str(patient.usedName),
    birthDate: str(patient.birthDate),
    sex: str(patient.sex),
  };
  const a = doc.author;
  return {
    id: formatId(meta.id),
    setId: formatId(meta.setId),
    version: meta.version,
    typeCode: meta.typeCode,
    typeLabel: meta.type.displayName,
    title: meta.title,
    effectiveTime: tsToIso(meta.effectiveTime),
    origin: 'produced',
    replaces: meta.replaces ? formatId(meta.replaces.id) : null,
    ippKey: ippKey(patient.ipp),
    patient: docPatient,
    author: {
      id: psIdentifier(a.idNat, 'document.author.idNat'),
      given: str(a.given),
      family: str(a.family),
      specialty: str(a.specialty),
      organization: authorOrganization(doc, settings),
    },
    cda: bytes,
    pdf,
  };
}

/** "root^extension" (or the root alone) as the archive writes ids, back to an II. */
function idOf(id: string): CdaId {
  const at = id.indexOf('^');
  return at < 0 ? { root: id } : { root: id.slice(0, at), extension: id.slice(at + 1) };
}

/**
 * The meta of an archived document, as buildCdaN1 gave it when the document was produced: what
 * buildTransmission reads (id, type, whether the INS is in it) and what msg.cda says. The PDF is not
 * read again: pdfa null.
 */
export function archivedMeta(rec: DocumentRecord): CdaMeta {
  const type = documentType(rec.typeCode);
  if (!type) throw new CdaBuildError('INVALID', 'document.id', `the archived document's type ${rec.typeCode} is not a code of the DMP typeCode value set (JDV_J07-XdsTypeCode-CISIS)`);
  return {
    id: idOf(rec.id),
    setId: idOf(rec.setId),
    version: rec.version,
    typeCode: rec.typeCode,
    type,
    title: rec.title,
    effectiveTime: isoToTs(rec.effectiveTime),
    // not kept by the archive, not read by the transmission (the CDA carries its confidentialityCode)
    confidentiality: 'N',
    insIncluded: rec.patient.insQualified,
    pdfa: null,
    pages: 0,
    ...(rec.replaces ? { replaces: { id: idOf(rec.replaces) } } : {}),
    warnings: [],
  };
}

/**
 * The identity an archived document was built for (DocumentPatient): qualified, with its INS, exactly
 * when the document carries the INS; PID-32 its status then (VALI beside the INS). What the archive does
 * not keep (birth place, used first name, the PID-32 attributes) is left empty.
 */
export function archivedIdentity(p: DocumentPatient): PatientIdentity {
  const info = p.ins ? insOidInfo(p.ins.oid) : undefined;
  const ins = p.insQualified && p.ins && info ? { value: p.ins.value, oid: p.ins.oid, kind: info.kind, environment: info.environment, validFrom: null } : null;
  return {
    ipp: { id: p.ipp?.id ?? '', oid: p.ipp?.oid ?? '', authority: p.ipp?.authority ?? '' },
    ins,
    status: str(p.status) || (ins ? 'VALI' : ''),
    attributes: [],
    qualified: ins !== null,
    birthName: p.birthName,
    firstNames: p.firstNames,
    firstName: p.firstName,
    birthDate: p.birthDate,
    sex: p.sex === 'F' || p.sex === 'M' ? p.sex : 'U',
    birthPlace: '',
    usedName: p.usedName,
    usedFirstName: '',
  };
}
