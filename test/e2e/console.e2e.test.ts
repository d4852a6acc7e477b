// Issue 14, the operations console end to end: the layer pack (flows/segur-dpi-layer.json) in the real
// Node-RED of `npm start` with adminAuth users of their own — "operator" (the editor read-only, the console
// read and write: ['read', 'segur-dpi.write']), "reader" (['segur-dpi.read'], no editor), "viewer"
// (['flows.read'], no console) — and headless Chromium (Debian's chromium through playwright-core):
// - every API route refuses an anonymous request (401), a reader cannot replay nor decide;
// - the operator logs in through the editor's own login, finds the console in the editor's sidebar tab,
//   opens /segur-dpi/ from the tab's link, finds an ADT message by INS and by control id, opens it field by field, replays it:
//   the answer says nothing changed and the journal shows one replay, the identity one history entry;
// - a report cda-ingest cannot preselect (its birth date differs: output 2) is a task of the worklist,
//   attached from the page: the archive holds it under the local IPP, the task says who decided, and the
//   pack's reconcile-out emits the decision ("to the DPI");
// - the dashboard's count of messages received grows, on its own, while ADT messages flow;
// - the reader logs in through the console's own form: the journal, no Replay; the viewer: "Not allowed".
//
// SEGUR_SCREENSHOTS=1 also writes docs/screenshots/console-sidebar.png (the editor with its tab).
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseAck } from '../../lib/hl7';
import { MllpClient } from '../../lib/mllp';
import { adtMessage, MARIE_NIR, OID } from '../fixtures/adt';
import { LOCAL, oruOf, PATIENTS, receivedDocument } from '../fixtures/cda-received';
import { textPdf } from '../fixtures/pdf';
import { DebugPane } from './comms';
import { NodeRed, PROJECT_ROOT, getFreePort } from './harness';
import { freeLayerPorts, layerEnv, layerPack, type LayerPorts } from './layer-pack';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SHOTS = process.env.SEGUR_SCREENSHOTS === '1' ? path.join(PROJECT_ROOT, 'docs', 'screenshots') : null;
const API = '/segur-dpi/api';
const MARIE_KEY = `${OID.IPP}|123456`;
const pass = () => randomBytes(12).toString('base64url');
const OPERATOR = { username: 'operator', password: pass(), permissions: ['read', 'segur-dpi.write'] };
const READER = { username: 'reader', password: pass(), permissions: ['segur-dpi.read'] };
const VIEWER = { username: 'viewer', password: pass(), permissions: ['flows.read'] };

/** Every route of docs/console-api.md. */
const ROUTES: [method: string, path: string][] = [
  ['GET', '/me'],
  ['GET', '/journal'],
  ['GET', '/journal/1'],
  ['GET', '/journal/1/raw'],
  ['POST', '/journal/1/replay'],
  ['GET', '/tasks'],
  ['GET', '/tasks/1'],
  ['GET', '/tasks/1/candidate?ipp=123456'],
  ['GET', '/tasks/1/pdf'],
  ['POST', '/tasks/1/decision'],
  ['GET', '/dashboard'],
  ['GET', `/documents/${encodeURIComponent('1.2.3^DOC1')}/journey`],
];

interface JournalRow {
  id: number;
  node: { type: string };
  controlId: string | null;
  outcome: string;
  actor: string | null;
  replayOf: number | null;
}

