// issue 12: "every deploy restarts every MLLP listener and drops connected senders, even when the deploy did
// not touch them". Node-RED's editor deploys "Full" by default — every node is stopped and started again —,
// so mllp-in hands its listener over (lib/mllp/listeners.ts) to the node that replaces it: flows redeployed
// here through the runtime's own setFlows, as the editor's Deploy does.
import { strict as assert } from 'node:assert';
import mllpIn = require('../../nodes/mllp-in/mllp-in');
import mllpResponse = require('../../nodes/mllp-response/mllp-response');
import { sharedListeners } from '../../lib/mllp/listeners';
import { RawMllpSocket, freePort, msaOf, sampleMessage } from '../support/mllp';
import { statusesOf, until, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['mllp-in', 'mllp-response'], [mllpIn, mllpResponse]);

/** A tab: mllp-in (auto-ACK) → helper 'h', and a helper 'other' (the node a deploy changes). */
function flow(port: number, o: { other?: string; maxSize?: number; inId?: string; withIn?: boolean } = {}): Msg[] {
  const nodes: Msg[] = [{ id: 'tab', type: 'tab', label: 'MLLP' }];
  if (o.withIn !== false) {
    nodes.push({ id: o.inId ?? 'in', z: 'tab', type: 'mllp-in', name: '', port, host: '127.0.0.1', tls: '', maxSize: o.maxSize ?? 10, maxSizeUnit: 'MiB', autoAck: true, wires: [['h']] });
  }
  nodes.push({ id: 'h', z: 'tab', type: 'helper', wires: [] }, { id: 'other', z: 'tab', type: 'helper', name: o.other ?? 'a', wires: [] });
  return nodes;
}

describe('mllp-in across deploys (issue 12)', function () {
  this.timeout(20_000);
  const sockets: RawMllpSocket[] = [];

  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    sockets.splice(0).forEach((s) => s.socket.destroy());
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    await until(() => Object.keys(sharedListeners()).length === 0, 'no listener left once the runtime stops');
  });

  async function connect(port: number): Promise<RawMllpSocket> {
    const end = Date.now() + 5000;
    for (;;) {
      try {
        const s = await RawMllpSocket.connect(port);
        sockets.push(s);
        return s;
      } catch (err) {
        if (Date.now() > end) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Sends a message, expects AA, and the msg the helper 'h' got for it. */
  async function exchange(sock: RawMllpSocket, controlId: string): Promise<Msg> {
    const got: Msg[] = [];
    const h = helper.getNode('h');
    h.on('input', (m: Msg) => got.push(m));
    assert.deepEqual(msaOf(await sock.request(sampleMessage(controlId))), { code: 'AA', controlId });
    await until(() => got.some((m) => m.hl7?.controlId === controlId), `${controlId} on the helper`);
    return got.find((m) => m.hl7?.controlId === controlId) as Msg;
  }

  it('a full deploy that changes another node keeps the listener and its connections: the sender stays connected and the new node answers it', async () => {
    const port = await freePort();
    await helper.load(NODES, flow(port));
    const sock = await connect(port);
    let closed = false;
    void sock.closed.then(() => (closed = true));
    const before = await exchange(sock, 'KEEP-1');
    const oldNode = helper.getNode('in');

    await helper.setFlows(flow(port, { other: 'b' }), 'full');
    const newNode = helper.getNode('in');
    assert.notEqual(newNode, oldNode, 'a full deploy made a new mllp-in node');
    const after = await exchange(sock, 'KEEP-2');
    assert.equal(closed, false, 'the sender was never disconnected');
    assert.equal(after.mllp.connectionId, before.mllp.connectionId, 'the same connection');
    await until(() => statusesOf(newNode).some((s) => s.text === `listening :${port} · 1 connection`), 'the new node counts the connection');
    assert.deepEqual(sharedListeners(), { [`127.0.0.1:${port}`]: 'mllp-in in' });

    // and again (a second deploy hands it over again)
    await helper.setFlows(flow(port, { other: 'c' }), 'full');
    assert.equal((await exchange(sock, 'KEEP-3')).mllp.connectionId, before.mllp.connectionId);
    assert.equal(closed, false);
  });

  it('a deploy that changes the listener (its maximum size) opens it again: its connections close, new ones are served', async () => {
    const port = await freePort();
    await helper.load(NODES, flow(port));
    const sock = await connect(port);
    await exchange(sock, 'CONF-1');
    await helper.setFlows(flow(port, { maxSize: 5 }), 'full');
    await sock.closed;
    const again = await connect(port);
    await exchange(again, 'CONF-2');
  });

  it('a deploy that removes the mllp-in closes its listener and its connections', async () => {
    const port = await freePort();
    await helper.load(NODES, flow(port));
    const sock = await connect(port);
    await exchange(sock, 'GONE-1');
    await helper.setFlows(flow(port, { withIn: false }), 'full');
    await sock.closed;
    assert.deepEqual(sharedListeners(), {});
    await assert.rejects(RawMllpSocket.connect(port), /ECONNREFUSED/);
  });

  it('a deploy that moves the mllp-in to another port closes the old listener once the new flows have started', async () => {
    const [port, next] = [await freePort(), await freePort()];
    await helper.load(NODES, flow(port));
    const sock = await connect(port);
    await exchange(sock, 'MOVE-1');
    await helper.setFlows(flow(next), 'full');
    await sock.closed;
    await exchange(await connect(next), 'MOVE-2');
    assert.deepEqual(sharedListeners(), { [`127.0.0.1:${next}`]: 'mllp-in in' });
  });

  it('a "modified nodes" deploy that does not touch the mllp-in leaves it running (the same node)', async () => {
    const port = await freePort();
    await helper.load(NODES, flow(port));
    const sock = await connect(port);
    const before = await exchange(sock, 'NODES-1');
    const oldNode = helper.getNode('in');
    await helper.setFlows(flow(port, { other: 'b' }), 'nodes');
    assert.equal(helper.getNode('in'), oldNode);
    assert.equal((await exchange(sock, 'NODES-2')).mllp.connectionId, before.mllp.connectionId);
  });

  it('two mllp-in of the flows on one address: the second says the port is taken and by which node', async () => {
    const port = await freePort();
    const nodes = flow(port);
    nodes.push({ id: 'in2', z: 'tab', type: 'mllp-in', name: 'twin', port, host: '127.0.0.1', tls: '', maxSize: 10, maxSizeUnit: 'MiB', autoAck: true, wires: [[]] });
    await helper.load(NODES, nodes);
    const twin = helper.getNode('in2');
    await until(() => statusesOf(twin).some((s) => s.fill === 'red'), 'a red status');
    assert.deepEqual(
      statusesOf(twin).find((s) => s.fill === 'red'),
      { fill: 'red', shape: 'ring', text: `port ${port} in use` },
    );
    const errors = twin.error.getCalls().filter((c: { thisValue: unknown }) => c.thisValue === twin).map((c: { args: unknown[] }) => String(c.args[0]));
    assert.deepEqual(errors, [
      `cannot listen on 127.0.0.1:${port}: the port is taken by mllp-in in of this Node-RED — choose another port`,
    ]);
    await exchange(await connect(port), 'TWIN-1');
  });
});
