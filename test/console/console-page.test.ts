// Issue 14, the console's page (console/, bundled into dist/console/) in headless Chromium against the
// console API of an in-process Node-RED (node-red-node-test-helper) whose store holds a journaled ADT
// message, a document to reconcile with its PDF, a produced document's journey: search by INS and by
// control id, a message laid out field by field with the HL7 names, Replay and what it answers, the
// worklist (the differing trait marked, the PDF in the page, attach with a confirmation), the dashboard
// refreshing on its own, and what a reader, a user without the permission and nobody see. Node-RED's
// adminAuth is played by test/support/console.ts (headers the browser sends with every request); the real
// one, with the layer pack and its nodes, in test/e2e/console.e2e.test.ts.
//
// SEGUR_SCREENSHOTS=1 writes docs/screenshots/console-*.png (the README shows them).
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import insStore = require('../../nodes/ins-store/ins-store');
import { readAdtPayload } from '../../lib/ins';
import type { IdentityStore, TaskInput } from '../../lib/store';
import { clearLive, onDecision, registerMonitor, registerReplay, reportLive, type DecisionEvent } from '../../nodes/shared/console-registry';
import { consoleModule } from '../support/console';
import { withMessages } from '../support/red-nodes';
import { adtMessage, MARIE_NIR, OID } from '../fixtures/adt';
import { documentInput, journalEntry } from '../fixtures/journal';
import { textPdf } from '../fixtures/pdf';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PAGE_DIR = path.resolve(__dirname, '..', '..', 'console');
const SHOTS = process.env.SEGUR_SCREENSHOTS === '1' ? path.resolve(__dirname, '..', '..', '..', 'docs', 'screenshots') : null;
const WRITER = { 'x-test-user': 'alice', 'x-test-scope': 'segur-dpi.read,segur-dpi.write' };
const READER = { 'x-test-user': 'rita', 'x-test-scope': 'segur-dpi.read' };
const MARIE_KEY = `${OID.IPP}|123456`;

const TASK: TaskInput = {
  reason: 'traits-mismatch',
  reasonText: 'the INS is that of a qualified identity but the birth date differs',
  traits: { birthName: 'MARTIN', firstNames: 'Marie Louise Anne', firstName: 'Marie', usedName: '', birthDate: '1985-05-13', sex: 'F', birthPlace: '69123', ins: { value: MARIE_NIR, oid: OID.NIR }, ids: ['LAB-778899'] },
  candidates: [{ key: MARIE_KEY, status: 'VALI', qualified: true, via: 'ins', mismatches: ['birthDate'] }],
};

