// What the running nodes tell the operations console (issue 14), in this process: the stores it reads,
// the replay handler of each node that journals messages, the live values nodes report (open MLLP
// connections, mllp-out's queue and last error), the alert state of segur-monitor nodes, and the
// decisions taken in the worklist (for reconcile-out nodes). Nodes register on start and unregister on
// close; the console API (nodes/segur-console) only reads.
import type { IdentityStore, JournalOutcome, JournalRecord, ReconciliationTask } from '../../lib/store';

// ---- stores

export interface ConsoleStore {
  /** The ins-store node's id and label. */
  id: string;
  name: string;
  engine: string;
  /** The journal's retention (days) the node prunes with. */
  retention: { rawDays: number; rowDays: number };
  /** The open store; throws when it cannot be used. */
  get(): IdentityStore;
}

const stores = new Map<string, ConsoleStore>();

export function registerStore(store: ConsoleStore): () => void {
  stores.set(store.id, store);
  return () => {
    if (stores.get(store.id) === store) stores.delete(store.id);
  };
}

/** The stores in the order registered (the first is the console's default). */
export function consoleStores(): ConsoleStore[] {
  return [...stores.values()];
}

// ---- replay

export interface ReplayRequest {
  /** The journal row replayed (its bytes are `message`). */
  entry: JournalRecord;
  message: Buffer;
  /** The original row (the row itself unless it is a replay), which the new row links to. */
  originalId: number;
  /** Who asked (the console user), for the audit. */
  actor: string;
}

export interface ReplayResult {
  /** The row the replay wrote (null when it could not write one). */
  journalId: number | null;
  outcome: JournalOutcome;
  /** Whether anything changed (false: a duplicate, nothing applied again). */
  changed: boolean;
  /** The answer the node gave, when it gives one. */
  ack: { code: string; text: string } | null;
  /** What happened, in words. */
  text: string;
}

/** Runs a journaled message through the node again; rejects when the node cannot (the message says why). */
export type ReplayHandler = (req: ReplayRequest) => Promise<ReplayResult>;

const replayers = new Map<string, ReplayHandler>();

export function registerReplay(nodeId: string, handler: ReplayHandler): () => void {
  replayers.set(nodeId, handler);
  return () => {
    if (replayers.get(nodeId) === handler) replayers.delete(nodeId);
  };
}

export function replayHandler(nodeId: string): ReplayHandler | undefined {
  return replayers.get(nodeId);
}

// ---- live values

export interface LiveReport {
  node: string;
  type: string;
  name: string;
  /** Plain JSON values: connections, queue, lastError… */
  values: Record<string, unknown>;
  /** When last reported (ISO 8601). */
  at: string;
}

const live = new Map<string, LiveReport>();

/** What a node reports now (replaces what it reported before). */
export function reportLive(node: { id: string; type: string; name?: string }, values: Record<string, unknown>): void {
  live.set(node.id, { node: node.id, type: node.type, name: node.name ?? '', values, at: new Date().toISOString() });
}

export function clearLive(nodeId: string): void {
  live.delete(nodeId);
}

export function liveReports(): LiveReport[] {
  return [...live.values()];
}

// ---- alerts

export interface AlertState {
  /** 'ae-rate' (AE/AR share of the answers), 'queue-depth' (mllp-out), 'silence' (no message for N minutes). */
  rule: string;
  state: 'ok' | 'raised';
  /** Since when in this state (ISO 8601). */
  since: string;
  value: number | null;
  threshold: number;
  text: string;
}

export interface MonitorReport {
  node: string;
  name: string;
  alerts: AlertState[];
}

const monitors = new Map<string, () => MonitorReport>();

export function registerMonitor(nodeId: string, report: () => MonitorReport): () => void {
  monitors.set(nodeId, report);
  return () => {
    if (monitors.get(nodeId) === report) monitors.delete(nodeId);
  };
}

export function monitorReports(): MonitorReport[] {
  return [...monitors.values()].map((r) => r());
}

// ---- decisions of the worklist

export interface DecisionEvent {
  /** The ins-store node whose task it is. */
  store: string;
  task: ReconciliationTask;
  /** Who decided (the console user). */
  actor: string;
}

type DecisionListener = (event: DecisionEvent) => void;
const decisionListeners = new Set<DecisionListener>();

export function onDecision(listener: DecisionListener): () => void {
  decisionListeners.add(listener);
  return () => decisionListeners.delete(listener);
}

/** Tells every listener (reconcile-out nodes); a listener that throws does not stop the others. */
export function emitDecision(event: DecisionEvent): number {
  let told = 0;
  for (const l of [...decisionListeners]) {
    try {
      l(event);
      told++;
    } catch {
      /* the listener reports its own errors */
    }
  }
  return told;
}
