// The journal, its retention and the reconciliation tasks in the SQLite store (schemas 5 to 7). Every method
// that writes runs inside the caller's transaction (a savepoint of a group commit): SqliteIdentityStore
// decides when. The SQL is kept to what PostgreSQL also runs (positional parameters aside: `?` → `$n`),
// except the PRAGMAs of pruning.
import type Database from 'better-sqlite3';
import {
  JournalQueryError,
  queryLimit,
  queryTime,
  type HourFigures,
  type JournalContent,
  type JournalEntry,
  type JournalError,
  type JournalPage,
  type JournalQuery,
  type JournalRecord,
  type JournalSize,
} from './journal';
import type { ReconciliationTask, TaskInput, TaskPage, TaskQuery, TaskStatus } from './reconciliation';

/** The ACK codes and outcomes of the partial indexes journal_alert_ack and journal_alert_outcome (the same lists). */
export const ALERT_ACK_CODES: readonly string[] = Object.freeze(['AE', 'AR', 'CE', 'CR']);
export const ALERT_OUTCOMES: readonly string[] = Object.freeze(['out-of-date', 'duplicate', 'refused', 'rejected', 'failed', 'not-acknowledged', 'to-reconcile', 'cancelled']);

/**
 * The WHERE of an alert index: one equality per value, joined by OR — the form both planners prove a
 * query's `column = 'value'` falls in (SQLite does not look into an IN list).
 */
export function alertIndexWhere(column: 'ack_code' | 'outcome'): string {
  return (column === 'ack_code' ? ALERT_ACK_CODES : ALERT_OUTCOMES).map((x) => `${column} = '${x}'`).join(' OR ');
}

/**
 * The condition on an ACK code or outcome of the alert lists, as a literal: a planner uses a partial index
 * only when the query's value is known to fall in its WHERE (a bound parameter is not). Null for any
 * other value (then a parameter). The value is one of the lists' own strings: nothing of the caller's
 * reaches the SQL.
 */
export function alertFilter(column: 'ack_code' | 'outcome', value: string): string | null {
  const list = column === 'ack_code' ? ALERT_ACK_CODES : ALERT_OUTCOMES;
  const known = list.find((x) => x === value);
  return known === undefined ? null : `${column} = '${known}'`;
}

/**
 * Schema 5. The raw bytes live in their own table, so that pruning them frees whole pages (given back to
 * the file system by incremental vacuum); the row keeps the keys for a year. Only the keys a person looks
 * for are indexed (control id, IPP, INS, document, replays), each ordered by id (newest first), partial
 * where most rows have no value (schema 8: control id, IPP and INS in journal_keys instead, below). Node, type, direction or event filter the rows of an id range (a time
 * range is one) as they are read; an ACK code or outcome that says something went wrong (ALERT_ACK_CODES,
 * ALERT_OUTCOMES: rare, and what support staff look for) has a partial index, the common ones (AA,
 * applied…) are found by reading the newest rows. The last index covers the dashboard's counts per hour
 * and node.
 *
 * Schema 7: a row is first written into `journal_pending` — the same columns, no index —, and its bytes into
 * journal_raw, in the transaction of what it records; it enters `journal` and its indexes later, many rows at
 * a time, by one INSERT … SELECT and one DELETE that SQLite runs alone (SqliteJournal.flush). Each index a row
 * enters costs the commit it is written in a page (4 KiB of WAL) and each commit of a durable store waits for
 * its WAL sync: written alone, a row costs the newest page of two tables where it cost nine (issue 14: the
 * journal may cost at most 15 % of the throughput). The row is durable and atomic with its change from the
 * first commit; every read of the journal flushes first, and opening the store flushes what a crash left.
 * Ids come from journal_pending's AUTOINCREMENT sequence, set above every id `journal` ever gave when the store
 * opens (SqliteJournal.startSequence): one sequence for every connection to the file, no id given twice, also
 * after a pruning took every row. (Schema 6 kept the pending row as JSON in journal_raw.entry and read it back
 * in JavaScript to move it: the move cost twice the row's own write.)
 *
 * Schema 8: the three keys a person looks a message up by that are drawn at random — control id, IPP, INS —
 * are no longer B-tree indexes of `journal` but tokens of one FTS5 table, `journal_keys` (JOURNAL_KEYS). A
 * B-tree takes each new row's key into a leaf of its own, anywhere in the index: once the index is larger
 * than a move, every row moved rewrote three leaves (12 KiB of WAL, then of checkpoint), and the more the
 * journal held, the more a row cost (issue 14: 42–58 µs of CPU a row with 40,000 rows, 70 µs with 200,000).
 * FTS5 writes what a move brings as a new segment, sorted, and merges segments later, many at a time: the
 * same rows cost 30–43 µs and 34 µs, half the bytes written, whatever the journal holds. A search by those
 * keys reads the matching rows' ids from `journal_keys`, newest first, and each row from `journal` by its id
 * (journalSearchSql); the columns stay in `journal`, and say what a row holds (the tokens only find it).
 * PostgreSQL keeps its B-tree indexes (postgres-schema.ts).
 */
