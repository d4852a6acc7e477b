// mllp-out: sends msg.payload to an MLLP receiver (HL7 original mode: one message at a time per
// connection, in order) and passes the msg on with the acknowledgement. AE / AR acknowledgements,
// time-outs and connection failures are Catch-able errors.
import type { Node, NodeAPI, NodeDef, NodeMessage } from '../shared/red';
import { clock, payloadBytes, tlsOptionsFrom } from '../shared/util';
import { MllpClient, MllpClientStatus } from '../../lib/mllp';
import { decodeHl7, parseAck, readHeader, type Hl7Header } from '../../lib/hl7';
import { controlPart, errorPart, eventPart, sentSummary, summaryLine } from '../shared/summary';

interface MllpOutDef extends NodeDef {
  host?: string;
  port?: string | number;
  tls?: string;
  /** The host and port come from msg.host / msg.port (the node's are defaults, and may be empty). */
  hostFromMsg?: boolean;
  /** seconds */
  ackTimeout?: string | number;
  retries?: string | number;
}

/** msg.ack set by mllp-out. */
interface MllpAckInfo {
  code: string;
  controlId: string;
  text: string;
}

/** A message that cannot be sent as the node is set up: no host, no port, a bad port (msg.error.code). */
class MllpTargetError extends Error {
  constructor(
    readonly code: 'NO_HOST' | 'NO_PORT' | 'BAD_PORT',
    message: string,
  ) {
    super(message);
    this.name = 'MllpTargetError';
  }
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
    const rawPort = config.port === undefined || config.port === null ? '' : String(config.port).trim();
    const defaultPort = rawPort === '' ? null : Number(rawPort);
    const fromMsg = config.hostFromMsg === true;
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

    const clients = new Map<string, MllpClient>();
    let closing = false;

    // what the node lacks to send without msg.host / msg.port, said at deploy (a red triangle in the editor)
    if (!tlsError) {
      if (!defaultHost && !fromMsg) node.status({ fill: 'red', shape: 'ring', text: RED._('mllp-out.status.no-host') });
      else if (!defaultHost) node.status({ fill: 'grey', shape: 'ring', text: RED._('mllp-out.status.from-msg') });
    }

    /** A message that cannot be sent: a red status naming what is missing, a Catch-able error. */
    const refuse = (done: (err?: Error) => void, code: MllpTargetError['code'], text: string) => {
      node.status({ fill: 'red', shape: 'ring', text: `${RED._(`mllp-out.status.${code === 'NO_HOST' ? 'no-host' : code === 'NO_PORT' ? 'no-port' : 'bad-port'}`)} · ${clock()}` });
      done(new MllpTargetError(code, text));
    };

    const showStatus = (s: MllpClientStatus) => {
      if (closing) return;
      let queued = 0;
      for (const c of clients.values()) queued += c.queued;
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
        clients.set(key, client);
      }
      return client;
    };

    node.on('input', (msg: NodeMessage, send, finish) => {
      // msg.summary: the message sent and its ACK (below), or what went wrong, for the debug pane
      let said = false;
      const done = (err?: Error) => {
        if (err && !said) msg.summary = summaryLine('MLLP', errorPart((err as Error & { code?: string }).code));
        finish(err);
      };
      if (tlsError) {
        done(tlsError);
        return;
      }
      const host = typeof msg.host === 'string' && msg.host.trim() ? msg.host.trim() : defaultHost;
      const portGiven = msg.port !== undefined && msg.port !== null && msg.port !== '';
      const port = portGiven ? Number(msg.port) : defaultPort;
      if (!host) return refuse(done, 'NO_HOST', RED._(fromMsg ? 'mllp-out.errors.no-host-msg' : 'mllp-out.errors.no-host'));
      if (port === null) return refuse(done, 'NO_PORT', RED._('mllp-out.errors.no-port'));
      if (!Number.isInteger(port) || port <= 0 || port > 65535) {
        return refuse(done, 'BAD_PORT', RED._('mllp-out.errors.bad-port', { port: portGiven ? String(msg.port) : rawPort, where: portGiven ? 'msg.port' : RED._('mllp-out.errors.the-node') }));
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
      let sentControlId = '';
      let sent: Hl7Header | null = null;
      try {
        sent = readHeader(bytes);
        sentControlId = sent.controlId;
      } catch {
        /* not HL7: sent as is, the ACK's control id is not checked */
      }

      clientFor(host, port)
        .send(bytes, { ackTimeoutMs: timeout })
        .then(
          (res) => {
            let ack: MllpAckInfo;
            try {
              const a = parseAck(res.ack);
              ack = { code: a.code, controlId: a.controlId, text: a.text };
            } catch (err) {
              msg.summary = summaryLine(eventPart(sent) ?? 'HL7', controlPart(sentControlId), errorPart('BAD_ACK'), `to ${host}:${port}`);
              said = true;
              done(new MllpAckError('BAD_ACK', RED._('mllp-out.errors.bad-ack', { address: `${host}:${port}`, error: (err as Error).message })));
              return;
            }
            msg.ack = ack;
            msg.summary = sentSummary(sent, ack, `${host}:${port}`);
            said = true;
            node.debug(`mllp-out: ${bytes.length} bytes to ${host}:${port}, ACK ${ack.code} for control id ${ack.controlId}`);
            const accepted = ack.code === 'AA' || ack.code === 'CA';
            if (!accepted) {
              done(new MllpAckError(ack.code, RED._('mllp-out.errors.nack', { address: `${host}:${port}`, code: ack.code, text: ack.text })));
              return;
            }
            if (sentControlId && ack.controlId !== sentControlId) {
              done(new MllpAckError('ACK_MISMATCH', RED._('mllp-out.errors.mismatch', { expected: sentControlId, got: ack.controlId })));
              return;
            }
            msg.payload = res.ack;
            send(msg);
            done();
          },
          (err: Error) => {
            msg.summary = summaryLine(eventPart(sent) ?? 'HL7', controlPart(sentControlId), errorPart((err as Error & { code?: string }).code), `to ${host}:${port}`);
            said = true;
            done(err);
          },
        );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
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
