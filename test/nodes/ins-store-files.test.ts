// Issue 11, "Not open to the network": every file holding patient data is created 0600 in a 0700
// folder — the identity store's database and its -wal and -shm files, like the exports.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import adtToIns = require('../../nodes/adt-to-ins/adt-to-ins');
import insStore = require('../../nodes/ins-store/ins-store');
import { adtMessage } from '../fixtures/adt';
import { until, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

const NODES = withMessages(['ins-store', 'adt-to-ins'], [insStore, adtToIns]);
const modeOf = (f: string) => (fs.statSync(f).mode & 0o777).toString(8);

describe('ins-store files are private (issue 11)', function () {
  this.timeout(20_000);
  let tmp: string;
  let umask: number;
  let n = 0;

  before(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ins-store-files-')));
    umask = process.umask(0o022); // the usual umask, under which the database used to be 0644
  });
  after(() => {
    process.umask(umask);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  /** Loads an ins-store (file as given) with an adt-to-ins, and records one identity (so -wal and -shm exist). */
  async function recordOne(file: string): Promise<void> {
    await helper.load(NODES, [
      { id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file },
      { id: 'n', type: 'adt-to-ins', store: 'st', wires: [['out'], ['ack']] },
      { id: 'out', type: 'helper' },
      { id: 'ack', type: 'helper' },
    ]);
    assert.equal(helper.getNode('st').openError, null);
    let acked = false;
    helper.getNode('ack').on('input', () => (acked = true));
    helper.getNode('n').receive({ payload: adtMessage({ controlId: `FILES-${++n}` }) });
    await until(() => acked, 'the ACK');
  }

  it('creates segur-dpi/ 0700 and ins-store.db, -wal and -shm 0600 in the user dir', async () => {
    const userDir = path.join(tmp, 'user-default');
    helper.settings({ userDir });
    await recordOne('');
    const dir = path.join(userDir, 'segur-dpi');
    const db = path.join(dir, 'ins-store.db');
    assert.deepEqual(
      [dir, db, `${db}-wal`, `${db}-shm`].map((f) => [path.relative(userDir, f), modeOf(f)]),
      [
        ['segur-dpi', '700'],
        ['segur-dpi/ins-store.db', '600'],
        ['segur-dpi/ins-store.db-wal', '600'],
        ['segur-dpi/ins-store.db-shm', '600'],
      ],
    );
  });

  it('creates every missing folder of a configured path 0700', async () => {
    const userDir = path.join(tmp, 'user-nested');
    helper.settings({ userDir });
    await recordOne('data/identities/ins.db');
    assert.equal(modeOf(path.join(userDir, 'data')), '700');
    assert.equal(modeOf(path.join(userDir, 'data', 'identities')), '700');
    assert.equal(modeOf(path.join(userDir, 'data', 'identities', 'ins.db')), '600');
  });

  it('makes a database written by an earlier release (0644, with its -wal and -shm) private when it is opened', async () => {
    const dir = path.join(tmp, 'earlier');
    fs.mkdirSync(dir, { mode: 0o755 });
    const file = path.join(dir, 'ins-store.db');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    assert.deepEqual([file, `${file}-wal`, `${file}-shm`].map(modeOf), ['644', '644', '644'], 'as earlier releases left them');
    try {
      await recordOne(file);
      assert.deepEqual([file, `${file}-wal`, `${file}-shm`].map(modeOf), ['600', '600', '600']);
    } finally {
      old.close();
    }
  });
});
