// Issue 11, "ERR segments capped": an acknowledgement lists at most 20 errors, then one ERR counting the
// rest, whatever node builds it — an AE for a message with thousands of bad repetitions stays small.
import assert from 'node:assert/strict';
import { buildAck, buildSafeAck, encodeHl7, parseAck, parseHl7, type AckError } from '../../lib/hl7';

const original = parseHl7('MSH|^~\\&|GAM|CHU-X|DPI|CHU-X|20261123101500||ADT^A28^ADT_A05|MSG-ERR|P|2.5|||||FRA|8859/1\r');

function errors(n: number, severity: 'E' | 'W' = 'E'): AckError[] {
  return Array.from({ length: n }, (_, i) => ({ code: '102', location: `PID^1^3^${i + 1}`, text: `repetition ${i + 1}: bad identifier`, severity }));
}

const errCount = (ack: string) => ack.split('\r').filter((s) => s.startsWith('ERR|')).length;

describe('lib/hl7 acknowledgements: ERR segments capped (issue 11)', () => {
  it('lists the first 20 errors of 20,000, then one ERR counting the other 19,980', () => {
    const ack = buildAck(original, { code: 'AE', errors: errors(20_000) });
    assert.equal(errCount(ack), 21);
    const read = parseAck(ack);
    assert.deepEqual(read.errors.slice(0, 20).map((e) => e.location), errors(20).map((e) => e.location));
    assert.deepEqual(read.errors[20], { code: '207', text: '19980 errors more, not listed', location: undefined, severity: 'E' });
    assert.ok(ack.length < 3000, `${ack.length} characters`);
  });

  it('lists every error when there is at most one more than the cap (nothing worth a count)', () => {
    assert.equal(errCount(buildAck(original, { code: 'AE', errors: errors(21) })), 21);
    assert.equal(errCount(buildAck(original, { code: 'AE', errors: errors(3) })), 3);
  });

  it('counts errors and warnings apart, and takes the gravest severity left out', () => {
    const ack = parseAck(buildAck(original, { code: 'AE', errors: [...errors(20, 'W'), ...errors(2, 'W'), ...errors(3, 'E')] }));
    assert.deepEqual(ack.errors[20], { code: '207', text: '3 errors and 2 warnings more, not listed', location: undefined, severity: 'E' });
    const warned = parseAck(buildAck(original, { code: 'AA', errors: errors(25, 'W') }));
    assert.deepEqual(warned.errors[20], { code: '199', text: '5 warnings more, not listed', location: undefined, severity: 'W' });
  });

  it('honours maxErrors', () => {
    const ack = parseAck(buildAck(original, { code: 'AE', errors: errors(10), maxErrors: 2 }));
    assert.equal(ack.errors.length, 3);
    assert.equal(ack.errors[2].text, '8 errors more, not listed');
  });

  it('buildSafeAck caps too, also on its fallbacks (ASCII texts, no MSH-18)', () => {
    const many = errors(5000).map((e) => ({ ...e, text: `${e.text} – ≠` })); // "≠" cannot be written in 8859/1
    const ack = buildSafeAck(original, { code: 'AE', errors: many });
    assert.equal(errCount(ack), 21);
    assert.doesNotThrow(() => encodeHl7(ack));
    assert.equal(parseAck(ack).errors[20].text, '4980 errors more, not listed');
  });
});
