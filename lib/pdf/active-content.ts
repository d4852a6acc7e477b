// Active content in a PDF: what a reader runs, launches or extracts when the document is opened, beyond
// showing its pages. A hospital opens the PDFs of CDA documents received from outside on its
// workstations, so a PDF that carries JavaScript, a launch action or an embedded file is refused: each of
// them is how a PDF delivers code or another file (ISO 32000-1 §12.6.4.16 JavaScript actions, §12.6.4.5
// launch actions, §7.11.4 embedded file streams, §7.7.4 the /Names /JavaScript and /EmbeddedFiles trees,
// §12.5.6.15 file attachment annotations).
import { PDFArray, PDFDict, PDFDocument, PDFName, PDFObject, PDFRef, PDFStream } from 'pdf-lib';
import type { PdfErrorCode } from './inspect';

export type ActiveContentCode = Extract<PdfErrorCode, 'JAVASCRIPT' | 'LAUNCH_ACTION' | 'EMBEDDED_FILE'>;

export interface ActiveContent {
  code: ActiveContentCode;
  /** Says what was found and where, in PDF syntax (keys and fixed names only: never document content). */
  message: string;
}

const N = {
  S: PDFName.of('S'),
  JS: PDFName.of('JS'),
  JavaScript: PDFName.of('JavaScript'),
  Launch: PDFName.of('Launch'),
  Type: PDFName.of('Type'),
  Subtype: PDFName.of('Subtype'),
  EmbeddedFile: PDFName.of('EmbeddedFile'),
  EF: PDFName.of('EF'),
  FileAttachment: PDFName.of('FileAttachment'),
  Names: PDFName.of('Names'),
  EmbeddedFiles: PDFName.of('EmbeddedFiles'),
  Page: PDFName.of('Page'),
  Annot: PDFName.of('Annot'),
  FT: PDFName.of('FT'),
};

/** What one dictionary is, when it is active content: its code and the entry that says so. */
interface Construct {
  code: ActiveContentCode;
  entry: string;
}

// pdf-lib interns names by their decoded text, so an obfuscated /Java#53cript is N.JavaScript here.
function constructOf(dict: PDFDict): Construct | null {
  const s = dict.get(N.S);
  if (s === N.JavaScript) return { code: 'JAVASCRIPT', entry: '/S /JavaScript' };
  // /JS without /S /JavaScript: a rendition action's script, or an action a lenient reader runs anyway.
  if (dict.has(N.JS)) return { code: 'JAVASCRIPT', entry: '/JS' };
  if (s === N.Launch) return { code: 'LAUNCH_ACTION', entry: '/S /Launch' };
  if (dict.get(N.Type) === N.EmbeddedFile) return { code: 'EMBEDDED_FILE', entry: '/Type /EmbeddedFile' };
  if (dict.has(N.EF)) return { code: 'EMBEDDED_FILE', entry: '/EF' };
  if (dict.get(N.Subtype) === N.FileAttachment) return { code: 'EMBEDDED_FILE', entry: '/Subtype /FileAttachment' };
  return null;
}

function dictOf(value: PDFObject): PDFDict | null {
  if (value instanceof PDFDict) return value;
  if (value instanceof PDFStream) return value.dict;
  return null;
}

/** The first construct of a code met by the scan: the indirect object that holds it. */
interface Found {
  code: ActiveContentCode;
  ref: PDFRef;
}

/**
 * The JavaScript, launch action or embedded file `doc` carries, null when there is none. One walk over
 * the indirect objects pdf-lib parsed (those of compressed object streams included), looking into the
 * dictionaries and arrays written inside each, so that an action written inline (`/OpenAction << /S
 * /JavaScript … >>`) is seen as well as an indirect one; content streams are not decoded (they draw,
 * they cannot hold an action). Linear in the number of objects (plus the sort of their numbers in
 * enumerateIndirectObjects). JavaScript is reported first, then a launch action, then an embedded file,
 * whatever their object numbers: the same PDF gets the same code from any producer.
 */
