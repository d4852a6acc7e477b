// reconcile-out (issue 14): each decision of the reconciliation worklist — taken and audited by the store
// first — emitted with the archived document, so the flow can forward it to the DPI; nothing attached
// automatically. And segur-monitor: thresholds crossed raise a Catch-able error, a status change and a msg,
// shown on the dashboard (the console registry), then cleared.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import insStore = require('../../nodes/ins-store/ins-store');
import reconcileOut = require('../../nodes/reconcile-out/reconcile-out');
import segurMonitor = require('../../nodes/segur-monitor/segur-monitor');
import { readAdtPayload } from '../../lib/ins';
import type { IdentityStore, TaskInput } from '../../lib/store';
import { emitDecision, monitorReports, reportLive, clearLive } from '../../nodes/shared/console-registry';
import { evaluate, nextStates, DEFAULT_THRESHOLDS } from '../../nodes/segur-monitor/rules';
import { adtMessage, MARIE_NIR, OID } from '../fixtures/adt';
import { documentInput, journalEntry } from '../fixtures/journal';
import { until, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['ins-store', 'reconcile-out', 'segur-monitor'], [insStore, reconcileOut, segurMonitor]);
const TASK: TaskInput = {
  reason: 'traits-mismatch',
  reasonText: 'the birth date differs',
  traits: { birthName: 'MARTIN', firstNames: 'Marie', firstName: 'Marie', usedName: '', birthDate: '1985-05-13', sex: 'F', ins: { value: MARIE_NIR, oid: OID.NIR } },
  candidates: [{ key: `${OID.IPP}|123456`, status: 'VALI', qualified: true, via: 'ins', mismatches: ['birthDate'] }],
};

