// reconcile-out: the decisions of identity vigilance, taken in the operations console's reconciliation
// worklist (nodes/segur-console), as messages for the flow: each document cda-ingest could not preselect
// (its output 2), once a person attached it to a local identity or rejected it, with the archived
// document (the CDA, its PDF) as the decision left it — so the flow can forward it to the DPI. The
// decision is taken and audited by the store (lib/store decideTask) before it reaches this node; nothing
// is ever attached automatically: this node only tells.
import { decisionSummary } from '../shared/summary';
import type { Node, NodeAPI, NodeDef, NodeMessage } from '../shared/red';
import { isInsStoreNode, type InsStoreNode } from '../shared/stores';
import { onDecision, type DecisionEvent } from '../shared/console-registry';

interface ReconcileOutDef extends NodeDef {
  store?: string;
}

/** What msg.reconciliation says: the task, the decision, who took it and when. No patient data beyond the IPP key. */
interface ReconciliationSummary {
  taskId: number;
  documentId: string;
  /** 'attached' to a local identity, or 'rejected'. */
  status: 'attached' | 'rejected';
  /** The IPP key the document was attached to (after following merges); null for a rejection. */
  ipp: string | null;
  /** The reason given for a rejection; null for an attachment. */
  reason: string | null;
  /** Why the document was to reconcile (traits-mismatch, unknown-patient…). */
  taskReason: string;
  by: string | null;
  at: string | null;
}

function summaryOf(event: DecisionEvent): ReconciliationSummary {
  const t = event.task;
  const d = t.decision;
  return {
    taskId: t.id,
    documentId: t.documentId,
    status: t.status === 'attached' ? 'attached' : 'rejected',
    ipp: d && 'attach' in d ? d.attach : null,
    reason: d && 'reject' in d ? d.reject : null,
    taskReason: t.reason,
    by: t.decidedBy ?? event.actor,
    at: t.decidedAt,
  };
}

export = function (RED: NodeAPI) {
  function ReconcileOutNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = def as ReconcileOutDef;
    const storeId = typeof config.store === 'string' && config.store !== '_ADD_' ? config.store.trim() : '';
    const found = storeId ? RED.nodes.getNode(storeId) : null;
    const storeNode: InsStoreNode | null = isInsStoreNode(found) ? found : null;
    const counts = { attached: 0, rejected: 0 };
    const statusText = () => RED._('reconcile-out.status.counts', counts);
    if (storeId && !storeNode) node.status({ fill: 'red', shape: 'ring', text: RED._('reconcile-out.status.no-store') });
    else node.status({ fill: 'grey', shape: 'ring', text: RED._('reconcile-out.status.waiting') });

    /** One decision as a msg: the CDA (UTF-8 XML) in msg.payload, the PDF, the archive record, msg.reconciliation. */
    const emit = async (event: DecisionEvent) => {
      const summary = summaryOf(event);
      const msg: NodeMessage = { topic: `reconciliation/${summary.status}`, reconciliation: summary, summary: decisionSummary(summary) };
      try {
        const store = storeNode?.getStore();
        if (store) {
          const [document, content] = await Promise.all([store.getDocument(summary.documentId), store.documentContent(summary.documentId)]);
          msg.document = document;
          msg.payload = content ? content.cda.toString('utf8') : null;
          if (content?.pdf) msg.pdf = content.pdf;
        }
      } catch (err) {
        // the decision stands (it is in the store): said without the document, and a Catch-able error
        node.error(new Error(RED._('reconcile-out.errors.document', { id: summary.taskId, error: (err as Error).message })), { reconciliation: summary, summary: decisionSummary(summary) });
      }
      counts[summary.status]++;
      node.status({ fill: 'green', shape: 'dot', text: statusText() });
      node.send(msg);
    };

    // only the decisions about this node's store (every store's when none is selected)
    const stop = onDecision((event) => {
      if (storeId && event.store !== storeId) return;
      void emit(event);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      stop();
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('reconcile-out', ReconcileOutNode);
};
