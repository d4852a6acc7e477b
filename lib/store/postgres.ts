// The shared store (issue 15): the whole store interface on PostgreSQL, for a hospital group whose
// several Node-RED instances share one identity registry, one document archive and one journal.
//
// Each write is one transaction (READ COMMITTED) that resolves after PostgreSQL's COMMIT, with
// synchronous_commit on for every connection of the pool: an answer that says "recorded" is on the
// server's disk. Two instances applying messages at once are kept apart by transaction-scoped advisory
// locks taken before anything is read: one on the message's idempotence key (sender, MSH-10) — the
// second copy waits for the first and finds it processed —, one per IPP the message writes, in a fixed
// order — the second message about a patient reads what the first committed, so the out-of-date
// protection holds across instances. The primary key of processed_message is the last guard: a
// violation, a deadlock or a serialization failure rolls the transaction back and runs it again.
import pg from 'pg';
import type { ConnectionOptions } from 'node:tls';
import type { AdtReading, PatientIdentity } from '../ins';
import { applyAdtRules, follow, runAsync, toStored, type IdentityRow, type ProcessedRow, type RegistryTx } from './adt-rules';
import { pruneSettings, queryLimit, queryTime, type HourFigures, type JournalContent, type JournalEntry, type JournalPage, type JournalQuery, type JournalRecord, type JournalSize, type PruneOptions, type PruneResult } from './journal';
import { attachedPatient, TaskAlreadyDecided, TaskDecisionError, type ReconciliationTask, type TaskDecision, type TaskInput, type TaskPage, type TaskQuery, type TaskStatus } from './reconciliation';
import { MIGRATIONS, PG_SCHEMA_VERSION } from './postgres-schema';
import { DOCUMENT_COLUMNS, entryOf, sha256, toDocument, type DocumentRow } from './sqlite';
import { FIGURES_OF_NODE_SQL, FIGURES_SQL, HOUR_MS, JOURNAL_COLUMNS, JOURNAL_INSERT_SQL, journalRow, journalSearchSql, taskListSql, taskPage, toFigures, toRecord, toTask, type JournalRow, type TaskRow } from './sqlite-journal';
import {
  ippKey,
  type ApplyResult,
  type ArchiveOptions,
  type AuditEntry,
  type CancelOptions,
  type DocumentInput,
  type DocumentQuery,
  type DocumentRecord,
  type HistoryEntry,
  type IdentityStore,
  type JournalOf,
  type JourneyEntry,
  type JourneyInput,
  type JourneyStep,
  type LinkEntry,
  type MessageOrigin,
  type StoredIdentity,
  type WriteOptions,
} from './types';

/** The advisory lock under which migrations are applied (any constant the application owns: "segurdpi" in ASCII). */
const MIGRATION_LOCK = 0x7365677572647069n;

/** How often a transaction is run again after a deadlock, a serialization failure or a raced insert. */
const MAX_ATTEMPTS = 8;

/** SQLSTATEs after which the transaction is run again: serialization_failure, deadlock_detected, unique_violation. */
const RETRYABLE = new Set(['40001', '40P01', '23505']);

/** `?` placeholders (the SQL shared with SQLite) as PostgreSQL's `$1…$n`. The shared SQL has no `?` in a literal. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Integers come back as numbers (BIGINT and SUM's NUMERIC as strings otherwise): every id and count fits in 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

export interface PostgresStoreOptions {
  /** postgres://[user[:password]@]host[:port]/database — sslmode in the URL wins over `ssl`. */
  url: string;
  /** Given apart from the URL (Node-RED credentials); they win over the URL's. */
  user?: string;
  password?: string;
  /** TLS to the server: false (none, the default) or Node's TLS options (rejectUnauthorized, ca, cert, key). */
  ssl?: false | ConnectionOptions;
  /** Connections in the pool (default 10): the writes of one instance run this many at once. */
  poolSize?: number;
  /** Name shown in pg_stat_activity (default "segur-dpi"). */
  applicationName?: string;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unreadable URL)';
  }
}

/** The URL with the user and password given apart (percent-encoded), when given. */
function withCredentials(url: string, user?: string, password?: string): string {
  if (!user && !password) return url;
  const u = new URL(url);
  if (user) u.username = encodeURIComponent(user);
  if (password) u.password = encodeURIComponent(password);
  return u.toString();
}

type Client = pg.PoolClient;