describe('the console page in Chromium, against the console API (issue 14)', function () {
  this.timeout(120_000);
  let tmp: string;
  let store: IdentityStore;
  let browser: Browser;
  let adtRow: number;
  let mllpOutRow: number;
  const sentAgain: number[] = [];
  /** The helper's admin app (where the console lives) on a port of its own: helper.url() serves only httpNode. */
  let admin: http.Server;
  const base = () => `http://127.0.0.1:${(admin.address() as { port: number }).port}`;
  const decisions: DecisionEvent[] = [];
  const offs: (() => void)[] = [];

  const open = async (headers: Record<string, string> | null, hash = '', editorToken = false): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, ...(headers ? { extraHTTPHeaders: headers } : {}) });
    // the editor's token where red.js keeps it (the stand-in auth reads the headers, not the token)
    if (editorToken) await context.addInitScript(`localStorage.setItem('auth-tokens', '{"access_token": "editor-token"}')`);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/401|404/.test(m.text())) problems.push(m.text());
    });
    (page as unknown as { problems: string[] }).problems = problems;
    await page.goto(`${base()}/segur-dpi/${hash}`);
    return { context, page };
  };
  const shot = async (page: Page, name: string, fullPage = false) => {
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `console-${name}.png`), fullPage });
  };

  before(async function () {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium`);
    assert.ok(fs.existsSync(path.join(PAGE_DIR, 'index.html')), 'dist/console/ is built (npm run build)');
    if (SHOTS) fs.mkdirSync(SHOTS, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-console-page-'));
    await new Promise<void>((resolve) => helper.startServer(resolve));
    await helper.load([withMessages(['ins-store'], [insStore]), consoleModule(PAGE_DIR)], [{ id: 'store1', type: 'ins-store', name: 'registry', file: path.join(tmp, 'store.db') }]);
    store = helper.getNode('store1').getStore();
    admin = http.createServer((req, res) => (helper as { _httpAdmin: http.RequestListener })._httpAdmin(req, res));
    await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
    // Marie MARTIN qualified, from a journaled A28
    const text = adtMessage({ controlId: 'MSG0001', pid: { ipp: '123456', status: ['VALI'] } });
    const reading = readAdtPayload(text);
    const entry = journalEntry({ controlId: 'MSG0001', keys: { ipp: '123456', ippKey: MARIE_KEY, ins: MARIE_NIR }, message: Buffer.from(text, 'latin1'), answer: Buffer.from('MSH|^~\\&|DPI|CHU-X|GAM|CHU-X|20261123101501||ACK^A28^ACK|A1|P|2.5\rMSA|AA|MSG0001\r', 'latin1') });
    await store.applyAdt(reading, { sender: reading.sender, controlId: 'MSG0001', actor: 'test' }, { code: 'AA', text: '' }, { journal: entry });
    adtRow = entry.id as number;
    // a report whose birth date differs: archived, to reconcile, with its PDF
    const pdf = await textPdf({ lines: ['Compte rendu de biologie (test)', 'Patiente fictive : MARTIN Marie, née le 13/05/1985'] });
    await store.archiveDocument(documentInput('1.2.250.1.999.7.2^CR-1', { pdf, patient: { ipp: { id: 'LAB-778899', oid: '1.2.250.1.999.7.1' }, ins: { value: MARIE_NIR, oid: OID.NIR }, insQualified: true, birthName: 'MARTIN', firstNames: 'Marie Louise Anne', firstName: 'Marie', usedName: '', birthDate: '1985-05-13', sex: 'F' } as never }), {
      task: TASK,
      journal: journalEntry({ node: { id: 'cda1', type: 'cda-ingest', name: 'reports' }, type: 'ORU', event: 'R01', controlId: 'ORU-77', sender: 'LABO/LABO-ESSAIS', outcome: 'to-reconcile', ack: { code: 'AE', text: 'to reconcile' }, keys: { ins: MARIE_NIR, documentId: '1.2.250.1.999.7.2^CR-1' } }),
    });
    // a document produced, sent, acknowledged, received by the DMP
    await store.archiveDocument(documentInput('1.2.250.1.999.2^LDL-1', { origin: 'produced', title: 'Lettre de liaison' }), {
      journal: journalEntry({ node: { id: 'pdf1', type: 'pdf-to-cda-n1', name: 'PDF → CDA' }, direction: 'out', kind: 'document', type: 'CDA', event: null, controlId: null, ack: null, outcome: 'produced', keys: { ippKey: MARIE_KEY, documentId: '1.2.250.1.999.2^LDL-1' } }),
      journey: [
        { documentId: '1.2.250.1.999.2^LDL-1', step: 'sent', controlId: 'MDM-1', ok: true, detail: {} },
        { documentId: '1.2.250.1.999.2^LDL-1', step: 'ack', controlId: 'MDM-1', ok: true, detail: { code: 'AA' } },
      ],
    });
    mllpOutRow = await store.journal(journalEntry({ node: { id: 'out1', type: 'mllp-out', name: 'PFI' }, direction: 'out', type: 'MDM', event: 'T02', controlId: 'MDM-1', receiver: '127.0.0.1:6661', outcome: 'acknowledged', detail: { address: '127.0.0.1:6661' }, keys: { documentId: '1.2.250.1.999.2^LDL-1' } }));
    offs.push(
      registerReplay('out1', async (r) => {
        sentAgain.push(r.entry.id);
        const id = await store.journal(journalEntry({ node: { id: 'out1', type: 'mllp-out', name: 'PFI' }, direction: 'out', type: 'MDM', event: 'T02', controlId: 'MDM-1', outcome: 'acknowledged', replayOf: r.originalId, actor: r.actor }));
        return { journalId: id, outcome: 'acknowledged', changed: true, ack: { code: 'AA', text: '' }, text: 'sent again: acknowledged (AA)' };
      }),
      registerReplay('adt1', async (r) => {
        const id = await store.journal(journalEntry({ controlId: 'MSG0001', outcome: 'duplicate', replayOf: r.originalId, actor: r.actor, keys: { ipp: '123456', ippKey: MARIE_KEY, ins: MARIE_NIR } }));
        return { journalId: id, outcome: 'duplicate', changed: false, ack: { code: 'AA', text: 'already processed (GAM/CHU-X MSG0001): not applied again' }, text: 'already applied: nothing changed' };
      }),
      registerMonitor('mon1', () => ({ node: 'mon1', name: 'on call', alerts: [{ rule: 'ae-rate', state: 'raised', since: '2026-11-30T02:55:00Z', value: 0.5, threshold: 0.05, text: 'AE/AR: 50% of the answers' }, { rule: 'silence', state: 'ok', since: '2026-11-30T00:00:00Z', value: 1, threshold: 15, text: '' }] })),
      onDecision((e) => decisions.push(e)),
    );
    reportLive({ id: 'in1', type: 'mllp-in', name: 'GAM' }, { port: 2575, listening: true, connections: 2 });
    reportLive({ id: 'out1', type: 'mllp-out', name: 'PFI' }, { queue: 3, state: 'backoff', connections: 0, lastError: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:6661', at: new Date().toISOString() } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => admin?.close(resolve));
    offs.forEach((off) => off());
    clearLive('in1');
    clearLive('out1');
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('nobody logged in: the login, and no API route but "who am I" asked', async () => {
    const { context, page } = await open(null);
    const asked: string[] = [];
    page.on('request', (r) => asked.push(new URL(r.url()).pathname));
    await page.reload();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    assert.deepEqual(asked.filter((p) => p.includes('/segur-dpi/api/')), ['/segur-dpi/api/me']);
    await context.close();
  });

  it('a user without segur-dpi.read (the editor\'s token): "Not allowed", no patient data fetched', async () => {
    const { context, page } = await open({ 'x-test-user': 'ed', 'x-test-scope': 'flows.read' }, '', true);
    await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
    assert.match((await page.textContent('main')) ?? '', /segur-dpi\.read/);
    assert.equal(await page.locator('#nav').isVisible(), false);
    await context.close();
  });

  it('the journal: found by INS and by control id; the message field by field with the HL7 names, its ACK, what it changed; Replay says nothing changed', async () => {
    const { context, page } = await open(WRITER);
    await page.locator('#username', { hasText: 'alice' }).waitFor();
    await page.fill('#f-ins', MARIE_NIR);
    await page.click('button[type=submit]');
    await page.waitForURL(/#journal\?ins=/);
    await page.locator('table.journal caption', { hasText: 'matching ins=' }).waitFor();
    assert.deepEqual(await page.locator('table.journal tbody td:nth-child(6)').allTextContents(), ['ORU-77', 'MSG0001']);
    await shot(page, 'journal');

    await page.getByRole('button', { name: 'Clear' }).click();
    await page.waitForURL(/#journal$/);
    await page.fill('#f-controlId', 'MSG0001');
    await page.press('#f-controlId', 'Enter');
    await page.locator('table.journal caption', { hasText: 'controlId=MSG0001' }).waitFor();
    assert.equal(await page.locator('table.journal tbody tr').count(), 1);
    await page.click(`table.journal a[href="#message/${adtRow}"]`);

    await page.getByRole('heading', { name: /ADT\^A28 MSG0001/ }).waitFor();
    const pid = page.locator('table.segment', { has: page.locator('caption', { hasText: 'PID — Patient Identification' }) });
    const field = (position: string) => pid.locator('tr', { has: page.locator('th', { hasText: new RegExp(`^${position}$`) }) }).textContent();
    assert.match((await field('PID-5')) ?? '', /Patient Name.*MARTIN/);
    assert.match((await field('PID-3')) ?? '', /Patient Identifier List.*PID-3\[1\]\.1 123456/);
    const msa = page.locator('table.segment', { has: page.locator('caption', { hasText: 'MSA' }) });
    assert.match((await msa.textContent()) ?? '', /Acknowledgment Code\s*AA/);
    assert.match((await page.locator('section.changed').textContent()) ?? '', /Identity history entries written.*A28/);
    await pid.scrollIntoViewIfNeeded();
    await shot(page, 'message');

    await page.locator('section.replay').scrollIntoViewIfNeeded();
    await page.click('#replay');
    await page.locator('.replay-result', { hasText: 'already applied: nothing changed' }).waitFor();
    assert.match((await page.locator('.replay-result').textContent()) ?? '', /duplicate.*Changedno.*AA/);
    const replays = (await store.searchJournal({ replayOf: adtRow })).entries;
    assert.deepEqual(replays.map((e) => [e.actor, e.outcome]), [['console:alice', 'duplicate']]);
    await shot(page, 'replay');
    assert.deepEqual((page as unknown as { problems: string[] }).problems, []);
    await context.close();
  });

  it('Replay of an mllp-out row asks first (it goes to another system again); Cancel sends nothing', async () => {
    const { context, page } = await open(WRITER, `#message/${mllpOutRow}`);
    await page.locator('#replay').waitFor();
    assert.match((await page.locator('section.replay').textContent()) ?? '', /Sends this message again to 127\.0\.0\.1:6661/);
    await page.click('#replay');
    await page.getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual(sentAgain, [], 'nothing sent on Cancel');
    await page.click('#replay');
    await page.click('#replay-confirm');
    await page.locator('.replay-result', { hasText: 'sent again: acknowledged (AA)' }).waitFor();
    assert.deepEqual(sentAgain, [mllpOutRow]);
    await context.close();
  });

  it('the folded filters: "More filters" opens, an outcome narrows the search, and stays open for the next', async () => {
    const { context, page } = await open(WRITER);
    await page.locator('#username', { hasText: 'alice' }).waitFor();
    assert.equal(await page.locator('#f-outcome').isVisible(), false, 'folded');
    await page.click('details.more-filters summary');
    await page.selectOption('#f-outcome', 'to-reconcile');
    await page.click('form.search button[type=submit]');
    await page.locator('table.journal caption', { hasText: 'outcome=to-reconcile' }).waitFor();
    assert.deepEqual(await page.locator('table.journal tbody td:nth-child(6)').allTextContents(), ['ORU-77']);
    assert.equal(await page.locator('#f-outcome').isVisible(), true);
    await context.close();
  });

  it('the worklist: the differing birth date marked, the PDF in the page, attach after a confirmation — archived and emitted, once', async () => {
    const { context, page } = await open(WRITER, '#worklist');
    await page.locator('table.tasks tbody tr').first().waitFor();
    assert.match((await page.locator('table.tasks tbody').textContent()) ?? '', /traits-mismatch.*Compte rendu de biologie/);
    await page.click('table.tasks a[href="#task/1"]');
    await page.locator('table.compare').waitFor();
    const differs = page.locator('table.compare td.differs');
    assert.equal(await differs.count(), 1);
    assert.match((await differs.textContent()) ?? '', /differs: 1985-05-12/);
    assert.match((await page.locator('table.compare tr', { hasText: 'Birth date' }).textContent()) ?? '', /1985-05-13/);
    const frame = page.locator('iframe.pdf-frame');
    await frame.waitFor();
    assert.match((await frame.getAttribute('src')) ?? '', /^blob:/);
    if (SHOTS) await page.waitForTimeout(2000); // the PDF viewer draws the page after the frame loads
    await shot(page, 'worklist');

    await page.click(`button[data-attach="${MARIE_KEY}"]`);
    await page.click(`button[data-confirm="${MARIE_KEY}"]`);
    await page.locator('section.decision dd', { hasText: 'console:alice' }).waitFor();
    assert.equal((await store.task(1))?.status, 'attached');
    assert.equal((await store.getDocument('1.2.250.1.999.7.2^CR-1'))?.ippKey, MARIE_KEY);
    assert.deepEqual(decisions.map((d) => [d.task.id, d.task.status, d.actor]), [[1, 'attached', 'console:alice']]);
    const seen = (await store.task(1))?.seen as { candidates: { differences: { trait: string }[] }[] };
    assert.deepEqual(seen.candidates[0].differences.map((d) => d.trait), ['birthDate'], 'what the person saw is kept');
    assert.deepEqual((page as unknown as { problems: string[] }).problems, []);
    await context.close();
  });

  it('the dashboard: figures per node, MLLP now, the raised alert, the journey — and it changes on its own', async () => {
    const { context, page } = await open(WRITER, '#dashboard');
    await page.locator('#totals').waitFor();
    assert.match((await page.locator('#alerts').textContent()) ?? '', /ae-rate\s*RAISED/);
    assert.match((await page.locator('#live').textContent()) ?? '', /listening on port 2575\s*2/);
    assert.match((await page.locator('#live').textContent()) ?? '', /backoff.*3.*ECONNREFUSED/);
    assert.match((await page.locator('#journeys').textContent()) ?? '', /Lettre de liaison\s*✓.*✓.*✓.*—/);
    const before = Number(await page.locator('#tile-in .big').textContent());
    await shot(page, 'dashboard', true);
    await store.journal(journalEntry({ controlId: 'MSG0002' }));
    reportLive({ id: 'in1', type: 'mllp-in', name: 'GAM' }, { port: 2575, listening: true, connections: 5 });
    await page.locator('#tile-in .big', { hasText: String(before + 1) }).waitFor({ timeout: 20_000 });
    assert.match((await page.locator('#live').textContent()) ?? '', /listening on port 2575\s*5/);
    await context.close();
  });

  it('a reader: sees the message and the task, but Replay and the decision are not offered', async () => {
    const { context, page } = await open(READER, `#message/${adtRow}`);
    await page.locator('#username', { hasText: 'rita' }).waitFor();
    await page.locator('#replay').waitFor();
    assert.equal(await page.locator('#replay').isDisabled(), true);
    assert.match((await page.locator('section.replay').textContent()) ?? '', /needs the permission segur-dpi\.write/);
    await page.goto(`${base()}/segur-dpi/#task/1`);
    await page.locator('table.compare').waitFor();
    assert.equal(await page.locator('button[data-attach]').count(), 0);
    await context.close();
  });
});