/** The columns a row is written with, in the order of journalRow's parameters (the id apart). */
const WRITTEN_COLUMNS = ['at', 'at_ms', 'hour', 'node_id', 'node_type', 'node_name', 'direction', 'kind', 'type', 'event', 'control_id', 'sender', 'receiver',
  'ack_code', 'ack_text', 'errors', 'outcome', 'ipp', 'ipp_key', 'ins', 'document_id', 'set_id', 'version', 'encounter', 'replay_of', 'parent_id', 'actor', 'detail'];

export const JOURNAL_SCHEMA = `
CREATE TABLE IF NOT EXISTS journal (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  node_id TEXT NOT NULL,
  node_type TEXT NOT NULL,
  node_name TEXT,
  direction TEXT NOT NULL,
  kind TEXT NOT NULL,
  type TEXT,
  event TEXT,
  control_id TEXT,
  sender TEXT,
  receiver TEXT,
  ack_code TEXT,
  ack_text TEXT,
  errors TEXT,
  outcome TEXT NOT NULL,
  ipp TEXT,
  ipp_key TEXT,
  ins TEXT,
  document_id TEXT,
  set_id TEXT,
  version INTEGER,
  encounter TEXT,
  replay_of INTEGER,
  parent_id INTEGER,
  actor TEXT,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS journal_time ON journal (at_ms);
CREATE INDEX IF NOT EXISTS journal_document ON journal (document_id, id) WHERE document_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS journal_alert_ack ON journal (ack_code, id) WHERE ${alertIndexWhere('ack_code')};
CREATE INDEX IF NOT EXISTS journal_alert_outcome ON journal (outcome, id) WHERE ${alertIndexWhere('outcome')};
CREATE INDEX IF NOT EXISTS journal_replay ON journal (replay_of, id) WHERE replay_of IS NOT NULL;
CREATE INDEX IF NOT EXISTS journal_figures ON journal (hour, node_id, node_type, kind, direction, ack_code, outcome);
CREATE VIRTUAL TABLE IF NOT EXISTS journal_keys USING fts5 (keys, content = '', contentless_delete = 1, detail = none, tokenize = 'ascii');
CREATE TABLE IF NOT EXISTS journal_raw (
  journal_id INTEGER PRIMARY KEY,
  message BLOB,
  answer BLOB
);
CREATE TABLE IF NOT EXISTS journal_pending (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ${WRITTEN_COLUMNS.join(',\n  ')}
); -- untyped: the values as bound, typed by journal's columns when they enter it
CREATE TABLE IF NOT EXISTS reconciliation_task (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  reason TEXT NOT NULL,
  reason_text TEXT NOT NULL,
  traits TEXT NOT NULL,
  candidates TEXT NOT NULL,
  journal_id INTEGER,
  status TEXT NOT NULL,
  decided_at TEXT,
  decided_by TEXT,
  decision TEXT,
  seen TEXT
);
CREATE INDEX IF NOT EXISTS reconciliation_task_status ON reconciliation_task (status, id);
`;

/**
 * SQLite, schema 7: every row of the journal, in `journal` or still pending (what another process reading the
 * file — a support engineer's sqlite3, a test after a crash — counts). Made again at each opening, after the
 * migrations.
 */
export const JOURNAL_ALL_VIEW = `
DROP VIEW IF EXISTS journal_all;
CREATE VIEW journal_all AS
  SELECT id, ${WRITTEN_COLUMNS.join(', ')} FROM journal
  UNION ALL
  SELECT id, ${WRITTEN_COLUMNS.join(', ')} FROM journal_pending;
`;

/**
 * Schema 6 → 7: the rows schema 6 left written alone (their columns as a JSON array in journal_raw.entry,
 * in WRITTEN_COLUMNS' order) enter `journal`; journal_raw loses the column, and the rows it kept only for it.
 */
