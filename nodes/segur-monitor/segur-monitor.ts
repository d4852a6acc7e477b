// segur-monitor: the layer's alerts (issue 14). Its thresholds — the AE/AR rate over a window, the depth
// of the mllp-out queues, minutes without a message received — checked every minute (and on any input
// msg) against the journal of its ins-store and the live values of the nodes (nodes/shared/console-
// registry). A rule crossing its threshold raises a Catch-able error and changes the node's status (a
// Status node sees it), and a msg on the output (raised, then cleared), for a flow that sends mail or SMS;
// the console's dashboard shows each rule's state. The rules themselves: ./rules.ts.
import { alertSummary } from '../shared/summary';
import type { Node, NodeAPI, NodeDef, NodeMessage } from '../shared/red';
import { isInsStoreNode, type InsStoreNode } from '../shared/stores';
import { liveReports, registerMonitor, type AlertState } from '../shared/console-registry';
import { DEFAULT_THRESHOLDS, evaluate, nextStates, type Measures, type MonitorThresholds, type RuleName } from './rules';

interface SegurMonitorDef extends NodeDef {
  store?: string;
  /** Percent (0: off). */
  aeRate?: string | number;
  minAnswers?: string | number;
  windowMinutes?: string | number;
  queueDepth?: string | number;
  silenceMinutes?: string | number;
}

const CHECK_EVERY_MS = 60_000;

/** A number from a node field: at least 0, else the default. */
function num(value: unknown, fallback: number): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

export = function (RED: NodeAPI) {
  function SegurMonitorNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = def as SegurMonitorDef;
    const storeId = typeof config.store === 'string' && config.store !== '_ADD_' ? config.store.trim() : '';
    const found = storeId ? RED.nodes.getNode(storeId) : null;
    const storeNode: InsStoreNode | null = isInsStoreNode(found) ? found : null;
    const thresholds: MonitorThresholds = {
      aeRate: num(config.aeRate, DEFAULT_THRESHOLDS.aeRate * 100) / 100,
      minAnswers: num(config.minAnswers, DEFAULT_THRESHOLDS.minAnswers),
      windowMinutes: Math.max(1, num(config.windowMinutes, DEFAULT_THRESHOLDS.windowMinutes)),
      queueDepth: num(config.queueDepth, DEFAULT_THRESHOLDS.queueDepth),
      silenceMinutes: num(config.silenceMinutes, DEFAULT_THRESHOLDS.silenceMinutes),
    };
    const started = Date.now();
    let states = new Map<RuleName, AlertState>();

    const showStatus = () => {
      const raised = [...states.values()].filter((s) => s.state === 'raised');
      if (raised.length) node.status({ fill: 'red', shape: 'dot', text: RED._('segur-monitor.status.raised', { rules: raised.map((s) => s.rule).join(', ') }) });
      else node.status({ fill: 'green', shape: 'dot', text: RED._('segur-monitor.status.ok', { count: states.size }) });
    };

    /** What the rules read now: the journal (figures, last message received) and the mllp-out queues. */
    const measure = async (now: number): Promise<Measures> => {
      const store = storeNode?.store ?? null;
      let figures = null;
      let lastReceived: number | null = null;
      if (store) {
        const from = new Date(Math.floor((now - thresholds.windowMinutes * 60_000) / 3_600_000) * 3_600_000).toISOString();
        figures = await store.figures({ from, to: new Date(now + 1).toISOString() });
        if (thresholds.silenceMinutes > 0) {
          const last = (await store.searchJournal({ direction: 'in', limit: 1 })).entries[0];
          lastReceived = last ? Date.parse(last.at) : null;
        }
      }
      const queues = liveReports()
        .filter((r) => r.type === 'mllp-out')
        .map((r) => ({ node: r.node, name: r.name, queue: Number(r.values.queue) || 0 }));
      return { figures, queues, lastReceived, since: started, now };
    };

    let checking: Promise<void> | null = null;
    const check = (): Promise<void> => {
      checking ??= (async () => {
        const now = Date.now();
        try {
          const next = nextStates(states, new Date(now).toISOString(), evaluate(thresholds, await measure(now)));
          states = next.states;
          for (const s of next.changed) {
            const msg: NodeMessage = { topic: `alert/${s.state === 'raised' ? 'raised' : 'cleared'}`, payload: s.text, alert: { ...s }, summary: alertSummary(s) };
            node.send(msg);
            if (s.state === 'raised') node.error(Object.assign(new Error(RED._('segur-monitor.errors.raised', { rule: s.rule, text: s.text })), { code: `ALERT_${s.rule.toUpperCase().replace(/-/g, '_')}` }), { ...msg });
          }
          showStatus();
        } catch (err) {
          node.status({ fill: 'red', shape: 'ring', text: RED._('segur-monitor.status.error') });
          node.warn(RED._('segur-monitor.errors.check', { error: (err as Error).message }));
        }
      })().finally(() => {
        checking = null;
      });
      return checking;
    };

    const timer = setInterval(() => void check(), CHECK_EVERY_MS);
    timer.unref();
    const unregister = registerMonitor(node.id, () => ({ node: node.id, name: node.name || 'segur monitor', alerts: [...states.values()] }));
    node.status({ fill: 'grey', shape: 'ring', text: RED._('segur-monitor.status.starting') });
    setTimeout(() => void check(), 1000).unref();

    node.on('input', (_msg: NodeMessage, _send, done) => {
      check().then(() => done(), () => done());
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(timer);
      unregister();
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('segur-monitor', SegurMonitorNode);
};
