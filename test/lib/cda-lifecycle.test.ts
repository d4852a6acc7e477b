// planLifecycle: what a received replacement (MDM^T10, ORU OBX-11 C) or deletion (MDM^T04, OBX-11 D)
// may do to the archive, with the LPS volet's application errors (volet-lps-cda-mssante/error-codes.md:
// 900 not the latest version, 901 another author's organisation, 906 other).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LifecycleRefusal, planLifecycle, type LifecycleRefusalCode } from '../../lib/cda/lifecycle';
import { readCda, type CdaReading } from '../../lib/cda/parse';
import type { DocumentTxa } from '../../lib/cda/unwrap';
import { SqliteIdentityStore, type DocumentInput } from '../../lib/store';
import { cdaXml, LAB_DOC_ROOT } from '../fixtures/cda-hostile';

const V1 = `${LAB_DOC_ROOT}^CRBIO2026000123`;
const AUTHOR = { root: '1.2.250.1.71.4.2.1', extension: '810009876543' };
const LAB = { root: '1.2.250.1.71.4.2.2', extension: '1690009999' };

describe('lib/cda planLifecycle (replacements and deletions received, LPS volet error-codes.md)', () => {
  let dir: string;
  let store: SqliteIdentityStore;
  const base: CdaReading = readCda(cdaXml({ body: { structured: '<component><section/></component>' } }));

  /** The archived version 1 (received), by the laboratory's biologist unless said otherwise. */
  function archived(over: Partial<DocumentInput> = {}): DocumentInput {
    return {
      id: V1,
      setId: `${LAB_DOC_ROOT}^SETBIO2026000123`,
      version: 1,
      typeCode: '11502-2',
      typeLabel: "CR d'examens biologiques",
      title: 'CR',
      effectiveTime: '2026-11-23T10:15:00+01:00',
      origin: 'received',
      replaces: null,
      ippKey: null,
      patient: { ipp: null, ins: null, insQualified: false, birthName: 'MARTIN', firstNames: 'Marie', firstName: 'Marie', usedName: '', birthDate: '1985-05-12', sex: 'F' },
      author: { id: AUTHOR.extension, organization: LAB.extension },
      cda: Buffer.from('<ClinicalDocument/>'),
      pdf: null,
      ...over,
    };
  }

  /** Version 2 replacing version 1 (relatedDocument RPLC), by `author` of `organization`. */
  function replacement(over: Partial<CdaReading> = {}): CdaReading {
    return {
      ...base,
      id: { root: LAB_DOC_ROOT, extension: 'CRBIO2026000124' },
      version: 2,
      relatedDocument: { type: 'RPLC', parentId: { root: LAB_DOC_ROOT, extension: 'CRBIO2026000123' }, parentSetId: null, parentVersion: null },
      ...over,
    };
  }

  function txa(unique: string, parent: string | null): DocumentTxa {
    const ei = (ext: string) => ({ extension: ext, root: LAB_DOC_ROOT });
    return { type: { code: '11502-2', text: '', system: '' }, uniqueId: ei(unique), parentId: parent ? ei(parent) : null, completionStatus: 'AU', confidentiality: '', availability: '' };
  }

  async function refusal(p: Promise<unknown>, code: LifecycleRefusalCode, application: string, why: RegExp): Promise<void> {
    const err = await p.then(
      () => assert.fail(`expected ${code}`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof LifecycleRefusal, String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.application, application);
    assert.match(err.message, why);
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-lifecycle-'));
    store = new SqliteIdentityStore({ file: path.join(dir, 'store.db') });
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a new document needs nothing from the archive; TXA-12 must be its id', async () => {
    assert.deepEqual(await planLifecycle('new', base, txa('CRBIO2026000123', null), store), { action: 'new', target: null, alreadyDone: false, warnings: [] });
    await refusal(planLifecycle('new', base, txa('OTHER', null), store), 'TARGET_MISMATCH', '906', /TXA-12/);
  });

  it('a replacement of the latest version, by its author or the same organisation, names its target', async () => {
    await store.archiveDocument(archived());
    const plan = await planLifecycle('replace', replacement(), txa('CRBIO2026000124', 'CRBIO2026000123'), store);
    assert.equal(plan.target?.id, V1);
    assert.equal(plan.alreadyDone, false);
    // another biologist of the same laboratory
    const colleague = { ...base.author!, id: { root: AUTHOR.root, extension: '810000000099' } };
    assert.equal((await planLifecycle('replace', replacement({ author: colleague }), null, store)).target?.id, V1);
  });

  it('refuses a replacement of an unknown document (906), or naming two (TXA-13 and relatedDocument differ)', async () => {
    await refusal(planLifecycle('replace', replacement(), null, store), 'UNKNOWN_DOCUMENT', '906', /not in the archive/);
    await store.archiveDocument(archived());
    await refusal(planLifecycle('replace', replacement(), txa('CRBIO2026000124', 'CRBIO2026000100'), store), 'TARGET_MISMATCH', '906', /TXA-13/);
    await refusal(planLifecycle('replace', replacement({ relatedDocument: undefined }), null, store), 'TARGET_MISMATCH', '906', /names the document it replaces/);
  });

  it('refuses a replacement of a version already replaced or deleted, or not newer (900)', async () => {
    await store.archiveDocument(archived());
    await refusal(planLifecycle('replace', replacement({ version: 1 }), null, store), 'NOT_LATEST_VERSION', '900', /version 1, not above the archived version 1/);
    await refusal(planLifecycle('replace', replacement({ setId: { root: LAB_DOC_ROOT, extension: 'OTHER-SET' } }), null, store), 'NOT_LATEST_VERSION', '900', /another setId/);
    await store.archiveDocument(archived({ id: `${LAB_DOC_ROOT}^CRBIO2026000124`, version: 2, replaces: V1 }));
    await refusal(planLifecycle('replace', replacement({ version: 3 }), null, store), 'NOT_LATEST_VERSION', '900', /replaced already/);
  });

  it('refuses a replacement or deletion by another organisation than the original author’s (901), and of a document produced here', async () => {
    await store.archiveDocument(archived());
    const stranger = { ...base.author!, id: { root: AUTHOR.root, extension: '810000000077' }, organization: { id: { root: LAB.root, extension: '7500000001' }, name: 'Autre' } };
    await refusal(planLifecycle('replace', replacement({ author: stranger }), null, store), 'AUTHOR_NOT_ALLOWED', '901', /another author, of another organisation/);
    await refusal(planLifecycle('delete', { ...base, author: stranger }, null, store), 'AUTHOR_NOT_ALLOWED', '901', /to delete/);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
    store = new SqliteIdentityStore({ file: path.join(dir, 'store.db') });
    await store.archiveDocument(archived({ origin: 'produced' }));
    await refusal(planLifecycle('replace', replacement(), null, store), 'AUTHOR_NOT_ALLOWED', '901', /produced here/);
  });

  it('a deletion names the document itself; deleting it again changes nothing', async () => {
    await refusal(planLifecycle('delete', base, txa('CRBIO2026000123', null), store), 'UNKNOWN_DOCUMENT', '906', /to delete is not in the archive/);
    await store.archiveDocument(archived());
    const plan = await planLifecycle('delete', base, txa('CRBIO2026000123', null), store);
    assert.equal(plan.target?.id, V1);
    assert.equal(plan.alreadyDone, false);
    await store.cancelDocument(V1);
    const again = await planLifecycle('delete', base, null, store);
    assert.equal(again.alreadyDone, true);
    assert.match(again.warnings.join(), /already deleted/);
  });

  it('checks no right when the archive kept no author (documents archived before 0.2), and says so', async () => {
    await store.archiveDocument(archived({ author: null }));
    const plan = await planLifecycle('replace', replacement(), null, store);
    assert.equal(plan.target?.id, V1);
    assert.match(plan.warnings.join(), /keeps no author/);
  });
});
