// The operations console's HTTP API (docs/console-api.md is the contract): routes on Node-RED's admin app,
// behind its own adminAuth — `segur-dpi.read` to look, `segur-dpi.write` to replay or decide — and refused
// to the anonymous default user and to a runtime without adminAuth. Each handler reads the store through the
// interface (lib/store) and the running nodes through nodes/shared/console-registry.
import { compareTraits, type CdaTraits } from '../../lib/cda';
import { layoutMessage, type MessageLayout } from '../../lib/hl7';
import {
  JournalQueryError,
  JOURNAL_OUTCOMES,
  TaskAlreadyDecided,
  TaskDecisionError,
  checkDecision,
  type DocumentRecord,
  type IdentityStore,
  type JournalQuery,
  type ReconciliationTask,
  type StoredIdentity,
} from '../../lib/store';
import { consoleStores, emitDecision, liveReports, monitorReports, replayHandler, type ConsoleStore } from '../shared/console-registry';
import { hasPermission } from './permissions';

/** The part of an Express request the routes read. */
export interface ApiRequest {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body?: unknown;
  user?: { username?: string; anonymous?: boolean };
  authInfo?: { scope?: string | string[] };
}

/** The part of an Express response the routes write. */
export interface ApiResponse {
  status(code: number): ApiResponse;
  json(body: unknown): void;
  set(field: string, value: string): ApiResponse;
  send(body: Buffer | string): void;
  end(): void;
  headersSent?: boolean;
}

export type ApiHandler = (req: ApiRequest, res: ApiResponse, next: (err?: unknown) => void) => void;

/** What the routes need of Node-RED (RED.httpAdmin, RED.auth) and of the flows (node names). */
export interface ConsoleHost {
  httpAdmin: { get(path: string | RegExp, ...h: ApiHandler[]): void; post(path: string | RegExp, ...h: ApiHandler[]): void };
  auth: { needsPermission(permission: string): ApiHandler };
  /** A running node's name ('' when unknown). */
  nodeName(id: string): string;
  log: { warn(m: string): void };
}

export const READ = 'segur-dpi.read';
export const WRITE = 'segur-dpi.write';
export const API_ROOT = '/segur-dpi/api';

/** A refusal of the API: status, code and text (docs/console-api.md, Common rules). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const DAY_MS = 86_400_000;
const MAX_SEEN = 64 * 1024;

/**
 * After Node-RED's permission check: a logged-in user only. Without adminAuth Node-RED lets every request
 * through with no user (403: patient data is never served without a login); the anonymous default user
 * of adminAuth.default is refused whatever its permissions (401).
 */
const loggedIn: ApiHandler = (req, res, next) => {
  if (!req.user) return void res.status(403).json({ error: 'no-admin-auth', message: 'Node-RED runs without adminAuth: the console serves no patient data without a login' });
  if (req.user.anonymous) return void res.status(401).json({ error: 'login-required', message: 'log in: the console is not open to the anonymous user' });
  next();
};

/** Who acts, for the audit trail. */
const actorOf = (req: ApiRequest) => `console:${req.user?.username ?? '?'}`;

function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ApiError(400, 'bad-request', 'a query parameter was given twice or is not text');
  return v.trim() === '' ? undefined : v.trim();
}

function int(v: unknown, field: string): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s)) throw new ApiError(400, 'bad-request', `${field}: an integer`, { field });
  return Number(s);
}

function pathId(v: string, what: string): number {
  if (!/^\d{1,15}$/.test(v)) throw new ApiError(404, 'not-found', `no ${what} ${v}`);
  return Number(v);
}

function storeOf(req: ApiRequest): { entry: ConsoleStore; store: IdentityStore } {
  const all = consoleStores();
  const id = str(req.query.store);
  const entry = id ? all.find((s) => s.id === id) : all[0];
  if (!entry) throw new ApiError(404, 'no-store', id ? `no ins-store node ${id} is deployed` : 'no ins-store node is deployed');
  try {
    return { entry, store: entry.get() };
  } catch (err) {
    throw new ApiError(503, 'store-unavailable', `the store ${entry.name || entry.id} cannot be used: ${(err as Error).message}`);
  }
}

/** An archived document as the console lists it (docs/console-api.md, DocumentSummary). */
function documentSummary(d: DocumentRecord | null) {
  if (!d) return null;
  return {
    id: d.id,
    setId: d.setId,
    version: d.version,
    typeCode: d.typeCode,
    typeLabel: d.typeLabel,
    title: d.title,
    effectiveTime: d.effectiveTime,
    origin: d.origin,
    status: d.status,
    replaces: d.replaces,
    ippKey: d.ippKey,
    patient: d.patient,
    author: d.author,
    pdfBytes: d.pdfBytes,
    cdaBytes: d.cdaBytes,
    archivedAt: d.archivedAt,
  };
}

