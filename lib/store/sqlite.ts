// The embedded identity store: one SQLite file (WAL mode), created on first use.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Checkpointer } from './checkpointer';
import { GroupCommit, type WalSync } from './group-commit';
import { pruneSettings, queryTime, type HourFigures, type JournalContent, type JournalEntry, type JournalPage, type JournalQuery, type JournalRecord, type JournalSize, type PruneOptions, type PruneResult } from './journal';
import { attachedPatient, TaskAlreadyDecided, TaskDecisionError, type ReconciliationTask, type TaskDecision, type TaskPage, type TaskQuery, type TaskStatus } from './reconciliation';
import { JOURNAL_ALL_VIEW, JOURNAL_FROM_SCHEMA_6, JOURNAL_KEYS_FROM_SCHEMA_7, JOURNAL_SCHEMA, SqliteJournal } from './sqlite-journal';
import type { AdtReading, PatientIdentity } from '../ins';
import { applyAdtRules, follow, runSync, toStored, type IdentityRow, type ProcessedRow, type RegistryTx } from './adt-rules';
import { migrateIdentity } from './migrate';
import {
  ippKey,
  type ApplyResult,
  type ArchiveOptions,
  type CancelOptions,
  type JournalOf,
  type JourneyInput,
  type WriteOptions,
  type AuditEntry,
  type DocumentInput,
  type DocumentPatient,
  type DocumentQuery,
  type DocumentRecord,
  type HistoryEntry,
  type IdentityStore,
  type JourneyEntry,
  type JourneyStep,
  type LinkEntry,
  type MessageOrigin,
  type StoredIdentity,
} from './types';

/**
 * 2: the document archive. 3: PAM FR 2.11 identity statuses (QUAL/RECUP rewritten, qualification
 * recomputed: see migrateIdentities) and the content hash of each processed message. 4: the journey of
 * the documents sent (sent, ACK, ZAM business acknowledgements). 5: the message journal, its raw bytes
 * apart, the reconciliation tasks (./sqlite-journal.ts), and incremental auto-vacuum (pruning gives the
 * space back to the file system). 6: a journal row is written alone first, then enters `journal` and its
 * indexes with others (as JSON in journal_raw.entry). 7: written alone into journal_pending instead, moved by
 * SQLite alone (./sqlite-journal.ts).
 */
export const SQLITE_SCHEMA_VERSION = 8;

/** SQLite's PRAGMA auto_vacuum value for INCREMENTAL. */
const AUTO_VACUUM_INCREMENTAL = 2;

/** The WAL is truncated to this size after a checkpoint (a pruning writes many pages; the file does not keep them). */
const WAL_SIZE_LIMIT = 64 * 1024 * 1024;

