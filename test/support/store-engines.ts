// The store suite runs against both engines (issue 15): describeEachEngine declares the same cases once
// per engine — SQLite in a temporary file, PostgreSQL in a new database of the throwaway test cluster
// (./postgres.ts: the PostgreSQL cases fail, saying what to install, when it is not installed). Each case
// gets an empty store; `db.open()` opens a store on it (again: a reopen), `db.count()` reads a table
// through a connection of its own, as another process would (the journal's rows through the view
// journal_all on SQLite: some are written alone until they enter `journal`, lib/store/sqlite-journal.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PostgresIdentityStore, SqliteIdentityStore, type IdentityStore } from '../../lib/store';
import { dropDatabase, freshDatabase } from './postgres';

export type EngineName = 'SQLite' | 'PostgreSQL';

export interface StoreUnderTest {
  engine: EngineName;
  /** Opens a store on this case's database (the one opened before is closed first). */
  open(): Promise<IdentityStore>;
  /** Opens another store on the same database beside the first (a second instance); closed after the case. */
  openAnother(): Promise<IdentityStore>;
  /** The rows of a table matching `where`, read through a connection of its own. */
  count(table: string, where?: string): Promise<number>;
  /** Where the case's database is: the SQLite file or the PostgreSQL URL. */
  location(): string;
}

interface Engine {
  name: EngineName;
  create(): Promise<string>;
  open(location: string): Promise<IdentityStore>;
  count(location: string, table: string, where: string): Promise<number>;
  remove(location: string): Promise<void>;
}

const ENGINES: Engine[] = [
  {
    name: 'SQLite',
    async create() {
      return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'segur-store-')), 'ins-store.db');
    },
    async open(file) {
      return new SqliteIdentityStore({ file });
    },
    async count(file, table, where) {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        // the journal's rows: in `journal`, or pending in journal_pending until they enter it (schema 7)
        const from = table === 'journal' ? 'journal_all' : table;
        return (db.prepare(`SELECT COUNT(*) AS n FROM ${from} WHERE ${where}`).get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
    async remove(file) {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    },
  },
  {
    name: 'PostgreSQL',
    create: () => freshDatabase(),
    open: (url) => PostgresIdentityStore.open({ url, poolSize: 4 }),
    async count(url, table, where) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return Number((await client.query(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`)).rows[0].n);
      } finally {
        await client.end();
      }
    },
    remove: (url) => dropDatabase(url),
  },
];

/** `body` declared once per engine, under "<title> — <engine>". */
export function describeEachEngine(title: string, body: (db: StoreUnderTest) => void, engines: EngineName[] = ['SQLite', 'PostgreSQL']): void {
  for (const engine of ENGINES.filter((e) => engines.includes(e.name))) {
    describe(`${title} — ${engine.name}`, function () {
      let location: string | null = null;
      let main: IdentityStore | null = null;
      const others: IdentityStore[] = [];
      const db: StoreUnderTest = {
        engine: engine.name,
        async open() {
          if (!location) location = await engine.create();
          if (main) await main.close();
          main = null;
          main = await engine.open(location);
          return main;
        },
        async openAnother() {
          if (!location) location = await engine.create();
          const store = await engine.open(location);
          others.push(store);
          return store;
        },
        count: (table, where = '1 = 1') => engine.count(location as string, table, where),
        location: () => location as string,
      };
      afterEach(async () => {
        for (const s of [main, ...others.splice(0)]) if (s) await s.close();
        main = null;
        if (location) await engine.remove(location);
        location = null;
      });
      body(db);
    });
  }
}
