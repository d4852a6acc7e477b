// The reconciliation worklist (identity vigilance): documents cda-ingest could not preselect. A task shows
// the document's traits beside the local candidates, the differences marked (in words, not by colour
// only), the PDF in the page; the person attaches it to an identity or rejects it with a reason. What
// the page showed is sent with the decision (`seen`) and kept in the audit trail.
import { ApiError, blobUrl, get, post, query } from './api';
import { facts, fill, h, table, when, type Child } from './dom';
import type { Context, View } from './main';
import { documentFacts } from './message';
import type { Candidate, DocumentTraits, TaskDetail, TaskSummary } from './types';

const REASONS: Record<string, string> = {
  'traits-mismatch': 'the traits differ from the identity found',
  'unknown-patient': 'no local identity found',
  'ins-not-qualified': 'the local identity\'s INS is not qualifiée',
  'ipp-only': 'found by IPP only',
  none: 'no identifier to match on',
  'ins-invalid': 'the INS is not valid',
  'ins-ambiguous': 'the INS matches several identities',
  'ins-incomplete': 'the INS lacks its OID or traits',
  'ipp-conflict': 'the IPP and the INS name different identities',
  'carrier-mismatch': 'the message and the document name different patients',
};

/** The traits compared, in the order the identity vigilance reads them. */
const TRAITS: [key: keyof DocumentTraits & string, label: string][] = [
  ['birthName', 'Birth name (nom de naissance)'],
  ['firstNames', 'First names (prénoms)'],
  ['firstName', 'First name (premier prénom)'],
  ['usedName', 'Used name (nom utilisé)'],
  ['birthDate', 'Birth date'],
  ['sex', 'Sex'],
  ['birthPlace', 'Birth place (INSEE code)'],
];

