// PDF checks for CDA R2 level-1 documents (pdf-lib).
export { inspectPdf, readPdfAIdentification, PdfError, type PdfErrorCode, type PdfInfo, type PdfAConformance } from './inspect';
