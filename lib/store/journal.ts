// The message journal of the layer (issue 14): one row per exchange — a message received with the answer
// it got, a message sent with the acknowledgement received, a document produced or received — with the
// business keys it is searched by, its outcome, and its bytes. A node that records something (an
// identity, a document, a journey step) writes its row in the same savepoint (WriteOptions.journal), so
// there is never a row for a change rolled back, nor a change without its row; what changes nothing (a
// rejection, the ACK mllp-out receives…) is written alone (IdentityStore.journal). Engine-neutral: the
// types and checks here, the SQL in each engine.

/** 'in': received by the layer; 'out': sent (or produced) by it. */
export type JournalDirection = 'in' | 'out';

/** 'message': an HL7 v2 exchange; 'document': a CDA document not carried by one here (produced by pdf-to-cda-n1, a bare CDA received). */
export type JournalKind = 'message' | 'document';

/**
 * What came of an exchange. The identity feed: applied, out-of-date, duplicate, refused (integrity: AE
 * 207), ignored (nothing to record). Documents received: preselected, to-reconcile, duplicate. Documents
 * produced: produced, cancelled (a deletion). Business acknowledgements (ZAM), technical ACKs: recorded.
 * The transport: received (mllp-in's auto-ACK), acknowledged / not-acknowledged (mllp-out: AA or CA / AE,
 * AR), failed (no answer: time-out, connection refused). Any node: rejected (the input is refused: AE / AR
 * without a change), failed (the store or the transport failed: nothing recorded, send it again).
 */
export const JOURNAL_OUTCOMES = [
  'applied',
  'out-of-date',
  'duplicate',
  'refused',
  'ignored',
  'preselected',
  'to-reconcile',
  'produced',
  'cancelled',
  'recorded',
  'received',
  'acknowledged',
  'not-acknowledged',
  'rejected',
  'failed',
] as const;
export type JournalOutcome = (typeof JOURNAL_OUTCOMES)[number];

/** An ERR of an acknowledgement: HL7 table 0357 code, ERR-2 location, the text, severity (E, W, I). */
export interface JournalError {
  code: string;
  location?: string;
  text?: string;
  severity?: string;
}

/** The business keys an exchange is found by. */
export interface JournalKeys {
  /** The bare IPP (PID-3 / recordTarget id extension). */
  ipp?: string | null;
  /** The IPP key "<authority>|<id>" when known. */
  ippKey?: string | null;
  /** The INS (15 characters), only when the node read one. */
  ins?: string | null;
  /** The CDA document id (root^extension), its setId and version. */
  documentId?: string | null;
  setId?: string | null;
  version?: number | null;
  /** The encounter (PV1-19, encompassingEncounter id). */
  encounter?: string | null;
}

/** What a node writes: one exchange. */
export interface JournalEntry {
  /** When it happened (ISO 8601); now by default. Rows are kept in the order written: give no time older than the last row's except in tests and benchmarks. */
  at?: string;
  /** The node that saw the exchange. */
  node: { id: string; type: string; name?: string };
  direction: JournalDirection;
  kind: JournalKind;
  /** MSH-9.1 (ADT, ORU, MDM, ZAM, ACK) or 'CDA' for a bare document. */
  type?: string | null;
  /** MSH-9.2 (A28, R01, T02, Z01…). */
  event?: string | null;
  /** MSH-10. */
  controlId?: string | null;
  /** MSH-3/MSH-4 ("application/facility"), and MSH-5/MSH-6 (or host:port for mllp-out). */
  sender?: string | null;
  receiver?: string | null;
  /** The answer: the ACK given (received messages) or received (mllp-out); null when there is none. */
  ack?: { code: string; text?: string; errors?: JournalError[] } | null;
  outcome: JournalOutcome;
  keys?: JournalKeys;
  /** The message as received or sent (its bytes); kept for the raw retention (30 days by default). */
  message?: Buffer | null;
  /** The answer's bytes (the ACK sent back, or received). */
  answer?: Buffer | null;
  /** The row this one replays (a replay from the console). */
  replayOf?: number | null;
  /** The row this one follows from: mllp-in's auto-ACK row for the node behind it, the producing node's row for mllp-out. */
  parentId?: number | null;
  /** Who asked for it (a replay: the console user); null for the flow itself. */
  actor?: string | null;
  /** Anything else, without patient data beyond the keys (the action, the match method, host:port…). */
  detail?: Record<string, unknown>;
  /** Set by the store once the row is written: its id. */
  id?: number;
}

/** A row of the journal as read back (without its bytes: journalContent). */
export interface JournalRecord {
  id: number;
  at: string;
  node: { id: string; type: string; name: string | null };
  direction: JournalDirection;
  kind: JournalKind;
  type: string | null;
  event: string | null;
  controlId: string | null;
  sender: string | null;
  receiver: string | null;
  ack: { code: string; text: string; errors: JournalError[] } | null;
  outcome: JournalOutcome;
  keys: { ipp: string | null; ippKey: string | null; ins: string | null; documentId: string | null; setId: string | null; version: number | null; encounter: string | null };
  replayOf: number | null;
  parentId: number | null;
  actor: string | null;
  detail: Record<string, unknown>;
  /** Whether the bytes are still kept (the raw retention prunes them before the row). */
  hasMessage: boolean;
  hasAnswer: boolean;
}

