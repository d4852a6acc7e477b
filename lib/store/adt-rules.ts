// The identity registry's rules for one ADT reading, written once for both engines (issue 15).
//
// The rules read and write through a RegistryTx: SQLite answers synchronously inside its transaction
// (better-sqlite3 cannot await), PostgreSQL with promises. So the rules are a generator that yields each
// call to the registry and is resumed with its result: runSync drives it in the SQLite transaction,
// runAsync awaits each step in the PostgreSQL one — the same steps, in the same order, on both.
import { DEFAULT_CLOCK_TOLERANCE_MS, type AdtReading, type PatientIdentity } from '../ins';
import { ippKey, type ApplyResult, type MessageOrigin, type StoreNote, type StoredIdentity } from './types';

/** A registry call's answer: a value (SQLite) or its promise (PostgreSQL). */
export type Step<T> = T | Promise<T>;

export interface IdentityRow {
  ipp_key: string;
  ins_value: string | null;
  qualified: number;
  data: string;
  event_time: string | null;
  event_ms: number | null;
  updated_at: string;
  merged_into: string | null;
  status: string;
}

export interface ProcessedRow {
  ack_code: string;
  ack_text: string;
  content_sha256: string | null;
}

export interface IdentityWrite {
  key: string;
  ins: string | null;
  insOid: string | null;
  status: string;
  qualified: number;
  data: string;
  eventTime: string | null;
  eventMs: number | null;
  now: string;
}

/** One row of identity_history, in its column order. */
export type HistoryRow = [
  ippKey: string,
  originKey: string,
  event: string,
  eventTime: string | null,
  status: string | null,
  applied: number,
  sender: string,
  controlId: string,
  recordedAt: string,
  data: string | null,
];

/** The reads and writes of the rules, inside one transaction of the engine. */
export interface RegistryTx {
  processed(sender: string, controlId: string): Step<ProcessedRow | undefined>;
  identity(key: string): Step<IdentityRow | undefined>;
  /** The IPP keys of the identities (not merged away) holding this INS. */
  insHolders(value: string, oid: string): Step<string[]>;
  /** The kind of the active merge or IPP change that took this key away ('merge', 'change-id'), if any. */
  mergedAwayBy(key: string): Step<string | undefined>;
  /** Keeps other writers off this identity until the transaction ends (PostgreSQL); nothing in SQLite, whose writer is alone. */
  lock(key: string): Step<void>;
  upsert(w: IdentityWrite): Step<void>;
  history(row: HistoryRow): Step<void>;
  audit(at: string, actor: string, action: string, key: string | null, detail: string): Step<void>;
  recordProcessed(origin: MessageOrigin, ack: { code: string; text: string }, outcome: string, now: string, hash: string | null): Step<void>;
  /**
   * Merges `oldKey` into `key`: a stub row for an old key never seen, marked merged (its event time the
   * merge's), what was merged into it repointed, its history moved; the number of history rows moved.
   */
  mergeInto(oldKey: string, key: string, stubData: string, eventTime: string | null, eventMs: number | null, now: string): Step<number>;
  link(key: string, other: string, kind: string, active: number, eventTime: string | null): Step<void>;
}

type Rules<T> = Generator<unknown, T, unknown>;

/** One registry call inside the rules: `const row = yield* call(tx.identity(key))`. */
function* call<T>(step: Step<T>): Generator<Step<T>, T, unknown> {
  return (yield step) as T;
}

/** Drives the rules where every step is a value (SQLite, inside its synchronous transaction). */
export function runSync<T>(rules: Rules<T>): T {
  let r = rules.next();
  while (!r.done) {
    if (r.value instanceof Promise) throw new Error('a synchronous registry answered with a promise');
    r = rules.next(r.value);
  }
  return r.value;
}

/** Drives the rules awaiting each step (PostgreSQL). */
export async function runAsync<T>(rules: Rules<T>): Promise<T> {
  let r = rules.next();
  while (!r.done) r = rules.next(await r.value);
  return r.value;
}

export function toStored(row: IdentityRow): StoredIdentity {
  return {
    key: row.ipp_key,
    patient: JSON.parse(row.data) as PatientIdentity,
    eventTime: row.event_time,
    updatedAt: row.updated_at,
    mergedInto: row.merged_into,
  };
}

export function refused(location: string, text: string): ApplyResult {
  return { outcome: 'refused', identity: null, refusal: { code: '207', location, text } };
}

export function eventMs(iso: string | null): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

