// lib/mllp/listeners.ts: a listener outlives its owner across a redeploy — held (listening, connections open,
// nothing read) until a new owner with the same configuration takes it, connections and unread messages
// included; closed when nobody does (issue 12).
import { strict as assert } from 'node:assert';
import { MllpConnection, MllpLimitHit, MllpServerOptions } from '../../lib/mllp';
import { ListenerOwner, ListenerTaken, claimListener, closeUnclaimed, releaseListener, sharedListeners } from '../../lib/mllp/listeners';
import { connections } from '../../lib/mllp/registry';
import { RawMllpSocket, controlIdOf, delay, freePort, msaOf, sampleMessage, simpleAck } from '../support/mllp';

/** An owner that answers AA to each message and records what it heard. */
class Owner implements ListenerOwner {
  readonly messages: string[] = [];
  readonly opened: string[] = [];
  readonly closed: string[] = [];
  constructor(readonly id: string) {}
  message(buf: Buffer, conn: MllpConnection): void {
    const text = buf.toString('utf8');
    this.messages.push(controlIdOf(text));
    void conn.send(simpleAck(controlIdOf(text)));
  }
  oversize(): void {}
  junk(): void {}
  limit(_hit: MllpLimitHit): void {}
  clientError(): void {}
  error(): void {}
  connection(conn: MllpConnection): void {
    this.opened.push(conn.id);
  }
  disconnect(conn: MllpConnection): void {
    this.closed.push(conn.id);
  }
}

describe('MLLP listeners shared across redeploys (lib/mllp/listeners)', () => {
  const sockets: RawMllpSocket[] = [];
  afterEach(async () => {
    sockets.splice(0).forEach((s) => s.socket.destroy());
    await closeUnclaimed();
    const left = Object.keys(sharedListeners());
    if (left.length) assert.fail(`still open: ${left.join(', ')}`);
  });
  async function open(port: number) {
    const s = await RawMllpSocket.connect(port);
    sockets.push(s);
    return s;
  }
  const options = async (extra: Partial<MllpServerOptions> = {}): Promise<MllpServerOptions> => ({ port: await freePort(), host: '127.0.0.1', ...extra });

  it('a released listener is held: a message sent meanwhile is not read, then reaches the next owner, who answers on the same connection', async () => {
    const opts = await options();
    const first = new Owner('first');
    const a = await claimListener(opts, first);
    assert.equal(a.adopted, false);
    const sock = await open(opts.port);
    assert.deepEqual(msaOf(await sock.request(sampleMessage('HOLD-1'))), { code: 'AA', controlId: 'HOLD-1' });

    await releaseListener(a.server, first, { keep: true });
    assert.deepEqual(sharedListeners(), { [`127.0.0.1:${opts.port}`]: null }, 'held, nobody owns it');
    sock.send(sampleMessage('HOLD-2'));
    await delay(100); // a listener that read now would give the message to nobody
    assert.deepEqual(first.messages, ['HOLD-1'], 'the first owner hears nothing more');
    assert.equal(sock.frames.length, 0, 'not answered yet');

    const second = new Owner('second');
    const b = await claimListener(opts, second);
    assert.equal(b.adopted, true);
    assert.equal(b.server, a.server, 'the same listener');
    assert.equal(second.opened.length, 1, 'the new owner hears of the open connection');
    assert.ok(connections.has(second.opened[0]), 'mllp-response can still find it');
    assert.deepEqual(msaOf((await sock.next()).toString('utf8')), { code: 'AA', controlId: 'HOLD-2' }, 'the message sent meanwhile, answered by the new owner');
    assert.deepEqual(msaOf(await sock.request(sampleMessage('HOLD-3'))), { code: 'AA', controlId: 'HOLD-3' });
    assert.deepEqual(second.messages, ['HOLD-2', 'HOLD-3']);
    await releaseListener(b.server, second, { keep: false });
    await sock.closed;
  });

  it('a connection opened while the listener is held is served by the next owner', async () => {
    const opts = await options();
    const first = new Owner('first');
    const a = await claimListener(opts, first);
    await releaseListener(a.server, first, { keep: true });
    const sock = await open(opts.port);
    sock.send(sampleMessage('LATE-1'));
    await delay(50);
    const second = new Owner('second');
    const b = await claimListener(opts, second);
    assert.deepEqual(msaOf((await sock.next()).toString('utf8')), { code: 'AA', controlId: 'LATE-1' });
    await releaseListener(b.server, second, { keep: false });
  });

  it('nobody claims it: closed once the flows have started (closeUnclaimed), or after the grace period', async () => {
    const opts = await options();
    const owner = new Owner('gone');
    const a = await claimListener(opts, owner);
    const sock = await open(opts.port);
    await releaseListener(a.server, owner, { keep: true });
    await closeUnclaimed();
    await sock.closed;
    assert.deepEqual(sharedListeners(), {});

    const later = await options();
    const b = await claimListener(later, owner);
    const sock2 = await open(later.port);
    await releaseListener(b.server, owner, { keep: true, graceMs: 50 });
    await sock2.closed;
    assert.deepEqual(sharedListeners(), {});
  });

  it('another configuration for the same address: the held listener is closed (its connections with it) and a new one listens', async () => {
    const opts = await options();
    const first = new Owner('first');
    const a = await claimListener(opts, first);
    const sock = await open(opts.port);
    await releaseListener(a.server, first, { keep: true });
    const second = new Owner('second');
    const b = await claimListener({ ...opts, maxMessageSize: 1024 }, second);
    assert.equal(b.adopted, false);
    assert.notEqual(b.server, a.server);
    await sock.closed;
    const again = await open(opts.port);
    assert.deepEqual(msaOf(await again.request(sampleMessage('NEWCONF'))), { code: 'AA', controlId: 'NEWCONF' });
    await releaseListener(b.server, second, { keep: false });
  });

  it('an address owned by another owner is refused (ListenerTaken, EADDRINUSE) naming it; released without keeping: closed at once', async () => {
    const opts = await options();
    const first = new Owner('mllp-in a1');
    const a = await claimListener(opts, first);
    await assert.rejects(claimListener(opts, new Owner('mllp-in b2')), (err: unknown) => {
      assert.ok(err instanceof ListenerTaken);
      assert.equal(err.code, 'EADDRINUSE');
      assert.equal(err.owner, 'mllp-in a1');
      return true;
    });
    const sock = await open(opts.port);
    await releaseListener(a.server, first, { keep: false });
    await sock.closed;
    assert.deepEqual(sharedListeners(), {});
  });
});
