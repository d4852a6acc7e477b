// What a received replacement or deletion may do to the archive, as the LPS volet says
// (../shared/specs/volet-lps-cda-mssante/error-codes.md, table applicationErrorCode): the document it
// names must be archived (else 906), be its latest version (900), and the request come from its author
// or the author's organisation (901). Read-only: the archive is only queried; cda-ingest then marks the
// target replaced or deleted (never destroys it).
import type { DocumentArchive, DocumentRecord } from '../store';
import { formatId } from './build';
import type { CdaReading } from './parse';
import type { CdaId } from './types';
import type { DocumentTxa } from './unwrap';
import type { ApplicationErrorCode, DocumentAction } from './volet';

export type LifecycleRefusalCode =
  /** the document to replace or delete is not in the archive (906) */
  | 'UNKNOWN_DOCUMENT'
  /** it is not the latest version: already replaced or deleted, or the new version is not newer (900) */
  | 'NOT_LATEST_VERSION'
  /** asked by another author than the original's, of another organisation (901); or about a document produced here */
  | 'AUTHOR_NOT_ALLOWED'
  /** the message and the document name different documents (TXA-12 / TXA-13 and the CDA), or none (906) */
  | 'TARGET_MISMATCH';

/** A replacement or deletion refused: the code, the LPS volet's application error, a message without patient data. */
export class LifecycleRefusal extends Error {
  override readonly name = 'LifecycleRefusal';
  constructor(
    readonly code: LifecycleRefusalCode,
    readonly application: ApplicationErrorCode,
    message: string,
    /** ERR-2 location, when a field of the message is at fault. */
    readonly location?: string,
  ) {
    super(message);
  }
}

export interface LifecyclePlan {
  action: DocumentAction;
  /** The archived document replaced or deleted (null for a new document). */
  target: DocumentRecord | null;
  /** The deletion was already applied (the same request sent again): nothing to change. */
  alreadyDone: boolean;
  warnings: string[];
}

/** An EI of TXA as an archive id (root^extension, or the root alone). */
function txaId(ei: { extension: string; root: string } | null | undefined): string | null {
  if (!ei || !ei.root) return null;
  return formatId({ root: ei.root, ...(ei.extension ? { extension: ei.extension } : {}) });
}

/** The id of a person or organisation as the archive keeps it: the extension, else the root. */
export function partyId(id: CdaId | null | undefined): string {
  return id ? id.extension || id.root : '';
}

/**
 * What a document received asks (`action`: the carrier's, else RPLC in relatedDocument for a CDA alone),
 * checked against the archive. Throws LifecycleRefusal:
 * - TARGET_MISMATCH (906): TXA-12 is not the document's id; TXA-13 and relatedDocument/parentDocument/id
 *   name different documents; a replacement names none;
 * - UNKNOWN_DOCUMENT (906): the document to replace (TXA-13, else the parent) or to delete (the document
 *   itself, TXA-12) is not archived;
 * - NOT_LATEST_VERSION (900): it was replaced or deleted already, or the replacement's versionNumber is
 *   not above it, or its setId is another;
 * - AUTHOR_NOT_ALLOWED (901): a document produced here, or the request's author (CDA author id) is not
 *   the original's and its organisation (representedOrganization id) not the original author's.
 */
export async function planLifecycle(action: DocumentAction, reading: CdaReading, txa: DocumentTxa | null, archive: DocumentArchive): Promise<LifecyclePlan> {
  const warnings: string[] = [];
  const self = formatId(reading.id as CdaId);
  const unique = txaId(txa?.uniqueId);
  if (unique && unique !== self) {
    throw new LifecycleRefusal('TARGET_MISMATCH', '906', 'TXA-12 (the unique document number) is not the id of the CDA document carried (ClinicalDocument/id)', 'TXA^1^12');
  }
  if (action === 'new') return { action, target: null, alreadyDone: false, warnings };

  let targetId = self;
  if (action === 'replace') {
    const parent = txaId(txa?.parentId);
    const related = reading.relatedDocument?.type === 'RPLC' && reading.relatedDocument.parentId ? formatId(reading.relatedDocument.parentId) : null;
    if (parent && related && parent !== related) {
      throw new LifecycleRefusal('TARGET_MISMATCH', '906', 'TXA-13 (the replaced document) and the CDA relatedDocument/parentDocument/id name different documents', 'TXA^1^13');
    }
    if (!parent && !related) {
      throw new LifecycleRefusal('TARGET_MISMATCH', '906', 'a replacement names the document it replaces: TXA-13, or relatedDocument typeCode RPLC in the CDA', txa ? 'TXA^1^13' : undefined);
    }
    targetId = (parent ?? related) as string;
  }
  const target = await archive.getDocument(targetId);
  const what = action === 'replace' ? 'replace' : 'delete';
  if (!target) throw new LifecycleRefusal('UNKNOWN_DOCUMENT', '906', `the document to ${what} is not in the archive: nothing was ${what}d`);
  if (target.origin !== 'received') {
    throw new LifecycleRefusal('AUTHOR_NOT_ALLOWED', '901', `the document to ${what} was produced here: only this establishment replaces or deletes its documents`);
  }
  if (action === 'delete' && target.status === 'cancelled') {
    warnings.push('the document was already deleted: nothing changed');
    return { action, target, alreadyDone: true, warnings };
  }
  if (target.status !== 'current') {
    throw new LifecycleRefusal('NOT_LATEST_VERSION', '900', `the document to ${what} is not the latest version: it was ${target.status === 'replaced' ? 'replaced' : 'deleted'} already`);
  }
  if (action === 'replace') {
    if (reading.version !== null && reading.version <= target.version) {
      throw new LifecycleRefusal('NOT_LATEST_VERSION', '900', `the replacement is version ${reading.version}, not above the archived version ${target.version}`);
    }
    if (reading.setId && formatId(reading.setId) !== target.setId) {
      throw new LifecycleRefusal('NOT_LATEST_VERSION', '900', 'the replacement has another setId than the document it replaces: it is not a version of it');
    }
  }
  const original = target.author;
  const author = partyId(reading.author?.id);
  const organization = partyId(reading.author?.organization?.id);
  if (!original || (!original.id && !original.organization)) {
    warnings.push(`the archived document keeps no author: the right to ${what} it was not checked`);
  } else if (!((author && author === original.id) || (organization && organization === original.organization))) {
    throw new LifecycleRefusal('AUTHOR_NOT_ALLOWED', '901', `the request to ${what} the document comes from another author, of another organisation than the original author's`);
  }
  return { action, target, alreadyDone: false, warnings };
}
