// An establishment's SQLite store copied into a PostgreSQL store (issue 15: `segur-dpi-store migrate`),
// verifiably: every table copied as it is, in one PostgreSQL transaction, then counted and checksummed on
// both sides the same way — the rows in key order (byte order for text, as SQLite compares), each row the
// JSON of its values, columns in name order (bytes as hex) — so that equal checksums mean equal tables.
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { PostgresIdentityStore, type PostgresStoreOptions } from './postgres';
import { STORE_TABLES } from './postgres-schema';
import { SQLITE_SCHEMA_VERSION, SqliteIdentityStore } from './sqlite';

/** The columns ordering the rows that are integers (the others are text, compared byte by byte). */
const INTEGER_KEYS = new Set(['seq', 'id', 'journal_id']);

/** Rows per INSERT (well under PostgreSQL's 65,535 parameters for the widest table). */
const BATCH = 500;

export interface TableSum {
  table: string;
  rows: number;
  sha256: string;
}

export interface CopyReport {
  /** The SQLite schema version found, and whether it was migrated to the current one first. */
  sqliteSchema: { found: number; migrated: boolean };
  source: TableSum[];
  target: TableSum[];
  /** Every table has the same count and checksum on both sides. */
  identical: boolean;
}

/** A row as the checksum reads it: values in column order, bytes as hex, integers as numbers. */
function rowText(values: unknown[]): string {
  return JSON.stringify(values.map((v) => (Buffer.isBuffer(v) ? `\\x${v.toString('hex')}` : typeof v === 'bigint' ? Number(v) : v)));
}

function orderBy(spec: string, engine: 'sqlite' | 'postgres'): string {
  return spec
    .split(',')
    .map((c) => c.trim())
    .map((c) => (engine === 'postgres' && !INTEGER_KEYS.has(c) ? `${c} COLLATE "C"` : c))
    .join(', ');
}

function sqliteColumns(db: Database.Database, table: string): string[] {
  return (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string; cid: number }[]).sort((a, b) => a.cid - b.cid).map((c) => c.name);
}

/** Counts and checksums of the store's tables in a SQLite file (opened read-only). */
export function sqliteSums(file: string): TableSum[] {
  readSchemaVersion(file); // a file that is not a store: said so
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return STORE_TABLES.map(({ name, orderBy: by }) => {
      const columns = sqliteColumns(db, name).sort();
      const hash = createHash('sha256');
      let rows = 0;
      for (const row of db.prepare(`SELECT ${columns.join(', ')} FROM ${name} ORDER BY ${orderBy(by, 'sqlite')}`).raw().iterate() as Iterable<unknown[]>) {
        hash.update(rowText(row)).update('\n');
        rows++;
      }
      return { table: name, rows, sha256: hash.digest('hex') };
    });
  } finally {
    db.close();
  }
}

async function postgresColumns(c: pg.PoolClient | pg.Pool, table: string): Promise<string[]> {
  const r = await c.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return r.rows.map((x) => x.column_name);
}

/** Counts and checksums of the store's tables in a PostgreSQL store (read through a cursor, in one snapshot). */
export async function postgresSums(store: PostgresIdentityStore): Promise<TableSum[]> {
  await store.ready;
  const c = await store.pool.connect();
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const sums: TableSum[] = [];
    for (const { name, orderBy: by } of STORE_TABLES) {
      const columns = (await postgresColumns(c, name)).sort();
      const hash = createHash('sha256');
      let rows = 0;
      await c.query(`DECLARE sums NO SCROLL CURSOR FOR SELECT ${columns.join(', ')} FROM ${name} ORDER BY ${orderBy(by, 'postgres')}`);
      for (;;) {
        const page = await c.query({ text: 'FETCH 1000 FROM sums', rowMode: 'array' });
        for (const row of page.rows as unknown[][]) hash.update(rowText(row)).update('\n');
        rows += page.rows.length;
        if (page.rows.length < 1000) break;
      }
      await c.query('CLOSE sums');
      sums.push({ table: name, rows, sha256: hash.digest('hex') });
    }
    await c.query('COMMIT');
    return sums;
  } finally {
    c.release();
  }
}

