// End to end, in a real Node-RED: mllp-in → function (builds the ACK by hand) → mllp-response,
// 1,000 messages over 10 concurrent MLLP connections.
import { strict as assert } from 'node:assert';
import { NodeRed, getFreePort } from './harness';
import { ackFlow, connectRetry } from './mllp-flows';
import { msaOf, sampleMessage } from '../support/mllp';

describe('e2e: MLLP in a real Node-RED', function () {
  this.timeout(60_000);
  let red: NodeRed | null = null;
  let mllpPort = 0;

  before(async () => {
    mllpPort = await getFreePort();
    red = await NodeRed.start({ flows: ackFlow(mllpPort) });
  });
  after(async () => {
    await red?.stop();
  });

  it('acknowledges 1,000 messages over 10 concurrent connections with the right MSA-2', async () => {
    const CONNECTIONS = 10;
    const PER_CONNECTION = 100;
    const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, () => connectRetry(mllpPort)));
    const mismatches: string[] = [];
    let acked = 0;
    try {
      await Promise.all(
        sockets.map(async (sock, c) => {
          for (let i = 0; i < PER_CONNECTION; i++) {
            const id = `E2E-${c}-${i}`;
            const ack = msaOf(await sock.request(sampleMessage(id), 10_000));
            if (ack.code !== 'AA' || ack.controlId !== id) mismatches.push(`${id} → ${ack.code} ${ack.controlId}`);
            acked++;
          }
        }),
      );
    } finally {
      await Promise.all(sockets.map((s) => s.close()));
    }
    assert.equal(acked, CONNECTIONS * PER_CONNECTION);
    assert.deepEqual(mismatches, []);
    // nothing of the messages in the log (the sample patient's name), no error
    assert.doesNotMatch(red!.output, /TEST\^PATIENT/);
    assert.doesNotMatch(red!.output, /\[error\]/);
  });

  it('issue 12: a full deploy (POST /flows, Node-RED-Deployment-Type: full) that changes another node keeps a connected sender connected and answered', async () => {
    const sock = await connectRetry(mllpPort);
    let closed = false;
    void sock.closed.then(() => (closed = true));
    try {
      assert.deepEqual(msaOf(await sock.request(sampleMessage('DEPLOY-1'))), { code: 'AA', controlId: 'DEPLOY-1' });
      const mark = red!.output.length;
      const flows = ackFlow(mllpPort).map((n) => (n.id === 'e2e-fn' ? { ...n, name: 'build ACK (changed)' } : n));
      await red!.deploy(flows);
      assert.match(red!.output.slice(mark), /Stopping flows[\s\S]*Started flows/, 'a full deploy: every node stopped and started');
      assert.match(red!.output.slice(mark), /kept through the deploy, 1 connection\(s\) open/);
      assert.deepEqual(msaOf(await sock.request(sampleMessage('DEPLOY-2'))), { code: 'AA', controlId: 'DEPLOY-2' });
      // the deployed flows are the new ones: the function node's new name is what runs
      const running = (await red!.request('GET', '/flows')).json<{ id: string; name?: string }[]>();
      assert.equal(running.find((n) => n.id === 'e2e-fn')?.name, 'build ACK (changed)');
      assert.equal(closed, false, 'never disconnected');
    } finally {
      await sock.close();
    }
  });

  it('serves again after a restart of Node-RED (same user dir)', async () => {
    await red!.restart();
    const sock = await connectRetry(mllpPort);
    try {
      assert.deepEqual(msaOf(await sock.request(sampleMessage('AFTER-RESTART'))), { code: 'AA', controlId: 'AFTER-RESTART' });
    } finally {
      await sock.close();
    }
  });
});
