// Issue 14, retention: "configurable (default 30 days for raw bytes, 1 year for the index rows), pruned in
// the background with the space given back to the file system". The bytes go first, then the rows; each
// step is one short write of the group commit, so the flow's writes go on meanwhile; incremental vacuum
// gives the pages back and the file shrinks.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readAdtPayload } from '../../lib/ins';
import { SqliteIdentityStore } from '../../lib/store';
import { adtMessage } from '../fixtures/adt';
import { journalEntry } from '../fixtures/journal';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);

describe('lib/store journal retention and pruning (issue 14)', () => {
  let dir: string;
  let file: string;
  let store: SqliteIdentityStore;

  /** `n` rows `days` old, each with 8 KiB of bytes. */
  async function fill(n: number, days: number, prefix: string) {
    const writes = [];
    for (let i = 0; i < n; i++) {
      const at = new Date(NOW - days * DAY + i * 1000).toISOString();
      writes.push(store.journal(journalEntry({ at, controlId: `${prefix}${i}`, message: Buffer.alloc(6144, 0x41 + (i % 26)), answer: Buffer.alloc(2048, 0x61) })));
    }
    await Promise.all(writes);
  }
  const size = () => fs.statSync(file).size;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-prune-'));
    file = path.join(dir, 'ins-store.db');
    store = new SqliteIdentityStore({ file });
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a new database is created with incremental auto-vacuum (PRAGMA auto_vacuum = 2)', async () => {
    await store.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('auto_vacuum', { simple: true }), 2);
    } finally {
      db.close();
    }
    store = new SqliteIdentityStore({ file });
  });

  it('defaults: the bytes older than 30 days go, the rows stay a year; then the rows go; the file shrinks each time', async () => {
    await fill(600, 400, 'Y'); // older than a year
    await fill(600, 60, 'M'); // older than 30 days
    await fill(300, 1, 'D'); // recent
    await store.close(); // a checkpoint: the file holds everything
    store = new SqliteIdentityStore({ file });
    const full = size();

    const first = await store.prune({ now: NOW, rowDays: 36500 }); // bytes only: every row younger than 100 years
    assert.equal(first.raw, 1200);
    assert.equal(first.rows, 0);
    assert.ok(first.pagesFreed > 0);
    const afterRaw = size();
    assert.ok(afterRaw < full * 0.4, `the file shrinks once the bytes are pruned: ${full} → ${afterRaw} bytes`);
    const old = (await store.searchJournal({ controlId: 'M0' })).entries[0];
    assert.equal(old.hasMessage, false, 'the row stays, without its bytes');
    assert.equal(await store.journalContent(old.id), null);
    assert.ok((await store.journalContent((await store.searchJournal({ controlId: 'D0' })).entries[0].id))?.message, 'recent bytes kept');

    const second = await store.prune({ now: NOW }); // defaults: 30 days, 365 days
    assert.deepEqual([second.raw, second.rows], [0, 600]);
    assert.equal((await store.searchJournal({ controlId: 'Y0' })).entries.length, 0);
    assert.equal((await store.searchJournal({ controlId: 'M0' })).entries.length, 1);
    assert.ok(size() < afterRaw, 'the file shrinks again once the rows are pruned');
    const journal = await store.journalSize();
    assert.deepEqual([journal.rows, journal.rawRows], [900, 300]);
    assert.equal(journal.freePages, 0, 'every free page given back');
  });

  it('prunes in short steps: the flow’s writes are committed meanwhile, long before the pruning ends', async () => {
    await fill(1000, 60, 'M');
    let pruned = false;
    const pruning = store.prune({ now: NOW, batch: 20 }).then((r) => {
      pruned = true;
      return r;
    });
    const reading = readAdtPayload(adtMessage({ controlId: 'LIVE1' }));
    const result = await store.applyAdt(reading, { sender: 'GAM/CHU-X', controlId: 'LIVE1', actor: 'test' }, { code: 'AA', text: '' });
    assert.equal(result.outcome, 'applied');
    assert.equal(pruned, false, 'the message was answered while the pruning ran');
    const r = await pruning;
    assert.equal(r.raw, 1000);
    assert.ok(r.steps >= 50, `${r.steps} steps of at most 20 rows`);
  });

  it('one pruning at a time; a bad retention is refused; a pruning stops when the store closes', async () => {
    await fill(200, 60, 'M');
    const a = store.prune({ now: NOW, batch: 10 });
    const b = store.prune({ now: NOW, batch: 10 });
    assert.equal(a, b);
    await a;
    await assert.rejects(store.prune({ rawDays: 0 }), /rawDays/);
    await fill(200, 50, 'N');
    const c = store.prune({ now: NOW, batch: 5 });
    await store.close();
    const r = await c;
    assert.ok(r.raw < 200, 'stopped early');
    store = new SqliteIdentityStore({ file });
  });
});
