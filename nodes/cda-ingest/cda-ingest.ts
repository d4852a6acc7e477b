// cda-ingest: files the reports received from outside (CR de biologie, d'imagerie…) as CDA R2 documents,
// level 1 (a PDF) or level 3, alone or in the HL7 v2 ORU^R01 / MDM^T02 / T10 / T04 message that carries
// them. The document is read safely (lib/cda: no DTD, no entity, bounded size), its patient looked up in
// the ins-store (lib/cda matchPatient: preselected only on a locally qualified INS whose traits agree),
// and it is archived there (origin 'received'). Output 1: preselected; output 2: to reconcile; output 3:
// rejected (msg.error says why); output 4: the HL7 acknowledgement of a carrier message (for
// mllp-response). Never merges nor attaches anything: identity vigilance decides on output 2.
import type { DoneFn, Node, NodeAPI, NodeDef, NodeMessage, SendFn } from '../shared/red';
import { isInsStoreNode, type InsStoreNode } from '../shared/stores';
import {
  IngestRejection,
  ackOf,
  clip,
  archiveRecord,
  carrierConflict,
  checkPdf,
  describeValue,
  effectiveMaxBytes,
  ingest,
  looksLikeHl7,
  payloadInput,
  sha256,
  summary,
  type CdaSummary,
  type Ingested,
} from './ingest';
import { APPLICATION_ERROR_CODE, applicationErrorOf, LifecycleRefusal, matchPatient, planLifecycle, type PatientMatch } from '../../lib/cda';
import type { AckCode, Hl7Header } from '../../lib/hl7';
import { ippKey, type IdentityStore, type JournalEntry, type JournalOutcome, type TaskInput } from '../../lib/store';
import { bytesOf, journalAlone, journalIdOf, journalNode, journals, senderOf, REPLAY_TEXT } from '../shared/journal';
import { registerReplay, type ReplayResult } from '../shared/console-registry';

interface CdaIngestDef extends NodeDef {
  store?: string;
  /** The ACK of a document kept for reconciliation: AE (207 + ERR-5, the LPS volet's) or AA (for senders that resend on AE). */
  reconcileAck?: string;
  /** MiB */
  maxSize?: string | number;
  archive?: boolean;
  acceptLevel3?: boolean;
}

/** Where the handling of one message stands, for the ACK of an unexpected failure. */
interface HandleState {
  answered: boolean;
  header: Hl7Header | null;
  hl7: boolean;
  /** What the journal row is written from: the bytes received, what was read, the answer given. */
  bytes: Buffer | null;
  got: Ingested | null;
  cda: CdaSummary | null;
  match: PatientMatch | null;
  answer: { code: AckCode; text: string; payload: string } | null;
  /** The IngestRejection code of a refused input. */
  rejection: string | null;
  parentId: number | null;
  replayOf: number | null;
  actor: string | null;
  /** The row written (when awaited) and its outcome. */
  journalId: number | null;
  outcome: JournalOutcome | null;
}

/** A store that failed (not the document's fault): AR 207, a Catch-able error, nothing on outputs 1–3. */
class StoreFailure extends Error {
  readonly code = 'STORE';
}

/** The journal row of one input, built once the answer is known; `written` once the store wrote it. */
interface Journaling {
  row: ((outcome: JournalOutcome) => JournalEntry) | null;
  written: JournalEntry | null;
}

/** The reconciliation task of a document kept for identity vigilance (output 2): why, its traits, the local candidates. */
function taskOf(got: Ingested, match: PatientMatch): TaskInput {
  const p = got.reading.patient;
  return {
    reason: match.match.method,
    reasonText: match.match.reason,
    traits: { ...p.traits, ins: p.ins ? { value: p.ins.value, oid: p.ins.oid } : null, ids: p.ids.map((i) => (i.extension ? `${i.root}^${i.extension}` : i.root)) },
    candidates: match.match.candidates.map((c) => ({ ...c, mismatches: [...c.mismatches] })),
  };
}

