import assert from 'node:assert/strict';
import { PDFDocument, PDFName, PDFRef, PDFString } from 'pdf-lib';
import { inspectPdf, PdfError, readPdfAIdentification, type PdfErrorCode } from '../../lib/pdf';
import {
  cached,
  editedPdf,
  encryptedPdf,
  encryptedXrefStreamPdf,
  garbageAfterHeader,
  handWrittenPdf,
  largePdf,
  MiB,
  NOT_PDFS,
  openActionJavaScriptPdf,
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

  describe('active content: PDFs received from outside are opened on hospital workstations', () => {
    const script = () => PDFString.of('app.alert("Dupont Marie")');

    /** Adds an annotation (indirect, as producers write them) to the first page. */
    function annotate(doc: PDFDocument, annot: Record<string, unknown>): PDFRef {
      const ref = doc.context.register(doc.context.obj({ Type: 'Annot', Rect: [56, 700, 200, 720], ...annot } as never));
      doc.getPage(0).node.addAnnot(ref);
      return ref;
    }

    function setCatalog(doc: PDFDocument, key: string, value: Record<string, unknown> | unknown[]): void {
      doc.catalog.set(PDFName.of(key), doc.context.obj(value as never));
    }

    const bothLayouts = [
      ['classic cross-reference table', { classicXref: true }],
      ['object streams (PDF 1.5)', { classicXref: false }],
    ] as const;

    describe('a PDF without active content still passes', () => {
      for (const [layout, opts] of bothLayouts) {
        it(`a /GoTo /OpenAction, a /URI link and a form field, ${layout}`, async () => {
          const pdf = await editedPdf((doc) => {
            const page = doc.getPage(0);
            setCatalog(doc, 'OpenAction', { S: 'GoTo', D: [page.ref, 'Fit'] });
            annotate(doc, { Subtype: 'Link', A: { S: 'URI', URI: PDFString.of('https://esante.gouv.fr') } });
            doc.getForm().createTextField('commentaire').addToPage(page, { x: 56, y: 600 });
          }, opts);
          assert.equal((await inspectPdf(pdf)).pages, 1);
        });
      }

      it('a /GoTo destination array as /OpenAction (no action dictionary)', async () => {
        const pdf = await editedPdf((doc) => setCatalog(doc, 'OpenAction', [doc.getPage(0).ref, 'Fit']));
        assert.equal((await inspectPdf(pdf)).pages, 1);
      });
    });

    describe('JAVASCRIPT', () => {
      for (const [layout, opts] of bothLayouts) {
        it(`an /OpenAction written inline in the catalog, ${layout}`, async () => {
          await expectError(await openActionJavaScriptPdf(opts), 'JAVASCRIPT', /^the PDF runs JavaScript when opened \(\/OpenAction \/S \/JavaScript\)$/);
        });
      }

      it('inside a compressed object stream: the catalog and its action are not in the file as text', async () => {
        const pdf = await editedPdf((doc) => {
          const action = doc.context.register(doc.context.obj({ S: 'JavaScript', JS: script() }));
          doc.catalog.set(PDFName.of('OpenAction'), action);
        });
        assert.ok(pdf.includes('/Type /ObjStm'), 'pdf-lib wrote an object stream');
        assert.ok(!pdf.includes('JavaScript') && !pdf.includes('OpenAction'), 'the action is compressed');
        await expectError(pdf, 'JAVASCRIPT', /^the PDF runs JavaScript when opened \(\/OpenAction \/S \/JavaScript\)$/);
      });

      it('a /Names /JavaScript tree (document-level scripts)', async () => {
        const pdf = await editedPdf((doc) => setCatalog(doc, 'Names', { JavaScript: { Names: [PDFString.of('init'), { S: 'JavaScript', JS: script() }] } }));
        await expectError(pdf, 'JAVASCRIPT', /^the PDF runs JavaScript when opened \(\/Names \/JavaScript\)$/);
      });

      it('/AA of the catalog (before closing)', async () => {
        const pdf = await editedPdf((doc) => setCatalog(doc, 'AA', { WC: { S: 'JavaScript', JS: script() } }));
        await expectError(pdf, 'JAVASCRIPT', /^the PDF carries JavaScript \(\/AA \/WC \/S \/JavaScript\)$/);
      });

      it('/AA of a page, the action an indirect object', async () => {
        const pdf = await editedPdf((doc) => {
          const action = doc.context.register(doc.context.obj({ S: 'JavaScript', JS: script() }));
          doc.getPage(0).node.set(PDFName.of('AA'), doc.context.obj({ O: action }));
        });
        await expectError(pdf, 'JAVASCRIPT', /^the PDF carries JavaScript \(page 1 \/AA \/O \/S \/JavaScript\)$/);
      });

      it('/AA of an annotation', async () => {
        const pdf = await editedPdf((doc) => {
          annotate(doc, { Subtype: 'Link', AA: { U: { S: 'JavaScript', JS: script() } } });
        });
        await expectError(pdf, 'JAVASCRIPT', /^the PDF carries JavaScript \(\/Annot \/Link \/AA \/U \/S \/JavaScript\)$/);
      });

      it('/AA of a form field (keystroke script)', async () => {
        const pdf = await editedPdf((doc) => {
          const field = doc.getForm().createTextField('dose');
          field.acroField.dict.set(PDFName.of('AA'), doc.context.obj({ K: { S: 'JavaScript', JS: script() } }));
        });
        await expectError(pdf, 'JAVASCRIPT', /^the PDF carries JavaScript \(form field \/AA \/K \/S \/JavaScript\)$/);
      });

      it('a /JS script in an action that is not /S /JavaScript (rendition)', async () => {
        const pdf = await editedPdf((doc) => {
          annotate(doc, { Subtype: 'Link', A: { S: 'Rendition', OP: 0, JS: script() } });
        });
        await expectError(pdf, 'JAVASCRIPT', /^the PDF carries JavaScript \(\/Annot \/Link \/A \/JS\)$/);
      });

      it('at the end of a /Next chain after a harmless /GoTo', async () => {
        const pdf = await editedPdf((doc) => {
          const next = doc.context.register(doc.context.obj({ S: 'JavaScript', JS: script() }));
          setCatalog(doc, 'OpenAction', { S: 'GoTo', D: [doc.getPage(0).ref, 'Fit'], Next: next });
        });
        await expectError(pdf, 'JAVASCRIPT', /^the PDF runs JavaScript when opened \(\/OpenAction \/Next \/S \/JavaScript\)$/);
      });

      it('the name written with a #-escape (/Java#53cript), in a hand-written PDF', async () => {
        const pdf = handWrittenPdf(
          [
            '<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>',
            '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
            '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>',
            '<< /S /Java#53cript /JS (app.alert\\(1\\)) >>',
          ],
          '/Root 1 0 R',
        );
        assert.ok(!pdf.includes('/JavaScript'));
        await expectError(pdf, 'JAVASCRIPT', /^the PDF runs JavaScript when opened \(\/OpenAction \/S \/JavaScript\)$/);
      });

      it('never puts the script in the message', async () => {
        const err = await pdfError(await openActionJavaScriptPdf());
        assert.doesNotMatch(err.message, /Dupont|alert/);
      });
    });

    describe('LAUNCH_ACTION', () => {
      for (const [layout, opts] of bothLayouts) {
        it(`a link that launches a program, ${layout}`, async () => {
          const pdf = await editedPdf((doc) => {
            annotate(doc, { Subtype: 'Link', A: { S: 'Launch', F: PDFString.of('C:\\Windows\\System32\\calc.exe') } });
          }, opts);
          const err = await pdfError(pdf);
          assert.equal(err.code, 'LAUNCH_ACTION', err.message);
          assert.equal(err.message, 'the PDF can launch an application or another file (/Annot /Link /A /S /Launch)');
        });
      }

      it('an /OpenAction with a Windows launch dictionary (/Win /F /P)', async () => {
        const pdf = await editedPdf((doc) => {
          setCatalog(doc, 'OpenAction', { S: 'Launch', Win: { F: PDFString.of('cmd.exe'), P: PDFString.of('/c echo Dupont') } });
        });
        const err = await pdfError(pdf);
        assert.equal(err.code, 'LAUNCH_ACTION', err.message);
        assert.equal(err.message, 'the PDF launches an application or another file when opened (/OpenAction /S /Launch)');
      });
    });

    describe('EMBEDDED_FILE', () => {
      for (const [layout, opts] of bothLayouts) {
        it(`an attachment (pdf-lib attach: /Names /EmbeddedFiles, /Filespec /EF, /Type /EmbeddedFile), ${layout}`, async () => {
          const pdf = await editedPdf(async (doc) => {
            await doc.attach(Buffer.from('résultats de Dupont Marie'), 'dupont-marie.txt', { mimeType: 'text/plain', description: 'Dupont Marie' });
          }, opts);
          const err = await pdfError(pdf);
          assert.equal(err.code, 'EMBEDDED_FILE', err.message);
          assert.equal(err.message, 'the PDF carries an embedded file (/Names /EmbeddedFiles)');
        });
      }

      it('a /FileAttachment annotation (its file specification without /EF)', async () => {
        const pdf = await editedPdf((doc) => {
          annotate(doc, { Subtype: 'FileAttachment', Name: 'PushPin', FS: { Type: 'Filespec', F: PDFString.of('dupont.txt') } });
        });
        await expectError(pdf, 'EMBEDDED_FILE', /^the PDF carries an embedded file \(\/Annot \/Subtype \/FileAttachment\)$/);
      });

      it('a file specification with /EF in the catalog /AF (PDF 2.0 associated files), the stream without /Type', async () => {
        const pdf = await editedPdf((doc) => {
          const file = doc.context.register(doc.context.stream('<x/>', {}));
          setCatalog(doc, 'AF', [{ Type: 'Filespec', F: PDFString.of('dupont.xml'), EF: { F: file } }]);
        });
        await expectError(pdf, 'EMBEDDED_FILE', /^the PDF carries an embedded file \(\/AF \[0\] \/EF\)$/);
      });

      it('a /Type /EmbeddedFile stream no object refers to', async () => {
        const pdf = await editedPdf((doc) => {
          doc.context.register(doc.context.stream('dupont', { Type: 'EmbeddedFile', Subtype: 'text/plain' }));
        });
        await expectError(pdf, 'EMBEDDED_FILE', /^the PDF carries an embedded file \(object \d+ \/Type \/EmbeddedFile\)$/);
      });
    });

    describe('which check speaks first', () => {
      it('JavaScript before a launch action before an embedded file, whatever the object numbers', async () => {
        const all = await editedPdf(async (doc) => {
          await doc.attach(Buffer.from('x'), 'x.txt');
          annotate(doc, { Subtype: 'Link', A: { S: 'Launch', F: PDFString.of('x.exe') } });
          annotate(doc, { Subtype: 'Link', A: { S: 'JavaScript', JS: script() } });
        });
        assert.equal((await pdfError(all)).code, 'JAVASCRIPT');
        const launchAndFile = await editedPdf(async (doc) => {
          annotate(doc, { Subtype: 'FileAttachment', FS: { Type: 'Filespec', F: PDFString.of('x.txt') } });
          annotate(doc, { Subtype: 'Link', A: { S: 'Launch', F: PDFString.of('x.exe') } });
        });
        assert.equal((await pdfError(launchAndFile)).code, 'LAUNCH_ACTION');
      });

      it('an encrypted PDF with JavaScript is ENCRYPTED: the existing checks come first', async () => {
        const pdf = handWrittenPdf(
          [
            '<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (x) >> >>',
            '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
            '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>',
            '<< /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -3904 >>',
          ],
          '/Root 1 0 R /Encrypt 4 0 R',
        );
        assert.equal((await pdfError(pdf)).code, 'ENCRYPTED');
      });
    });
  });
});
