// Journal search: the filters of GET /journal (docs/console-api.md) as a form whose values live in the URL
// (#journal?ins=…, so a search can be bookmarked or pasted into a ticket), the rows newest first, and
// "Older" for the next page.
import { get, query } from './api';
import { ackBadge, fill, h, outcomeBadge, when, type Child } from './dom';
import type { Context, View } from './main';
import type { JournalPage, JournalRecord } from './types';

const OUTCOMES = ['applied', 'out-of-date', 'duplicate', 'refused', 'ignored', 'preselected', 'to-reconcile', 'produced', 'cancelled', 'recorded', 'received', 'acknowledged', 'not-acknowledged', 'rejected', 'failed'];
const ACK_CODES = ['AA', 'AE', 'AR', 'CA', 'CE', 'CR', 'none'];
const NODE_TYPES = ['mllp-in', 'mllp-out', 'adt-to-ins', 'cda-ingest', 'pdf-to-cda-n1', 'pfi-ack'];

interface Filter {
  name: string;
  label: string;
  kind: 'text' | 'datetime' | 'select';
  options?: string[];
  hint?: string;
}

const FILTERS: Filter[] = [
  { name: 'ins', label: 'INS', kind: 'text', hint: '15 characters' },
  { name: 'ipp', label: 'IPP', kind: 'text', hint: 'IPP or <authority OID>|<IPP>' },
  { name: 'controlId', label: 'Control id (MSH-10)', kind: 'text' },
  { name: 'documentId', label: 'Document id', kind: 'text', hint: 'root^extension' },
  { name: 'from', label: 'From', kind: 'datetime' },
  { name: 'to', label: 'To', kind: 'datetime' },
  { name: 'type', label: 'Type (MSH-9.1)', kind: 'select', options: ['ADT', 'ORU', 'MDM', 'ZAM', 'ACK', 'CDA'] },
  { name: 'event', label: 'Event (MSH-9.2)', kind: 'text', hint: 'A28, R01, T02…' },
  { name: 'nodeType', label: 'Node type', kind: 'select', options: NODE_TYPES },
  { name: 'node', label: 'Node id', kind: 'text' },
  { name: 'direction', label: 'Direction', kind: 'select', options: ['in', 'out'] },
  { name: 'ackCode', label: 'ACK code', kind: 'select', options: ACK_CODES },
  { name: 'outcome', label: 'Outcome', kind: 'select', options: OUTCOMES },
];

/** The business keys and the time range, always shown; the rest folded under "More filters". */
const MAIN_FILTERS = 6;

