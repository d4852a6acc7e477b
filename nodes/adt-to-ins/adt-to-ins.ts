// adt-to-ins: reads an IHE PAM FR ADT message from the identity registry (lib/ins), records it in an
// ins-store when one is configured (lib/store), and answers it: output 1 the identity (accepted and
// applied messages only), output 2 exactly one HL7 acknowledgement per input message (AA, AE or AR),
// ready for mllp-response. AE and AR also raise a Catch-able error naming field locations and
// reasons only (no patient data). Without a store (none configured, or its configuration node missing),
// a message that would be recorded is answered AR 207 — never accepted and silently dropped.
import type { DoneFn, Node, NodeAPI, NodeDef, NodeMessage, SendFn } from '../shared/red';
import { debugLogging } from '../shared/logging';
import { ThrottledStatus } from '../shared/status';
import { isInsStoreNode, type InsStoreNode } from '../shared/stores';
import { clip, describeIssues, redactIssueText } from './report';
import { buildSafeAck, parseHl7, readHeader, type AckCode, type AckError, type Hl7Header, type Hl7Message } from '../../lib/hl7';
import { readAdt, readAdtPayload, type AdtIssue, type AdtReading } from '../../lib/ins';
import { ippKey, type ApplyOutcome, type ApplyResult, type JournalEntry, type JournalOutcome } from '../../lib/store';
import { REPLAY_TEXT, bytesOf, headerFields, journalAlone, journalIdOf, journalNode, journals, senderOf } from '../shared/journal';
import { registerReplay, type ReplayResult } from '../shared/console-registry';

interface AdtToInsDef extends NodeDef {
  store?: string;
}

/** Largest msg.payload read (characters of a string, bytes of a Buffer): an ADT message is a few KiB. */
const MAX_PAYLOAD = 10 * 1024 * 1024;

/** The part of a payload read for the header of an oversize message. */
const HEAD = 64 * 1024;

/** A Catch-able error for an AE or AR acknowledgement; `code` (msg.error.code) is the ACK code. */
class AdtAckError extends Error {
  constructor(
    readonly code: 'AE' | 'AR',
    message: string,
  ) {
    super(message);
  }
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Uint8Array) return 'Uint8Array';
  return typeof v;
}

/** An AR reading for input that could not even be given to readAdtPayload. */
function rejected(header: Hl7Header | undefined, issue: AdtIssue): AdtReading {
  const app = header?.sendingApplication.split('^')[0] ?? '';
  const facility = header?.sendingFacility.split('^')[0] ?? '';
  return {
    ack: 'AR',
    event: header?.event ?? '',
    controlId: header?.controlId ?? '',
    sender: facility ? `${app}/${facility}` : app,
    eventTime: null,
    eventMs: null,
    contentHash: '',
    action: 'none',
    patient: null,
    issues: [issue],
  };
}

function headerOf(input: string | Buffer): Hl7Header | undefined {
  try {
    const head = input.length <= HEAD ? input : typeof input === 'string' ? input.slice(0, HEAD) : input.subarray(0, HEAD);
    return readHeader(head, { requireHeader: false });
  } catch {
    return undefined; // no readable MSH segment: answered with an ACK addressed to nobody
  }
}

/**
 * Reads a message, parsing it once: the reading and the header its ACK is built from. Input that does
 * not parse is read by readAdtPayload, which says why (an AR), with what header there is.
 */
function readMessage(input: string | Buffer): { reading: AdtReading; header: Hl7Header | undefined } {
  let parsed: Hl7Message;
  try {
    parsed = parseHl7(input);
  } catch {
    return { reading: readAdtPayload(input), header: headerOf(input) };
  }
  const header = parsed.header();
  try {
    return { reading: readAdt(parsed), header };
  } catch (err) {
    return { reading: rejected(header, { code: '207', location: '', text: `the message could not be read: ${(err as Error).message}`, severity: 'E' }), header };
  }
}

/** A message read and recorded, and its answer. */
interface Processed {
  reading: AdtReading;
  header: Hl7Header | undefined;
  code: AckCode;
  text: string;
  errors: AckError[];
  /** The ACK (ER7). */
  ackPayload: string;
  outcome?: ApplyOutcome;
  refusal?: AckError;
  storeError?: Error;
  /** The journal row written (null: rows are off, or it could not be written). */
  journalId: number | null;
}