/** The identity a key ends at, following merges (at most 32 hops: a cycle never loops). */
export function* follow(tx: RegistryTx, key: string): Rules<IdentityRow | undefined> {
  let row = yield* call(tx.identity(key));
  for (let hops = 0; row?.merged_into && hops < 32; hops++) {
    row = (yield* call(tx.identity(row.merged_into))) ?? row;
    if (!row.merged_into) break;
  }
  return row;
}

/**
 * Applies one reading, inside the engine's transaction. In order:
 * 1. idempotence: the same sender and control id already applied — with the same content hash, a
 *    duplicate (the earlier ACK again); with another content, refused (a control id is never reused);
 * 2. which identity: the PID's IPP, or for A47 with an INS in MRG-1 the identity holding that INS
 *    (PAM FR §4.4.2–§4.4.4);
 * 3. integrity (refused, nothing written): an IPP merged away (A40) or renamed (A47) is never written
 *    again — a newer message about it is refused, an older one is out of date; an A47 onto an IPP that
 *    holds another patient; an A40 of two qualified identities with different INS;
 * 4. out of date: older than the identity's event time (a stored time in the future is not trusted:
 *    one bad date never blocks a patient);
 * 5. the identity written (never un-merged), its history, the audit, then merges and links.
 */
export function* applyAdtRules(tx: RegistryTx, reading: AdtReading, origin: MessageOrigin, ack: { code: string; text: string }): Rules<ApplyResult> {
  const now = new Date().toISOString();
  const previous = yield* call(tx.processed(origin.sender, origin.controlId));
  const patient = reading.patient;
  if (previous) {
    if (previous.content_sha256 && reading.contentHash && previous.content_sha256 !== reading.contentHash) {
      return refused('MSH^1^10', 'this control id (MSH-10) of this sender was already used for another message: not applied, send it with a new control id');
    }
    const row = patient ? yield* follow(tx, ippKey(patient.ipp)) : undefined;
    return { outcome: 'duplicate', identity: row ? toStored(row) : null, previousAck: { code: previous.ack_code, text: previous.ack_text } };
  }
  if (reading.ack !== 'AA' || !patient || reading.action === 'none') {
    return { outcome: 'ignored', identity: null };
  }

  const warnings: StoreNote[] = [];
  let key = ippKey(patient.ipp);
  if (reading.action === 'change-ins') {
    const target = yield* insHolder(tx, reading, key, warnings);
    if ('refusal' in target) return { outcome: 'refused', identity: null, refusal: target.refusal };
    if (target.key !== key) yield* call(tx.lock(target.key));
    key = target.key;
  }
  const ms = reading.eventMs ?? eventMs(reading.eventTime);
  const current = yield* call(tx.identity(key));
  const data = JSON.stringify(patient);
  const audit = (action: string, k: string | null, detail: Record<string, unknown>) =>
    call(tx.audit(now, origin.actor, action, k, JSON.stringify({ event: reading.event, sender: origin.sender, controlId: origin.controlId, ...detail })));
  const hash = reading.contentHash || null;
  function* outOfDate(kept: IdentityRow): Rules<ApplyResult> {
    yield* call(tx.history([kept.ipp_key, key, reading.event, reading.eventTime, patient!.status, 0, origin.sender, origin.controlId, now, data]));
    yield* call(tx.recordProcessed(origin, ack, 'out-of-date', now, hash));
    yield* audit('out-of-date', kept.ipp_key, { kept: kept.event_time });
    return { outcome: 'out-of-date', identity: toStored(kept), warnings };
  }

  if (current?.merged_into) {
    if (ms !== null && current.event_ms !== null && ms < current.event_ms) return yield* outOfDate((yield* follow(tx, key)) ?? current);
    const kind = (yield* call(tx.mergedAwayBy(key))) === 'change-id' ? 'renamed to (A47)' : 'merged into (A40)';
    return refused('PID^1^3', `this IPP was ${kind} another one (${current.event_time ?? 'time unknown'}): a message about it is not applied, identity vigilance decides`);
  }
  const conflict = yield* conflictOf(tx, reading, key, current);
  if (conflict) return refused(conflict.location, conflict.text);
  if (current && current.event_ms !== null && ms !== null && ms < current.event_ms && current.event_ms <= Date.now() + DEFAULT_CLOCK_TOLERANCE_MS) {
    return yield* outOfDate(current);
  }

  const before = current ? (JSON.parse(current.data) as PatientIdentity) : null;
  yield* call(
    tx.upsert({
      key,
      ins: patient.ins?.value ?? null,
      insOid: patient.ins?.oid ?? null,
      status: patient.status,
      qualified: patient.qualified ? 1 : 0,
      data,
      eventTime: reading.eventTime,
      eventMs: ms,
      now,
    }),
  );
  yield* call(tx.history([key, key, reading.event, reading.eventTime, patient.status, 1, origin.sender, origin.controlId, now, data]));
  yield* audit(reading.action === 'change-ins' ? 'change-ins' : current ? 'update' : 'create', key, {
    statusBefore: before?.status ?? null,
    statusAfter: patient.status,
    insChanged: (before?.ins?.value ?? null) !== (patient.ins?.value ?? null),
    qualified: patient.qualified,
  });

  if (reading.action === 'merge' || reading.action === 'change-id') {
    for (const old of patient.replaces ?? []) {
      const oldKey = ippKey(old.ipp);
      const moved = yield* call(tx.mergeInto(oldKey, key, JSON.stringify({ ipp: old.ipp, ins: null }), reading.eventTime, ms, now));
      yield* call(tx.link(key, oldKey, reading.action, 1, reading.eventTime));
      yield* audit(reading.action, key, { from: oldKey, historyMoved: moved });
    }
  } else if (reading.action === 'link' || reading.action === 'unlink') {
    for (const other of patient.replaces ?? []) {
      const otherKey = ippKey(other.ipp);
      yield* call(tx.link(key, otherKey, 'link', reading.action === 'link' ? 1 : 0, reading.eventTime));
      yield* audit(reading.action, key, { other: otherKey });
    }
  }
  yield* call(tx.recordProcessed(origin, ack, 'applied', now, hash));
  const written = (yield* call(tx.identity(key))) as IdentityRow;
  return { outcome: 'applied', identity: toStored(written), created: !current, ...(warnings.length ? { warnings } : {}) };
}