async function taskSummary(store: IdentityStore, t: ReconciliationTask | null, withDetail = false) {
  if (!t) return null;
  const base = {
    id: t.id,
    documentId: t.documentId,
    createdAt: t.createdAt,
    reason: t.reason,
    reasonText: t.reasonText,
    status: t.status,
    decision: t.decision,
    decidedAt: t.decidedAt,
    decidedBy: t.decidedBy,
    document: documentSummary(await store.getDocument(t.documentId)),
  };
  return withDetail ? { ...base, traits: t.traits, candidates: t.candidates, journalId: t.journalId, seen: t.seen } : base;
}

/** The document's traits in the shape lib/cda compares. */
function cdaTraits(t: ReconciliationTask['traits']): CdaTraits {
  const sex = t.sex === 'F' || t.sex === 'M' ? t.sex : 'U';
  return {
    birthName: t.birthName ?? '',
    firstNames: t.firstNames ?? '',
    firstName: t.firstName ?? '',
    usedName: t.usedName ?? '',
    usedFirstName: t.usedFirstName ?? '',
    birthDate: t.birthDate ?? '',
    sex,
    birthPlace: t.birthPlace ?? '',
  };
}

/** A local identity beside the document: its traits (the INS only when qualified) and what differs. */
function candidateOf(task: ReconciliationTask, key: string, via: string, found: StoredIdentity | null) {
  if (!found) return { key, via, identity: null, mergedInto: null, differences: [] };
  const p = found.patient;
  return {
    key,
    via,
    identity: {
      ipp: p.ipp.id,
      ippOid: p.ipp.oid || p.ipp.authority || '',
      status: p.status,
      qualified: p.qualified,
      ins: p.qualified && p.ins ? p.ins.value : null,
      birthName: p.birthName,
      firstNames: p.firstNames,
      firstName: p.firstName,
      usedName: p.usedName,
      birthDate: p.birthDate,
      sex: p.sex,
      birthPlace: p.birthPlace,
    },
    mergedInto: found.key !== key ? found.key : null,
    differences: compareTraits(cdaTraits(task.traits), p),
  };
}

/** The identity of an IPP key "<authority>|<id>" or of a bare IPP, following merges. */
async function identityOf(store: IdentityStore, ipp: string): Promise<StoredIdentity | null> {
  const at = ipp.indexOf('|');
  return at < 0 ? store.byIpp(ipp) : store.byIpp(ipp.slice(at + 1), ipp.slice(0, at));
}

function layout(bytes: Buffer | null): MessageLayout | null {
  return bytes ? layoutMessage(bytes) : null;
}

function journalQuery(q: Record<string, unknown>): JournalQuery {
  const direction = str(q.direction);
  if (direction !== undefined && direction !== 'in' && direction !== 'out') throw new ApiError(400, 'bad-request', 'direction: in or out', { field: 'direction' });
  const outcome = str(q.outcome);
  if (outcome !== undefined && !(JOURNAL_OUTCOMES as readonly string[]).includes(outcome)) {
    throw new ApiError(400, 'bad-request', `outcome: one of ${JOURNAL_OUTCOMES.join(', ')}`, { field: 'outcome' });
  }
  return {
    from: str(q.from),
    to: str(q.to),
    node: str(q.node),
    nodeType: str(q.nodeType),
    direction: direction as JournalQuery['direction'],
    type: str(q.type),
    event: str(q.event),
    controlId: str(q.controlId),
    ipp: str(q.ipp),
    ins: str(q.ins),
    documentId: str(q.documentId),
    ackCode: str(q.ackCode),
    outcome: outcome as JournalQuery['outcome'],
    replayOf: int(q.replayOf, 'replayOf'),
    before: int(q.before, 'before'),
    limit: int(q.limit, 'limit'),
  };
}

