// The dashboard: the last 24 hours per node (messages in/out, AA/AE/AR, documents), what the running nodes
// report now (open MLLP connections, mllp-out's queue and last error), the alerts of segur-monitor nodes,
// and the journey of the latest documents produced. Refreshed on its own every few seconds.
import { get, query } from './api';
import { facts, fill, h, table, when, type Child } from './dom';
import type { Context, View } from './main';
import { JOURNEY_STEPS, stepLabel } from './message';
import type { Dashboard, Figure, JournalPage, JourneyEntry } from './types';

/** How often the dashboard asks again (ms). */
const REFRESH_MS = 5000;
const COUNTS: [keyof Figure, string][] = [
  ['messagesIn', 'In'],
  ['messagesOut', 'Out'],
  ['AA', 'AA'],
  ['AE', 'AE'],
  ['AR', 'AR'],
  ['produced', 'Produced'],
  ['received', 'Received'],
  ['preselected', 'Preselected'],
  ['toReconcile', 'To reconcile'],
];

function nodeLabel(f: { nodeName?: string; node: string; nodeType?: string }): Child {
  return [f.nodeName || f.node, f.nodeType ? h('div', { class: 'sub' }, f.nodeType) : null];
}

function count(n: number, key: string): Child {
  if (!n) return h('span', { class: 'zero' }, '0');
  return h('span', { class: (key === 'AE' || key === 'AR') ? 'warn-num' : key === 'toReconcile' ? 'todo-num' : '' }, n.toLocaleString('en'));
}

function totals(figures: Figure[]): HTMLTableElement {
  const byNode = new Map<string, Figure>();
  for (const f of figures) {
    const t = byNode.get(f.node) ?? { ...f, hour: '', ...Object.fromEntries(COUNTS.map(([k]) => [k, 0])) };
    for (const [k] of COUNTS) (t[k] as number) += f[k] as number;
    byNode.set(f.node, t);
  }
  const rows = [...byNode.values()].map((t) => [nodeLabel(t), ...COUNTS.map(([k]) => count(t[k] as number, k))]);
  return table('Per node over the period', ['Node', ...COUNTS.map(([, l]) => l)], rows, { class: 'grid figures totals', id: 'totals' });
}

function hourly(figures: Figure[]): HTMLElement {
  const rows = [...figures]
    .sort((a, b) => b.hour.localeCompare(a.hour) || a.node.localeCompare(b.node))
    .map((f) => [when(f.hour).slice(0, 16), nodeLabel(f), ...COUNTS.map(([k]) => count(f[k] as number, k))]);
  return h('details', { class: 'hourly' }, h('summary', null, 'Per node and per hour'), table(null, ['Hour', 'Node', ...COUNTS.map(([, l]) => l)], rows, { class: 'grid figures' }));
}

function liveView(d: Dashboard): HTMLElement {
  if (!d.live.length) return h('p', { class: 'empty' }, 'No MLLP node running.');
  const rows = d.live.map((l) => {
    const v = l.values;
    const err = v.lastError as { code?: string; message?: string; at?: string } | null | undefined;
    const state =
      l.type === 'mllp-in'
        ? `${v.listening ? 'listening' : 'not listening'} on port ${v.port ?? '?'}`
        : String(v.state ?? '');
    return [
      nodeLabel({ node: l.node, nodeName: l.name, nodeType: l.type }),
      state,
      String(v.connections ?? (l.type === 'mllp-in' ? 0 : '')),
      l.type === 'mllp-out' ? count(Number(v.queue ?? 0), 'queue') : '',
      err ? h('span', { class: 'problem-inline' }, `${err.code ?? ''} ${err.message ?? ''}`, h('div', { class: 'sub' }, when(err.at))) : '',
      when(l.at),
    ];
  });
  return table(null, ['Node', 'State', 'Open connections', 'Queue', 'Last error', 'Reported'], rows, { class: 'grid live', id: 'live' });
}

function alertsView(d: Dashboard): HTMLElement {
  const all = d.alerts.flatMap((m) => m.alerts.map((a) => ({ monitor: m.name || m.node, ...a })));
  if (!all.length) return h('p', { class: 'empty' }, 'No alert rule (add a segur-monitor node to raise alerts).');
  return table(
    null,
    ['Monitor', 'Rule', 'State', 'Value', 'Threshold', 'Since', ''],
    all
      .sort((a, b) => (a.state === b.state ? 0 : a.state === 'raised' ? -1 : 1))
      .map((a) => [a.monitor, a.rule, h('span', { class: `badge ${a.state === 'raised' ? 'bad' : 'ok'}` }, a.state === 'raised' ? 'RAISED' : 'ok'), a.value === null ? '' : String(a.value), String(a.threshold), when(a.since), a.text]),
    { class: 'grid alerts', id: 'alerts' },
  );
}

