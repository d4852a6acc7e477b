// mllp-out: sends msg.payload to an MLLP receiver (HL7 original mode: one message at a time per
// connection, in order) and passes the msg on with the acknowledgement. AE / AR acknowledgements,
// time-outs and connection failures are Catch-able errors. With an ins-store, each send is one journal
// row (the message, the answer, the outcome), linked to the row of the node that produced it, and the
// console can send a journaled message again; the queue, state and last error are reported live.
import type { Node, NodeAPI, NodeDef, NodeMessage } from '../shared/red';
import { clock, payloadBytes, tlsOptionsFrom } from '../shared/util';
import { MllpClient, MllpClientStatus } from '../../lib/mllp';
import { decodeHl7, parseAck, readHeader, type Hl7Header } from '../../lib/hl7';
import type { JournalEntry, JournalOutcome } from '../../lib/store';
import { isInsStoreNode, type InsStoreNode } from '../shared/stores';
import { headerFields, journalAlone, journalIdOf, journalNode, journals } from '../shared/journal';
import { clearLive, registerReplay, reportLive, type ReplayResult } from '../shared/console-registry';

interface MllpOutDef extends NodeDef {
  host?: string;
  port?: string | number;
  tls?: string;
  /** seconds */
  ackTimeout?: string | number;
  retries?: string | number;
  /** An ins-store whose journal gets a row per send (optional). */
  store?: string;
}

/** msg.ack set by mllp-out. */
interface MllpAckInfo {
  code: string;
  controlId: string;
  text: string;
}

class MllpAckError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MllpAckError';
  }
}

function safeDecode(buf: Buffer): string {
  try {
    return decodeHl7(buf);
  } catch {
    return buf.toString('utf8');
  }
}

