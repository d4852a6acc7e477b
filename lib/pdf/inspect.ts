// What a CDA R2 level-1 document needs to know about the PDF it wraps: that it is a PDF at all, not
// encrypted, not empty, without active content (JavaScript, launch actions, embedded files: the same
// check guards the PDFs of CDA documents received from outside), and whether it declares PDF/A
// conformance (XMP pdfaid:part / pdfaid:conformance).
import { decodePDFRawStream, ParseSpeeds, PDFDict, PDFDocument, PDFName, PDFRawStream, PDFStream } from 'pdf-lib';
import { findActiveContent } from './active-content';

export type PdfErrorCode =
  /** zero bytes, or a document without a page */
  | 'EMPTY'
  /** no %PDF- header at byte 0, or the file cannot be parsed as a PDF (no catalog, no page tree) */
  | 'NOT_PDF'
  /** no %%EOF marker in the last 1024 bytes: cut off in transit, or trailing data after the PDF */
  | 'TRUNCATED'
  /** the trailer has an /Encrypt dictionary (password or certificate security, even with an empty user password) */
  | 'ENCRYPTED'
  /** a JavaScript action (/S /JavaScript or /JS) or a /Names /JavaScript tree: code a reader runs, on opening or on an event */
  | 'JAVASCRIPT'
  /** a launch action (/S /Launch): a reader starts an application or opens another file */
  | 'LAUNCH_ACTION'
  /** an embedded file (/Names /EmbeddedFiles, /Type /EmbeddedFile, a /Filespec with /EF, a /FileAttachment annotation): a file a reader extracts */
  | 'EMBEDDED_FILE';

