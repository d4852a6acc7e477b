import assert from 'node:assert/strict';
import { localDate, offsetMinutes, wallClock, wallInstant } from '../../lib/timezone';

/** The wall clock as Intl reads it, for comparison with lib/timezone's cached offsets. */
function intlWall(instant: number, timeZone: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour') % 24, mi: get('minute'), s: get('second') };
}

describe('lib/timezone (offsets read by Intl once per quarter of an hour)', () => {
  const zones = ['Europe/Paris', 'America/Cayenne', 'Indian/Reunion', 'Pacific/Noumea', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/St_Johns', 'UTC'];

  it('gives the wall clock Intl gives, minute by minute across DST transitions, in zones with odd offsets', () => {
    // around the 2026 transitions of Europe/Paris, Lord Howe (30-minute DST) and Chatham (+12:45 / +13:45)
    const windows = ['2026-03-29T00:00:00Z', '2026-10-25T00:00:00Z', '2026-04-04T14:00:00Z', '2026-10-03T15:00:00Z', '2026-04-04T13:00:00Z', '2026-09-26T13:00:00Z', '2026-03-08T04:00:00Z', '2026-11-01T03:00:00Z'];
    let compared = 0;
    for (const start of windows) {
      for (let t = Date.parse(start); t < Date.parse(start) + 3 * 3600_000; t += 61_000) {
        for (const z of zones) {
          assert.deepEqual(wallClock(t, z), intlWall(t, z), `${z} at ${new Date(t).toISOString()}`);
          compared++;
        }
      }
    }
    assert.ok(compared > 1000);
  });

  it('and at instants spread over 1900–2100, including Paris before 1911 (an offset of 9 min 21 s)', () => {
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 2000; i++) {
      const t = Date.parse('1900-01-01T00:00:00Z') + Math.floor(next() * 200 * 365.25 * 86400_000);
      for (const z of ['Europe/Paris', 'Pacific/Chatham', 'Asia/Kolkata']) assert.deepEqual(wallClock(t, z), intlWall(t, z), `${z} at ${new Date(t).toISOString()}`);
    }
    assert.deepEqual(wallClock(Date.parse('1911-03-10T23:55:00Z'), 'Europe/Paris'), intlWall(Date.parse('1911-03-10T23:55:00Z'), 'Europe/Paris'));
  });

  it('wallInstant, offsetMinutes and localDate agree with it', () => {
    assert.equal(wallInstant(2026, 7, 15, 10, 10, 0, 0, 'Europe/Paris'), Date.parse('2026-07-15T10:10:00+02:00'));
    assert.equal(wallInstant(2026, 11, 23, 10, 10, 0, 0, 'Europe/Paris'), Date.parse('2026-11-23T10:10:00+01:00'));
    assert.equal(offsetMinutes(Date.parse('2026-07-15T12:00:00Z'), 'Pacific/Chatham'), 12 * 60 + 45);
    assert.equal(localDate(Date.parse('2026-11-29T23:30:00Z'), 'Europe/Paris'), '2026-11-30');
    assert.equal(localDate(Date.parse('2026-11-29T23:30:00Z'), 'America/Cayenne'), '2026-11-29');
  });
});