export async function showWorklist(ctx: Context, params: URLSearchParams): Promise<View> {
  const status = params.get('status') ?? 'open';
  const page = await get<{ tasks: TaskSummary[]; next: number | null }>(`/tasks${query({ status, limit: 200 })}`);
  const tabs = h(
    'nav',
    { class: 'filters', 'aria-label': 'Task status' },
    ['open', 'attached', 'rejected', 'all'].map((s) => h('a', { href: `#worklist?status=${s}`, ...(s === status ? { 'aria-current': 'page' } : {}) }, s)),
  );
  fill(
    ctx.root,
    h('h2', null, 'Reconciliation worklist'),
    h('p', { class: 'hint' }, 'Documents received that cda-ingest could not attach to a patient by itself. Nothing is attached automatically.'),
    tabs,
    page.tasks.length
      ? h(
          'table',
          { class: 'grid tasks' },
          h('caption', null, `${page.tasks.length}${page.next !== null ? '+' : ''} task(s) ${status === 'all' ? '' : status}`),
          h('thead', null, h('tr', null, ['Task', 'Received', 'Reason', 'Document', 'Patient (document)', 'Status'].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            null,
            page.tasks.map((t) => {
              const p = t.document?.patient;
              return h(
                'tr',
                { 'data-task': t.id },
                h('td', null, h('a', { href: `#task/${t.id}` }, `Task ${t.id}`)),
                h('td', null, when(t.createdAt)),
                h('td', null, h('span', { class: 'badge warn' }, t.reason), h('div', { class: 'sub' }, t.reasonText || REASONS[t.reason] || '')),
                h('td', null, t.document?.title ?? '', h('div', { class: 'sub mono' }, t.documentId)),
                h('td', null, p ? [p.birthName, p.firstName ?? p.firstNames].filter(Boolean).join(' ') : '', h('div', { class: 'sub' }, p?.birthDate ?? '')),
                h('td', null, t.status, t.decidedBy ? h('div', { class: 'sub' }, `by ${t.decidedBy}`) : null),
              );
            }),
          ),
        )
      : h('p', { class: 'empty' }, status === 'open' ? 'No task to do.' : 'No task.'),
  );
  return {};
}

/** The traits table: the document, then each candidate; a differing cell says so in words. */
function comparison(traits: DocumentTraits, candidates: Candidate[]): HTMLTableElement {
  const head = ['Trait', 'Document', ...candidates.map((c) => `Candidate ${c.identity?.ipp ?? c.key}`)];
  const rows: Child[][] = TRAITS.map(([key, label]) => [
    h('span', null, label),
    String(traits[key] ?? ''),
    ...candidates.map((c) => {
      const value = c.identity ? String((c.identity as Record<string, unknown>)[key] ?? '') : '';
      const differs = c.differences.some((d) => d.trait === key);
      return differs ? h('span', { class: 'diff' }, h('span', { class: 'diff-mark' }, 'differs: '), value || '(empty)') : value;
    }),
  ]);
  rows.push([
    'INS',
    traits.ins ? traits.ins.value : '',
    ...candidates.map((c) => (c.identity ? (c.identity.ins ? `${c.identity.ins} (qualifiée)` : `— (${c.identity.qualified ? 'qualifiée' : 'not qualifiée'})`) : '')),
  ]);
  rows.push(['Identity status', '', ...candidates.map((c) => (c.identity ? c.identity.status : 'not in the registry'))]);
  rows.push(['Found by', '', ...candidates.map((c) => c.via + (c.mergedInto ? ` (merged into ${c.mergedInto})` : ''))]);
  const t = table('Document traits beside the local identities', head, rows, { class: 'grid compare' });
  // mark the cells that differ (for the highlight) once the table is built
  for (const cell of t.querySelectorAll('td')) if (cell.querySelector('.diff')) cell.classList.add('differs');
  return t;
}

function decisionPanel(ctx: Context, detail: TaskDetail, candidates: Candidate[], reload: () => void): HTMLElement {
  const t = detail.task;
  const section = h('section', { class: 'decision', 'aria-labelledby': 'decision-title' }, h('h3', { id: 'decision-title' }, 'Decision'));
  if (t.status !== 'open') {
    section.append(
      facts([
        ['Status', t.status],
        ['Attached to', t.decision?.attach ?? ''],
        ['Asked', t.decision?.asked && t.decision.asked !== t.decision.attach ? t.decision.asked : ''],
        ['Reason', t.decision?.reject ?? ''],
        ['By', t.decidedBy ?? ''],
        ['When', when(t.decidedAt)],
      ]),
    );
    return section;
  }
  if (!ctx.me.permissions.write) {
    section.append(h('p', { class: 'hint' }, 'Deciding needs the permission segur-dpi.write.'));
    return section;
  }
  const result = h('div', { role: 'status', 'aria-live': 'polite', class: 'decision-result' });
  const seen = () => ({
    traits: t.traits,
    reason: t.reason,
    candidates: candidates.map((c) => ({ key: c.key, via: c.via, identity: c.identity, differences: c.differences })),
  });
  const decide = (body: Record<string, unknown>, what: string) => {
    for (const b of section.querySelectorAll('button')) b.disabled = true;
    fill(result, `${what}…`);
    post<{ task: TaskSummary }>(`/tasks/${t.id}/decision`, { ...body, seen: seen() })
      .then(() => reload())
      .catch((err: unknown) => {
        // decided meanwhile (another person, another tab): the first decision stands, show it
        if (err instanceof ApiError && err.code === 'already-decided') return reload();
        for (const b of section.querySelectorAll('button')) b.disabled = false;
        fill(result, h('p', { class: 'problem', role: 'alert' }, err instanceof ApiError ? `${err.message} (${err.status} ${err.code})` : String(err)));
      });
  };
  // attach: one button per candidate the registry holds, each asking for a confirmation
  const attach = h('div', { class: 'attach' });
  for (const c of candidates.filter((x) => x.identity)) {
    const id = c.identity!;
    const label = `${id.birthName ?? ''} ${id.firstName ?? ''}, born ${id.birthDate ?? '?'} — IPP ${id.ipp}`;
    const confirm = h(
      'div',
      { class: 'confirm', hidden: true },
      h('p', null, `Attach this document to ${label}?`, c.differences.length ? h('strong', null, ` ${c.differences.length} trait(s) differ.`) : null),
      h('button', { type: 'button', class: 'primary', 'data-confirm': c.key, onclick: () => decide({ attach: c.key }, 'Attaching') }, 'Yes, attach'),
      h('button', { type: 'button', onclick: () => (confirm.hidden = true) }, 'Cancel'),
    );
    attach.append(h('div', { class: 'candidate-action' }, h('button', { type: 'button', 'data-attach': c.key, onclick: () => (confirm.hidden = false) }, `Attach to IPP ${id.ipp}`), confirm));
  }
  const reason = h('textarea', { id: 'reject-reason', rows: 2, maxlength: 500, required: true });
  const reject = h(
    'form',
    { class: 'reject' },
    h('label', { for: 'reject-reason' }, 'Or reject it, with a reason (kept in the audit trail)'),
    reason,
    h('button', { type: 'submit', id: 'reject' }, 'Reject'),
  );
  reject.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (reason.value.trim()) decide({ reject: reason.value.trim() }, 'Rejecting');
  });
  section.append(attach, reject, result);
  return section;
}

