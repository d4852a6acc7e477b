import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import adtToIns = require('../../nodes/adt-to-ins/adt-to-ins');
import insStore = require('../../nodes/ins-store/ins-store');
import { openStores, resolveStoreFile } from '../../nodes/shared/stores';
import { parseAck } from '../../lib/hl7';
import type { IdentityStore } from '../../lib/store';
import { adtMessage } from '../fixtures/adt';
import { until, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['ins-store', 'adt-to-ins'], [insStore, adtToIns]);

/** File descriptors of this process open on `file` (Linux only: null elsewhere). */
function openDescriptors(file: string): number | null {
  if (!fs.existsSync('/proc/self/fd')) return null;
  let count = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === file) count++;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

describe('ins-store configuration node', function () {
  this.timeout(20_000);
  let tmp: string;
  let n = 0;

  before(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ins-store-')));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({}); // back to the default settings (userDir)
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  /** Sends an ADT message to adt-to-ins 'n' and resolves with its ACK message (helper 'ack'). */
  function ackOf(payload: string): Promise<Msg> {
    return new Promise((resolve) => {
      const ack = helper.getNode('ack');
      const listener = (m: Msg) => {
        ack.removeListener('input', listener);
        resolve(m);
      };
      ack.on('input', listener);
      helper.getNode('n').receive({ payload });
    });
  }

  function adtFlow(storeNode: Msg): Msg[] {
    return [
      storeNode,
      { id: 'n', type: 'adt-to-ins', store: storeNode.id, valiQualified: false, wires: [['out'], ['ack']] },
      { id: 'out', type: 'helper' },
      { id: 'ack', type: 'helper' },
    ];
  }

  it('defaults to <userDir>/segur-dpi/ins-store.db, created with its folder, in WAL mode', async () => {
    const userDir = path.join(tmp, `user-${++n}`);
    helper.settings({ userDir });
    await helper.load(NODES, adtFlow({ id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file: '' }));
    const st = helper.getNode('st');
    const file = path.join(userDir, 'segur-dpi', 'ins-store.db');
    assert.equal(st.file, file);
    assert.equal(st.engine, 'sqlite');
    assert.equal(st.openError, null);
    assert.ok(fs.existsSync(file));
    assert.equal(st.getStore(), st.store);
    const ack = await ackOf(adtMessage());
    assert.equal(ack.ack.code, 'AA');
    assert.equal(ack.insStore.file, file);
    assert.ok(fs.existsSync(`${file}-wal`), 'WAL mode: the -wal file is there while the database is open');
    await helper.unload();
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM identity').get() as { n: number }).n, 1);
    } finally {
      db.close();
    }
  });

  it('resolves a relative path from the user directory', async () => {
    const userDir = path.join(tmp, `user-${++n}`);
    helper.settings({ userDir });
    await helper.load(NODES, [{ id: 'st', type: 'ins-store', engine: 'sqlite', file: 'data/identities.db' }]);
    assert.equal(helper.getNode('st').file, path.join(userDir, 'data', 'identities.db'));
    assert.ok(fs.existsSync(path.join(userDir, 'data', 'identities.db')));
    assert.equal(resolveStoreFile('/abs/x.db', userDir), path.resolve('/abs/x.db'));
    assert.equal(resolveStoreFile('', undefined), path.join(os.homedir(), '.node-red', 'segur-dpi', 'ins-store.db'));
  });

  it('two configuration nodes naming the same file share one database, closed with the last one', async () => {
    const file = path.join(tmp, `shared-${++n}.db`);
    await helper.load(NODES, [
      { id: 's1', type: 'ins-store', name: 'one', engine: 'sqlite', file },
      { id: 's2', type: 'ins-store', name: 'two', engine: 'sqlite', file: path.join(tmp, 'x', '..', path.basename(file)) },
      { id: 's3', type: 'ins-store', name: 'other', engine: 'sqlite', file: `${file}.other` },
    ]);
    const [s1, s2, s3] = ['s1', 's2', 's3'].map((id) => helper.getNode(id));
    assert.equal(s1.file, s2.file);
    assert.ok(s1.store);
    assert.equal(s1.store, s2.store, 'one open store');
    assert.notEqual(s1.store, s3.store);
    assert.equal(openStores()[file], 2);
    assert.equal(openStores()[`${file}.other`], 1);
    assert.equal(await s1.store.checkpointsStarted(), true);
    const descriptors = openDescriptors(file);
    if (descriptors !== null) assert.equal(descriptors, 2, "one SQLite connection on the file, and its checkpoints' worker's");
    await helper.unload();
    assert.equal(openStores()[file], undefined, 'closed when the last user stops');
    assert.equal(openStores()[`${file}.other`], undefined);
    assert.equal(s1.store, null);
    assert.throws(() => s1.getStore(), /is closed/);
  });

  it('keeps its data across redeploys (closed, then opened again)', async () => {
    const file = path.join(tmp, `redeploy-${++n}.db`);
    const flow = adtFlow({ id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file });
    await helper.load(NODES, flow);
    const first: IdentityStore = helper.getNode('st').store;
    assert.equal((await ackOf(adtMessage({ controlId: 'R1' }))).insStore.outcome, 'applied');

    await helper.setFlows(flow, 'full'); // every node stopped and started again
    await until(() => Boolean(helper.getNode('st')?.store), 'the redeployed store');
    const second: IdentityStore = helper.getNode('st').store;
    assert.notEqual(second, first, 'closed then opened again');
    assert.equal(openStores()[file], 1);
    assert.equal((await second.byIpp('123456'))?.patient.birthName, 'MARTIN');
    const again = await ackOf(adtMessage({ controlId: 'R1' }));
    assert.equal(again.insStore.outcome, 'duplicate', 'the idempotence table survived');
    assert.equal(parseAck(again.payload).code, 'AA');

    await helper.unload();
    await helper.load(NODES, flow);
    const third: IdentityStore = helper.getNode('st').store;
    assert.equal((await third.history('1.2.250.1.999.1.1|123456')).length, 1);
    assert.equal((await third.stats()).messages, 1);
  });

  it('a redeploy that keeps the configuration node keeps the database open', async () => {
    const file = path.join(tmp, `nodes-${++n}.db`);
    const flow = adtFlow({ id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file });
    await helper.load(NODES, flow);
    const before = helper.getNode('st').store;
    const changed = flow.map((node) => (node.id === 'n' ? { ...node, name: 'renamed' } : node));
    await helper.setFlows(changed, 'nodes');
    await until(() => helper.getNode('n')?.name === 'renamed', 'the redeployed node');
    assert.equal(helper.getNode('st').store, before);
    assert.equal((await ackOf(adtMessage({ controlId: 'K1' }))).insStore.outcome, 'applied');
  });

  it('a folder that cannot be created: an error naming the file, no store', async () => {
    const blocker = path.join(tmp, `blocker-${++n}`);
    fs.writeFileSync(blocker, 'not a folder');
    const file = path.join(blocker, 'ins-store.db');
    await helper.load(NODES, [{ id: 'st', type: 'ins-store', engine: 'sqlite', file }]);
    const st = helper.getNode('st');
    assert.equal(st.store, null);
    assert.ok(st.openError.message.startsWith(`identity store ${file} cannot be opened: `), st.openError.message);
    assert.throws(() => st.getStore(), (err: Error) => err === st.openError);
    assert.equal(openStores()[file], undefined);
    const logged = helper.log().args.filter((a: Msg[]) => a[0].level === helper.log().ERROR && String(a[0].msg).includes(file));
    assert.equal(logged.length, 1, 'node.error naming the file');
  });

  it('a file that is not a database: an error naming the file, and the file is not left open', async () => {
    const file = path.join(tmp, `corrupt-${++n}.db`);
    fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
    await helper.load(NODES, adtFlow({ id: 'st', type: 'ins-store', engine: 'sqlite', file }));
    const st = helper.getNode('st');
    assert.equal(st.store, null);
    assert.match(st.openError.message, /cannot be opened: .*not a database/);
    assert.ok(st.openError.message.includes(file));
    const descriptors = openDescriptors(file);
    if (descriptors !== null) assert.equal(descriptors, 0);
    const ack = await ackOf(adtMessage());
    assert.equal(ack.ack.code, 'AR');
    assert.equal(parseAck(ack.payload).errors[0].code, '207');
    assert.equal(fs.readFileSync(file).subarray(0, 16).toString('hex'), Buffer.alloc(16, 0x5a).toString('hex'), 'the file is left as it was');
  });

  it('an engine it does not know: an error, no store', async () => {
    await helper.load(NODES, [{ id: 'st', type: 'ins-store', engine: 'postgresql', file: path.join(tmp, `pg-${++n}.db`) }]);
    const st = helper.getNode('st');
    assert.equal(st.store, null);
    assert.match(st.openError.message, /storage engine "postgresql" is not supported/);
  });
});