/**
 * Copies every table of the SQLite store `file` into the PostgreSQL store `target` (migrated first), in
 * one transaction: all or nothing. The target must be empty (a second run does not copy twice). The SQLite
 * file is first opened and closed as Node-RED would: an earlier schema migrated in place, the journal's
 * pending rows moved. The identity sequences are moved past the rows copied. Then both sides are counted
 * and checksummed.
 */
export async function copySqliteToPostgres(file: string, target: PostgresStoreOptions, log: (line: string) => void = () => undefined): Promise<CopyReport> {
  const found = readSchemaVersion(file);
  // opened and closed first, as Node-RED would: an earlier schema migrated in place, the journal's pending rows
  // (journal_pending, not copied) moved into `journal` (no checkpoints' worker for an open that closes at once)
  await new SqliteIdentityStore({ file, durability: 'normal', checkpoints: 'writer' }).close();
  const migrated = found < SQLITE_SCHEMA_VERSION;
  if (migrated) log(`${file}: schema ${found}, migrated to ${SQLITE_SCHEMA_VERSION} first (as Node-RED does when it opens it)`);
  const store = await PostgresIdentityStore.open(target);
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    const c = await store.pool.connect();
    try {
      await c.query('BEGIN');
      // no instance writes while the copy runs: each table locked against writers
      await c.query(`LOCK TABLE ${STORE_TABLES.map((t) => t.name).join(', ')} IN EXCLUSIVE MODE`);
      for (const { name } of STORE_TABLES) {
        const n = Number((await c.query(`SELECT COUNT(*) AS n FROM ${name}`)).rows[0].n);
        if (n > 0) throw new Error(`${store.label}: table ${name} already holds ${n} row(s): the target must be an empty store`);
      }
      for (const { name, orderBy: by, identity } of STORE_TABLES) {
        const columns = sqliteColumns(db, name);
        const targetColumns = await postgresColumns(c, name);
        const missing = columns.filter((col) => !targetColumns.includes(col));
        if (missing.length) throw new Error(`${name}: column(s) ${missing.join(', ')} of the SQLite file have no place in PostgreSQL`);
        let batch: unknown[][] = [];
        let copied = 0;
        const flush = async () => {
          if (!batch.length) return;
          const params: unknown[] = [];
          const values = batch.map((row) => `(${row.map((v) => (params.push(v), `$${params.length}`)).join(', ')})`);
          await c.query(`INSERT INTO ${name} (${columns.join(', ')}) ${identity ? 'OVERRIDING SYSTEM VALUE ' : ''}VALUES ${values.join(', ')}`, params);
          copied += batch.length;
          batch = [];
        };
        for (const row of db.prepare(`SELECT ${columns.join(', ')} FROM ${name} ORDER BY ${orderBy(by, 'sqlite')}`).raw().iterate() as Iterable<unknown[]>) {
          batch.push(row);
          if (batch.length >= BATCH) await flush();
        }
        await flush();
        if (identity) {
          await c.query(`SELECT setval(pg_get_serial_sequence('${name}', '${identity}'), COALESCE((SELECT MAX(${identity}) FROM ${name}), 0) + 1, false)`);
        }
        log(`${name}: ${copied} row(s) copied`);
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
      db.close();
    }
    const source = sqliteSums(file);
    const copy = await postgresSums(store);
    const identical = source.every((s, i) => s.rows === copy[i].rows && s.sha256 === copy[i].sha256);
    return { sqliteSchema: { found, migrated }, source, target: copy, identical };
  } finally {
    await store.close();
  }
}

/** The schema version of a SQLite store file (0 when it has none: not a store). */
export function readSchemaVersion(file: string): number {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  try {
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
    return row ? Number(row.value) : 0;
  } catch {
    throw new Error(`${file} is not an identity store (no meta table)`);
  } finally {
    db.close();
  }
}
