// The reconciliation worklist of identity vigilance (issue 14): each received document cda-ingest could not
// preselect (its output 2) becomes a task, created in the same savepoint as the document's archiving. A
// person attaches it to a local identity or rejects it with a reason; the decision is audited (who, when,
// what they saw) and updates the archived document. Nothing is ever attached automatically, and a task is
// decided once: the first decision stands.
import type { DocumentPatient, StoredIdentity } from './types';

/** open: waiting for a decision; attached: to a local identity; rejected: not a patient of this record. */
export type TaskStatus = 'open' | 'attached' | 'rejected';

/** A local identity cda-ingest considered (lib/cda MatchCandidate): its key and status, the traits that differ. */
export interface TaskCandidate {
  key: string;
  status: string;
  qualified: boolean;
  via: 'ins' | 'ipp';
  mismatches: string[];
}

/** The document's traits as it gives them (lib/cda CdaTraits), compared with each candidate's. */
export interface TaskTraits {
  birthName: string;
  firstNames: string;
  firstName: string;
  usedName: string;
  usedFirstName?: string;
  birthDate: string;
  sex: string;
  birthPlace?: string;
  /** The INS the document carries (valid key or not), and its OID. */
  ins?: { value: string; oid: string } | null;
  /** The document's patient ids (root^extension), to find the local record by hand. */
  ids?: string[];
}

/** What cda-ingest gives to create a task beside the document it archives. */
export interface TaskInput {
  /** lib/cda MatchMethod: traits-mismatch, unknown-patient, ins-not-qualified… */
  reason: string;
  /** The reason in words (trait names, never values). */
  reasonText: string;
  traits: TaskTraits;
  candidates: TaskCandidate[];
  /** The journal row of the exchange that brought the document (set by the store when written in the same savepoint). */
  journalId?: number | null;
}

export type TaskDecision = { attach: string } | { reject: string };

export interface ReconciliationTask {
  id: number;
  documentId: string;
  createdAt: string;
  reason: string;
  reasonText: string;
  traits: TaskTraits;
  candidates: TaskCandidate[];
  journalId: number | null;
  status: TaskStatus;
  /** The decision, as taken (attach: the IPP key the document was attached to, after following merges). */
  decision: TaskDecision | null;
  decidedAt: string | null;
  decidedBy: string | null;
  /** What the person saw when deciding (the console sends the traits and candidates it showed). */
  seen: unknown;
}

export interface TaskQuery {
  /** Default 'open'. */
  status?: TaskStatus | 'all';
  /** Tasks with an id below (the `next` of the page before); newest first. */
  before?: number;
  limit?: number;
}

export interface TaskPage {
  tasks: ReconciliationTask[];
  next: number | null;
}

/** A decision asked for a task already decided: refused, the first decision stands (`task` says which). */
export class TaskAlreadyDecided extends Error {
  readonly code = 'ALREADY_DECIDED';
  constructor(readonly task: ReconciliationTask) {
    super(`task ${task.id} was already decided (${task.status} by ${task.decidedBy ?? '?'} at ${task.decidedAt ?? '?'}): the first decision stands`);
    this.name = 'TaskAlreadyDecided';
  }
}

/** No such task, or an attach to an IPP the registry does not hold, or a decision that is neither attach nor reject. */
export class TaskDecisionError extends Error {
  constructor(
    readonly code: 'NO_TASK' | 'UNKNOWN_IDENTITY' | 'BAD_DECISION',
    message: string,
  ) {
    super(message);
    this.name = 'TaskDecisionError';
  }
}

/** Checks a decision's shape: exactly one of attach (an IPP key) or reject (a reason, 1 to 500 characters). */
export function checkDecision(decision: unknown): TaskDecision {
  const d = decision as Partial<Record<'attach' | 'reject', unknown>> | null;
  const attach = d && typeof d === 'object' ? d.attach : undefined;
  const reject = d && typeof d === 'object' ? d.reject : undefined;
  if (typeof attach === 'string' && reject === undefined && /^[^|]*\|.+$/.test(attach.trim())) return { attach: attach.trim() };
  if (typeof reject === 'string' && attach === undefined && reject.trim().length > 0 && reject.length <= 500) return { reject: reject.trim() };
  throw new TaskDecisionError('BAD_DECISION', 'a decision is {"attach": "<authority>|<IPP>"} or {"reject": "<reason, 1 to 500 characters>"}');
}

/**
 * The archived document's patient once attached to a local identity: its IPP, and its INS only when that
 * identity is qualified (the same rule as a document archived by its INS), the identity's traits.
 */
export function attachedPatient(identity: StoredIdentity): DocumentPatient {
  const p = identity.patient;
  const qualified = p.qualified === true && p.ins !== null && p.ins !== undefined;
  return {
    ipp: { id: p.ipp.id, oid: p.ipp.oid, ...(p.ipp.authority ? { authority: p.ipp.authority } : {}) },
    ins: qualified && p.ins ? { value: p.ins.value, oid: p.ins.oid } : null,
    insQualified: qualified,
    status: p.status,
    birthName: p.birthName,
    firstNames: p.firstNames,
    firstName: p.firstName,
    usedName: p.usedName,
    birthDate: p.birthDate,
    sex: p.sex,
  };
}
