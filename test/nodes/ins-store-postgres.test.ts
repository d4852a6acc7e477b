// Issue 15: ins-store "selected … by a connection URL (user/password in Node-RED credentials; TLS options;
// pool size)", against the throwaway test cluster (test/support/postgres.ts).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import adtToIns = require('../../nodes/adt-to-ins/adt-to-ins');
import insStore = require('../../nodes/ins-store/ins-store');
import { openStores } from '../../nodes/shared/stores';
import { PostgresIdentityStore } from '../../lib/store';
import { adtMessage } from '../fixtures/adt';
import { until, withMessages } from '../support/red-nodes';
import { AUTH_ROLES, dropDatabase, freshDatabase, testCluster } from '../support/postgres';

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

  it('a role that must prove its password (SCRAM): the credentials’ password lets it in; a wrong one is an error naming the URL, never the password', async () => {
    const { user, password } = AUTH_ROLES.password;
    const own = await freshDatabase('auth', user);
    try {
      await helper.load(NODES, flow({ id: 'st', type: 'ins-store', engine: 'postgres', url: own.replace('postgres@', '') }), { st: { user, password } });
      assert.equal((await ackOf(adtMessage({ controlId: 'PW1' }))).insStore.outcome, 'applied');
      await helper.unload();
      await helper.load(NODES, flow({ id: 'st', type: 'ins-store', engine: 'postgres', url: own.replace('postgres@', '') }), { st: { user, password: 'not-the-password' } });
      const st = helper.getNode('st');
      await until(() => st.openError !== null, 'the authentication error', 20_000);
      assert.match(st.openError.message, /password authentication failed/);
      assert.match(st.openError.message, new RegExp(`${user}@127\\.0\\.0\\.1`));
      assert.doesNotMatch(st.openError.message, /not-the-password/);
      assert.equal((await ackOf(adtMessage({ controlId: 'PW2' }))).ack.code, 'AR', 'nothing recorded without the store');
    } finally {
      await helper.unload();
      await dropDatabase(own);
    }
  });

  it('TLS through a tls-config node: its CA and "verify server certificate" become the pool’s TLS options; the server verified, the role admitted over TLS only', async () => {
    const { user, password } = AUTH_ROLES.tls;
    const { certificate } = await testCluster();
    const own = (await freshDatabase('tls', user)).replace('postgres@', '');
    const load = (ca: string | null) =>
      helper.load(
        [NODES, tlsNode],
        [
          ...(ca === null ? [] : [{ id: 'tls', type: 'tls-config', verifyservercert: true, cert: '', key: '', ca: '', caname: 'ca.pem' }]),
          ...flow({ id: 'st', type: 'ins-store', engine: 'postgres', url: own, ...(ca === null ? {} : { tls: 'tls' }) }),
        ],
        { st: { user, password }, ...(ca === null ? {} : { tls: { cadata: ca } }) },
      );
    try {
      await load(certificate);
      const st = helper.getNode('st');
      const ssl = (st.store as PostgresIdentityStore).pool.options.ssl as { rejectUnauthorized: boolean; ca: unknown };
      assert.equal(ssl.rejectUnauthorized, true);
      assert.equal(String(ssl.ca), certificate);
      assert.equal((await ackOf(adtMessage({ controlId: 'TLS1' }))).insStore.outcome, 'applied', 'connected over TLS, the server’s certificate verified');
      const c = new pg.Client({ connectionString: `postgres://postgres@${new URL(own).host}/postgres` });
      await c.connect();
      try {
        const seen = await c.query(`SELECT bool_and(s.ssl) AS all_tls, COUNT(*)::int AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = $1`, [user]);
        assert.ok(seen.rows[0].n >= 1 && seen.rows[0].all_tls, 'every connection of the role is TLS');
      } finally {
        await c.end();
      }
      await helper.unload();

      // a CA that did not sign the server's certificate: refused by the client, nothing recorded
      const other = execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', '/dev/null'], { encoding: 'utf8' });
      await load(other);
      await until(() => helper.getNode('st').openError !== null, 'the TLS error', 20_000);
      assert.match(helper.getNode('st').openError.message, /self[- ]signed|unable to verify|certificate/i);
      assert.equal((await ackOf(adtMessage({ controlId: 'TLS2' }))).ack.code, 'AR');
      await helper.unload();

      // no TLS: the server refuses this role (pg_hba.conf), the node says so
      await load(null);
      await until(() => helper.getNode('st').openError !== null, 'the refusal', 20_000);
      assert.match(helper.getNode('st').openError.message, /pg_hba\.conf|no encryption/);
    } finally {
      await helper.unload();
      await dropDatabase(`postgres://postgres@${new URL(own).host}${new URL(own).pathname}`);
    }
  });
});
