// pfi-ack: what the PFI says back about the documents sent to it, kept in each document's journey
// (lib/store recordJourney). Two inputs:
// - a business acknowledgement ZAM^Z01 (DMP reception), Z02 (MSSanté reception) or Z03 (MSSanté
//   reading), as mllp in gives it (volet "Transmission de documents CDA en HL7 v2" 2.1,
//   profils-messages.md): read (lib/cda readZam), recorded for the documents its OBX-4 names (the
//   control id of the MDM / ORU that carried them), then acknowledged on output 2 (ACK^Z0x^ACK, for
//   mllp response) — only once recorded;
// - the msg mllp out passes on (or a Catch node gives) after sending an MDM / ORU: msg.ack, the PFI's
//   technical acknowledgement, recorded as the step 'ack'.
// Output 1: msg.journey (the step recorded, the documents). A ZAM the volet does not define is
// answered AE and is a Catch-able error; a store that fails, AR (the PFI sends it again later).
import type { DoneFn, Node, NodeAPI, NodeDef, NodeMessage, SendFn } from '../shared/red';
import { isInsStoreNode, type InsStoreNode } from '../shared/stores';
import { readZam, zamAck, ZamError, type ZamReading } from '../../lib/cda';
import { readHeader, type Hl7Header } from '../../lib/hl7';
import type { IdentityStore, JournalEntry, JournalOutcome, JourneyStep } from '../../lib/store';
import { bytesOf, headerFields, journalAlone, journalIdOf, journalNode, journals } from '../shared/journal';

interface PfiAckDef extends NodeDef {
  store?: string;
}

/** What output 1 carries in msg.journey. */
interface JourneySummary {
  step: JourneyStep;
  ok: boolean;
  /** MSH-10 of the MDM / ORU the step is about. */
  controlId: string;
  /** The archive ids of the documents that message carried (empty: none known here). */
  documents: string[];
  at: string;
}

/** A store that failed: not the message's fault. */
class StoreFailure extends Error {
  readonly code = 'STORE';
}

/** Whether the payload is an HL7 v2 message of type ZAM (its header only is read). */
function isZam(payload: unknown): boolean {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return false;
  try {
    const head = typeof payload === 'string' ? payload.slice(0, 4096) : payload.subarray(0, 4096);
    return readHeader(head, { requireHeader: false }).type === 'ZAM';
  } catch {
    return false;
  }
}

/** The header of a payload, or null (not HL7). */
function headerOrNull(payload: unknown): Hl7Header | null {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return null;
  try {
    return readHeader(typeof payload === 'string' ? payload.slice(0, 4096) : payload.subarray(0, 4096), { requireHeader: false });
  } catch {
    return null;
  }
}

/** What a ZAM says, without patient data: kept in the journey's detail. */
function zamDetail(z: ZamReading): Record<string, unknown> {
  return {
    event: `ZAM^${z.event}`,
    zamControlId: z.hl7.controlId,
    sender: z.hl7.sender,
    ...(z.party ? { party: { role: z.party.role, address: z.party.address, ...(z.party.id ? { id: z.party.id } : {}) } } : {}),
    ...(z.errors.length ? { errors: z.errors.map((e) => ({ code: e.code, ...(e.application ? { application: e.application } : {}), ...(e.text ? { text: e.text } : {}) })) } : {}),
  };
}

