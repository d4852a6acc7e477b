// Issue 11 on the mllp-in node: strict decoding (AE, never emitted), the listener's limits (warned once
// per connection, counted in the status), 127.0.0.1 by default and a warning when open to every
// interface without TLS. Behaviour is asserted, never durations.
import { strict as assert } from 'node:assert';
import * as os from 'node:os';
import mllpIn = require('../../nodes/mllp-in/mllp-in');
import mllpResponse = require('../../nodes/mllp-response/mllp-response');
import { parseAck } from '../../lib/hl7';
import { CR, FS, VT, encodeFrame } from '../../lib/mllp/framing';
import { RawMllpSocket, freePort, msaOf, sampleMessage, simpleAck } from '../support/mllp';
import { until, withMessages } from '../support/red-nodes';
import { LimitReport, REFUSAL_WARNING_INTERVAL_MS, limitsFrom } from '../../nodes/mllp-in/limits';
import type { MllpLimitHit } from '../../lib/mllp';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = [withMessages(['mllp-in'], [mllpIn, mllpResponse])];

/** What the node under test did: messages sent on, errors caught, warnings, statuses. */
class Probe {
  readonly out: Msg[] = [];
  readonly caught: Msg[] = [];
  readonly warnings: string[] = [];
  readonly statuses: Msg[] = [];
  constructor() {
    helper.getNode('h').on('input', (m: Msg) => this.out.push(m));
    helper.getNode('hc').on('input', (m: Msg) => this.caught.push(m));
    const n = helper.getNode('in');
    n.on('call:warn', (call: { args: unknown[] }) => this.warnings.push(String(call.args[0])));
    n.on('call:status', (call: { args: Msg[] }) => this.statuses.push(call.args[0]));
  }
  get status(): Msg | undefined {
    return this.statuses[this.statuses.length - 1];
  }
}

async function load(inNode: Msg): Promise<Probe> {
  await helper.load(NODES, [
    { id: 'in', type: 'mllp-in', wires: [['h']], ...inNode },
    { id: 'h', type: 'helper' },
    { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['hc']] },
    { id: 'hc', type: 'helper' },
    { id: 'resp', type: 'mllp-response' },
  ]);
  return new Probe();
}