/**
 * A47 with an INS in MRG-1 (PAM FR §4.4.2–§4.4.4): "l'application doit rechercher le patient
 * correspondant à l'INS du segment MRG". The PID's IPP when it holds that INS (or when nobody does
 * here: then a warning); refused when another identity holds it.
 */
function* insHolder(tx: RegistryTx, reading: AdtReading, pidKey: string, warnings: StoreNote[]): Rules<{ key: string } | { refusal: StoreNote }> {
  const former = reading.formerIns as NonNullable<AdtReading['formerIns']>;
  const holders = yield* call(tx.insHolders(former.value, former.oid));
  if (holders.includes(pidKey)) return { key: pidKey };
  if (!holders.length) {
    warnings.push({ code: '204', location: 'MRG^1^1', text: 'no identity here holds the INS of MRG-1: the identity of the PID is recorded as sent' });
    return { key: pidKey };
  }
  return {
    refusal: {
      code: '207',
      location: 'MRG^1^1',
      text: 'the INS of MRG-1 is held here by another IPP than the one in PID-3: not applied, identity vigilance decides',
    },
  };
}

/** Refusals that need the registry: A47 onto an IPP holding another patient, A40 of two qualified identities with different INS. */
function* conflictOf(tx: RegistryTx, reading: AdtReading, key: string, current: IdentityRow | undefined): Rules<{ location: string; text: string } | null> {
  if (reading.action !== 'merge' && reading.action !== 'change-id') return null;
  const patient = reading.patient as PatientIdentity;
  const verb = reading.action === 'merge' ? 'merge' : 'IPP change';
  for (const old of patient.replaces ?? []) {
    const oldKey = ippKey(old.ipp);
    if (oldKey === key) return { location: 'MRG^1^1', text: `MRG-1 and PID-3 name the same IPP: no ${verb} to apply` };
    const oldRow = yield* call(tx.identity(oldKey));
    if (oldRow?.merged_into && oldRow.merged_into !== key) {
      return { location: 'MRG^1^1', text: `the IPP of MRG-1 was already merged into another identity: the ${verb} is not applied, identity vigilance decides` };
    }
    if (reading.action === 'change-id' && current && !current.merged_into) {
      return { location: 'PID^1^3', text: 'the new IPP (PID-3) already holds another patient: an A47 would merge two records (that is an A40), not applied' };
    }
    if (reading.action === 'merge' && oldRow && !oldRow.merged_into && oldRow.qualified === 1 && oldRow.ins_value) {
      const survivorIns = [patient.qualified ? patient.ins?.value : null, current?.qualified === 1 ? current.ins_value : null].filter(Boolean);
      if (survivorIns.some((v) => v !== oldRow.ins_value)) {
        return { location: 'MRG^1^1', text: 'the two identities are qualified with different INS: the merge is not applied, identity vigilance decides' };
      }
    }
  }
  return null;
}
