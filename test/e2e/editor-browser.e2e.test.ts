// The editor in a real browser: headless Chromium (Debian's chromium, driven by playwright-core) loads the
// editor of a real Node-RED, logged in with the harness's token, and reads what a person would see — the
// palette, and the red triangles (node.valid, node.validationErrors) of nodes imported into the workspace.
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { NodeRed, PROJECT_ROOT, adminToken } from './harness';
import { launchChromium } from '../support/browser';

/** The properties of an mllp-in besides its address, as its edit dialog saves them. */
const IN = { name: '', tls: '', maxSize: 10, maxSizeUnit: 'MiB', autoAck: false, payloadType: 'string' };

/** The node types of the pack that show in the palette (configuration nodes do not). */
function paletteTypes(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
  return Object.keys(pkg['node-red'].nodes).filter((t) => !['ins-store', 'segur-establishment', 'psc-config'].includes(t));
}

describe('e2e: the editor in headless Chromium', function () {
  this.timeout(180_000);
  let red: NodeRed;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async function () {
    red = await NodeRed.start({ flows: [] });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    // the editor takes a token from ?access_token= (what its own login stores)
    // logged in as the editor's own login leaves it: the token in localStorage
    await page.addInitScript(`localStorage.setItem('auth-tokens', ${JSON.stringify(JSON.stringify({ access_token: adminToken(red.port) }))})`);
    await page.goto(`${red.url}/`);
    await page.waitForFunction(`typeof RED !== 'undefined' && RED.nodes && RED.nodes.getType('mllp-in') && $('.red-ui-palette-node[data-palette-type="mllp-in"] .red-ui-palette-label').width() > 0`, undefined, { timeout: 60_000 });
  });

  after(async () => {
    await browser?.close();
    await red?.stop();
  });

  /** Imports nodes into the workspace (as Import does) and gives each one's red triangle: valid, and the tooltip's lines. */
  async function importAndCheck(nodes: Record<string, unknown>[]): Promise<Record<string, { valid: boolean; errors: string[] }>> {
    return (await page.evaluate(`(function () {
      RED.view.importNodes(${JSON.stringify(nodes)}, { generateIds: false, addFlow: false });
      var out = {};
      ${JSON.stringify(nodes.map((n) => n.id))}.forEach(function (id) {
        var n = RED.nodes.node(id);
        if (!n || n.type === 'tab') return;
        RED.editor.validateNode(n);
        out[id] = { valid: n.valid, errors: (n.validationErrors || []).map(String) };
      });
      return out;
    })()`)) as Record<string, { valid: boolean; errors: string[] }>;
  }

  /** The id of the flow shown. */
  const activeFlow = async () => (await page.evaluate('RED.workspaces.active()')) as string;

  it('issue 12: mllp-out without a host is a red triangle saying so, unless "host and port from the message" is ticked', async () => {
    const z = await activeFlow();
    const got = await importAndCheck([
      { id: 'ed-out-nohost', type: 'mllp-out', z, x: 200, y: 60, host: '', port: 2575, ackTimeout: 30, retries: 3, wires: [[]] },
      { id: 'ed-out-frommsg', type: 'mllp-out', z, x: 200, y: 120, host: '', port: '', hostFromMsg: true, ackTimeout: 30, retries: 3, wires: [[]] },
      { id: 'ed-out-noport', type: 'mllp-out', z, x: 200, y: 180, host: 'pfi.example.fr', port: '', ackTimeout: 30, retries: 3, wires: [[]] },
      { id: 'ed-out-ok', type: 'mllp-out', z, x: 200, y: 240, host: 'pfi.example.fr', port: 2590, ackTimeout: 30, retries: 3, wires: [[]] },
      { id: 'ed-out-env', type: 'mllp-out', z, x: 200, y: 300, host: '${PFI_HOST}', port: '${PFI_PORT}', ackTimeout: 30, retries: 3, wires: [[]] },
    ]);
    assert.equal(got['ed-out-nohost'].valid, false);
    assert.equal(got['ed-out-nohost'].errors.length, 1, got['ed-out-nohost'].errors.join('; '));
    assert.match(got['ed-out-nohost'].errors.join('\n'), /No host: give the receiver's host, or tick "Host and port from the message"/);
    assert.equal(got['ed-out-frommsg'].valid, true, got['ed-out-frommsg'].errors.join('\n'));
    assert.equal(got['ed-out-noport'].valid, false);
    assert.equal(got['ed-out-noport'].errors.length, 1, got['ed-out-noport'].errors.join('; '));
    assert.match(got['ed-out-noport'].errors.join('\n'), /No port/);
    assert.equal(got['ed-out-ok'].valid, true, got['ed-out-ok'].errors.join('\n'));
    assert.equal(got['ed-out-env'].valid, true, 'environment variables are known when the flows start');
  });

  it('issue 12: an mllp-in on a port another mllp-in of the workspace takes is a red triangle naming it; the shipped flows and examples import together without one', async () => {
    const shipped: Record<string, unknown>[] = [];
    for (const dir of ['flows', 'examples']) {
      for (const f of fs.readdirSync(path.join(PROJECT_ROOT, dir)).filter((x) => x.endsWith('.json'))) {
        shipped.push(...(JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, dir, f), 'utf8')) as Record<string, unknown>[]));
      }
    }
    const all = await importAndCheck(shipped);
    const listeners = shipped.filter((n) => n.type === 'mllp-in').map((n) => n.id as string);
    assert.ok(listeners.length >= 3);
    for (const id of listeners) assert.equal(all[id].valid, true, `${id}: ${all[id].errors.join('; ')}`);

    const z = await activeFlow();
    const got = await importAndCheck([
      { id: 'ed-in-same', type: 'mllp-in', z, x: 400, y: 60, port: 2582, host: '127.0.0.1', ...IN, wires: [[]] },
      { id: 'ed-in-every', type: 'mllp-in', z, x: 400, y: 120, port: 2578, host: '0.0.0.0', ...IN, wires: [[]] },
      { id: 'ed-in-env', type: 'mllp-in', z, x: 400, y: 180, port: '${MLLP_PORT}', host: '127.0.0.1', ...IN, wires: [[]] },
      { id: 'ed-in-free', type: 'mllp-in', z, x: 400, y: 240, port: 2690, host: '127.0.0.1', ...IN, wires: [[]] },
    ]);
    assert.equal(got['ed-in-same'].valid, false);
    assert.equal(got['ed-in-same'].errors.length, 1, got['ed-in-same'].errors.join('; '));
    assert.match(got['ed-in-same'].errors.join('\n'), /Port 2582 is already taken by the mllp-in "business ACKs from the PFI" \(flow "[^"]+"\)/);
    assert.equal(got['ed-in-every'].valid, false, 'every interface takes 2578 on 127.0.0.1 too');
    assert.equal(got['ed-in-every'].errors.length, 1, got['ed-in-every'].errors.join('; '));
    assert.match(got['ed-in-every'].errors.join('\n'), /Port 2578 is already taken/);
    assert.equal(got['ed-in-env'].valid, true, got['ed-in-env'].errors.join('; '));
    assert.equal(got['ed-in-free'].valid, true);
  });

  it('issue 12: an mllp-in dropped from the palette listens on a port no mllp-in of the workspace takes', async () => {
    const before = (await page.evaluate(`RED.nodes.filterNodes({ type: 'mllp-in' }).map(function (n) { return n.id; })`)) as string[];
    const z = await activeFlow();
    // one listener already on the default port, on this flow
    await importAndCheck([{ id: 'ed-in-default', type: 'mllp-in', z, x: 600, y: 60, port: 2600, host: '127.0.0.1', ...IN, wires: [[]] }]);
    const chart = page.locator('#red-ui-workspace-chart');
    const box = await chart.boundingBox();
    assert.ok(box);
    await page.dragAndDrop('.red-ui-palette-node[data-palette-type="mllp-in"]', '#red-ui-workspace-chart', { targetPosition: { x: 300, y: Math.min(400, box.height - 40) } });
    await page.waitForFunction(`RED.nodes.filterNodes({ type: 'mllp-in' }).length === ${before.length + 2}`, undefined, { timeout: 10_000 });
    const dropped = (await page.evaluate(`(function () {
      var known = ${JSON.stringify([...before, 'ed-in-default'])};
      var n = RED.nodes.filterNodes({ type: 'mllp-in' }).filter(function (x) { return known.indexOf(x.id) < 0; })[0];
      RED.editor.validateNode(n);
      return { port: n.port, host: n.host, valid: n.valid, errors: n.validationErrors || [] };
    })()`)) as { port: number; host: string; valid: boolean; errors: string[] };
    assert.equal(dropped.host, '127.0.0.1');
    assert.equal(dropped.port, 2601, 'the default 2600 is taken: the next port');
    assert.equal(dropped.valid, true, dropped.errors.join('; '));
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
