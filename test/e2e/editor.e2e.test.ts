// The editor in a real browser (issue 12): headless Chromium (Debian's chromium, driven by
// playwright-core) opens the editor of a real Node-RED started by the harness, logs in through the
// editor's login form, and does what a newcomer does: looks at the palette, drags the pack's nodes
// beside an existing identity store and establishment, opens every edit dialog, reads every help in
// English and in French, imports the flow packs of flows/ and deploys them. It saves the screenshots the
// README shows in docs/screenshots/ (SCREENSHOTS_DIR to write them elsewhere).
//
// Nodes are found by node type and id, never by palette label (labels change); the texts compared are
// the ones the editor reads (its catalogs, the help files of the pack).
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { Editor, launchChromium } from '../support/browser';
import { NodeRed, PROJECT_ROOT, getFreePort, type FlowNode } from './harness';

// Node-RED's editor global, as seen from page.evaluate (the page's own code, not typed here)
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const RED: any;

const PKG = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
const MODULE: string = PKG.name;
/** Every node type of the pack, as package.json declares them to Node-RED. */
const TYPES: string[] = Object.keys(PKG['node-red'].nodes);
const CATEGORY = 'Ségur DPI';
const SHOTS = path.resolve(PROJECT_ROOT, process.env.SCREENSHOTS_DIR || path.join('docs', 'screenshots'));

// What the workspace holds when the editor opens: one tab, one identity store, one complete
// establishment. Names differ from ids: Node-RED reads a property whose value is a configuration
// node's id as a reference to it.
const TAB: FlowNode = { id: 'T1', type: 'tab', label: 'Editor test' };
const S1: FlowNode = { id: 'S1', type: 'ins-store', name: 'Store one', engine: 'sqlite', file: '' };
const S2: FlowNode = { id: 'S2', type: 'ins-store', name: 'Store two', engine: 'sqlite', file: 'two.db' };
const E1: FlowNode = {
  id: 'E1',
  type: 'segur-establishment',
  name: 'CHU X (test)',
  custodianName: 'CHU X',
  custodianFiness: '690000001',
  custodianStreet: '1 rue des Essais',
  custodianPostalCode: '69000',
  custodianCity: 'LYON',
  custodianTelecom: 'tel:+33400000000',
  timeZone: 'Europe/Paris',
  documentIdRoot: '1.2.250.1.999.1.2.1',
  setIdRoot: '1.2.250.1.999.1.2.2',
  ippAuthorityOid: '1.2.250.1.999.1.1',
  encounterIdRoot: '1.2.250.1.999.1.3',
  defaultFacilityType: 'SA01',
  defaultPracticeSetting: 'ETABLISSEMENT',
  hl7SendingApplication: 'DPI',
  hl7SendingFacility: 'CHU-X',
  hl7ReceivingApplication: 'PFI',
  hl7ReceivingFacility: 'CHU-X',
  hl7ProcessingId: 'T',
};

/**
 * What a node just added may lack: values only the person setting it up knows, for which no default
 * can work. Any other field in error in a new node's dialog is a failure.
 */
const NEEDS_INPUT: Record<string, string[]> = {
  'mllp-out': ['host'], // the receiver (the PFI)
  'psc-auth': ['psc'], // a ProSanté Connect client, registered with the ANS
  'psc-config': ['clientId', 'redirectUri'],
  'segur-establishment': ['custodianName', 'custodianFiness'],
};

/** The help file of a node type in a language, as shipped. */
function helpFile(type: string, lang: 'en-US' | 'fr'): string {
  return fs.readFileSync(path.join(PROJECT_ROOT, 'nodes', type, 'locales', lang, `${type}.html`), 'utf8');
}

/** The flow packs of flows/, as shipped. */
function flowPacks(): { file: string; text: string }[] {
  const dir = path.join(PROJECT_ROOT, 'flows');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, text: fs.readFileSync(path.join(dir, file), 'utf8') }));
}

/**
 * The environment the packs read (`${NAME}`, `$env("NAME")`), so that they listen on free ports and
 * write under a temporary folder, never on the shipped ports (other tests, another Node-RED of the
 * machine) nor in the user's home: every NAME ending in _PORT a free port, every *_INBOX / *_DIR a
 * new folder.
 */
