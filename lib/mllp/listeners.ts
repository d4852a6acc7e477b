// MLLP listeners shared across redeploys, by address (host:port). A deploy stops every node it restarts and
// starts the new ones (Node-RED's editor deploys "Full" by default: every node), so a listener owned by the
// node object would close, dropping every connected sender, even when the deploy did not touch it. Here a
// listener outlives its owner: released by a node that closes (not removed), it is held — still listening,
// its connections open, nothing read from them — until a node claims the same address with the same
// configuration and takes it over, connections included; what a sender sent meanwhile is read then. A
// listener nobody claims is closed once the new flows have started (closeUnclaimed), or after a grace
// period. A node removed closes its listener at once. Kept on a global symbol like the connection registry.
import { createHash } from 'node:crypto';
import { connections } from './registry';
import { MllpConnection, MllpLimitHit, MllpServer, MllpServerOptions } from './server';
import type { JunkInfo, OversizeInfo } from './framing';
import type { AddressInfo } from 'node:net';

/** What the owner of a listener hears from it (each connection is also in the `connections` registry). */
export interface ListenerOwner {
  /** The owner's id (a Node-RED node id): named in a conflict. */
  readonly id: string;
  message(message: Buffer, conn: MllpConnection): void;
  oversize(info: OversizeInfo, conn: MllpConnection): void;
  junk(info: JunkInfo, conn: MllpConnection): void;
  limit(hit: MllpLimitHit): void;
  clientError(error: Error, remote: { remoteAddress: string; remotePort: number }): void;
  /** The listener failed after it started listening. */
  error(error: Error): void;
  connection(conn: MllpConnection): void;
  disconnect(conn: MllpConnection, error: Error | undefined): void;
}

/** The address is listened on by another owner of this process. */
export class ListenerTaken extends Error {
  readonly code = 'EADDRINUSE';
  constructor(
    readonly key: string,
    readonly owner: string,
  ) {
    super(`${key} is already listened on by ${owner} in this process`);
    this.name = 'ListenerTaken';
  }
}

/** How long a released listener waits for a new owner when no start of the flows says it is over. */
export const DEFAULT_GRACE_MS = 30_000;

type Queued = { event: 'message' | 'oversize' | 'junk'; args: [unknown, MllpConnection] };

class Shared {
  owner: ListenerOwner | null = null;
  /** Events while nobody owns the listener, given to the next owner in order. */
  readonly queue: Queued[] = [];
  timer: NodeJS.Timeout | null = null;
  closing: Promise<void> | null = null;
  address: AddressInfo | null = null;

  constructor(
    readonly key: string,
    readonly signature: string,
    readonly server: MllpServer,
  ) {
    server.on('connection', (conn) => {
      connections.set(conn.id, conn);
      this.owner?.connection(conn);
    });
    server.on('disconnect', (conn, err) => {
      connections.delete(conn.id);
      this.owner?.disconnect(conn, err);
    });
    const deliver = (event: Queued['event']) => (a: unknown, conn: MllpConnection) => {
      const owner = this.owner;
      if (owner) (owner[event] as (x: unknown, c: MllpConnection) => void)(a, conn);
      else this.queue.push({ event, args: [a, conn] });
    };
    server.on('message', deliver('message'));
    server.on('oversize', deliver('oversize'));
    server.on('junk', deliver('junk'));
    server.on('limit', (hit) => this.owner?.limit(hit));
    server.on('clientError', (err, remote) => this.owner?.clientError(err, remote));
    // a listen error is the claim's rejection; later ones go to the owner
    server.on('error', (err) => {
      if (this.address) this.owner?.error(err);
    });
  }

  take(owner: ListenerOwner): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.owner = owner;
    for (const q of this.queue.splice(0)) {
      if (q.args[1].open) (owner[q.event] as (x: unknown, c: MllpConnection) => void)(q.args[0], q.args[1]);
    }
    this.server.hold(false);
  }

  close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.owner = null;
    this.queue.length = 0;
    this.closing ??= this.server.close();
    return this.closing;
  }
}