export const JOURNAL_FROM_SCHEMA_6 = `
DROP VIEW IF EXISTS journal_all;
INSERT INTO journal (id, ${WRITTEN_COLUMNS.join(', ')})
  SELECT journal_id, ${WRITTEN_COLUMNS.map((_, i) => `json_extract(entry, '$[${i}]')`).join(', ')}
    FROM journal_raw WHERE entry IS NOT NULL AND journal_id > (SELECT COALESCE(MAX(id), 0) FROM journal) ORDER BY journal_id;
DELETE FROM journal_raw WHERE message IS NULL AND answer IS NULL;
ALTER TABLE journal_raw DROP COLUMN entry;
`;

/**
 * The keys `journal_keys` holds (schema 8), each with the letter its tokens begin with: a token is the letter and
 * the value's UTF-8 bytes in hexadecimal (what SQLite's hex() gives), one word of letters and digits whatever the
 * value holds — a tokenizer splits nothing of it, a query's syntax reads nothing into it —, and no token of one
 * key can be one of another's.
 */
const JOURNAL_KEYS = [
  { column: 'control_id', letter: 'c' },
  { column: 'ipp', letter: 'p' },
  { column: 'ins', letter: 'n' },
] as const;
type KeyColumn = (typeof JOURNAL_KEYS)[number]['column'];

/** The tokens of a row's keys, as SQL over its columns (a NULL key has none: hex(NULL) is '', not NULL). */
const KEY_TOKENS_SQL = `concat_ws(' ', ${JOURNAL_KEYS.map((k) => `iif(${k.column} IS NULL, NULL, '${k.letter}' || hex(${k.column}))`).join(', ')})`;
/** A row with at least one of the keys (a row without any has no `journal_keys` row). */
const HAS_KEYS_SQL = JOURNAL_KEYS.map((k) => `${k.column} IS NOT NULL`).join(' OR ');

/** The keys' tokens of the rows of `table` (journal or journal_pending), into journal_keys. */
const keysFrom = (table: 'journal' | 'journal_pending') =>
  `INSERT INTO journal_keys (rowid, keys) SELECT id, ${KEY_TOKENS_SQL} FROM ${table} WHERE ${HAS_KEYS_SQL} ORDER BY id`;

/** A key's value as a phrase of a MATCH on journal_keys: its token, quoted. */
function keyPhrase(column: KeyColumn, value: string): string {
  const key = JOURNAL_KEYS.find((k) => k.column === column)!;
  return `"${key.letter}${Buffer.from(value, 'utf8').toString('hex')}"`;
}

/**
 * Schema 7 → 8: the rows' keys into journal_keys (made by JOURNAL_SCHEMA), the B-tree indexes they replace
 * dropped.
 */
export const JOURNAL_KEYS_FROM_SCHEMA_7 = `
${keysFrom('journal')};
DROP INDEX IF EXISTS journal_control;
DROP INDEX IF EXISTS journal_ipp;
DROP INDEX IF EXISTS journal_ins;
`;

export const HOUR_MS = 3_600_000;


/** The dashboard's counts per node and hour (SQL both engines run). */
const FIGURES_SELECT = `SELECT hour, node_id, node_type,
                    SUM(CASE WHEN kind = 'message' AND direction = 'in' THEN 1 ELSE 0 END) AS messages_in,
                    SUM(CASE WHEN kind = 'message' AND direction = 'out' THEN 1 ELSE 0 END) AS messages_out,
                    SUM(CASE WHEN ack_code IN ('AA', 'CA') THEN 1 ELSE 0 END) AS aa,
                    SUM(CASE WHEN ack_code IN ('AE', 'CE') THEN 1 ELSE 0 END) AS ae,
                    SUM(CASE WHEN ack_code IN ('AR', 'CR') THEN 1 ELSE 0 END) AS ar,
                    SUM(CASE WHEN outcome = 'produced' THEN 1 ELSE 0 END) AS produced,
                    SUM(CASE WHEN outcome = 'preselected' THEN 1 ELSE 0 END) AS preselected,
                    SUM(CASE WHEN outcome = 'to-reconcile' THEN 1 ELSE 0 END) AS to_reconcile
                  FROM journal WHERE hour >= ? AND hour < ?`;
export const FIGURES_SQL = `${FIGURES_SELECT} GROUP BY hour, node_id, node_type ORDER BY hour, node_id`;
export const FIGURES_OF_NODE_SQL = `${FIGURES_SELECT} AND node_id = ? GROUP BY hour, node_id, node_type ORDER BY hour, node_id`;

