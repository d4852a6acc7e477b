import assert from 'node:assert/strict';
import { inspectPdf, PdfError, readPdfAIdentification, type PdfErrorCode } from '../../lib/pdf';
import {
  cached,
  encryptedPdf,
  encryptedXrefStreamPdf,
  garbageAfterHeader,
  largePdf,
  MiB,
  NOT_PDFS,
  pagelessPdf,
  pdfAPdf,
  pdfAXmp,
  textPdf,
  truncatedPdf,
} from '../fixtures/pdf';

async function pdfError(input: unknown): Promise<PdfError> {
  try {
    await inspectPdf(input as Buffer);
  } catch (err) {
    assert.ok(err instanceof PdfError, `expected a PdfError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a PdfError');
}

async function expectError(input: unknown, code: PdfErrorCode, message: RegExp): Promise<void> {
  const err = await pdfError(input);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, message);
}

describe('lib/pdf inspectPdf', () => {
  describe('PDFs a CDA document can carry', () => {
    it('reads a one-page PDF with object streams (PDF 1.5+)', async () => {
      assert.deepEqual(await inspectPdf(await textPdf()), { pages: 1, pdfa: null, encrypted: false, version: '1.7', bytes: (await textPdf()).length });
    });

    it('reads a PDF with a classic cross-reference table', async () => {
      const info = await inspectPdf(await textPdf({ classicXref: true }));
      assert.equal(info.pages, 1);
      assert.equal(info.pdfa, null);
    });

    it('counts pages', async () => {
      assert.equal((await inspectPdf(await textPdf({ pages: 3 }))).pages, 3);
    });

    it('accepts a Uint8Array as well as a Buffer', async () => {
      const buf = await textPdf();
      assert.equal((await inspectPdf(new Uint8Array(buf))).pages, 1);
    });

    it('reads a 10 MiB scanned-like PDF', async () => {
      const big = await cached('large-10', () => largePdf(10 * MiB));
      const info = await inspectPdf(big);
      assert.equal(info.pages, 1);
      assert.deepEqual(info.pdfa, { part: 1, conformance: 'B' });
      assert.ok(info.bytes > 10 * MiB);
    });
  });

  describe('PDF/A declaration (XMP metadata of the catalog)', () => {
    it('reads pdfaid:part and pdfaid:conformance as attributes (PDF/A-1b)', async () => {
      assert.deepEqual((await inspectPdf(await pdfAPdf())).pdfa, { part: 1, conformance: 'B' });
    });

    it('reads them as elements', async () => {
      assert.deepEqual((await inspectPdf(await pdfAPdf({ form: 'element', part: 1, conformance: 'A' }))).pdfa, { part: 1, conformance: 'A' });
    });

    it('reads them under another prefix bound to the PDF/A identification namespace', async () => {
      assert.deepEqual((await inspectPdf(await pdfAPdf({ prefix: 'pdfaid2', part: 2, conformance: 'u' }))).pdfa, { part: 2, conformance: 'U' });
    });

    it('reads a compressed metadata stream', async () => {
      assert.deepEqual((await inspectPdf(await pdfAPdf({ compressXmp: true, part: 3, conformance: 'B' }))).pdfa, { part: 3, conformance: 'B' });
    });

    it('reads PDF/A-4, which has no conformance level', async () => {
      assert.deepEqual((await inspectPdf(await pdfAPdf({ part: 4, conformance: null }))).pdfa, { part: 4, conformance: null });
    });

    it('readPdfAIdentification: attribute and element forms, single quotes, none', () => {
      assert.deepEqual(readPdfAIdentification(pdfAXmp(1, 'B')), { part: 1, conformance: 'B' });
      assert.deepEqual(readPdfAIdentification(pdfAXmp(2, 'A', 'element')), { part: 2, conformance: 'A' });
      assert.deepEqual(readPdfAIdentification(`<x xmlns:pdfaid='http://www.aiim.org/pdfa/ns/id/' pdfaid:part='1' pdfaid:conformance='b'/>`), { part: 1, conformance: 'B' });
      assert.equal(readPdfAIdentification('<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:title>no PDF/A</dc:title></x:xmpmeta>'), null);
      assert.equal(readPdfAIdentification('<rdf:Description pdfaid:part="x"/>'), null);
    });
  });

  describe('what cannot go into a CDA document', () => {
    it('zero bytes: EMPTY', async () => {
      await expectError(Buffer.alloc(0), 'EMPTY', /empty \(0 bytes\)/);
    });

    it('a PDF without any page: EMPTY', async () => {
      await expectError(await pagelessPdf(), 'EMPTY', /no page/);
    });

    it('not a PDF: NOT_PDF, naming what the bytes look like', async () => {
      await expectError(await NOT_PDFS.png(), 'NOT_PDF', /does not start with %PDF- but with a PNG image/);
      await expectError(await NOT_PDFS.html(), 'NOT_PDF', /XML or HTML/);
      await expectError(await NOT_PDFS.docx(), 'NOT_PDF', /ZIP archive/);
      await expectError(await NOT_PDFS.base64(), 'NOT_PDF', /"JVBERi0x" \(base64 of a PDF: decode it first\)/);
      await expectError(Buffer.from('hello world'), 'NOT_PDF', /"hello wo"/);
    });

    it('not a Buffer: NOT_PDF', async () => {
      await expectError('%PDF-1.7', 'NOT_PDF', /expected a Buffer, got string/);
      await expectError(null, 'NOT_PDF', /got null/);
    });

    it('a %PDF- header then no document: NOT_PDF', async () => {
      await expectError(garbageAfterHeader(), 'NOT_PDF', /no document catalog/);
    });

    it('cut off: TRUNCATED', async () => {
      await expectError(await truncatedPdf(), 'TRUNCATED', /no %%EOF marker in its last 1024 bytes/);
    });

    it('encrypted, /Encrypt in the trailer of a classic cross-reference table: ENCRYPTED', async () => {
      await expectError(encryptedPdf(), 'ENCRYPTED', /encrypted \(\/Encrypt in its trailer\)/);
    });

    it('encrypted, /Encrypt in a cross-reference stream: ENCRYPTED', async () => {
      await expectError(await encryptedXrefStreamPdf(), 'ENCRYPTED', /encrypted/);
    });
  });
});