/** A search: every filter given must hold; newest first, `limit` rows after the cursor `before` (an id). */
export interface JournalQuery {
  /** ISO 8601 time range, from inclusive, to exclusive. */
  from?: string;
  to?: string;
  /** A node id. */
  node?: string;
  nodeType?: string;
  direction?: JournalDirection;
  /** MSH-9.1, or 'CDA'; event MSH-9.2. */
  type?: string;
  event?: string;
  controlId?: string;
  /** A bare IPP, or an IPP key "<authority>|<id>". */
  ipp?: string;
  ins?: string;
  documentId?: string;
  /** AA, AE, AR (CA, CE, CR too); 'none' for rows without an answer. */
  ackCode?: string;
  outcome?: JournalOutcome;
  /** The replays of a row. */
  replayOf?: number;
  /** Rows with an id below this one (the `next` of the page before). */
  before?: number;
  /** Default 50, at most MAX_JOURNAL_PAGE. */
  limit?: number;
}

export interface JournalPage {
  entries: JournalRecord[];
  /** The cursor of the next (older) page, null when this is the last. */
  next: number | null;
}

export const MAX_JOURNAL_PAGE = 500;
export const DEFAULT_JOURNAL_PAGE = 50;

/** A query that is not one: a bad time, limit or cursor (the API answers 400). */
export class JournalQueryError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'JournalQueryError';
  }
}

/** The time of a query bound in ms, or a JournalQueryError. */
export function queryTime(field: string, value: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new JournalQueryError(field, `${field}: "${value}" is not an ISO 8601 time`);
  return ms;
}

/** The page size of a query (default 50, 1 to 500). */
export function queryLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_JOURNAL_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_JOURNAL_PAGE) throw new JournalQueryError('limit', `limit: an integer from 1 to ${MAX_JOURNAL_PAGE}`);
  return limit;
}

/** The bytes of an exchange, while the raw retention keeps them. */
export interface JournalContent {
  message: Buffer | null;
  answer: Buffer | null;
}

/** The dashboard's figures: per node and per hour, counted from the journal. */
export interface HourFigures {
  /** The hour's start (ISO 8601, UTC). */
  hour: string;
  node: string;
  nodeType: string;
  /** HL7 messages received / sent (kind 'message'). */
  messagesIn: number;
  messagesOut: number;
  /** Answers given or received: AA (and CA), AE (CE), AR (CR). */
  AA: number;
  AE: number;
  AR: number;
  /** Documents produced; received (preselected + to reconcile); preselected; to reconcile. */
  produced: number;
  received: number;
  preselected: number;
  toReconcile: number;
}

/** How long the journal keeps what (days): the raw bytes, then the rows. */
export interface JournalRetention {
  rawDays: number;
  rowDays: number;
}

const DAY_MS = 86_400_000;

export const DEFAULT_RETENTION: Readonly<JournalRetention> = Object.freeze({ rawDays: 30, rowDays: 365 });

export interface PruneOptions extends Partial<JournalRetention> {
  /** The time pruned against (ms); now by default. */
  now?: number;
  /** Rows deleted per write (each write one savepoint of a group commit): default 500. */
  batch?: number;
  /** Pages given back to the file system per write: default 256 (1 MiB of 4 KiB pages). */
  vacuumPages?: number;
  /** Called between steps: a pruning stopped (the store closing) ends after the step under way. */
  stopped?: () => boolean;
}

/** What a pruning deletes: the bytes older than rawBefore, the rows older than rowBefore (ms), `batch` rows per write; a retention that is not a number of days above 0 throws. */
export function pruneSettings(opts: PruneOptions): { rawBefore: number; rowBefore: number; batch: number } {
  const now = opts.now ?? Date.now();
  const rawDays = opts.rawDays ?? DEFAULT_RETENTION.rawDays;
  const rowDays = opts.rowDays ?? DEFAULT_RETENTION.rowDays;
  for (const [name, days] of [['rawDays', rawDays], ['rowDays', rowDays]] as const) {
    if (!(typeof days === 'number' && days > 0)) throw new RangeError(`prune: ${name} must be a number of days above 0`);
  }
  return { rawBefore: now - rawDays * DAY_MS, rowBefore: now - rowDays * DAY_MS, batch: opts.batch ?? 500 };
}

export interface PruneResult {
  /** Rows whose bytes were deleted, rows deleted. */
  raw: number;
  rows: number;
  /** Pages given back to the file system. */
  pagesFreed: number;
  /** Writes it took (each a short savepoint: the flow runs between them). */
  steps: number;
}

/** The journal's size, for the dashboard. */
export interface JournalSize {
  rows: number;
  rawRows: number;
  oldest: string | null;
  /** The database's pages in use and free (SQLite; null when the engine has no such notion). */
  pages: number | null;
  freePages: number | null;
  pageSize: number | null;
}
