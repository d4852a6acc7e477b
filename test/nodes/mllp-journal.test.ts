// issue 14: what mllp in and mllp out journal — only the exchanges no business node journals (auto-ACK,
// refusals; every send and its answer) — what they report live to the console's dashboard, and the replay
// of a send through mllp out.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import insStore = require('../../nodes/ins-store/ins-store');
import mllpIn = require('../../nodes/mllp-in/mllp-in');
import mllpOut = require('../../nodes/mllp-out/mllp-out');
import type { IdentityStore } from '../../lib/store';
import { liveReports, replayHandler } from '../../nodes/shared/console-registry';
import { RawMllpSocket, delay, freePort, msaOf, sampleMessage } from '../support/mllp';
import { until, untilAsync, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['ins-store', 'mllp-in', 'mllp-out'], [insStore, mllpIn, mllpOut]);

describe('mllp in / mllp out: the message journal and the live values (issue 14)', function () {
  this.timeout(20_000);
  let tmp: string;
  let port: number;
  const got: Msg[] = [];

  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mllp-journal-'));
    port = await freePort();
    got.length = 0;
    await new Promise<void>((resolve) => helper.startServer(resolve));
    await helper.load(NODES, [
      { id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file: path.join(tmp, 'store.db') },
      { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', autoAck: true, store: 'st', wires: [['h']] },
      { id: 'out', type: 'mllp-out', name: 'to the listener', host: '127.0.0.1', port, ackTimeout: 5, retries: 0, store: 'st', wires: [['h2']] },
      { id: 'h', type: 'helper' },
      { id: 'h2', type: 'helper' },
    ]);
    helper.getNode('h').on('input', (m: Msg) => got.push(m));
    // the listener starts asynchronously
    for (const end = Date.now() + 3000; ; ) {
      try {
        (await RawMllpSocket.connect(port)).close();
        break;
      } catch (err) {
        if (Date.now() > end) throw err;
        await delay(20);
      }
    }
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const store = (): IdentityStore => helper.getNode('st').getStore() as IdentityStore;

  it('auto-ACK: one row per message (received, the AA), written before the AA; its id on the msg passed on', async () => {
    const sock = await RawMllpSocket.connect(port);
    assert.deepEqual(msaOf(await sock.request(sampleMessage('AUTO-J1'))), { code: 'AA', controlId: 'AUTO-J1' });
    const [row] = (await store().searchJournal({ controlId: 'AUTO-J1' })).entries;
    assert.ok(row, 'the row is there once the AA came');
    assert.deepEqual([row.node.type, row.direction, row.outcome, row.ack?.code], ['mllp-in', 'in', 'received', 'AA']);
    await until(() => got.length === 1, 'the msg');
    assert.equal(got[0].journalId, row.id);
    sock.close();
  });

  it('mllp out: one row per send with the answer received (acknowledged), linked to the producing row; the listener\'s own row apart', async () => {
    const outs: Msg[] = [];
    helper.getNode('h2').on('input', (m: Msg) => outs.push(m));
    helper.getNode('out').receive({ payload: sampleMessage('OUT-J1'), journalId: 7 });
    await until(() => outs.length === 1, 'the ACK');
    const rows = (await store().searchJournal({ controlId: 'OUT-J1' })).entries;
    const sent = rows.find((r) => r.node.type === 'mllp-out');
    assert.ok(sent);
    assert.deepEqual([sent.direction, sent.outcome, sent.ack?.code, sent.parentId, sent.receiver], ['out', 'acknowledged', 'AA', 7, `127.0.0.1:${port}`]);
    assert.equal(outs[0].journalId, sent.id);
    assert.ok((await store().journalContent(sent.id))?.answer?.length, 'the answer kept');
    const live = liveReports().find((r) => r.node === 'out');
    assert.deepEqual([live?.values.queue, live?.values.lastError], [0, null]);
    assert.equal(liveReports().find((r) => r.node === 'in')?.values.port, port);

    // the console's replay: sent again, a new row linked to the first, naming who asked
    const result = await replayHandler('out')!({ entry: sent, message: (await store().journalContent(sent.id))!.message!, originalId: sent.id, actor: 'console:alice' });
    assert.equal(result.outcome, 'acknowledged');
    const again = await store().journalEntry(result.journalId!);
    assert.deepEqual([again?.replayOf, again?.actor], [sent.id, 'console:alice']);
  });

  it('mllp out: no answer (nobody listens) is a failed row and the last error shown live', async () => {
    const closed = await freePort();
    helper.getNode('out').receive({ payload: sampleMessage('OUT-J2'), port: closed });
    await untilAsync(async () => (await store().searchJournal({ controlId: 'OUT-J2' })).entries.length === 1, 'the row');
    const [row] = (await store().searchJournal({ controlId: 'OUT-J2' })).entries;
    assert.equal(row.outcome, 'failed');
    assert.equal(row.ack, null);
    assert.ok(liveReports().find((r) => r.node === 'out')?.values.lastError, 'the last error');
  });
});
