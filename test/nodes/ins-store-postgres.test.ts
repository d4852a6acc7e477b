// Issue 15: ins-store "selected … by a connection URL (user/password in Node-RED credentials; TLS options;
// pool size)", against the throwaway test cluster (test/support/postgres.ts).
import { strict as assert } from 'node:assert';
import pg from 'pg';
import adtToIns = require('../../nodes/adt-to-ins/adt-to-ins');
import insStore = require('../../nodes/ins-store/ins-store');
import { openStores } from '../../nodes/shared/stores';
import { PostgresIdentityStore } from '../../lib/store';
import { adtMessage } from '../fixtures/adt';
import { until, withMessages } from '../support/red-nodes';
import { dropDatabase, freshDatabase } from '../support/postgres';

const helper = require('node-red-node-test-helper');
const tlsNode = require('@node-red/nodes/core/network/05-tls.js');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['ins-store', 'adt-to-ins'], [insStore, adtToIns]);

describe('ins-store configuration node on PostgreSQL (issue 15)', function () {
  this.timeout(60_000);
  let url: string;

  beforeEach(async () => {
    url = await freshDatabase('node');
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    await dropDatabase(url);
  });

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
  const flow = (store: Msg): Msg[] => [
    store,
    { id: 'n', type: 'adt-to-ins', store: store.id, valiQualified: false, wires: [['out'], ['ack']] },
    { id: 'out', type: 'helper' },
    { id: 'ack', type: 'helper' },
  ];
  async function rows(table: string): Promise<number> {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return Number((await c.query(`SELECT COUNT(*) AS n FROM ${table}`)).rows[0].n);
    } finally {
      await c.end();
    }
  }

  it('engine postgres: the URL, the user and password from the credentials, the pool size; identities recorded in the database', async () => {
    const bare = url.replace('postgres@', '');
    await helper.load(NODES, flow({ id: 'st', type: 'ins-store', engine: 'postgres', url: bare, poolSize: 3 }), { st: { user: 'postgres', password: 's3cret' } });
    const st = helper.getNode('st');
    assert.equal(st.openError, null);
    assert.ok(st.store instanceof PostgresIdentityStore);
    assert.equal(st.file, url, 'named by its URL and user, without the password');
    assert.doesNotMatch(st.file, /s3cret/);
    assert.equal((st.store as PostgresIdentityStore).pool.options.max, 3);
    await (st.store as PostgresIdentityStore).ready;
    const ack = await ackOf(adtMessage({ controlId: 'PG1' }));
    assert.equal(ack.ack.code, 'AA');
    assert.equal(ack.insStore.outcome, 'applied');
    assert.equal(await rows('identity'), 1);
    assert.equal(await rows('journal'), 1, 'the journal row beside it (issue 14)');
    assert.equal((await ackOf(adtMessage({ controlId: 'PG1' }))).insStore.outcome, 'duplicate');
    await helper.unload();
    assert.equal(openStores()[url], undefined, 'the pool closed with the node');
  });

  it('two configuration nodes naming one database as one user share one pool', async () => {
    await helper.load(NODES, [
      { id: 's1', type: 'ins-store', engine: 'postgres', url },
      { id: 's2', type: 'ins-store', engine: 'postgres', url: `${url}?application_name=x` },
    ]);
    assert.equal(helper.getNode('s1').store, helper.getNode('s2').store);
    assert.equal(openStores()[url], 2);
  });

  it('a server that cannot be reached: the node says so, naming the URL without password; the messages it would record are answered AR', async () => {
    const dead = 'postgres://postgres:hidden@127.0.0.1:9/nowhere';
    await helper.load(NODES, flow({ id: 'st', type: 'ins-store', engine: 'postgres', url: dead }));
    const st = helper.getNode('st');
    await until(() => st.openError !== null, 'the connection error', 20_000);
    assert.match(st.openError.message, /postgres:\/\/postgres@127\.0\.0\.1:9\/nowhere/);
    assert.doesNotMatch(st.openError.message, /hidden/);
    const ack = await ackOf(adtMessage({ controlId: 'X1' }));
    assert.equal(ack.ack.code, 'AR');
  });

  it('no URL: an error, nothing opened', async () => {
    await helper.load(NODES, [{ id: 'st', type: 'ins-store', engine: 'postgres', url: '' }]);
    assert.match(helper.getNode('st').openError.message, /no PostgreSQL URL/);
    assert.equal(helper.getNode('st').store, null);
  });

  it('TLS through a tls-config node: its CA and "verify server certificate" become the pool’s TLS options', async () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    await helper.load(
      [NODES, tlsNode],
      [
        { id: 'tls', type: 'tls-config', verifyservercert: true, cert: '', key: '', ca: '', caname: 'ca.pem' },
        { id: 'st', type: 'ins-store', engine: 'postgres', url, tls: 'tls' },
      ],
      { tls: { cadata: ca } },
    );
    const st = helper.getNode('st');
    const ssl = (st.store as PostgresIdentityStore).pool.options.ssl as { rejectUnauthorized: boolean; ca: unknown };
    assert.equal(ssl.rejectUnauthorized, true);
    assert.equal(String(ssl.ca), ca);
    // the test cluster has no TLS: the connection is refused, the node says so
    await until(() => st.openError !== null, 'the TLS error', 20_000);
  });
});
