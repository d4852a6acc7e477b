// The Node-RED editor in a real browser: Debian's chromium, headless, driven by playwright-core (no
// browser download), and what a person does in the editor — log in through its form, drag a node from
// the palette, open and close an edit dialog, import a file, deploy, read the help sidebar, change the
// language in the user settings — each step waiting for what the editor shows, never for a time.
//
// Nodes are found by id and palette entries by node type (data-palette-type), never by label: labels
// change; texts the editor shows are compared with the catalogs the editor itself reads.
import fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import type { NodeRed } from '../e2e/harness';

/** Debian's chromium (.ci/run installs it); CHROMIUM_PATH to use another. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Launches headless Chromium, or says what to install. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does it)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** What the editor knows of a node of the workspace. */
export interface NodeState {
  id: string;
  type: string;
  valid: boolean;
  validationErrors: string[];
  /** The red triangle is drawn. */
  triangle: boolean;
  status?: { fill?: string; shape?: string; text?: string };
  [property: string]: unknown;
}

/** A help as the sidebar shows it: title, section headings, first paragraph (whitespace collapsed). */
export interface ShownHelp {
  title: string;
  headings: string[];
  first: string;
}

// The page's globals, as seen from page.evaluate: Node-RED's editor and the DOM (this project compiles
// without the DOM's types: what runs in the page is not typed here)
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;
declare const $: any;
declare const document: any;
declare const DOMParser: any;
type HTMLElement = any;
/* eslint-enable @typescript-eslint/no-explicit-any */

export class Editor {
  private slot = 0;

  private constructor(
    readonly page: Page,
    readonly red: NodeRed,
  ) {}

  /** Opens the editor in a new page of `context` and logs in through its login form. */
  static async open(context: BrowserContext, red: NodeRed): Promise<Editor> {
    if (!red.credentials) throw new Error('the harness has no login for this Node-RED');
    const page = await context.newPage();
    // "leave the page with undeployed changes?" on a reload: yes
    page.on('dialog', (d) => void (d.type() === 'beforeunload' ? d.accept() : d.dismiss()));
    const editor = new Editor(page, red);
    await page.goto(`${red.url}/`);
    await page.fill('#node-dialog-login-username', red.credentials.username);
    await page.fill('#node-dialog-login-password', red.credentials.password);
    await page.click('#node-dialog-login-submit');
    await editor.ready();
    return editor;
  }

  /** Waits until the editor has loaded its nodes, their palette and the flows. */
  async ready(): Promise<void> {
    await this.page.waitForFunction(
      () => typeof RED !== 'undefined' && RED.nodes && RED.nodes.version && RED.nodes.version() !== null && $('.red-ui-palette-node[data-palette-type]').length > 0 && $('#red-ui-main-container').is(':visible'),
      undefined,
      { timeout: 60_000 },
    );
  }

  /** Reloads the page (the login is kept in the browser, as the editor keeps it). */
  async reload(): Promise<void> {
    await this.page.reload();
    await this.ready();
  }

  // --- nodes ------------------------------------------------------------------------------------

  paletteNode(type: string): Locator {
    return this.page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
  }

  /** The palette entries of a palette category (by its name, e.g. 'Ségur DPI'): node types, in order. */
  paletteCategory(category: string): Promise<{ label: string; types: string[] }> {
    return this.page.evaluate((category) => {
      const box = $('.red-ui-palette-category').filter(function (this: HTMLElement) {
        return $(this).data('category') === category;
      });
      return {
        label: box.find('.red-ui-palette-header span').first().text(),
        types: box.find('.red-ui-palette-node[data-palette-type]').map((_: number, e: HTMLElement) => e.getAttribute('data-palette-type')).get(),
      };
    }, category);
  }