/** A datetime-local value (local time) ↔ ISO 8601 (what the API takes). */
function toIso(local: string): string {
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}
function toLocal(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function control(f: Filter, value: string): HTMLElement {
  const id = `f-${f.name}`;
  let input: HTMLElement;
  if (f.kind === 'select') {
    input = h('select', { id, name: f.name }, h('option', { value: '' }, 'any'), (f.options ?? []).map((o) => h('option', { value: o, selected: o === value }, o)));
  } else if (f.kind === 'datetime') {
    input = h('input', { id, name: f.name, type: 'datetime-local', value: value ? toLocal(value) : '' });
  } else {
    input = h('input', { id, name: f.name, value, spellcheck: 'false', autocomplete: 'off', ...(f.hint ? { placeholder: f.hint } : {}) });
  }
  return h('div', { class: 'field' }, h('label', { for: id }, f.label), input);
}

/** The keys of a row, shortest form. */
function keysOf(e: JournalRecord): Child[] {
  const k = e.keys ?? {};
  return [
    k.ipp ? h('div', null, h('span', { class: 'key' }, 'IPP '), k.ipp) : null,
    k.ins ? h('div', null, h('span', { class: 'key' }, 'INS '), k.ins) : null,
    k.documentId ? h('div', null, h('span', { class: 'key' }, 'doc '), k.documentId) : null,
  ];
}

export function journalRow(e: JournalRecord): HTMLTableRowElement {
  const link = h('a', { href: `#message/${e.id}`, class: 'row-link' }, String(e.id));
  return h(
    'tr',
    { 'data-id': e.id },
    h('td', null, link),
    h('td', null, h('time', { datetime: e.at }, when(e.at))),
    h('td', null, h('span', { class: `dir ${e.direction}`, title: e.direction === 'in' ? 'received' : 'sent or produced' }, e.direction === 'in' ? '→ in' : '← out')),
    h('td', null, e.node.name || e.node.id, h('div', { class: 'sub' }, e.node.type)),
    h('td', null, [e.type, e.event].filter(Boolean).join('^')),
    h('td', { class: 'mono' }, e.controlId ?? ''),
    h('td', null, keysOf(e)),
    h('td', null, ackBadge(e.ack?.code)),
    h('td', null, outcomeBadge(e.outcome), e.replayOf ? h('div', { class: 'sub' }, `replay of ${e.replayOf}`) : null),
  );
}

export function journalTable(caption: string, rows: JournalRecord[]): HTMLTableElement {
  return h(
    'table',
    { class: 'grid journal' },
    h('caption', null, caption),
    h('thead', null, h('tr', null, ['#', 'Time', 'Dir.', 'Node', 'Type', 'Control id', 'Keys', 'ACK', 'Outcome'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map(journalRow)),
  );
}

export async function showJournal(ctx: Context, params: URLSearchParams): Promise<View> {
  const values = Object.fromEntries(FILTERS.map((f) => [f.name, params.get(f.name) ?? '']));
  const form = h(
    'form',
    { class: 'search', role: 'search', 'aria-label': 'Search the journal' },
    h('div', { class: 'fields' }, FILTERS.slice(0, MAIN_FILTERS).map((f) => control(f, values[f.name]))),
    h(
      'details',
      { class: 'more-filters', open: FILTERS.slice(MAIN_FILTERS).some((f) => values[f.name]) },
      h('summary', null, 'More filters: type, event, node, direction, ACK code, outcome'),
      h('div', { class: 'fields' }, FILTERS.slice(MAIN_FILTERS).map((f) => control(f, values[f.name]))),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Search'), h('button', { type: 'button', onclick: () => (location.hash = '#journal') }, 'Clear')),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const q: Record<string, string> = {};
    for (const f of FILTERS) {
      const v = String(data.get(f.name) ?? '').trim();
      if (v) q[f.name] = f.kind === 'datetime' ? toIso(v) : v;
    }
    const next = `#journal${query(q)}`;
    if (location.hash === next) void showJournal(ctx, new URLSearchParams(query(q))).catch(ctx.fail);
    else location.hash = next;
  });
  const results = h('section', { class: 'results', 'aria-live': 'polite', 'aria-busy': 'true' });
  fill(ctx.root, h('h2', null, 'Journal'), form, results);

  const filters: Record<string, string> = {};
  for (const f of FILTERS) if (values[f.name]) filters[f.name] = values[f.name];
  const rows: JournalRecord[] = [];
  const more = async (before: number | null) => {
    const page = await get<JournalPage>(`/journal${query({ ...filters, before, limit: 50 })}`);
    rows.push(...page.entries);
    const summary = Object.keys(filters).length ? `${rows.length} exchange(s) matching ${Object.entries(filters).map(([k, v]) => `${k}=${v}`).join(', ')}` : `the ${rows.length} latest exchange(s)`;
    fill(
      results,
      rows.length ? journalTable(summary, rows) : h('p', { class: 'empty' }, 'No exchange matches.'),
      page.next !== null ? h('button', { type: 'button', onclick: () => void more(page.next).catch(ctx.fail) }, 'Older') : null,
    );
    results.setAttribute('aria-busy', 'false');
  };
  await more(null);
  return {};
}
