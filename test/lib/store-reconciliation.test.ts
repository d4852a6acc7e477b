// Issue 14, the reconciliation worklist: "each document on cda-ingest's output 2 becomes a task … The person
// attaches it to a local identity or rejects it with a reason; the decision is audited (who, when, what they
// saw), the document archive is updated … Nothing is ever attached automatically." A task is decided once.
import assert from 'node:assert/strict';
import { readAdtPayload } from '../../lib/ins';
import { TaskAlreadyDecided, TaskDecisionError, checkDecision, type IdentityStore, type TaskInput } from '../../lib/store';
import { adtMessage, MARIE_NIR, OID, type AdtSpec } from '../fixtures/adt';
import { documentInput, journalEntry } from '../fixtures/journal';
import { describeEachEngine } from '../support/store-engines';

const TASK: TaskInput = {
  reason: 'traits-mismatch',
  reasonText: 'the birth date differs',
  traits: { birthName: 'MARTIN', firstNames: 'Marie Louise Anne', firstName: 'Marie', usedName: '', birthDate: '1985-05-13', sex: 'F', birthPlace: '69123', ins: { value: MARIE_NIR, oid: OID.NIR } },
  candidates: [{ key: `${OID.IPP}|123456`, status: 'VALI', qualified: true, via: 'ins', mismatches: ['birthDate'] }],
};

