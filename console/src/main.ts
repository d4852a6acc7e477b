// The operations console (issue 14): who is logged in, then one of three views chosen by the URL's hash —
// #journal (search; #message/<id> one exchange), #worklist (#task/<id> one task), #dashboard. Without a
// token, or with a user lacking segur-dpi.read, the page says so and fetches nothing else.
import { ApiError, get, loginType, logout, tokenSource } from './api';
import { showDashboard } from './dashboard';
import { fill, h } from './dom';
import { showJournal } from './journal';
import { showLogin, showNotAllowed } from './login';
import { showMessage } from './message';
import type { Me } from './types';
import { showTask, showWorklist } from './worklist';

export interface View {
  /** Called when the page leaves the view (stops its polling). */
  leave?(): void;
}

let me: Me | null = null;
let current: View | null = null;
let lastView: string | null = null;

const main = () => document.getElementById('main') as HTMLElement;

/** What a view needs: where to draw, the user's rights, and how to report a failure. */
export interface Context {
  root: HTMLElement;
  me: Me;
  /** Shows a failure of the API in the view (a 401 sends back to the login). */
  fail(err: unknown): void;
}

function failure(root: HTMLElement, err: unknown): void {
  if (err instanceof ApiError && err.status === 401) {
    void start();
    return;
  }
  const text = err instanceof ApiError ? `${err.message} (${err.status} ${err.code})` : String((err as Error)?.message ?? err);
  root.querySelector(':scope > .problem.failure')?.remove();
  root.prepend(h('p', { class: 'problem failure', role: 'alert' }, text));
}

async function route(): Promise<void> {
  if (!me) return;
  current?.leave?.();
  current = null;
  const root = main();
  const hash = location.hash.replace(/^#/, '');
  const [name, rest = ''] = hash.split(/[/?](.*)/s);
  const view = name || 'journal';
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a')) {
    const active = a.dataset.view === view || (view === 'message' && a.dataset.view === 'journal') || (view === 'task' && a.dataset.view === 'worklist');
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  fill(root, h('p', { class: 'loading' }, 'Loading…'));
  const ctx: Context = { root, me, fail: (err) => failure(root, err) };
  const params = new URLSearchParams(hash.includes('?') ? hash.slice(hash.indexOf('?') + 1) : '');
  try {
    if (view === 'message') current = await showMessage(ctx, Number(rest));
    else if (view === 'worklist') current = await showWorklist(ctx, params);
    else if (view === 'task') current = await showTask(ctx, Number(rest));
    else if (view === 'dashboard') current = await showDashboard(ctx);
    else current = await showJournal(ctx, params);
  } catch (err) {
    fill(root);
    failure(root, err);
  }
  const title = root.querySelector('h2');
  document.title = `${title?.textContent ?? 'Console'} — Ségur DPI`;
  // another view: a screen reader or keyboard user starts at its title (a new search keeps the focus in the form)
  if (view !== lastView && title && lastView !== null) {
    title.setAttribute('tabindex', '-1');
    title.focus();
  }
  lastView = view;
}

function showWho(): void {
  const who = document.getElementById('who') as HTMLElement;
  if (!me) return fill(who);
  const rights = me.permissions.write ? 'read and write' : 'read only';
  const source = tokenSource();
  fill(
    who,
    h('span', null, 'Logged in as ', h('strong', { id: 'username' }, me.user.username), ` (${rights})`),
    source === 'console'
      ? h('button', { type: 'button', class: 'link', onclick: () => void logout().then(start) }, 'Log out')
      : source === 'editor'
        ? h('span', { class: 'hint' }, ' — through the editor')
        : null,
  );
}

/** Who am I: the views, the login form, or the page saying the user may not look. */
async function start(): Promise<void> {
  current?.leave?.();
  current = null;
  me = null;
  (document.getElementById('nav') as HTMLElement).hidden = true;
  showWho();
  const root = main();
  try {
    me = await get<Me>('/me');
  } catch (err) {
    if (err instanceof ApiError && err.status === 403 && err.code === 'no-admin-auth') return showNotAllowed(root, 'no-admin-auth', err.message);
    if (err instanceof ApiError && err.status === 401) {
      const type = await loginType().catch(() => null);
      if (tokenSource() && err.code !== 'login-required') return showNotAllowed(root, 'permission', '', type === 'credentials' ? start : null);
      return showLogin(root, type, start);
    }
    fill(root);
    return failure(root, err);
  }
  (document.getElementById('nav') as HTMLElement).hidden = false;
  showWho();
  await route();
}

window.addEventListener('hashchange', () => void route());
window.addEventListener('DOMContentLoaded', () => void start());