describe('reconcile-out and segur-monitor nodes (issue 14)', function () {
  this.timeout(20_000);
  let tmp: string;
  const got: Record<string, Msg[]> = {};

  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reconcile-out-'));
    await new Promise<void>((resolve) => helper.startServer(resolve));
    await helper.load(NODES, [
      { id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file: path.join(tmp, 'store.db') },
      { id: 'ro', type: 'reconcile-out', store: 'st', wires: [['dpi']] },
      { id: 'mon', type: 'segur-monitor', name: 'on call', store: 'st', aeRate: 50, minAnswers: 2, windowMinutes: 60, queueDepth: 3, silenceMinutes: 0, wires: [['alerts']] },
      { id: 'dpi', type: 'helper' },
      { id: 'alerts', type: 'helper' },
      { id: 'c', type: 'catch', scope: ['mon'], uncaught: false, wires: [['err']] },
      { id: 'err', type: 'helper' },
    ]);
    for (const id of ['dpi', 'alerts', 'err']) {
      got[id] = [];
      helper.getNode(id).on('input', (m: Msg) => got[id].push(m));
    }
  });
  afterEach(async () => {
    clearLive('q1');
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const store = (): IdentityStore => helper.getNode('st').getStore() as IdentityStore;

  it('a document attached in the worklist: emitted with the CDA, the archive record (the local IPP) and who decided; nothing before the decision', async () => {
    const reading = readAdtPayload(adtMessage({ controlId: 'I1', pid: { ipp: '123456', status: ['VALI'] } }));
    await store().applyAdt(reading, { sender: 'GAM/CHU-X', controlId: 'I1', actor: 'test' }, { code: 'AA', text: '' });
    await store().archiveDocument(documentInput('DOC1'), { task: TASK, journal: journalEntry({ outcome: 'to-reconcile', keys: { documentId: 'DOC1' } }) });
    assert.equal(got.dpi.length, 0, 'nothing attached nor emitted automatically');
    const [t] = (await store().tasks()).tasks;
    const task = await store().decideTask(t.id, { attach: `${OID.IPP}|123456` }, 'console:alice', {});
    emitDecision({ store: 'st', task, actor: 'console:alice' });
    await until(() => got.dpi.length === 1, 'the decision');
    const m = got.dpi[0];
    assert.equal(m.topic, 'reconciliation/attached');
    assert.equal(m.summary, `reconciliation · task ${t.id} · attached · IPP 123456 · by console:alice`);
    assert.deepEqual({ ...m.reconciliation, at: undefined }, { taskId: t.id, documentId: 'DOC1', status: 'attached', ipp: `${OID.IPP}|123456`, reason: null, taskReason: 'traits-mismatch', by: 'console:alice', at: undefined });
    assert.equal(m.document.ippKey, `${OID.IPP}|123456`);
    assert.equal(typeof m.payload, 'string');
    assert.ok(m.reconciliation.at);
  });

  it('a rejection is emitted with its reason; a decision about another store is not', async () => {
    await store().archiveDocument(documentInput('DOC2'), { task: TASK });
    const [t] = (await store().tasks()).tasks;
    const task = await store().decideTask(t.id, { reject: 'another patient' }, 'console:bob', {});
    emitDecision({ store: 'elsewhere', task, actor: 'console:bob' });
    emitDecision({ store: 'st', task, actor: 'console:bob' });
    await until(() => got.dpi.length === 1, 'the decision');
    assert.deepEqual([got.dpi[0].reconciliation.status, got.dpi[0].reconciliation.reason, got.dpi[0].document.ippKey], ['rejected', 'another patient', null]);
  });

  it('segur-monitor: an AE/AR rate over its threshold raises a Catch-able error, a red status and a msg, shown on the dashboard; raised once', async () => {
    for (const code of ['AE', 'AR', 'AA']) await store().journal(journalEntry({ controlId: `M-${code}`, ack: { code }, outcome: code === 'AA' ? 'applied' : 'rejected' }));
    helper.getNode('mon').receive({});
    await until(() => got.alerts.length === 1 && got.err.length === 1, 'the alert');
    assert.equal(got.alerts[0].topic, 'alert/raised');
    assert.equal(got.alerts[0].alert.rule, 'ae-rate');
    assert.match(got.alerts[0].summary, /^ALERT raised · ae-rate · /);
    assert.equal(got.err[0].error.code, 'ALERT_AE_RATE');
    const report = monitorReports().find((r) => r.node === 'mon');
    assert.deepEqual(report?.alerts.map((a) => [a.rule, a.state]), [['ae-rate', 'raised'], ['queue-depth', 'ok']]);
    helper.getNode('mon').receive({});
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got.alerts.length, 1, 'not raised again while it stays raised');
  });

  it('segur-monitor: an mllp-out queue at its threshold raises, back under it clears', async () => {
    reportLive({ id: 'q1', type: 'mllp-out', name: 'PFI' }, { queue: 3 });
    helper.getNode('mon').receive({});
    await until(() => got.alerts.length === 1, 'raised');
    assert.deepEqual([got.alerts[0].alert.rule, got.alerts[0].alert.state], ['queue-depth', 'raised']);
    assert.match(got.alerts[0].payload, /PFI/);
    reportLive({ id: 'q1', type: 'mllp-out', name: 'PFI' }, { queue: 0 });
    helper.getNode('mon').receive({});
    await until(() => got.alerts.length === 2, 'cleared');
    assert.equal(got.alerts[1].topic, 'alert/cleared');
  });

  it('segur-monitor rules: no AE/AR alert under the minimum of answers; silence counted from the last message received', () => {
    const t = { ...DEFAULT_THRESHOLDS, silenceMinutes: 10 };
    const fig = { hour: '', node: 'n', nodeType: 'adt-to-ins', messagesIn: 1, messagesOut: 0, AA: 0, AE: 1, AR: 0, produced: 0, received: 0, preselected: 0, toReconcile: 0 };
    const now = Date.parse('2026-11-30T10:00:00Z');
    const r = evaluate(t, { figures: [fig], queues: [], lastReceived: now - 11 * 60_000, since: now - 3_600_000, now });
    assert.deepEqual(r.map((x) => [x.rule, x.over]), [['ae-rate', false], ['queue-depth', false], ['silence', true]]);
    const first = nextStates(new Map(), '2026-11-30T10:00:00Z', r);
    assert.deepEqual(first.changed.map((s) => s.rule), ['silence']);
    assert.equal(nextStates(first.states, '2026-11-30T10:01:00Z', r).changed.length, 0);
  });
});