/** A row of FIGURES_SQL as the dashboard reads it (counts as numbers whatever the engine returns). */
export function toFigures(r: Record<string, number | string>): HourFigures {
  return {
    hour: new Date(Number(r.hour) * HOUR_MS).toISOString(),
    node: r.node_id as string,
    nodeType: r.node_type as string,
    messagesIn: Number(r.messages_in),
    messagesOut: Number(r.messages_out),
    AA: Number(r.aa),
    AE: Number(r.ae),
    AR: Number(r.ar),
    produced: Number(r.produced),
    received: Number(r.preselected) + Number(r.to_reconcile),
    preselected: Number(r.preselected),
    toReconcile: Number(r.to_reconcile),
  };
}

export const JOURNAL_COLUMNS = `id, at, node_id, node_type, node_name, direction, kind, type, event, control_id, sender, receiver, ack_code, ack_text,
  errors, outcome, ipp, ipp_key, ins, document_id, set_id, version, encounter, replay_of, parent_id, actor, detail,
  CASE WHEN EXISTS (SELECT 1 FROM journal_raw r WHERE r.journal_id = journal.id AND r.message IS NOT NULL) THEN 1 ELSE 0 END AS has_message,
  CASE WHEN EXISTS (SELECT 1 FROM journal_raw r WHERE r.journal_id = journal.id AND r.answer IS NOT NULL) THEN 1 ELSE 0 END AS has_answer`;

export interface JournalRow {
  id: number;
  at: string;
  node_id: string;
  node_type: string;
  node_name: string | null;
  direction: string;
  kind: string;
  type: string | null;
  event: string | null;
  control_id: string | null;
  sender: string | null;
  receiver: string | null;
  ack_code: string | null;
  ack_text: string | null;
  errors: string | null;
  outcome: string;
  ipp: string | null;
  ipp_key: string | null;
  ins: string | null;
  document_id: string | null;
  set_id: string | null;
  version: number | null;
  encounter: string | null;
  replay_of: number | null;
  parent_id: number | null;
  actor: string | null;
  detail: string | null;
  has_message: number;
  has_answer: number;
}

export function toRecord(r: JournalRow): JournalRecord {
  return {
    id: r.id,
    at: r.at,
    node: { id: r.node_id, type: r.node_type, name: r.node_name },
    direction: r.direction as JournalRecord['direction'],
    kind: r.kind as JournalRecord['kind'],
    type: r.type,
    event: r.event,
    controlId: r.control_id,
    sender: r.sender,
    receiver: r.receiver,
    ack: r.ack_code ? { code: r.ack_code, text: r.ack_text ?? '', errors: r.errors ? (JSON.parse(r.errors) as JournalError[]) : [] } : null,
    outcome: r.outcome as JournalRecord['outcome'],
    keys: { ipp: r.ipp, ippKey: r.ipp_key, ins: r.ins, documentId: r.document_id, setId: r.set_id, version: r.version, encounter: r.encounter },
    replayOf: r.replay_of,
    parentId: r.parent_id,
    actor: r.actor,
    detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : {},
    hasMessage: r.has_message === 1,
    hasAnswer: r.has_answer === 1,
  };
}

export interface TaskRow {
  id: number;
  document_id: string;
  created_at: string;
  reason: string;
  reason_text: string;
  traits: string;
  candidates: string;
  journal_id: number | null;
  status: string;
  decided_at: string | null;
  decided_by: string | null;
  decision: string | null;
  seen: string | null;
}

export function toTask(r: TaskRow): ReconciliationTask {
  return {
    id: r.id,
    documentId: r.document_id,
    createdAt: r.created_at,
    reason: r.reason,
    reasonText: r.reason_text,
    traits: JSON.parse(r.traits) as ReconciliationTask['traits'],
    candidates: JSON.parse(r.candidates) as ReconciliationTask['candidates'],
    journalId: r.journal_id,
    status: r.status as TaskStatus,
    decision: r.decision ? (JSON.parse(r.decision) as ReconciliationTask['decision']) : null,
    decidedAt: r.decided_at,
    decidedBy: r.decided_by,
    seen: r.seen ? (JSON.parse(r.seen) as unknown) : null,
  };
}

/** An empty string is no value: stored as NULL, so that the partial indexes stay small. */
export const v = <T>(x: T | undefined | null | ''): T | null => (x === undefined || x === '' ? null : x);

/** The bare IPP of a key "<authority>|<id>". */
export const ippIdOf = (key: string) => key.slice(key.indexOf('|') + 1);

export const JOURNAL_INSERT_SQL = `INSERT INTO journal (${WRITTEN_COLUMNS.join(', ')}) VALUES (${WRITTEN_COLUMNS.map(() => '?').join(', ')})`;

/** The second last formatted by isoTime, and its text up to the milliseconds ("2026-11-30T12:00:00."). */
let isoSecond = Number.NaN;
let isoPrefix = '';