  /**
   * Drags a node of `type` from the palette onto the workspace, each at its own place; resolves with
   * its id. jQuery UI's draggable needs the mouse to move after the button is pressed.
   */
  async drop(type: string): Promise<string> {
    const source = this.paletteNode(type);
    await source.scrollIntoViewIfNeeded();
    const from = await source.boundingBox();
    const chart = await this.page.locator('#red-ui-workspace-chart').boundingBox();
    if (!from || !chart) throw new Error(`drop ${type}: palette entry or workspace not visible`);
    const at = { x: chart.x + 120 + (this.slot % 4) * 200, y: chart.y + 60 + Math.floor(this.slot / 4) * 80 };
    this.slot++;
    const before: string[] = await this.page.evaluate(() => {
      const ids: string[] = [];
      RED.nodes.eachNode((n: { id: string }) => ids.push(n.id));
      return ids;
    });
    await this.page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await this.page.mouse.down();
    await this.page.mouse.move(from.x + from.width / 2 + 20, from.y + from.height / 2, { steps: 5 });
    await this.page.mouse.move(at.x, at.y, { steps: 10 });
    await this.page.mouse.up();
    const handle = await this.page.waitForFunction(
      ({ before, type }) => {
        let id: string | null = null;
        RED.nodes.eachNode((n: { id: string; type: string }) => {
          if (n.type === type && before.indexOf(n.id) < 0) id = n.id;
        });
        return id;
      },
      { before, type },
    );
    return String(await handle.jsonValue());
  }

  /** The editor's view of nodes (workspace or configuration nodes), by id. */
  async nodes(ids: string[]): Promise<Record<string, NodeState>> {
    return this.page.evaluate((ids) => {
      const out: Record<string, unknown> = {};
      for (const id of ids) {
        const n = RED.nodes.node(id);
        if (!n) continue;
        const state: Record<string, unknown> = { id, type: n.type, valid: n.valid !== false, validationErrors: n.validationErrors || [], status: n.status };
        for (const k of Object.keys(n._def.defaults || {})) state[k] = n[k];
        const badge = document.querySelector(`[id="${id}"] .red-ui-flow-node-error`);
        state.triangle = !!badge && !badge.classList.contains('hide');
        out[id] = state;
      }
      return out;
    }, ids) as Promise<Record<string, NodeState>>;
  }

  async node(id: string): Promise<NodeState> {
    const found = (await this.nodes([id]))[id];
    if (!found) throw new Error(`no node ${id} in the editor`);
    return found;
  }

  /** Every node of the workspace (not configuration nodes). */
  async allNodes(): Promise<NodeState[]> {
    const ids: string[] = await this.page.evaluate(() => {
      const list: string[] = [];
      RED.nodes.eachNode((n: { id: string }) => list.push(n.id));
      return list;
    });
    return Object.values(await this.nodes(ids));
  }

  /** Hovers a node's red triangle and resolves with the tooltip the editor shows, lines joined by '\n'. */
  async triangleTooltip(id: string): Promise<string> {
    await this.page.mouse.move(1, 1);
    await this.page.locator('.red-ui-flow-port-tooltip').first().waitFor({ state: 'detached' });
    await this.page.locator(`[id="${id}"] .red-ui-flow-node-error path`).hover();
    const tip = this.page.locator('.red-ui-flow-port-tooltip');
    await tip.first().waitFor();
    const lines = await tip.first().locator('text').allTextContents();
    await this.page.mouse.move(1, 1);
    return lines.join('\n');
  }

  // --- edit dialogs ---------------------------------------------------------------------------------

  /** Opens a node's edit dialog (double click), waits for its form. */
  async openNode(id: string): Promise<void> {
    await this.page.locator(`[id="${id}"] .red-ui-flow-node`).dblclick();
    await this.page.locator('#dialog-form').waitFor();
    await this.formFilled('node-input');
  }

  /**
   * Waits until the dialog being edited shows its node's values: the form is in the page before the editor
   * fills it (asynchronously), and a field typed into in between gets the node's value back over it.
   * Every text field whose node has a value holds one then (the editor fills them in one pass).
   */
  private async formFilled(prefix: 'node-input' | 'node-config-input'): Promise<void> {
    await this.page.waitForFunction(
      (pre) => {
        const stack = RED.editor.getEditStack();
        const n = stack[stack.length - 1];
        if (!n) return false;
        const defaults = RED.nodes.getType(n.type)?.defaults ?? {};
        return Object.keys(defaults).every((k) => {
          const el = document.getElementById(`${pre}-${k}`);
          if (!el || el.tagName !== 'INPUT' || el.type === 'checkbox' || el.type === 'radio') return true;
          const v = n[k];
          return v === undefined || v === null || v === '' || typeof v === 'object' || el.value !== '';
        });
      },
      prefix,
      { timeout: 60_000 },
    );
  }

