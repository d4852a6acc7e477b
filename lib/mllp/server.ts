// MLLP server: a TCP (or TLS) listener that decodes MLLP frames per connection and gives every
// connection an id, so that a reply can be written later to the connection a message came from.
// It knows nothing of HL7 and never answers by itself: acknowledging is the caller's job.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { JunkInfo, MllpDecoder, OversizeInfo, encodeFrame } from './framing';
import { MllpError } from './errors';

export interface MllpServerOptions {
  port: number;
  /** Bind address; default 0.0.0.0 (all IPv4 interfaces). */
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

  constructor(socket: net.Socket) {
    this.id = randomUUID();
    this.socket = socket;
    this.remoteAddress = normalizeAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.localPort = socket.localPort ?? 0;
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
      });
    });
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
  /** A TLS handshake failed (no connection is created), or an event listener threw. */
  clientError: [error: Error, remote: { remoteAddress: string; remotePort: number }];
  /** The server cannot listen (EADDRINUSE, EACCES…) or failed. */
  error: [error: Error];
}

export class MllpServer extends EventEmitter<MllpServerEvents> {
  readonly options: Readonly<MllpServerOptions>;
  private server: net.Server | null = null;
  private readonly conns = new Map<string, MllpConnection>();

  constructor(opts: MllpServerOptions) {
    super();
    this.options = { host: '0.0.0.0', ...opts };
  }

  get connections(): ReadonlyMap<string, MllpConnection> {
    return this.conns;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
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
    const server = opts.tls ? tls.createServer(opts.tls) : net.createServer();
    this.server = server;
    server.on(opts.tls ? 'secureConnection' : 'connection', (sock: net.Socket) => this.onConnection(sock));
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

  private onConnection(sock: net.Socket): void {
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 60_000);
    const conn = new MllpConnection(sock);
    this.conns.set(conn.id, conn);
    const decoder = new MllpDecoder({ maxMessageSize: this.options.maxMessageSize, headBytes: this.options.headBytes });
    decoder.on('frame', (m) => this.emit('message', m, conn));
    decoder.on('oversize', (info) => this.emit('oversize', info, conn));
    decoder.on('junk', (info) => this.emit('junk', info, conn));
    let lastError: Error | undefined;
    sock.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        // a listener threw: keep the server alive, report it
        this.emit('clientError', err as Error, { remoteAddress: conn.remoteAddress, remotePort: conn.remotePort });
      }
    });
    sock.on('error', (err) => {
      lastError = err;
    });
    sock.on('close', () => {
      try {
        decoder.end();
      } catch {
        /* listener error at the end of a connection: nothing more to do */
      }
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