/**
 * `new Date(ms).toISOString()` for an integer `ms` (Date.now()), its date and time formatted once per
 * second: a journal row is written for every message, and V8 formats a date through printf (a tenth of the
 * row's own write, measured).
 */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    const text = new Date(second * 1000).toISOString();
    if (text.length !== 24) return new Date(ms).toISOString(); // a year outside 0000–9999
    isoSecond = second;
    isoPrefix = text.slice(0, 20);
  }
  const milli = ms - second * 1000;
  return `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** The parameters of JOURNAL_INSERT_SQL for an entry (a time and a node checked), its time and IPP key. */
export function journalRow(entry: JournalEntry): { params: unknown[]; at: string; ippKey: string | null } {
  const atMs = entry.at == null ? Date.now() : Date.parse(entry.at);
  if (!Number.isFinite(atMs)) throw new Error(`journal: at "${entry.at}" is not a time`);
  const at = entry.at ?? isoTime(atMs);
  if (!entry.node?.id || !entry.node.type) throw new Error('journal: the entry names no node');
  const k = entry.keys ?? {};
  const ippKey = v(k.ippKey);
  const ipp = v(k.ipp) ?? (ippKey ? ippIdOf(ippKey) : null);
  const errors = entry.ack?.errors?.length ? JSON.stringify(entry.ack.errors) : null;
  const detail = entry.detail && Object.keys(entry.detail).length ? JSON.stringify(entry.detail) : null;
  const params = [
    at,
    atMs,
    Math.floor(atMs / HOUR_MS),
    entry.node.id,
    entry.node.type,
    v(entry.node.name),
    entry.direction,
    entry.kind,
    v(entry.type),
    v(entry.event),
    v(entry.controlId),
    v(entry.sender),
    v(entry.receiver),
    v(entry.ack?.code),
    entry.ack ? (entry.ack.text ?? '') : null,
    errors,
    entry.outcome,
    ipp,
    ippKey,
    v(k.ins),
    v(k.documentId),
    v(k.setId),
    k.version ?? null,
    v(k.encounter),
    entry.replayOf ?? null,
    entry.parentId ?? null,
    v(entry.actor),
    detail,
  ];
  return { params, at, ippKey };
}

/**
 * The SELECT of a journal search, `?` placeholders (PostgreSQL numbers them): a time range as a range of ids
 * (rows are written in time order: `range` gives the first id at or after each bound, null when there is
 * none), then the filters — a key's index read in id order, newest first, without sorting the range (or the
 * range itself, newest first, when no filter has an index) —, `limit` + 1 rows to tell whether more follow.
 * `keys`: where the control id, IPP and INS are indexed — B-tree indexes of `journal` (PostgreSQL), or the
 * tokens of `journal_keys` (SQLite, schema 8): then the rows' ids come from it, newest first, and each row is
 * read by its id, its columns still compared.
 */
export function journalSearchSql(
  q: JournalQuery,
  range: { from?: number | null; to?: number | null },
  limit: number,
  keys: 'indexes' | 'journal_keys' = 'indexes',
): { sql: string; params: unknown[] } {
  const phrases: string[] = [];
  const where: string[] = [];
  const params: unknown[] = [];
  const eq = (column: string, value: unknown) => {
    where.push(`${column} = ?`);
    params.push(value);
  };
  const key = (column: KeyColumn, value: string) => {
    eq(column, value);
    if (keys === 'journal_keys') phrases.push(keyPhrase(column, value));
  };
  if (q.controlId) key('control_id', q.controlId);
  if (q.ipp) {
    // the bare id through its index, the authority when a key is given
    key('ipp', q.ipp.includes('|') ? ippIdOf(q.ipp) : q.ipp);
    if (q.ipp.includes('|')) eq('ipp_key', q.ipp);
  }
  if (q.ins) key('ins', q.ins);
  // the ids of journal_keys' rows when they are read: a range the FTS5 table narrows itself
  const id = phrases.length ? 'journal_keys.rowid' : 'id';
  const idBound = (op: '>=' | '<', value: number) => {
    where.push(`${id} ${op} ?`);
    params.push(value);
  };
  if (range.from !== undefined) idBound('>=', range.from ?? Number.MAX_SAFE_INTEGER);
  if (range.to !== undefined && range.to !== null) idBound('<', range.to);
  if (q.node) eq('node_id', q.node);
  if (q.nodeType) eq('node_type', q.nodeType);
  if (q.direction) eq('direction', q.direction);
  if (q.type) eq('type', q.type);
  if (q.event) eq('event', q.event);
  if (q.documentId) eq('document_id', q.documentId);
  if (q.ackCode === 'none') where.push('ack_code IS NULL');
  else if (q.ackCode) {
    const alert = alertFilter('ack_code', q.ackCode);
    if (alert) where.push(alert);
    else eq('ack_code', q.ackCode);
  }
  if (q.outcome) {
    const alert = alertFilter('outcome', q.outcome);
    if (alert) where.push(alert);
    else eq('outcome', q.outcome);
  }
  if (q.replayOf !== undefined) {
    if (!Number.isInteger(q.replayOf)) throw new JournalQueryError('replayOf', 'replayOf: a journal id');
    eq('replay_of', q.replayOf);
  }
  if (q.before !== undefined) {
    if (!Number.isInteger(q.before) || q.before < 1) throw new JournalQueryError('before', 'before: the cursor of the page before (a journal id)');
    idBound('<', q.before);
  }
  params.push(limit + 1);
  // journal_keys first (CROSS JOIN keeps that order): its MATCH gives the ids, newest first, each row read by its id
  const from = phrases.length ? 'journal_keys CROSS JOIN journal ON journal.id = journal_keys.rowid' : 'journal';
  if (phrases.length) {
    where.unshift('journal_keys MATCH ?');
    params.unshift(phrases.join(' '));
  }
  return { sql: `SELECT ${JOURNAL_COLUMNS} FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${id} DESC LIMIT ?`, params };
}

/**
 * The SELECT of a page of reconciliation tasks, `?` placeholders (PostgreSQL numbers them): a status (open by
 * default, or all), newest first, before a cursor; `limit` + 1 rows to tell whether more follow (taskPage).
 */
export function taskListSql(q: TaskQuery, limit: number): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const status = q.status ?? 'open';
  if (status !== 'all') {
    if (!['open', 'attached', 'rejected'].includes(status)) throw new JournalQueryError('status', 'status: open, attached, rejected or all');
    where.push('status = ?');
    params.push(status);
  }
  if (q.before !== undefined) {
    if (!Number.isInteger(q.before) || q.before < 1) throw new JournalQueryError('before', 'before: the cursor of the page before (a task id)');
    where.push('id < ?');
    params.push(q.before);
  }
  params.push(limit + 1);
  return { sql: `SELECT * FROM reconciliation_task ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, params };
}