describeEachEngine('lib/store reconciliation tasks (issue 14)', (db) => {
  let store: IdentityStore;
  let seq = 0;

  async function identity(spec: AdtSpec) {
    const controlId = `I${++seq}`;
    const reading = readAdtPayload(adtMessage({ ...spec, controlId }));
    return store.applyAdt(reading, { sender: 'GAM/CHU-X', controlId, actor: 'test' }, { code: 'AA', text: '' });
  }

  beforeEach(async () => {
    store = await db.open();
    await identity({ pid: { ipp: '123456', status: ['VALI'] } }); // qualified, Marie's INS
    await identity({ pid: { ipp: '654321', ins: null, status: ['PROV'] } }); // not qualified
    const entry = journalEntry({ type: 'ORU', event: 'R01', controlId: 'R1', outcome: 'to-reconcile', keys: { documentId: 'DOC1' } });
    await store.archiveDocument(documentInput('DOC1'), { task: TASK, journal: entry });
  });

  it('a task is created with the document, open, with the traits, the candidates and the reason', async () => {
    const page = await store.tasks();
    assert.equal(page.tasks.length, 1);
    const t = page.tasks[0];
    assert.equal(t.documentId, 'DOC1');
    assert.equal(t.status, 'open');
    assert.equal(t.reason, 'traits-mismatch');
    assert.deepEqual(t.traits, TASK.traits);
    assert.deepEqual(t.candidates, TASK.candidates);
    assert.ok(t.journalId);
    assert.equal((await store.getDocument('DOC1'))?.ippKey, null, 'nothing attached automatically');
  });

  it('attach: the archived document takes the local IPP and the INS of the qualified identity; audited with who, when, what they saw', async () => {
    const t = (await store.tasks()).tasks[0];
    const seen = { traits: TASK.traits, candidates: [{ key: `${OID.IPP}|123456`, differences: ['birthDate'] }] };
    const decided = await store.decideTask(t.id, { attach: `${OID.IPP}|123456` }, 'alice', seen);
    assert.equal(decided.status, 'attached');
    assert.deepEqual(decided.decision, { attach: `${OID.IPP}|123456` });
    assert.equal(decided.decidedBy, 'alice');
    assert.ok(decided.decidedAt);
    assert.deepEqual(decided.seen, seen);
    const doc = await store.getDocument('DOC1');
    assert.equal(doc?.ippKey, `${OID.IPP}|123456`);
    assert.equal(doc?.patient.ins?.value, MARIE_NIR);
    assert.equal(doc?.patient.insQualified, true);
    assert.equal(doc?.patient.birthDate, '1985-05-12', 'the local identity’s traits');
    assert.equal(await store.countDocuments({ ipps: ['123456'] }), 1, 'found under the patient now (portability)');
    const audit = (await store.audit(1))[0];
    assert.equal(audit.action, 'reconcile-attach');
    assert.equal(audit.actor, 'alice');
    assert.equal(audit.key, `${OID.IPP}|123456`);
    assert.deepEqual(audit.detail.seen, seen);
    assert.equal(audit.detail.document, 'DOC1');
    assert.deepEqual((await store.tasks()).tasks, [], 'no longer open');
    assert.equal((await store.tasks({ status: 'attached' })).tasks[0].id, t.id);
  });

  it('attach to an identity that is not qualified: the IPP only, never an INS', async () => {
    const t = (await store.tasks()).tasks[0];
    await store.decideTask(t.id, { attach: `${OID.IPP}|654321` }, 'bob');
    const doc = await store.getDocument('DOC1');
    assert.equal(doc?.ippKey, `${OID.IPP}|654321`);
    assert.equal(doc?.patient.ins, null);
    assert.equal(doc?.patient.insQualified, false);
  });

  it('deciding twice is refused: the first decision stands, and the error says which', async () => {
    const t = (await store.tasks()).tasks[0];
    await store.decideTask(t.id, { reject: 'not our patient' }, 'alice', {});
    const err = await store.decideTask(t.id, { attach: `${OID.IPP}|123456` }, 'bob').then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof TaskAlreadyDecided);
    assert.equal(err.task.status, 'rejected');
    assert.equal(err.task.decidedBy, 'alice');
    assert.match(err.message, /already decided \(rejected by alice/);
    assert.equal((await store.getDocument('DOC1'))?.ippKey, null, 'the second decision changed nothing');
    assert.deepEqual((await store.audit(5)).filter((a) => a.action.startsWith('reconcile')).map((a) => [a.action, a.actor]), [['reconcile-reject', 'alice']]);
  });

  it('reject keeps the document as received, unattached; the reason is in the task and the audit', async () => {
    const t = (await store.tasks()).tasks[0];
    const decided = await store.decideTask(t.id, { reject: 'homonym: another patient' }, 'alice', { shown: true });
    assert.deepEqual(decided.decision, { reject: 'homonym: another patient' });
    assert.equal((await store.getDocument('DOC1'))?.ippKey, null);
    const audit = (await store.audit(1))[0];
    assert.equal(audit.action, 'reconcile-reject');
    assert.deepEqual(audit.detail.decision, { reject: 'homonym: another patient' });
  });

  it('refuses an unknown task, an unknown identity, a decision that is neither attach nor reject', async () => {
    const t = (await store.tasks()).tasks[0];
    await assert.rejects(store.decideTask(999, { reject: 'x' }, 'alice'), (e: unknown) => e instanceof TaskDecisionError && e.code === 'NO_TASK');
    await assert.rejects(store.decideTask(t.id, { attach: `${OID.IPP}|000000` }, 'alice'), (e: unknown) => e instanceof TaskDecisionError && e.code === 'UNKNOWN_IDENTITY');
    assert.equal((await store.task(t.id))?.status, 'open');
    assert.throws(() => checkDecision({ attach: 'x', reject: 'y' }), TaskDecisionError);
    assert.throws(() => checkDecision({ reject: '' }), TaskDecisionError);
    assert.throws(() => checkDecision({ attach: 'no-authority' }), TaskDecisionError);
    assert.deepEqual(checkDecision({ attach: ` ${OID.IPP}|123456 ` }), { attach: `${OID.IPP}|123456` });
  });

  it('an attach to a merged-away IPP goes to the surviving identity, and says which was asked', async () => {
    await identity({ event: 'A40', pid: { ipp: '123456', status: ['VALI'] }, mrg: { ipp: '777777' } });
    const t = (await store.tasks()).tasks[0];
    const decided = await store.decideTask(t.id, { attach: `${OID.IPP}|777777` }, 'alice');
    assert.deepEqual(decided.decision, { attach: `${OID.IPP}|123456`, asked: `${OID.IPP}|777777` });
    assert.equal((await store.getDocument('DOC1'))?.ippKey, `${OID.IPP}|123456`);
  });
});