export function findActiveContent(doc: PDFDocument): ActiveContent | null {
  // The catalog's name trees: document-level scripts run when the document opens.
  const names = doc.catalog.lookup(N.Names);
  if (names instanceof PDFDict) {
    if (names.has(N.JavaScript)) return { code: 'JAVASCRIPT', message: message('JAVASCRIPT', '/Names /JavaScript', true) };
  }

  // A bare stack of values, no step objects: every PDF takes this path. Children are pushed in the
  // order walk() pushes them, so that constructIn finds the same construct again.
  const first: { [C in ActiveContentCode]?: Found } = {};
  const stack: PDFObject[] = [];
  for (const [ref, object] of doc.context.enumerateIndirectObjects()) {
    stack.push(object);
    for (let value = stack.pop(); value; value = stack.pop()) {
      const dict = dictOf(value);
      if (dict) {
        const construct = constructOf(dict);
        if (construct?.code === 'JAVASCRIPT') return report(doc, { code: 'JAVASCRIPT', ref });
        if (construct) first[construct.code] ??= { code: construct.code, ref };
        for (const child of dict.values()) if (child instanceof PDFDict || child instanceof PDFArray) stack.push(child);
      } else if (value instanceof PDFArray) {
        for (const child of value.asArray()) if (child instanceof PDFDict || child instanceof PDFArray) stack.push(child);
      }
    }
  }
  if (first.LAUNCH_ACTION) return report(doc, first.LAUNCH_ACTION);
  if (names instanceof PDFDict && names.has(N.EmbeddedFiles)) {
    return { code: 'EMBEDDED_FILE', message: message('EMBEDDED_FILE', '/Names /EmbeddedFiles', false) };
  }
  if (first.EMBEDDED_FILE) return report(doc, first.EMBEDDED_FILE);
  return null;
}

// What follows runs once, on the failure path: where the construct is, for the message.

function report(doc: PDFDocument, found: Found): ActiveContent {
  const { step, entry } = constructIn(doc, found);
  const { where, whenOpened } = locate(doc, found, step);
  return { code: found.code, message: message(found.code, where ? `${where} ${entry}` : entry, whenOpened) };
}

function message(code: ActiveContentCode, where: string, whenOpened: boolean): string {
  switch (code) {
    case 'JAVASCRIPT':
      return `the PDF ${whenOpened ? 'runs JavaScript when opened' : 'carries JavaScript'} (${where})`;
    case 'LAUNCH_ACTION':
      return `the PDF ${whenOpened ? 'launches an application or another file when opened' : 'can launch an application or another file'} (${where})`;
    case 'EMBEDDED_FILE':
      return `the PDF carries an embedded file (${where})`;
  }
}

/** One dictionary, array or reference met while walking an indirect object, and how it was reached. */
interface Step {
  value: PDFObject;
  /** The key (dictionary) or index (array) that holds `value` in its parent; null for the indirect object. */
  key: PDFName | number | null;
  parent: Step | null;
}

/**
 * Visits `root` and every dictionary and array written inside it (and, with `refs`, every reference),
 * depth first, until `visit` returns true; returns that step. References are not followed: the caller
 * visits every indirect object anyway. An explicit stack, not recursion: a hostile nesting depth cannot
 * overflow the call stack. Only on the failure path (the steps and their paths cost an object each):
 * findActiveContent scans with a bare stack of the same order.
 */
function walk(root: PDFObject, refs: boolean, visit: (step: Step) => boolean): Step | null {
  const stack: Step[] = [{ value: root, key: null, parent: null }];
  for (let step = stack.pop(); step; step = stack.pop()) {
    if (visit(step)) return step;
    const dict = dictOf(step.value);
    if (dict) {
      for (const [key, child] of dict.entries()) {
        if (child instanceof PDFDict || child instanceof PDFArray || (refs && child instanceof PDFRef)) stack.push({ value: child, key, parent: step });
      }
    } else if (step.value instanceof PDFArray) {
      step.value.asArray().forEach((child, i) => {
        if (child instanceof PDFDict || child instanceof PDFArray || (refs && child instanceof PDFRef)) stack.push({ value: child, key: i, parent: step });
      });
    }
  }
  return null;
}

