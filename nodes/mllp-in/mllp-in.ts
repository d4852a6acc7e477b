// mllp-in: an MLLP (HL7 v2 over TCP/TLS) listener. Each received message leaves as one msg; the flow
// answers through mllp-response (msg.mllp.connectionId says where), or the node acknowledges on receipt
// (auto-ACK). Frames that are not HL7 or too large get an AR acknowledgement, bytes not valid in the
// character set MSH-18 declares an AE, each with a Catch-able error; limits (limits.ts) protect the layer.
import type { Node, NodeAPI, NodeDef, NodeMessage } from '../shared/red';
import { tlsOptionsFrom } from '../shared/util';
import { debugLogging } from '../shared/logging';
import { MllpConnection, MllpLimitHit, MllpServer, OversizeInfo, connections } from '../../lib/mllp';
import { AckCode, AckError, Hl7EncodingError, Hl7Header, buildAck, buildSafeAck, checkMessageBytes, decodeHl7, encodeHl7, parseHl7, readHeader } from '../../lib/hl7';
import { LimitFields, LimitReport, isEveryInterface, limitsFrom } from './limits';
import type { JournalEntry, JournalOutcome } from '../../lib/store';
import { isInsStoreNode, type InsStoreNode } from '../shared/stores';
import { headerFields, journalAlone, journalNode, journals } from '../shared/journal';
import { clearLive, registerReplay, reportLive } from '../shared/console-registry';

interface MllpInDef extends NodeDef, LimitFields {
  port?: string | number;
  host?: string;
  tls?: string;
  maxSize?: string | number;
  maxSizeUnit?: string;
  autoAck?: boolean;
  /** 'string' (default): msg.payload decoded per MSH-18; 'buffer': the bytes as received. */
  payloadType?: string;
  /** An ins-store whose journal gets the messages this node answers itself (auto-ACK, refusals); optional. */
  store?: string;
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 * 1024 };

/** msg.mllp of a message from mllp-in (plain JSON). */
interface MllpInMeta {
  connectionId: string;
  remoteAddress: string;
  remotePort: number;
  localPort: number;
  receivedAt: string;
}

class FrameRejected extends Error {
  constructor(
    readonly code: 'NOT_HL7' | 'OVERSIZE' | 'BUSY' | 'BAD_ENCODING',
    message: string,
  ) {
    super(message);
    this.name = 'MllpFrameRejected';
  }
}

/** HL7 table 0357 code (ERR-3) for a parse failure (Hl7ParseError code); default 100, segment sequence error. */
const ERR_CODES: Record<string, string> = {
  INCOMPLETE_HEADER: '101', // required field missing (MSH-9 / MSH-10 / MSH-12)
  UNSUPPORTED_CHARSET: '207',
};

/** An AR (or AE) acknowledgement (MSA-3 = ERR-8 = the error's text) for a message whose header may be unknown. */
function rejectAck(header: Hl7Header | undefined, error: AckError, code: AckCode = 'AR'): Buffer {
  return encodeHl7(buildSafeAck(header, { code, text: error.text ?? '', errors: [error] }));
}