/** A PDF that cannot go into a CDA document; `code` says why, the message says what was found. */
export class PdfError extends Error {
  override readonly name = 'PdfError';
  constructor(
    readonly code: PdfErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The PDF/A identification of the XMP metadata: part 1, 2, 3 or 4 and conformance level A, B, U (none for PDF/A-4). */
export interface PdfAConformance {
  part: number;
  conformance: string | null;
}

export interface PdfInfo {
  /** Number of pages (at least 1). */
  pages: number;
  /** The PDF/A declaration of the catalog's XMP metadata, null when there is none. */
  pdfa: PdfAConformance | null;
  /** Always false: an encrypted PDF is a PdfError. */
  encrypted: false;
  /** The header version, e.g. "1.7". */
  version: string;
  /** Size in bytes. */
  bytes: number;
}

const MAGIC: [number[], string][] = [
  [[0x50, 0x4b, 0x03, 0x04], 'a ZIP archive (or an Office document)'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
  [[0x49, 0x49, 0x2a, 0x00], 'a TIFF image'],
  [[0x4d, 0x4d, 0x00, 0x2a], 'a TIFF image'],
  [[0xd0, 0xcf, 0x11, 0xe0], 'an OLE document (old Word or Excel)'],
  [[0x7b], 'JSON or text'],
  [[0x3c], 'XML or HTML'],
];

function describeStart(buf: Uint8Array): string {
  for (const [sig, what] of MAGIC) if (sig.every((b, i) => buf[i] === b)) return what;
  const start = Buffer.from(buf.subarray(0, 8)).toString('latin1').replace(/[^\x20-\x7e]/g, '?');
  const b64 = /^[A-Za-z0-9+/]{8}$/.test(start) && start.startsWith('JVBER') ? ' (base64 of a PDF: decode it first)' : '';
  return `"${start}"${b64}`;
}

function indexOfBytes(buf: Uint8Array, needle: string, from: number): number {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).indexOf(needle, from, 'latin1');
}

/** Whether the trailer (or the cross-reference stream dictionary) names an /Encrypt dictionary. */
function declaresEncryption(buf: Uint8Array): boolean {
  // Only on the failure path: pdf-lib reports isEncrypted itself when it can parse the file.
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1');
  return /\/Encrypt\s*(?:\d+\s+\d+\s+R|<<)/.test(text);
}

const PDFAID_NS = 'http://www.aiim.org/pdfa/ns/id/';

/**
 * Reads pdfaid:part and pdfaid:conformance from an XMP packet, as attributes
 * (`pdfaid:part="1"`) or elements (`<pdfaid:part>1</pdfaid:part>`), whatever prefix the packet
 * binds to the PDF/A identification namespace.
 */
export function readPdfAIdentification(xmp: string): PdfAConformance | null {
  const prefixes = new Set<string>(['pdfaid']);
  for (const m of xmp.matchAll(/xmlns:([\w.-]+)\s*=\s*["']([^"']*)["']/g)) if (m[2] === PDFAID_NS) prefixes.add(m[1]);
  const read = (prefix: string, name: string): string | null => {
    const p = prefix.replace(/[.-]/g, '\\$&');
    const attr = new RegExp(`${p}:${name}\\s*=\\s*["']\\s*([^"'\\s]*)\\s*["']`).exec(xmp);
    if (attr) return attr[1];
    const elem = new RegExp(`<${p}:${name}(?:\\s[^>]*)?>\\s*([^<\\s]*)\\s*</${p}:${name}>`).exec(xmp);
    return elem ? elem[1] : null;
  };
  for (const prefix of prefixes) {
    const part = read(prefix, 'part');
    if (part === null || !/^\d+$/.test(part)) continue;
    const conformance = read(prefix, 'conformance');
    return { part: Number(part), conformance: conformance ? conformance.toUpperCase() : null };
  }
  return null;
}

function xmpOf(doc: PDFDocument): string | null {
  const meta = doc.catalog.lookup(PDFName.of('Metadata'));
  if (!(meta instanceof PDFStream)) return null;
  let bytes: Uint8Array;
  if (meta instanceof PDFRawStream) {
    bytes = meta.dict.has(PDFName.of('Filter')) ? decodePDFRawStream(meta).decode() : meta.contents;
  } else {
    bytes = meta.getContents();
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * Checks that `buf` is a PDF a CDA R2 level-1 document can carry and reads its page count and PDF/A
 * declaration. Throws a PdfError:
 * - EMPTY: zero bytes, or no page;
 * - NOT_PDF: not a Buffer / Uint8Array, no `%PDF-` at byte 0 (the CI-SIS level-1 check reads the
 *   decoded body from its first byte; the message names what the bytes look like: PNG, ZIP/Office,
 *   XML, base64 of a PDF…), or pdf-lib cannot parse a document catalog and page tree from it;
 * - TRUNCATED: no `%%EOF` in the last 1024 bytes;
 * - ENCRYPTED: the trailer names an /Encrypt dictionary (pdf-lib's isEncrypted, or /Encrypt in the
 *   trailer when pdf-lib cannot parse the encrypted file at all);
 * then, on a readable PDF with pages, active content (findActiveContent in active-content.ts; the
 * message says what was found and where, e.g. "(/OpenAction /S /JavaScript)", never document content):
 * - JAVASCRIPT: an action whose /S is /JavaScript or that has a /JS script, anywhere (/OpenAction, /AA
 *   of the catalog, a page, an annotation or a form field, /Next chains…), or a /Names /JavaScript tree;
 * - LAUNCH_ACTION: an action whose /S is /Launch, anywhere;
 * - EMBEDDED_FILE: a /Names /EmbeddedFiles tree, a /Type /EmbeddedFile stream, a file specification
 *   with /EF, or a /FileAttachment annotation.
 * When a PDF has several, JavaScript is reported first, then a launch action, then an embedded file.
 *
 * Cost. pdf-lib parses the file linearly, but jumps over each stream whose /Length is a direct number
 * (almost every producer writes it so), so the cost follows the number of objects, not the bytes:
 * `parseSpeed: ParseSpeeds.Fastest` (never yield to the event loop between objects: the default
 * yields every 100 objects, a timer round trip each), `updateMetadata: false` (do not touch the Info
 * dictionary), `ignoreEncryption: true` (load, then report isEncrypted ourselves). Measured on the
 * development machine (2 vCPU, Node 20; npm run bench -- cda prints them, medians of 15
 * runs): a 10 MiB one-page PDF holding a 10 MiB uncompressed image stream is inspected in 0.3 ms
 * (12 ms for the very first call, while V8 compiles pdf-lib), where base64-encoding the same bytes
 * takes 2.1–2.4 ms; 100 KiB and 1 MiB in 0.2 ms; a 1,000-page text PDF (240 KB, one content stream per page) in
 * about 34 ms. So pdf-lib's full load stays far under the budget of a CDA document (about 3× the
 * base64 encoding of the PDF). A hand-written structural scan (header, trailer, /Count of the page
 * tree) would be cheaper for documents of many pages but cannot read page trees and XMP packets
 * stored in compressed object streams (PDF 1.5+): pdf-lib it is. The active-content check walks the
 * objects pdf-lib has parsed, once, without decoding a stream: 0.02 ms for the one-page PDFs, about
 * 2.5 ms for the 1,000-page one (9,000 dictionaries and arrays) where its load takes 55 ms (minimums
 * of 31 runs on a 2 vCPU machine under load, Node 20): a few percent of the load.
 */
export async function inspectPdf(buf: Buffer | Uint8Array): Promise<PdfInfo> {
  if (!(buf instanceof Uint8Array)) {
    throw new PdfError('NOT_PDF', `not a PDF: expected a Buffer, got ${buf === null ? 'null' : typeof buf}`);
  }
  if (buf.length === 0) throw new PdfError('EMPTY', 'the PDF is empty (0 bytes)');
  if (indexOfBytes(buf.subarray(0, 5), '%PDF-', 0) !== 0) {
    throw new PdfError('NOT_PDF', `not a PDF: the content does not start with %PDF- but with ${describeStart(buf)}`);
  }
  const versionMatch = /^%PDF-(\d+\.\d+)/.exec(Buffer.from(buf.subarray(0, 16)).toString('latin1'));
  const version = versionMatch ? versionMatch[1] : '';
  if (indexOfBytes(buf, '%%EOF', Math.max(0, buf.length - 1024)) < 0) {
    throw new PdfError('TRUNCATED', `the PDF is truncated: no %%EOF marker in its last 1024 bytes (${buf.length} bytes received)`);
  }

  let doc: PDFDocument;
  try {
    doc = await PDFDocument.load(buf, {
      ignoreEncryption: true,
      updateMetadata: false,
      parseSpeed: ParseSpeeds.Fastest,
      throwOnInvalidObject: false,
    });
  } catch (err) {
    if (declaresEncryption(buf)) throw new PdfError('ENCRYPTED', 'the PDF is encrypted (/Encrypt in its trailer): send it without password or security');
    throw new PdfError('NOT_PDF', `not a readable PDF: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (doc.isEncrypted) {
    throw new PdfError('ENCRYPTED', 'the PDF is encrypted (/Encrypt in its trailer): send it without password or security');
  }
  if (!(doc.catalog instanceof PDFDict)) throw new PdfError('NOT_PDF', 'not a readable PDF: no document catalog (/Root)');
  let pages: number;
  try {
    pages = doc.getPageCount();
  } catch (err) {
    throw new PdfError('NOT_PDF', `not a readable PDF: no usable page tree (${err instanceof Error ? err.message : String(err)})`);
  }
  if (pages === 0) throw new PdfError('EMPTY', 'the PDF has no page');
  const active = findActiveContent(doc);
  if (active) throw new PdfError(active.code, active.message);

  let pdfa: PdfAConformance | null = null;
  try {
    const xmp = xmpOf(doc);
    if (xmp) pdfa = readPdfAIdentification(xmp);
  } catch {
    pdfa = null; // an unreadable metadata stream declares nothing
  }
  return { pages, pdfa, encrypted: false, version, bytes: buf.length };
}