/** The first construct of `code` in the indirect object `ref`, as walk meets it (the scan's order). */
function constructIn(doc: PDFDocument, found: Found): { step: Step; entry: string } {
  let entry = '';
  const step = walk(doc.context.lookup(found.ref) as PDFObject, false, (s) => {
    const dict = dictOf(s.value);
    const construct = dict ? constructOf(dict) : null;
    if (construct?.code !== found.code) return false;
    entry = construct.entry;
    return true;
  });
  if (!step) throw new Error(`active-content: no ${found.code} in object ${found.ref.objectNumber} on the second walk`);
  return { step, entry };
}

/**
 * Where a construct is, for the message: from the indirect object that holds it, up through the objects
 * that refer to it, to the catalog, a page, an annotation or a form field. Only on the failure path: one
 * more walk of the objects, to know who refers to whom.
 */
function locate(doc: PDFDocument, found: Found, at: Step): { where: string; whenOpened: boolean } {
  const referrers = new Map<PDFRef, { ref: PDFRef; step: Step }>();
  for (const [ref, object] of doc.context.enumerateIndirectObjects()) {
    walk(object, true, (step) => {
      if (step.value instanceof PDFRef && !referrers.has(step.value)) referrers.set(step.value, { ref, step });
      return false;
    });
  }
  const pageNumbers = new Map<PDFRef, number>();
  try {
    doc.getPages().forEach((page, i) => pageNumbers.set(page.ref, i + 1));
  } catch {
    // no page numbers: pages are then named /Page
  }

  let path = pathOf(at);
  let ref = found.ref;
  const seen = new Set<PDFRef>();
  for (;;) {
    seen.add(ref);
    const holder = doc.context.lookup(ref);
    const dict = holder ? dictOf(holder) : null;
    if (dict === doc.catalog) {
      return { where: path.join(' '), whenOpened: path[0] === '/OpenAction' };
    }
    const anchor = dict ? anchorOf(dict, ref, pageNumbers, path.length > 0) : null;
    if (anchor) return { where: [anchor, ...path].join(' '), whenOpened: false };
    const referrer = referrers.get(ref);
    if (!referrer || seen.has(referrer.ref) || seen.size > 32) {
      return { where: [`object ${ref.objectNumber}`, ...path].join(' '), whenOpened: false };
    }
    path = [...pathOf(referrer.step), ...path];
    ref = referrer.ref;
  }
}

/** The name of a page, an annotation or a form field; null for any other object. */
function anchorOf(dict: PDFDict, ref: PDFRef, pageNumbers: Map<PDFRef, number>, withSubtype: boolean): string | null {
  const type = dict.get(N.Type);
  if (type === N.Page) return pageNumbers.has(ref) ? `page ${pageNumbers.get(ref)}` : '/Page';
  if (type === N.Annot) {
    const subtype = dict.get(N.Subtype);
    // Without a path the construct is the annotation itself (/Subtype /FileAttachment): named once.
    return withSubtype && subtype instanceof PDFName ? `/Annot ${nameText(subtype)}` : '/Annot';
  }
  if (dict.has(N.FT)) return 'form field';
  return null;
}

function pathOf(step: Step): string[] {
  const keys: string[] = [];
  for (let s: Step | null = step; s && s.key !== null; s = s.parent) keys.push(typeof s.key === 'number' ? `[${s.key}]` : nameText(s.key));
  return keys.reverse();
}

/** A name the PDF chose, printed only when it looks like a PDF key: no escapes or odd bytes in a log line. */
function nameText(name: PDFName): string {
  const text = name.decodeText();
  return /^[A-Za-z][A-Za-z0-9]{0,31}$/.test(text) ? `/${text}` : '/?';
}