/** Registers the API's routes on RED.httpAdmin. */
export function registerConsoleApi(host: ConsoleHost): void {
  const read = host.auth.needsPermission(READ);
  const write = host.auth.needsPermission(WRITE);
  const wrap =
    (handler: (req: ApiRequest, res: ApiResponse) => Promise<unknown>): ApiHandler =>
    (req, res) => {
      handler(req, res).then(
        (body) => {
          if (body !== undefined && !res.headersSent) res.json(body);
        },
        (err: unknown) => {
          if (res.headersSent) return;
          if (err instanceof ApiError) return void res.status(err.status).json({ error: err.code, message: err.message, ...err.extra });
          if (err instanceof JournalQueryError) return void res.status(400).json({ error: 'bad-request', message: err.message, field: err.field });
          host.log.warn(`segur-console: ${(err as Error)?.message ?? err}`);
          res.status(500).json({ error: 'internal', message: 'the console could not answer: see the Node-RED log' });
        },
      );
    };
  const get = (path: string, h: (req: ApiRequest, res: ApiResponse) => Promise<unknown>) => host.httpAdmin.get(`${API_ROOT}${path}`, read, loggedIn, wrap(h));
  const post = (path: string, h: (req: ApiRequest, res: ApiResponse) => Promise<unknown>) => host.httpAdmin.post(`${API_ROOT}${path}`, write, loggedIn, wrap(h));

  get('/me', async (req) => {
    const scope = req.authInfo?.scope ?? [];
    const all = consoleStores();
    return {
      user: { username: req.user?.username ?? '' },
      permissions: { read: hasPermission(scope, READ), write: hasPermission(scope, WRITE) },
      stores: all.map((s, i) => ({ id: s.id, name: s.name, engine: s.engine, default: i === 0, retention: s.retention })),
    };
  });

  // ---- the journal

  get('/journal', async (req) => storeOf(req).store.searchJournal(journalQuery(req.query)));

  get('/journal/:id', async (req) => {
    const { store } = storeOf(req);
    const entry = await store.journalEntry(pathId(req.params.id, 'journal row'));
    if (!entry) throw new ApiError(404, 'not-found', `no journal row ${req.params.id}`);
    const content = await store.journalContent(entry.id);
    const k = entry.keys;
    const document = k.documentId ? await store.getDocument(k.documentId) : null;
    const history = k.ippKey && entry.sender && entry.controlId && entry.node.type === 'adt-to-ins' ? await store.historyOfMessage(k.ippKey, entry.sender, entry.controlId) : [];
    const notReplayable = !content?.message ? 'no-bytes' : replayHandler(entry.node.id) ? null : 'node-gone';
    return {
      entry,
      message: layout(content?.message ?? null),
      answer: layout(content?.answer ?? null),
      bytes: { message: content?.message?.length ?? null, answer: content?.answer?.length ?? null },
      original: entry.replayOf ? await store.journalEntry(entry.replayOf) : null,
      replays: (await store.searchJournal({ replayOf: entry.id, limit: 50 })).entries,
      changed: {
        history,
        document: documentSummary(document),
        journey: k.documentId ? await store.journey(k.documentId) : [],
        task: k.documentId ? await taskSummary(store, await store.taskOfDocument(k.documentId)) : null,
      },
      replayable: notReplayable === null,
      notReplayable,
    };
  });

  get('/journal/:id/raw', async (req, res) => {
    const { store } = storeOf(req);
    const id = pathId(req.params.id, 'journal row');
    const part = str(req.query.part) ?? 'message';
    if (part !== 'message' && part !== 'answer') throw new ApiError(400, 'bad-request', 'part: message or answer', { field: 'part' });
    const entry = await store.journalEntry(id);
    if (!entry) throw new ApiError(404, 'not-found', `no journal row ${id}`);
    const bytes = (await store.journalContent(id))?.[part] ?? null;
    if (!bytes) throw new ApiError(410, 'bytes-pruned', `the ${part} of journal row ${id} is not kept (pruned, or there was none)`);
    const ext = entry.type === 'CDA' && part === 'message' ? 'xml' : 'hl7';
    res.set('Content-Type', 'application/octet-stream').set('Content-Disposition', `attachment; filename="journal-${id}-${part}.${ext}"`).set('X-Content-Type-Options', 'nosniff');
    res.send(bytes);
    return undefined;
  });

  post('/journal/:id/replay', async (req) => {
    const { store } = storeOf(req);
    const entry = await store.journalEntry(pathId(req.params.id, 'journal row'));
    if (!entry) throw new ApiError(404, 'not-found', `no journal row ${req.params.id}`);
    const message = (await store.journalContent(entry.id))?.message ?? null;
    if (!message) throw new ApiError(410, 'bytes-pruned', `the bytes of journal row ${entry.id} are not kept (pruned after the raw retention, or there were none): it cannot be replayed`);
    const handler = replayHandler(entry.node.id);
    if (!handler) {
      throw new ApiError(409, 'not-replayable', `the node that handled journal row ${entry.id} (${entry.node.type} ${entry.node.name || entry.node.id}) is not deployed, or replays nothing`);
    }
    const result = await handler({ entry, message, originalId: entry.replayOf ?? entry.id, actor: actorOf(req) });
    return {
      replay: result.journalId ? await store.journalEntry(result.journalId) : null,
      outcome: result.outcome,
      changed: result.changed,
      ack: result.ack,
      text: result.text,
    };
  });

  // ---- the worklist

  const taskOf = async (store: IdentityStore, id: string): Promise<ReconciliationTask> => {
    const task = await store.task(pathId(id, 'task'));
    if (!task) throw new ApiError(404, 'not-found', `no reconciliation task ${id}`);
    return task;
  };

  get('/tasks', async (req) => {
    const { store } = storeOf(req);
    const status = str(req.query.status);
    const page = await store.tasks({ status: status as 'open', before: int(req.query.before, 'before'), limit: int(req.query.limit, 'limit') });
    return { tasks: await Promise.all(page.tasks.map((t) => taskSummary(store, t))), next: page.next };
  });

  get('/tasks/:id', async (req) => {
    const { store } = storeOf(req);
    const task = await taskOf(store, req.params.id);
    const candidates = await Promise.all(task.candidates.map(async (c) => candidateOf(task, c.key, c.via, await identityOf(store, c.key))));
    return { task: await taskSummary(store, task, true), document: documentSummary(await store.getDocument(task.documentId)), candidates };
  });

  get('/tasks/:id/candidate', async (req) => {
    const { store } = storeOf(req);
    const task = await taskOf(store, req.params.id);
    const ipp = str(req.query.ipp);
    if (!ipp) throw new ApiError(400, 'bad-request', 'ipp: an IPP key (<authority>|<id>) or a bare IPP', { field: 'ipp' });
    const found = await identityOf(store, ipp);
    if (!found) throw new ApiError(404, 'not-found', `the registry holds no identity ${ipp}`);
    return candidateOf(task, ipp.includes('|') ? ipp : found.key, 'search', found);
  });

  get('/tasks/:id/pdf', async (req, res) => {
    const { store } = storeOf(req);
    const task = await taskOf(store, req.params.id);
    const pdf = (await store.documentContent(task.documentId))?.pdf ?? null;
    if (!pdf) throw new ApiError(404, 'not-found', `the document of task ${task.id} has no PDF`);
    res.set('Content-Type', 'application/pdf').set('Content-Disposition', `inline; filename="document-${task.id}.pdf"`).set('X-Content-Type-Options', 'nosniff');
    res.send(pdf);
    return undefined;
  });

  post('/tasks/:id/decision', async (req) => {
    const { entry, store } = storeOf(req);
    const id = pathId(req.params.id, 'task');
    const body = (req.body ?? {}) as { attach?: unknown; reject?: unknown; seen?: unknown };
    let decision;
    try {
      decision = checkDecision({ ...(body.attach !== undefined ? { attach: body.attach } : {}), ...(body.reject !== undefined ? { reject: body.reject } : {}) });
    } catch (err) {
      throw new ApiError(400, 'bad-request', (err as Error).message, { field: 'decision' });
    }
    const seen = body.seen ?? null;
    if (JSON.stringify(seen).length > MAX_SEEN) throw new ApiError(400, 'bad-request', 'seen: at most 64 KiB of JSON', { field: 'seen' });
    let task: ReconciliationTask;
    try {
      task = await store.decideTask(id, decision, actorOf(req), seen);
    } catch (err) {
      if (err instanceof TaskAlreadyDecided) throw new ApiError(409, 'already-decided', err.message, { task: await taskSummary(store, err.task, true) });
      if (err instanceof TaskDecisionError) {
        if (err.code === 'NO_TASK') throw new ApiError(404, 'not-found', err.message);
        if (err.code === 'UNKNOWN_IDENTITY') throw new ApiError(422, 'unknown-identity', err.message);
        throw new ApiError(400, 'bad-request', err.message, { field: 'decision' });
      }
      throw err;
    }
    emitDecision({ store: entry.id, task, actor: actorOf(req) });
    return { task: await taskSummary(store, task, true) };
  });

  // ---- the dashboard

  get('/dashboard', async (req) => {
    const { store } = storeOf(req);
    const to = str(req.query.to) ?? new Date().toISOString();
    const from = str(req.query.from) ?? new Date(Date.parse(to) - DAY_MS).toISOString();
    const figures = (await store.figures({ from, to, node: str(req.query.node) })).map((f) => ({ ...f, nodeName: host.nodeName(f.node) }));
    return { from, to, figures, live: liveReports(), alerts: monitorReports(), journal: await store.journalSize(), tasks: { open: await store.countTasks('open') } };
  });

  get('/documents/:id/journey', async (req) => {
    const { store } = storeOf(req);
    const id = req.params.id;
    const [document, journey, task] = await Promise.all([store.getDocument(id), store.journey(id), store.taskOfDocument(id)]);
    if (!document && !journey.length) throw new ApiError(404, 'not-found', `no document ${id}`);
    return { document: documentSummary(document), journey, task: await taskSummary(store, task) };
  });
}
