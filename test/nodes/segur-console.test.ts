// Issue 14, the console's HTTP API (docs/console-api.md) against an ins-store node: who am I, the journal
// searched by its keys, one message laid out with the HL7 field names, its bytes, replay, the worklist
// (a task with its candidates and differences, the PDF, a decision taken once and emitted), the dashboard,
// a document's journey — and the refusals of every route. Node-RED's adminAuth is played by
// test/support/console.ts; the real one in test/e2e/console-api.e2e.test.ts.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import insStore = require('../../nodes/ins-store/ins-store');
import { readAdtPayload } from '../../lib/ins';
import type { IdentityStore, TaskInput } from '../../lib/store';
import { onDecision, registerMonitor, registerReplay, reportLive, clearLive, type DecisionEvent } from '../../nodes/shared/console-registry';
import { consoleModule } from '../support/console';
import { adtMessage, MARIE_NIR, OID } from '../fixtures/adt';
import { documentInput, journalEntry } from '../fixtures/journal';
import { withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

const API = '/segur-dpi/api';
const READER = { 'x-test-user': 'rita', 'x-test-scope': 'segur-dpi.read' };
const WRITER = { 'x-test-user': 'alice', 'x-test-scope': 'segur-dpi.read,segur-dpi.write' };

/** Every route of the contract, with a path that exists once the fixture is loaded. */
const ROUTES: [method: 'get' | 'post', path: string][] = [
  ['get', '/me'],
  ['get', '/journal'],
  ['get', '/journal/1'],
  ['get', '/journal/1/raw'],
  ['post', '/journal/1/replay'],
  ['get', '/tasks'],
  ['get', '/tasks/1'],
  ['get', '/tasks/1/candidate?ipp=123456'],
  ['get', '/tasks/1/pdf'],
  ['post', '/tasks/1/decision'],
  ['get', '/dashboard'],
  ['get', `/documents/${encodeURIComponent('1.2.3^DOC1')}/journey`],
];

const TASK: TaskInput = {
  reason: 'traits-mismatch',
  reasonText: 'the INS is that of a qualified identity but the birth date differs',
  traits: { birthName: 'MARTIN', firstNames: 'Marie Louise Anne', firstName: 'Marie', usedName: '', birthDate: '1985-05-13', sex: 'F', birthPlace: '69123', ins: { value: MARIE_NIR, oid: OID.NIR } },
  candidates: [{ key: `${OID.IPP}|123456`, status: 'VALI', qualified: true, via: 'ins', mismatches: ['birthDate'] }],
};

describe('segur-console HTTP API (issue 14)', function () {
  this.timeout(20_000);
  let tmp: string;
  let pageDir: string;
  let store: IdentityStore;
  let adtRow: number;

  const req = (method: 'get' | 'post', p: string, headers: Record<string, string> = READER) => {
    const r = helper.request()[method](p);
    for (const [k, v] of Object.entries(headers)) r.set(k, v);
    return r;
  };

  before(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'segur-console-')));
    pageDir = path.join(tmp, 'console');
    fs.mkdirSync(pageDir);
    fs.writeFileSync(path.join(pageDir, 'index.html'), '<!doctype html><title>Ségur DPI</title>');
    fs.writeFileSync(path.join(pageDir, 'console.js'), 'console.log(1)');
    fs.writeFileSync(path.join(tmp, 'secret.html'), 'outside');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  beforeEach(async () => {
    await new Promise<void>((resolve) => helper.startServer(resolve));
    const flow = [{ id: 'store1', type: 'ins-store', name: 'registry', file: path.join(tmp, `s-${Date.now()}.db`) }];
    await helper.load([withMessages(['ins-store'], [insStore]), consoleModule(pageDir)], flow);
    store = helper.getNode('store1').getStore();
    // an ADT message applied with its row, a document to reconcile with its task, its journey
    const text = adtMessage({ controlId: 'MSG0001' });
    const reading = readAdtPayload(text);
    const entry = journalEntry({ controlId: 'MSG0001', message: Buffer.from(text, 'latin1'), answer: Buffer.from('MSH|^~\\&|DPI|CHU-X|GAM|CHU-X|20261123101501||ACK^A28^ACK|A1|P|2.5\rMSA|AA|MSG0001\r', 'latin1') });
    await store.applyAdt(reading, { sender: reading.sender, controlId: 'MSG0001', actor: 'test' }, { code: 'AA', text: '' }, { journal: entry });
    adtRow = entry.id as number;
    await store.archiveDocument(documentInput('1.2.3^DOC1'), {
      task: TASK,
      journal: journalEntry({ node: { id: 'cda1', type: 'cda-ingest' }, type: 'ORU', event: 'R01', controlId: 'ORU1', outcome: 'to-reconcile', ack: { code: 'AE' }, keys: { ins: MARIE_NIR, documentId: '1.2.3^DOC1' } }),
      journey: [{ documentId: '1.2.3^DOC1', step: 'sent', controlId: 'ORU1', ok: true, detail: {} }],
    });
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  describe('refusals', () => {
    it('every route refuses a request without a login (401), the anonymous default user even with every permission (401 login-required), a runtime without adminAuth (403)', async () => {
      for (const [method, p] of ROUTES) {
        assert.equal((await req(method, API + p, {})).status, 401, `${method} ${p} without a token`);
        const anon = await req(method, API + p, { 'x-test-user': 'anonymous', 'x-test-scope': '*' });
        assert.deepEqual([anon.status, anon.body.error], [401, 'login-required'], `${method} ${p} anonymous`);
        const open = await req(method, API + p, { 'x-test-user': 'no-admin-auth' });
        assert.deepEqual([open.status, open.body.error], [403, 'no-admin-auth'], `${method} ${p} without adminAuth`);
      }
    });

    it('reading needs segur-dpi.read, replaying and deciding segur-dpi.write', async () => {
      const none = { 'x-test-user': 'ed', 'x-test-scope': 'flows.read' };
      for (const [method, p] of ROUTES) assert.equal((await req(method, API + p, none)).status, 401, `${method} ${p} without the permission`);
      assert.equal((await req('post', `${API}/journal/${adtRow}/replay`, READER)).status, 401);
      assert.equal((await req('post', `${API}/tasks/1/decision`, READER).send({ reject: 'x' })).status, 401);
      assert.equal((await store.task(1))?.status, 'open', 'nothing decided');
      // Node-RED's "read" grants every .read permission
      assert.equal((await req('get', `${API}/journal`, { 'x-test-user': 'ro', 'x-test-scope': 'read' })).status, 200);
    });
  });

  it('GET /me: the user, what they may do, the stores', async () => {
    const me = await req('get', `${API}/me`);
    assert.equal(me.status, 200);
    assert.deepEqual(me.body, {
      user: { username: 'rita' },
      permissions: { read: true, write: false },
      stores: [{ id: 'store1', name: 'registry', engine: 'sqlite', default: true, retention: { rawDays: 30, rowDays: 365 } }],
    });
    assert.deepEqual((await req('get', `${API}/me`, { 'x-test-user': 'boss', 'x-test-scope': '*' })).body.permissions, { read: true, write: true });
    assert.equal((await req('get', `${API}/me?store=nope`)).body.error, undefined, '/me lists the stores whatever the store asked');
    const other = await req('get', `${API}/journal?store=nope`);
    assert.deepEqual([other.status, other.body.error], [404, 'no-store']);
  });

  describe('the journal', () => {
    it('searches by INS, by control id, by outcome; newest first with a cursor; refuses a bad query', async () => {
      const byIns = await req('get', `${API}/journal?ins=${MARIE_NIR}`);
      assert.deepEqual(byIns.body.entries.map((e: { controlId: string }) => e.controlId), ['ORU1', 'MSG0001']);
      const byControl = await req('get', `${API}/journal?controlId=MSG0001`);
      assert.equal(byControl.body.entries.length, 1);
      assert.equal(byControl.body.entries[0].outcome, 'applied');
      assert.equal(byControl.body.entries[0].keys.ins, MARIE_NIR);
      const page = await req('get', `${API}/journal?limit=1`);
      assert.deepEqual([page.body.entries[0].controlId, typeof page.body.next], ['ORU1', 'number']);
      const next = await req('get', `${API}/journal?limit=1&before=${page.body.next}`);
      assert.deepEqual([next.body.entries[0].controlId, next.body.next], ['MSG0001', null]);
      assert.equal((await req('get', `${API}/journal?outcome=to-reconcile`)).body.entries.length, 1);
      for (const q of ['from=yesterday', 'limit=0', 'outcome=lost', 'direction=up', 'before=x']) {
        const bad = await req('get', `${API}/journal?${q}`);
        assert.deepEqual([bad.status, bad.body.error], [400, 'bad-request'], q);
        assert.ok(bad.body.field, q);
      }
    });

    it('GET /journal/:id: the message and its ACK laid out with the HL7 field names, what it changed', async () => {
      const r = await req('get', `${API}/journal/${adtRow}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.entry.id, adtRow);
      const pid = r.body.message.segments.find((s: { segment: string }) => s.segment === 'PID');
      assert.equal(pid.name, 'Patient Identification');
      const names = Object.fromEntries(pid.fields.map((f: { position: string; name: string }) => [f.position, f.name]));
      assert.equal(names['PID-5'], 'Patient Name');
      assert.equal(names['PID-32'], 'Identity Reliability Code');
      const pid3 = pid.fields.find((f: { position: string }) => f.position === 'PID-3');
      assert.ok(pid3.repetitions.length >= 2, 'each repetition with its components');
      const msh = r.body.message.segments[0];
      assert.equal(msh.fields.find((f: { position: string }) => f.position === 'MSH-10').value, 'MSG0001');
      const msa = r.body.answer.segments.find((s: { segment: string }) => s.segment === 'MSA');
      assert.deepEqual(msa.fields.map((f: { name: string; value: string }) => [f.name, f.value]), [
        ['Acknowledgment Code', 'AA'],
        ['Message Control ID', 'MSG0001'],
      ]);
      assert.deepEqual(r.body.changed.history.map((h: { controlId: string; applied: boolean }) => [h.controlId, h.applied]), [['MSG0001', true]]);
      assert.equal(r.body.replayable, false);
      assert.equal(r.body.notReplayable, 'node-gone', 'no node handles it in this flow');
      const doc = await req('get', `${API}/journal/${adtRow + 1}`);
      assert.equal(doc.body.changed.document.id, '1.2.3^DOC1');
      assert.equal(doc.body.changed.task.status, 'open');
      assert.deepEqual(doc.body.changed.journey.map((j: { step: string }) => j.step), ['sent']);
      assert.equal((await req('get', `${API}/journal/999`)).status, 404);
      assert.equal((await req('get', `${API}/journal/abc`)).status, 404);
    });

    it('GET /journal/:id/raw: the bytes as received; 410 once pruned', async () => {
      const raw = await req('get', `${API}/journal/${adtRow}/raw`).buffer(true).parse((res: any, cb: any) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
      assert.equal(raw.status, 200);
      assert.equal(raw.headers['content-type'], 'application/octet-stream');
      assert.match(raw.headers['content-disposition'], new RegExp(`journal-${adtRow}-message\\.hl7`));
      assert.match(raw.body.toString('latin1'), /^MSH\|\^~\\&\|GAM/);
      await store.prune({ now: Date.now() + 40 * 86_400_000, rowDays: 3650 });
      const gone = await req('get', `${API}/journal/${adtRow}/raw`);
      assert.deepEqual([gone.status, gone.body.error], [410, 'bytes-pruned']);
      assert.deepEqual([(await req('post', `${API}/journal/${adtRow}/replay`, WRITER)).body.error], ['bytes-pruned']);
    });

    it('POST /journal/:id/replay: through the node’s handler, with who asked; 409 when no node replays it', async () => {
      const none = await req('post', `${API}/journal/${adtRow}/replay`, WRITER);
      assert.deepEqual([none.status, none.body.error], [409, 'not-replayable']);
      const asked: unknown[] = [];
      const unregister = registerReplay('adt1', async (r) => {
        asked.push({ id: r.entry.id, originalId: r.originalId, actor: r.actor, bytes: r.message.length });
        const id = await store.journal(journalEntry({ controlId: 'MSG0001', outcome: 'duplicate', replayOf: r.originalId, actor: r.actor }));
        return { journalId: id, outcome: 'duplicate', changed: false, ack: { code: 'AA', text: 'already processed' }, text: 'already applied: nothing changed' };
      });
      try {
        const r = await req('post', `${API}/journal/${adtRow}/replay`, WRITER);
        assert.equal(r.status, 200);
        assert.deepEqual(asked, [{ id: adtRow, originalId: adtRow, actor: 'console:alice', bytes: (await store.journalContent(adtRow))?.message?.length }]);
        assert.deepEqual([r.body.outcome, r.body.changed, r.body.text], ['duplicate', false, 'already applied: nothing changed']);
        assert.equal(r.body.replay.replayOf, adtRow);
        assert.equal(r.body.replay.actor, 'console:alice');
        const detail = await req('get', `${API}/journal/${adtRow}`);
        assert.deepEqual(detail.body.replays.map((e: { id: number }) => e.id), [r.body.replay.id]);
        assert.equal(detail.body.replayable, true);
        const again = await req('get', `${API}/journal/${r.body.replay.id}`);
        assert.equal(again.body.original.id, adtRow);
      } finally {
        unregister();
      }
    });
  });

  describe('the worklist', () => {
    beforeEach(async () => {
      const qualified = readAdtPayload(adtMessage({ controlId: 'Q1', pid: { ipp: '123456', status: ['VALI'] } }));
      await store.applyAdt(qualified, { sender: qualified.sender, controlId: 'Q1', actor: 'test' }, { code: 'AA', text: '' });
    });

    it('lists the open tasks with their document; one task shows each candidate’s traits and the differences', async () => {
      const list = await req('get', `${API}/tasks`);
      assert.equal(list.body.tasks.length, 1);
      assert.equal(list.body.tasks[0].document.title, 'Compte rendu de biologie');
      assert.equal(list.body.next, null);
      const one = await req('get', `${API}/tasks/1`);
      assert.equal(one.body.task.reason, 'traits-mismatch');
      assert.deepEqual(one.body.task.traits, TASK.traits);
      assert.equal(one.body.candidates.length, 1);
      const c = one.body.candidates[0];
      assert.equal(c.identity.ins, MARIE_NIR, 'the INS of a qualified identity');
      assert.deepEqual(c.differences, [{ trait: 'birthDate', document: '1985-05-13', local: '1985-05-12' }]);
      const found = await req('get', `${API}/tasks/1/candidate?ipp=123456`);
      assert.deepEqual([found.body.key, found.body.via], [`${OID.IPP}|123456`, 'search']);
      assert.equal((await req('get', `${API}/tasks/1/candidate?ipp=000000`)).status, 404);
      assert.equal((await req('get', `${API}/tasks/1/candidate`)).status, 400);
      assert.equal((await req('get', `${API}/tasks/7`)).status, 404);
    });

    it('GET /tasks/:id/pdf: the document’s PDF, application/pdf', async () => {
      const pdf = await req('get', `${API}/tasks/1/pdf`);
      assert.equal(pdf.status, 200);
      assert.equal(pdf.headers['content-type'], 'application/pdf');
      assert.match(pdf.headers['content-disposition'], /^inline/);
      assert.equal(Buffer.from(pdf.body).toString(), '%PDF-1.4 test');
    });

    it('a decision is taken once: attached, audited, emitted to reconcile-out; a second one is refused with the first', async () => {
      const events: DecisionEvent[] = [];
      const off = onDecision((e) => events.push(e));
      try {
        const seen = { candidates: [{ key: `${OID.IPP}|123456`, differences: ['birthDate'] }] };
        const r = await req('post', `${API}/tasks/1/decision`, WRITER).send({ attach: `${OID.IPP}|123456`, seen });
        assert.equal(r.status, 200);
        assert.deepEqual([r.body.task.status, r.body.task.decidedBy, r.body.task.decision], ['attached', 'console:alice', { attach: `${OID.IPP}|123456` }]);
        assert.deepEqual(r.body.task.seen, seen);
        assert.equal((await store.getDocument('1.2.3^DOC1'))?.ippKey, `${OID.IPP}|123456`);
        assert.deepEqual(events.map((e) => [e.store, e.task.id, e.actor]), [['store1', 1, 'console:alice']]);
        const audit = (await store.audit(1))[0];
        assert.deepEqual([audit.action, audit.actor], ['reconcile-attach', 'console:alice']);
        const twice = await req('post', `${API}/tasks/1/decision`, WRITER).send({ reject: 'changed my mind' });
        assert.deepEqual([twice.status, twice.body.error, twice.body.task.status], [409, 'already-decided', 'attached']);
        assert.equal(events.length, 1, 'nothing emitted for a refused decision');
      } finally {
        off();
      }
    });

    it('refuses a decision that is not one (400), an unknown identity (422), an unknown task (404)', async () => {
      for (const body of [{}, { attach: 'x', reject: 'y' }, { reject: '' }, { attach: 42 }]) {
        const r = await req('post', `${API}/tasks/1/decision`, WRITER).send(body);
        assert.deepEqual([r.status, r.body.error], [400, 'bad-request'], JSON.stringify(body));
      }
      const big = await req('post', `${API}/tasks/1/decision`, WRITER).send({ reject: 'x', seen: 'y'.repeat(70_000) });
      assert.deepEqual([big.status, big.body.field], [400, 'seen']);
      const unknown = await req('post', `${API}/tasks/1/decision`, WRITER).send({ attach: `${OID.IPP}|000000` });
      assert.deepEqual([unknown.status, unknown.body.error], [422, 'unknown-identity']);
      assert.equal((await req('post', `${API}/tasks/9/decision`, WRITER).send({ reject: 'x' })).status, 404);
      assert.equal((await store.task(1))?.status, 'open');
    });
  });

  it('GET /dashboard: figures per node and hour with node names, live values, alerts, the journal size, open tasks', async () => {
    reportLive({ id: 'in1', type: 'mllp-in', name: 'GAM' }, { port: 2575, listening: true, connections: 2 });
    const off = registerMonitor('mon1', () => ({ node: 'mon1', name: 'on call', alerts: [{ rule: 'silence', state: 'ok', since: '2026-01-01T00:00:00Z', value: 1, threshold: 15, text: '' }] }));
    try {
      const d = await req('get', `${API}/dashboard`);
      assert.equal(d.status, 200);
      const adt = d.body.figures.find((f: { node: string }) => f.node === 'adt1');
      assert.deepEqual([adt.messagesIn, adt.AA], [1, 1]);
      const cda = d.body.figures.find((f: { node: string }) => f.node === 'cda1');
      assert.deepEqual([cda.toReconcile, cda.AE, cda.nodeName], [1, 1, '']);
      assert.deepEqual(d.body.live.find((l: { node: string }) => l.node === 'in1').values, { port: 2575, listening: true, connections: 2 });
      assert.equal(d.body.alerts[0].alerts[0].rule, 'silence');
      assert.equal(d.body.journal.rows, 2);
      assert.deepEqual(d.body.tasks, { open: 1 });
      const past = await req('get', `${API}/dashboard?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`);
      assert.deepEqual(past.body.figures, []);
    } finally {
      off();
      clearLive('in1');
    }
  });

  it('GET /documents/:id/journey: the document, its steps, its task', async () => {
    const j = await req('get', `${API}/documents/${encodeURIComponent('1.2.3^DOC1')}/journey`);
    assert.equal(j.status, 200);
    assert.equal(j.body.document.id, '1.2.3^DOC1');
    assert.deepEqual(j.body.journey.map((s: { step: string }) => s.step), ['sent']);
    assert.equal(j.body.task.id, 1);
    assert.equal((await req('get', `${API}/documents/nope/journey`)).status, 404);
  });

  it('the page: served without a login, with its CSP; nothing outside its folder, never the API', async () => {
    const page = await helper.request().get('/segur-dpi/');
    assert.equal(page.status, 200);
    assert.match(page.text, /Ségur DPI/);
    assert.match(page.headers['content-security-policy'], /default-src 'self'/);
    assert.match(page.headers['content-security-policy'], /frame-ancestors 'self'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const bare = await helper.request().get('/segur-dpi');
    assert.deepEqual([bare.status, bare.headers.location], [301, 'segur-dpi/'], 'to the page, where its relative links resolve');
    const js = await helper.request().get('/segur-dpi/console.js');
    assert.match(js.headers['content-type'], /^text\/javascript/);
    for (const p of ['/segur-dpi/..%2Fsecret.html', '/segur-dpi/%2e%2e/secret.html', '/segur-dpi/x.exe', '/segur-dpi/missing.js']) {
      assert.equal((await helper.request().get(p)).status, 404, p);
    }
    assert.equal((await helper.request().get('/segur-dpi/api/me')).status, 401, 'the API keeps its login');
  });
});
