// MLLP server: a TCP (or TLS) listener that decodes MLLP frames per connection and gives every
// connection an id, so that a reply can be written later to the connection a message came from.
// It knows nothing of HL7 and never answers by itself: acknowledging is the caller's job.
//
// One client cannot exhaust it (issue 11): connections are capped per listener and per remote address
// (further ones are closed at once), a connection is closed when it stays idle or takes too long to
// finish a frame (slowloris), the unfinished frames of all connections share one byte budget, and a
// connection whose replies are not read stops being read. Every limit hit is counted and emitted as
// `limit` (with `first` set the first time a limit is hit on a connection).
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ByteBudget, DEFAULT_MAX_MESSAGE_SIZE, JunkInfo, MllpDecoder, OversizeInfo, encodeFrame } from './framing';
import { MllpError } from './errors';

/** The limits of a listener (0 = none, for each). */
export interface MllpLimits {
  /** Connections open at once on the listener (TLS handshakes under way included); default 100. */
  maxConnections: number;
  /** Connections open at once from one remote address; default 20. */
  maxConnectionsPerAddress: number;
  /** A connection on which no byte is received or sent for this long is closed; default 10 minutes. */
  idleTimeoutMs: number;
  /** A connection that received bytes not yet making a complete frame for this long is closed; default 60 s. */
  frameTimeoutMs: number;
  /** Bytes of unfinished frames held for all the connections together (at least maxMessageSize); default 64 MiB. */
  maxBufferedBytes: number;
  /** Reading a connection stops while more reply bytes than this wait to be sent on it; default 1 MiB. */
  maxPendingWriteBytes: number;
}

export const DEFAULT_LIMITS: Readonly<MllpLimits> = Object.freeze({
  maxConnections: 100,
  maxConnectionsPerAddress: 20,
  idleTimeoutMs: 10 * 60_000,
  frameTimeoutMs: 60_000,
  maxBufferedBytes: 64 * 1024 * 1024,
  maxPendingWriteBytes: 1024 * 1024,
});

/** Which limit was hit. */
export type MllpLimit =
  /** a connection was refused: the listener has maxConnections open */
  | 'max-connections'
  /** a connection was refused: its remote address has maxConnectionsPerAddress open */
  | 'max-connections-per-address'
  /** a connection was closed: nothing received or sent for idleTimeoutMs */
  | 'idle-timeout'
  /** a connection was closed: a frame (or bytes outside frames) not completed within frameTimeoutMs */
  | 'frame-timeout'
  /** a frame was not buffered (oversize event, reason 'budget'): the listener's byte budget is used up */
  | 'buffer-budget'
  /** reading a connection was paused: its peer does not read the replies */
  | 'backpressure';

export const MLLP_LIMITS: readonly MllpLimit[] = Object.freeze([
  'max-connections',
  'max-connections-per-address',
  'idle-timeout',
  'frame-timeout',
  'buffer-budget',
  'backpressure',
] as MllpLimit[]);

export interface MllpLimitHit {
  limit: MllpLimit;
  remoteAddress: string;
  remotePort: number;
  /** The connection's id; null for a refused connection (it never became one). */
  connectionId: string | null;
  /** Whether this is the first time this limit is hit on this connection (always true for a refusal). */
  first: boolean;
}

export interface MllpServerOptions extends Partial<MllpLimits> {
  port: number;
  /** Bind address; default 127.0.0.1 (this machine only). */
  host?: string;
  /** TLS server options (key, cert, ca, requestCert…); absent / null = plain TCP. */
  tls?: tls.TlsOptions | null;
  /** Largest message delivered as `message`; longer frames give `oversize`. Default 10 MiB. */
  maxMessageSize?: number;
  /** Leading bytes of an oversize frame kept for the `oversize` event; default 64 KiB. */
  headBytes?: number;
}

/** Where a message came from (plain JSON). */
export interface MllpConnectionInfo {
  connectionId: string;
  remoteAddress: string;
  remotePort: number;
  localPort: number;
}

export class MllpConnection {
  readonly id: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  readonly openedAt = new Date();
  readonly socket: net.Socket;
  /** The limits already hit on this connection. */
  readonly limitsHit = new Set<MllpLimit>();
  /** Reading is paused because more than maxPendingWriteBytes wait to be sent (backpressure). */
  private readPaused = false;
  /** Reading is held by the server (its listener is changing hands, MllpServer.hold). */
  private readHeld = false;

