// One exchange of the journal: what it was (keys, ACK, outcome), its segments field by field with the
// names of the HL7 tables (the API lays them out), the answer, what it changed, and Replay — which sends
// it again through the node that handled it and says what came of it ("already applied: nothing changed").
import { ApiError, blobUrl, get, post } from './api';
import { ackBadge, facts, fill, h, outcomeBadge, table, when, type Child } from './dom';
import { journalTable } from './journal';
import type { Context, View } from './main';
import type { DocumentSummary, JourneyEntry, LayoutField, MessageDetail, MessageLayout, ReplayAnswer, TaskSummary } from './types';

const NOT_REPLAYABLE: Record<string, string> = {
  'bytes-pruned': 'its bytes were pruned (older than the raw retention)',
  'no-bytes': 'no bytes were kept for it',
  'node-gone': 'the node that handled it is not deployed, or replays nothing',
};

/** What the node noted (action, method, address, error…: never patient data), as "key: value" pairs. */
function detailText(detail: Record<string, unknown> | null): string {
  if (!detail) return '';
  return Object.entries(detail)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}

/** A field's value: the components of each repetition when it has some, else the value as sent. */
function fieldValue(f: LayoutField): Child {
  if (f.length !== undefined) return h('span', { class: 'mono' }, f.value, h('span', { class: 'sub' }, ` … (${f.length.toLocaleString('en')} characters)`));
  if (!f.repetitions) return h('span', { class: 'mono' }, f.value);
  return h(
    'ol',
    { class: 'reps', 'aria-label': `${f.position} repetitions` },
    f.repetitions.map((rep, r) =>
      h('li', null, h('ol', { class: 'comps' }, rep.map((c, i) => (c === '' ? null : h('li', { value: i + 1 }, h('span', { class: 'pos' }, `${f.position}${f.repetitions!.length > 1 ? `[${r + 1}]` : ''}.${i + 1}`), ' ', h('span', { class: 'mono' }, c)))))),
    ),
  );
}

