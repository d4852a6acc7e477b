// The identity registry of the layer (and, from issue 4 on, its document archive), behind an
// interface: SQLite (embedded, default) now, PostgreSQL next. Every method is asynchronous so that a
// networked implementation fits the same contract. A write (applyAdt, archiveDocument, cancelDocument,
// recordJourney) resolves once it is durable: an answer that says "recorded" may then be sent. Each of
// them takes the journal row of its exchange, written in the same savepoint (./journal.ts).
import type { AdtReading, Ins, Ipp, PatientIdentity } from '../ins';
import type { HourFigures, JournalContent, JournalEntry, JournalPage, JournalQuery, JournalRecord, JournalSize, PruneOptions, PruneResult } from './journal';
import type { ReconciliationTask, TaskDecision, TaskInput, TaskPage, TaskQuery, TaskStatus } from './reconciliation';

/**
 * The journal row of a write, written in the same savepoint: the row itself, or a function building it
 * from what the write did (its result), called inside the savepoint — a row that cannot be built rolls
 * the write back. The store sets the row's `id` once written.
 */
export type JournalOf<R> = JournalEntry | ((result: R) => JournalEntry);

export interface WriteOptions<R> {
  journal?: JournalOf<R>;
}

/** Where a message came from: the idempotence key is (sender, controlId), checked against the content hash. */
export interface MessageOrigin {
  /** The sending application and facility (MSH-3.1 / MSH-4.1, e.g. "GAM/CHU-X", as lib/ins reads them). */
  sender: string;
  controlId: string;
  /** Who applied it (e.g. "node-red:adt-to-ins:<node id>"), for the audit trail. */
  actor: string;
}

export type ApplyOutcome =
  /** the identity (and links) changed */
  | 'applied'
  /** the message is older (EVN/MSH time) than what the store holds: recorded in the history, not applied */
  | 'out-of-date'
  /** the same sender, control id and content were already applied: nothing changes, the earlier ACK is given again */
  | 'duplicate'
  /**
   * applying it would break the registry's integrity — a merged-away IPP, an A47 onto an IPP that holds
   * another patient, a merge of two qualified identities with different INS, a control id reused for
   * another message…: nothing changes, the ACK is AE with `refusal` (identity vigilance decides)
   */
  | 'refused'
  /** the reading carries nothing to store (AE/AR, or an event without identity) */
  | 'ignored';

/** An ERR of the acknowledgement, from the store (HL7 table 0357 code, ERR-2 location, text without patient data). */
export interface StoreNote {
  code: string;
  location: string;
  text: string;
}

export interface ApplyResult {
  outcome: ApplyOutcome;
  /** The identity kept for the IPP after the message (null when ignored or refused). */
  identity: StoredIdentity | null;
  /** For a duplicate: the ACK code and text given the first time. */
  previousAck?: { code: string; text: string };
  /** For a refusal: why (an AE error). */
  refusal?: StoreNote;
  /** Warnings to add to the ACK (it stays AA). */
  warnings?: StoreNote[];
  /** Applied: whether the message created the identity of its IPP (the audit's 'create'), rather than updating it. */
  created?: boolean;
}

export interface StoredIdentity {
  /** The key of the IPP: "<authority OID or namespace>|<id>". */
  key: string;
  patient: PatientIdentity;
  /** Time of the event that set this identity (ISO 8601), null when the messages carried none. */
  eventTime: string | null;
  updatedAt: string;
  /** Set when this IPP was merged into (A40) or renamed to (A47) another one. */
  mergedInto: string | null;
}

export interface HistoryEntry {
  seq: number;
  /** The IPP key the entry was recorded under (it stays when a merge moves the entry). */
  originKey: string;
  event: string;
  eventTime: string | null;
  status: string | null;
  applied: boolean;
  sender: string;
  controlId: string;
  recordedAt: string;
  patient: PatientIdentity | null;
}

export interface LinkEntry {
  key: string;
  otherKey: string;
  kind: 'merge' | 'change-id' | 'link';
  active: boolean;
  eventTime: string | null;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  key: string | null;
  detail: Record<string, unknown>;
}