export = function (RED: NodeAPI) {
  function PfiAckNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = def as PfiAckDef;
    const storeId = typeof config.store === 'string' && config.store !== '_ADD_' ? config.store.trim() : '';
    let storeNode: InsStoreNode | null = null;
    if (storeId) {
      const found = RED.nodes.getNode(storeId);
      if (isInsStoreNode(found)) storeNode = found;
    }
    const counts = { zam: 0, ack: 0, errors: 0 };
    const statusText = () => RED._('pfi-ack.status.counts', counts);
    if (!storeId) node.status({ fill: 'red', shape: 'ring', text: RED._('pfi-ack.status.none') });
    else if (!storeNode || storeNode.openError) node.status({ fill: 'red', shape: 'ring', text: RED._('pfi-ack.status.no-store') });

    const store = (): IdentityStore => {
      if (!storeId) throw new StoreFailure(RED._('pfi-ack.errors.none'));
      if (!storeNode) throw new StoreFailure(RED._('pfi-ack.errors.no-store', { id: storeId }));
      try {
        return storeNode.getStore();
      } catch (err) {
        throw new StoreFailure(RED._('pfi-ack.errors.store', { error: (err as Error).message }));
      }
    };

    /**
     * Records one step for every document the message `controlId` carried, with the journal row of the
     * message that says so (when it has none yet) in the same savepoint; the documents.
     */
    const record = async (step: JourneyStep, controlId: string, ok: boolean, at: string, detail: Record<string, unknown>, row: ((documents: string[]) => JournalEntry) | null): Promise<string[]> => {
      const st = store();
      try {
        const documents = await st.documentsOfMessage(controlId);
        const journal = row && journals(storeNode) ? row(documents) : undefined;
        await st.recordJourney(
          documents.map((documentId) => ({ documentId, step, controlId, ok, at, detail })),
          journal ? { journal } : {},
        );
        return documents;
      } catch (err) {
        throw new StoreFailure(RED._('pfi-ack.errors.store', { error: (err as Error).message }));
      }
    };

    /** The row of a message received from the PFI (a ZAM, or an ACK no mllp-out journaled). */
    const rowOf = (msg: NodeMessage, h: Hl7Header | null, fields: Partial<JournalEntry>, outcome: JournalOutcome): JournalEntry => ({
      node: journalNode(node),
      direction: 'in',
      kind: 'message',
      ...headerFields(h),
      ...fields,
      outcome,
      message: bytesOf(msg.payload),
      parentId: journalIdOf(msg),
    });

    /** A row alone (a ZAM refused, a store that failed), not holding the answer. */
    const lone = (entry: JournalEntry) => {
      const st = storeNode?.store;
      if (st && journals(storeNode)) void journalAlone(st, entry, (t) => node.warn(t));
    };

    const journeyOf = (step: JourneyStep, ok: boolean, controlId: string, documents: string[], at: string): JourneySummary => ({ step, ok, controlId, documents, at });

    /** A ZAM: read, recorded, then acknowledged (output 2). */
    const onZam = async (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      const ackMsg = (payload: string): NodeMessage => {
        const m: NodeMessage = { payload };
        if (msg._msgid) m._msgid = msg._msgid;
        if (msg.mllp !== undefined) m.mllp = msg.mllp;
        return m;
      };
      let z: ZamReading;
      try {
        z = readZam(msg.payload as string | Buffer);
      } catch (err) {
        if (!(err instanceof ZamError)) throw err;
        counts.errors++;
        node.status({ fill: 'red', shape: 'dot', text: statusText() });
        const answer = zamAck(null, err);
        lone(rowOf(msg, headerOrNull(msg.payload), { ack: { code: 'AE', text: err.message }, answer: Buffer.from(answer, 'utf8'), detail: { code: err.code } }, 'rejected'));
        send([null, ackMsg(answer)]);
        return done(Object.assign(new Error(RED._('pfi-ack.errors.zam', { code: err.code, error: err.message })), { code: err.code }));
      }
      let documents: string[];
      const answer = zamAck(z);
      try {
        const at = z.eventTime || z.hl7.dateTime || new Date().toISOString();
        const row = (docs: string[]): JournalEntry =>
          rowOf(msg, headerOrNull(msg.payload), { ack: { code: 'AA', text: '' }, answer: Buffer.from(answer, 'utf8'), keys: { documentId: docs[0] ?? null }, detail: { ...zamDetail(z), documents: docs.length, ok: z.ok } }, 'recorded');
        documents = await record(z.step, z.messageControlId, z.ok, at, zamDetail(z), row);
        msg.journey = journeyOf(z.step, z.ok, z.messageControlId, documents, at);
      } catch (err) {
        counts.errors++;
        node.status({ fill: 'red', shape: 'ring', text: statusText() });
        const refusal = zamAck(z, err);
        lone(rowOf(msg, headerOrNull(msg.payload), { ack: { code: 'AR', text: (err as Error).message }, answer: Buffer.from(refusal, 'utf8') }, 'failed'));
        send([null, ackMsg(refusal)]);
        return done(Object.assign(new Error((err as Error).message), { code: 'STORE' }));
      }
      counts.zam++;
      msg.zam = { event: z.event, ok: z.ok, messageControlId: z.messageControlId, party: z.party, errors: z.errors, warnings: z.warnings };
      if (!documents.length) node.warn(RED._('pfi-ack.errors.unknown-message', { event: `ZAM^${z.event}`, controlId: z.messageControlId }));
      node.debug(`pfi-ack: ZAM^${z.event} ${z.ok ? 'Y' : 'N'} for ${z.messageControlId}: ${documents.length} document(s)`);
      node.status({ fill: z.ok ? 'green' : 'yellow', shape: 'dot', text: statusText() });
      send([msg, ackMsg(answer)]);
      done();
    };

    /** The PFI's technical ACK of an MDM / ORU (msg.ack of mllp out): the step 'ack'. */
    const onAck = async (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      const ack = msg.ack as { code: string; controlId?: string; text?: string };
      const transmission = (msg.transmission ?? msg.mdm) as { controlId?: string } | undefined;
      const controlId = String(ack.controlId || transmission?.controlId || '');
      const ok = ack.code === 'AA' || ack.code === 'CA';
      const at = new Date().toISOString();
      try {
        if (!controlId) throw Object.assign(new Error(RED._('pfi-ack.errors.no-control-id')), { code: 'NO_CONTROL_ID' });
        // mllp-out journaled the exchange (the MDM / ORU sent and this answer): the step refers to its row; an ACK from elsewhere gets its own
        const sentRow = journalIdOf(msg);
        const row = sentRow
          ? null
          : (docs: string[]): JournalEntry =>
              rowOf(msg, headerOrNull(msg.payload), { type: 'ACK', controlId, ack: { code: ack.code, text: ack.text ?? '' }, keys: { documentId: docs[0] ?? null }, detail: { documents: docs.length } }, 'recorded');
        const documents = await record('ack', controlId, ok, at, { code: ack.code, ...(ack.text ? { text: ack.text } : {}), ...(sentRow ? { journalId: sentRow } : {}) }, row);
        msg.journey = journeyOf('ack', ok, controlId, documents, at);
        if (!documents.length) node.warn(RED._('pfi-ack.errors.unknown-message', { event: 'ACK', controlId }));
      } catch (err) {
        counts.errors++;
        node.status({ fill: 'red', shape: 'ring', text: statusText() });
        return done(Object.assign(new Error((err as Error).message), { code: (err as { code?: string }).code ?? 'STORE' }));
      }
      counts.ack++;
      node.status({ fill: ok ? 'green' : 'yellow', shape: 'dot', text: statusText() });
      send([msg, null]);
      done();
    };

    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      // a ZAM (from mllp in), or else the msg of mllp out with the PFI's ACK of an MDM / ORU
      const isAck = !isZam(msg.payload) && typeof msg.ack === 'object' && msg.ack !== null && typeof (msg.ack as { code?: unknown }).code === 'string';
      (isAck ? onAck : onZam)(msg, send, done).catch((err: Error) => done(Object.assign(new Error(RED._('pfi-ack.errors.internal', { error: err.message })), { code: 'INTERNAL' })));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('pfi-ack', PfiAckNode);
};