/** The row of a write: given, or built from its result (inside the savepoint). */
export function entryOf<R>(journal: JournalOf<R> | undefined, result: R): JournalEntry | null {
  if (!journal) return null;
  return typeof journal === 'function' ? journal(result) : journal;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identity (
  ipp_key TEXT PRIMARY KEY,
  ins_value TEXT,
  ins_oid TEXT,
  status TEXT NOT NULL,
  qualified INTEGER NOT NULL,
  data TEXT NOT NULL,
  event_time TEXT,
  event_ms INTEGER,
  updated_at TEXT NOT NULL,
  merged_into TEXT
);
CREATE INDEX IF NOT EXISTS identity_ins ON identity (ins_value);
CREATE TABLE IF NOT EXISTS identity_history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  ipp_key TEXT NOT NULL,
  origin_key TEXT NOT NULL,
  event TEXT NOT NULL,
  event_time TEXT,
  status TEXT,
  applied INTEGER NOT NULL,
  sender TEXT NOT NULL,
  control_id TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  data TEXT
);
CREATE INDEX IF NOT EXISTS identity_history_key ON identity_history (ipp_key);
CREATE TABLE IF NOT EXISTS link (
  ipp_key TEXT NOT NULL,
  other_key TEXT NOT NULL,
  kind TEXT NOT NULL,
  active INTEGER NOT NULL,
  event_time TEXT,
  PRIMARY KEY (ipp_key, other_key, kind)
);
CREATE TABLE IF NOT EXISTS processed_message (
  sender TEXT NOT NULL,
  control_id TEXT NOT NULL,
  ack_code TEXT NOT NULL,
  ack_text TEXT NOT NULL,
  outcome TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  content_sha256 TEXT,
  PRIMARY KEY (sender, control_id)
);
CREATE TABLE IF NOT EXISTS document (
  id TEXT PRIMARY KEY,
  set_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  type_code TEXT NOT NULL,
  type_label TEXT NOT NULL,
  title TEXT NOT NULL,
  effective_time TEXT NOT NULL,
  effective_ms INTEGER NOT NULL,
  origin TEXT NOT NULL,
  status TEXT NOT NULL,
  replaces TEXT,
  ipp_key TEXT,
  ipp_id TEXT,
  ins_value TEXT,
  patient TEXT NOT NULL,
  author TEXT,
  cda BLOB NOT NULL,
  pdf BLOB,
  cda_sha256 TEXT NOT NULL,
  pdf_sha256 TEXT,
  cda_bytes INTEGER NOT NULL,
  pdf_bytes INTEGER NOT NULL,
  archived_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS document_ipp ON document (ipp_key);
CREATE INDEX IF NOT EXISTS document_ipp_id ON document (ipp_id);
CREATE INDEX IF NOT EXISTS document_ins ON document (ins_value);
CREATE INDEX IF NOT EXISTS document_time ON document (effective_ms, id);
CREATE TABLE IF NOT EXISTS document_journey (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id TEXT NOT NULL,
  step TEXT NOT NULL,
  at TEXT NOT NULL,
  control_id TEXT,
  ok INTEGER NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS document_journey_document ON document_journey (document_id);
CREATE INDEX IF NOT EXISTS document_journey_control ON document_journey (control_id);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  ipp_key TEXT,
  detail TEXT NOT NULL
);
`;

export const DOCUMENT_COLUMNS = `id, set_id, version, type_code, type_label, title, effective_time, effective_ms, origin, status, replaces,
  ipp_key, patient, author, cda_sha256, pdf_sha256, cda_bytes, pdf_bytes, archived_at`;

export interface DocumentRow {
  id: string;
  set_id: string;
  version: number;
  type_code: string;
  type_label: string;
  title: string;
  effective_time: string;
  effective_ms: number;
  origin: string;
  status: string;
  replaces: string | null;
  ipp_key: string | null;
  patient: string;
  author: string | null;
  cda_sha256: string;
  pdf_sha256: string | null;
  cda_bytes: number;
  pdf_bytes: number;
  archived_at: string;
}

export function toDocument(r: DocumentRow): DocumentRecord {
  return {
    id: r.id,
    setId: r.set_id,
    version: r.version,
    typeCode: r.type_code,
    typeLabel: r.type_label,
    title: r.title,
    effectiveTime: r.effective_time,
    origin: r.origin as DocumentRecord['origin'],
    status: r.status as DocumentRecord['status'],
    replaces: r.replaces,
    ippKey: r.ipp_key,
    patient: JSON.parse(r.patient) as DocumentPatient,
    author: r.author ? (JSON.parse(r.author) as DocumentRecord['author']) : null,
    cdaSha256: r.cda_sha256,
    pdfSha256: r.pdf_sha256,
    cdaBytes: r.cda_bytes,
    pdfBytes: r.pdf_bytes,
    archivedAt: r.archived_at,
  };
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface SqliteStoreOptions {
  /** The database file (created with its folder when missing); ':memory:' for tests. */
  file: string;
  /**
   * 'fsync' (default): every write (applyAdt, archiveDocument, cancelDocument, recordJourney) resolves once
   * its commit is on disk — grouped commits, the WAL synced after each group (./group-commit.ts).
   * 'normal': one transaction per write, resolved at COMMIT; the WAL is synced at checkpoints only
   * (`synchronous = NORMAL` alone), so an OS crash or a power cut can lose writes already answered. The
   * benchmark's baseline (the path before durable acknowledgements), not for a feed.
   */
  durability?: 'fsync' | 'normal';
  /** How the WAL is synced under 'fsync' (default: walSync(), fdatasync on the event loop or in the thread pool); see WalSync. */
  syncWal?: WalSync;
  /**
   * Who checkpoints the WAL (a database file only): 'worker' (default), a worker thread of its own, the store's
   * connection only past WRITER_CHECKPOINT_FRAMES (./checkpointer.ts); 'writer', the store's connection at
   * SQLite's 1,000 frames, on the event loop.
   */
  checkpoints?: 'worker' | 'writer';
}

export class SqliteIdentityStore implements IdentityStore {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly st: Record<string, Database.Statement>;
  /** The registry's reads and writes for the ADT rules (./adt-rules.ts), synchronous, in the caller's transaction. */
  private readonly registry: RegistryTx;
  /** The journal and reconciliation tasks (schema 5). */
  private readonly jr: SqliteJournal;
  /** A pruning under way (one at a time per store), and whether the store is closing (pruning stops). */
  private pruning: Promise<PruneResult> | null = null;
  private closing = false;
  /** Under 'fsync' durability: the queue of writes, committed in groups and synced before they resolve. */
  private readonly group: GroupCommit | null;
  /** Under 'normal' durability: a write in its own IMMEDIATE transaction, created once. */
  private readonly direct: <T>(write: () => T) => T;
  /** The worker thread that checkpoints the WAL (null: the store's connection does, or an in-memory database). */
  private readonly checkpointer: Checkpointer | null;

  constructor(opts: SqliteStoreOptions) {
    this.file = opts.file;
    if (opts.file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(opts.file)), { recursive: true });
    this.db = new Database(opts.file);
    try {
      // before the first table of a new database; an existing one is vacuumed into it below (schema 5)
      this.db.pragma('auto_vacuum = INCREMENTAL');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
      // NORMAL under both durabilities: under 'fsync' the WAL is synced after each group, off the event loop
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      // statement journals and savepoints' journals in memory: the journal's moves (INSERT … SELECT of 200 rows,
      // inside a group's savepoint) spilled them into a temporary file created and unlinked every few moves — 149
      // files and 7,200 writes for 3,000 journaled ADT messages (strace). Only a rollback reads them; a crash needs
      // none (the WAL is what makes a commit atomic). At most the pages a transaction changes: a group's and a move's
      // (SQLite's temporary sorts go to memory too: the store's queries sort by index, or a page of rows).
      this.db.pragma('temp_store = MEMORY');
      this.db.exec(SCHEMA);
      this.db.exec(JOURNAL_SCHEMA);
      const version = this.db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
      if (!version) this.db.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', ?)`).run(String(SQLITE_SCHEMA_VERSION));
      else if (Number(version.value) > SQLITE_SCHEMA_VERSION) {
        throw new Error(`${opts.file}: schema version ${version.value} is newer than this software (${SQLITE_SCHEMA_VERSION})`);
      } else if (Number(version.value) < SQLITE_SCHEMA_VERSION) {
        this.db.transaction(() => this.migrate(Number(version.value))).immediate();
      }
      this.db.exec(JOURNAL_ALL_VIEW);
      // schema 5: a database created before has no incremental auto-vacuum; VACUUM rebuilds it with it (once,
      // outside any transaction; tried again at the next opening if it fails, the store working meanwhile)
      if (opts.file !== ':memory:' && this.db.pragma('auto_vacuum', { simple: true }) !== AUTO_VACUUM_INCREMENTAL) this.db.exec('VACUUM');
    } catch (err) {
      // not a database, read-only, newer schema…: do not leave the file open behind the error
      this.db.close();
      throw err;
    }
    const p = (sql: string) => this.db.prepare(sql);
    this.st = {
      processed: p(`SELECT ack_code, ack_text, content_sha256 FROM processed_message WHERE sender = ? AND control_id = ?`),
      recordProcessed: p(
        `INSERT INTO processed_message (sender, control_id, ack_code, ack_text, outcome, recorded_at, content_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      identity: p(`SELECT * FROM identity WHERE ipp_key = ?`),
      upsert: p(`INSERT INTO identity (ipp_key, ins_value, ins_oid, status, qualified, data, event_time, event_ms, updated_at, merged_into)
                 VALUES (@key, @ins, @insOid, @status, @qualified, @data, @eventTime, @eventMs, @now, NULL)
                 ON CONFLICT (ipp_key) DO UPDATE SET ins_value = @ins, ins_oid = @insOid, status = @status, qualified = @qualified,
                   data = @data, event_time = COALESCE(@eventTime, event_time), event_ms = COALESCE(@eventMs, event_ms), updated_at = @now`),
      // the merged-away identity's last event is the merge: a message about it older than that is only late
      markMerged: p(`UPDATE identity SET merged_into = @into, updated_at = @now, event_time = COALESCE(@eventTime, event_time), event_ms = COALESCE(@eventMs, event_ms)
                     WHERE ipp_key = @key`),
      insertMergedStub: p(`INSERT OR IGNORE INTO identity (ipp_key, ins_value, ins_oid, status, qualified, data, event_time, event_ms, updated_at, merged_into)
                           VALUES (?, NULL, NULL, 'PROV', 0, ?, ?, ?, ?, ?)`),
      moveHistory: p(`UPDATE identity_history SET ipp_key = ? WHERE ipp_key = ?`),
      repointMerged: p(`UPDATE identity SET merged_into = ? WHERE merged_into = ?`),
      history: p(`INSERT INTO identity_history (ipp_key, origin_key, event, event_time, status, applied, sender, control_id, recorded_at, data)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      link: p(`INSERT INTO link (ipp_key, other_key, kind, active, event_time) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (ipp_key, other_key, kind) DO UPDATE SET active = excluded.active, event_time = excluded.event_time`),
      audit: p(`INSERT INTO audit (at, actor, action, ipp_key, detail) VALUES (?, ?, ?, ?, ?)`),
      historyOfMessage: p(`SELECT * FROM identity_history WHERE ipp_key = ? AND sender = ? AND control_id = ? ORDER BY seq`),
      reattach: p(`UPDATE document SET ipp_key = ?, ipp_id = ?, ins_value = ?, patient = ? WHERE id = ?`),
      byIns: p(`SELECT * FROM identity WHERE ins_value = ? AND merged_into IS NULL ORDER BY ipp_key`),
      byInsOid: p(`SELECT * FROM identity WHERE ins_value = ? AND ins_oid = ? AND merged_into IS NULL ORDER BY ipp_key`),
      linkTo: p(`SELECT kind FROM link WHERE other_key = ? AND kind IN ('merge', 'change-id') AND active = 1 LIMIT 1`),
      byInsQualified: p(`SELECT * FROM identity WHERE ins_value = ? AND qualified = 1 AND merged_into IS NULL ORDER BY ipp_key`),
      byIppId: p(`SELECT * FROM identity WHERE substr(ipp_key, instr(ipp_key, '|') + 1) = ? ORDER BY merged_into IS NOT NULL, ipp_key`),
      historyOf: p(`SELECT * FROM identity_history WHERE ipp_key = ? ORDER BY seq`),
      linksOf: p(`SELECT * FROM link WHERE ipp_key = ? OR other_key = ? ORDER BY ipp_key, other_key`),
      auditTail: p(`SELECT * FROM audit ORDER BY seq DESC LIMIT ?`),
      stats: p(`SELECT COUNT(*) AS identities, COALESCE(SUM(qualified = 1 AND merged_into IS NULL), 0) AS qualified,
                       COALESCE(SUM(merged_into IS NOT NULL), 0) AS merged,
                       (SELECT COUNT(*) FROM processed_message) AS messages,
                       (SELECT COUNT(*) FROM document) AS documents FROM identity`),
      insertDocument: p(`INSERT OR IGNORE INTO document (id, set_id, version, type_code, type_label, title, effective_time, effective_ms, origin,
                           status, replaces, ipp_key, ipp_id, ins_value, patient, author, cda, pdf, cda_sha256, pdf_sha256, cda_bytes, pdf_bytes, archived_at)
                         VALUES (@id, @setId, @version, @typeCode, @typeLabel, @title, @effectiveTime, @effectiveMs, @origin, 'current', @replaces,
                           @ippKey, @ippId, @ins, @patient, @author, @cda, @pdf, @cdaSha256, @pdfSha256, @cdaBytes, @pdfBytes, @now)`),
      markReplaced: p(`UPDATE document SET status = 'replaced' WHERE id = ? AND status = 'current'`),
      markCancelled: p(`UPDATE document SET status = 'cancelled' WHERE id = ?`),
      document: p(`SELECT ${DOCUMENT_COLUMNS} FROM document WHERE id = ?`),
      documentContent: p(`SELECT cda, pdf FROM document WHERE id = ?`),
      recordJourney: p(`INSERT INTO document_journey (document_id, step, at, control_id, ok, detail) VALUES (?, ?, ?, ?, ?, ?)`),
      journey: p(`SELECT document_id, step, at, control_id, ok, detail FROM document_journey WHERE document_id = ? ORDER BY seq`),
      documentsOfMessage: p(`SELECT DISTINCT document_id FROM document_journey WHERE control_id = ? AND step = 'sent' ORDER BY document_id`),
    };
    this.registry = this.registryTx();
    this.jr = new SqliteJournal(this.db);
    // the sequence of the journal's ids; the rows a crash left pending enter `journal` now (its reads expect them there)
    this.db
      .transaction(() => {
        this.jr.startSequence();
        if (this.jr.unflushed()) this.jr.flush();
      })
      .immediate();
    const direct = this.db.transaction((write: () => unknown) => write()).immediate;
    this.direct = direct as <T>(write: () => T) => T;
    const wal = opts.file === ':memory:' ? null : `${path.resolve(opts.file)}-wal`;
    this.group = (opts.durability ?? 'fsync') === 'fsync' ? new GroupCommit(this.db, wal, opts.syncWal) : null;
    this.checkpointer = wal && (opts.checkpoints ?? 'worker') === 'worker' ? new Checkpointer(this.db, opts.file) : null;
  }

  /** Whether a worker thread checkpoints the WAL (SqliteStoreOptions.checkpoints; false once it stopped or failed). */
  get checkpointsInWorker(): boolean {
    return this.checkpointer?.running ?? false;
  }

  /** Resolves once the checkpoints' worker has its connection open: true; false if it has none (ended, or not run). */
  checkpointsStarted(): Promise<boolean> {
    return this.checkpointer?.started ?? Promise.resolve(false);
  }

  /** 'fsync' or 'normal' (SqliteStoreOptions.durability). */
  get durability(): 'fsync' | 'normal' {
    return this.group ? 'fsync' : 'normal';
  }

  /** The WAL sync of durable writes (null under 'normal'): tests hold it to see that no write resolves before. */
  get syncWal(): WalSync | null {
    return this.group?.sync ?? null;
  }

  set syncWal(sync: WalSync) {
    if (!this.group) throw new Error(`${this.file}: no WAL sync under 'normal' durability`);
    this.group.sync = sync;
  }

  /** Runs a write in a transaction of its own ('normal') or in the next durable group ('fsync'). */
  private write<T>(write: () => T): Promise<T> {
    if (this.group) return this.group.run(write);
    try {
      return Promise.resolve(this.direct(write));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Brings a database of an earlier schema to SQLITE_SCHEMA_VERSION, in one transaction: the tables added since
   * were created by SCHEMA (CREATE … IF NOT EXISTS); 3 adds the content hash of processed messages and
   * rewrites each identity with migrateIdentity (QUAL → VALI, RECUP → PROV, the INS kept only where the
   * identity is qualified under PAM FR 2.11), each change with an audit entry; 5 adds the journal and
   * the tasks (created by JOURNAL_SCHEMA), then the constructor vacuums the file into incremental
   * auto-vacuum; 7 moves the journal rows schema 6 left pending into `journal` (JOURNAL_FROM_SCHEMA_6); 8 puts
   * the rows' control ids, IPPs and INS into journal_keys and drops the indexes it replaces
   * (JOURNAL_KEYS_FROM_SCHEMA_7; rows still pending get theirs when they move). No row's content is lost.
   */
  private migrate(from: number): void {
    const now = new Date().toISOString();
    if (from < 3) {
      const columns = (this.db.prepare(`PRAGMA table_info(processed_message)`).all() as { name: string }[]).map((c) => c.name);
      if (!columns.includes('content_sha256')) this.db.exec(`ALTER TABLE processed_message ADD COLUMN content_sha256 TEXT`);
      const update = this.db.prepare(`UPDATE identity SET ins_value = ?, ins_oid = ?, status = ?, qualified = ?, data = ? WHERE ipp_key = ?`);
      const audit = this.db.prepare(`INSERT INTO audit (at, actor, action, ipp_key, detail) VALUES (?, 'segur-dpi:migration', 'migrate', ?, ?)`);
      for (const row of this.db.prepare(`SELECT ipp_key, data, status, qualified FROM identity`).all() as { ipp_key: string; data: string; status: string; qualified: number }[]) {
        const m = migrateIdentity(JSON.parse(row.data) as PatientIdentity);
        if (!m.changed) continue;
        const p = m.patient;
        update.run(p.ins?.value ?? null, p.ins?.oid ?? null, p.status, p.qualified ? 1 : 0, JSON.stringify(p), row.ipp_key);
        audit.run(now, row.ipp_key, JSON.stringify({ schema: 3, statusBefore: row.status, statusAfter: p.status, qualifiedBefore: row.qualified === 1, qualifiedAfter: p.qualified, insRemoved: m.insRemoved, why: m.why }));
      }
    }
    // 7: journal_pending is made by JOURNAL_SCHEMA (its sequence by SqliteJournal.startSequence)
    if (from === 6) this.db.exec(JOURNAL_FROM_SCHEMA_6);
    // 8: journal_keys is made by JOURNAL_SCHEMA, empty
    this.db.exec(JOURNAL_KEYS_FROM_SCHEMA_7);
    this.db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(String(SQLITE_SCHEMA_VERSION));
  }

  private registryTx(): RegistryTx {
    const st = this.st;
    return {
      processed: (sender, controlId) => st.processed.get(sender, controlId) as ProcessedRow | undefined,
      identity: (key) => st.identity.get(key) as IdentityRow | undefined,
      insHolders: (value, oid) => (st.byInsOid.all(value, oid) as IdentityRow[]).map((r) => r.ipp_key),
      mergedAwayBy: (key) => (st.linkTo.get(key) as { kind: string } | undefined)?.kind,
      lock: () => undefined,
      upsert: (w) => void st.upsert.run(w),
      history: (row) => void st.history.run(...row),
      audit: (at, actor, action, key, detail) => void st.audit.run(at, actor, action, key, detail),
      recordProcessed: (origin, ack, outcome, now, hash) => void st.recordProcessed.run(origin.sender, origin.controlId, ack.code, ack.text, outcome, now, hash),
      mergeInto: (oldKey, key, stubData, eventTime, ms, now) => {
        st.insertMergedStub.run(oldKey, stubData, eventTime, ms, now, key);
        st.markMerged.run({ into: key, now, eventTime, eventMs: ms, key: oldKey });
        st.repointMerged.run(key, oldKey);
        return st.moveHistory.run(key, oldKey).changes;
      },
      link: (key, other, kind, active, eventTime) => void st.link.run(key, other, kind, active, eventTime),
    };
  }

  private follow(key: string): IdentityRow | undefined {
    return runSync(follow(this.registry, key));
  }

  applyAdt(reading: AdtReading, origin: MessageOrigin, ack: { code: string; text: string }, opts: WriteOptions<ApplyResult> = {}): Promise<ApplyResult> {
    return this.write(() => {
      const result = runSync(applyAdtRules(this.registry, reading, origin, ack));
      this.journalWith(opts.journal, result);
      return result;
    });
  }

  /** Writes the row of a write in its savepoint, if it has one; its id. */
  private journalWith<R>(journal: JournalOf<R> | undefined, result: R): number | null {
    const entry = entryOf(journal, result);
    return entry ? this.jr.insert(entry) : null;
  }

  async byIpp(id: string, authority?: string): Promise<StoredIdentity | null> {
    if (authority) {
      const row = this.follow(`${authority}|${id}`);
      return row ? toStored(row) : null;
    }
    const rows = this.st.byIppId.all(id) as IdentityRow[];
    const row = rows[0] ? this.follow(rows[0].ipp_key) : undefined;
    return row ? toStored(row) : null;
  }

  async byIns(value: string, opts: { qualifiedOnly?: boolean } = {}): Promise<StoredIdentity[]> {
    const rows = ((opts.qualifiedOnly ?? true) ? this.st.byInsQualified : this.st.byIns).all(value) as IdentityRow[];
    return rows.map(toStored);
  }

  async history(key: string): Promise<HistoryEntry[]> {
    return (this.st.historyOf.all(key) as Record<string, string | number | null>[]).map((r) => ({
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
    }));
  }

  async links(key: string): Promise<LinkEntry[]> {
    return (this.st.linksOf.all(key, key) as Record<string, string | number | null>[]).map((r) => ({
      key: r.ipp_key as string,
      otherKey: r.other_key as string,
      kind: r.kind as LinkEntry['kind'],
      active: r.active === 1,
      eventTime: r.event_time as string | null,
    }));
  }

  async audit(limit = 100): Promise<AuditEntry[]> {
    return (this.st.auditTail.all(limit) as Record<string, string | number | null>[]).map((r) => ({
      seq: r.seq as number,
      at: r.at as string,
      actor: r.actor as string,
      action: r.action as string,
      key: r.ipp_key as string | null,
      detail: JSON.parse(r.detail as string) as Record<string, unknown>,
    }));
  }

  async historyOfMessage(key: string, sender: string, controlId: string): Promise<HistoryEntry[]> {
    const at = this.follow(key)?.ipp_key ?? key;
    return (this.st.historyOfMessage.all(at, sender, controlId) as Record<string, string | number | null>[]).map((r) => ({
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
    }));
  }

  async stats() {
    return this.st.stats.get() as { identities: number; qualified: number; merged: number; messages: number; documents: number };
  }

  async archiveDocument(doc: DocumentInput, opts: ArchiveOptions = {}): Promise<boolean> {
    const effectiveMs = Date.parse(doc.effectiveTime);
    if (!Number.isFinite(effectiveMs)) throw new Error(`document ${doc.id}: effectiveTime "${doc.effectiveTime}" is not a date`);
    const row = {
      id: doc.id,
      setId: doc.setId,
      version: doc.version,
      typeCode: doc.typeCode,
      typeLabel: doc.typeLabel,
      title: doc.title,
      effectiveTime: doc.effectiveTime,
      effectiveMs,
      origin: doc.origin,
      replaces: doc.replaces,
      ippKey: doc.ippKey,
      ippId: doc.patient.ipp?.id ?? null,
      ins: doc.patient.ins?.value ?? null,
      patient: JSON.stringify(doc.patient),
      author: doc.author ? JSON.stringify(doc.author) : null,
      cda: doc.cda,
      pdf: doc.pdf,
      cdaSha256: sha256(doc.cda),
      pdfSha256: doc.pdf ? sha256(doc.pdf) : null,
      cdaBytes: doc.cda.length,
      pdfBytes: doc.pdf?.length ?? 0,
      now: new Date().toISOString(),
    };
    const steps = (opts.journey ?? []).map((e) => this.journeyRow(e));
    return this.write(() => {
      const added = this.st.insertDocument.run(row).changes === 1;
      if (added && doc.replaces) this.st.markReplaced.run(doc.replaces);
      for (const step of steps) this.st.recordJourney.run(...step);
      const journalId = this.journalWith(opts.journal, added);
      if (added && opts.task) this.jr.createTask(doc.id, opts.task, journalId);
      return added;
    });
  }

  cancelDocument(id: string, opts: CancelOptions = {}): Promise<boolean> {
    const steps = (opts.journey ?? []).map((e) => this.journeyRow(e));
    return this.write(() => {
      for (const step of steps) this.st.recordJourney.run(...step);
      const cancelled = this.st.markCancelled.run(id).changes === 1;
      this.journalWith(opts.journal, cancelled);
      return cancelled;
    });
  }

  /** The parameters of a journey row. */
  private journeyRow(entry: JourneyInput): [string, string, string, string | null, number, string] {
    return [entry.documentId, entry.step, entry.at ?? new Date().toISOString(), entry.controlId, entry.ok ? 1 : 0, JSON.stringify(entry.detail ?? {})];
  }

  recordJourney(entry: JourneyInput | JourneyInput[], opts: WriteOptions<void> = {}): Promise<void> {
    const steps = (Array.isArray(entry) ? entry : [entry]).map((e) => this.journeyRow(e));
    return this.write(() => {
      for (const step of steps) this.st.recordJourney.run(...step);
      this.journalWith(opts.journal, undefined);
    });
  }

  // ---- the journal (./journal.ts)

  journal(entry: JournalEntry): Promise<number> {
    return this.write(() => this.jr.insert(entry));
  }

  /** Moves the pending rows into `journal` (./sqlite-journal.ts, schema 7): every read of the journal does it first. */
  private async flushJournal(): Promise<void> {
    if (this.db.open && this.jr.unflushed()) await this.write(() => this.jr.flush());
  }

  async searchJournal(query: JournalQuery): Promise<JournalPage> {
    await this.flushJournal();
    return this.jr.search(query);
  }

  async journalEntry(id: number): Promise<JournalRecord | null> {
    await this.flushJournal();
    return this.jr.get(id);
  }

  async journalContent(id: number): Promise<JournalContent | null> {
    return this.jr.content(id);
  }

  async figures(range: { from: string; to: string; node?: string }): Promise<HourFigures[]> {
    await this.flushJournal();
    return this.jr.figures(queryTime('from', range.from), queryTime('to', range.to), range.node);
  }

  async journalSize(): Promise<JournalSize> {
    await this.flushJournal();
    return this.jr.size();
  }

  /**
   * Deletes the raw bytes of the rows older than rawDays, then the rows older than rowDays, `batch` rows
   * per write — each write a savepoint of a group commit, so the flow's messages are committed between
   * them —, then gives the freed pages back to the file system (incremental vacuum, `vacuumPages` per
   * write) and checkpoints: the file shrinks. One pruning at a time: a second call gets the first's result.
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
    const pages = opts.vacuumPages ?? 256;
    const stop = () => this.closing || !this.db.open || (opts.stopped?.() ?? false);
    const result: PruneResult = { raw: 0, rows: 0, pagesFreed: 0, steps: 0 };
    const steps = async (step: () => number, add: (n: number) => void, full: number) => {
      while (!stop()) {
        const n = await this.write(step);
        result.steps++;
        add(n);
        if (n < full) return;
      }
    };
    await this.flushJournal();
    const rawCut = this.jr.cutoff(rawBefore);
    if (rawCut !== null) await steps(() => this.jr.deleteRaw(rawCut, batch), (n) => (result.raw += n), batch);
    const rowCut = this.jr.cutoff(rowBefore);
    if (rowCut !== null) await steps(() => this.jr.deleteRows(rowCut, batch), (n) => (result.rows += n), batch);
    if (this.db.open && this.db.pragma('auto_vacuum', { simple: true }) === AUTO_VACUUM_INCREMENTAL) {
      const freelist = () => this.db.pragma('freelist_count', { simple: true }) as number;
      await steps(
        () => {
          const before = freelist();
          if (before === 0) return 0;
          this.db.pragma(`incremental_vacuum(${pages})`);
          return before - freelist();
        },
        (n) => (result.pagesFreed += n),
        1,
      );
      // the file is truncated when a checkpoint copies the whole WAL back (no-op for an in-memory database)
      if (this.db.open && this.file !== ':memory:') this.db.pragma('wal_checkpoint(PASSIVE)');
    }
    return result;
  }

  // ---- reconciliation tasks (./reconciliation.ts)

  async tasks(query: TaskQuery = {}): Promise<TaskPage> {
    return this.jr.tasks(query);
  }

  async task(id: number): Promise<ReconciliationTask | null> {
    return this.jr.task(id);
  }

  async countTasks(status: TaskStatus | 'all' = 'open'): Promise<number> {
    return this.jr.countTasks(status);
  }

  async taskOfDocument(documentId: string): Promise<ReconciliationTask | null> {
    return this.jr.taskOfDocument(documentId);
  }

  decideTask(id: number, decision: TaskDecision, actor: string, seen?: unknown): Promise<ReconciliationTask> {
    return this.write(() => {
      const task = this.jr.task(id);
      if (!task) throw new TaskDecisionError('NO_TASK', `no reconciliation task ${id}`);
      if (task.status !== 'open') throw new TaskAlreadyDecided(task);
      const at = new Date().toISOString();
      if ('attach' in decision) {
        const identity = this.follow(decision.attach);
        if (!identity) throw new TaskDecisionError('UNKNOWN_IDENTITY', `the registry holds no identity ${decision.attach}`);
        const patient = attachedPatient(toStored(identity));
        this.st.reattach.run(identity.ipp_key, patient.ipp?.id ?? null, patient.ins?.value ?? null, JSON.stringify(patient), task.documentId);
        const taken = { attach: identity.ipp_key, ...(identity.ipp_key !== decision.attach ? { asked: decision.attach } : {}) };
        this.jr.decide(id, 'attached', at, actor, taken, seen);
        this.st.audit.run(at, actor, 'reconcile-attach', identity.ipp_key, JSON.stringify({ task: id, document: task.documentId, reason: task.reason, decision: taken, insKept: patient.ins !== null, seen: seen ?? null }));
      } else {
        this.jr.decide(id, 'rejected', at, actor, { reject: decision.reject }, seen);
        this.st.audit.run(at, actor, 'reconcile-reject', null, JSON.stringify({ task: id, document: task.documentId, reason: task.reason, decision: { reject: decision.reject }, seen: seen ?? null }));
      }
      return this.jr.task(id) as ReconciliationTask;
    });
  }

  async journey(documentId: string): Promise<JourneyEntry[]> {
    const rows = this.st.journey.all(documentId) as { document_id: string; step: string; at: string; control_id: string | null; ok: number; detail: string }[];
    return rows.map((r) => ({ documentId: r.document_id, step: r.step as JourneyStep, at: r.at, controlId: r.control_id, ok: r.ok === 1, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }

  async documentsOfMessage(controlId: string): Promise<string[]> {
    return (this.st.documentsOfMessage.all(controlId) as { document_id: string }[]).map((r) => r.document_id);
  }

  async getDocument(id: string): Promise<DocumentRecord | null> {
    const row = this.st.document.get(id) as DocumentRow | undefined;
    return row ? toDocument(row) : null;
  }

  async documentContent(id: string): Promise<{ cda: Buffer; pdf: Buffer | null } | null> {
    const row = this.st.documentContent.get(id) as { cda: Buffer; pdf: Buffer | null } | undefined;
    return row ? { cda: row.cda, pdf: row.pdf } : null;
  }

  private documentWhere(q: DocumentQuery): { sql: string; params: unknown[] } {
    const where: string[] = [];
    const params: unknown[] = [];
    const list = (column: string, values: string[]) => {
      where.push(`${column} IN (${values.map(() => '?').join(', ')})`);
      params.push(...values);
    };
    if (q.ipps) {
      const keys = q.ipps.filter((v) => v.includes('|'));
      const ids = q.ipps.filter((v) => !v.includes('|'));
      const parts: string[] = [];
      if (keys.length) parts.push(`ipp_key IN (${keys.map(() => '?').join(', ')})`);
      if (ids.length) parts.push(`ipp_id IN (${ids.map(() => '?').join(', ')})`);
      where.push(parts.length ? `(${parts.join(' OR ')})` : '0');
      params.push(...keys, ...ids);
    }
    if (q.ins) list('ins_value', q.ins);
    if (q.types) list('type_code', q.types);
    if (q.since) {
      const ms = Date.parse(q.since);
      if (!Number.isFinite(ms)) throw new Error(`since "${q.since}" is not a date`);
      where.push('effective_ms >= ?');
      params.push(ms);
    }
    if (!q.allVersions) where.push(`status = 'current'`);
    return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
  }

  async countDocuments(q: DocumentQuery): Promise<number> {
    const { sql, params } = this.documentWhere(q);
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM document ${sql}`).get(...params) as { n: number }).n;
  }

  /** Pages of 500 rows (keyset on production date, id): no statement stays open between pages. */
  async *listDocuments(q: DocumentQuery): AsyncIterable<DocumentRecord> {
    const { sql, params } = this.documentWhere(q);
    const page = this.db.prepare(
      `SELECT ${DOCUMENT_COLUMNS} FROM document ${sql ? `${sql} AND` : 'WHERE'} (effective_ms > ? OR (effective_ms = ? AND id > ?))
       ORDER BY effective_ms, id LIMIT 500`,
    );
    let lastMs = -8.64e15;
    let lastId = '';
    for (;;) {
      const rows = page.all(...params, lastMs, lastMs, lastId) as DocumentRow[];
      for (const r of rows) yield toDocument(r);
      if (rows.length < 500) return;
      lastMs = rows[rows.length - 1].effective_ms;
      lastId = rows[rows.length - 1].id;
    }
  }

  /** Waits for the writes under way (committed and synced), then closes the database. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.pruning) await this.pruning.catch(() => undefined);
    if (this.group) {
      await this.group.drained();
      this.group.close();
    }
    // the worker's connection closes first: the store's, the last, checkpoints the WAL whole and removes it
    await this.checkpointer?.close();
    if (this.db.open) {
      // the pending rows enter `journal` before the file is left (opening it would do it otherwise)
      try {
        if (this.jr.unflushed()) this.db.transaction(() => this.jr.flush()).immediate();
      } catch {
        // a disk full, a read-only file: the rows stay pending, and enter `journal` at the next opening
      }
      this.db.close();
    }
  }
}