interface Locks {
  /** Advisory locks to take first, in this order (the store sorts the IPP keys). */
  keys: string[];
}

export class PostgresIdentityStore implements IdentityStore {
  /** The URL without its password. */
  readonly label: string;
  readonly pool: pg.Pool;
  /** The schema migrated (once per store, before the first query). */
  readonly ready: Promise<void>;
  private pruning: Promise<PruneResult> | null = null;
  private closing = false;

  /** A store whose migrations have run (rejects when the database cannot be reached or is newer than this software). */
  static async open(opts: PostgresStoreOptions): Promise<PostgresIdentityStore> {
    const store = new PostgresIdentityStore(opts);
    try {
      await store.ready;
    } catch (err) {
      await store.pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  constructor(opts: PostgresStoreOptions) {
    this.label = redactUrl(opts.url);
    this.pool = new pg.Pool({
      // pg lets the URL's fields win over user and password given beside it: they go into the URL
      connectionString: withCredentials(opts.url, opts.user, opts.password),
      ...(opts.ssl ? { ssl: opts.ssl } : {}),
      max: opts.poolSize ?? 10,
      application_name: opts.applicationName ?? 'segur-dpi',
      // durable commits whatever the server's, the database's or the role's default: a startup option of
      // every connection, which those settings do not override
      options: '-c synchronous_commit=on',
      types: TYPES,
    });
    // a server going away is reported on the query that needs it; an idle client's error must not crash Node
    this.pool.on('error', () => undefined);
    this.ready = this.migrate();
    this.ready.catch(() => undefined); // reported by each call that awaits it
  }

  // ---- schema

  /**
   * Applies the migrations this database lacks, in one transaction under an advisory lock: a second
   * instance starting at the same time waits, then finds them applied. A database migrated by newer
   * software is refused.
   */
  private async migrate(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
      await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      const applied = new Set((await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const newest = Math.max(0, ...applied);
      if (newest > PG_SCHEMA_VERSION) throw new Error(`${this.label}: schema version ${newest} is newer than this software (${PG_SCHEMA_VERSION})`);
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  /** The versions applied, oldest first (tests, the migrate command). */
  async migrations(): Promise<number[]> {
    await this.ready;
    return (await this.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
  }

  // ---- transactions

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    await this.ready;
    return (await this.pool.query<R>(sql, params)).rows;
  }

  /**
   * Runs `work` in a transaction, after taking the advisory locks named (transaction-scoped, in the order
   * given); resolves after COMMIT. A deadlock, a serialization failure or a unique violation (another
   * instance inserted the same key first) runs it again from the start; any other error rolls back.
   */
  private async tx<T>(work: (c: Client) => Promise<T>, locks: Locks = { keys: [] }): Promise<T> {
    await this.ready;
    if (this.closing) throw new Error(`${this.label}: the store is closed`);
    for (let attempt = 1; ; attempt++) {
      const c = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await c.query('BEGIN');
        for (const key of locks.keys) await lockKey(c, key);
        const result = await work(c);
        await c.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await c.query('ROLLBACK');
        } catch (e) {
          broken = e as Error;
        }
        const code = (err as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS && !broken) {
          await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 5 * attempt)));
          continue;
        }
        throw err;
      } finally {
        c.release(broken);
      }
    }
  }

  // ---- identities

  applyAdt(reading: AdtReading, origin: MessageOrigin, ack: { code: string; text: string }, opts: WriteOptions<ApplyResult> = {}): Promise<ApplyResult> {
    const patientKeys = reading.patient ? [ippKey(reading.patient.ipp), ...(reading.patient.replaces ?? []).map((r) => ippKey(r.ipp))] : [];
    const keys = [`message|${origin.sender}|${origin.controlId}`, ...[...new Set(patientKeys)].sort().map((k) => `ipp|${k}`)];
    return this.tx(
      async (c) => {
        const result = await runAsync(applyAdtRules(this.registryTx(c), reading, origin, ack));
        await this.journalWith(c, opts.journal, result);
        return result;
      },
      { keys },
    );
  }

  /** Writes the row of a write in its transaction, if it has one; its id. */
  private async journalWith<R>(c: Client, journal: JournalOf<R> | undefined, result: R): Promise<number | null> {
    const entry = entryOf(journal, result);
    return entry ? this.insertJournal(c, entry) : null;
  }