async function connect(port: number, host = '127.0.0.1'): Promise<RawMllpSocket> {
  const end = Date.now() + 3000;
  for (;;) {
    try {
      return await RawMllpSocket.connect(port, { host });
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A message declaring `charset` whose PID-5 holds `name` as the given bytes. */
function withName(controlId: string, charset: string, name: Buffer): Buffer {
  const [head, tail] = sampleMessage(controlId, { charset }).split('TEST^PATIENT');
  return Buffer.concat([Buffer.from(head, 'latin1'), name, Buffer.from(`^PATIENT${tail}`, 'latin1')]);
}

describe('mllp-in hardening (issue 11)', function () {
  this.timeout(20_000);
  const sockets: RawMllpSocket[] = [];
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    sockets.splice(0).forEach((s) => s.socket.destroy());
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });
  const open = async (port: number, host?: string) => {
    const s = await connect(port, host);
    sockets.push(s);
    return s;
  };

  describe('strict decoding: bytes not valid in the character set MSH-18 declares', () => {
    const latin1 = Buffer.from('BÉRANGER', 'latin1');

    for (const payloadType of ['string', 'buffer']) {
      it(`answers AE (ERR MSH^1^18 naming the byte and its offset), raises a Catch-able error and sends nothing on (payload ${payloadType})`, async () => {
        const port = await freePort();
        const p = await load({ port, host: '127.0.0.1', payloadType });
        const sock = await open(port);
        const bad = withName('BADBYTES1', 'UNICODE UTF-8', latin1);
        const ack = parseAck(await sock.request(bad));
        assert.equal(ack.code, 'AE');
        assert.equal(ack.controlId, 'BADBYTES1');
        assert.equal(ack.errors.length, 1);
        assert.equal(ack.errors[0].location, 'MSH^1^18');
        assert.equal(ack.errors[0].code, '102');
        assert.match(ack.errors[0].text ?? "", new RegExp(`byte 0xC9 at offset ${bad.indexOf(0xc9)} \\(PID\\^1\\^5\\) is not valid UTF-8.*"UNICODE UTF-8" \\(MSH-18\\)`));
        await until(() => p.caught.length === 1, 'the Catch-able error');
        const err = p.caught[0];
        assert.match(err.error.message, /AE sent.*UNICODE UTF-8.*MSH-18.*offset \d+, PID\^1\^5/);
        assert.equal(err.hl7.controlId, 'BADBYTES1');
        assert.equal(err.payload, undefined, 'no patient data in the error');
        assert.doesNotMatch(JSON.stringify(err), /RANGER/);
        // the next (valid) message is the only one sent on
        sock.send(sampleMessage('GOOD0001'));
        await until(() => p.out.length === 1, 'the valid message');
        assert.equal(p.out[0].hl7.controlId, 'GOOD0001');
      });
    }

    it('answers AE instead of AA with Acknowledge on receipt; 8859/1 carrying UTF-8 bytes and ASCII carrying 8-bit bytes likewise', async () => {
      const port = await freePort();
      const p = await load({ port, host: '127.0.0.1', autoAck: true });
      const sock = await open(port);
      assert.deepEqual(msaOf(await sock.request(withName('BAD-AUTO', 'UNICODE UTF-8', latin1))), { code: 'AE', controlId: 'BAD-AUTO' });
      assert.deepEqual(msaOf(await sock.request(withName('BAD-8859', '8859/1', Buffer.from('BÉRANGER', 'utf8')))), { code: 'AE', controlId: 'BAD-8859' });
      assert.deepEqual(msaOf(await sock.request(withName('BAD-ASCII', 'ASCII', latin1))), { code: 'AE', controlId: 'BAD-ASCII' });
      assert.deepEqual(msaOf(await sock.request(withName('OK-8859', '8859/1', latin1))), { code: 'AA', controlId: 'OK-8859' });
      await until(() => p.out.length === 1 && p.caught.length === 3, 'one message out, three errors');
      assert.equal(p.out[0].payload.includes('BÉRANGER'), true);
    });
  });

  describe('bind address', () => {
    it('listens on 127.0.0.1 when no address is given (it used to be every interface)', async () => {
      const external = Object.values(os.networkInterfaces())
        .flat()
        .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
      const port = await freePort();
      const p = await load({ port, host: '' });
      await open(port);
      await until(() => p.status?.fill === 'green', 'listening');
      assert.equal(p.warnings.length, 0);
      if (!external) return; // no other interface on this machine: 127.0.0.1 was shown to work
      await assert.rejects(RawMllpSocket.connect(port, { host: external }), /ECONNREFUSED/);
    });

    it('warns in the log and the status when bound to every interface without TLS', async () => {
      const port = await freePort();
      const p = await load({ port, host: '0.0.0.0' });
      await open(port);
      await until(() => p.warnings.length > 0 && p.status?.fill === 'yellow', 'the warning');
      assert.match(p.warnings[0], new RegExp(`every interface \\(0\\.0\\.0\\.0:${port}\\) without TLS`));
      assert.equal(p.status?.shape, 'ring');
      assert.match(p.status?.text, /every interface, no TLS/);
    });
  });

  describe('limits', () => {
    it('refuses connections beyond the limit, warns once a minute per address with the count, and shows it in the status', async () => {
      const port = await freePort();
      const p = await load({ port, host: '127.0.0.1', maxConnections: 2, maxPerAddress: 0 });
      await open(port);
      await open(port);
      for (let i = 0; i < 6; i++) await (await open(port)).closed;
      await until(() => /limits hit: 6/.test(p.status?.text ?? ''), 'the status counting six refusals');
      assert.equal(p.status?.fill, 'yellow');
      assert.match(p.status?.text, /\(last: connections\)/);
      assert.equal(p.warnings.length, 1, p.warnings.join('\n'));
      assert.match(p.warnings[0], /^connection from 127\.0\.0\.1:\d+ refused: 2 connections are open on this listener/);
    });

    it('closes an idle connection and warns once, naming the remote address only', async () => {
      const port = await freePort();
      const p = await load({ port, host: '127.0.0.1', idleTimeout: 0.2, autoAck: true });
      const sock = await open(port);
      const localPort = sock.socket.localPort;
      assert.equal(msaOf(await sock.request(sampleMessage('IDLE-NODE'))).code, 'AA');
      await sock.closed;
      await until(() => p.warnings.length === 1 && /idle time-out/.test(p.status?.text ?? ''), 'the warning and status');
      assert.match(p.warnings[0], new RegExp(`^connection from 127\\.0\\.0\\.1:${localPort} closed: nothing received or sent for 0\\.2 s`));
    });

    it('closes a connection that does not complete its message (slowloris) and warns once', async () => {
      const port = await freePort();
      const p = await load({ port, host: '127.0.0.1', frameTimeout: 0.3, idleTimeout: 0 });
      const sock = await open(port);
      const frame = encodeFrame(sampleMessage('SLOWLORIS'));
      let sent = 0;
      let gone = false;
      void sock.closed.then(() => (gone = true));
      while (!gone && sent < frame.length - 2) {
        sock.write(frame.subarray(sent, ++sent));
        await new Promise((r) => setTimeout(r, 20));
      }
      await sock.closed;
      const timedOut = () => p.warnings.filter((w) => /closed: a message not completed within 0\.3 s/.test(w));
      await until(() => timedOut().length === 1, 'the warning');
      assert.equal(p.out.length, 0);
      // and the frame it cut short, by its size only
      assert.ok(p.warnings.some((w) => /closed in the middle of a message \(\d+ bytes dropped\)/.test(w)), p.warnings.join('\n'));
      await until(() => /limits hit: 1 \(last: message time-out\)/.test(p.status?.text ?? ''), 'the status');
    });

    it('answers AR (207, receiver busy) to a message beyond the memory for unfinished messages, and keeps the other', async () => {
      const port = await freePort();
      const p = await load({ port, host: '127.0.0.1', maxSize: 100, maxSizeUnit: 'KiB', maxBuffered: 0.15, frameTimeout: 0 });
      helper.getNode('h').on('input', (m: Msg) => helper.getNode('resp').receive({ payload: simpleAck(m.hl7.controlId), mllp: m.mllp }));
      // two messages of 90 KiB under way at once, 150 KiB for both: the second to arrive is not kept
      const socks = { A: await open(port), B: await open(port) };
      const bytes = (id: string) => Buffer.from(sampleMessage(id, { extra: `NTE|1||${'x'.repeat(90 * 1024)}` }));
      const msgs = { A: bytes('BUDGET-A'), B: bytes('BUDGET-B') };
      for (const k of ['A', 'B'] as const) socks[k].write(Buffer.concat([Buffer.from([VT]), msgs[k].subarray(0, msgs[k].length - 10)]));
      await until(() => p.warnings.length === 1, 'the budget warning');
      assert.match(p.warnings[0], /^message from 127\.0\.0\.1:\d+ not kept \(AR at its end\)/);
      for (const k of ['A', 'B'] as const) socks[k].write(Buffer.concat([msgs[k].subarray(msgs[k].length - 10), Buffer.from([FS, CR])]));
      const acks = await Promise.all([socks.A.next(), socks.B.next()]);
      const codes = acks.map((a) => parseAck(a));
      assert.deepEqual(codes.map((a) => a.code).sort(), ['AA', 'AR']);
      const refused = codes.find((a) => a.code === 'AR')!;
      assert.equal(refused.errors[0].code, '207');
      assert.match(refused.errors[0].text ?? "", /receiver busy/);
      await until(() => p.caught.length === 1 && p.out.length === 1, 'one error, one message sent on');
      assert.match(p.caught[0].error.message, /AR sent, \d+ bytes\): the 157286 bytes for unfinished messages/);
      assert.equal(p.caught[0].hl7.controlId, refused.controlId);
      assert.notEqual(p.out[0].hl7.controlId, refused.controlId);
      await until(() => /limits hit: 1 \(last: memory\)/.test(p.status?.text ?? ''), 'the status');
    });
  });

  describe('what is warned about (LimitReport) and the limits read from the node', () => {
    const refusal = (remoteAddress: string): MllpLimitHit => ({ limit: 'max-connections', remoteAddress, remotePort: 40000, connectionId: null, first: true });
    it('warns a limit once per connection, and refusals once a minute per address with the number refused since', () => {
      let now = 0;
      const r = new LimitReport(() => now);
      assert.equal(r.record({ limit: 'backpressure', remoteAddress: 'a', remotePort: 1, connectionId: 'c1', first: true }), 1);
      assert.equal(r.record({ limit: 'backpressure', remoteAddress: 'a', remotePort: 1, connectionId: 'c1', first: false }), null);
      assert.equal(r.record(refusal('10.0.0.1')), 1);
      for (let i = 0; i < 41; i++) assert.equal(r.record(refusal('10.0.0.1')), null);
      assert.equal(r.record(refusal('10.0.0.2')), 1, 'another address is warned about at once');
      now += REFUSAL_WARNING_INTERVAL_MS;
      assert.equal(r.record(refusal('10.0.0.1')), 42, 'this one and the 41 refused since the last warning');
      assert.equal(r.total, 46);
      assert.equal(r.last, 'max-connections');
    });
    it('reads the limits from the node, with the defaults for flows written before them (0 = no limit)', () => {
      assert.deepEqual(limitsFrom({}), { maxConnections: 100, maxConnectionsPerAddress: 20, idleTimeoutMs: 600_000, frameTimeoutMs: 60_000, maxBufferedBytes: 64 * 1024 * 1024, maxPendingWriteBytes: 1024 * 1024 });
      assert.deepEqual(limitsFrom({ maxConnections: '0', maxPerAddress: 3, idleTimeout: '0.5', frameTimeout: '', maxBuffered: 'x', maxPendingAck: -1 }), {
        maxConnections: 0,
        maxConnectionsPerAddress: 3,
        idleTimeoutMs: 500,
        frameTimeoutMs: 60_000,
        maxBufferedBytes: 64 * 1024 * 1024,
        maxPendingWriteBytes: 1024 * 1024,
      });
    });
  });
});