/** The page of taskListSql's rows: `limit` tasks, and the cursor of the next page when there is more. */
export function taskPage(rows: TaskRow[], limit: number): TaskPage {
  const tasks = rows.slice(0, limit).map(toTask);
  return { tasks, next: rows.length > limit ? tasks[tasks.length - 1].id : null };
}

/** Rows pending before a write also moves them into `journal` (SqliteJournal.flush). */
export const FLUSH_ROWS = 200;

export class SqliteJournal {
  private readonly st: Record<string, Database.Statement>;
  /**
   * Rows written since the last flush, counted to flush every FLUSH_ROWS: a hint only (a write rolled back
   * leaves it off by a few) — what is flushed is what journal_pending holds.
   */
  private written = 0;

  constructor(private readonly db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    const columns = WRITTEN_COLUMNS.join(', ');
    this.st = {
      // the id from journal_pending's AUTOINCREMENT sequence (lastInsertRowid)
      insertPending: p(`INSERT INTO journal_pending (${columns}) VALUES (${WRITTEN_COLUMNS.map(() => '?').join(', ')})`),
      insertRaw: p(`INSERT INTO journal_raw (journal_id, message, answer) VALUES (?, ?, ?)`),
      anyPending: p(`SELECT EXISTS (SELECT 1 FROM journal_pending) AS n`),
      // ids are given in write order: journal stays in id order, and its AUTOINCREMENT sequence follows
      move: p(`INSERT INTO journal (id, ${columns}) SELECT id, ${columns} FROM journal_pending ORDER BY id`),
      moveKeys: p(keysFrom('journal_pending')),
      clearPending: p(`DELETE FROM journal_pending`),
      audit: p(`INSERT INTO audit (at, actor, action, ipp_key, detail) VALUES (?, ?, ?, ?, ?)`),
      get: p(`SELECT ${JOURNAL_COLUMNS} FROM journal WHERE id = ?`),
      content: p(`SELECT message, answer FROM journal_raw WHERE journal_id = ?`),
      figures: p(FIGURES_SQL),
      figuresOfNode: p(FIGURES_OF_NODE_SQL),
      // the newest row older than a time: with ids in time order, every row up to it is older
      firstFrom: p(`SELECT id FROM journal WHERE at_ms >= ? ORDER BY at_ms, id LIMIT 1`),
      cutoff: p(`SELECT id FROM journal WHERE at_ms < ? ORDER BY at_ms DESC, id DESC LIMIT 1`),
      deleteRaw: p(`DELETE FROM journal_raw WHERE journal_id IN (SELECT journal_id FROM journal_raw WHERE journal_id <= ? ORDER BY journal_id LIMIT ?)`),
      deleteRows: p(`DELETE FROM journal WHERE id IN (SELECT id FROM journal WHERE id <= ? ORDER BY id LIMIT ?)`),
      // the same rows' keys, for those that have any (a contentless table deletes by rowid, even one it never held)
      deleteKeys: p(`DELETE FROM journal_keys WHERE rowid IN (SELECT id FROM (SELECT id, ${JOURNAL_KEYS.map((k) => k.column).join(', ')} FROM journal WHERE id <= ? ORDER BY id LIMIT ?) WHERE ${HAS_KEYS_SQL})`),
      rowCount: p(`SELECT COUNT(*) AS n FROM journal`),
      rawCount: p(`SELECT COUNT(*) AS n FROM journal_raw`),
      oldest: p(`SELECT at FROM journal ORDER BY id LIMIT 1`),
      insertTask: p(`INSERT INTO reconciliation_task (document_id, created_at, reason, reason_text, traits, candidates, journal_id, status)
                     VALUES (?, ?, ?, ?, ?, ?, ?, 'open') ON CONFLICT (document_id) DO NOTHING`),
      task: p(`SELECT * FROM reconciliation_task WHERE id = ?`),
      taskOfDocument: p(`SELECT * FROM reconciliation_task WHERE document_id = ?`),
      countTasks: p(`SELECT COUNT(*) AS n FROM reconciliation_task WHERE status = ?`),
      countAllTasks: p(`SELECT COUNT(*) AS n FROM reconciliation_task`),
      decide: p(`UPDATE reconciliation_task SET status = ?, decided_at = ?, decided_by = ?, decision = ?, seen = ? WHERE id = ? AND status = 'open'`),
    };
  }

