import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { MllpClient, MllpClientOptions } from '../../lib/mllp/client';
import { MllpError } from '../../lib/mllp/errors';
import { MllpConnection, MllpServer } from '../../lib/mllp/server';
import { controlIdOf, delay, freePort, makeSelfSignedCert, msaOf, sampleMessage, simpleAck } from '../support/mllp';

type Handler = (text: string, conn: MllpConnection) => void;

/** An MLLP test server whose behaviour a test can change (answer, ignore, delay…). */
async function startServer(port = 0, handler: Handler = (t, c) => void c.send(simpleAck(controlIdOf(t)))) {
  const server = new MllpServer({ port, host: '127.0.0.1' });
  const received: string[] = [];
  const state = { handler, connections: 0 };
  server.on('connection', () => state.connections++);
  server.on('message', (buf, conn) => {
    const text = buf.toString('utf8');
    received.push(text);
    state.handler(text, conn);
  });
  const addr = await server.listen();
  return { server, port: addr.port, received, state };
}

describe('MLLP client', () => {
  const clients: MllpClient[] = [];
  const servers: MllpServer[] = [];
  const client = (opts: Partial<MllpClientOptions> & { port: number }) => {
    const c = new MllpClient({ host: '127.0.0.1', backoffBaseMs: 10, backoffMaxMs: 50, ...opts });
    clients.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('sends a message and resolves with its acknowledgement', async () => {
    const s = await startServer();
    servers.push(s.server);
    const c = client({ port: s.port });
    const res = await c.send(sampleMessage('C0001'));
    assert.deepEqual(msaOf(res.ack), { code: 'AA', controlId: 'C0001' });
    assert.equal(res.attempts, 1);
    assert.ok(res.ackBuffer.length > 0);
    assert.deepEqual(s.received, [sampleMessage('C0001')]);
  });

  it('keeps FIFO order with one message in flight at a time', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const s = await startServer(0, (text, conn) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // answer after a random delay, so that a client that did not wait would reorder
      setTimeout(() => {
        inFlight--;
        void conn.send(simpleAck(controlIdOf(text)));
      }, Math.random() * 5);
    });
    servers.push(s.server);
    const c = client({ port: s.port });
    const ids = Array.from({ length: 60 }, (_, i) => `ORD${String(i).padStart(3, '0')}`);
    const done: string[] = [];
    const results = await Promise.all(
      ids.map((id) =>
        c.send(sampleMessage(id)).then((r) => {
          done.push(id);
          return msaOf(r.ack).controlId;
        }),
      ),
    );
    assert.deepEqual(results, ids);
    assert.deepEqual(done, ids);
    assert.deepEqual(s.received.map(controlIdOf), ids);
    assert.equal(maxInFlight, 1);
    assert.equal(s.state.connections, 1);
  });

  it('on ACK timeout closes the connection, resends the same message, then fails with TIMEOUT', async () => {
    const s = await startServer(0, () => undefined); // never answers
    servers.push(s.server);
    const c = client({ port: s.port, ackTimeoutMs: 100, maxRetries: 2 });
    await assert.rejects(c.send(sampleMessage('T0001')), (err: MllpError) => {
      assert.equal(err.code, 'TIMEOUT');
      assert.equal(err.attempts, 3);
      assert.match(err.message, /no acknowledgement from 127\.0\.0\.1:\d+ within 100 ms \(3 attempts\)/);
      return true;
    });
    assert.equal(s.received.length, 3);
    assert.ok(s.received.every((m) => m === sampleMessage('T0001')));
    assert.equal(s.state.connections, 3, 'a new connection per attempt');
    // the queue goes on with the next message
    s.state.handler = (t, conn) => void conn.send(simpleAck(controlIdOf(t)));
    const ok = await c.send(sampleMessage('T0002'));
    assert.equal(msaOf(ok.ack).controlId, 'T0002');
  });

  it('succeeds on a retry when the first attempt times out', async () => {
    let n = 0;
    const s = await startServer(0, (t, conn) => {
      if (++n > 1) void conn.send(simpleAck(controlIdOf(t)));
    });
    servers.push(s.server);
    const c = client({ port: s.port, ackTimeoutMs: 100, maxRetries: 3 });
    const res = await c.send(sampleMessage('R0001'));
    assert.equal(res.attempts, 2);
    assert.equal(msaOf(res.ack).controlId, 'R0001');
  });

  it('honours a per-message ACK timeout', async () => {
    const s = await startServer(0, () => undefined);
    servers.push(s.server);
    const c = client({ port: s.port, ackTimeoutMs: 60_000, maxRetries: 0 });
    // the time-out the message asked for, as the error says (never a duration measured: issue 12)
    await assert.rejects(c.send(sampleMessage('P0001'), { ackTimeoutMs: 80 }), (err: MllpError) => {
      assert.equal(err.code, 'TIMEOUT');
      assert.match(err.message, /within 80 ms \(1 attempt/);
      return true;
    });
  });

  it('reconnects after the server restarts', async () => {
    const port = await freePort();
    let s = await startServer(port);
    servers.push(s.server);
    const c = client({ port });
    assert.equal(msaOf((await c.send(sampleMessage('S0001'))).ack).controlId, 'S0001');
    await s.server.close();
    servers.length = 0;
    // message sent while the server is down: retried with back-off until it is back
    const pending = c.send(sampleMessage('S0002'));
    await delay(60);
    s = await startServer(port);
    servers.push(s.server);
    const res = await pending;
    assert.equal(msaOf(res.ack).controlId, 'S0002');
    assert.ok(res.attempts >= 2);
    assert.equal(msaOf((await c.send(sampleMessage('S0003'))).ack).controlId, 'S0003');
  });

  it('resends a message whose connection is lost before the ACK', async () => {
    let n = 0;
    const s = await startServer(0, (t, conn) => {
      if (++n === 1) conn.close();
      else void conn.send(simpleAck(controlIdOf(t)));
    });
    servers.push(s.server);
    const c = client({ port: s.port });
    const res = await c.send(sampleMessage('L0001'));
    assert.equal(res.attempts, 2);
    assert.equal(s.received.length, 2);
  });

  it('fails with ECONNREFUSED when nothing listens, after the retries', async () => {
    const port = await freePort();
    const c = client({ port, maxRetries: 1 });
    await assert.rejects(c.send(sampleMessage('E0001')), (err: MllpError) => {
      assert.equal(err.code, 'ECONNREFUSED');
      assert.equal(err.attempts, 2);
      assert.match(err.message, /refused/);
      return true;
    });
    assert.equal(c.status.lastError?.code, 'ECONNREFUSED');
  });

  it('emits status changes with the queue length', async () => {
    const s = await startServer();
    servers.push(s.server);
    const c = client({ port: s.port });
    const states: string[] = [];
    c.on('status', (st) => states.push(`${st.state}:${st.queued}`));
    await Promise.all([c.send(sampleMessage('Q1')), c.send(sampleMessage('Q2'))]);
    assert.ok(states.includes('connecting:1'), states.join(' '));
    assert.ok(states.includes('connected:2') || states.includes('connecting:2'), states.join(' '));
    assert.equal(states[states.length - 1], 'connected:0');
  });

  it('close() rejects the queued messages with CLOSED', async () => {
    const s = await startServer(0, () => undefined);
    servers.push(s.server);
    const c = client({ port: s.port });
    const p1 = assert.rejects(c.send(sampleMessage('X1')), { code: 'CLOSED' });
    const p2 = assert.rejects(c.send(sampleMessage('X2')), { code: 'CLOSED' });
    await delay(50);
    await c.close();
    await Promise.all([p1, p2]);
    await assert.rejects(c.send(sampleMessage('X3')), { code: 'CLOSED' });
  });

  describe('over TLS', () => {
    const cert = makeSelfSignedCert();
    after(() => cert && fs.rmSync(cert.dir, { recursive: true, force: true }));

    it('sends through a TLS server trusted by its CA', async function () {
      if (!cert) this.skip();
      const server = new MllpServer({ port: 0, host: '127.0.0.1', tls: { key: cert!.key, cert: cert!.cert } });
      servers.push(server);
      server.on('message', (buf, conn) => void conn.send(simpleAck(controlIdOf(buf.toString()))));
      const { port } = await server.listen();
      const c = client({ port, host: 'localhost', tls: { ca: cert!.cert } });
      const res = await c.send(sampleMessage('TLS01'));
      assert.equal(msaOf(res.ack).controlId, 'TLS01');
    });

    it('fails at once (no retry) on an untrusted certificate', async function () {
      if (!cert) this.skip();
      const server = new MllpServer({ port: 0, host: '127.0.0.1', tls: { key: cert!.key, cert: cert!.cert } });
      servers.push(server);
      server.on('clientError', () => undefined);
      const { port } = await server.listen();
      const c = client({ port, tls: {}, maxRetries: 3 });
      await assert.rejects(c.send(sampleMessage('TLS02')), (err: MllpError) => {
        assert.match(err.code, /SELF_SIGNED|CERT/);
        assert.equal(err.attempts, 1);
        return true;
      });
    });
  });
});