export function layoutView(title: string, layout: MessageLayout | null, bytes: number | null, rawPath: string): HTMLElement {
  const section = h('section', { class: 'layout', 'aria-label': title }, h('h3', null, title));
  if (!layout) {
    section.append(h('p', { class: 'empty' }, bytes === null ? 'Not kept (pruned after the raw retention, or there was none).' : 'None.'));
    return section;
  }
  const download = h('button', { type: 'button', class: 'link' }, `Download the bytes (${bytes ?? '?'} bytes)`);
  download.addEventListener('click', () => {
    void blobUrl(rawPath).then((url) => {
      const a = h('a', { href: url, download: rawPath.replace(/\W+/g, '-').replace(/^-|-$/g, '') + '.hl7' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    });
  });
  section.append(h('p', null, download, layout.encoding ? h('span', { class: 'sub' }, ` — ${layout.encoding}`) : null));
  if (!layout.segments.length) {
    section.append(h('p', { class: 'problem' }, `Not HL7: ${layout.error ?? ''}`), h('pre', { class: 'raw' }, layout.text ?? ''));
    return section;
  }
  for (const s of layout.segments) {
    section.append(
      h(
        'table',
        { class: 'grid segment' },
        h('caption', null, h('span', { class: 'seg' }, s.segment), s.occurrence > 1 ? ` #${s.occurrence}` : '', s.name ? ` — ${s.name}` : ''),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Value'))),
        h('tbody', null, s.fields.map((f) => h('tr', null, h('th', { scope: 'row', class: 'mono' }, f.position), h('td', null, f.name || '—'), h('td', null, fieldValue(f))))),
      ),
    );
  }
  return section;
}

export function documentFacts(d: DocumentSummary): HTMLDListElement {
  const p = d.patient;
  return facts([
    ['Document', h('span', { class: 'mono' }, d.id)],
    ['Title', d.title ?? ''],
    ['Type', [d.typeLabel, d.typeCode ? `(${d.typeCode})` : ''].filter(Boolean).join(' ')],
    ['Origin', d.origin],
    ['Status', d.status],
    ['Effective', when(d.effectiveTime)],
    ['Archived', when(d.archivedAt)],
    ['Patient', p ? [p.birthName, p.firstName ?? p.firstNames, p.birthDate, p.sex].filter(Boolean).join(' · ') : ''],
    ['IPP', p?.ipp ? `${p.ipp.id} (${p.ipp.oid})` : d.ippKey ?? ''],
    ['INS', p?.ins ? `${p.ins.value}${p.insQualified ? ' — qualifiée' : ' — not qualified'}` : ''],
  ]);
}

export const JOURNEY_STEPS = ['sent', 'ack', 'dmp-received', 'mssante-received', 'mssante-read'];
const STEP_LABEL: Record<string, string> = { sent: 'Sent', ack: 'PFI ACK', 'dmp-received': 'DMP received', 'mssante-received': 'MSSanté received', 'mssante-read': 'MSSanté read' };
export const stepLabel = (s: string) => STEP_LABEL[s] ?? s;

export function journeyTable(journey: JourneyEntry[]): HTMLElement {
  if (!journey.length) return h('p', { class: 'empty' }, 'No journey recorded.');
  return table(
    'Journey',
    ['Step', 'When', 'Result', 'Control id'],
    journey.map((j) => [stepLabel(j.step), when(j.at), h('span', { class: `badge ${j.ok ? 'ok' : 'bad'}` }, j.ok ? 'ok' : 'failed'), j.controlId ?? '']),
  );
}

function taskLine(t: TaskSummary): HTMLElement {
  return h('p', null, h('a', { href: `#task/${t.id}` }, `Reconciliation task ${t.id}`), ` — ${t.reason}, ${t.status}${t.decidedBy ? ` by ${t.decidedBy}` : ''}`);
}

function changedView(d: MessageDetail): HTMLElement {
  const c = d.changed;
  const section = h('section', { class: 'changed', 'aria-labelledby': 'changed-title' }, h('h3', { id: 'changed-title' }, 'What it changed'));
  if (!c.history.length && !c.document && !c.journey.length && !c.task) section.append(h('p', { class: 'empty' }, 'Nothing recorded by this exchange.'));
  if (c.history.length) {
    section.append(
      table(
        'Identity history entries written',
        ['Seq', 'Event', 'Event time', 'Status', 'Applied', 'Sender', 'Control id', 'Recorded'],
        c.history.map((e) => [String(e.seq ?? ''), e.event ?? '', when(e.eventTime), e.status ?? '', e.applied ? 'yes' : 'no', e.sender ?? '', e.controlId ?? '', when(e.recordedAt)]),
      ),
    );
  }
  if (c.document) section.append(h('h4', null, 'Archived document'), documentFacts(c.document));
  if (c.journey.length) section.append(journeyTable(c.journey));
  if (c.task) section.append(taskLine(c.task));
  return section;
}

function replayView(ctx: Context, d: MessageDetail, reload: () => void): HTMLElement {
  const result = h('div', { class: 'replay-result', role: 'status', 'aria-live': 'polite' });
  const section = h('section', { class: 'replay', 'aria-labelledby': 'replay-title' }, h('h3', { id: 'replay-title' }, 'Replay'));
  if (!ctx.me.permissions.write) {
    section.append(h('p', { class: 'hint' }, 'Replaying needs the permission segur-dpi.write.'), h('button', { type: 'button', id: 'replay', disabled: true }, 'Replay'));
    return section;
  }
  if (!d.replayable) {
    section.append(h('p', { class: 'hint' }, `Cannot be replayed: ${NOT_REPLAYABLE[d.notReplayable ?? ''] ?? d.notReplayable ?? ''}.`), h('button', { type: 'button', id: 'replay', disabled: true }, 'Replay'));
    return section;
  }
  const button = h('button', { type: 'button', id: 'replay', class: 'primary' }, 'Replay');
  const send = () => {
    button.disabled = true;
    fill(result, 'Replaying…');
    post<ReplayAnswer>(`/journal/${d.entry.id}/replay`, {})
      .then((r) => {
        fill(
          result,
          h('p', { class: r.changed ? 'done' : 'same' }, h('strong', null, r.text)),
          facts([
            ['Outcome', outcomeBadge(r.outcome)],
            ['Changed', r.changed ? 'yes' : 'no'],
            ['ACK', r.ack ? [ackBadge(r.ack.code), ' ', r.ack.text] : ''],
            ['New row', r.replay ? h('a', { href: `#message/${r.replay.id}` }, `#${r.replay.id}`) : ''],
          ]),
          h('button', { type: 'button', class: 'link', onclick: reload }, 'Show the replays'),
        );
      })
      .catch((err: unknown) => {
        fill(result, h('p', { class: 'problem', role: 'alert' }, err instanceof ApiError ? `${err.message} (${err.status} ${err.code})` : String(err)));
      })
      .finally(() => (button.disabled = false));
  };
  // mllp-out sends to another system again, and mllp-in passes on to the nodes behind it: asked twice
  const outward = d.entry.node.type === 'mllp-out' ? `to ${String(d.entry.detail?.address ?? d.entry.receiver ?? 'the address it went to')}` : d.entry.node.type === 'mllp-in' ? 'to the nodes behind it' : null;
  const confirm = h(
    'div',
    { class: 'confirm', hidden: true },
    h('p', null, `This sends the message again ${outward ?? ''}: the receiver may not recognise it as a repeat. Send it?`),
    h('button', { type: 'button', class: 'primary', id: 'replay-confirm', onclick: () => ((confirm.hidden = true), send()) }, 'Yes, send it again'),
    h('button', { type: 'button', onclick: () => (confirm.hidden = true) }, 'Cancel'),
  );
  button.addEventListener('click', () => (outward ? (confirm.hidden = false) : send()));
  section.append(
    h(
      'p',
      { class: 'hint' },
      outward
        ? ['Sends this message again ', outward, ' (', d.entry.node.name || d.entry.node.id, ').']
        : ['Sends this message again through the node that handled it (', d.entry.node.name || d.entry.node.id, '). Its idempotence rules apply: a message already applied changes nothing.'],
    ),
    button,
    confirm,
    result,
  );
  return section;
}

export async function showMessage(ctx: Context, id: number): Promise<View> {
  const d = await get<MessageDetail>(`/journal/${id}`);
  const e = d.entry;
  const reload = () => void showMessage(ctx, id).catch(ctx.fail);
  fill(
    ctx.root,
    h('p', { class: 'back' }, h('a', { href: '#journal' }, '← Journal')),
    h('h2', null, `${[e.type, e.event].filter(Boolean).join('^') || e.kind} ${e.controlId ?? ''} — exchange #${e.id}`),
    h(
      'div',
      { class: 'summary' },
      facts([
        ['Time', when(e.at)],
        ['Direction', e.direction === 'in' ? 'received by the layer' : 'sent or produced by the layer'],
        ['Node', `${e.node.name || e.node.id} (${e.node.type})`],
        ['Sender', e.sender ?? ''],
        ['Receiver', e.receiver ?? ''],
        ['Outcome', outcomeBadge(e.outcome)],
        ['IPP', e.keys.ippKey ?? e.keys.ipp ?? ''],
        ['INS', e.keys.ins ?? ''],
        ['Document', e.keys.documentId ?? ''],
        ['Encounter', e.keys.encounter ?? ''],
        ['Follows from', e.parentId ? h('a', { href: `#message/${e.parentId}` }, `#${e.parentId}`) : ''],
        ['Details', detailText(e.detail)],
        ['Replay of', d.original ? h('a', { href: `#message/${d.original.id}` }, `#${d.original.id}`) : ''],
        ['Replayed by', e.actor ?? ''],
      ]),
      h(
        'div',
        { class: 'ack' },
        h('h3', null, 'Answer'),
        e.ack
          ? [
              h('p', null, ackBadge(e.ack.code), ' ', e.ack.text ?? ''),
              e.ack.errors?.length ? table('Errors (ERR)', ['Code', 'Location', 'Severity', 'Text'], e.ack.errors.map((x) => [x.code, x.location ?? '', x.severity ?? '', x.text ?? ''])) : null,
            ]
          : h('p', { class: 'empty' }, 'No answer.'),
      ),
    ),
    replayView(ctx, d, reload),
    d.replays.length ? journalTable('Replays of this exchange', d.replays) : null,
    changedView(d),
    layoutView('Message', d.message, d.bytes.message, `/journal/${id}/raw?part=message`),
    layoutView('Answer (ACK)', d.answer, d.bytes.answer, `/journal/${id}/raw?part=answer`),
  );
  return {};
}