export = function (RED: NodeAPI) {
  function MllpInNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = def as MllpInDef;
    const port = Number(config.port ?? 2575);
    const host = (config.host ?? '').trim() || '127.0.0.1';
    const unit = UNITS[config.maxSizeUnit ?? 'MiB'] ?? UNITS.MiB;
    const maxMessageSize = Math.floor(Number(config.maxSize ?? 10) * unit) || 10 * UNITS.MiB;
    const autoAck = config.autoAck === true;
    const asBuffer = config.payloadType === 'buffer';
    /** A debug line per message or connection only when the runtime logs at debug level (nodes/shared/logging). */
    const debug = debugLogging(RED);

    const limits = limitsFrom(config);
    const storeId = typeof config.store === 'string' && config.store !== '_ADD_' ? config.store.trim() : '';
    const found = storeId ? RED.nodes.getNode(storeId) : null;
    const storeNode: InsStoreNode | null = isInsStoreNode(found) ? found : null;

    /**
     * The row of a message this node answers itself (auto-ACK: 'received'; a refusal: 'rejected'): only
     * then — a message passed on unanswered is journaled by the node that answers it (adt-to-ins,
     * cda-ingest, pfi-ack), never twice. Written before the answer leaves; its id on the msg passed on.
     */
    const journalOf = async (conn: MllpConnection, buf: Buffer | null, header: Hl7Header | undefined, answer: Buffer, ack: { code: string; text: string }, outcome: JournalOutcome): Promise<number | null> => {
      const st = storeNode?.store;
      if (!st || !journals(storeNode)) return null;
      const row: JournalEntry = {
        node: journalNode(node),
        direction: 'in',
        kind: 'message',
        ...headerFields(header),
        ack,
        outcome,
        message: buf,
        answer,
        detail: { remote: `${conn.remoteAddress}:${conn.remotePort}` },
      };
      return journalAlone(st, row, (t) => node.warn(t));
    };

    let server: MllpServer | null = null;
    let listening = false;
    let exposed = false; // bound to every interface without TLS
    const report = new LimitReport();

    const updateStatus = () => {
      reportLive(node, { port, listening, connections: server?.connections.size ?? 0 });
      if (!server || !listening) return;
      const count = server.connections.size;
      let text = RED._(count === 1 ? 'mllp-in.status.listening-one' : 'mllp-in.status.listening', { port, count });
      if (exposed) text += ` · ${RED._('mllp-in.status.exposed')}`;
      if (report.last) text += ` · ${RED._('mllp-in.status.limits', { count: report.total, last: RED._(`mllp-in.limit.${report.last}`) })}`;
      node.status({ fill: exposed || report.last ? 'yellow' : 'green', shape: exposed ? 'ring' : 'dot', text });
    };
    // limit hits can come in floods (thousands of refused connections): the status follows at most every 500 ms
    let statusTimer: NodeJS.Timeout | null = null;
    const updateStatusSoon = () => {
      if (statusTimer) return;
      statusTimer = setTimeout(() => {
        statusTimer = null;
        updateStatus();
      }, 500);
    };

    const fail = (text: string, err?: Error) => {
      node.status({ fill: 'red', shape: 'ring', text });
      node.error(err ?? text);
    };

    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      fail(RED._('mllp-in.errors.bad-port', { port: String(config.port) }));
      return;
    }
    let tlsOptions: Record<string, unknown> | null;
    try {
      tlsOptions = tlsOptionsFrom(RED, config.tls);
    } catch (err) {
      fail(RED._('mllp-in.errors.tls', { error: (err as Error).message }), err as Error);
      return;
    }
    if (tlsOptions) {
      // a CA with "verify" ticked means: clients must present a certificate signed by it (mutual TLS)
      tlsOptions.requestCert = Boolean(tlsOptions.ca) && tlsOptions.rejectUnauthorized === true;
      if (!tlsOptions.requestCert) delete tlsOptions.rejectUnauthorized;
      delete tlsOptions.servername;
    }

    const meta = (conn: MllpConnection): MllpInMeta => ({ ...conn.info(), receivedAt: new Date().toISOString() });

    /** Answers AR (or AE), then raises a Catch-able error whose msg describes the connection (no patient data). */
    const reject = (conn: MllpConnection, header: Hl7Header | undefined, err: FrameRejected, error: AckError, size: number, code: AckCode = 'AR', bytes: Buffer | null = null) => {
      const msg: NodeMessage = { mllp: { ...meta(conn), size } };
      if (header) msg.hl7 = { ...header };
      const answer = rejectAck(header, error, code);
      // a refusal changes nothing: its row (the bytes when the whole message came) written beside the answer, not holding it
      void journalOf(conn, bytes, header, answer, { code, text: error.text ?? '' }, 'rejected');
      conn.send(answer).catch((e: Error) => {
        node.debug(`mllp-in: ${code} not sent on connection ${conn.id}: ${e.message}`);
      });
      node.error(err, msg);
    };

    /**
     * Bytes not valid in the character set MSH-18 declares: AE (ERR at MSH^1^18 naming the first bad byte
     * and its offset), a Catch-able error, and the message is not emitted. False when its header cannot
     * be read either (then it is not HL7: AR).
     */
    const refuseBytes = (buf: Buffer, conn: MllpConnection, err: Hl7EncodingError): boolean => {
      let header: Hl7Header;
      try {
        header = readHeader(buf);
      } catch {
        return false;
      }
      const text = RED._('mllp-in.errors.bad-encoding', {
        remote: `${conn.remoteAddress}:${conn.remotePort}`,
        size: buf.length,
        charset: err.charset,
        offset: err.offset,
        location: err.location || '?',
      });
      reject(conn, header, new FrameRejected('BAD_ENCODING', text), { code: '102', location: 'MSH^1^18', text: `message refused: ${err.message}`, severity: 'E' }, buf.length, 'AE', buf);
      return true;
    };

    const onMessage = (buf: Buffer, conn: MllpConnection) => {
      let payload: string | Buffer;
      let header: Hl7Header;
      try {
        if (asBuffer) {
          // the bytes as received (a large document is then decoded once, by the node that reads it),
          // checked against the character set MSH-18 declares without being decoded
          checkMessageBytes(buf);
          header = readHeader(buf);
          payload = buf;
        } else {
          const text = decodeHl7(buf);
          // with auto-ACK the AA says the message is readable HL7: parsed whole; otherwise the node that
          // reads it parses it (and answers), and the header is all this node needs
          header = autoAck ? parseHl7(text).header() : readHeader(text);
          payload = text;
        }
      } catch (err) {
        if (err instanceof Hl7EncodingError && refuseBytes(buf, conn, err)) return;
        let header: Hl7Header | undefined;
        try {
          header = readHeader(buf);
        } catch {
          /* not even an MSH segment */
        }
        const why = (err as Error).message;
        const code = ERR_CODES[String((err as { code?: unknown }).code)] ?? '100';
        reject(
          conn,
          header,
          new FrameRejected('NOT_HL7', RED._('mllp-in.errors.not-hl7', { error: why, size: buf.length, remote: `${conn.remoteAddress}:${conn.remotePort}` })),
          { code, text: `message rejected: ${why}`, severity: 'E' },
          buf.length,
          'AR',
          buf,
        );
        return;
      }
      if (debug) node.debug(`mllp-in: ${buf.length} bytes, control id ${header.controlId}, connection ${conn.id}`);
      if (!autoAck) {
        node.send({ payload, hl7: { ...header }, mllp: meta(conn) });
        return;
      }
      let ack: Buffer;
      try {
        ack = encodeHl7(buildAck(header, { code: 'AA' }));
      } catch (err) {
        node.error(err as Error, { mllp: meta(conn), hl7: { ...header } });
        return;
      }
      const m = meta(conn);
      // the row first (an AA says the message is kept), then the AA, then the msg with the row's id
      journalOf(conn, buf, header, ack, { code: 'AA', text: '' }, 'received').then((journalId) => {
        conn.send(ack).catch((e: Error) => node.warn(RED._('mllp-in.errors.ack-not-sent', { id: conn.id, error: e.message })));
        node.send({ payload, hl7: { ...header }, mllp: m, ...(journalId ? { journalId } : {}) });
      });
    };

    // the console's replay of a row of this node (a message it acknowledged itself): its bytes passed on
    // again to the nodes behind, which apply their own idempotence; nothing is answered
    const unregisterReplay = registerReplay(node.id, async (req) => {
      let header: Hl7Header;
      let payload: string | Buffer;
      if (asBuffer) {
        header = readHeader(req.message);
        payload = req.message;
      } else {
        payload = decodeHl7(req.message);
        header = readHeader(payload);
      }
      node.send({ payload, hl7: { ...header }, replay: { of: req.originalId, by: req.actor } });
      return { journalId: null, outcome: 'received', changed: false, ack: null, text: 'passed on again to the nodes behind (they journal what they do with it)' };
    });

    const onOversize = (info: OversizeInfo, conn: MllpConnection) => {
      let header: Hl7Header | undefined;
      try {
        header = readHeader(info.head);
      } catch {
        /* the first bytes are not an MSH segment */
      }
      const remote = `${conn.remoteAddress}:${conn.remotePort}`;
      if (info.reason === 'budget') {
        // the listener's memory for unfinished messages was in use: the sender may send it again later
        const max = server?.limits.maxBufferedBytes ?? limits.maxBufferedBytes;
        const text = RED._('mllp-in.errors.busy', { size: info.size, max, remote });
        reject(conn, header, new FrameRejected('BUSY', text), { code: '207', text: `receiver busy: the ${max} bytes for unfinished messages are in use; send the message again later`, severity: 'E' }, info.size);
        return;
      }
      const text = RED._('mllp-in.errors.oversize', { size: info.size, max: maxMessageSize, remote });
      reject(conn, header, new FrameRejected('OVERSIZE', text), { code: '207', text: `message too large: ${info.size} bytes, limit ${maxMessageSize}`, severity: 'E' }, info.size);
    };

    /** A limit was hit: counted in the status; warned about once per connection, without any content. */
    const onLimit = (hit: MllpLimitHit) => {
      const count = report.record(hit);
      if (count !== null) {
        const l = server?.limits ?? limits;
        const values: Record<string, unknown> = {
          remote: `${hit.remoteAddress}:${hit.remotePort}`,
          address: hit.remoteAddress,
          max: hit.limit === 'max-connections' ? l.maxConnections : hit.limit === 'max-connections-per-address' ? l.maxConnectionsPerAddress : l.maxBufferedBytes,
          seconds: (hit.limit === 'idle-timeout' ? l.idleTimeoutMs : l.frameTimeoutMs) / 1000,
        };
        let text = RED._(`mllp-in.warn.${hit.limit}`, values);
        if (count > 1) text += RED._('mllp-in.warn.refused-since', { count: count - 1 });
        node.warn(text);
      }
      updateStatusSoon();
    };

    server = new MllpServer({ port, host, tls: tlsOptions, maxMessageSize, ...limits });
    server.on('connection', (conn) => {
      connections.set(conn.id, conn);
      if (debug) node.debug(`mllp-in: connection ${conn.id} from ${conn.remoteAddress}:${conn.remotePort}`);
      updateStatus();
    });
    server.on('disconnect', (conn, err) => {
      connections.delete(conn.id);
      if (debug) node.debug(`mllp-in: connection ${conn.id} closed${err ? ` (${err.message})` : ''}`);
      updateStatus();
    });
    server.on('message', onMessage);
    server.on('oversize', onOversize);
    server.on('junk', (info, conn) => {
      node.warn(RED._(`mllp-in.warn.${info.reason}`, { bytes: info.bytes, remote: `${conn.remoteAddress}:${conn.remotePort}` }));
    });
    server.on('limit', onLimit);
    server.on('clientError', (err, remote) => {
      node.warn(RED._('mllp-in.warn.client-error', { error: err.message, remote: `${remote.remoteAddress}:${remote.remotePort}` }));
    });
    server.on('error', (err) => {
      listening = false;
      fail(RED._('mllp-in.errors.listen', { error: (err as NodeJS.ErrnoException).code ?? err.message }), err);
    });
    server.listen().then(
      (addr) => {
        listening = true;
        node.log(RED._('mllp-in.log.listening', { address: `${addr.address}:${addr.port}`, tls: tlsOptions ? ' (TLS)' : '' }));
        if (!tlsOptions && isEveryInterface(host)) {
          exposed = true;
          node.warn(RED._('mllp-in.warn.exposed', { address: `${host}:${addr.port}` }));
        }
        updateStatus();
      },
      () => {
        /* reported by the 'error' listener */
      },
    );
    node.status({ fill: 'grey', shape: 'ring', text: RED._('mllp-in.status.starting') });

    node.on('close', (_removed: boolean, done: () => void) => {
      unregisterReplay();
      clearLive(node.id);
      if (statusTimer) clearTimeout(statusTimer);
      statusTimer = null;
      const s = server;
      server = null;
      listening = false;
      if (!s) return done();
      for (const id of s.connections.keys()) connections.delete(id);
      s.close().then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType('mllp-in', MllpInNode);
};
