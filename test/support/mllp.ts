// Test helpers for the MLLP transport: sample HL7 messages, a raw MLLP socket client, free ports,
// a throw-away self-signed certificate.
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { MllpDecoder, encodeFrame } from '../../lib/mllp/framing';

/** A port that was free a moment ago (bind 0, read, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A small, fictitious ADT^A01 (no real patient). */
export function sampleMessage(controlId: string, opts: { charset?: string; extra?: string } = {}): string {
  const charset = opts.charset ?? 'UNICODE UTF-8';
  return (
    [
      `MSH|^~\\&|SENDER|FAC_A|RECEIVER|FAC_B|20240102030405||ADT^A01^ADT_A01|${controlId}|P|2.5|||||FRA|${charset}`,
      'EVN|A01|20240102030405',
      'PID|1||123456^^^HOSP^PI||TEST^PATIENT^^^^^L||19800101|F',
      'PV1|1|I',
      ...(opts.extra ? [opts.extra] : []),
    ].join('\r') + '\r'
  );
}

/** A hand-made acknowledgement for a control id. */
export function simpleAck(controlId: string, code = 'AA', text = ''): string {
  return `MSH|^~\\&|RECEIVER|FAC_B|SENDER|FAC_A|20240102030405||ACK^A01^ACK|ACK${controlId}|P|2.5\rMSA|${code}|${controlId}${text ? `|${text}` : ''}\r`;
}

/** MSH-10 of a message, the quick way. */
export function controlIdOf(message: string): string {
  const msh = message.slice(0, message.indexOf('\r') >>> 0);
  return msh.split('|')[9] ?? '';
}

/** MSA-1 / MSA-2 of an acknowledgement, the quick way. */
export function msaOf(ack: string): { code: string; controlId: string } {
  const msa = ack.split(/\r|\n/).find((s) => s.startsWith('MSA|')) ?? '';
  const f = msa.split('|');
  return { code: f[1] ?? '', controlId: f[2] ?? '' };
}

/** A plain MLLP socket for tests: write raw bytes or framed messages, await received frames. */
export class RawMllpSocket {
  readonly frames: Buffer[] = [];
  private waiters: { resolve: (b: Buffer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private closedErr: Error | null = null;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    const decoder = new MllpDecoder({ maxMessageSize: 64 * 1024 * 1024 });
    decoder.on('frame', (f) => {
      const w = this.waiters.shift();
      if (w) {
        clearTimeout(w.timer);
        w.resolve(f);
      } else this.frames.push(f);
    });
    socket.on('data', (c: Buffer) => decoder.push(c));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.closedErr = new Error('socket closed');
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(this.closedErr);
        }
        resolve();
      });
    });
  }

  static connect(port: number, opts: { host?: string; tls?: tls.ConnectionOptions } = {}): Promise<RawMllpSocket> {
    const host = opts.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      const sock = opts.tls ? tls.connect({ host, port, ...opts.tls }) : net.connect({ host, port });
      sock.once('error', reject);
      sock.once(opts.tls ? 'secureConnect' : 'connect', () => {
        sock.off('error', reject);
        sock.setNoDelay(true);
        resolve(new RawMllpSocket(sock));
      });
    });
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  send(message: Buffer | string): void {
    this.socket.write(encodeFrame(message));
  }

  next(timeoutMs = 5000): Promise<Buffer> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.closedErr) return Promise.reject(this.closedErr);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no MLLP frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({ resolve, reject, timer });
    });
  }

  /** Sends a message and returns the next frame received, as UTF-8 text. */
  async request(message: Buffer | string, timeoutMs = 5000): Promise<string> {
    this.send(message);
    return (await this.next(timeoutMs)).toString('utf8');
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}

export interface TestCert {
  dir: string;
  keyFile: string;
  certFile: string;
  key: string;
  cert: string;
}

/** A self-signed certificate for localhost / 127.0.0.1, made with the openssl CLI; null if openssl is missing. */
export function makeSelfSignedCert(): TestCert | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-dpi-cert-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return { dir, keyFile, certFile, key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8') };
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
