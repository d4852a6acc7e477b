// The WAL's checkpoints in a worker thread (lib/store/checkpointer.ts, issue 14): the database file receives
// what was committed without the store's connection checkpointing, the store's connection still bounds the
// WAL under writes that never pause, closing leaves no WAL behind, and a worker that fails hands the
// checkpoints back to the store's connection.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteIdentityStore } from '../../lib/store';
import { Checkpointer, SQLITE_CHECKPOINT_FRAMES, WRITER_CHECKPOINT_FRAMES } from '../../lib/store/checkpointer';
import { journalEntry } from '../fixtures/journal';
import { delay } from '../support/red-nodes';

/** The journal rows the database file holds by itself: a copy of the file alone (no WAL) opened and counted. */
function rowsInFileAlone(file: string): number {
  const copy = `${file}.alone`;
  for (const s of ['', '-wal', '-shm']) fs.rmSync(copy + s, { force: true });
  fs.copyFileSync(file, copy);
  const db = new Database(copy);
  try {
    const hasJournal = db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'journal_all'`).get();
    return hasJournal ? (db.prepare('SELECT COUNT(*) AS n FROM journal_all').get() as { n: number }).n : 0;
  } finally {
    db.close();
  }
}

describe('lib/store checkpoints in a worker thread (issue 14)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-ckpt-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('copies committed writes into the database file, where the store connection alone would not yet', async () => {
    const counts: Record<string, number> = {};
    for (const checkpoints of ['worker', 'writer'] as const) {
      const file = path.join(dir, `${checkpoints}.db`);
      const store = new SqliteIdentityStore({ file, checkpoints });
      try {
        assert.equal(store.checkpointsInWorker, checkpoints === 'worker');
        for (let i = 0; i < 20; i++) await store.journal(journalEntry({ controlId: `C${i}` }));
        // far fewer frames than either threshold: only the worker checkpoints them (every 100 ms)
        const deadline = Date.now() + 3000;
        do {
          await delay(100);
          try {
            counts[checkpoints] = rowsInFileAlone(file);
          } catch {
            counts[checkpoints] = -1; // copied in the middle of a checkpoint's writes: read again
          }
        } while (checkpoints === 'worker' && counts[checkpoints] < 20 && Date.now() < deadline);
      } finally {
        await store.close();
      }
    }
    assert.deepEqual(counts, { worker: 20, writer: 0 });
  });

  it('keeps the WAL bounded under writes that never leave the worker a pause (the store connection checkpoints past its threshold)', async () => {
    const file = path.join(dir, 'sustained.db');
    const store = new SqliteIdentityStore({ file, durability: 'normal' });
    try {
      assert.equal(await store.checkpointsStarted(), true);
      const bytes = Buffer.alloc(16 * 1024, 0x41);
      // one synchronous run of commits ('normal': each write commits at once), ~38,000 frames: the WAL reaches
      // that without the store connection's threshold; with it, the threshold and what comes while the
      // worker's checkpoint under way makes the store's wait (a slow disk: more)
      for (let i = 0; i < 4000; i++) void store.journal(journalEntry({ controlId: `S${i}`, message: bytes }));
      const frames = fs.statSync(`${file}-wal`).size / (4096 + 24);
      assert.ok(frames > WRITER_CHECKPOINT_FRAMES / 2, `${Math.round(frames)} frames: the run wrote fewer than the test needs`);
      assert.ok(frames < WRITER_CHECKPOINT_FRAMES * 2.5, `the WAL grew to ${Math.round(frames)} frames`);
    } finally {
      await store.close();
    }
  });

  it('stops with the store: its connection closes first, and the store connection, the last, removes the WAL', async () => {
    const file = path.join(dir, 'close.db');
    const store = new SqliteIdentityStore({ file });
    await store.journal(journalEntry({ controlId: 'X1' }));
    assert.equal(store.checkpointsInWorker, true);
    await store.close();
    assert.equal(store.checkpointsInWorker, false);
    assert.equal(fs.existsSync(`${file}-wal`), false);
    assert.equal(rowsInFileAlone(file), 1);
  });

  it('hands the checkpoints back to the store connection when the worker fails', async () => {
    const file = path.join(dir, 'fallback.db');
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      const checkpointer = new Checkpointer(db, path.join(dir, 'missing', 'none.db')); // the worker cannot open it
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), WRITER_CHECKPOINT_FRAMES);
      assert.equal(await checkpointer.started, false);
      await checkpointer.close();
      assert.equal(checkpointer.running, false);
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), SQLITE_CHECKPOINT_FRAMES);
    } finally {
      db.close();
    }
  });
});
