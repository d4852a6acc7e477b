// The shapes the console's HTTP API answers with (docs/console-api.md is the contract). Only what the
// page reads; the page never trusts them to be HTML (every value goes in as text).

export interface Me {
  user: { username: string };
  permissions: { read: boolean; write: boolean };
  stores: { id: string; name: string; engine: string; default: boolean; retention: { rawDays: number; rowDays: number } }[];
}

export interface AckInfo {
  code: string;
  text?: string;
  errors?: { code: string; location?: string; text?: string; severity?: string }[];
}

export interface JournalKeys {
  ipp?: string | null;
  ippKey?: string | null;
  ins?: string | null;
  documentId?: string | null;
  setId?: string | null;
  version?: number | null;
  encounter?: string | null;
}

export interface JournalRecord {
  id: number;
  at: string;
  node: { id: string; type: string; name?: string };
  direction: 'in' | 'out';
  kind: 'message' | 'document';
  type: string | null;
  event: string | null;
  controlId: string | null;
  sender: string | null;
  receiver: string | null;
  ack: AckInfo | null;
  outcome: string;
  keys: JournalKeys;
  replayOf: number | null;
  parentId: number | null;
  actor: string | null;
  detail: Record<string, unknown> | null;
  hasMessage: boolean;
  hasAnswer: boolean;
}

export interface JournalPage {
  entries: JournalRecord[];
  next: number | null;
}

export interface LayoutField {
  position: string;
  name: string;
  value: string;
  length?: number;
  repetitions?: string[][];
}

export interface MessageLayout {
  encoding: string | null;
  segments: { segment: string; occurrence: number; name: string; fields: LayoutField[] }[];
  error?: string;
  text?: string;
}

export interface PatientTraits {
  ipp?: { id: string; oid: string } | null;
  ins?: { value: string; oid: string } | null;
  insQualified?: boolean;
  status?: string;
  birthName?: string;
  firstNames?: string;
  firstName?: string;
  usedName?: string;
  birthDate?: string;
  sex?: string;
}

export interface DocumentSummary {
  id: string;
  setId: string | null;
  version: number | null;
  typeCode: string | null;
  typeLabel: string | null;
  title: string | null;
  effectiveTime: string | null;
  origin: 'received' | 'produced';
  status: string;
  replaces: string | null;
  ippKey: string | null;
  patient: PatientTraits | null;
  author: { id?: string; given?: string; family?: string; specialty?: string; organization?: string } | null;
  pdfBytes: number | null;
  cdaBytes: number | null;
  archivedAt: string;
}

export interface JourneyEntry {
  documentId: string;
  step: string;
  at: string;
  controlId: string | null;
  ok: boolean;
  detail: Record<string, unknown>;
}

export interface TaskSummary {
  id: number;
  documentId: string;
  createdAt: string;
  reason: string;
  reasonText: string;
  status: 'open' | 'attached' | 'rejected';
  decision: { attach?: string; reject?: string; asked?: string } | null;
  decidedAt: string | null;
  decidedBy: string | null;
  document: DocumentSummary | null;
}

export interface DocumentTraits {
  birthName?: string;
  firstNames?: string;
  firstName?: string;
  usedName?: string;
  usedFirstName?: string;
  birthDate?: string;
  sex?: string;
  birthPlace?: string;
  ins?: { value: string; oid: string } | null;
  ids?: string[];
}

export interface Candidate {
  key: string;
  via: string;
  identity: {
    ipp: string;
    ippOid: string;
    status: string;
    qualified: boolean;
    ins: string | null;
    birthName?: string;
    firstNames?: string;
    firstName?: string;
    usedName?: string;
    birthDate?: string;
    sex?: string;
    birthPlace?: string;
  } | null;
  mergedInto: string | null;
  differences: { trait: string; document: string; local: string }[];
}

export interface TaskDetail {
  task: TaskSummary & { traits: DocumentTraits; journalId: number | null; seen: unknown };
  document: DocumentSummary | null;
  candidates: Candidate[];
}

export interface MessageDetail {
  entry: JournalRecord;
  message: MessageLayout | null;
  answer: MessageLayout | null;
  bytes: { message: number | null; answer: number | null };
  original: JournalRecord | null;
  replays: JournalRecord[];
  changed: {
    history: { seq?: number; event?: string; eventTime?: string; status?: string; applied?: boolean; sender?: string; controlId?: string; recordedAt?: string }[];
    document: DocumentSummary | null;
    journey: JourneyEntry[];
    task: TaskSummary | null;
  };
  replayable: boolean;
  notReplayable: string | null;
}

export interface ReplayAnswer {
  replay: JournalRecord | null;
  outcome: string;
  changed: boolean;
  ack: { code: string; text: string } | null;
  text: string;
}

export interface Figure {
  hour: string;
  node: string;
  nodeType: string;
  nodeName: string;
  messagesIn: number;
  messagesOut: number;
  AA: number;
  AE: number;
  AR: number;
  produced: number;
  received: number;
  preselected: number;
  toReconcile: number;
}

export interface Dashboard {
  from: string;
  to: string;
  figures: Figure[];
  live: { node: string; type: string; name: string; at: string; values: Record<string, unknown> }[];
  alerts: { node: string; name: string; alerts: { rule: string; state: 'ok' | 'raised'; since: string; value: number | null; threshold: number; text: string }[] }[];
  journal: { rows: number; rawRows: number; oldest: string | null; pages?: number; freePages?: number; pageSize?: number };
  tasks: { open: number };
}
