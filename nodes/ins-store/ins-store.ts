// ins-store: configuration node of the identity registry of the layer (latest identity per IPP,
// status history, merges and links, audit trail, idempotence of ADT messages, document archive, message
// journal, reconciliation tasks). An embedded SQLite file, or a PostgreSQL database shared by several
// Node-RED instances (issue 15: URL, user and password as credentials, TLS through a tls-config node, pool
// size); one open store per file or database, shared by every ins-store node that names it
// (nodes/shared/stores.ts). The node prunes the journal in the background (its
// retention) and offers the store to the operations console (nodes/shared/console-registry.ts).
import type { ConnectionOptions } from 'node:tls';
import type { Node, NodeAPI, NodeDef, TlsConfigNode } from '../shared/red';
import { STORE_ENGINES, acquire, postgresKey, release, resolveStoreFile, type InsStoreNode, type StoreEngine } from '../shared/stores';
import { registerStore } from '../shared/console-registry';
import { DEFAULT_RETENTION, PostgresIdentityStore, type PostgresStoreOptions } from '../../lib/store';

interface InsStoreDef extends NodeDef {
  engine?: string;
  file?: string;
  /**
   * 'normal' for the benchmark's baseline only (not in the editor): writes answered before the WAL is
   * synced (lib/store SqliteStoreOptions.durability). Anything else: durable writes.
   */
  durability?: string;
  /** Journal retention in days: the raw bytes (default 30), the rows (default 365). */
  rawDays?: string | number;
  rowDays?: string | number;
  /** PostgreSQL: postgres://host:port/database (user and password in the credentials). */
  url?: string;
  /** PostgreSQL: a tls-config node (CA, client certificate, verify the server's certificate); empty: no TLS. */
  tls?: string;
  /** PostgreSQL: connections in the pool (default 10). */
  poolSize?: string | number;
  /** The message journal: false (unticked) to write none — for the benchmark's comparison; on by default. */
  journal?: boolean;
}

interface Credentials {
  user?: string;
  password?: string;
}

const DEFAULT_POOL_SIZE = 10;
const MAX_POOL_SIZE = 100;

/** The pool size from the node's field: an integer from 1 to 100, else the default. */
function poolSize(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= MAX_POOL_SIZE ? n : DEFAULT_POOL_SIZE;
}

/** The first pruning a minute after the node starts (not while the flows start), then one an hour. */
const FIRST_PRUNE_MS = 60_000;
const PRUNE_EVERY_MS = 3_600_000;

/** A retention in days from the node's field: a number above 0, else the default. */
function retentionDays(value: unknown, fallback: number): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export = function (RED: NodeAPI) {
  function InsStoreConfigNode(this: InsStoreNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = def as InsStoreDef;
    const engine = (config.engine || 'sqlite') as StoreEngine;
    node.engine = engine;
    const credentials = (node.credentials ?? {}) as Credentials;
    const url = (config.url ?? '').trim();
    let pgOptions: PostgresStoreOptions | null = null;
    let pgError: string | null = null;
    if (engine === 'postgres') {
      try {
        node.file = url ? postgresKey(url, credentials.user) : '';
        if (!url) pgError = RED._('ins-store.errors.url');
      } catch (err) {
        node.file = 'postgres://';
        pgError = (err as Error).message;
      }
      const tlsNode = config.tls ? (RED.nodes.getNode(config.tls) as TlsConfigNode | null) : null;
      if (config.tls && !tlsNode?.valid) pgError = RED._('ins-store.errors.tls');
      // the tls-config node's CA, client certificate and key, and rejectUnauthorized (its "verify server certificate")
      const ssl = tlsNode?.valid ? (tlsNode.addTLSOptions({}) as ConnectionOptions) : false;
      pgOptions = { url, user: credentials.user || undefined, password: credentials.password || undefined, ssl, poolSize: poolSize(config.poolSize), applicationName: `segur-dpi node-red ${node.id}` };
    } else {
      node.file = resolveStoreFile(config.file, RED.settings.userDir);
    }
    node.store = null;
    node.openError = null;
    node.journal = config.journal !== false;
    node.getStore = () => {
      if (node.store) return node.store;
      throw node.openError ?? new Error(RED._('ins-store.errors.closed', { file: node.file }));
    };

    const retention = { rawDays: retentionDays(config.rawDays, DEFAULT_RETENTION.rawDays), rowDays: retentionDays(config.rowDays, DEFAULT_RETENTION.rowDays) };
    if (retention.rowDays < retention.rawDays) retention.rowDays = retention.rawDays; // a row is never pruned before its bytes
    (node as InsStoreNode & { retention: typeof retention }).retention = retention;

    let held = false;
    if (!(STORE_ENGINES as readonly string[]).includes(engine)) {
      node.openError = new Error(RED._('ins-store.errors.engine', { engine: String(config.engine) }));
      node.error(node.openError);
    } else if (pgError) {
      node.openError = new Error(RED._('ins-store.errors.open', { file: node.file, error: pgError }));
      node.error(node.openError);
    } else {
      try {
        node.store = acquire(node.file, engine, pgOptions ?? { durability: config.durability === 'normal' ? 'normal' : 'fsync' });
        held = true;
        node.debug(`ins-store: ${engine} ${node.file} open`);
        if (node.store instanceof PostgresIdentityStore) {
          // the server reached and the schema migrated in the background: a failure is the node's error
          node.store.ready.then(
            () => node.log(RED._('ins-store.log.postgres', { url: node.file })),
            (err: Error) => {
              node.openError = new Error(RED._('ins-store.errors.open', { file: node.file, error: err.message }));
              node.store = null; // getStore() now throws openError, naming the database
              node.error(node.openError);
            },
          );
        }
      } catch (err) {
        node.openError = new Error(RED._('ins-store.errors.open', { file: node.file, error: (err as Error).message }));
        node.error(node.openError);
      }
    }

    // the journal pruned in the background: a minute after the start, then every hour, in short steps
    let pruneTimer: NodeJS.Timeout | null = null;
    let stopped = false;
    const prune = () => {
      pruneTimer = null;
      const st = node.store;
      if (!st || stopped) return;
      st.prune({ ...retention, stopped: () => stopped }).then(
        (r) => {
          if (r.raw || r.rows) node.log(RED._('ins-store.log.pruned', { raw: r.raw, rows: r.rows, pages: r.pagesFreed }));
        },
        (err: Error) => node.warn(RED._('ins-store.errors.prune', { error: err.message })),
      ).finally(() => {
        if (!stopped) pruneTimer = setTimeout(prune, PRUNE_EVERY_MS).unref();
      });
    };
    let unregister: (() => void) | null = null;
    if (node.store) {
      pruneTimer = setTimeout(prune, FIRST_PRUNE_MS).unref();
      unregister = registerStore({ id: node.id, name: node.name || 'ins-store', engine, retention, get: () => node.getStore() });
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      stopped = true;
      if (pruneTimer) clearTimeout(pruneTimer);
      pruneTimer = null;
      unregister?.();
      node.store = null;
      if (!node.openError) node.openError = new Error(RED._('ins-store.errors.closed', { file: node.file }));
      if (!held) return done();
      held = false;
      release(node.file).then(
        () => done(),
        (err: Error) => {
          node.warn(RED._('ins-store.errors.close', { file: node.file, error: err.message }));
          done();
        },
      );
    });
  }

  RED.nodes.registerType('ins-store', InsStoreConfigNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
};
