// MLLP client in HL7 "original mode": one message in flight per connection, each message waits for its
// acknowledgement before the next one is written. Messages queue up in FIFO order.
//
// Failure handling, per message:
//   - the connection cannot be opened (refused, DNS, connect timeout), is lost before the ACK arrives,
//     or no ACK arrives within ackTimeoutMs (the connection is then closed, since a late ACK on it could
//     no longer be matched) → the attempt failed; after a back-off delay (exponential: backoffBaseMs,
//     doubled per consecutive failure, capped at backoffMaxMs) a new connection is opened and the SAME
//     message is sent again, up to maxRetries times;
//   - once the retries are used up, send() rejects with an MllpError (code TIMEOUT, ECONNREFUSED,
//     ECONNRESET, CONNECT_TIMEOUT…, `attempts` set) and the queue moves on to the next message;
//   - TLS certificate errors are not retried (they cannot succeed by trying again).
// A connection that drops while nothing is in flight is simply reopened by the next send().
//
// The client knows nothing of HL7: it returns the acknowledgement as received (see MllpSendResult).
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { DEFAULT_MAX_MESSAGE_SIZE, MllpDecoder, encodeFrame } from './framing';
import { MllpError, errorCode } from './errors';

export interface MllpClientOptions {
  host: string;
  port: number;
  /** TLS options (`tls.connect`); absent / null = plain TCP. `servername` defaults to the host name. */
  tls?: tls.ConnectionOptions | null;
  /** How long to wait for the acknowledgement of a message; default 30 000 ms. */
  ackTimeoutMs?: number;
  /** How many times a message is sent again after a failed attempt; default 3 (4 attempts in all). */
  maxRetries?: number;
  /** First back-off delay after a failure; default 500 ms. */
  backoffBaseMs?: number;
  /** Longest back-off delay; default 30 000 ms. */
  backoffMaxMs?: number;
  /** How long to wait for a TCP (and TLS) connection; default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Largest acknowledgement accepted; default 10 MiB. */
  maxAckSize?: number;
  /** Turns the acknowledgement bytes into text (e.g. the HL7 codec's charset-aware decoder); default UTF-8. */
  decode?: (ack: Buffer) => string;
}

export interface MllpSendOptions {
  /** Overrides the client's ackTimeoutMs for this message. */
  ackTimeoutMs?: number;
}

export interface MllpSendResult {
  /** The acknowledgement, decoded with `decode`. */
  ack: string;
  /** The acknowledgement as received (frame content). */
  ackBuffer: Buffer;
  /** How many times the message was written (1 = first try). */
  attempts: number;
  /** Milliseconds from send() to the acknowledgement (queueing included). */
  elapsedMs: number;
}

export type MllpClientState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

export interface MllpClientStatus {
  state: MllpClientState;
  /** Messages waiting or in flight. */
  queued: number;
  /** The last failure (attempt or connection), cleared by the next acknowledgement. */
  lastError?: MllpError;
}

export interface MllpClientEvents {
  status: [status: MllpClientStatus];
}

interface Job {
  frame: Buffer;
  ackTimeoutMs: number;
  attempts: number;
  startedAt: number;
  /** the socket the message was written to, while waiting for its ACK */
  socket: net.Socket | null;
  resolve(r: MllpSendResult): void;
  reject(e: Error): void;
}

const NOT_RETRYABLE = /CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL|BAD_ACK|EPROTO/;

export class MllpClient extends EventEmitter<MllpClientEvents> {
  readonly host: string;
  readonly port: number;
  readonly ackTimeoutMs: number;
  readonly maxRetries: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly connectTimeoutMs: number;
  private readonly tlsOptions: tls.ConnectionOptions | null;
  private readonly maxAckSize: number;
  private readonly decode: (ack: Buffer) => string;

  private readonly queue: Job[] = [];
  private current: Job | null = null;
  private socket: net.Socket | null = null;
  private connectingSocket: net.Socket | null = null;
  /** consecutive failed attempts (drives the back-off), reset by an acknowledgement */
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private state: MllpClientState = 'idle';
  private lastError: MllpError | undefined;

