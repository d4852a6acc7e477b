// Group commit: the writes of a SQLite store (WAL mode), made durable together before any of them
// resolves. An acknowledgement that says "recorded" is sent only once the record is on disk.
//
// How it is durable. The connection runs `synchronous = NORMAL`: a COMMIT writes its frames to the WAL
// without syncing it, and SQLite syncs "the WAL file … before each checkpoint and the database file …
// after each completed checkpoint and the WAL file header … when a WAL file begins to be reused after a
// checkpoint" (https://sqlite.org/pragma.html#pragma_synchronous). So a commit is durable once the WAL
// holding it is synced: that is exactly what `synchronous = FULL` adds ("Writers sync the WAL on every
// transaction commit if PRAGMA synchronous is set to FULL", https://sqlite.org/wal.html), and what the
// SQLite developers point to as the cheaper way to make committed WAL transactions durable ("just to get
// the journal file to be flushed", https://sqlite.org/forum/forumpost/d1a6bc7c4cd2baca). Here the WAL is
// synced by fdatasync(2) of its own descriptor after the group's COMMIT — in libuv's thread pool when
// the disk is slow, so that the event loop goes on reading, parsing and answering meanwhile (FULL would
// hold it for every sync, however long), on the event loop while it syncs fast (walSync). A checkpoint
// never leaves an acknowledged commit in a file that is not synced: the checkpoint itself (NORMAL) syncs
// the WAL before copying and the database after, before the WAL is reused.
//
// How groups form. Writes are queued (FIFO). A group is what is queued when the store gets to run (one
// turn of the event loop, setImmediate) or what arrives while the previous group's sync runs: at most
// one sync is in flight, and the writes waiting for it are committed together as soon as it ends (a sync
// on the event loop: what arrived meanwhile is read right after it, and queued for the next group). No
// timer: a write alone is committed at once. One transaction per group, one savepoint per write: a write
// that throws is rolled back alone and rejects at once; the others commit. Each write resolves when its
// own group's sync has completed. Syncs run one after the other and each covers every commit before it,
// so what resolved earlier is durable too.
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';

/**
 * Makes the WAL file durable, given its descriptor: fdatasync(2) (the data and the file size; SQLite
 * itself syncs with fdatasync on Linux). The default is walSync(); tests put their own in, to observe or
 * hold the sync (SqliteIdentityStore.syncWal).
 */
export type WalSync = (fd: number) => Promise<void>;

/** fdatasync(2) in libuv's thread pool: the event loop goes on while the disk syncs. */
export const fdatasync: WalSync = (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));

/**
 * A sync that takes less than this, on average, is done on the event loop: it holds the loop no longer
 * than a SQLite statement may (a checkpoint of the store's connection, past WRITER_CHECKPOINT_FRAMES in
 * ./checkpointer.ts, holds it for two syncs), and it saves the thread pool's two hand-overs (a wake-up of
 * a pool thread, then of the event loop), which are a large part of a fast sync (~0.3 ms on the
 * benchmark machine; the README's Benchmarks give the comparison).
 */
export const INLINE_SYNC_MS = 1;

/**
 * What a sync in the thread pool is measured with beyond the disk's own time: the two hand-overs (a pool
 * thread woken, then the event loop) — 0.45 to 0.9 ms on the benchmark machine, where the same sync on the
 * event loop takes 0.3 ms (`node` over 2,000 durable writes, lib/store).
 */
export const POOL_HANDOVER_MS = 0.5;

/**
 * The default WalSync: fdatasync(2) on the event loop while the disk syncs fast (a moving average of
 * the last eight syncs under INLINE_SYNC_MS), in libuv's thread pool otherwise — so that a slow disk (a
 * SAN, a busy volume: milliseconds per sync) never holds the event loop, and the messages that arrive
 * while it syncs are read, checked and queued for the next group meanwhile. The first sync goes to the
 * pool. The average is of the disk's time: a sync in the pool counts less its hand-overs
 * (POOL_HANDOVER_MS) — counted whole, a disk that syncs in 0.7 ms measured 1.2 ms from the pool and the
 * syncs never came back to the event loop after one slow sync (a large commit, a checkpoint). `parts`
 * replaces the clock and the two syncs (tests).
 */
export function walSync(
  parts: { now?: () => number; onLoop?: (fd: number) => void; inPool?: WalSync } = {},
): WalSync {
  const { now = () => performance.now(), onLoop = fs.fdatasyncSync, inPool = fdatasync } = parts;
  let averageMs = INLINE_SYNC_MS;
  return (fd) => {
    const start = now();
    const measured = (handoverMs: number) => () => {
      averageMs += (Math.max(0, now() - start - handoverMs) - averageMs) / 8;
    };
    if (averageMs >= INLINE_SYNC_MS) return inPool(fd).then(measured(POOL_HANDOVER_MS));
    try {
      onLoop(fd);
    } catch (err) {
      return Promise.reject(err);
    }
    measured(0)();
    return Promise.resolve();
  };
}