export = function (RED: NodeAPI) {
  function MllpOutNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = def as MllpOutDef;
    const defaultHost = (config.host ?? '').trim();
    const defaultPort = Number(config.port);
    const ackTimeoutMs = Math.max(1, Number(config.ackTimeout ?? 30) || 30) * 1000;
    const retries = config.retries === undefined || config.retries === '' ? 3 : Math.max(0, Math.floor(Number(config.retries)) || 0);

    let tlsOptions: Record<string, unknown> | null = null;
    let tlsError: Error | null = null;
    try {
      tlsOptions = tlsOptionsFrom(RED, config.tls);
    } catch (err) {
      tlsError = err as Error;
      node.status({ fill: 'red', shape: 'ring', text: RED._('mllp-out.status.tls-error') });
      node.error(err as Error);
    }

    const storeId = typeof config.store === 'string' && config.store !== '_ADD_' ? config.store.trim() : '';
    const found = storeId ? RED.nodes.getNode(storeId) : null;
    const storeNode: InsStoreNode | null = isInsStoreNode(found) ? found : null;

    const clients = new Map<string, MllpClient>();
    let closing = false;
    let lastError: { code: string; message: string; at: string } | null = null;

    /** What the dashboard shows of this node now: the queue, the connections' state, the last error. */
    const report = (s: MllpClientStatus) => {
      if (s.lastError) lastError = { code: s.lastError.code ?? 'ERROR', message: s.lastError.message, at: new Date().toISOString() };
      let queued = 0;
      let connected = 0;
      for (const c of clients.values()) {
        queued += c.queued;
        if (c.status.state === 'connected') connected++;
      }
      reportLive(node, { queue: queued, state: s.state, connections: connected, lastError });
      return queued;
    };

    reportLive(node, { queue: 0, state: 'idle', connections: 0, lastError: null });

    const showStatus = (s: MllpClientStatus) => {
      if (closing) return;
      const queued = report(s);
      const q = queued > 0 ? ` · ${RED._('mllp-out.status.queue', { count: queued })}` : '';
      switch (s.state) {
        case 'connecting':
          node.status({ fill: 'yellow', shape: 'ring', text: RED._('mllp-out.status.connecting') + q });
          break;
        case 'connected':
          node.status({ fill: 'green', shape: 'dot', text: RED._('mllp-out.status.connected') + q });
          break;
        case 'backoff':
          node.status({ fill: 'red', shape: 'ring', text: `${s.lastError?.code ?? RED._('mllp-out.status.retrying')}${q}` });
          break;
        case 'idle':
          if (s.lastError) node.status({ fill: 'red', shape: 'ring', text: `${s.lastError.code} · ${clock()}` });
          else node.status({ fill: 'grey', shape: 'ring', text: RED._('mllp-out.status.idle') });
          break;
        default:
          break;
      }
    };

    const clientFor = (host: string, port: number): MllpClient => {
      const key = `${host}:${port}`;
      let client = clients.get(key);
      if (!client) {
        client = new MllpClient({ host, port, tls: tlsOptions, ackTimeoutMs, maxRetries: retries, decode: safeDecode });
        client.on('status', showStatus);
        report(client.status);
        clients.set(key, client);
      }
      return client;
    };

    /** The row of one send: the message, the answer received, the outcome; null when rows are not written here. */
    const rowOf = (bytes: Buffer, header: Hl7Header | null, address: string, answer: Buffer | null, ack: MllpAckInfo | null, outcome: JournalOutcome, error: string | null): JournalEntry => ({
      node: journalNode(node),
      direction: 'out',
      kind: 'message',
      ...headerFields(header),
      receiver: address,
      ack: ack ? { code: ack.code, text: ack.text } : null,
      outcome,
      message: bytes,
      answer,
      detail: { address, ...(error ? { error } : {}) },
    });

    interface Sent {
      ack: MllpAckInfo | null;
      /** The answer as decoded text, for msg.payload. */
      text: string | null;
      error: Error | null;
      journalId: number | null;
    }

    /**
     * Sends one message and waits for its answer, then writes the row of the exchange (awaited: the msg
     * passed on carries its id, so pfi-ack writes no second row for the ACK).
     */
    const exchange = async (bytes: Buffer, host: string, port: number, timeout: number, via: Pick<JournalEntry, 'parentId' | 'replayOf' | 'actor'>): Promise<Sent> => {
      let header: Hl7Header | null = null;
      try {
        header = readHeader(bytes);
      } catch {
        /* not HL7: sent as is, the ACK's control id is not checked */
      }
      const sentControlId = header?.controlId ?? '';
      const address = `${host}:${port}`;
      const out: Sent = { ack: null, text: null, error: null, journalId: null };
      let answer: Buffer | null = null;
      let outcome: JournalOutcome = 'failed';
      try {
        const res = await clientFor(host, port).send(bytes, { ackTimeoutMs: timeout });
        answer = res.ackBuffer;
        try {
          const a = parseAck(res.ack);
          out.ack = { code: a.code, controlId: a.controlId, text: a.text };
        } catch (err) {
          throw new MllpAckError('BAD_ACK', RED._('mllp-out.errors.bad-ack', { address, error: (err as Error).message }));
        }
        out.text = res.ack;
        node.debug(`mllp-out: ${bytes.length} bytes to ${address}, ACK ${out.ack.code} for control id ${out.ack.controlId}`);
        const accepted = out.ack.code === 'AA' || out.ack.code === 'CA';
        outcome = accepted ? 'acknowledged' : 'not-acknowledged';
        if (!accepted) out.error = new MllpAckError(out.ack.code, RED._('mllp-out.errors.nack', { address, code: out.ack.code, text: out.ack.text }));
        else if (sentControlId && out.ack.controlId !== sentControlId) {
          outcome = 'not-acknowledged';
          out.error = new MllpAckError('ACK_MISMATCH', RED._('mllp-out.errors.mismatch', { expected: sentControlId, got: out.ack.controlId }));
        }
      } catch (err) {
        out.error = err as Error;
      }
      const st = storeNode?.store;
      if (st && journals(storeNode)) {
        const row = { ...rowOf(bytes, header, address, answer, out.ack, outcome, out.error ? (out.error as { code?: string }).code ?? out.error.message : null), ...via };
        out.journalId = await journalAlone(st, row, (t) => node.warn(t));
      }
      return out;
    };

    node.on('input', (msg: NodeMessage, send, done) => {
      if (tlsError) {
        done(tlsError);
        return;
      }
      const host = typeof msg.host === 'string' && msg.host.trim() ? msg.host.trim() : defaultHost;
      const port = msg.port !== undefined && msg.port !== null && msg.port !== '' ? Number(msg.port) : defaultPort;
      if (!host) {
        done(new Error(RED._('mllp-out.errors.no-host')));
        return;
      }
      if (!Number.isInteger(port) || port <= 0 || port > 65535) {
        done(new Error(RED._('mllp-out.errors.bad-port', { port: String(msg.port ?? config.port) })));
        return;
      }
      const bytes = payloadBytes(msg.payload);
      if (!bytes) {
        done(new Error(RED._('mllp-out.errors.bad-payload', { type: typeof msg.payload })));
        return;
      }
      let timeout = ackTimeoutMs;
      if (msg.ackTimeout !== undefined) {
        const t = Number(msg.ackTimeout);
        if (!(t > 0)) {
          done(new Error(RED._('mllp-out.errors.bad-timeout', { value: String(msg.ackTimeout) })));
          return;
        }
        timeout = t;
      }

      exchange(bytes, host, port, timeout, { parentId: journalIdOf(msg) }).then(
        (r) => {
          if (r.journalId) msg.journalId = r.journalId;
          else delete msg.journalId;
          if (r.ack) msg.ack = r.ack;
          if (r.error) {
            done(r.error);
            return;
          }
          msg.payload = r.text;
          send(msg);
          done();
        },
        (err: Error) => done(err),
      );
    });

    // the console's replay: the journaled bytes sent again to the address they went to, a row linked to
    // the original naming who asked; nothing is passed on (the console shows the answer)
    const unregisterReplay = registerReplay(node.id, async (req): Promise<ReplayResult> => {
      if (tlsError) throw tlsError;
      const address = String(req.entry.detail.address ?? req.entry.receiver ?? '');
      const at = address.lastIndexOf(':');
      const host = at > 0 ? address.slice(0, at) : defaultHost;
      const port = at > 0 ? Number(address.slice(at + 1)) : defaultPort;
      if (!host || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(RED._('mllp-out.errors.no-host'));
      const r = await exchange(req.message, host, port, ackTimeoutMs, { replayOf: req.originalId, actor: req.actor });
      const outcome: JournalOutcome = r.error && !r.ack ? 'failed' : r.error ? 'not-acknowledged' : 'acknowledged';
      return {
        journalId: r.journalId,
        outcome,
        changed: false,
        ack: r.ack ? { code: r.ack.code, text: r.ack.text } : null,
        text: r.error ? `sent again to ${host}:${port}: ${r.error.message}` : `sent again to ${host}:${port}: ${r.ack?.code ?? ''} (what the receiver did with it is its own)`,
      };
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      unregisterReplay();
      clearLive(node.id);
      const all = [...clients.values()];
      clients.clear();
      Promise.all(all.map((c) => c.close())).then(
        () => done(),
        () => done(),
      );
      node.status({});
    });
  }

  RED.nodes.registerType('mllp-out', MllpOutNode);
};
