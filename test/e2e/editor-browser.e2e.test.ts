// The editor in a real browser: headless Chromium (Debian's chromium, driven by playwright-core) loads the
// editor of a real Node-RED, logged in with the harness's token, and reads what a person would see — the
// palette, and the red triangles (node.valid, node.validationErrors) of nodes imported into the workspace.
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { NodeRed, PROJECT_ROOT, adminToken } from './harness';

/** Debian's chromium (.ci/run installs it); CHROMIUM_PATH to use another. */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The node types of the pack that show in the palette (configuration nodes do not). */
function paletteTypes(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
  return Object.keys(pkg['node-red'].nodes).filter((t) => !['ins-store', 'segur-establishment', 'psc-config'].includes(t));
}

describe('e2e: the editor in headless Chromium', function () {
  this.timeout(180_000);
  let red: NodeRed;
  let context: BrowserContext;
  let profile: string;
  let page: Page;

  before(async function () {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does it)`);
    red = await NodeRed.start({ flows: [] });
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-editor-chromium-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    // the editor takes a token from ?access_token= (what its own login stores)
    // logged in as the editor's own login leaves it: the token in localStorage
    await page.addInitScript(`localStorage.setItem('auth-tokens', ${JSON.stringify(JSON.stringify({ access_token: adminToken(red.port) }))})`);
    await page.goto(`${red.url}/`);
    await page.waitForFunction(`typeof RED !== 'undefined' && RED.nodes && RED.nodes.getType('mllp-in') && $('.red-ui-palette-node[data-palette-type="mllp-in"] .red-ui-palette-label').width() > 0`, undefined, { timeout: 60_000 });
  });

  after(async () => {
    await context?.close();
    await red?.stop();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  // A palette node is 120 px wide, its label box 88 px beside the icon; Node-RED wraps a label wider
  // than 82 px onto a second line, and one just under that runs into the node's edge ("mllp response",
  // 81 px). A label fits when it stays on one line with 6 px clear on each side: 76 px at most.
  it('every palette label of the pack fits on one line of its palette node, clear of the edges', async () => {
    const shown = (await page.evaluate(`(${JSON.stringify(paletteTypes())}).map(function (t) {
        var el = $('.red-ui-palette-node[data-palette-type="' + t + '"]');
        var box = el.find('.red-ui-palette-label');
        var range = document.createRange();
        if (box.length) range.selectNodeContents(box[0]);
        return { type: t, found: el.length, label: el.attr('data-palette-label'), html: box.html(), text: box.length ? range.getBoundingClientRect().width : 0, box: box.length ? box[0].clientWidth : 0 };
      })`)) as { type: string; found: number; label: string; html: string; text: number; box: number }[];
    for (const s of shown) assert.equal(s.found, 1, `${s.type} is in the palette`);
    const wrapped = shown.filter((s) => /<br/i.test(s.html)).map((s) => `${s.type} "${s.label}" wraps: ${s.html}`);
    const tight = shown.filter((s) => s.text > s.box - 12).map((s) => `${s.type} "${s.label}": ${s.text.toFixed(1)} px of text in a ${s.box} px box`);
    assert.deepEqual([...wrapped, ...tight], []);
  });
});