const KEY = Symbol.for('node-red-contrib-segur-dpi.mllp.listeners');
const holder = globalThis as unknown as Record<symbol, Map<string, Shared> | undefined>;
const listeners: Map<string, Shared> = (holder[KEY] ??= new Map<string, Shared>());

/** The key of a listener: its address as given (host:port). */
export function listenerKey(host: string, port: number): string {
  return `${host}:${port}`;
}

/**
 * What must be the same for a listener to change hands: everything the server is built from (address, TLS
 * material, size and limits). A listener whose configuration changed is closed and opened again.
 */
export function listenerSignature(options: MllpServerOptions): string {
  const text = JSON.stringify(options, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The listener of `options`' address for `owner`: the one held for this address when its configuration is
 * the same (adopted: listening, its connections open; `owner` hears of each through connection()), else a
 * new one listening (a held one with another configuration is closed first). Rejects with ListenerTaken when
 * another owner holds the address, or with the listen error (EADDRINUSE from another program, EACCES…).
 */
export async function claimListener(options: MllpServerOptions, owner: ListenerOwner): Promise<{ server: MllpServer; address: AddressInfo; adopted: boolean }> {
  // port 0 (any free port) is never the same listener as another's
  const key = options.port === 0 ? `${listenerKey(options.host ?? '127.0.0.1', 0)}/${owner.id}` : listenerKey(options.host ?? '127.0.0.1', options.port);
  const signature = listenerSignature(options);
  const held = listeners.get(key);
  if (held) {
    if (held.owner && held.owner !== owner) throw new ListenerTaken(key, held.owner.id);
    if (!held.closing && held.signature === signature && held.address) {
      held.take(owner);
      for (const conn of held.server.connections.values()) owner.connection(conn);
      return { server: held.server, address: held.address, adopted: true };
    }
    await held.close();
    if (listeners.get(key) === held) listeners.delete(key);
  }
  if (listeners.has(key)) throw new ListenerTaken(key, listeners.get(key)?.owner?.id ?? 'another listener');
  const server = new MllpServer(options);
  const shared = new Shared(key, signature, server);
  shared.owner = owner;
  listeners.set(key, shared);
  try {
    shared.address = await server.listen();
  } catch (err) {
    if (listeners.get(key) === shared) listeners.delete(key);
    shared.owner = null;
    await server.close();
    throw err;
  }
  return { server, address: shared.address, adopted: false };
}

/**
 * Gives back a listener: `keep` (the owner closes but is not removed: a deploy that may start it again)
 * holds it for the next owner — reading stops, connections stay open — at most `graceMs`; otherwise it is
 * closed, its connections with it. Resolves once closed (at once when kept).
 */
export function releaseListener(server: MllpServer, owner: ListenerOwner, opts: { keep: boolean; graceMs?: number }): Promise<void> {
  const shared = [...listeners.values()].find((s) => s.server === server);
  if (!shared) return server.close();
  if (shared.owner !== owner) return Promise.resolve();
  if (!opts.keep || shared.closing) return closeShared(shared);
  shared.owner = null;
  server.hold(true);
  const grace = opts.graceMs ?? DEFAULT_GRACE_MS;
  shared.timer = setTimeout(() => void closeShared(shared), grace);
  shared.timer.unref();
  return Promise.resolve();
}

function closeShared(shared: Shared): Promise<void> {
  if (listeners.get(shared.key) === shared) listeners.delete(shared.key);
  return shared.close();
}

/** Closes every listener nobody owns (the new flows have started, or the runtime stops). */
export function closeUnclaimed(): Promise<void> {
  return Promise.all([...listeners.values()].filter((s) => !s.owner).map((s) => closeShared(s))).then(() => undefined);
}

/** The listeners of this process by key, and who owns each (null: held for a new owner); for tests and diagnostics. */
export function sharedListeners(): Record<string, string | null> {
  return Object.fromEntries([...listeners].map(([k, s]) => [k, s.owner?.id ?? null]));
}