  constructor(opts: MllpClientOptions) {
    super();
    if (!opts.host) throw new TypeError('MllpClient: host is required');
    if (!Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535) throw new RangeError('MllpClient: invalid port');
    this.host = opts.host;
    this.port = opts.port;
    this.tlsOptions = opts.tls ?? null;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 30_000;
    this.maxRetries = Math.max(0, opts.maxRetries ?? 3);
    this.backoffBaseMs = Math.max(0, opts.backoffBaseMs ?? 500);
    this.backoffMaxMs = Math.max(this.backoffBaseMs, opts.backoffMaxMs ?? 30_000);
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.maxAckSize = opts.maxAckSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.decode = opts.decode ?? ((b) => b.toString('utf8'));
  }

  /** "host:port", as used in error messages. */
  get address(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** Messages waiting or in flight. */
  get queued(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  get status(): MllpClientStatus {
    return { state: this.state, queued: this.queued, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues a message (a string is sent as UTF-8: encode it first for another charset). */
  send(message: string | Buffer, opts: MllpSendOptions = {}): Promise<MllpSendResult> {
    if (this.closed) return Promise.reject(new MllpError('CLOSED', `MLLP client for ${this.address} is closed`));
    const body = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
    const ackTimeoutMs = opts.ackTimeoutMs ?? this.ackTimeoutMs;
    return new Promise<MllpSendResult>((resolve, reject) => {
      this.queue.push({ frame: encodeFrame(body), ackTimeoutMs, attempts: 0, startedAt: performance.now(), socket: null, resolve, reject });
      // (while a back-off delay runs, the queue waits for it)
      if (this.current || this.timer) this.emitStatus();
      else this.next();
    });
  }

  /** Rejects every queued message (code CLOSED) and closes the connection. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.clearTimer();
    const err = () => new MllpError('CLOSED', `MLLP client for ${this.address} was closed before the message was acknowledged`);
    const jobs = [...(this.current ? [this.current] : []), ...this.queue.splice(0)];
    this.current = null;
    for (const job of jobs) job.reject(err());
    const sockets = [this.socket, this.connectingSocket].filter((s): s is net.Socket => s !== null);
    this.socket = null;
    this.connectingSocket = null;
    this.setState('closed');
    return Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.destroyed) return resolve();
            s.once('close', () => resolve());
            s.destroy();
          }),
      ),
    ).then(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------

  private next(): void {
    if (this.closed || this.current) return;
    const job = this.queue.shift();
    if (!job) {
      this.setState(this.socket ? 'connected' : 'idle');
      return;
    }
    this.current = job;
    this.attempt(job);
  }

  private attempt(job: Job): void {
    if (this.closed || this.current !== job) return;
    job.attempts++;
    if (this.socket && !this.socket.destroyed) {
      this.write(job, this.socket);
      return;
    }
    this.setState('connecting');
    this.connect().then(
      (sock) => {
        if (this.closed || this.current !== job) return;
        this.write(job, sock);
      },
      (err: MllpError) => {
        if (this.current === job) this.failAttempt(job, err);
      },
    );
  }

  private write(job: Job, sock: net.Socket): void {
    job.socket = sock;
    this.setState('connected');
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.current !== job) return;
      const err = new MllpError('TIMEOUT', `no acknowledgement from ${this.address} within ${job.ackTimeoutMs} ms`);
      // a late ACK on this connection could be mistaken for the next message's: drop the connection
      this.dropSocket(sock);
      this.failAttempt(job, err);
    }, job.ackTimeoutMs);
    sock.write(job.frame);
  }

  private onAck(sock: net.Socket, ack: Buffer): void {
    const job = this.current;
    if (!job || job.socket !== sock) return; // unsolicited frame, or a late one: ignored
    this.clearTimer();
    job.socket = null;
    this.current = null;
    this.failures = 0;
    this.lastError = undefined;
    let text: string;
    try {
      text = this.decode(ack);
    } catch (err) {
      job.reject(new MllpError('BAD_ACK', `cannot decode the acknowledgement from ${this.address}: ${(err as Error).message}`, { cause: err, attempts: job.attempts }));
      this.next();
      return;
    }
    job.resolve({ ack: text, ackBuffer: ack, attempts: job.attempts, elapsedMs: performance.now() - job.startedAt });
    this.next();
  }

  private failAttempt(job: Job, err: MllpError): void {
    this.clearTimer();
    job.socket = null;
    this.failures++;
    this.lastError = err;
    const retryable = !NOT_RETRYABLE.test(err.code);
    if (!retryable || job.attempts > this.maxRetries) {
      this.current = null;
      err.attempts = job.attempts;
      err.message += ` (${job.attempts} attempt${job.attempts > 1 ? 's' : ''})`;
      job.reject(err);
      // the next message starts after the back-off too, so that a dead peer is not hammered
      if (this.queue.length) this.backoff(() => this.next());
      else this.setState(this.socket ? 'connected' : 'idle');
      return;
    }
    this.backoff(() => this.attempt(job));
  }

  private backoff(fn: () => void): void {
    if (this.closed) return;
    const delay = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** Math.max(0, this.failures - 1));
    this.setState('backoff');
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      fn();
    }, delay);
  }

  private connect(): Promise<net.Socket> {
    return new Promise<net.Socket>((resolve, reject) => {
      const isTls = this.tlsOptions !== null;
      let sock: net.Socket;
      if (isTls) {
        const opts: tls.ConnectionOptions = { host: this.host, port: this.port, ...this.tlsOptions };
        if (opts.servername === undefined && net.isIP(this.host) === 0) opts.servername = this.host;
        sock = tls.connect(opts);
      } else {
        sock = net.connect({ host: this.host, port: this.port });
      }
      this.connectingSocket = sock;
      let settled = false;
      const fail = (err: MllpError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.connectingSocket === sock) this.connectingSocket = null;
        sock.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new MllpError('CONNECT_TIMEOUT', `cannot connect to ${this.address} within ${this.connectTimeoutMs} ms`)),
        this.connectTimeoutMs,
      );
      sock.on('error', (e) => fail(connectError(e, this.address)));
      sock.on('close', () => fail(new MllpError('ECONNRESET', `connection to ${this.address} closed while connecting`)));
      sock.once(isTls ? 'secureConnect' : 'connect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.connectingSocket = null;
        sock.removeAllListeners('error');
        sock.removeAllListeners('close');
        if (this.closed) {
          sock.destroy();
          reject(new MllpError('CLOSED', `MLLP client for ${this.address} is closed`));
          return;
        }
        this.attach(sock);
        resolve(sock);
      });
    });
  }

  private attach(sock: net.Socket): void {
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 30_000);
    this.socket = sock;
    const decoder = new MllpDecoder({ maxMessageSize: this.maxAckSize, headBytes: 1 });
    decoder.on('frame', (ack) => this.onAck(sock, ack));
    decoder.on('oversize', ({ size }) => {
      const job = this.current;
      if (!job || job.socket !== sock) return;
      this.dropSocket(sock);
      this.failAttempt(job, new MllpError('BAD_ACK', `acknowledgement from ${this.address} is too large (${size} bytes)`));
    });
    let lastError: Error | undefined;
    sock.on('data', (chunk: Buffer) => decoder.push(chunk));
    sock.on('error', (e) => {
      lastError = e;
    });
    sock.on('close', () => {
      if (this.socket === sock) this.socket = null;
      const job = this.current;
      if (job && job.socket === sock) {
        const code = errorCode(lastError) ?? 'ECONNRESET';
        const why = lastError ? lastError.message : 'connection closed by the peer';
        this.failAttempt(job, new MllpError(code, `connection to ${this.address} lost before the acknowledgement: ${why}`, { cause: lastError }));
      } else if (!this.closed && !this.current && !this.timer) {
        this.setState('idle');
      }
    });
  }

  private dropSocket(sock: net.Socket): void {
    if (this.socket === sock) this.socket = null;
    sock.destroy();
  }

  private clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private setState(state: MllpClientState): void {
    if (this.closed && state !== 'closed') return;
    this.state = state;
    this.emitStatus();
  }

  private emitStatus(): void {
    this.emit('status', this.status);
  }
}

function connectError(e: Error, address: string): MllpError {
  const code = errorCode(e) ?? 'ECONNECT';
  const what =
    code === 'ECONNREFUSED'
      ? `connection to ${address} refused`
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? `cannot resolve the host of ${address}`
        : `cannot connect to ${address}: ${e.message}`;
  return new MllpError(code, what, { cause: e });
}