interface Write {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  /** The WAL sync; replaced by tests (see WalSync). */
  sync: WalSync;
  /** Writes waiting for the next group, in arrival order. */
  private queue: Write[] = [];
  private running = false;
  private scheduled = false;
  /** Set when a sync failed: nothing written since can be promised durable, so nothing more is accepted. */
  private broken: Error | null = null;
  private walFd: number | null = null;
  private idle: (() => void)[] = [];
  /** One transaction (BEGIN IMMEDIATE … COMMIT) around the group, one savepoint around each write; made once. */
  private readonly commitGroup: (writes: Write[]) => Outcome[];

  /**
   * @param wal the WAL file to sync after each group (`<database>-wal`), or null when there is none to
   *   sync (an in-memory database): writes then resolve at COMMIT.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly wal: string | null,
    sync: WalSync = walSync(),
  ) {
    this.sync = sync;
    const one = db.transaction((w: Write) => w.run()); // inside the group's transaction: a savepoint
    this.commitGroup = db.transaction((writes: Write[]) =>
      writes.map((w): Outcome => {
        try {
          return { ok: true, value: one(w) };
        } catch (error) {
          // a disk full or I/O error can roll the whole transaction back: then the group fails as one
          if (!db.inTransaction) throw error;
          return { ok: false, error };
        }
      }),
    ).immediate;
  }

  /** Runs `write` inside the next group; resolves with its value once the group is durable. */
  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.broken) return reject(this.broken);
      if (!this.db.open) return reject(new TypeError('The database connection is not open'));
      this.queue.push({ run: write, resolve: resolve as (v: unknown) => void, reject });
      if (!this.running && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          void this.next();
        });
      }
    });
  }

  /** Resolves once every write queued so far has settled (before closing the database). */
  drained(): Promise<void> {
    if (!this.running && !this.scheduled && !this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Closes the WAL descriptor (after drained()). */
  close(): void {
    if (this.walFd !== null) fs.closeSync(this.walFd);
    this.walFd = null;
  }

  /** Commits the queued writes as one group, syncs the WAL, settles them; again while writes arrived meanwhile. */
  private async next(): Promise<void> {
    if (this.running) return;
    this.running = true;
    while (this.queue.length) {
      const group = this.queue;
      this.queue = [];
      if (this.broken || !this.db.open) {
        for (const w of group) w.reject(this.broken ?? new TypeError('The database connection is not open'));
        continue;
      }
      let outcomes: Outcome[];
      try {
        outcomes = this.commitGroup(group);
      } catch (err) {
        for (const w of group) w.reject(err); // BEGIN or COMMIT failed: nothing of the group is written
        continue;
      }
      group.forEach((w, i) => {
        const o = outcomes[i];
        if (!o.ok) w.reject(o.error); // rolled back to its savepoint: nothing to make durable
      });
      try {
        if (this.wal) await this.syncWal();
      } catch (err) {
        this.broken = new Error(
          `the disk did not confirm a write of the identity store (${(err as Error).message}): what was not acknowledged may not be on disk, and no write is accepted until the store is opened again`,
        );
        group.forEach((w, i) => outcomes[i].ok && w.reject(this.broken));
        continue;
      }
      group.forEach((w, i) => {
        const o = outcomes[i];
        if (o.ok) w.resolve(o.value);
      });
    }
    this.running = false;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private async syncWal(): Promise<void> {
    if (this.walFd === null) {
      // The WAL exists once a transaction has been committed. Its directory entry is synced once, as SQLite
      // does under FULL for a WAL file it creates (it never deletes it while this connection is open).
      // The descriptor is read-only: the WAL holds no POSIX lock of SQLite's that closing it could release.
      const fd = await new Promise<number>((resolve, reject) => fs.open(this.wal as string, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
      try {
        await syncDirectory(path.dirname(this.wal as string));
      } catch (err) {
        fs.closeSync(fd);
        throw err;
      }
      this.walFd = fd;
    }
    await this.sync(this.walFd);
  }
}

function syncDirectory(dir: string): Promise<void> {
  return new Promise((resolve, reject) =>
    fs.open(dir, 'r', (err, fd) => {
      if (err) return reject(err);
      fs.fsync(fd, (syncErr) => fs.close(fd, () => (syncErr ? reject(syncErr) : resolve())));
    }),
  );
}
