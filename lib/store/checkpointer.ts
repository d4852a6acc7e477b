// The checkpoints of a SQLite store's WAL, run by a worker thread of their own.
//
// A checkpoint copies the pages the WAL holds back into the database file, syncing the WAL before and the
// file after. SQLite runs one when a commit leaves the WAL at `wal_autocheckpoint` frames (1,000 by
// default), in the connection that committed: the store's, on the event loop, which then copies some
// hundred pages and waits for two syncs while the messages wait (with the journal, twice the pages: its
// indexes' leaves — issue 14). Here a worker runs them instead, every CHECKPOINT_INTERVAL_MS, on a connection
// of its own, PASSIVE: "as many frames as possible without waiting for any database readers or writers to
// finish" (https://sqlite.org/c3ref/wal_checkpoint_v2.html) — it never holds the store's writes, nor they it.
//
// The store's connection still checkpoints at WRITER_CHECKPOINT_FRAMES: SQLite starts the WAL again from its
// beginning only when a write finds every frame of it copied (https://sqlite.org/wal.html, "Avoiding
// Excessively Large WAL Files"), which a worker copying while messages keep coming may never leave it at. The
// writer's checkpoint then copies what came since the worker's last one (a few hundred frames at most), the
// next write starts the WAL again, and the WAL stays bounded however long the feed. Durability is
// the same: the worker's connection runs `synchronous = NORMAL`, under which a checkpoint syncs the WAL before
// copying and the database file after (./group-commit.ts). If the worker fails, it exits and the store's
// connection goes back to SQLite's own threshold.
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** How often the worker checkpoints (a checkpoint that finds every frame copied does nothing). */
export const CHECKPOINT_INTERVAL_MS = 100;
/** The WAL length at which the store's own connection checkpoints while the worker runs (16 MiB of 4 KiB pages). */
export const WRITER_CHECKPOINT_FRAMES = 4000;
/** SQLite's default `wal_autocheckpoint`, the store's again once the worker is gone. */
export const SQLITE_CHECKPOINT_FRAMES = 1000;

const ROLE = 'segur-dpi-checkpointer';

interface CheckpointerData {
  role: typeof ROLE;
  file: string;
  intervalMs: number;
}

export class Checkpointer {
  /** Resolves true once the worker's connection is open, false if the worker ended before. */
  readonly started: Promise<boolean>;
  private worker: Worker | null;
  private readonly exited: Promise<void>;

  /** Starts the worker on `file`, the database `db` has open (WAL mode, its schema written). */
  constructor(
    private readonly db: Database.Database,
    file: string,
    intervalMs = CHECKPOINT_INTERVAL_MS,
  ) {
    db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_FRAMES}`);
    const data: CheckpointerData = { role: ROLE, file: path.resolve(file), intervalMs };
    const worker = new Worker(__filename, { workerData: data });
    worker.unref(); // a store left open does not keep the process alive
    worker.on('error', () => undefined); // its exit says it: the store's connection checkpoints again
    this.started = new Promise((resolve) => {
      worker.once('message', () => resolve(true));
      worker.once('exit', () => resolve(false));
    });
    this.exited = new Promise((resolve) =>
      worker.once('exit', () => {
        this.worker = null;
        if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${SQLITE_CHECKPOINT_FRAMES}`);
        resolve();
      }),
    );
    this.worker = worker;
  }

  /** Whether the worker runs (false once it stopped or failed). */
  get running(): boolean {
    return this.worker !== null;
  }

  /** Stops the worker — a checkpoint under way ends first — and resolves once it has exited. */
  close(): Promise<void> {
    // referenced again: a process whose last work is this close waits for the exit (a command's exit code)
    this.worker?.ref();
    this.worker?.postMessage('stop');
    return this.exited;
  }
}

/** The worker: a PASSIVE checkpoint every intervalMs until told to stop; a failure throws, and the worker exits. */
function checkpoints({ file, intervalMs }: CheckpointerData): void {
  const db = new Database(file, { fileMustExist: true });
  db.pragma('synchronous = NORMAL');
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  const timer = setInterval(() => checkpoint.get(), intervalMs);
  parentPort?.postMessage('started');
  parentPort?.once('message', () => {
    clearInterval(timer);
    db.close();
    parentPort?.close();
  });
}

if (!isMainThread && (workerData as CheckpointerData | null)?.role === ROLE) checkpoints(workerData as CheckpointerData);