/** A CDA document kept in the archive (produced by pdf-to-cda-n1 or accepted by cda-ingest). */
export interface DocumentRecord {
  /** The CDA id as root^extension (or root alone). */
  id: string;
  setId: string;
  version: number;
  /** LOINC / TRE_A05 code of the document type and its display name. */
  typeCode: string;
  typeLabel: string;
  title: string;
  /** Production date: the CDA effectiveTime (ISO 8601). */
  effectiveTime: string;
  /** 'produced' by this layer, or 'received' from outside. */
  origin: 'produced' | 'received';
  /** 'current', or 'replaced' once a later version (relatedDocument RPLC) is archived, or 'cancelled'. */
  status: 'current' | 'replaced' | 'cancelled';
  /** The id of the document this one replaces, if any. */
  replaces: string | null;
  /** The IPP key of the patient in the identity store, when known. */
  ippKey: string | null;
  /** The patient identity at the time the document was archived (INS only when it was qualified). */
  patient: DocumentPatient;
  /** The author: national id, names, specialty code, and the id of the organisation it acts for (representedOrganization). */
  author: { id?: string; given?: string; family?: string; specialty?: string; organization?: string } | null;
  cdaSha256: string;
  pdfSha256: string | null;
  cdaBytes: number;
  pdfBytes: number;
  archivedAt: string;
}

export interface DocumentPatient {
  ipp: { id: string; oid: string; authority?: string } | null;
  ins: { value: string; oid: string } | null;
  insQualified: boolean;
  /** The PAM FR identity status (PID-32: VIDE, PROV, VALI) when the document was archived; absent in archives before 0.2. */
  status?: string;
  birthName: string;
  firstNames: string;
  firstName: string;
  usedName: string;
  birthDate: string;
  sex: string;
}

export type DocumentInput = Omit<DocumentRecord, 'status' | 'cdaSha256' | 'pdfSha256' | 'cdaBytes' | 'pdfBytes' | 'archivedAt'> & {
  cda: Buffer;
  pdf: Buffer | null;
};

/** Which documents to list: every filter given must hold. */
export interface DocumentQuery {
  /** IPP keys (authority|id) or bare IPP ids. */
  ipps?: string[];
  /** INS values. */
  ins?: string[];
  /** Production date on or after (ISO date or date-time). */
  since?: string;
  /** Type codes (LOINC / TRE_A05). */
  types?: string[];
  /** Include replaced and cancelled versions (default: current ones only). */
  allVersions?: boolean;
}

/**
 * A step of a produced document's journey to the PFI and beyond (volet-transmission-cda-hl7v2):
 * sent (the MDM/ORU, its control id), ack (the PFI's technical ACK), then the business acknowledgements
 * ZAM^Z01 dmp-received, ZAM^Z02 mssante-received, ZAM^Z03 mssante-read.
 */
export type JourneyStep = 'sent' | 'ack' | 'dmp-received' | 'mssante-received' | 'mssante-read';

export interface JourneyEntry {
  documentId: string;
  step: JourneyStep;
  /** When it happened (ISO 8601): the message's time when it gives one, else when it was recorded. */
  at: string;
  /** The control id of the MDM/ORU that carried the document (MSH-10; ZAM OBX-4). */
  controlId: string | null;
  /** Success (AA, Y) or failure (AE/AR, N). */
  ok: boolean;
  /** What else the step says: the event, the ACK code and text, the party's address, error codes. No patient data. */
  detail: Record<string, unknown>;
}

/** A journey step to record with a write (recordJourney's entry). */
export type JourneyInput = Omit<JourneyEntry, 'at'> & { at?: string };

export interface ArchiveOptions extends WriteOptions<boolean> {
  /** A reconciliation task for the document, created with it (not when the id was already archived). */
  task?: TaskInput;
  /** Journey steps recorded with it (pdf-to-cda-n1's 'sent'). */
  journey?: JourneyInput[];
}

export interface CancelOptions extends WriteOptions<boolean> {
  journey?: JourneyInput[];
}

export interface DocumentArchive {
  /** Archives a document; archiving the same id again changes nothing (returns false). */
  archiveDocument(doc: DocumentInput, opts?: ArchiveOptions): Promise<boolean>;
  getDocument(id: string): Promise<DocumentRecord | null>;
  /** The documents matching, oldest production date first, read lazily (bounded memory). */
  listDocuments(query: DocumentQuery): AsyncIterable<DocumentRecord>;
  countDocuments(query: DocumentQuery): Promise<number>;
  /** Marks an archived document cancelled (withdrawn: MDM^T04); false when the id is not archived. */
  cancelDocument(id: string, opts?: CancelOptions): Promise<boolean>;
  /** The archived bytes of a document. */
  documentContent(id: string): Promise<{ cda: Buffer; pdf: Buffer | null } | null>;
}