  /** Closes the node's edit dialog with Cancel or Done. */
  async closeNode(how: 'cancel' | 'done'): Promise<void> {
    await this.page.click(how === 'done' ? '#node-dialog-ok' : '#node-dialog-cancel');
    await this.page.locator('#dialog-form').waitFor({ state: 'detached' });
  }

  /**
   * The open dialog's form (`prefix` node-input for a node, node-config-input for a configuration
   * node): the fields shown in error, and the fields whose value is not the default of the node's
   * definition (configuration selects left out).
   */
  dialogState(prefix: 'node-input' | 'node-config-input', type: string): Promise<{ errors: string[]; notDefault: string[] }> {
    return this.page.evaluate(
      ({ prefix, type }) => {
        const form = prefix === 'node-input' ? $('#dialog-form') : $('#node-config-dialog-edit-form');
        const strip = (id: string) => id.slice(prefix.length + 1);
        const errors = form
          .find('.input-error')
          .map((_: number, e: HTMLElement) => strip(e.id))
          .get();
        const defaults = RED.nodes.getType(type).defaults;
        const notDefault: string[] = [];
        for (const [k, d] of Object.entries(defaults) as [string, { value: unknown; type?: string }][]) {
          if (d.type) continue;
          const el = form.find('#' + prefix + '-' + k);
          if (!el.length) continue;
          const shown = el.is(':checkbox') ? el.prop('checked') : el.val();
          if (String(shown) !== String(d.value)) notDefault.push(`${k}=${JSON.stringify(shown)} (default ${JSON.stringify(d.value)})`);
        }
        return { errors, notDefault };
      },
      { prefix, type },
    );
  }

  /** From the open node dialog, opens the dialog adding a new configuration node for `property`. */
  async addConfigFromDialog(property: string): Promise<void> {
    await this.page.click(`#node-input-btn-${property}-add`);
    await this.page.locator('#node-config-dialog-edit-form').waitFor();
  }

  /** From the open node dialog, opens the dialog of the configuration node `property` selects. */
  async editConfigFromDialog(property: string): Promise<void> {
    await this.page.click(`#node-input-btn-${property}-edit`);
    await this.page.locator('#node-config-dialog-edit-form').waitFor();
    await this.formFilled('node-config-input');
  }