function searchCandidate(ctx: Context, taskId: number, add: (c: Candidate) => void): HTMLElement {
  const input = h('input', { id: 'candidate-ipp', name: 'ipp', spellcheck: 'false', autocomplete: 'off', placeholder: 'IPP or <authority OID>|<IPP>' });
  const problem = h('span', { class: 'problem-inline', role: 'status' });
  const form = h(
    'form',
    { class: 'candidate-search' },
    h('label', { for: 'candidate-ipp' }, 'Another local identity'),
    input,
    h('button', { type: 'submit' }, 'Show beside the document'),
    problem,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    fill(problem);
    if (!input.value.trim()) return;
    get<Candidate>(`/tasks/${taskId}/candidate${query({ ipp: input.value.trim() })}`)
      .then(add)
      .catch((err: unknown) => fill(problem, err instanceof ApiError && err.status === 404 ? 'The registry holds no such identity.' : String((err as Error).message)));
  });
  return form;
}

let pdfUrl: string | null = null;

export async function showTask(ctx: Context, id: number): Promise<View> {
  const detail = await get<TaskDetail>(`/tasks/${id}`);
  const t = detail.task;
  const candidates = [...detail.candidates];
  const reload = () => void showTask(ctx, id).catch(ctx.fail);
  const compare = h('div', { class: 'compare-wrap' });
  const decision = h('div');
  const redraw = () => {
    fill(compare, comparison(t.traits, candidates));
    fill(decision, decisionPanel(ctx, detail, candidates, reload));
  };
  const pdf = h('section', { class: 'pdf', 'aria-labelledby': 'pdf-title' }, h('h3', { id: 'pdf-title' }, 'The document'));
  fill(
    ctx.root,
    h('p', { class: 'back' }, h('a', { href: '#worklist' }, '← Worklist')),
    h('h2', null, `Task ${t.id}: ${t.document?.title ?? t.documentId}`),
    h('p', { class: 'reason' }, h('span', { class: 'badge warn' }, t.reason), ' ', t.reasonText || REASONS[t.reason] || ''),
    h(
      'div',
      { class: 'task-grid' },
      h(
        'div',
        null,
        compare,
        t.status === 'open' ? searchCandidate(ctx, t.id, (c) => {
          if (!candidates.some((x) => x.key === c.key)) candidates.push(c);
          redraw();
        }) : null,
        decision,
        h('section', null, h('h3', null, 'Archived document'), detail.document ? documentFacts(detail.document) : h('p', { class: 'empty' }, 'Not in the archive.')),
        t.journalId ? h('p', null, h('a', { href: `#message/${t.journalId}` }, 'The message that brought it')) : null,
      ),
      pdf,
    ),
  );
  redraw();
  // the PDF, fetched with the token and shown from a blob: URL (the page's CSP allows frame-src blob:)
  if (pdfUrl) URL.revokeObjectURL(pdfUrl);
  pdfUrl = null;
  if (detail.document?.pdfBytes) {
    try {
      pdfUrl = await blobUrl(`/tasks/${id}/pdf`);
      pdf.append(
        h('iframe', { src: pdfUrl, title: `PDF of task ${id}`, class: 'pdf-frame' }),
        h('p', null, h('a', { href: pdfUrl, target: '_blank', rel: 'noopener' }, 'Open the PDF in a tab of its own')),
      );
    } catch (err) {
      pdf.append(h('p', { class: 'problem' }, `The PDF could not be loaded: ${(err as Error).message}`));
    }
  } else {
    pdf.append(h('p', { class: 'empty' }, 'This document has no PDF (a structured document: read its CDA).'));
  }
  return {
    leave() {
      if (pdfUrl) URL.revokeObjectURL(pdfUrl);
      pdfUrl = null;
    },
  };
}