  /**
   * Sets journal_pending's sequence above every id given before — by `journal` (its own AUTOINCREMENT
   * sequence: rows pruned since included) or in journal_raw —, inside the caller's transaction. At each
   * opening: a new table (a store of schema 5 or 6) has no sequence yet, and would give ids from 1.
   */
  startSequence(): void {
    const n = (sql: string) => (this.db.prepare(sql).get() as { n: number | null } | undefined)?.n ?? 0;
    const top = Math.max(
      n(`SELECT seq AS n FROM sqlite_sequence WHERE name = 'journal'`),
      n(`SELECT MAX(id) AS n FROM journal`),
      n(`SELECT MAX(journal_id) AS n FROM journal_raw`),
    );
    if (top <= n(`SELECT seq AS n FROM sqlite_sequence WHERE name = 'journal_pending'`)) return;
    if (this.db.prepare(`UPDATE sqlite_sequence SET seq = ? WHERE name = 'journal_pending'`).run(top).changes === 0) {
      this.db.prepare(`INSERT INTO sqlite_sequence (name, seq) VALUES ('journal_pending', ?)`).run(top);
    }
  }

  /** Whether rows wait in journal_pending to enter `journal` (a read of the journal flushes them first). */
  unflushed(): boolean {
    return (this.st.anyPending.get() as { n: number }).n === 1;
  }

  /**
   * Writes a row into journal_pending and its bytes into journal_raw, inside the caller's transaction; sets
   * entry.id. Every FLUSH_ROWS rows, the write also moves the pending rows into `journal`. A replay is audited
   * with who asked.
   */
  insert(entry: JournalEntry): number {
    const row = journalRow(entry);
    const id = Number(this.st.insertPending.run(...row.params).lastInsertRowid);
    if (entry.message || entry.answer) this.st.insertRaw.run(id, entry.message ?? null, entry.answer ?? null);
    if (++this.written >= FLUSH_ROWS) this.flush();
    if (entry.replayOf) {
      this.st.audit.run(row.at, entry.actor ?? 'unknown', 'replay', row.ippKey, JSON.stringify({ journal: id, replayOf: entry.replayOf, node: entry.node.id, outcome: entry.outcome }));
    }
    entry.id = id;
    return id;
  }

  /** Moves the pending rows into `journal` (their indexes with them) and their keys into journal_keys, inside the caller's transaction; how many. */
  flush(): number {
    this.written = 0;
    const moved = this.st.move.run().changes;
    if (moved) {
      this.st.moveKeys.run();
      this.st.clearPending.run();
    }
    return moved;
  }

