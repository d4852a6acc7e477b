// cda-ingest: files the reports received from outside (CR de biologie, d'imagerie…) as CDA R2 documents,
// level 1 (a PDF) or level 3, alone or in the HL7 v2 ORU^R01 / MDM^T02 / T10 / T04 message that carries
// them. The document is read safely (lib/cda: no DTD, no entity, bounded size), its patient looked up in
// the ins-store (lib/cda matchPatient: preselected only on a locally qualified INS whose traits agree),
// and it is archived there (origin 'received'). Output 1: preselected; output 2: to reconcile; output 3:
// rejected (msg.error says why); output 4: the HL7 acknowledgement of a carrier message (for
// mllp-response). Never merges nor attaches anything: identity vigilance decides on output 2.
import type { DoneFn, Node, NodeAPI, NodeDef, NodeMessage, SendFn } from '../shared/red';
import { isInsStoreNode, type InsStoreNode } from '../shared/stores';
import { errorPart, eventPart, reportSummary, summaryLine } from '../shared/summary';
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
import type { IdentityStore } from '../../lib/store';

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
}

/** A store that failed (not the document's fault): AR 207, a Catch-able error, nothing on outputs 1–3. */
class StoreFailure extends Error {
  readonly code = 'STORE';
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
    const archive = async (st: IdentityStore, got: Ingested, cda: CdaSummary, match: PatientMatch): Promise<Pick<CdaSummary, 'archived' | 'archive' | 'target'>> => {
      const record = archiveRecord(got, cda, match, null);
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
        if (!plan.alreadyDone) await storeCall(() => st.cancelDocument(target.id));
        return { archived: false, archive: 'deleted', target: { id: target.id, status: 'cancelled' } };
      }
      if (plan.target) record.replaces = plan.target.id;
      const added = await storeCall(() => st.archiveDocument(record));
      return { archived: added, archive: added ? 'archived' : 'duplicate', ...(plan.target ? { target: { id: plan.target.id, status: 'replaced' as const } } : {}) };
    };

    /** A refused input on output 3, its ACK (for an HL7 message, or from mllp in) on output 4. */
    const reject = (msg: NodeMessage, send: SendFn, state: HandleState, err: IngestRejection, extra: Record<string, unknown> = {}) => {
      counts.rejected++;
      const answer = state.hl7 || (msg.mllp !== undefined && msg.mllp !== null);
      const controlId = err.header?.controlId ?? '';
      msg.error = { code: err.code, message: err.message, ...extra };
      let ack: NodeMessage | null = null;
      if (answer) {
        ack = ackMessage(msg, ackOf(err.header, err.ack.code, err.message, err.ack), err.ack.code, controlId, clip(err.message));
        msg.ack = { ...(ack.ack as object) };
      }
      msg.summary = reportSummary({ transport: err.header, typeCode: (msg.cda as { typeCode?: string } | undefined)?.typeCode, outcome: 'rejected', why: err.code, ack: ack ? err.ack.code : null });
      if (ack) ack.summary = msg.summary;
      const advice = `${err.ack.code} ${err.ack.hl7Code}${err.ack.application ? `/${err.ack.application}` : ''}`;
      node.debug(`cda-ingest: ${state.hl7 ? `HL7 ${controlId || '(no control id)'}` : 'document'} rejected ${err.code}${ack ? ` → ${advice}` : ''}`);
      node.status({ fill: 'red', shape: 'dot', text: statusText() });
      state.answered = true;
      send([null, null, msg, ack]);
    };

    const handle = async (msg: NodeMessage, send: SendFn, done: DoneFn, state: HandleState) => {
      const input = payloadInput(msg.payload);
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
        reject(msg, send, state, err);
        return done();
      }
      state.header = got.unwrapped?.header ?? null;

      // 2. whose document (read only), then the archive as the request says
      const warnings = [...got.reading.warnings, ...(got.unwrapped?.warnings ?? [])];
      const cda = summary(got, warnings);
      if (!got.reading.setId) warnings.push('the document has no setId: its id stands for it');
      if (got.reading.version === null) warnings.push('the document has no versionNumber: archived as version 1');
      const st = store();
      let match = await storeCall(() => matchPatient(got.reading, st));
      match = carrierConflict(got, match);
      if (!st) cda.archive = 'no-store';
      else if (archiveOn) {
        try {
          Object.assign(cda, await archive(st, got, cda, match));
        } catch (err) {
          if (!(err instanceof LifecycleRefusal)) throw err;
          const location = err.location ?? got.unwrapped?.carrier.location;
          const refusal = new IngestRejection(err.code, err.message, { code: 'AE', hl7Code: '207', application: err.application, ...(location ? { location } : {}) }, state.header);
          msg.cda = cda;
          reject(msg, send, state, refusal, { application: err.application });
          return done();
        }
      }

      // 3. route, then acknowledge what is committed: AA for a document preselected; for one kept for
      // reconciliation AE 207 with ERR-5 902–905 (LPS volet error-codes.md), or AA when the node says so
      const preselected = match.outcome === 'preselected';
      counts[preselected ? 'preselected' : 'reconcile']++;
      msg.cda = cda;
      msg.match = { outcome: match.outcome, ...match.match };
      if (got.reading.level === 1) msg.pdf = got.reading.pdf;
      else delete msg.pdf;
      let ack: NodeMessage | null = null;
      if (state.hl7 || viaMllp) {
        const controlId = got.unwrapped?.hl7.controlId ?? '';
        const application = applicationErrorOf(match.match.method, got.reading.patient.ins !== null);
        if (preselected || !application || reconcileAck === 'AA') ack = ackMessage(msg, ackOf(state.header, 'AA', ''), 'AA', controlId, '');
        else {
          const text = RED._('cda-ingest.ack.reconcile', { code: application, label: APPLICATION_ERROR_CODE[application] });
          ack = ackMessage(msg, ackOf(state.header, 'AE', text, { code: 'AE', hl7Code: '207', application }), 'AE', controlId, clip(text));
        }
        msg.ack = { ...(ack.ack as object) };
      }
      msg.summary = reportSummary({
        transport: got.unwrapped?.hl7,
        typeCode: cda.typeCode,
        ipp: match.match.ipp,
        outcome: match.outcome,
        why: match.match.method,
        archive: cda.archive,
        ack: (ack?.ack as { code?: string } | undefined)?.code,
      });
      if (ack) ack.summary = msg.summary;
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

    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      const state: HandleState = { answered: false, header: null, hl7: false };
      handle(msg, send, done, state).catch((err: Error) => {
        // the store failed, or a bug: not the document's fault. AR 207 (the sender may send it again), a Catch-able error.
        const storeFailed = err instanceof StoreFailure;
        if (!state.answered) {
          const text = storeFailed ? 'document not filed: the identity store is unavailable, send it again later' : 'application internal error';
          const ack = state.hl7 || (msg.mllp !== undefined && msg.mllp !== null)
            ? ackMessage(msg, ackOf(state.header, 'AR', text, { code: 'AR', hl7Code: '207' }), 'AR', state.header?.controlId ?? '', text)
            : null;
          node.status({ fill: 'red', shape: 'ring', text: statusText() });
          state.answered = true;
          msg.summary = summaryLine(eventPart(state.header) ?? 'CDA', errorPart(storeFailed ? 'STORE' : 'INTERNAL'), ack ? 'AR' : null);
          if (ack) {
            ack.summary = msg.summary;
            send([null, null, null, ack]);
          }
        }
        const e = new Error(storeFailed ? err.message : RED._('cda-ingest.errors.internal', { error: err.message }));
        (e as Error & { code?: string }).code = storeFailed ? 'STORE' : 'INTERNAL';
        done(e);
      });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('cda-ingest', CdaIngestNode);
};
