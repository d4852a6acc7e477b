// Issue 11, "One client cannot exhaust the layer": the MLLP listener's limits. Each test uses small
// limits and asserts what the server did (connections refused or closed, bytes held, replies queued),
// never how long it took.
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { CR, FS, VT, encodeFrame } from '../../lib/mllp/framing';
import { MllpLimitHit, MllpServer, MllpServerOptions } from '../../lib/mllp/server';
import { RawMllpSocket, delay, sampleMessage } from '../support/mllp';
import { until } from '../support/red-nodes';

const KiB = 1024;

describe('MLLP server limits (issue 11: one client cannot exhaust the layer)', function () {
  this.timeout(30_000);
  const servers: MllpServer[] = [];
  const sockets: net.Socket[] = [];

  async function start(opts: Partial<MllpServerOptions>) {
    const server = new MllpServer({ port: 0, host: '127.0.0.1', ...opts });
    servers.push(server);
    const hits: MllpLimitHit[] = [];
    const messages: Buffer[] = [];
    server.on('limit', (h) => hits.push(h));
    server.on('message', (m) => messages.push(m));
    const { port } = await server.listen();
    return { server, port, hits, messages };
  }

  /** A plain TCP client (optionally from another loopback address); `gone` resolves when the server closes it. */
  function connect(port: number, localAddress?: string): Promise<net.Socket & { gone: Promise<void>; received: number }> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port, localAddress }) as net.Socket & { gone: Promise<void>; received: number };
      sockets.push(sock);
      sock.received = 0;
      sock.on('data', (c: Buffer) => (sock.received += c.length));
      sock.gone = new Promise((r) => sock.once('close', () => r()));
      sock.on('error', () => undefined);
      sock.once('connect', () => resolve(sock));
      sock.once('error', reject);
    });
  }

  afterEach(async () => {
    sockets.splice(0).forEach((s) => s.destroy());
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('has safe defaults, and binds 127.0.0.1 unless told otherwise', () => {
    const s = new MllpServer({ port: 0 });
    assert.equal(s.options.host, '127.0.0.1');
    assert.deepEqual(s.limits, {
      maxConnections: 100,
      maxConnectionsPerAddress: 20,
      idleTimeoutMs: 600_000,
      frameTimeoutMs: 60_000,
      maxBufferedBytes: 64 * 1024 * KiB,
      maxPendingWriteBytes: 1024 * KiB,
    });
    assert.equal(new MllpServer({ port: 0, maxMessageSize: 100 * 1024 * KiB }).limits.maxBufferedBytes, 100 * 1024 * KiB, 'the budget holds one message of the largest size');
  });

  it('refuses (closes at once) a connection beyond maxConnections, counts it, and accepts again once one closes', async () => {
    const { server, port, hits } = await start({ maxConnections: 3, maxConnectionsPerAddress: 0 });
    let accepted = 0;
    server.on('connection', () => accepted++);
    const open = [await connect(port), await connect(port), await connect(port)];
    await until(() => server.connections.size === 3, 'three connections');
    const refused = await connect(port);
    await refused.gone;
    assert.equal(accepted, 3);
    assert.equal(server.limitHits['max-connections'], 1);
    assert.deepEqual(hits.map((h) => [h.limit, h.connectionId, h.first, h.remoteAddress]), [['max-connections', null, true, '127.0.0.1']]);
    open[0].destroy();
    await until(() => server.connections.size === 2, 'one connection closed');
    const again = await connect(port);
    again.write(encodeFrame(sampleMessage('AGAIN')));
    await until(() => accepted === 4, 'a fourth connection accepted');
    assert.equal(server.limitHits['max-connections'], 1);
  });

  it('refuses a connection beyond maxConnectionsPerAddress, while another address still gets in', async () => {
    const { server, port, hits } = await start({ maxConnections: 0, maxConnectionsPerAddress: 2 });
    await connect(port);
    await connect(port);
    await until(() => server.connections.size === 2, 'two connections');
    const third = await connect(port);
    await third.gone;
    assert.equal(server.limitHits['max-connections-per-address'], 1);
    assert.equal(hits[0].limit, 'max-connections-per-address');
    let other: net.Socket | null = null;
    try {
      other = await connect(port, '127.0.0.2');
    } catch {
      return; // this system does not route 127.0.0.2: the per-address count is shown above
    }
    await until(() => server.connections.size === 3, 'the connection from 127.0.0.2');
    assert.equal(server.limitHits['max-connections-per-address'], 1);
    assert.ok(!other.destroyed);
  });

  it('closes a connection on which nothing is received or sent for idleTimeoutMs', async () => {
    const { server, port, hits } = await start({ idleTimeoutMs: 200 });
    server.on('message', (_m, conn) => void conn.send('MSH|^~\\&|ACK'));
    const sock = await connect(port);
    sock.write(encodeFrame(sampleMessage('IDLE1')));
    await until(() => sock.received > 0, 'the reply');
    await sock.gone;
    assert.equal(server.limitHits['idle-timeout'], 1);
    assert.equal(hits[0].limit, 'idle-timeout');
    assert.ok(hits[0].connectionId);
    await until(() => server.connections.size === 0, 'the connection forgotten');
  });

  it('closes a slowloris connection (one byte at a time, the frame never completed) after frameTimeoutMs, idle time-out or not', async () => {
    const { server, port, messages } = await start({ frameTimeoutMs: 300, idleTimeoutMs: 0 });
    const sock = await connect(port);
    const frame = encodeFrame(sampleMessage('SLOW1'));
    let sent = 0;
    sock.write(frame.subarray(0, 1)); // VT: a frame starts
    sent++;
    const closed = sock.gone.then(() => true);
    while (!(await Promise.race([closed, delay(20).then(() => false)])) && sent < frame.length - 2) {
      sock.write(frame.subarray(sent, sent + 1));
      sent++;
    }
    await sock.gone;
    assert.equal(server.limitHits['frame-timeout'], 1);
    assert.equal(server.limitHits['idle-timeout'], 0);
    assert.equal(messages.length, 0);
    assert.ok(sent < frame.length - 2, 'closed before the frame could be completed');
  });

  it('closes a connection that trickles bytes outside any frame after frameTimeoutMs too', async () => {
    const { server, port } = await start({ frameTimeoutMs: 300, idleTimeoutMs: 0 });
    const sock = await connect(port);
    const closed = sock.gone.then(() => true);
    while (!(await Promise.race([closed, delay(20).then(() => false)]))) sock.write('x');
    assert.equal(server.limitHits['frame-timeout'], 1);
  });

  it('keeps a connection open between frames (a trailing LF after each frame is not a frame under way)', async () => {
    const { server, port, messages } = await start({ frameTimeoutMs: 100, idleTimeoutMs: 0 });
    const sock = await connect(port);
    sock.write(Buffer.concat([encodeFrame(sampleMessage('LF1')), Buffer.from('\n')]));
    await until(() => messages.length === 1, 'the message');
    // no frame under way: no frame timer; the connection is still usable after the time-out has passed
    await delay(300);
    sock.write(encodeFrame(sampleMessage('LF2')));
    await until(() => messages.length === 2, 'the second message');
    assert.equal(server.limitHits['frame-timeout'], 0);
    assert.ok(!sock.destroyed);
  });

  it('holds at most maxBufferedBytes of unfinished frames for all connections; a frame beyond it is dropped and reported (oversize, reason budget)', async () => {
    const { server, port, hits, messages } = await start({ maxMessageSize: 100 * KiB, maxBufferedBytes: 150 * KiB, frameTimeoutMs: 0 });
    const oversize: { reason: string; size: number; head: string }[] = [];
    server.on('oversize', (info) => oversize.push({ reason: info.reason, size: info.size, head: info.head.subarray(0, 3).toString() }));
    const body = (id: string) => Buffer.concat([Buffer.from(sampleMessage(id)), Buffer.alloc(90 * KiB - 200, 0x61)]);
    const a = await connect(port);
    const b = await connect(port);
    const bodyA = body('BUDGET-A');
    const bodyB = body('BUDGET-B');
    a.write(Buffer.concat([Buffer.from([VT]), bodyA]));
    await until(() => server.bufferedBytes === bodyA.length, 'A buffered');
    b.write(Buffer.concat([Buffer.from([VT]), bodyB]));
    await until(() => hits.length === 1, 'the budget hit');
    assert.deepEqual([hits[0].limit, hits[0].first], ['buffer-budget', true]);
    assert.ok(server.bufferedBytes <= 150 * KiB, `${server.bufferedBytes} bytes held`);
    b.write(Buffer.from([FS, CR]));
    a.write(Buffer.from([FS, CR]));
    await until(() => messages.length === 1 && oversize.length === 1, 'A delivered, B reported');
    assert.ok(messages[0].equals(bodyA), 'A arrives intact');
    assert.deepEqual(oversize, [{ reason: 'budget', size: bodyB.length, head: 'MSH' }]);
    assert.equal(server.bufferedBytes, 0, 'every byte given back');
    // the budget is free again: B's next message goes through
    b.write(encodeFrame(bodyB));
    await until(() => messages.length === 2, "B's message");
    assert.equal(server.limitHits['buffer-budget'], 1);
  });

  it('gives the bytes of an unfinished frame back when its connection closes (100 unfinished frames never hold more than the budget)', async () => {
    const { server, port } = await start({ maxMessageSize: 64 * KiB, maxBufferedBytes: 256 * KiB, frameTimeoutMs: 0, maxConnectionsPerAddress: 0 });
    let peak = 0;
    const socks = [];
    for (let i = 0; i < 100; i++) {
      const s = await connect(port);
      socks.push(s);
      s.write(Buffer.concat([Buffer.from([VT]), Buffer.alloc(60 * KiB, 0x61)]));
    }
    await until(() => server.limitHits['buffer-budget'] >= 96 && server.bufferedBytes > 0, 'the budget used up');
    peak = Math.max(peak, server.bufferedBytes);
    assert.ok(peak <= 256 * KiB, `${peak} bytes held`);
    socks.forEach((s) => s.destroy());
    await until(() => server.connections.size === 0, 'every connection closed');
    assert.equal(server.bufferedBytes, 0);
  });

  it('stops reading a connection whose peer does not read its replies, and resumes when it does (backpressure); no frame time-out while paused', async () => {
    const maxPendingWriteBytes = 64 * KiB;
    const reply = 'MSH|^~\\&|ACK|' + 'r'.repeat(32 * KiB);
    const { server, port, hits } = await start({ maxPendingWriteBytes, idleTimeoutMs: 0, frameTimeoutMs: 200 });
    let received = 0;
    let maxQueued = 0;
    server.on('message', (_m, conn) => {
      received++;
      void conn.send(reply).catch(() => undefined);
      maxQueued = Math.max(maxQueued, conn.socket.writableLength);
    });
    const sock = await connect(port);
    sock.pause(); // the peer does not read
    const total = 1500;
    const frames = Buffer.concat(Array.from({ length: total }, (_, i) => encodeFrame(sampleMessage(`BP${i}`))));
    sock.write(frames);
    await until(() => hits.some((h) => h.limit === 'backpressure'), 'reading paused');
    const [conn] = server.connections.values();
    assert.ok(conn.paused);
    assert.ok(received < total, `${received} of ${total} messages read while the replies are not`);
    // replies queued in the process never exceed the threshold by more than one reply
    assert.ok(maxQueued <= maxPendingWriteBytes + reply.length + 3, `${maxQueued} reply bytes queued`);
    // the stall is the server's: a frame cut by the pause is not timed out, however long the pause lasts
    await delay(500);
    assert.equal(server.limitHits['frame-timeout'], 0);
    // the peer reads again: everything goes through, in order
    let replies = 0;
    sock.removeAllListeners('data');
    sock.on('data', (c: Buffer) => {
      for (let i = c.indexOf(FS); i >= 0; i = c.indexOf(FS, i + 1)) replies++;
    });
    sock.resume();
    await until(() => replies === total, 'every reply', 20_000);
    assert.equal(received, total);
    assert.equal(server.limitHits['frame-timeout'], 0);
    assert.ok(maxQueued <= maxPendingWriteBytes + reply.length + 3, `${maxQueued} reply bytes queued`);
    const paused = hits.filter((h) => h.limit === 'backpressure');
    assert.equal(server.limitHits.backpressure, paused.length);
    assert.deepEqual(
      paused.map((h) => h.first),
      [true, ...paused.slice(1).map(() => false)],
      'first is set only on the first hit of a connection',
    );
  });

  it('a normal exchange hits no limit', async () => {
    const { server, port } = await start({});
    server.on('message', (m, conn) => void conn.send(m));
    const sock = await RawMllpSocket.connect(port);
    for (let i = 0; i < 20; i++) assert.ok((await sock.request(sampleMessage(`OK${i}`))).includes(`OK${i}`));
    await sock.close();
    assert.deepEqual(Object.values(server.limitHits), [0, 0, 0, 0, 0, 0]);
  });
});
