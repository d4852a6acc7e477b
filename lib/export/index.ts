// The patient's history export (DSR Ségur DPI): a documented ZIP archive (CDA + PDF, manifests, FHIR R4
// Bundle, checksums) with a configurable depth; also run by the segur-dpi-export command line.
export {
  exportHistory,
  SEGUR_EXPORT_TYPES,
  type ExportDepth,
  type ExportOptions,
  type ExportResult,
  type ExportSelection,
  type ExportStore,
} from './export';
export { ExportError, type ExportErrorCode } from './errors';
export { MANIFEST_COLUMNS, type ManifestRow } from './manifest';
export { FORMATS, FHIR_SYSTEMS } from './fhir';
export { isTimeZone, localIso, resolveDepth } from './depth';
export { slug } from './names';
export { packageVersion } from './version';
