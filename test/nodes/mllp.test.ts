import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import mllpIn = require('../../nodes/mllp-in/mllp-in');
import mllpResponse = require('../../nodes/mllp-response/mllp-response');
import mllpOut = require('../../nodes/mllp-out/mllp-out');
import { MllpClient } from '../../lib/mllp/client';
import { MllpServer } from '../../lib/mllp/server';
import { connections } from '../../lib/mllp/registry';
import { sharedListeners } from '../../lib/mllp/listeners';
import { RawMllpSocket, controlIdOf, delay, freePort, makeSelfSignedCert, msaOf, sampleMessage, simpleAck } from '../support/mllp';
import { statusesOf, until, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
const tlsNode = require('@node-red/nodes/core/network/05-tls.js');

helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
interface TestNode {
  on(event: 'input', cb: (msg: Msg) => void): void;
  on(event: string, cb: (arg: any) => void): void;
  receive(msg: Msg): void;
}
const getNode = (id: string): TestNode => helper.getNode(id);

/** Resolves with the next `count` messages a helper node receives. */
function nextMessages(id: string, count = 1, timeoutMs = 5000): Promise<Msg[]> {
  const node = getNode(id);
  return new Promise((resolve, reject) => {
    const got: Msg[] = [];
    const timer = setTimeout(() => reject(new Error(`${id}: ${got.length}/${count} message(s) within ${timeoutMs} ms`)), timeoutMs);
    node.on('input', (msg) => {
      got.push(msg);
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

/** Connects once the node's server listens (it starts asynchronously). */
async function connect(port: number, opts: Parameters<typeof RawMllpSocket.connect>[1] = {}): Promise<RawMllpSocket> {
  const until = Date.now() + 3000;
  for (;;) {
    try {
      return await RawMllpSocket.connect(port, opts);
    } catch (err) {
      if (Date.now() > until) throw err;
      await delay(20);
    }
  }
}

async function waitListening(port: number): Promise<void> {
  (await connect(port)).close();
}

const NODES = [mllpIn, mllpResponse, mllpOut];
/** The same nodes with their en-US texts (errors and statuses read as a person would). */
const NODES_EN = withMessages(['mllp-in', 'mllp-response', 'mllp-out'], [mllpIn, mllpResponse, mllpOut]);

describe('MLLP nodes', function () {
  this.timeout(15_000);
  const sockets: RawMllpSocket[] = [];
  const servers: MllpServer[] = [];

  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    sockets.splice(0).forEach((s) => s.socket.destroy());
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  async function open(port: number, opts: Parameters<typeof RawMllpSocket.connect>[1] = {}) {
    const s = await connect(port, opts);
    sockets.push(s);
    return s;
  }

  describe('mllp-in', () => {
    it('emits the message with msg.hl7 and msg.mllp', async () => {
      const port = await freePort();
      await helper.load(NODES, [
        { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', wires: [['h']] },
        { id: 'h', type: 'helper' },
      ]);
      const got = nextMessages('h');
      const sock = await open(port);
      const message = sampleMessage('IN00001', { extra: 'NTE|1||Zoë Müller' });
      sock.send(Buffer.from(message, 'utf8'));
      const [msg] = await got;
      assert.equal(msg.payload, message);
      assert.equal(msg.hl7.type, 'ADT');
      assert.equal(msg.hl7.event, 'A01');
      assert.equal(msg.hl7.controlId, 'IN00001');
      assert.equal(msg.hl7.version, '2.5');
      assert.equal(msg.hl7.sendingApplication, 'SENDER');
      assert.equal(msg.mllp.remoteAddress, '127.0.0.1');
      assert.equal(msg.mllp.remotePort, sock.socket.localPort);
      assert.equal(msg.mllp.localPort, port);
      assert.match(msg.mllp.connectionId, /^[0-9a-f-]{36}$/);
      assert.ok(!Number.isNaN(Date.parse(msg.mllp.receivedAt)));
      // plain JSON: survives cloning
      assert.deepEqual(JSON.parse(JSON.stringify({ hl7: msg.hl7, mllp: msg.mllp })), { hl7: msg.hl7, mllp: msg.mllp });
      assert.ok(connections.has(msg.mllp.connectionId));
      // issue 12: one line for the debug pane, none of the message's content
      assert.equal(msg.summary, 'ADT^A01 · MSH-10 IN00001 · from SENDER');
    });

    it('writes no debug line per message or connection at the info log level (issue 11: node.debug costs more than the message)', async () => {
      const lines = async () => {
        const port = await freePort();
        await helper.load(NODES, [
          { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', wires: [['h']] },
          { id: 'h', type: 'helper' },
        ]);
        const debugged: unknown[] = [];
        helper.getNode('in').on('call:debug', (call: { args: unknown[] }) => debugged.push(call.args[0]));
        const got = nextMessages('h', 2);
        const sock = await open(port);
        sock.send(sampleMessage('DBG1'));
        sock.send(sampleMessage('DBG2'));
        await got;
        sock.socket.destroy();
        await helper.unload();
        return debugged.length;
      };
      assert.equal(await lines(), 0);
      helper.settings({ logging: { console: { level: 'debug' } } });
      try {
        assert.ok((await lines()) >= 2, 'a line per message at debug level');
      } finally {
        helper.settings({});
      }
    });

    it('decodes ISO 8859-1 messages using MSH-18', async () => {
      const port = await freePort();
      await helper.load(NODES, [
        { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', wires: [['h']] },
        { id: 'h', type: 'helper' },
      ]);
      const got = nextMessages('h');
      const sock = await open(port);
      const message = sampleMessage('IN00002', { charset: '8859/1', extra: 'NTE|1||Hélène Noël' });
      sock.send(Buffer.from(message, 'latin1'));
      const [msg] = await got;
      assert.equal(msg.payload, message);
    });

    it('with payload type Buffer, emits the bytes as received (header read, auto-ACK still answers)', async () => {
      const port = await freePort();
      await helper.load(NODES, [
        { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', payloadType: 'buffer', autoAck: true, wires: [['h']] },
        { id: 'h', type: 'helper' },
      ]);
      const got = nextMessages('h');
      const sock = await open(port);
      const bytes = Buffer.from(sampleMessage('BUF0001', { charset: '8859/1', extra: 'NTE|1||Hélène Noël' }), 'latin1');
      assert.deepEqual(msaOf(await sock.request(bytes)), { code: 'AA', controlId: 'BUF0001' });
      const [msg] = await got;
      assert.ok(Buffer.isBuffer(msg.payload));
      assert.ok(msg.payload.equals(bytes));
      assert.equal(msg.hl7.controlId, 'BUF0001');
      assert.equal(msg.hl7.charset, '8859/1');
    });

    it('round-trips through mllp-response on the same connection', async () => {
      const port = await freePort();
      await helper.load(NODES, [
        { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', wires: [['h']] },
        { id: 'h', type: 'helper' },
        { id: 'resp', type: 'mllp-response' },
      ]);
      getNode('h').on('input', (msg) => {
        getNode('resp').receive({ payload: simpleAck(msg.hl7.controlId), mllp: msg.mllp });
      });
      const a = await open(port);
      const b = await open(port);
      for (let i = 0; i < 5; i++) {
        const [ackA, ackB] = await Promise.all([a.request(sampleMessage(`A${i}`)), b.request(sampleMessage(`B${i}`))]);
        assert.deepEqual(msaOf(ackA), { code: 'AA', controlId: `A${i}` });
        assert.deepEqual(msaOf(ackB), { code: 'AA', controlId: `B${i}` });
      }
    });

    it('answers AA itself with auto-ACK and still emits the message', async () => {
      const port = await freePort();
      await helper.load(NODES, [
        { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', autoAck: true, wires: [['h']] },
        { id: 'h', type: 'helper' },
      ]);
      const got = nextMessages('h', 2);
      const sock = await open(port);
      assert.deepEqual(msaOf(await sock.request(sampleMessage('AUTO1'))), { code: 'AA', controlId: 'AUTO1' });
      assert.deepEqual(msaOf(await sock.request(sampleMessage('AUTO2'))), { code: 'AA', controlId: 'AUTO2' });
      const msgs = await got;
      assert.deepEqual(
        msgs.map((m) => m.hl7.controlId),
        ['AUTO1', 'AUTO2'],
      );
    });

    it('rejects an oversize message with AR and a Catch-able error, and the connection keeps working', async () => {
      const port = await freePort();
      await helper.load(NODES, [
        { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', maxSize: 2, maxSizeUnit: 'KiB', wires: [['h']] },
        { id: 'h', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['hc']] },
        { id: 'hc', type: 'helper' },
        { id: 'resp', type: 'mllp-response' },
      ]);
      getNode('h').on('input', (msg) => getNode('resp').receive({ payload: simpleAck(msg.hl7.controlId), mllp: msg.mllp }));
      const caught = nextMessages('hc');
      const sock = await open(port);
      const big = sampleMessage('BIG0001', { extra: 'NTE|1||' + 'x'.repeat(10_000) });
      const ar = await sock.request(big);
      assert.deepEqual(msaOf(ar), { code: 'AR', controlId: 'BIG0001' });
      assert.match(ar, /\rERR\|/);
      assert.match(ar, /207/);
      const [err] = await caught;
      assert.equal(err.error.source.id, 'in');
      assert.match(err.error.message, /oversize/);
      assert.equal(err.mllp.size, Buffer.byteLength(big));
      assert.equal(err.mllp.remotePort, sock.socket.localPort);
      assert.equal(err.hl7.controlId, 'BIG0001');
      assert.equal(err.payload, undefined, 'no patient data in the error message');
      // same connection, next message
      assert.deepEqual(msaOf(await sock.request(sampleMessage('SMALL01'))), { code: 'AA', controlId: 'SMALL01' });
    });

    it('rejects a frame that is not HL7 with a minimal AR and a Catch-able error', async () => {
      const port = await freePort();
      await helper.load(NODES, [
        { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', autoAck: true, wires: [['h']] },
        { id: 'h', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['hc']] },
        { id: 'hc', type: 'helper' },
      ]);
      const caught = nextMessages('hc');
      const sock = await open(port);
      const ar = await sock.request('hello, this is not HL7');
      assert.deepEqual(msaOf(ar), { code: 'AR', controlId: '' });
      assert.match(ar, /^MSH\|/);
      assert.match(ar, /\rERR\|/);
      const [err] = await caught;
      assert.match(err.error.message, /not-hl7/);
      assert.equal(err.hl7, undefined);
      assert.equal(err.mllp.size, 22);
      assert.equal(err.payload, undefined);
      assert.deepEqual(msaOf(await sock.request(sampleMessage('OK00001'))), { code: 'AA', controlId: 'OK00001' });
    });

    it('rejects a message in a character set the codec does not handle with an AR to its control id', async () => {
      const port = await freePort();
      await helper.load(NODES, [
        { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', wires: [['h']] },
        { id: 'h', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['hc']] },
        { id: 'hc', type: 'helper' },
      ]);
      const caught = nextMessages('hc');
      const sock = await open(port);
      const ar = await sock.request(sampleMessage('CS00001', { charset: 'KOI8-R' }));
      assert.deepEqual(msaOf(ar), { code: 'AR', controlId: 'CS00001' });
      const [err] = await caught;
      assert.equal(err.hl7.controlId, 'CS00001');
      assert.equal(err.payload, undefined);
    });

    it('tolerates junk between frames', async () => {
      const port = await freePort();
      await helper.load(NODES, [
        { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', autoAck: true, wires: [['h']] },
        { id: 'h', type: 'helper' },
      ]);
      const sock = await open(port);
      sock.write('some noise\n');
      assert.deepEqual(msaOf(await sock.request(sampleMessage('J0001'))), { code: 'AA', controlId: 'J0001' });
    });

    it('issue 12: a port in use (EADDRINUSE) gives a red status naming the port and an error saying what to do', async () => {
      const blocker = net.createServer();
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
      const port = (blocker.address() as net.AddressInfo).port;
      try {
        await helper.load(NODES_EN, [{ id: 'in', type: 'mllp-in', port, host: '127.0.0.1', wires: [] }]);
        const node = getNode('in') as TestNode & { error: { getCalls(): { thisValue: unknown; args: unknown[] }[] } };
        await until(() => statusesOf(node).some((s) => s.fill === 'red'), 'a red status');
        const red = statusesOf(node).find((s) => s.fill === 'red');
        assert.deepEqual(red, { fill: 'red', shape: 'ring', text: `port ${port} in use` });
        const errors = node.error.getCalls().filter((c) => c.thisValue === node).map((c) => String((c.args[0] as Error)?.message ?? c.args[0]));
        assert.equal(errors.length, 1, errors.join('\n'));
        assert.equal(errors[0], `cannot listen on 127.0.0.1:${port}: the port is already in use (another mllp-in of this Node-RED or another program listens on it) — choose another port`);
      } finally {
        blocker.close();
      }
    });

    it('releases the port and its connections when the flow stops', async () => {
      const port = await freePort();
      await helper.load(NODES, [{ id: 'in', type: 'mllp-in', port, host: '127.0.0.1', wires: [] }]);
      const sock = await open(port);
      await delay(20);
      const before = connections.size;
      assert.ok(before >= 1);
      await helper.unload();
      await sock.closed;
      // the runtime stopped (not a deploy): nothing is held for a next node
      await until(() => connections.size === before - 1, 'the connection forgotten');
      assert.deepEqual(sharedListeners(), {});
      // the port is free again
      const again = new MllpServer({ port, host: '127.0.0.1' });
      await again.listen();
      await again.close();
    });
  });

  describe('mllp-response', () => {
    it('raises a Catch-able error when the connection is gone', async () => {
      const port = await freePort();
      await helper.load(NODES, [
        { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', wires: [['h']] },
        { id: 'h', type: 'helper' },
        { id: 'resp', type: 'mllp-response' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['hc']] },
        { id: 'hc', type: 'helper' },
      ]);
      const got = nextMessages('h');
      const sock = await open(port);
      sock.send(sampleMessage('GONE001'));
      const [msg] = await got;
      await sock.close();
      await delay(50);
      const caught = nextMessages('hc');
      getNode('resp').receive({ payload: simpleAck('GONE001'), mllp: msg.mllp });
      const [err] = await caught;
      assert.equal(err.error.source.id, 'resp');
      assert.match(err.error.message, /connection-gone/);

      const caught2 = nextMessages('hc');
      getNode('resp').receive({ payload: 'x' });
      assert.match((await caught2)[0].error.message, /no-connection-id/);
    });

    it('issue 11: 50 answers update the status a few times (ending on "sent"), with no debug line at the info log level', async () => {
      const port = await freePort();
      await helper.load(NODES, [
        { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', wires: [['h']] },
        { id: 'h', type: 'helper' },
        { id: 'resp', type: 'mllp-response' },
      ]);
      const statuses: { fill?: string; text?: string }[] = [];
      let debugLines = 0;
      getNode('resp').on('call:status', (call: { args: [{ fill?: string; text?: string }] }) => statuses.push(call.args[0]));
      getNode('resp').on('call:debug', () => debugLines++);
      getNode('h').on('input', (msg) => getNode('resp').receive({ payload: simpleAck(msg.hl7.controlId), mllp: msg.mllp }));
      const sock = await open(port);
      for (let i = 0; i < 50; i++) assert.deepEqual(msaOf(await sock.request(sampleMessage(`S${i}`))), { code: 'AA', controlId: `S${i}` });
      const end = Date.now() + 2000;
      while (!/^mllp-response\.status\.sent|^sent/.test(statuses[statuses.length - 1]?.text ?? '') && Date.now() < end) await delay(20);
      assert.equal(statuses[statuses.length - 1]?.fill, 'green');
      assert.ok(statuses.length < 50 / 4, `${statuses.length} status updates for 50 answers`);
      assert.equal(debugLines, 0);
    });
  });

  describe('mllp-out', () => {
    async function testServer(answer: (text: string) => string | null) {
      const server = new MllpServer({ port: 0, host: '127.0.0.1' });
      servers.push(server);
      const received: string[] = [];
      server.on('message', (buf, conn) => {
        const text = buf.toString('utf8');
        received.push(text);
        const a = answer(text);
        if (a !== null) void conn.send(a);
      });
      const { port } = await server.listen();
      return { port, received };
    }

    it('sends the message and outputs it with the ACK (AA), in order', async () => {
      const srv = await testServer((t) => simpleAck(controlIdOf(t)));
      await helper.load(NODES, [
        { id: 'out', type: 'mllp-out', host: '127.0.0.1', port: srv.port, ackTimeout: 5, retries: 1, wires: [['h']] },
        { id: 'h', type: 'helper' },
      ]);
      const got = nextMessages('h', 20);
      for (let i = 0; i < 20; i++) getNode('out').receive({ payload: sampleMessage(`OUT${i}`), seq: i, mllp: { connectionId: 'kept' } });
      const msgs = await got;
      assert.deepEqual(
        msgs.map((m) => m.seq),
        Array.from({ length: 20 }, (_, i) => i),
      );
      assert.deepEqual(msgs[3].ack, { code: 'AA', controlId: 'OUT3', text: '' });
      assert.equal(msgs[3].payload, simpleAck('OUT3'));
      assert.deepEqual(msgs[3].mllp, { connectionId: 'kept' });
      assert.deepEqual(srv.received.map(controlIdOf), Array.from({ length: 20 }, (_, i) => `OUT${i}`));
      assert.equal(msgs[3].summary, `ADT^A01 · MSH-10 OUT3 · AA · to 127.0.0.1:${srv.port}`, 'issue 12: the debug pane\'s line');
    });

    it('issue 12: without a host (none in the node, no msg.host), a red status and a Catch-able NO_HOST error naming what is missing', async () => {
      await helper.load(NODES_EN, [
        { id: 'out', type: 'mllp-out', host: '', port: 2575, ackTimeout: 5, retries: 0, wires: [['h']] },
        { id: 'h', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['err']] },
        { id: 'err', type: 'helper' },
      ]);
      const out = getNode('out');
      assert.deepEqual(statusesOf(out)[0], { fill: 'red', shape: 'ring', text: 'no host' }, 'said at deploy');
      const errors = nextMessages('err');
      out.receive({ payload: sampleMessage('NOHOST1') });
      const [e] = await errors;
      assert.equal(e.error.code, 'NO_HOST');
      assert.match(e.error.message, /no host — the node has none and msg\.host is not set/);
      assert.equal(e.summary, 'MLLP · ERROR NO_HOST');
      const last = statusesOf(out).pop() as Msg;
      assert.equal(last.fill, 'red');
      assert.match(last.text, /^no host · \d\d:\d\d:\d\d$/);
    });

    it('issue 12: "host and port from the message": the node waits for msg.host (grey), sends with it, and names msg.host / msg.port when they are missing or wrong', async () => {
      const srv = await testServer((t) => simpleAck(controlIdOf(t)));
      await helper.load(NODES_EN, [
        { id: 'out', type: 'mllp-out', host: '', port: '', hostFromMsg: true, ackTimeout: 5, retries: 0, wires: [['h']] },
        { id: 'h', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['err']] },
        { id: 'err', type: 'helper' },
      ]);
      const out = getNode('out');
      assert.deepEqual(statusesOf(out)[0], { fill: 'grey', shape: 'ring', text: 'host from msg.host' });
      const got = nextMessages('h');
      out.receive({ payload: sampleMessage('FROMMSG1'), host: '127.0.0.1', port: srv.port });
      assert.equal((await got)[0].ack.code, 'AA');

      const errs: Msg[] = [];
      getNode('err').on('input', (m) => errs.push(m));
      out.receive({ payload: sampleMessage('FROMMSG2'), port: srv.port });
      await until(() => errs.length === 1, 'NO_HOST');
      assert.equal(errs[0].error.code, 'NO_HOST');
      assert.match(errs[0].error.message, /msg\.host is not set and the node has no default host/);
      out.receive({ payload: sampleMessage('FROMMSG3'), host: '127.0.0.1' });
      await until(() => errs.length === 2, 'NO_PORT');
      assert.equal(errs[1].error.code, 'NO_PORT');
      assert.match(errs[1].error.message, /no port — the node has none and msg\.port is not set/);
      assert.match((statusesOf(out).pop() as Msg).text, /^no port · /);
      out.receive({ payload: sampleMessage('FROMMSG4'), host: '127.0.0.1', port: 70000 });
      await until(() => errs.length === 3, 'BAD_PORT');
      assert.equal(errs[2].error.code, 'BAD_PORT');
      assert.match(errs[2].error.message, /invalid port 70000 \(msg\.port\)/);
      assert.deepEqual(srv.received.map(controlIdOf), ['FROMMSG1'], 'only the message with a host and a port was sent');
    });

    it('uses msg.host / msg.port when given', async () => {
      const srv = await testServer((t) => simpleAck(controlIdOf(t)));
      await helper.load(NODES, [
        { id: 'out', type: 'mllp-out', host: 'unused.invalid', port: 1, ackTimeout: 5, retries: 0, wires: [['h']] },
        { id: 'h', type: 'helper' },
      ]);
      const got = nextMessages('h');
      getNode('out').receive({ payload: sampleMessage('HOST001'), host: '127.0.0.1', port: String(srv.port) });
      assert.equal((await got)[0].ack.code, 'AA');
    });

    it('turns an AE acknowledgement into a Catch-able error with msg.ack', async () => {
      const srv = await testServer((t) => simpleAck(controlIdOf(t), 'AE', 'bad PID'));
      await helper.load(NODES, [
        { id: 'out', type: 'mllp-out', host: '127.0.0.1', port: srv.port, ackTimeout: 5, retries: 0, wires: [['h']] },
        { id: 'h', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['hc']] },
        { id: 'hc', type: 'helper' },
      ]);
      let output = 0;
      getNode('h').on('input', () => output++);
      const caught = nextMessages('hc');
      const message = sampleMessage('AE00001');
      getNode('out').receive({ payload: message });
      const [err] = await caught;
      assert.equal(err.error.source.id, 'out');
      assert.match(err.error.message, /nack/);
      assert.deepEqual(err.ack, { code: 'AE', controlId: 'AE00001', text: 'bad PID' });
      assert.equal(err.payload, message, 'the message sent is kept for a retry / dead-letter flow');
      assert.equal(output, 0);
    });

    it('reports a timeout (after retries) as a Catch-able error', async () => {
      const srv = await testServer(() => null);
      await helper.load(NODES, [
        { id: 'out', type: 'mllp-out', host: '127.0.0.1', port: srv.port, ackTimeout: 5, retries: 1, wires: [['h']] },
        { id: 'h', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['hc']] },
        { id: 'hc', type: 'helper' },
      ]);
      const caught = nextMessages('hc');
      getNode('out').receive({ payload: sampleMessage('TO00001'), ackTimeout: 100 });
      const [err] = await caught;
      assert.match(err.error.message, /no acknowledgement from 127\.0\.0\.1:\d+ within 100 ms \(2 attempts\)/);
      assert.equal(err.ack, undefined);
      assert.equal(srv.received.length, 2);
    });

    it('reports a refused connection as a Catch-able error', async () => {
      const port = await freePort();
      await helper.load(NODES, [
        { id: 'out', type: 'mllp-out', host: '127.0.0.1', port, ackTimeout: 5, retries: 0, wires: [['h']] },
        { id: 'h', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['hc']] },
        { id: 'hc', type: 'helper' },
      ]);
      const caught = nextMessages('hc');
      getNode('out').receive({ payload: sampleMessage('REF0001') });
      const [err] = await caught;
      assert.match(err.error.message, /refused/);
    });

    it('reports an ACK for another control id as an error', async () => {
      const srv = await testServer(() => simpleAck('SOMEONE-ELSE'));
      await helper.load(NODES, [
        { id: 'out', type: 'mllp-out', host: '127.0.0.1', port: srv.port, ackTimeout: 5, retries: 0, wires: [['h']] },
        { id: 'h', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['hc']] },
        { id: 'hc', type: 'helper' },
      ]);
      const caught = nextMessages('hc');
      getNode('out').receive({ payload: sampleMessage('MINE001') });
      const [err] = await caught;
      assert.match(err.error.message, /mismatch/);
      assert.equal(err.ack.controlId, 'SOMEONE-ELSE');
    });
  });

  describe('over TLS (tls-config)', () => {
    const cert = makeSelfSignedCert();
    after(() => cert && fs.rmSync(cert.dir, { recursive: true, force: true }));

    it('mllp-out → mllp-in (auto-ACK), both with TLS', async function () {
      if (!cert) this.skip(); // no openssl CLI
      const port = await freePort();
      await helper.load(
        [...NODES, tlsNode],
        [
          { id: 'srvtls', type: 'tls-config', cert: cert!.certFile, key: cert!.keyFile, ca: '', verifyservercert: false },
          { id: 'clitls', type: 'tls-config', cert: '', key: '', ca: cert!.certFile, verifyservercert: true, servername: 'localhost' },
          { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', tls: 'srvtls', autoAck: true, wires: [['hin']] },
          { id: 'hin', type: 'helper' },
          { id: 'out', type: 'mllp-out', host: '127.0.0.1', port, tls: 'clitls', ackTimeout: 5, retries: 0, wires: [['hout']] },
          { id: 'hout', type: 'helper' },
        ],
      );
      // a plain TLS client trusting the certificate reaches the node too
      const direct = new MllpClient({ host: 'localhost', port, tls: { ca: cert!.cert } });
      try {
        const until = Date.now() + 3000;
        let res;
        for (;;) {
          try {
            res = await direct.send(sampleMessage('TLSDIRECT'));
            break;
          } catch (err) {
            if (Date.now() > until) throw err;
            await delay(50);
          }
        }
        assert.deepEqual(msaOf(res.ack), { code: 'AA', controlId: 'TLSDIRECT' });
      } finally {
        await direct.close();
      }
      const got = nextMessages('hout');
      const received = nextMessages('hin');
      getNode('out').receive({ payload: sampleMessage('TLS0001') });
      const [out] = await got;
      assert.deepEqual(out.ack, { code: 'AA', controlId: 'TLS0001', text: '' });
      assert.equal((await received)[0].hl7.controlId, 'TLS0001');
    });

    it('requires a client certificate when the TLS configuration has a CA and "verify" ticked', async function () {
      if (!cert) this.skip();
      const port = await freePort();
      await helper.load(
        [...NODES, tlsNode],
        [
          { id: 'srvtls', type: 'tls-config', cert: cert!.certFile, key: cert!.keyFile, ca: cert!.certFile, verifyservercert: true },
          { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', tls: 'srvtls', autoAck: true, wires: [['h']] },
          { id: 'h', type: 'helper' },
        ],
      );
      await waitListening(port);
      const withCert = new MllpClient({ host: 'localhost', port, tls: { ca: cert!.cert, cert: cert!.cert, key: cert!.key } });
      const without = new MllpClient({ host: 'localhost', port, tls: { ca: cert!.cert }, maxRetries: 0 });
      try {
        assert.equal(msaOf((await withCert.send(sampleMessage('MTLS001'))).ack).code, 'AA');
        await assert.rejects(without.send(sampleMessage('MTLS002')));
      } finally {
        await Promise.all([withCert.close(), without.close()]);
      }
    });

    it('a plain TCP client cannot talk to a TLS mllp-in', async function () {
      if (!cert) this.skip();
      const port = await freePort();
      await helper.load(
        [...NODES, tlsNode],
        [
          { id: 'srvtls', type: 'tls-config', cert: cert!.certFile, key: cert!.keyFile, ca: '', verifyservercert: false },
          { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', tls: 'srvtls', wires: [['h']] },
          { id: 'h', type: 'helper' },
        ],
      );
      await waitListening(port).catch(() => undefined);
      const sock = await open(port);
      sock.send(sampleMessage('PLAIN01'));
      await assert.rejects(sock.next(2000));
    });
  });
});