  /**
   * Types `values` (selector → text) into the open dialog until they stay: a field typed into before the
   * editor has filled the form gets the node's value back over it (seen under load), so each round types
   * them all, then gives the editor up to a second to overwrite them, until they are kept (60 s at most).
   */
  async fillKept(values: Record<string, string>): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      for (const [selector, value] of Object.entries(values)) await this.page.fill(selector, value);
      try {
        await this.page.waitForFunction(
          (v) => Object.entries(v).every(([sel, want]) => (document.querySelector(sel) as { value?: string } | null)?.value === want),
          values,
          { timeout: 1_000 },
        );
        // kept once read back; read again after the editor's next turn to be sure nothing overwrote them
        await this.page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
        const kept = await this.page.evaluate((v) => Object.entries(v).every(([sel, want]) => (document.querySelector(sel) as { value?: string } | null)?.value === want), values);
        if (kept) return;
      } catch {
        /* not (yet) kept: type again */
      }
      if (Date.now() > deadline) throw new Error(`the dialog did not keep ${Object.keys(values).join(', ')}`);
    }
  }

  async closeConfig(how: 'cancel' | 'done' | 'delete'): Promise<void> {
    // Delete: the configuration dialog's left button in the tray's toolbar (it has no id); the dialog is the last tray open
    if (how === 'delete') await this.page.locator('.red-ui-tray:has(#node-config-dialog-edit-form) .red-ui-tray-toolbar button.leftButton').click();
    else await this.page.click(how === 'done' ? '#node-config-dialog-ok' : '#node-config-dialog-cancel');
    await this.page.locator('#node-config-dialog-edit-form').waitFor({ state: 'detached' });
  }

  /** Opens a configuration node's dialog from the Configuration nodes sidebar (double click on its entry, by label). */
  async openConfigFromSidebar(label: string): Promise<void> {
    await this.page.click('a.red-ui-tab-link-button[href="#config"]');
    const entry = this.page.locator('.red-ui-palette-node-config', { has: this.page.locator('.red-ui-palette-label', { hasText: label }) });
    await entry.first().dblclick();
    await this.page.locator('#node-config-dialog-edit-form').waitFor();
    await this.formFilled('node-config-input');
  }

  // --- import and deploy ------------------------------------------------------------------------------

  /** Import ▸ the clipboard text area (a JSON text); the dialog closes once the nodes are imported. */
  async importText(json: string): Promise<void> {
    await this.openImport();
    await this.page.fill('#red-ui-clipboard-dialog-import-text', json);
    await this.page.press('#red-ui-clipboard-dialog-import-text', 'End'); // the dialog checks the text on keyup
    await this.finishImport();
  }

  /** Import ▸ select a file. */
  async importFile(file: string): Promise<void> {
    await this.openImport();
    await this.page.setInputFiles('#red-ui-clipboard-dialog-import-file-upload', file);
    await this.finishImport();
  }

  private async openImport(): Promise<void> {
    await this.page.click('#red-ui-header-button-sidemenu');
    await this.page.click('#menu-item-import');
    await this.page.locator('#red-ui-clipboard-dialog-import-text').waitFor();
  }

  private async finishImport(): Promise<void> {
    await this.page.locator('#red-ui-clipboard-dialog-ok:enabled').click();
    await this.page.locator('#red-ui-clipboard-dialog').waitFor({ state: 'hidden' });
  }

  /** The ids and texts of the notifications shown now. */
  notifications(): Promise<{ id: string; type: string; text: string }[]> {
    return this.page.evaluate(() =>
      $('.red-ui-notification:visible')
        .map((_: number, e: HTMLElement) => ({
          id: e.id,
          type: (/red-ui-notification-(success|warning|error|info|compact)\b/.exec(e.className) || [])[1] || 'plain',
          text: $(e).text().replace(/\s+/g, ' ').trim(),
        }))
        .get(),
    );
  }

  /**
   * Clicks Deploy; resolves with the first notification the editor then shows (the success, or the
   * warning that asks to confirm) and the text of a successful deploy in the editor's language.
   */
  async deploy(): Promise<{ notice: { id: string; type: string; text: string }; success: string }> {
    const before = (await this.notifications()).map((n) => n.id);
    await this.page.click('#red-ui-header-button-deploy');
    const handle = await this.page.waitForFunction((before) => {
      const fresh = $('.red-ui-notification:visible').filter(function (this: HTMLElement) {
        return before.indexOf(this.id) < 0;
      });
      return fresh.length ? fresh[0].id : null;
    }, before);
    const id = (await handle.jsonValue()) as string;
    const notice = (await this.notifications()).find((n) => n.id === id) ?? { id, type: 'gone', text: '' };
    const success: string = await this.page.evaluate(() => $('<div>').html(RED._('deploy.successfulDeploy')).text());
    return { notice, success };
  }

  // --- help and language ------------------------------------------------------------------------------

  /**
   * Shows the help of `type` as a person finds it: the Help sidebar, its search box, the one node
   * listed. Resolves with what the sidebar shows.
   */
  async help(type: string): Promise<ShownHelp> {
    await this.page.click('a.red-ui-tab-link-button[href="#help"]');
    const search = this.page.locator('.red-ui-info-toolbar:has(#red-ui-sidebar-help-show-toc) input');
    await search.fill(type);
    await search.press('End'); // the search box filters on keyup
    const label: string = await this.page.evaluate((type) => {
      const def = RED.nodes.getType(type);
      const l = def && def.paletteLabel;
      return (typeof l === 'function' ? l.call(def) : l) || type;
    }, type);
    // the list is filtered once a single node is listed, the one of that label
    const items = this.page.locator('.red-ui-sidebar-help-toc .red-ui-treeList-label:visible', { has: this.page.locator('.red-ui-node-list-item') });
    await this.page.waitForFunction(
      (label) => {
        const shown = $('.red-ui-sidebar-help-toc .red-ui-treeList-label:visible').filter(function (this: HTMLElement) {
          return $(this).find('.red-ui-node-list-item').length > 0;
        });
        return shown.length === 1 && shown.text().trim() === label;
      },
      label,
    );
    await items.first().click();
    const help = this.page.locator('.red-ui-sidebar-info:has(#red-ui-sidebar-help-show-toc)');
    await this.page.waitForFunction((label) => $('#red-ui-sidebar-help-show-toc').closest('.red-ui-sidebar-info').find('.red-ui-help-title').text() === label, label);
    const shown = await help.evaluate((el) => ({
      title: $(el).find('.red-ui-help-title').text(),
      headings: $(el).find('.red-ui-help h3').map((_: number, h: HTMLElement) => $(h).text().trim()).get(),
      first: $(el).find('.red-ui-help p').first().text().replace(/\s+/g, ' ').trim(),
    }));
    await search.fill('');
    await search.press('End');
    return shown;
  }

  /**
   * A help file of the pack (nodes/<type>/locales/<lang>/<type>.html) read as the sidebar shows it,
   * parsed by the browser: section headings and first paragraph.
   */
  helpFile(html: string): Promise<Omit<ShownHelp, 'title'>> {
    return this.page.evaluate((html) => {
      const outer = new DOMParser().parseFromString(html, 'text/html');
      const script = outer.querySelector('script[data-help-name]');
      const inner = new DOMParser().parseFromString(script ? script.innerHTML : '', 'text/html');
      return {
        headings: Array.from(inner.querySelectorAll('h3') as ArrayLike<HTMLElement>).map((h) => (h.textContent || '').trim()),
        first: ((inner.querySelector('p') || { textContent: '' }).textContent || '').replace(/\s+/g, ' ').trim(),
      };
    }, html);
  }

  /** User settings ▸ View ▸ Language, then a reload, as the editor asks. */
  async setLanguage(lang: string): Promise<void> {
    await this.page.click('#red-ui-header-button-sidemenu');
    await this.page.click('#menu-item-user-settings');
    await this.page.selectOption('#user-settings-editor-language', lang);
    await this.page.click('#node-dialog-ok');
    await this.page.locator('#user-settings-editor-language').waitFor({ state: 'detached' });
    await this.reload();
  }

  /** The language of the editor's catalogs. */
  language(): Promise<string> {
    return this.page.evaluate(() => RED.i18n.lang());
  }

  /**
   * Zooms the workspace out (the editor's zoom-out action, a tenth at a time, down to 0.4) until every
   * node of the flow shown fits in view, and scrolls to its top left corner: a screenshot shows the flow.
   */
  async fitFlow(): Promise<void> {
    await this.page.evaluate(() => {
      const z = RED.workspaces.active();
      let right = 0;
      let bottom = 0;
      RED.nodes.eachNode((n: { z: string; x: number; y: number; w?: number; h?: number }) => {
        if (n.z !== z) return;
        right = Math.max(right, n.x + (n.w ?? 100) / 2 + 20);
        bottom = Math.max(bottom, n.y + (n.h ?? 30) / 2 + 20);
      });
      const chart = $('#red-ui-workspace-chart');
      while (RED.view.scale() > 0.45 && (right * RED.view.scale() > chart.width() || bottom * RED.view.scale() > chart.height())) RED.actions.invoke('core:zoom-out');
      chart.scrollLeft(0).scrollTop(0);
    });
  }

  /** Back to the editor's zoom 1. */
  async zoomReset(): Promise<void> {
    await this.page.evaluate(() => RED.actions.invoke('core:zoom-reset'));
  }

  /** A PNG of the page, or of one element of it, without the passing notifications and tips. */
  async screenshot(file: string, of?: Locator): Promise<void> {
    const style = '.red-ui-notification, .red-ui-help-tips { visibility: hidden !important; }';
    if (of) await of.screenshot({ path: file, style, animations: 'disabled' });
    else await this.page.screenshot({ path: file, style, animations: 'disabled' });
  }
}