/** Where the journey of the documents sent is kept. */
export interface DocumentJourneys {
  /** Records a step of a document's journey (`at` defaults to now), or several in one savepoint. */
  recordJourney(entry: JourneyInput | JourneyInput[], opts?: WriteOptions<void>): Promise<void>;
  /** A document's journey, in the order recorded. */
  journey(documentId: string): Promise<JourneyEntry[]>;
  /** The documents a message (MSH-10 of the MDM/ORU sent) carried: from the 'sent' steps. */
  documentsOfMessage(controlId: string): Promise<string[]>;
}

/** The message journal (./journal.ts): every exchange of the pack's nodes, searched by its keys, pruned by age. */
export interface MessageJournal {
  /** Writes the row of an exchange that changes nothing else (a rejection, mllp-out's ACK…), through the same durable commits; its id. */
  journal(entry: JournalEntry): Promise<number>;
  /** Newest first, by the filters given (JournalQueryError for a bad one). */
  searchJournal(query: JournalQuery): Promise<JournalPage>;
  journalEntry(id: number): Promise<JournalRecord | null>;
  /** The bytes of an exchange while the raw retention keeps them (null: no such row, or pruned). */
  journalContent(id: number): Promise<JournalContent | null>;
  /** Per node and per hour, the hours starting in [from, to) (ISO 8601). */
  figures(range: { from: string; to: string; node?: string }): Promise<HourFigures[]>;
  /** Deletes the bytes older than rawDays, then the rows older than rowDays, in short steps, and gives the space back. */
  prune(opts?: PruneOptions): Promise<PruneResult>;
  journalSize(): Promise<JournalSize>;
}

/** The reconciliation worklist (./reconciliation.ts). */
export interface ReconciliationWorklist {
  tasks(query?: TaskQuery): Promise<TaskPage>;
  task(id: number): Promise<ReconciliationTask | null>;
  taskOfDocument(documentId: string): Promise<ReconciliationTask | null>;
  countTasks(status?: TaskStatus | 'all'): Promise<number>;
  /**
   * Attaches the task's document to a local identity (the archived document's IPP and patient: the INS only
   * when that identity is qualified) or rejects it, audits who decided, when and what they saw; the task.
   * TaskAlreadyDecided when it was decided before (nothing changes), TaskDecisionError for no such task or identity.
   */
  decideTask(id: number, decision: TaskDecision, actor: string, seen?: unknown): Promise<ReconciliationTask>;
}

export interface IdentityStore extends DocumentArchive, DocumentJourneys, MessageJournal, ReconciliationWorklist {
  /** Applies a reading of an ADT message (only AA readings change anything), atomically; resolves once on disk. */
  applyAdt(reading: AdtReading, origin: MessageOrigin, ack: { code: string; text: string }, opts?: WriteOptions<ApplyResult>): Promise<ApplyResult>;
  /** The identity of an IPP (by id and, when given, authority OID or namespace); follows merges. */
  byIpp(id: string, authority?: string): Promise<StoredIdentity | null>;
  /** Identities carrying this INS value (only qualified identities carry one); merged IPPs are left out. */
  byIns(value: string, opts?: { qualifiedOnly?: boolean }): Promise<StoredIdentity[]>;
  history(key: string): Promise<HistoryEntry[]>;
  /** The history entries a message (sender, MSH-10) wrote about an IPP (followed through merges): what it changed. */
  historyOfMessage(ippKey: string, sender: string, controlId: string): Promise<HistoryEntry[]>;
  links(key: string): Promise<LinkEntry[]>;
  audit(limit?: number): Promise<AuditEntry[]>;
  /** Counts, for status dots and tests. */
  stats(): Promise<{ identities: number; qualified: number; merged: number; messages: number; documents: number }>;
  close(): Promise<void>;
}

/** The key of an IPP: the authority OID when known, else its namespace, then the id. */
export function ippKey(ipp: Pick<Ipp, 'id' | 'oid' | 'authority'>): string {
  return `${ipp.oid || ipp.authority || ''}|${ipp.id}`;
}

export type { AdtReading, Ins, Ipp, PatientIdentity };