describe('e2e: the operations console in headless Chromium, the layer pack in a real Node-RED (issue 14)', function () {
  this.timeout(300_000);
  let red: NodeRed;
  let ports: LayerPorts;
  let browser: Browser;
  let gam: MllpClient;
  let reports: MllpClient;
  let pane: DebugPane;
  let operatorToken = '';
  let adtRow = 0;
  let seq = 0;

  /** The API with a user's token. */
  const api = async <T>(method: string, p: string, token: string, body?: unknown) => {
    const res = await red.request(method, API + p, body, { authorization: `Bearer ${token}` });
    return { status: res.status, body: (res.body ? res.json() : null) as T };
  };
  /** A token with the user's own permissions (scope empty, as the editor and the console ask). */
  const tokenOf = async (user: { username: string; password: string }): Promise<string> => {
    const res = await red.request('POST', '/auth/token', { client_id: 'node-red-editor', grant_type: 'password', scope: '', username: user.username, password: user.password }, { authorization: '' });
    assert.equal(res.status, 200, `${user.username} login: HTTP ${res.status}`);
    return res.json<{ access_token: string }>().access_token;
  };
  const sendAdt = async (controlId: string, pid = {}) => parseAck((await gam.send(Buffer.from(adtMessage({ controlId, pid }), 'latin1'))).ack);
  const shot = async (page: Page, name: string) => {
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `console-${name}.png`) });
  };

  /** A page logged in to the editor as `user` through the editor's own login dialog. */
  async function editorLogin(user: { username: string; password: string }): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${red.url}/`);
    await page.fill('#node-dialog-login-username', user.username);
    await page.fill('#node-dialog-login-password', user.password);
    await page.click('#node-dialog-login-submit');
    while (!(await page.evaluate('!!localStorage.getItem("auth-tokens")'))) await page.waitForTimeout(200);
    return page;
  }

  before(async function () {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
    if (SHOTS) fs.mkdirSync(SHOTS, { recursive: true });
    ports = await freeLayerPorts();
    red = await NodeRed.start({ flows: layerPack(), port: await getFreePort(), env: layerEnv(ports), users: [OPERATOR, READER, VIEWER] });
    operatorToken = await tokenOf(OPERATOR);
    pane = await DebugPane.open(red.port);
    gam = new MllpClient({ host: '127.0.0.1', port: ports.gam, ackTimeoutMs: 10_000, maxRetries: 0 });
    reports = new MllpClient({ host: '127.0.0.1', port: ports.reports, ackTimeoutMs: 30_000, maxRetries: 0 });
    // Marie MARTIN, qualified, from the GAM
    assert.equal((await sendAdt('E2E-ADT-1', LOCAL.marie)).code, 'AA');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  });

  after(async () => {
    await browser?.close();
    pane?.close();
    await gam?.close();
    await reports?.close();
    await red?.stop();
  });

  it('every API route refuses an anonymous request (401); a reader may look but neither replay nor decide (401: Node-RED\'s answer to a missing permission)', async () => {
    for (const [method, p] of ROUTES) {
      const res = await red.request(method, API + p, method === 'POST' ? {} : undefined, { authorization: '' });
      assert.equal(res.status, 401, `${method} ${p} anonymous`);
    }
    const reader = await tokenOf(READER);
    assert.equal((await api('GET', '/journal', reader)).status, 200);
    assert.equal((await api('POST', '/journal/1/replay', reader, {})).status, 401);
    assert.equal((await api('POST', '/tasks/1/decision', reader, { reject: 'no' })).status, 401);
    assert.equal((await api('GET', '/journal', await tokenOf(VIEWER))).status, 401, 'no segur-dpi.read, no journal');
  });

  it('the operator logs in through the editor; the sidebar tab shows the console; /segur-dpi/ finds the ADT message by INS and by control id, lays it out, and replays it: nothing applied twice', async () => {
    const editor = await editorLogin(OPERATOR);
    await editor.waitForFunction('window.RED && RED.sidebar && document.querySelector("#red-ui-tab-segur-dpi-console")', undefined, { timeout: 60_000 });
    await editor.locator('#red-ui-loading-progress').waitFor({ state: 'hidden', timeout: 60_000 });
    await editor.evaluate('RED.sidebar.show("segur-dpi-console")');
    const tab = editor.frameLocator('iframe[title="Ségur DPI"]');
    await tab.locator('#username', { hasText: 'operator' }).waitFor({ timeout: 30_000 });
    await shot(editor, 'sidebar');

    // the tab's link opens the console in a tab of its own, logged in with the editor's token
    const [page] = await Promise.all([editor.context().waitForEvent('page'), editor.click('a[href="segur-dpi/"]')]);
    await page.waitForLoadState();
    assert.equal(page.url(), `${red.url}/segur-dpi/`);
    await page.locator('#username', { hasText: 'operator' }).waitFor();
    assert.match((await page.textContent('#who')) ?? '', /read and write.*through the editor/);

    await page.fill('#f-ins', MARIE_NIR);
    await page.click('form.search button[type=submit]');
    const adt = page.locator('table.journal tbody tr', { hasText: 'adt-to-ins' }).filter({ hasText: 'E2E-ADT-1' });
    await adt.waitFor();
    adtRow = Number(await adt.getAttribute('data-id'));
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.waitForURL(/#journal$/);
    await page.fill('#f-controlId', 'E2E-ADT-1');
    await page.press('#f-controlId', 'Enter');
    await page.locator(`table.journal tr[data-id="${adtRow}"]`).waitFor();
    await page.click(`table.journal a[href="#message/${adtRow}"]`);

    await page.getByRole('heading', { name: /ADT\^A28 E2E-ADT-1/ }).waitFor();
    const pid = page.locator('table.segment', { has: page.locator('caption', { hasText: 'PID — Patient Identification' }) });
    assert.match((await pid.textContent()) ?? '', /Patient Name.*MARTIN/);
    assert.match((await page.locator('.ack').textContent()) ?? '', /AA/);
    assert.match((await page.locator('section.changed').textContent()) ?? '', /Identity history entries written/);

    await page.click('#replay');
    await page.locator('.replay-result p strong').waitFor();
    assert.match((await page.locator('.replay-result').textContent()) ?? '', /nothing changed/);
    assert.match((await page.locator('.replay-result').textContent()) ?? '', /Changedno/);
    // through the API: one replay row, by the operator, a duplicate; the identity's history written once
    const replays = await api<{ entries: JournalRow[] }>('GET', `/journal?replayOf=${adtRow}`, operatorToken);
    assert.deepEqual(replays.body.entries.map((e) => [e.outcome, e.actor]), [['duplicate', 'console:operator']]);
    const detail = await api<{ changed: { history: { controlId: string }[] } }>('GET', `/journal/${adtRow}`, operatorToken);
    assert.deepEqual(detail.body.changed.history.map((h) => h.controlId), ['E2E-ADT-1'], 'applied once');
    await editor.context().close();
  });

  it('a report whose birth date differs (cda-ingest output 2) is a task; attached from the worklist: archived under the local IPP, decided by the operator, emitted by reconcile-out', async () => {
    const doc = await receivedDocument('CR-BIO', await textPdf({ lines: ['Compte rendu de biologie (e2e console)', 'Patiente fictive.'] }), PATIENTS.marieOtherBirthDate());
    const ack = parseAck((await reports.send(Buffer.from(oruOf(doc.xml, 'E2E-ORU-1'), 'utf8'))).ack);
    assert.equal(ack.code, 'AE', 'not integrated automatically (LPS 904)');
    const documentId = doc.meta.id.extension ? `${doc.meta.id.root}^${doc.meta.id.extension}` : doc.meta.id.root;
    const open = await api<{ tasks: { id: number; documentId: string; reason: string }[] }>('GET', '/tasks', operatorToken);
    const journaled = await api<{ entries: unknown[] }>('GET', '/journal?controlId=E2E-ORU-1', operatorToken);
    assert.deepEqual(open.body.tasks.filter((t) => t.documentId === documentId).map((t) => t.reason), ['traits-mismatch'], `${documentId} ${JSON.stringify(open.body)} ${JSON.stringify(journaled.body)} ${JSON.stringify(ack)}`);

    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${red.url}/segur-dpi/`);
    // no editor token in this context: the console's own login form
    await page.fill('#login-username', OPERATOR.username);
    await page.fill('#login-password', OPERATOR.password);
    await page.click('form.login button[type=submit]');
    await page.locator('#username', { hasText: 'operator' }).waitFor();
    await page.click('#nav a[data-view="worklist"]');
    const row = page.locator('table.tasks tbody tr', { hasText: documentId });
    await row.waitFor();
    const task = Number(await row.getAttribute('data-task'));
    await row.locator('a').click();
    await page.locator('table.compare td.differs', { hasText: '1985-05-12' }).waitFor();
    assert.match((await page.locator('iframe.pdf-frame').getAttribute('src')) ?? '', /^blob:/);
    await page.click(`button[data-attach="${MARIE_KEY}"]`);
    await page.click(`button[data-confirm="${MARIE_KEY}"]`);
    await page.locator('section.decision dd', { hasText: 'console:operator' }).waitFor();

    const decided = await api<{ task: { status: string; decidedBy: string; decision: { attach: string } } }>('GET', `/tasks/${task}`, operatorToken);
    assert.deepEqual([decided.body.task.status, decided.body.task.decidedBy, decided.body.task.decision.attach], ['attached', 'console:operator', MARIE_KEY]);
    const archived = await api<{ document: { ippKey: string; patient: { birthDate: string } } }>('GET', `/documents/${encodeURIComponent(documentId)}/journey`, operatorToken);
    assert.equal(archived.body.document.ippKey, MARIE_KEY, 'the archive holds it under the local identity');
    assert.equal(archived.body.document.patient.birthDate, '1985-05-12', 'with the local traits');
    // reconcile-out emitted the decision: the layer pack's "to the DPI" debug node shows its summary line
    const emitted = await pane.waitFor((m) => m.id === 'layer-rep-to-dpi' && m.msg.includes(documentId), 10_000);
    assert.match(emitted.msg, new RegExp(`attached · task ${task} · document .* · by console:operator`));
    await context.close();
  });

  it('the dashboard counts the messages received as they flow, refreshing on its own', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${red.url}/segur-dpi`); // without the slash: sent to /segur-dpi/
    assert.equal(page.url(), `${red.url}/segur-dpi/`);
    await page.fill('#login-username', OPERATOR.username);
    await page.fill('#login-password', OPERATOR.password);
    await page.click('form.login button[type=submit]');
    await page.locator('#username', { hasText: 'operator' }).waitFor();
    await page.click('#nav a[data-view="dashboard"]');
    await page.locator('#tile-in .big').waitFor();
    const before = Number(await page.locator('#tile-in .big').textContent());
    assert.ok(before >= 1, `the messages so far: ${before}`);
    for (let i = 0; i < 3; i++) assert.equal((await sendAdt(`E2E-FLOW-${++seq}`, { ipp: `77000${seq}`, ins: null, status: ['PROV'] })).code, 'AA');
    // the page's CSP forbids evaluating strings: read the tile until it has counted them (or the test times out)
    while (Number(await page.locator('#tile-in .big').textContent()) < before + 3) await page.waitForTimeout(500);
    assert.match((await page.locator('#totals').textContent()) ?? '', /PAM FR → INS, recorded\s*adt-to-ins/, 'per node, with its name in the flows');
    // what mllp-in reports now: the GAM's listener and this test's connection
    const gamLine = page.locator('#live tr', { hasText: `listening on port ${ports.gam}` });
    await gamLine.waitFor();
    assert.ok(Number(await gamLine.locator('td:nth-child(3)').textContent()) >= 1, 'the GAM connection is counted');
    await context.close();
  });

  it('the reader logs in through the console\'s form: the journal, but no Replay; the viewer: "Not allowed"', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${red.url}/segur-dpi/#message/${adtRow}`);
    await page.fill('#login-username', READER.username);
    await page.fill('#login-password', READER.password);
    await page.click('form.login button[type=submit]');
    await page.locator('#username', { hasText: 'reader' }).waitFor();
    await page.locator('#replay').waitFor();
    assert.equal(await page.locator('#replay').isDisabled(), true);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.fill('#login-username', VIEWER.username);
    await page.fill('#login-password', VIEWER.password);
    await page.click('form.login button[type=submit]');
    await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
    assert.equal(await page.locator('table').count(), 0, 'no data shown');
    await context.close();
  });
});