  constructor(
    socket: net.Socket,
    private readonly backpressure: { maxPendingWriteBytes: number; onPause: () => void; onResume: () => void } = {
      maxPendingWriteBytes: 0,
      onPause: () => undefined,
      onResume: () => undefined,
    },
  ) {
    this.id = randomUUID();
    this.socket = socket;
    this.remoteAddress = normalizeAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.localPort = socket.localPort ?? 0;
  }

  /** Whether reading is paused until the peer reads the replies waiting for it. */
  get paused(): boolean {
    return this.readPaused;
  }

  /** Stops reading (held: true) or reads again (false) unless backpressure keeps it paused; the bytes sent meanwhile wait in the socket. */
  hold(held: boolean): void {
    this.readHeld = held;
    if (held) this.socket.pause();
    else if (!this.readPaused && !this.socket.destroyed) this.socket.resume();
  }

  get open(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  info(): MllpConnectionInfo {
    return { connectionId: this.id, remoteAddress: this.remoteAddress, remotePort: this.remotePort, localPort: this.localPort };
  }

  /** Writes one message, framed. Resolves once the bytes are handed to the OS. */
  send(message: Buffer | string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!this.open) {
        reject(new MllpError('ECONNRESET', `MLLP connection ${this.id} is closed`));
        return;
      }
      this.socket.write(encodeFrame(message), (err) => {
        if (err) reject(new MllpError((err as NodeJS.ErrnoException).code ?? 'EWRITE', `cannot write to MLLP connection ${this.id}: ${err.message}`, { cause: err }));
        else resolve();
        this.resumeWhenSent();
      });
      this.pauseWhenUnread();
    });
  }

  /** Backpressure: the peer does not read its replies; stop reading its messages until it does. */
  private pauseWhenUnread(): void {
    const max = this.backpressure.maxPendingWriteBytes;
    if (max > 0 && !this.readPaused && this.socket.writableLength > max) {
      this.readPaused = true;
      this.socket.pause();
      this.backpressure.onPause();
    }
  }

  private resumeWhenSent(): void {
    if (this.readPaused && this.socket.writableLength <= this.backpressure.maxPendingWriteBytes && !this.socket.destroyed) {
      this.readPaused = false;
      if (!this.readHeld) this.socket.resume();
      this.backpressure.onResume();
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface MllpServerEvents {
  listening: [address: net.AddressInfo];
  connection: [conn: MllpConnection];
  /** A connection ended; `error` is the socket error that ended it, if any. */
  disconnect: [conn: MllpConnection, error: Error | undefined];
  message: [message: Buffer, conn: MllpConnection];
  oversize: [info: OversizeInfo, conn: MllpConnection];
  junk: [info: JunkInfo, conn: MllpConnection];
  /** A limit was hit (see MllpLimit); counted in `limitHits`. */
  limit: [hit: MllpLimitHit];
  /** A TLS handshake failed (no connection is created), or an event listener threw. */
  clientError: [error: Error, remote: { remoteAddress: string; remotePort: number }];
  /** The server cannot listen (EADDRINUSE, EACCES…) or failed. */
  error: [error: Error];
}

export class MllpServer extends EventEmitter<MllpServerEvents> {
  readonly options: Readonly<MllpServerOptions>;
  readonly limits: Readonly<MllpLimits>;
  private server: net.Server | null = null;
  private readonly conns = new Map<string, MllpConnection>();
  private readonly budget: ByteBudget | null;
  /** sockets accepted and not yet closed (TLS handshakes under way included), in all and per address */
  private admitted = 0;
  private readonly perAddress = new Map<string, number>();
  private readonly hits = Object.fromEntries(MLLP_LIMITS.map((l) => [l, 0])) as Record<MllpLimit, number>;
  /** Reading held on every connection, those to come included (hold()). */
  private readingHeld = false;

  constructor(opts: MllpServerOptions) {
    super();
    this.options = { host: '127.0.0.1', ...opts };
    const limit = (name: keyof MllpLimits) => {
      const v = opts[name];
      return v === undefined || v === null || !Number.isFinite(Number(v)) || Number(v) < 0 ? DEFAULT_LIMITS[name] : Math.floor(Number(v));
    };
    const maxMessageSize = opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    const buffered = limit('maxBufferedBytes');
    this.limits = Object.freeze({
      maxConnections: limit('maxConnections'),
      maxConnectionsPerAddress: limit('maxConnectionsPerAddress'),
      idleTimeoutMs: limit('idleTimeoutMs'),
      frameTimeoutMs: limit('frameTimeoutMs'),
      // a message of the largest size must fit
      maxBufferedBytes: buffered > 0 ? Math.max(buffered, maxMessageSize) : 0,
      maxPendingWriteBytes: limit('maxPendingWriteBytes'),
    });
    this.budget = this.limits.maxBufferedBytes > 0 ? new ByteBudget(this.limits.maxBufferedBytes) : null;
  }

  /** How many times each limit was hit since the server was created. */
  get limitHits(): Readonly<Record<MllpLimit, number>> {
    return { ...this.hits };
  }

  /** Bytes of unfinished frames held now, for all the connections. */
  get bufferedBytes(): number {
    return this.budget?.used ?? 0;
  }

  get connections(): ReadonlyMap<string, MllpConnection> {
    return this.conns;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  /** Whether reading is held (hold()). */
  get held(): boolean {
    return this.readingHeld;
  }

  /**
   * Holds reading on every connection, and on those accepted meanwhile (true), or reads again (false): the
   * listener stays open and its connections too, what senders send waits in their sockets. For a listener
   * changing hands (lib/mllp/listeners.ts): nothing is read while nobody would receive it.
   */
  hold(held: boolean): void {
    this.readingHeld = held;
    for (const conn of this.conns.values()) conn.hold(held);
  }

  /** The bound address (port 0 picks a free port). */
  address(): net.AddressInfo | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : null;
  }

  /** Starts listening; rejects on a listen error (which is also emitted as `error` if listened to). */
  listen(): Promise<net.AddressInfo> {
    if (this.server) return Promise.reject(new Error('MllpServer: already started'));
    const opts = this.options;
    // a TLS handshake is held to the frame time-out (Node's default is 120 s)
    const tlsOpts = opts.tls && this.limits.frameTimeoutMs > 0 && opts.tls.handshakeTimeout === undefined ? { ...opts.tls, handshakeTimeout: this.limits.frameTimeoutMs } : opts.tls;
    const server = tlsOpts ? tls.createServer(tlsOpts) : net.createServer();
    this.server = server;
    // connections are counted (and refused) as TCP connections, before any TLS handshake
    server.on('connection', (sock: net.Socket) => {
      if (this.admit(sock) && !tlsOpts) this.onConnection(sock);
    });
    if (tlsOpts) server.on('secureConnection', (sock: tls.TLSSocket) => this.onConnection(sock));
    if (opts.tls) {
      server.on('tlsClientError', (err: Error, sock: tls.TLSSocket) => {
        this.emit('clientError', err, { remoteAddress: normalizeAddress(sock.remoteAddress), remotePort: sock.remotePort ?? 0 });
      });
    }
    return new Promise<net.AddressInfo>((resolve, reject) => {
      const onError = (err: Error) => {
        this.server = null;
        if (this.listenerCount('error') > 0) this.emit('error', err);
        reject(err);
      };
      server.once('error', onError);
      server.listen({ port: opts.port, host: opts.host }, () => {
        server.off('error', onError);
        server.on('error', (err) => {
          if (this.listenerCount('error') > 0) this.emit('error', err);
        });
        const addr = this.address() as net.AddressInfo;
        this.emit('listening', addr);
        resolve(addr);
      });
    });
  }

  /** Stops listening and closes every open connection. */
  close(): Promise<void> {
    const server = this.server;
    this.server = null;
    const open = [...this.conns.values()];
    const closed = open.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.socket.destroyed) return resolve();
          c.socket.once('close', () => resolve());
          c.socket.destroy();
        }),
    );
    const stopped = new Promise<void>((resolve) => {
      if (!server || !server.listening) return resolve();
      server.close(() => resolve());
    });
    return Promise.all([stopped, ...closed]).then(() => undefined);
  }

  private hit(limit: MllpLimit, where: { remoteAddress: string; remotePort: number }, conn: MllpConnection | null): void {
    this.hits[limit]++;
    let first = true;
    if (conn) {
      first = !conn.limitsHit.has(limit);
      conn.limitsHit.add(limit);
    }
    try {
      this.emit('limit', { limit, remoteAddress: where.remoteAddress, remotePort: where.remotePort, connectionId: conn?.id ?? null, first });
    } catch (err) {
      this.emit('clientError', err as Error, where);
    }
  }

  /** Counts a new TCP connection, or refuses it (closed at once) when the listener or its address has too many. */
  private admit(sock: net.Socket): boolean {
    const remoteAddress = normalizeAddress(sock.remoteAddress);
    const fromAddress = this.perAddress.get(remoteAddress) ?? 0;
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    const refused: MllpLimit | null =
      maxConnections > 0 && this.admitted >= maxConnections
        ? 'max-connections'
        : maxConnectionsPerAddress > 0 && fromAddress >= maxConnectionsPerAddress
          ? 'max-connections-per-address'
          : null;
    if (refused) {
      sock.on('error', () => undefined);
      sock.destroy();
      this.hit(refused, { remoteAddress, remotePort: sock.remotePort ?? 0 }, null);
      return false;
    }
    this.admitted++;
    this.perAddress.set(remoteAddress, fromAddress + 1);
    sock.once('close', () => {
      this.admitted--;
      const left = (this.perAddress.get(remoteAddress) ?? 1) - 1;
      if (left > 0) this.perAddress.set(remoteAddress, left);
      else this.perAddress.delete(remoteAddress);
    });
    return true;
  }

  private onConnection(sock: net.Socket): void {
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 60_000);
    const limits = this.limits;
    // While reading is paused (backpressure), the frames already read are held back rather than
    // delivered: no more replies are built for a peer that does not read them (at most one chunk waits).
    const held: (() => void)[] = [];
    const deliver = (event: () => void) => {
      if (conn.paused || held.length) held.push(event);
      else event();
    };
    const conn: MllpConnection = new MllpConnection(sock, {
      maxPendingWriteBytes: limits.maxPendingWriteBytes,
      onPause: () => {
        stopFrameTimer(); // the stall is ours, not the sender's: no frame time-out while paused
        this.hit('backpressure', conn, conn);
      },
      onResume: () => {
        while (held.length && !conn.paused) {
          try {
            (held.shift() as () => void)();
          } catch (err) {
            this.emit('clientError', err as Error, { remoteAddress: conn.remoteAddress, remotePort: conn.remotePort });
          }
        }
        watchFrame();
      },
    });
    this.conns.set(conn.id, conn);
    if (this.readingHeld) conn.hold(true);
    const decoder = new MllpDecoder({ maxMessageSize: this.options.maxMessageSize, headBytes: this.options.headBytes, budget: this.budget ?? undefined });
    decoder.on('frame', (m) => deliver(() => this.emit('message', m, conn)));
    decoder.on('dropping', (reason) => {
      if (reason === 'budget') this.hit('buffer-budget', conn, conn);
    });
    decoder.on('oversize', (info) => deliver(() => this.emit('oversize', info, conn)));
    decoder.on('junk', (info) => deliver(() => this.emit('junk', info, conn)));

    const closeFor = (limit: MllpLimit) => {
      if (sock.destroyed) return;
      this.hit(limit, conn, conn);
      sock.destroy();
    };
    // idle: nothing received or sent (Node's socket time-out counts both directions)
    if (limits.idleTimeoutMs > 0) {
      sock.setTimeout(limits.idleTimeoutMs);
      sock.on('timeout', () => closeFor('idle-timeout'));
    }
    // frame time-out: bytes received that do not make a complete frame within frameTimeoutMs (slowloris)
    let frameTimer: NodeJS.Timeout | null = null;
    let endedAtStart = 0;
    const stopFrameTimer = () => {
      if (frameTimer) clearTimeout(frameTimer);
      frameTimer = null;
    };
    const watchFrame = () => {
      if (limits.frameTimeoutMs <= 0) return;
      if (!decoder.busy || conn.paused) return stopFrameTimer();
      if (frameTimer && decoder.ended === endedAtStart) return; // the same frame is still under way
      stopFrameTimer();
      endedAtStart = decoder.ended;
      frameTimer = setTimeout(() => closeFor('frame-timeout'), limits.frameTimeoutMs);
    };

    let lastError: Error | undefined;
    sock.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        // a listener threw: keep the server alive, report it
        this.emit('clientError', err as Error, { remoteAddress: conn.remoteAddress, remotePort: conn.remotePort });
      }
      watchFrame();
    });
    sock.on('error', (err) => {
      lastError = err;
    });
    sock.on('close', () => {
      stopFrameTimer();
      try {
        decoder.end();
      } catch {
        /* listener error at the end of a connection: nothing more to do */
      }
      decoder.reset(); // gives its bytes back to the budget
      this.conns.delete(conn.id);
      this.emit('disconnect', conn, lastError);
    });
    this.emit('connection', conn);
  }
}

function normalizeAddress(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}