async function packEnvironment(texts: string[], tmp: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const names = new Set<string>();
  for (const t of texts) for (const m of t.matchAll(/\$\{(\w+)\}|\$env\(\s*\\?["'](?:\$parent\.)?(\w+)\\?["']/g)) names.add(m[1] ?? m[2]);
  for (const name of [...names].sort()) {
    if (/_PORT$/.test(name)) env[name] = String(await getFreePort());
    else if (/(_INBOX|_DIR)$/.test(name)) fs.mkdirSync((env[name] = path.join(tmp, name.toLowerCase())), { recursive: true });
  }
  return env;
}

/** A pack with a literal MLLP port gets a free one instead (the imported copy; the shipped file is not changed). */
async function withFreePorts(text: string): Promise<string> {
  const nodes = JSON.parse(text) as FlowNode[];
  const map = new Map<string, number>();
  for (const n of nodes) {
    if ((n.type === 'mllp-in' || n.type === 'mllp-out') && /^\d+$/.test(String(n.port ?? ''))) {
      if (!map.has(String(n.port))) map.set(String(n.port), await getFreePort());
      n.port = map.get(String(n.port));
    }
  }
  return map.size ? JSON.stringify(nodes, null, 2) : text;
}

/** Log lines of the runtime that warn or report an error, for the pack's node types or not said. */
function warnings(log: string): string[] {
  const ours = new RegExp(`\\[(warn|error)\\] \\[(${TYPES.join('|')})[:\\]]`);
  return log.split('\n').filter((l) => ours.test(l) || /\[error\]|^Error\b/.test(l));
}

describe('e2e: the editor in headless Chromium (issue 12)', function () {
  this.timeout(240_000);
  const packs = flowPacks();
  let tmp: string;
  let red: NodeRed;
  let browser: Browser;
  let editor: Editor;
  /** Nodes dropped beside the only store and establishment. */
  const beside: Record<string, string> = {};
  /** Nodes dropped while two stores exist. */
  const storeless: Record<string, string> = {};

  before(async function () {
    fs.mkdirSync(SHOTS, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-editor-'));
    const env = await packEnvironment(
      packs.map((p) => p.text),
      tmp,
    );
    red = await NodeRed.start({ flows: [TAB, S1, E1], env });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-US' });
    // a busy machine (the CI's 2 cores are shared): each wait for what the editor shows may take up to a minute
    context.setDefaultTimeout(60_000);
    editor = await Editor.open(context, red);
  });

  after(async () => {
    await browser?.close();
    await red?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it(`after the login form, the palette shows every node of the pack under "${CATEGORY}"; the configuration nodes are registered`, async () => {
    const registered = (await editor.page.evaluate(
      (types) =>
        types.map((t) => {
          const def = RED.nodes.getType(t);
          return { type: t, category: def ? def.category : null };
        }),
      TYPES,
    )) as { type: string; category: string | null }[];
    assert.deepEqual(registered.filter((r) => r.category === null), [], 'every type of package.json is registered in the editor');
    const inPalette = registered.filter((r) => r.category !== 'config');
    for (const r of inPalette) assert.equal(r.category, CATEGORY, `${r.type}: category`);
    const shown = await editor.paletteCategory(CATEGORY);
    assert.equal(shown.label, CATEGORY);
    assert.deepEqual([...shown.types].sort(), inPalette.map((r) => r.type).sort(), 'the category holds exactly the nodes of the pack');
    for (const r of inPalette) assert.ok(await editor.paletteNode(r.type).isVisible(), `${r.type} is visible in the palette`);
    assert.deepEqual(
      registered.filter((r) => r.category === 'config').map((r) => r.type).sort(),
      ['ins-store', 'psc-config', 'segur-establishment'],
    );
    await editor.screenshot(path.join(SHOTS, 'palette.png'), editor.page.locator('.red-ui-palette-category', { has: editor.paletteNode(inPalette[0].type) }));
  });

  it('a node dropped beside the only ins-store and segur-establishment uses them, with no red triangle', async () => {
    for (const type of ['adt-to-ins', 'cda-ingest', 'pfi-ack', 'pdf-to-cda-n1', 'portability-export']) beside[type] = await editor.drop(type);
    const state = await editor.nodes(Object.values(beside));
    for (const [type, id] of Object.entries(beside)) {
      const n = state[id];
      assert.equal(n.store, 'S1', `${type}: store`);
      if (type === 'pdf-to-cda-n1' || type === 'portability-export') assert.equal(n.establishment, 'E1', `${type}: establishment`);
      assert.deepEqual({ valid: n.valid, triangle: n.triangle, errors: n.validationErrors }, { valid: true, triangle: false, errors: [] }, type);
    }
  });

  it('with a second store, a dropped node selects none: adt to ins, pfi ack and portability export show a red triangle saying why, cda ingest does not', async () => {
    await editor.importText(JSON.stringify([S2]));
    for (const type of ['adt-to-ins', 'pfi-ack', 'portability-export', 'cda-ingest']) storeless[type] = await editor.drop(type);
    const state = await editor.nodes(Object.values(storeless));
    for (const [type, id] of Object.entries(storeless)) {
      const n = state[id];
      assert.equal(n.store, '', `${type}: no store selected among two`);
      const needsStore = type !== 'cda-ingest';
      assert.equal(n.triangle, needsStore, `${type}: red triangle`);
      assert.equal(n.valid, !needsStore, `${type}: valid`);
    }
    const tip = await editor.triangleTooltip(storeless['adt-to-ins']);
    assert.match(tip, /^Invalid properties:/);
    assert.match(tip, /No identity store/);
  });

  it('the storeless cda ingest disables Archive until a store is selected; the storeless adt to ins shows "none" in error, then the only store once the second is deleted', async () => {
    const { page } = editor;
    await editor.openNode(storeless['cda-ingest']);
    assert.equal(await page.locator('#node-input-archive').isDisabled(), true, 'Archive disabled without a store');
    assert.equal(await page.locator('.cda-ingest-no-store').isVisible(), true, 'the hint says why');
    await page.selectOption('#node-input-store', 'S1');
    assert.equal(await page.locator('#node-input-archive').isDisabled(), false, 'Archive enabled with S1');
    assert.equal(await page.locator('.cda-ingest-no-store').isVisible(), false);
    await editor.closeNode('cancel');

    await editor.openNode(storeless['adt-to-ins']);
    const select = page.locator('#node-input-store');
    assert.equal(await select.locator('option:checked').textContent(), 'none');
    assert.match((await select.getAttribute('class')) ?? '', /\binput-error\b/);
    await editor.closeNode('cancel');

    await editor.openConfigFromSidebar(String(S2.name));
    await editor.closeConfig('delete');
    assert.equal(await page.evaluate(() => RED.nodes.node('S2') ?? null), null, 'S2 deleted');

    await editor.openNode(storeless['adt-to-ins']);
    assert.equal(await select.inputValue(), 'S1', 'the only store is shown');
    await editor.closeNode('done');
    const n = await editor.node(storeless['adt-to-ins']);
    assert.deepEqual({ store: n.store, valid: n.valid, triangle: n.triangle }, { store: 'S1', valid: true, triangle: false });
  });

  it('every edit dialog opens with its defaults, in error only where only the user can say (a host, a PSC client, the establishment\'s name and FINESS)', async () => {
    const paletteTypes = TYPES.filter((t) => !['ins-store', 'segur-establishment', 'psc-config'].includes(t));
    const opened: Record<string, string> = {};
    for (const type of paletteTypes) {
      const id = (opened[type] = await editor.drop(type));
      await editor.openNode(id);
      const form = await editor.dialogState('node-input', type);
      assert.deepEqual(form.notDefault, [], `${type}: the dialog shows the defaults`);
      const unexpected = form.errors.filter((f) => !(NEEDS_INPUT[type] ?? []).includes(f));
      assert.deepEqual(unexpected, [], `${type}: fields in error`);
      await editor.closeNode('cancel');
    }
    // a configuration node's dialog, opened as a person adds one: from a node that selects it
    const users: Record<string, [string, string]> = { 'ins-store': ['adt-to-ins', 'store'], 'segur-establishment': ['pdf-to-cda-n1', 'establishment'], 'psc-config': ['psc-auth', 'psc'] };
    for (const [type, [user, property]] of Object.entries(users)) {
      await editor.openNode(opened[user]);
      await editor.addConfigFromDialog(property);
      const form = await editor.dialogState('node-config-input', type);
      assert.deepEqual(form.notDefault, [], `${type}: the dialog shows the defaults`);
      const unexpected = form.errors.filter((f) => !(NEEDS_INPUT[type] ?? []).includes(f));
      assert.deepEqual(unexpected, [], `${type}: fields in error`);
      await editor.closeConfig('cancel');
      await editor.closeNode('cancel');
    }
    await editor.openNode(beside['pdf-to-cda-n1']);
    await editor.screenshot(path.join(SHOTS, 'edit-dialog.png'));
    await editor.closeNode('cancel');
  });

  it('an establishment without its document OID and MSH-3 makes the pdf to cda n1 using it invalid, naming the fields (the export using it stays valid)', async () => {
    await editor.openNode(beside['pdf-to-cda-n1']);
    await editor.editConfigFromDialog('establishment');
    await editor.fillKept({ '#node-config-input-documentIdRoot': '', '#node-config-input-hl7SendingApplication': '' });
    await editor.closeConfig('done');
    await editor.closeNode('done');
    const state = await editor.nodes([beside['pdf-to-cda-n1'], beside['portability-export']]);
    const pdf = state[beside['pdf-to-cda-n1']];
    assert.deepEqual({ valid: pdf.valid, triangle: pdf.triangle }, { valid: false, triangle: true });
    const labels: string[] = await editor.page.evaluate(
      ({ keys, module }) => keys.map((k) => RED._(`${module}/segur-establishment:segur-establishment.label.${k}`) as string),
      { keys: ['documentIdRoot', 'hl7SendingApplication'], module: MODULE },
    );
    const tip = await editor.triangleTooltip(beside['pdf-to-cda-n1']);
    for (const label of labels) assert.ok(tip.includes(label), `the tooltip names "${label}":\n${tip}`);
    assert.equal(state[beside['portability-export']].valid, true, 'portability-export needs no document OID');
  });

  it('each help shows in the Help sidebar in English', async () => {
    assert.equal(await editor.language(), 'en-US');
    for (const type of TYPES) {
      const shown = await editor.help(type);
      const file = await editor.helpFile(helpFile(type, 'en-US'));
      assert.deepEqual({ headings: shown.headings, first: shown.first }, file, `${type}: the help of locales/en-US`);
    }
    await editor.help('pdf-to-cda-n1');
    await editor.screenshot(path.join(SHOTS, 'help-en.png'));
  });

  for (const pack of packs) {
    it(`flows/${pack.file} imports and deploys without a warning: no red triangle, no red status, no warning in the runtime log`, async () => {
      // start from an empty workspace (the nodes above are invalid on purpose)
      await red.deploy([]);
      await editor.reload();
      const copy = path.join(tmp, pack.file);
      fs.writeFileSync(copy, await withFreePorts(pack.text));
      const shipped = JSON.parse(pack.text) as FlowNode[];
      await editor.importFile(copy);
      await editor.page.waitForFunction(
        (ids) => ids.every((id) => RED.nodes.node(id) || RED.nodes.workspace(id)),
        shipped.map((n) => n.id),
      );
      const invalid = (await editor.allNodes()).filter((n) => !n.valid || n.triangle);
      assert.deepEqual(invalid.map((n) => `${n.type} ${n.id}: ${n.validationErrors.join('; ')}`), [], 'imported nodes in error');

      const mark = red.output.length;
      const { notice, success } = await editor.deploy();
      assert.deepEqual({ type: notice.type, text: notice.text }, { type: 'success', text: success }, 'the deploy notification');
      await red.waitForOutput(/Started flows/, 60_000, mark);
      // every MLLP listener reports whether it listens: then the pack has started
      const listeners = shipped.filter((n) => n.type === 'mllp-in').map((n) => n.id);
      await editor.page.waitForFunction(
        (ids) =>
          ids.every((id) => {
            const n = RED.nodes.node(id);
            return n && n.status && n.status.text;
          }),
        listeners,
      );
      const after = await editor.allNodes();
      assert.deepEqual(after.filter((n) => !n.valid || n.triangle).map((n) => n.id), [], 'nodes in error after the deploy');
      assert.deepEqual(after.filter((n) => n.status?.fill === 'red').map((n) => `${n.type} ${n.id}: ${n.status?.text}`), [], 'red statuses');
      assert.deepEqual(warnings(red.output.slice(mark)), [], 'runtime log');

      // each tab of the pack, deployed, as the README shows them: <pack>-<n>.png
      const tabs = shipped.filter((n) => n.type === 'tab');
      for (const [i, tab] of tabs.entries()) {
        // shown as the tab bar does on a click (a click on a tab scrolled out of the bar only scrolls it)
        await editor.page.evaluate((id) => RED.workspaces.show(id), tab.id);
        await editor.page.waitForFunction((id) => RED.workspaces.active() === id, tab.id);
        await editor.fitFlow();
        await editor.screenshot(path.join(SHOTS, `${path.basename(pack.file, '.json')}-${i + 1}.png`));
      }
      await editor.zoomReset();
    });
  }

  it('after switching the editor to French (user settings), each help shows in the Help sidebar in French', async () => {
    await editor.setLanguage('fr');
    assert.equal(await editor.language(), 'fr');
    for (const type of TYPES) {
      const shown = await editor.help(type);
      const file = await editor.helpFile(helpFile(type, 'fr'));
      assert.deepEqual({ headings: shown.headings, first: shown.first }, file, `${type}: the help of locales/fr`);
    }
    await editor.help('pdf-to-cda-n1');
    await editor.screenshot(path.join(SHOTS, 'help-fr.png'));
  });
});
