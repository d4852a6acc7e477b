// Building the page with the DOM only: every value is set as text (HL7 fields and CDA traits are data,
// never markup), attributes with setAttribute, handlers with addEventListener.

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** An element: h('td', {class: 'x'}, 'text', h('b', null, 'more')). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (name === 'value' && 'value' in el) (el as HTMLInputElement).value = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces the children of `parent`. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A time as a person at the console reads it: local date and time to the second. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A definition list from [label, value] pairs (empty values left out). */
export function facts(pairs: [string, Child][]): HTMLDListElement {
  const dl = h('dl', { class: 'facts' });
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === '' || value === false) continue;
    append(dl, [h('dt', null, label), h('dd', null, value)]);
  }
  return dl;
}

/** A table with a caption, header cells and rows. */
export function table(caption: string | null, head: string[], rows: Child[][], attrs: Attrs = {}): HTMLTableElement {
  return h(
    'table',
    { class: 'grid', ...attrs },
    caption ? h('caption', null, caption) : null,
    h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))),
  );
}

/** An ACK code shown with its meaning in words (colour is not the only sign). */
export function ackBadge(code: string | null | undefined): HTMLElement {
  if (!code) return h('span', { class: 'badge none' }, '—');
  const c = code.toUpperCase();
  const kind = c === 'AA' || c === 'CA' ? 'ok' : c === 'AE' || c === 'CE' ? 'warn' : 'bad';
  return h('span', { class: `badge ${kind}`, title: ACK_TEXT[c] ?? c }, c);
}

const ACK_TEXT: Record<string, string> = {
  AA: 'accepted', CA: 'accepted (commit)', AE: 'error', CE: 'error (commit)', AR: 'rejected', CR: 'rejected (commit)',
};

/** An outcome as a badge. */
export function outcomeBadge(outcome: string): HTMLElement {
  const bad = ['refused', 'rejected', 'failed', 'not-acknowledged'];
  const warn = ['to-reconcile', 'duplicate', 'out-of-date', 'ignored', 'cancelled'];
  return h('span', { class: `badge ${bad.includes(outcome) ? 'bad' : warn.includes(outcome) ? 'warn' : 'ok'}` }, outcome);
}