async function journeysView(): Promise<HTMLElement> {
  const produced = await get<JournalPage>(`/journal${query({ outcome: 'produced', limit: 10 })}`);
  const ids = [...new Set(produced.entries.map((e) => e.keys.documentId).filter((x): x is string => !!x))];
  if (!ids.length) return h('p', { class: 'empty' }, 'No document produced in the journal.');
  const journeys = await Promise.all(
    ids.map((id) =>
      get<{ journey: JourneyEntry[]; document: { title: string | null } | null }>(`/documents/${encodeURIComponent(id)}/journey`).catch(() => ({ journey: [] as JourneyEntry[], document: null })),
    ),
  );
  const rows = ids.map((id, i) => {
    const j = journeys[i];
    const cell = (step: string): Child => {
      const e = [...j.journey].reverse().find((x) => x.step === step);
      if (!e) return h('span', { class: 'zero', title: 'not yet' }, '—');
      return h('span', { class: `badge ${e.ok ? 'ok' : 'bad'}`, title: when(e.at) }, e.ok ? `✓ ${when(e.at).slice(11)}` : `✗ ${when(e.at).slice(11)}`);
    };
    const row = produced.entries.find((e) => e.keys.documentId === id);
    return [
      h('a', { href: `#journal?documentId=${encodeURIComponent(id)}` }, j.document?.title || id),
      h('span', { class: 'badge ok', title: when(row?.at) }, `✓ ${when(row?.at).slice(11)}`),
      ...JOURNEY_STEPS.map(cell),
    ];
  });
  return table("Latest documents' journey", ['Document', 'Produced', ...JOURNEY_STEPS.map(stepLabel)], rows, { class: 'grid journeys', id: 'journeys' });
}

export async function showDashboard(ctx: Context): Promise<View> {
  const body = h('div', { class: 'dashboard', 'aria-live': 'off' });
  const stamp = h('p', { class: 'hint', id: 'refreshed', role: 'status' });
  fill(ctx.root, h('h2', null, 'Dashboard'), stamp, body);
  let timer: number | undefined;
  let stopped = false;
  const refresh = async () => {
    const d = await get<Dashboard>('/dashboard');
    const journeys = await journeysView();
    if (stopped) return;
    const raised = d.alerts.flatMap((m) => m.alerts).filter((a) => a.state === 'raised').length;
    fill(
      body,
      h(
        'div',
        { class: 'tiles' },
        h('div', { class: `tile ${raised ? 'bad' : 'ok'}`, id: 'tile-alerts' }, h('span', { class: 'big' }, String(raised)), ' alert(s) raised'),
        h('a', { class: `tile ${d.tasks.open ? 'warn' : 'ok'}`, href: '#worklist', id: 'tile-tasks' }, h('span', { class: 'big' }, String(d.tasks.open)), ' document(s) to reconcile'),
        h('div', { class: 'tile', id: 'tile-in' }, h('span', { class: 'big' }, String(d.figures.reduce((n, f) => n + f.messagesIn, 0))), ' message(s) in, 24 h'),
        h('div', { class: 'tile', id: 'tile-out' }, h('span', { class: 'big' }, String(d.figures.reduce((n, f) => n + f.messagesOut, 0))), ' message(s) out, 24 h'),
      ),
      h('section', null, h('h3', null, 'Alerts'), alertsView(d)),
      h('section', null, h('h3', null, 'MLLP'), liveView(d)),
      h('section', null, h('h3', null, `Messages and documents, ${when(d.from).slice(0, 16)} to ${when(d.to).slice(0, 16)}`), d.figures.length ? [totals(d.figures), hourly(d.figures)] : h('p', { class: 'empty' }, 'No message in the period.')),
      h('section', null, h('h3', null, 'Document journeys'), journeys),
      h(
        'section',
        null,
        h('h3', null, 'Journal'),
        facts([
          ['Rows', d.journal.rows.toLocaleString('en')],
          ['Rows with their bytes', d.journal.rawRows.toLocaleString('en')],
          ['Oldest', when(d.journal.oldest)],
          ['File', d.journal.pages && d.journal.pageSize ? `${((d.journal.pages * d.journal.pageSize) / 1048576).toFixed(1)} MiB (${(((d.journal.freePages ?? 0) * d.journal.pageSize) / 1048576).toFixed(1)} MiB free)` : ''],
        ]),
      ),
    );
    fill(stamp, `Updated ${when(new Date().toISOString())}, every ${REFRESH_MS / 1000} s.`);
    const open = document.getElementById('open-tasks');
    if (open) open.textContent = d.tasks.open ? String(d.tasks.open) : '';
  };
  const loop = () => {
    refresh()
      .catch((err) => {
        if (!stopped) ctx.fail(err);
      })
      .finally(() => {
        if (!stopped) timer = window.setTimeout(loop, REFRESH_MS);
      });
  };
  await refresh();
  timer = window.setTimeout(loop, REFRESH_MS);
  return {
    leave() {
      stopped = true;
      window.clearTimeout(timer);
    },
  };
}