  get(id: number): JournalRecord | null {
    const row = this.st.get.get(id) as JournalRow | undefined;
    return row ? toRecord(row) : null;
  }

  content(id: number): JournalContent | null {
    const row = this.st.content.get(id) as { message: Buffer | null; answer: Buffer | null } | undefined;
    return row ? { message: row.message, answer: row.answer } : null;
  }

  search(q: JournalQuery): JournalPage {
    const limit = queryLimit(q.limit);
    const range = {
      from: q.from !== undefined ? this.firstIdFrom(queryTime('from', q.from)) : undefined,
      to: q.to !== undefined ? this.firstIdFrom(queryTime('to', q.to)) : undefined,
    };
    const { sql, params } = journalSearchSql(q, range, limit, 'journal_keys');
    const rows = this.db.prepare(sql).all(...params) as JournalRow[];
    const more = rows.length > limit;
    const entries = rows.slice(0, limit).map(toRecord);
    return { entries, next: more ? entries[entries.length - 1].id : null };
  }

  /** The id of the first row at or after `ms`, or null when there is none. */
  private firstIdFrom(ms: number): number | null {
    const row = this.st.firstFrom.get(ms) as { id: number } | undefined;
    return row ? row.id : null;
  }

  figures(fromMs: number, toMs: number, node?: string): HourFigures[] {
    const from = Math.floor(fromMs / HOUR_MS);
    const to = Math.ceil(toMs / HOUR_MS);
    const rows = (node ? this.st.figuresOfNode.all(from, to, node) : this.st.figures.all(from, to)) as Record<string, number | string>[];
    return rows.map(toFigures);
  }

  // ---- retention: each step a short write of its own

  /** The id of the newest row older than `ms`, or null. */
  cutoff(ms: number): number | null {
    const row = this.st.cutoff.get(ms) as { id: number } | undefined;
    return row ? row.id : null;
  }

  /** Deletes the bytes of up to `batch` rows with id ≤ cut; how many. */
  deleteRaw(cut: number, batch: number): number {
    return this.st.deleteRaw.run(cut, batch).changes;
  }

  /** Deletes up to `batch` rows with id ≤ cut, their bytes and keys; how many rows. */
  deleteRows(cut: number, batch: number): number {
    this.st.deleteRaw.run(cut, batch);
    this.st.deleteKeys.run(cut, batch);
    return this.st.deleteRows.run(cut, batch).changes;
  }

  size(): JournalSize {
    const pageCount = this.db.pragma('page_count', { simple: true }) as number;
    const freePages = this.db.pragma('freelist_count', { simple: true }) as number;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    return {
      rows: (this.st.rowCount.get() as { n: number }).n,
      rawRows: (this.st.rawCount.get() as { n: number }).n,
      oldest: (this.st.oldest.get() as { at: string } | undefined)?.at ?? null,
      pages: pageCount - freePages,
      freePages,
      pageSize,
    };
  }

  // ---- reconciliation tasks

  /** Creates the task of a document (none when it has one already), inside the caller's transaction. */
  createTask(documentId: string, input: TaskInput, journalId: number | null): void {
    this.st.insertTask.run(
      documentId,
      new Date().toISOString(),
      input.reason,
      input.reasonText,
      JSON.stringify(input.traits),
      JSON.stringify(input.candidates),
      journalId ?? input.journalId ?? null,
    );
  }

  task(id: number): ReconciliationTask | null {
    const row = this.st.task.get(id) as TaskRow | undefined;
    return row ? toTask(row) : null;
  }

  countTasks(status: TaskStatus | 'all'): number {
    const row = (status === 'all' ? this.st.countAllTasks.get() : this.st.countTasks.get(status)) as { n: number };
    return row.n;
  }

  taskOfDocument(documentId: string): ReconciliationTask | null {
    const row = this.st.taskOfDocument.get(documentId) as TaskRow | undefined;
    return row ? toTask(row) : null;
  }

  tasks(q: TaskQuery): TaskPage {
    const limit = queryLimit(q.limit);
    const { sql, params } = taskListSql(q, limit);
    return taskPage(this.db.prepare(sql).all(...params) as TaskRow[], limit);
  }

  /** Records a decision on an open task; false when it is not open (decided before). */
  decide(id: number, status: Exclude<TaskStatus, 'open'>, at: string, actor: string, decision: unknown, seen: unknown): boolean {
    return this.st.decide.run(status, at, actor, JSON.stringify(decision), seen === undefined ? null : JSON.stringify(seen), id).changes === 1;
  }
}
