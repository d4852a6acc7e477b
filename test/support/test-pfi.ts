// A PFI for the end-to-end tests: an MLLP listener that keeps each message the layer sends it (the MDM /
// ORU carrying a document), answers it (ACK AA, lib/hl7 buildAck), and sends business acknowledgements
// (ZAM^Z01 / Z02 / Z03, lib/cda buildZam) to the layer's listener as the PFI does, over MLLP.
import net from 'node:net';
import { buildZam, unwrapHl7Document, type ZamInput } from '../../lib/cda';
import { buildAck, parseAck, readHeader, type ParsedAck } from '../../lib/hl7';
import { MllpClient, MllpDecoder, encodeFrame } from '../../lib/mllp';

export interface PfiMessage {
  /** MSH-10 */
  controlId: string;
  /** MSH-9.1^MSH-9.2, e.g. MDM^T02 */
  event: string;
  bytes: Buffer;
  /** The CDA document the message carries (OBX-5, decoded). */
  cda: Buffer;
}

export class TestPfi {
  readonly received: PfiMessage[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server) {}

  /** Listens on 127.0.0.1:`port`. */
  static start(port: number): Promise<TestPfi> {
    const server = net.createServer();
    const pfi = new TestPfi(server);
    server.on('connection', (sock) => pfi.serve(sock));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(pfi));
    });
  }

  private serve(sock: net.Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    const decoder = new MllpDecoder({ maxMessageSize: 64 * 1024 * 1024 });
    decoder.on('frame', (bytes: Buffer) => {
      const header = readHeader(bytes);
      const cda = unwrapHl7Document(bytes).cda;
      this.received.push({ controlId: header.controlId, event: `${header.type}^${header.event}`, bytes, cda: Buffer.isBuffer(cda) ? cda : Buffer.from(cda, 'utf8') });
      sock.write(encodeFrame(buildAck(header, { code: 'AA' })));
    });
    sock.on('data', (chunk: Buffer) => decoder.push(chunk));
  }

  /** The first message received (or to come) that matches. */
  async waitFor(match: (m: PfiMessage) => boolean, timeoutMs = 20_000): Promise<PfiMessage> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(match);
      if (found) return found;
      if (Date.now() > until) throw new Error(`the PFI received no matching message within ${timeoutMs} ms (received: ${this.received.map((m) => `${m.event} ${m.controlId}`).join(', ') || 'none'})`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Sends a business acknowledgement to the layer (127.0.0.1:`port`); resolves with the layer's ACK. */
  async sendZam(port: number, input: Omit<ZamInput, 'hl7'>): Promise<ParsedAck> {
    const zam = buildZam({ hl7: { sendingApplication: 'PFI', sendingFacility: 'CHU-X', receivingApplication: 'DPI', receivingFacility: 'CHU-X', processingId: 'T' }, ...input });
    const client = new MllpClient({ host: '127.0.0.1', port, ackTimeoutMs: 10_000, maxRetries: 2, backoffBaseMs: 100 });
    try {
      return parseAck((await client.send(Buffer.from(zam, 'utf8'))).ack);
    } finally {
      await client.close();
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