export = function (RED: NodeAPI) {
  function CdaIngestNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = def as CdaIngestDef;
    const storeId = typeof config.store === 'string' && config.store !== '_ADD_' ? config.store.trim() : '';
    const acceptLevel3 = config.acceptLevel3 !== false;
    const archiveDefault = config.archive !== false;
    const reconcileAckDefault: AckCode = config.reconcileAck === 'AA' ? 'AA' : 'AE';

    let storeNode: InsStoreNode | null = null;
    let storeMissing = false;
    if (storeId) {
      const found = RED.nodes.getNode(storeId);
      if (isInsStoreNode(found)) storeNode = found;
      else {
        storeMissing = true;
        node.error(new Error(RED._('cda-ingest.errors.no-store-node', { id: storeId })));
      }
    }

    const counts = { preselected: 0, reconcile: 0, rejected: 0 };
    const statusText = () => RED._('cda-ingest.status.counts', counts);
    if (storeMissing || storeNode?.openError) node.status({ fill: 'red', shape: 'ring', text: RED._('cda-ingest.status.no-store') });

    /** The configured store (null when none is configured); throws StoreFailure when it cannot be used. */
    const store = (): IdentityStore | null => {
      if (!storeId) return null;
      if (!storeNode) throw new StoreFailure(RED._('cda-ingest.errors.store-node-missing', { id: storeId }));
      try {
        return storeNode.getStore();
      } catch (err) {
        throw new StoreFailure(RED._('cda-ingest.errors.store', { error: (err as Error).message }));
      }
    };
    const storeCall = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof StoreFailure || err instanceof LifecycleRefusal) throw err;
        throw new StoreFailure(RED._('cda-ingest.errors.store', { error: (err as Error).message }));
      }
    };

    /** The ACK message of output 4. */
    const ackMessage = (msg: NodeMessage, payload: string, code: AckCode, controlId: string, text: string): NodeMessage => {
      const m: NodeMessage = { payload, ack: { code, controlId, text } };
      if (msg._msgid) m._msgid = msg._msgid;
      if (msg.mllp !== undefined) m.mllp = msg.mllp;
      return m;
    };

    /**
     * Files an accepted document as its request says (lib/cda planLifecycle checked it): new → archived;
     * replace → archived, the target marked replaced; delete → the target marked deleted. What happened,
     * for msg.cda. Throws LifecycleRefusal (through planLifecycle) before anything is written.
     */
    const archive = async (st: IdentityStore, got: Ingested, cda: CdaSummary, match: PatientMatch, j: Journaling): Promise<Pick<CdaSummary, 'archived' | 'archive' | 'target'>> => {
      const record = archiveRecord(got, cda, match, null);
      const journal = j.row ? (outcome: JournalOutcome) => (j.written = (j.row as NonNullable<Journaling['row']>)(outcome)) : null;
      const held = cda.action === 'delete' ? null : await storeCall(() => st.getDocument(record.id));
      if (held) {
        // the same id again: a message sent again (the same bytes), or another document (kept out)
        if (held.cdaSha256 !== sha256(record.cda)) {
          cda.warnings.push('a different document with the same id is already archived: this one is not archived (the archive keeps the first)');
          return { archived: false, archive: 'conflict' };
        }
        return { archived: false, archive: 'duplicate' };
      }
      const plan = await storeCall(() => planLifecycle(cda.action, got.reading, got.unwrapped?.txa ?? null, st));
      cda.warnings.push(...plan.warnings);
      if (cda.action === 'delete') {
        const target = plan.target as NonNullable<typeof plan.target>;
        if (!plan.alreadyDone) await storeCall(() => st.cancelDocument(target.id, journal ? { journal: journal('cancelled') } : {}));
        return { archived: false, archive: 'deleted', target: { id: target.id, status: 'cancelled' } };
      }
      if (plan.target) record.replaces = plan.target.id;
      // the document, its row and (to reconcile) its task in one savepoint: output 2 is never without its task
      const outcome: JournalOutcome = match.outcome === 'preselected' ? 'preselected' : 'to-reconcile';
      const added = await storeCall(() =>
        st.archiveDocument(record, { ...(journal ? { journal: (isNew: boolean) => journal(isNew ? outcome : 'duplicate') } : {}), ...(match.outcome === 'preselected' ? {} : { task: taskOf(got, match) }) }),
      );
      return { archived: added, archive: added ? 'archived' : 'duplicate', ...(plan.target ? { target: { id: plan.target.id, status: 'replaced' as const } } : {}) };
    };

    /**
     * The journal row of an input, from what is known of it when it is written: the carrier's header or
     * the bare document, the document's keys, the answer given. Null when rows are not written here.
     */
    const rowBuilder = (state: HandleState): ((outcome: JournalOutcome) => JournalEntry) | null => {
      if (!journals(storeNode)) return null;
      return (outcome) => {
        const { got, cda, answer } = state;
        const h = state.header;
        const u = got?.unwrapped ?? null;
        const ins = got?.reading.patient.ins ?? null;
        const local = state.match?.outcome === 'preselected' ? state.match.match.ipp : undefined;
        return {
          node: journalNode(node),
          direction: 'in',
          kind: state.hl7 ? 'message' : 'document',
          type: u?.hl7.type || h?.type || (state.hl7 ? null : 'CDA'),
          event: u?.hl7.event || h?.event || null,
          controlId: u?.hl7.controlId || h?.controlId || null,
          sender: senderOf(h),
          receiver: null,
          ack: answer ? { code: answer.code, text: answer.text } : null,
          outcome,
          keys: {
            ...(local ? { ipp: local.id, ippKey: ippKey(local) } : {}),
            ins: ins && ins.keyValid !== false ? ins.value : null,
            documentId: cda?.id ?? null,
            setId: cda?.setId ?? null,
            version: cda?.version ?? null,
          },
          message: state.bytes,
          answer: answer ? Buffer.from(answer.payload, 'utf8') : null,
          parentId: state.parentId,
          replayOf: state.replayOf,
          actor: state.actor,
          detail: {
            ...(cda ? { action: cda.action, archive: cda.archive, typeCode: cda.typeCode, level: cda.level } : {}),
            ...(state.match ? { method: state.match.match.method } : {}),
            ...(state.rejection ? { code: state.rejection } : {}),
          },
        };
      };
    };

    /** A row that changes nothing (a rejection, a duplicate, archiving off): alone; awaited for a replay only. */
    const journalLone = async (state: HandleState, outcome: JournalOutcome): Promise<void> => {
      const row = rowBuilder(state);
      const st = storeNode?.store;
      if (!row || !st) return;
      state.outcome = outcome;
      const written = journalAlone(st, row(outcome), (t) => node.warn(t));
      if (state.replayOf !== null) state.journalId = await written;
    };

    /** A refused input on output 3, its ACK (for an HL7 message, or from mllp in) on output 4. */
    const reject = async (msg: NodeMessage, send: SendFn, state: HandleState, err: IngestRejection, extra: Record<string, unknown> = {}) => {
      counts.rejected++;
      const answer = state.hl7 || (msg.mllp !== undefined && msg.mllp !== null);
      const controlId = err.header?.controlId ?? '';
      msg.error = { code: err.code, message: err.message, ...extra };
      let ack: NodeMessage | null = null;
      if (answer) {
        ack = ackMessage(msg, ackOf(err.header, err.ack.code, err.message, err.ack), err.ack.code, controlId, clip(err.message));
        msg.ack = { ...(ack.ack as object) };
        state.answer = { code: err.ack.code, text: clip(err.message), payload: ack.payload as string };
      }
      state.header ??= err.header ?? null;
      state.rejection = err.code;
      await journalLone(state, 'rejected');
      const advice = `${err.ack.code} ${err.ack.hl7Code}${err.ack.application ? `/${err.ack.application}` : ''}`;
      node.debug(`cda-ingest: ${state.hl7 ? `HL7 ${controlId || '(no control id)'}` : 'document'} rejected ${err.code}${ack ? ` → ${advice}` : ''}`);
      node.status({ fill: 'red', shape: 'dot', text: statusText() });
      state.answered = true;
      send([null, null, msg, ack]);
    };

    const handle = async (msg: NodeMessage, send: SendFn, done: DoneFn, state: HandleState) => {
      const input = payloadInput(msg.payload);
      state.bytes = input === null ? null : bytesOf(input);
      const viaMllp = msg.mllp !== undefined && msg.mllp !== null;
      const maxBytes = effectiveMaxBytes(config.maxSize, msg.maxSize);
      const archiveOn = typeof msg.archive === 'boolean' ? msg.archive : archiveDefault;
      const reconcileAck: AckCode = msg.reconcileAck === 'AA' || msg.reconcileAck === 'AE' ? msg.reconcileAck : reconcileAckDefault;

      // 1. read: the message, the CDA, the PDF it carries
      let got: Ingested;
      try {
        if (input === null) {
          throw new IngestRejection('BAD_INPUT', RED._('cda-ingest.errors.bad-input', { type: describeValue(msg.payload) }), { code: 'AR', hl7Code: '100' });
        }
        state.hl7 = looksLikeHl7(input);
        got = ingest(input, { maxBytes, acceptLevel3 });
        await checkPdf(got);
      } catch (err) {
        if (!(err instanceof IngestRejection)) throw err;
        await reject(msg, send, state, err);
        return done();
      }
      state.header = got.unwrapped?.header ?? null;
      state.got = got;

      // 2. whose document (read only), and the answer that will be given once it is filed: AA for a
      // document preselected; for one kept for reconciliation AE 207 with ERR-5 902–905 (LPS volet
      // error-codes.md), or AA when the node says so
      const warnings = [...got.reading.warnings, ...(got.unwrapped?.warnings ?? [])];
      const cda = summary(got, warnings);
      state.cda = cda;
      if (!got.reading.setId) warnings.push('the document has no setId: its id stands for it');
      if (got.reading.version === null) warnings.push('the document has no versionNumber: archived as version 1');
      const st = store();
      let match = await storeCall(() => matchPatient(got.reading, st));
      match = carrierConflict(got, match);
      state.match = match;
      const preselected = match.outcome === 'preselected';
      let ack: NodeMessage | null = null;
      if (state.hl7 || viaMllp) {
        const controlId = got.unwrapped?.hl7.controlId ?? '';
        const application = applicationErrorOf(match.match.method, got.reading.patient.ins !== null);
        if (preselected || !application || reconcileAck === 'AA') ack = ackMessage(msg, ackOf(state.header, 'AA', ''), 'AA', controlId, '');
        else {
          const text = RED._('cda-ingest.ack.reconcile', { code: application, label: APPLICATION_ERROR_CODE[application] });
          ack = ackMessage(msg, ackOf(state.header, 'AE', text, { code: 'AE', hl7Code: '207', application }), 'AE', controlId, clip(text));
        }
        const a = ack.ack as { code: AckCode; text: string };
        state.answer = { code: a.code, text: a.text, payload: ack.payload as string };
      }

      // 3. the archive as the request says, the journal row with what it changed
      const matched: JournalOutcome = preselected ? 'preselected' : 'to-reconcile';
      if (!st) cda.archive = 'no-store';
      else if (archiveOn) {
        const j: Journaling = { row: rowBuilder(state), written: null };
        try {
          Object.assign(cda, await archive(st, got, cda, match, j));
        } catch (err) {
          if (!(err instanceof LifecycleRefusal)) throw err;
          const location = err.location ?? got.unwrapped?.carrier.location;
          const refusal = new IngestRejection(err.code, err.message, { code: 'AE', hl7Code: '207', application: err.application, ...(location ? { location } : {}) }, state.header);
          msg.cda = cda;
          state.answer = null;
          await reject(msg, send, state, refusal, { application: err.application });
          return done();
        }
        if (j.written) {
          state.journalId = j.written.id ?? null;
          state.outcome = j.written.outcome;
        } else await journalLone(state, cda.archive === 'conflict' ? 'rejected' : cda.archive === 'deleted' || cda.archive === 'duplicate' ? 'duplicate' : matched);
      } else {
        cda.archive = 'off';
        await journalLone(state, matched);
      }

      // 4. route, then acknowledge what is committed
      counts[preselected ? 'preselected' : 'reconcile']++;
      msg.cda = cda;
      msg.match = { outcome: match.outcome, ...match.match };
      if (state.journalId) msg.journalId = state.journalId;
      if (got.reading.level === 1) msg.pdf = got.reading.pdf;
      else delete msg.pdf;
      if (ack) {
        msg.ack = { ...(ack.ack as object) };
        if (state.journalId) ack.journalId = state.journalId;
      }
      node.debug(
        `cda-ingest: ${got.unwrapped ? `${got.unwrapped.hl7.type}^${got.unwrapped.hl7.event} ${got.unwrapped.hl7.controlId || '(no control id)'}` : 'document'} ` +
          `${cda.action} type ${cda.typeCode} level ${cda.level} → ${match.outcome} (${match.match.method}), archive ${cda.archive}`,
      );
      if (cda.archive === 'conflict') node.warn(RED._('cda-ingest.errors.conflict', { type: cda.typeCode }));
      node.status({ fill: preselected ? 'green' : 'yellow', shape: 'dot', text: statusText() });
      state.answered = true;
      send(preselected ? [msg, null, null, ack] : [null, msg, null, ack]);
      done();
    };

    /** Handles one input; a failure (the store, or a bug) answered AR 207 and a Catch-able error. */
    const run = (msg: NodeMessage, send: SendFn, done: DoneFn, state: HandleState) => {
      handle(msg, send, done, state).catch(async (err: Error) => {
        // the store failed, or a bug: not the document's fault. AR 207 (the sender may send it again), a Catch-able error.
        const storeFailed = err instanceof StoreFailure;
        if (!state.answered) {
          const text = storeFailed ? 'document not filed: the identity store is unavailable, send it again later' : 'application internal error';
          const ack = state.hl7 || (msg.mllp !== undefined && msg.mllp !== null)
            ? ackMessage(msg, ackOf(state.header, 'AR', text, { code: 'AR', hl7Code: '207' }), 'AR', state.header?.controlId ?? '', text)
            : null;
          state.answer = ack ? { code: 'AR', text, payload: ack.payload as string } : null;
          await journalLone(state, 'failed').catch(() => undefined);
          node.status({ fill: 'red', shape: 'ring', text: statusText() });
          state.answered = true;
          if (ack) send([null, null, null, ack]);
        }
        const e = new Error(storeFailed ? err.message : RED._('cda-ingest.errors.internal', { error: err.message }));
        (e as Error & { code?: string }).code = storeFailed ? 'STORE' : 'INTERNAL';
        done(e);
      });
    };

    const newState = (via: { parentId?: number | null; replayOf?: number; actor?: string }): HandleState => ({
      answered: false,
      header: null,
      hl7: false,
      bytes: null,
      got: null,
      cda: null,
      match: null,
      answer: null,
      rejection: null,
      parentId: via.parentId ?? null,
      replayOf: via.replayOf ?? null,
      actor: via.actor ?? null,
      journalId: null,
      outcome: null,
    });

    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => run(msg, send, done, newState({ parentId: journalIdOf(msg) })));

    // the console's replay: the journaled bytes filed again (the archive keeps a document once: the same
    // one again is a duplicate), a row linked to the original naming who asked; outputs 1 to 3 as for any
    // input, no ACK sent (nobody waits for it: the console shows it)
    const unregisterReplay = registerReplay(node.id, (req) =>
      new Promise<ReplayResult>((resolve) => {
        const state = newState({ replayOf: req.originalId, actor: req.actor });
        const msg: NodeMessage = { payload: req.message, replay: { of: req.originalId, by: req.actor } };
        const send: SendFn = (out) => {
          const outs = Array.isArray(out) ? out.slice(0, 3) : [out];
          if (outs.some((m) => m)) node.send(outs);
        };
        run(msg, send, (err?: Error) => {
          const outcome: JournalOutcome = state.outcome ?? (err ? 'failed' : 'rejected');
          const changed = outcome === 'preselected' || outcome === 'to-reconcile' || outcome === 'cancelled';
          const text = outcome === 'duplicate' ? REPLAY_TEXT.unchanged : changed ? REPLAY_TEXT.applied : outcome === 'failed' ? REPLAY_TEXT.failed : REPLAY_TEXT.rejected;
          resolve({ journalId: state.journalId, outcome, changed, ack: state.answer ? { code: state.answer.code, text: state.answer.text } : null, text });
        }, state);
      }),
    );

    node.on('close', (_removed: boolean, done: () => void) => {
      unregisterReplay();
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('cda-ingest', CdaIngestNode);
};