  private async audit_(c: Client, at: string, actor: string, action: string, key: string | null, detail: Record<string, unknown>): Promise<void> {
    await c.query('INSERT INTO audit (at, actor, action, ipp_key, detail) VALUES ($1, $2, $3, $4, $5)', [at, actor, action, key, JSON.stringify(detail)]);
  }

  /** The registry's reads and writes for the ADT rules (./adt-rules.ts), in the transaction of `c` (reads only through the pool). */
  private registryTx(c: Client | pg.Pool): RegistryTx {
    const rows = async <R extends pg.QueryResultRow>(sql: string, params: unknown[]) => (await c.query<R>(sql, params)).rows;
    return {
      processed: async (sender, controlId) =>
        (await rows<ProcessedRow>('SELECT ack_code, ack_text, content_sha256 FROM processed_message WHERE sender = $1 AND control_id = $2', [sender, controlId]))[0],
      identity: async (key) => (await rows<IdentityRow>('SELECT * FROM identity WHERE ipp_key = $1', [key]))[0],
      insHolders: async (value, oid) =>
        (await rows<{ ipp_key: string }>(`SELECT ipp_key FROM identity WHERE ins_value = $1 AND ins_oid = $2 AND merged_into IS NULL ORDER BY ipp_key COLLATE "C"`, [value, oid])).map((r) => r.ipp_key),
      mergedAwayBy: async (key) =>
        (await rows<{ kind: string }>(`SELECT kind FROM link WHERE other_key = $1 AND kind IN ('merge', 'change-id') AND active = 1 LIMIT 1`, [key]))[0]?.kind,
      lock: (key) => lockKey(c as Client, `ipp|${key}`),
      upsert: async (w) => {
        await c.query(
          `INSERT INTO identity (ipp_key, ins_value, ins_oid, status, qualified, data, event_time, event_ms, updated_at, merged_into)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)
           ON CONFLICT (ipp_key) DO UPDATE SET ins_value = $2, ins_oid = $3, status = $4, qualified = $5, data = $6,
             event_time = COALESCE($7, identity.event_time), event_ms = COALESCE($8, identity.event_ms), updated_at = $9`,
          [w.key, w.ins, w.insOid, w.status, w.qualified, w.data, w.eventTime, w.eventMs, w.now],
        );
      },
      history: async (row) => {
        await c.query(
          `INSERT INTO identity_history (ipp_key, origin_key, event, event_time, status, applied, sender, control_id, recorded_at, data)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          row,
        );
      },
      audit: async (at, actor, action, key, detail) => {
        await c.query('INSERT INTO audit (at, actor, action, ipp_key, detail) VALUES ($1, $2, $3, $4, $5)', [at, actor, action, key, detail]);
      },
      recordProcessed: async (origin, ack, outcome, now, hash) => {
        await c.query(
          `INSERT INTO processed_message (sender, control_id, ack_code, ack_text, outcome, recorded_at, content_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [origin.sender, origin.controlId, ack.code, ack.text, outcome, now, hash],
        );
      },
      mergeInto: async (oldKey, key, stubData, eventTime, ms, now) => {
        await c.query(
          `INSERT INTO identity (ipp_key, ins_value, ins_oid, status, qualified, data, event_time, event_ms, updated_at, merged_into)
           VALUES ($1, NULL, NULL, 'PROV', 0, $2, $3, $4, $5, $6) ON CONFLICT (ipp_key) DO NOTHING`,
          [oldKey, stubData, eventTime, ms, now, key],
        );
        await c.query(
          `UPDATE identity SET merged_into = $1, updated_at = $2, event_time = COALESCE($3, event_time), event_ms = COALESCE($4, event_ms) WHERE ipp_key = $5`,
          [key, now, eventTime, ms, oldKey],
        );
        await c.query('UPDATE identity SET merged_into = $1 WHERE merged_into = $2', [key, oldKey]);
        return (await c.query('UPDATE identity_history SET ipp_key = $1 WHERE ipp_key = $2', [key, oldKey])).rowCount ?? 0;
      },
      link: async (key, other, kind, active, eventTime) => {
        await c.query(
          `INSERT INTO link (ipp_key, other_key, kind, active, event_time) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (ipp_key, other_key, kind) DO UPDATE SET active = excluded.active, event_time = excluded.event_time`,
          [key, other, kind, active, eventTime],
        );
      },
    };
  }

  /** The identity a key ends at, following merges, read by `c` (a transaction's client or the pool). */
  private follow(c: Client | pg.Pool, key: string): Promise<IdentityRow | undefined> {
    return runAsync(follow(this.registryTx(c), key));
  }

  async byIpp(id: string, authority?: string): Promise<StoredIdentity | null> {
    await this.ready;
    if (authority) {
      const row = await this.follow(this.pool, `${authority}|${id}`);
      return row ? toStored(row) : null;
    }
    const rows = await this.query<IdentityRow>(
      `SELECT * FROM identity WHERE substr(ipp_key, strpos(ipp_key, '|') + 1) = $1 ORDER BY merged_into IS NOT NULL, ipp_key COLLATE "C"`,
      [id],
    );
    const row = rows[0] ? await this.follow(this.pool, rows[0].ipp_key) : undefined;
    return row ? toStored(row) : null;
  }

  async byIns(value: string, opts: { qualifiedOnly?: boolean } = {}): Promise<StoredIdentity[]> {
    const qualified = (opts.qualifiedOnly ?? true) ? 'AND qualified = 1' : '';
    const rows = await this.query<IdentityRow>(`SELECT * FROM identity WHERE ins_value = $1 ${qualified} AND merged_into IS NULL ORDER BY ipp_key COLLATE "C"`, [value]);
    return rows.map(toStored);
  }

  async history(key: string): Promise<HistoryEntry[]> {
    return (await this.query<Record<string, string | number | null>>('SELECT * FROM identity_history WHERE ipp_key = $1 ORDER BY seq', [key])).map(toHistory);
  }

  async historyOfMessage(key: string, sender: string, controlId: string): Promise<HistoryEntry[]> {
    await this.ready;
    const at = (await this.follow(this.pool, key))?.ipp_key ?? key;
    return (
      await this.query<Record<string, string | number | null>>('SELECT * FROM identity_history WHERE ipp_key = $1 AND sender = $2 AND control_id = $3 ORDER BY seq', [at, sender, controlId])
    ).map(toHistory);
  }

  async links(key: string): Promise<LinkEntry[]> {
    const rows = await this.query<Record<string, string | number | null>>(
      'SELECT * FROM link WHERE ipp_key = $1 OR other_key = $1 ORDER BY ipp_key COLLATE "C", other_key COLLATE "C"',
      [key],
    );
    return rows.map((r) => ({
      key: r.ipp_key as string,
      otherKey: r.other_key as string,
      kind: r.kind as LinkEntry['kind'],
      active: r.active === 1,
      eventTime: r.event_time as string | null,
    }));
  }

  async audit(limit = 100): Promise<AuditEntry[]> {
    const rows = await this.query<Record<string, string | number | null>>('SELECT * FROM audit ORDER BY seq DESC LIMIT $1', [limit]);
    return rows.map((r) => ({
      seq: r.seq as number,
      at: r.at as string,
      actor: r.actor as string,
      action: r.action as string,
      key: r.ipp_key as string | null,
      detail: JSON.parse(r.detail as string) as Record<string, unknown>,
    }));
  }

  async stats() {
    const rows = await this.query<{ identities: number; qualified: number; merged: number; messages: number; documents: number }>(
      `SELECT COUNT(*) AS identities, COALESCE(SUM(CASE WHEN qualified = 1 AND merged_into IS NULL THEN 1 ELSE 0 END), 0) AS qualified,
              COALESCE(SUM(CASE WHEN merged_into IS NOT NULL THEN 1 ELSE 0 END), 0) AS merged,
              (SELECT COUNT(*) FROM processed_message) AS messages,
              (SELECT COUNT(*) FROM document) AS documents FROM identity`,
    );
    return rows[0];
  }

  // ---- documents and their journeys

  async archiveDocument(doc: DocumentInput, opts: ArchiveOptions = {}): Promise<boolean> {
    const effectiveMs = Date.parse(doc.effectiveTime);
    if (!Number.isFinite(effectiveMs)) throw new Error(`document ${doc.id}: effectiveTime "${doc.effectiveTime}" is not a date`);
    const now = new Date().toISOString();
    const params = [
      doc.id,
      doc.setId,
      doc.version,
      doc.typeCode,
      doc.typeLabel,
      doc.title,
      doc.effectiveTime,
      effectiveMs,
      doc.origin,
      doc.replaces,
      doc.ippKey,
      doc.patient.ipp?.id ?? null,
      doc.patient.ins?.value ?? null,
      JSON.stringify(doc.patient),
      doc.author ? JSON.stringify(doc.author) : null,
      doc.cda,
      doc.pdf,
      sha256(doc.cda),
      doc.pdf ? sha256(doc.pdf) : null,
      doc.cda.length,
      doc.pdf?.length ?? 0,
      now,
    ];
    const steps = (opts.journey ?? []).map(journeyRow);
    return this.tx(async (c) => {
      const added =
        (
          await c.query(
            `INSERT INTO document (id, set_id, version, type_code, type_label, title, effective_time, effective_ms, origin, status, replaces,
               ipp_key, ipp_id, ins_value, patient, author, cda, pdf, cda_sha256, pdf_sha256, cda_bytes, pdf_bytes, archived_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'current', $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
             ON CONFLICT (id) DO NOTHING`,
            params,
          )
        ).rowCount === 1;
      if (added && doc.replaces) await c.query(`UPDATE document SET status = 'replaced' WHERE id = $1 AND status = 'current'`, [doc.replaces]);
      for (const step of steps) await recordStep(c, step);
      const journalId = await this.journalWith(c, opts.journal, added);
      if (added && opts.task) await createTask(c, doc.id, opts.task, journalId);
      return added;
    });
  }

  cancelDocument(id: string, opts: CancelOptions = {}): Promise<boolean> {
    const steps = (opts.journey ?? []).map(journeyRow);
    return this.tx(async (c) => {
      for (const step of steps) await recordStep(c, step);
      const cancelled = (await c.query(`UPDATE document SET status = 'cancelled' WHERE id = $1`, [id])).rowCount === 1;
      await this.journalWith(c, opts.journal, cancelled);
      return cancelled;
    });
  }

  recordJourney(entry: JourneyInput | JourneyInput[], opts: WriteOptions<void> = {}): Promise<void> {
    const steps = (Array.isArray(entry) ? entry : [entry]).map(journeyRow);
    return this.tx(async (c) => {
      for (const step of steps) await recordStep(c, step);
      await this.journalWith(c, opts.journal, undefined);
    });
  }

  async journey(documentId: string): Promise<JourneyEntry[]> {
    const rows = await this.query<{ document_id: string; step: string; at: string; control_id: string | null; ok: number; detail: string }>(
      'SELECT document_id, step, at, control_id, ok, detail FROM document_journey WHERE document_id = $1 ORDER BY seq',
      [documentId],
    );
    return rows.map((r) => ({ documentId: r.document_id, step: r.step as JourneyStep, at: r.at, controlId: r.control_id, ok: r.ok === 1, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }

  async documentsOfMessage(controlId: string): Promise<string[]> {
    const rows = await this.query<{ document_id: string }>(
      `SELECT document_id FROM document_journey WHERE control_id = $1 AND step = 'sent' GROUP BY document_id ORDER BY document_id COLLATE "C"`,
      [controlId],
    );
    return rows.map((r) => r.document_id);
  }

  async getDocument(id: string): Promise<DocumentRecord | null> {
    const row = (await this.query<DocumentRow>(`SELECT ${DOCUMENT_COLUMNS} FROM document WHERE id = $1`, [id]))[0];
    return row ? toDocument(row) : null;
  }

  async documentContent(id: string): Promise<{ cda: Buffer; pdf: Buffer | null } | null> {
    const row = (await this.query<{ cda: Buffer; pdf: Buffer | null }>('SELECT cda, pdf FROM document WHERE id = $1', [id]))[0];
    return row ? { cda: row.cda, pdf: row.pdf } : null;
  }

  private documentWhere(q: DocumentQuery): { sql: string; params: unknown[] } {
    const where: string[] = [];
    const params: unknown[] = [];
    const list = (column: string, values: string[]) => {
      params.push(values);
      where.push(`${column} = ANY($${params.length})`);
    };
    if (q.ipps) {
      const keys = q.ipps.filter((v) => v.includes('|'));
      const ids = q.ipps.filter((v) => !v.includes('|'));
      const parts: string[] = [];
      if (keys.length) {
        params.push(keys);
        parts.push(`ipp_key = ANY($${params.length})`);
      }
      if (ids.length) {
        params.push(ids);
        parts.push(`ipp_id = ANY($${params.length})`);
      }
      where.push(parts.length ? `(${parts.join(' OR ')})` : 'FALSE');
    }
    if (q.ins) list('ins_value', q.ins);
    if (q.types) list('type_code', q.types);
    if (q.since) {
      const ms = Date.parse(q.since);
      if (!Number.isFinite(ms)) throw new Error(`since "${q.since}" is not a date`);
      params.push(ms);
      where.push(`effective_ms >= $${params.length}`);
    }
    if (!q.allVersions) where.push(`status = 'current'`);
    return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
  }

  async countDocuments(q: DocumentQuery): Promise<number> {
    const { sql, params } = this.documentWhere(q);
    return (await this.query<{ n: number }>(`SELECT COUNT(*) AS n FROM document ${sql}`, params))[0].n;
  }

  /** Pages of 500 rows (keyset on production date, id, in byte order as SQLite): no cursor stays open between pages. */
  async *listDocuments(q: DocumentQuery): AsyncIterable<DocumentRecord> {
    const { sql, params } = this.documentWhere(q);
    const n = params.length;
    const page = `SELECT ${DOCUMENT_COLUMNS} FROM document ${sql ? `${sql} AND` : 'WHERE'} (effective_ms > $${n + 1} OR (effective_ms = $${n + 1} AND id COLLATE "C" > $${n + 2}))
       ORDER BY effective_ms, id COLLATE "C" LIMIT 500`;
    let lastMs = -8.64e15;
    let lastId = '';
    for (;;) {
      const rows = await this.query<DocumentRow>(page, [...params, lastMs, lastId]);
      for (const r of rows) yield toDocument(r);
      if (rows.length < 500) return;
      lastMs = rows[rows.length - 1].effective_ms;
      lastId = rows[rows.length - 1].id;
    }
  }

  // ---- the journal (./journal.ts)

  private async insertJournal(c: Client, entry: JournalEntry): Promise<number> {
    const row = journalRow(entry);
    const id = (await c.query<{ id: number }>(`${numbered(JOURNAL_INSERT_SQL)} RETURNING id`, row.params)).rows[0].id;
    if (entry.message || entry.answer) await c.query('INSERT INTO journal_raw (journal_id, message, answer) VALUES ($1, $2, $3)', [id, entry.message ?? null, entry.answer ?? null]);
    if (entry.replayOf) {
      await this.audit_(c, row.at, entry.actor ?? 'unknown', 'replay', row.ippKey, { journal: id, replayOf: entry.replayOf, node: entry.node.id, outcome: entry.outcome });
    }
    entry.id = id;
    return id;
  }

  journal(entry: JournalEntry): Promise<number> {
    return this.tx((c) => this.insertJournal(c, entry));
  }

  async journalEntry(id: number): Promise<JournalRecord | null> {
    const row = (await this.query<JournalRow>(`SELECT ${JOURNAL_COLUMNS} FROM journal WHERE id = $1`, [id]))[0];
    return row ? toRecord(row) : null;
  }

  async journalContent(id: number): Promise<JournalContent | null> {
    const row = (await this.query<{ message: Buffer | null; answer: Buffer | null }>('SELECT message, answer FROM journal_raw WHERE journal_id = $1', [id]))[0];
    return row ? { message: row.message, answer: row.answer } : null;
  }

  /** The id of the first row at or after `ms`, or null. */
  private async firstIdFrom(ms: number): Promise<number | null> {
    const row = (await this.query<{ id: number }>('SELECT id FROM journal WHERE at_ms >= $1 ORDER BY at_ms, id LIMIT 1', [ms]))[0];
    return row ? row.id : null;
  }

  /** As the SQLite journal's search: a time range as a range of ids, then the filters, newest first. */
  async searchJournal(q: JournalQuery): Promise<JournalPage> {
    const limit = queryLimit(q.limit);
    const range = {
      from: q.from !== undefined ? await this.firstIdFrom(queryTime('from', q.from)) : undefined,
      to: q.to !== undefined ? await this.firstIdFrom(queryTime('to', q.to)) : undefined,
    };
    const { sql, params } = journalSearchSql(q, range, limit);
    const rows = await this.query<JournalRow>(numbered(sql), params);
    const more = rows.length > limit;
    const entries = rows.slice(0, limit).map(toRecord);
    return { entries, next: more ? entries[entries.length - 1].id : null };
  }

  async figures(range: { from: string; to: string; node?: string }): Promise<HourFigures[]> {
    const from = Math.floor(queryTime('from', range.from) / HOUR_MS);
    const to = Math.ceil(queryTime('to', range.to) / HOUR_MS);
    const rows = range.node
      ? await this.query<Record<string, number | string>>(numbered(FIGURES_OF_NODE_SQL), [from, to, range.node])
      : await this.query<Record<string, number | string>>(numbered(FIGURES_SQL), [from, to]);
    return rows.map(toFigures);
  }

  /** PostgreSQL manages its own space (autovacuum): pages and page size are not given. */
  async journalSize(): Promise<JournalSize> {
    const row = (
      await this.query<{ rows: number; raw_rows: number; oldest: string | null }>(
        `SELECT (SELECT COUNT(*) FROM journal) AS rows, (SELECT COUNT(*) FROM journal_raw) AS raw_rows, (SELECT at FROM journal ORDER BY id LIMIT 1) AS oldest`,
      )
    )[0];
    return { rows: row.rows, rawRows: row.raw_rows, oldest: row.oldest, pages: null, freePages: null, pageSize: null };
  }

  /**
   * Deletes the bytes older than rawDays, then the rows older than rowDays, `batch` rows per transaction
   * (the flow's writes run between them); autovacuum gives the space back (pagesFreed stays 0). Two
   * instances pruning at once delete disjoint batches or nothing: a DELETE of rows gone deletes none.
   */
  prune(opts: PruneOptions = {}): Promise<PruneResult> {
    if (!this.pruning) {
      this.pruning = this.pruneSteps(opts).finally(() => {
        this.pruning = null;
      });
    }
    return this.pruning;
  }

  private async pruneSteps(opts: PruneOptions): Promise<PruneResult> {
    const { rawBefore, rowBefore, batch } = pruneSettings(opts);
    const stop = () => this.closing || (opts.stopped?.() ?? false);
    const result: PruneResult = { raw: 0, rows: 0, pagesFreed: 0, steps: 0 };
    const cutoff = async (ms: number) => (await this.query<{ id: number }>('SELECT id FROM journal WHERE at_ms < $1 ORDER BY at_ms DESC, id DESC LIMIT 1', [ms]))[0]?.id ?? null;
    const deleteRaw = (c: Client | pg.Pool, cut: number) =>
      c.query('DELETE FROM journal_raw WHERE journal_id IN (SELECT journal_id FROM journal_raw WHERE journal_id <= $1 ORDER BY journal_id LIMIT $2)', [cut, batch]);
    const steps = async (step: (c: Client) => Promise<number>, add: (n: number) => void) => {
      while (!stop()) {
        const n = await this.tx(step);
        result.steps++;
        add(n);
        if (n < batch) return;
      }
    };
    const rawCut = await cutoff(rawBefore);
    if (rawCut !== null) await steps(async (c) => (await deleteRaw(c, rawCut)).rowCount ?? 0, (n) => (result.raw += n));
    const rowCut = await cutoff(rowBefore);
    if (rowCut !== null) {
      await steps(
        async (c) => {
          await deleteRaw(c, rowCut);
          return (await c.query('DELETE FROM journal WHERE id IN (SELECT id FROM journal WHERE id <= $1 ORDER BY id LIMIT $2)', [rowCut, batch])).rowCount ?? 0;
        },
        (n) => (result.rows += n),
      );
    }
    return result;
  }

  // ---- reconciliation tasks (./reconciliation.ts)

  async tasks(q: TaskQuery = {}): Promise<TaskPage> {
    const limit = queryLimit(q.limit);
    const { sql, params } = taskListSql(q, limit);
    return taskPage(await this.query<TaskRow>(numbered(sql), params), limit);
  }

  async task(id: number): Promise<ReconciliationTask | null> {
    const row = (await this.query<TaskRow>('SELECT * FROM reconciliation_task WHERE id = $1', [id]))[0];
    return row ? toTask(row) : null;
  }

  async taskOfDocument(documentId: string): Promise<ReconciliationTask | null> {
    const row = (await this.query<TaskRow>('SELECT * FROM reconciliation_task WHERE document_id = $1', [documentId]))[0];
    return row ? toTask(row) : null;
  }

  async countTasks(status: TaskStatus | 'all' = 'open'): Promise<number> {
    const rows =
      status === 'all'
        ? await this.query<{ n: number }>('SELECT COUNT(*) AS n FROM reconciliation_task')
        : await this.query<{ n: number }>('SELECT COUNT(*) AS n FROM reconciliation_task WHERE status = $1', [status]);
    return rows[0].n;
  }

  /**
   * As the SQLite store's decideTask; the task row is locked (FOR UPDATE) first: two people deciding on
   * two instances at once, the second waits, then finds it decided (TaskAlreadyDecided).
   */
  decideTask(id: number, decision: TaskDecision, actor: string, seen?: unknown): Promise<ReconciliationTask> {
    return this.tx(async (c) => {
      const row = (await c.query<TaskRow>('SELECT * FROM reconciliation_task WHERE id = $1 FOR UPDATE', [id])).rows[0];
      if (!row) throw new TaskDecisionError('NO_TASK', `no reconciliation task ${id}`);
      const task = toTask(row);
      if (task.status !== 'open') throw new TaskAlreadyDecided(task);
      const at = new Date().toISOString();
      const decide = (status: string, taken: unknown) =>
        c.query(`UPDATE reconciliation_task SET status = $1, decided_at = $2, decided_by = $3, decision = $4, seen = $5 WHERE id = $6 AND status = 'open'`, [
          status,
          at,
          actor,
          JSON.stringify(taken),
          seen === undefined ? null : JSON.stringify(seen),
          id,
        ]);
      if ('attach' in decision) {
        const identity = await this.follow(c, decision.attach);
        if (!identity) throw new TaskDecisionError('UNKNOWN_IDENTITY', `the registry holds no identity ${decision.attach}`);
        const patient = attachedPatient(toStored(identity));
        await c.query('UPDATE document SET ipp_key = $1, ipp_id = $2, ins_value = $3, patient = $4 WHERE id = $5', [
          identity.ipp_key,
          patient.ipp?.id ?? null,
          patient.ins?.value ?? null,
          JSON.stringify(patient),
          task.documentId,
        ]);
        const taken = { attach: identity.ipp_key, ...(identity.ipp_key !== decision.attach ? { asked: decision.attach } : {}) };
        await decide('attached', taken);
        await this.audit_(c, at, actor, 'reconcile-attach', identity.ipp_key, { task: id, document: task.documentId, reason: task.reason, decision: taken, insKept: patient.ins !== null, seen: seen ?? null });
      } else {
        await decide('rejected', { reject: decision.reject });
        await this.audit_(c, at, actor, 'reconcile-reject', null, { task: id, document: task.documentId, reason: task.reason, decision: { reject: decision.reject }, seen: seen ?? null });
      }
      return toTask((await c.query<TaskRow>('SELECT * FROM reconciliation_task WHERE id = $1', [id])).rows[0]);
    });
  }

  /** Waits for a pruning under way, then closes the pool (the writes under way end first: their clients are released after COMMIT). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.pruning) await this.pruning.catch(() => undefined);
    await this.ready.catch(() => undefined);
    await this.pool.end();
  }
}

/** A transaction-scoped advisory lock on a text key (64-bit hash: two keys sharing a hash only wait for each other). */
async function lockKey(c: Client, key: string): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
}

function toHistory(r: Record<string, string | number | null>): HistoryEntry {
  return {
    seq: r.seq as number,
    originKey: r.origin_key as string,
    event: r.event as string,
    eventTime: r.event_time as string | null,
    status: r.status as string | null,
    applied: r.applied === 1,
    sender: r.sender as string,
    controlId: r.control_id as string,
    recordedAt: r.recorded_at as string,
    patient: r.data ? (JSON.parse(r.data as string) as PatientIdentity) : null,
  };
}

/** The parameters of a journey row. */
function journeyRow(entry: JourneyInput): [string, string, string, string | null, number, string] {
  return [entry.documentId, entry.step, entry.at ?? new Date().toISOString(), entry.controlId, entry.ok ? 1 : 0, JSON.stringify(entry.detail ?? {})];
}

async function recordStep(c: Client, step: ReturnType<typeof journeyRow>): Promise<void> {
  await c.query('INSERT INTO document_journey (document_id, step, at, control_id, ok, detail) VALUES ($1, $2, $3, $4, $5, $6)', step);
}

async function createTask(c: Client, documentId: string, input: TaskInput, journalId: number | null): Promise<void> {
  await c.query(
    `INSERT INTO reconciliation_task (document_id, created_at, reason, reason_text, traits, candidates, journal_id, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'open') ON CONFLICT (document_id) DO NOTHING`,
    [documentId, new Date().toISOString(), input.reason, input.reasonText, JSON.stringify(input.traits), JSON.stringify(input.candidates), journalId ?? input.journalId ?? null],
  );
}