/** The answer to a message the store took: what it did (duplicate: the first answer again; refused: AE), its warnings. */
function answerOf(p: Processed, base: AckError[], result: ApplyResult): void {
  const { reading } = p;
  p.outcome = result.outcome;
  p.code = 'AA';
  p.refusal = undefined;
  p.errors = [...base, ...(result.warnings ?? []).map((w): AckError => ({ ...w, severity: 'W' }))];
  if (result.outcome === 'duplicate') {
    p.code = (result.previousAck?.code as AckCode | undefined) ?? 'AA';
    p.text = clip(`already processed (${reading.sender} ${reading.controlId}): not applied again`);
  } else if (result.outcome === 'refused' && result.refusal) {
    p.code = 'AE';
    p.refusal = { ...result.refusal, severity: 'E' };
    p.errors.unshift(p.refusal);
    p.text = clip(result.refusal.text);
  } else if (result.outcome === 'out-of-date') {
    p.text = clip(`out of date: the stored identity is newer (${result.identity?.eventTime ?? '?'}), not applied`);
  } else if (result.outcome === 'ignored') {
    p.text = 'nothing to record';
  }
}

export = function (RED: NodeAPI) {
  function AdtToInsNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = def as AdtToInsDef;
    const storeId = typeof config.store === 'string' && config.store !== '_ADD_' ? config.store.trim() : '';
    const actor = `node-red:adt-to-ins:${node.id}`;

    let storeNode: InsStoreNode | null = null;
    let storeMissing: Error | null = null;
    if (storeId) {
      const found = RED.nodes.getNode(storeId);
      if (isInsStoreNode(found)) storeNode = found;
      else {
        storeMissing = new Error(RED._('adt-to-ins.errors.no-store-node', { id: storeId }));
        node.error(storeMissing);
      }
    }
    /** No store configured at all: what the node would record is answered AR (the sender sends it again once one is). */
    const noStore = !storeId;

    const counts: Record<AckCode, number> = { AA: 0, AE: 0, AR: 0 };
    const countsText = () => `AA ${counts.AA} · AE ${counts.AE} · AR ${counts.AR}`;
    // per message: the counts shown a few times a second, a debug line only when debug is logged
    const status = new ThrottledStatus(node);
    const debug = debugLogging(RED);
    if (noStore) node.status({ fill: 'red', shape: 'ring', text: RED._('adt-to-ins.status.none') });
    else if (storeMissing || storeNode?.openError) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('adt-to-ins.status.no-store') });
    }

    /**
     * Reads and records one message, and builds its answer: the store's write and the journal row in
     * one savepoint (an applied message), or the row alone (a rejection, a store that failed) — written
     * before the ACK leaves. `via` says how it came: from the flow (msg.journalId of mllp-in's row is its
     * parent), or replayed from the console (the row replayed, who asked).
     */
    const process = async (payload: unknown, via: { parentId?: number | null; replayOf?: number; actor?: string }): Promise<Processed> => {
      // 1. read the message
      let input: string | Buffer | null = null;
      if (typeof payload === 'string' || Buffer.isBuffer(payload)) input = payload;
      else if (payload instanceof Uint8Array) input = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);

      let header: Hl7Header | undefined;
      let reading: AdtReading;
      if (input === null) {
        reading = rejected(undefined, {
          code: '100',
          location: 'MSH^1',
          text: `not an HL7 v2 message: msg.payload is ${describeValue(payload)}, a string or a Buffer is expected`,
          severity: 'E',
        });
      } else if (input.length > MAX_PAYLOAD) {
        header = headerOf(input);
        reading = rejected(header, {
          code: '207',
          location: '',
          text: `message too large: ${input.length} ${typeof input === 'string' ? 'characters' : 'bytes'}, limit ${MAX_PAYLOAD}`,
          severity: 'E',
        });
      } else {
        ({ reading, header } = readMessage(input));
      }

      // 2. record it, its answer and its journal row together
      const p: Processed = { reading, header, code: reading.ack, text: '', errors: [], ackPayload: '', journalId: null };
      p.errors = reading.issues.map((i) => ({ code: i.code, location: i.location, text: i.text, severity: i.severity }));
      const firstError = reading.issues.find((i) => i.severity === 'E');
      p.text = firstError ? clip(redactIssueText(firstError.text, firstError.location)) : '';
      if (reading.ack === 'AA' && reading.nothingToRecord) p.text = 'nothing to record';
      const bytes = bytesOf(input);
      const rowOf = (outcome: JournalOutcome): JournalEntry => {
        p.ackPayload = buildSafeAck(header, { code: p.code, text: p.text, errors: p.errors });
        const patient = reading.patient;
        return {
          node: journalNode(node),
          direction: 'in',
          kind: 'message',
          ...headerFields(header),
          type: header?.type || (reading.event ? 'ADT' : null),
          event: reading.event || header?.event || null,
          controlId: reading.controlId || null,
          sender: reading.sender || senderOf(header),
          ack: { code: p.code, text: p.text, errors: p.errors.map((e) => ({ code: e.code, location: e.location, text: e.text, severity: e.severity })) },
          outcome,
          keys: patient
            ? { ipp: patient.ipp.id, ippKey: ippKey(patient.ipp), ins: patient.ins?.value ?? null, encounter: null }
            : {},
          message: bytes,
          answer: Buffer.from(p.ackPayload, 'utf8'),
          parentId: via.parentId ?? null,
          replayOf: via.replayOf ?? null,
          actor: via.actor ?? null,
          detail: { action: reading.action, ...(reading.eventTime ? { eventTime: reading.eventTime } : {}) },
        };
      };
      const journalOn = journals(storeNode);
      const base = p.errors;
      if (reading.ack === 'AA') {
        let row: JournalEntry | null = null;
        try {
          if (!storeNode) throw storeMissing ?? new Error('no identity store');
          const journal = journalOn
            ? (r: ApplyResult) => {
                answerOf(p, base, r);
                return (row = rowOf(r.outcome));
              }
            : undefined;
          const result = await storeNode.getStore().applyAdt(reading, { sender: reading.sender, controlId: reading.controlId, actor: via.actor ?? actor }, { code: 'AA', text: '' }, { journal });
          if (!journal) answerOf(p, base, result);
          p.journalId = (row as JournalEntry | null)?.id ?? null;
        } catch (err) {
          p.storeError = err as Error;
          p.code = 'AR';
          p.text = 'identity store unavailable: message not recorded, send it again';
          p.outcome = undefined;
          p.refusal = undefined;
          p.errors = [{ code: '207', location: '', text: p.text, severity: 'E' }, ...base];
        }
      }
      if (journalOn && (reading.ack !== 'AA' || p.storeError)) {
        // a rejection changes nothing: its row alone, through the group commit, not holding the answer
        // (issue 11: an AE or AR waits for no sync) — but a replay waits for it (the console shows it)
        const st = storeNode?.store;
        const written = st ? journalAlone(st, rowOf(p.storeError ? 'failed' : 'rejected'), (t) => node.warn(t)) : null;
        if (written && via.replayOf) p.journalId = await written;
      }
      if (!p.ackPayload || p.storeError) p.ackPayload = buildSafeAck(header, { code: p.code, text: p.text, errors: p.errors });
      return p;
    };

    /** Reads, records and answers one message; `state.answered` once the ACK is sent. */
    const handle = async (msg: NodeMessage, send: SendFn, done: DoneFn, state: { answered: boolean }) => {
      const p = await process(msg.payload, { parentId: journalIdOf(msg) });
      const { reading, code, text, outcome, storeError } = p;
      counts[code] = (counts[code] ?? 0) + 1;
      if (debug) node.debug(`adt-to-ins: ${reading.event || '?'} ${reading.controlId || '(no control id)'} → ${code}${outcome ? ` ${outcome}` : ''}${storeError ? ' store error' : ''}`);

      // 3. answer
      const summary = { event: reading.event, controlId: reading.controlId, sender: reading.sender, eventTime: reading.eventTime, action: reading.action };
      const insStore = storeNode && outcome ? { outcome, file: storeNode.file } : undefined;
      const ackMsg: NodeMessage = {
        payload: p.ackPayload,
        ack: { code, controlId: reading.controlId, text },
        hl7: summary,
      };
      if (msg._msgid) ackMsg._msgid = msg._msgid;
      if (insStore) ackMsg.insStore = { ...insStore };
      if (msg.mllp !== undefined) ackMsg.mllp = msg.mllp;
      if (p.journalId) ackMsg.journalId = p.journalId;

      let out1: NodeMessage | null = null;
      if (code === 'AA' && reading.ack === 'AA' && outcome === 'applied') {
        out1 = msg;
        out1.patient = reading.patient;
        if (reading.linked) out1.linked = reading.linked;
        if (reading.insSetAside) out1.insSetAside = reading.insSetAside;
        out1.hl7 = { ...summary };
        if (insStore) out1.insStore = insStore;
        if (p.journalId) out1.journalId = p.journalId;
      }

      status.set({ fill: code === 'AA' ? 'green' : code === 'AE' ? 'yellow' : 'red', shape: storeError ? 'ring' : 'dot', text: countsText() });
      state.answered = true;
      send([out1, ackMsg]);
      done(errorOf(p));
    };

    /** The Catch-able error of an answer other than AA (none for AA). */
    const errorOf = (p: Processed): AdtAckError | undefined => {
      const { reading, code, storeError, refusal } = p;
      const what = `${reading.event ? `ADT^${reading.event}` : 'message'}${reading.controlId ? ` ${reading.controlId}` : ''}`;
      if (storeError && noStore) return new AdtAckError('AR', RED._('adt-to-ins.errors.none', { what }));
      if (storeError) return new AdtAckError('AR', RED._('adt-to-ins.errors.store', { what, error: storeError.message }));
      if (refusal) return new AdtAckError('AE', `AE for ${what}: ${refusal.text} (ERR ${refusal.code}${refusal.location ? ` at ${refusal.location}` : ''})`);
      if (code === 'AE' || code === 'AR') return new AdtAckError(code, `${code} for ${what}: ${describeIssues(reading.issues)}`);
      return undefined;
    };

    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      const state = { answered: false };
      handle(msg, send, done, state).catch((err: Error) => {
        // a bug, not the input: still one AR per message, and a Catch-able error
        if (!state.answered) {
          counts.AR++;
          status.set({ fill: 'red', shape: 'ring', text: countsText() });
          const text = 'application internal error';
          const ack: NodeMessage = { payload: buildSafeAck(undefined, { code: 'AR', text, errors: [{ code: '207', text, severity: 'E' }] }), ack: { code: 'AR', controlId: '', text } };
          if (msg.mllp !== undefined) ack.mllp = msg.mllp;
          send([null, ack]);
        }
        done(new AdtAckError('AR', `AR: ${err.message}`));
      });
    });

    // the console's replay: the journaled bytes read and recorded again (the store's idempotence holds: an
    // applied message is a duplicate), a row linked to the original naming who asked; output 1 gets an
    // identity applied by the replay, and no ACK is sent (nobody is waiting for it: the console shows it)
    const unregisterReplay = registerReplay(node.id, async (req): Promise<ReplayResult> => {
      const p = await process(req.message, { replayOf: req.originalId, actor: req.actor });
      counts[p.code] = (counts[p.code] ?? 0) + 1;
      status.set({ fill: p.code === 'AA' ? 'green' : p.code === 'AE' ? 'yellow' : 'red', shape: p.storeError ? 'ring' : 'dot', text: countsText() });
      const applied = p.outcome === 'applied';
      if (applied && p.reading.patient) {
        const { reading } = p;
        node.send([{ payload: req.message.toString('utf8'), patient: reading.patient, hl7: { event: reading.event, controlId: reading.controlId, sender: reading.sender, eventTime: reading.eventTime, action: reading.action }, replay: { of: req.originalId, by: req.actor }, ...(p.journalId ? { journalId: p.journalId } : {}) }, null]);
      }
      const outcome: JournalOutcome = p.storeError ? 'failed' : (p.outcome ?? 'rejected');
      const text = p.storeError ? REPLAY_TEXT.failed : outcome === 'duplicate' ? REPLAY_TEXT.unchanged : applied ? REPLAY_TEXT.applied : outcome === 'rejected' ? REPLAY_TEXT.rejected : p.text || outcome;
      return { journalId: p.journalId, outcome, changed: applied, ack: { code: p.code, text: p.text }, text };
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      unregisterReplay();
      status.stop({});
      done();
    });
  }

  RED.nodes.registerType('adt-to-ins', AdtToInsNode);
};
