// msg.summary as issue 12 asks it: one line for the debug pane, without patient data.
import { strict as assert } from 'node:assert';

/**
 * Asserts that `msg` carries a one-line msg.summary, holds every text of `has` and none of `not` (the
 * patient's names, birth date in every form, INS…), compared without case. Returns it.
 */
export function assertSummary(msg: { summary?: unknown } | null | undefined, opts: { has?: (string | RegExp)[]; not?: (string | null | undefined)[] } = {}): string {
  assert.ok(msg, 'a message');
  const s = msg.summary;
  assert.equal(typeof s, 'string', `msg.summary is a string: ${JSON.stringify(s)}`);
  const line = s as string;
  assert.ok(line.trim().length > 0, 'msg.summary is not empty');
  assert.ok(!/[\r\n]/.test(line), `msg.summary is one line: ${JSON.stringify(line)}`);
  for (const h of opts.has ?? []) {
    if (typeof h === 'string') assert.ok(line.includes(h), `msg.summary "${line}" says "${h}"`);
    else assert.match(line, h);
  }
  for (const v of opts.not ?? []) {
    if (!v) continue;
    assert.ok(!line.toLowerCase().includes(v.toLowerCase()), `msg.summary "${line}" holds no "${v}"`);
  }
  return line;
}

/** The forms a birth date takes in a message: 19800101, 1980-01-01, 01/01/1980. */
export function birthDateForms(date: string): string[] {
  const d = date.replace(/-/g, '');
  if (!/^\d{8}$/.test(d)) return [date];
  return [d, `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`, `${d.slice(6, 8)}/${d.slice(4, 6)}/${d.slice(0, 4)}`];
}
