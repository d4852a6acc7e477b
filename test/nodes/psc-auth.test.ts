// psc-config and psc-auth in the Node-RED test helper, without a network: bad input and bad settings
// are clear errors and refusals, never a crash or an unhandled rejection; msg.req loses its
// credentials. (The login itself: test/lib/psc-login.test.ts and test/e2e/psc*.e2e.test.ts.)
import { strict as assert } from 'node:assert';
import pscConfig = require('../../nodes/psc-config/psc-config');
import pscAuth = require('../../nodes/psc-auth/psc-auth');
import { readProfessional } from '../../lib/psc';
import { freePort } from '../support/mllp';
import { doctorAccount } from '../support/psc-provider';
import { until, withMessages } from '../support/red-nodes';
import { assertSummary } from '../support/summary';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['psc-config', 'psc-auth'], [pscConfig, pscAuth]);
const SECRET = 'client-secret-that-must-never-show-0123456789';

/** An http in message's req and res, as far as psc-auth uses them. */
function httpMsg(path: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = {
    statusCode: 0,
    headers: {} as Record<string, unknown>,
    body: undefined as unknown,
    status(c: number) {
      this.statusCode = c;
      return this;
    },
    set(h: Record<string, unknown>) {
      Object.assign(this.headers, h);
      return this;
    },
    send(b: unknown) {
      this.body = b;
      return this;
    },
  };
  return { msg: { req: { method, path, originalUrl: path, url: path, headers: { ...headers }, query: {} }, res: { _res: res } } as Msg, res };
}

describe('psc-config and psc-auth nodes (test helper)', function () {
  this.timeout(30_000);
  const rejections: unknown[] = [];
  const onRejection = (r: unknown) => rejections.push(r);
  before(() => process.on('unhandledRejection', onRejection));
  after(() => process.off('unhandledRejection', onRejection));
  /** What the nodes logged (RED.log), as text. */
  const logLines = (): string[] => helper.log().args.map((a: [{ msg?: unknown }]) => String(a[0]?.msg));
  afterEach(async () => {
    const lines = logLines();
    await helper.unload();
    assert.deepEqual(rejections, [], 'no unhandled rejection');
    for (const l of lines) assert.ok(!l.includes(SECRET), `the client secret is in a log line: ${l}`);
  });

  async function start(config: Msg) {
    const flow = [
      { id: 'cfg', type: 'psc-config', name: '', clientId: 'segur-dpi', redirectUri: 'https://sih.example.fr/psc/callback', ...config },
      { id: 'n', type: 'psc-auth', name: '', psc: 'cfg', wires: [['ok'], ['refused']] },
      { id: 'ok', type: 'helper' },
      { id: 'refused', type: 'helper' },
      { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['err']] },
      { id: 'err', type: 'helper' },
    ];
    await helper.load(NODES, flow, { cfg: { clientSecret: SECRET, cookieSecret: 'k'.repeat(64) } });
    const seen = { ok: [] as Msg[], refused: [] as Msg[], err: [] as Msg[], logged: [] as string[] };
    helper.getNode('ok').on('input', (m: Msg) => seen.ok.push(m));
    helper.getNode('refused').on('input', (m: Msg) => seen.refused.push(m));
    helper.getNode('err').on('input', (m: Msg) => seen.err.push(m));
    return seen;
  }

  it('a message without the req / res of an http in node is a Catch-able error, nothing else', async () => {
    const seen = await start({});
    helper.getNode('n').receive({ payload: 'x' });
    await until(() => seen.err.length === 1, 'the error');
    assert.match(seen.err[0].error.message, /needs the msg.req and msg.res of an http in node/);
    assert.equal(seen.ok.length + seen.refused.length, 0);
  });

  it('an unusable configuration: its problems logged by name, without the secret; every request refused 503 (not-configured)', async () => {
    const seen = await start({ issuer: 'http://psc.example.fr/realm', clientId: '', acr: 'eidas0' });
    assert.ok(
      logLines().some((l) => l.includes('ProSanté Connect configuration unusable: the issuer must be an https URL; no client id; unknown authentication level "eidas0"')),
      logLines().join('\n'),
    );
    const { msg } = httpMsg('/portal', { accept: 'text/html' });
    helper.getNode('n').receive(msg);
    await until(() => seen.refused.length === 1 && seen.err.length === 1, 'the refusal and its error');
    assert.equal(seen.refused[0].statusCode, 503);
    assert.deepEqual(seen.refused[0].pscRefusal, { code: 'not-configured', status: 503 });
    assert.equal(seen.refused[0].payload, 'Authentication is not configured.');
    assert.ok(!seen.err[0].error.message.includes(SECRET));
    assert.equal(assertSummary(seen.refused[0]), 'PSC · GET /portal · refused 503 not-configured', 'issue 12: the debug pane\'s line');
  });

  it('an API call without credentials: 401 with WWW-Authenticate on output 2, not an error; msg.req without Authorization', async () => {
    const seen = await start({});
    const { msg } = httpMsg('/api/data', { accept: 'application/json', authorization: `Basic ${Buffer.from(`u:${SECRET}`).toString('base64')}` });
    helper.getNode('n').receive(msg);
    await until(() => seen.refused.length === 1, 'the refusal');
    const r = seen.refused[0];
    assert.equal(r.statusCode, 401);
    assert.equal(r.headers['WWW-Authenticate'], 'Bearer realm="ProSante Connect"');
    assert.equal(r.headers['Cache-Control'], 'no-store');
    assert.equal(r.req.headers.authorization, '[redacted]');
    assert.equal(seen.err.length, 0, 'the plain login challenge is no error');
    assert.match(assertSummary(r, { not: [SECRET, 'Basic'] }), /^PSC · GET \/api\/data · refused 401 \S+$/);
  });

  it('PSC unreachable when a browser comes: 503 psc-unavailable on output 2 and a Catch-able error; nothing answered by the node itself', async () => {
    const closed = await freePort();
    const seen = await start({ issuer: `https://127.0.0.1:${closed}/realm` });
    const { msg, res } = httpMsg('/portal', { accept: 'text/html' });
    helper.getNode('n').receive(msg);
    await until(() => seen.refused.length === 1 && seen.err.length === 1, 'the refusal and its error', 20_000);
    assert.equal(seen.refused[0].statusCode, 503);
    assert.match(seen.err[0].error.message, /request refused \(psc-unavailable\): discovery/);
    assert.equal(res.statusCode, 0, 'the http response node answers, from output 2');
  });

  it('issue 12: a request with a session passes on output 1 with msg.psc and msg.summary — the method and path, never the query nor who', async () => {
    const seen = await start({});
    const rp = helper.getNode('cfg').rp;
    const doctor = readProfessional({ sub: 's1', ...doctorAccount().claims }, 'eidas1')!;
    const session = rp.sessions.open(doctor, 't1');
    // the cookie the callback would have set (the gate's own sealer)
    const sealed = await rp.gate.o.sessionSealer.seal({ sid: session.id }, session.expiresAt, Date.now());
    const { msg } = httpMsg('/api/data', { accept: 'application/json', cookie: `${rp.gate.cookieNames.session}=${sealed}` });
    msg.req.originalUrl = '/api/data?ipp=123456';
    helper.getNode('n').receive(msg);
    await until(() => seen.ok.length === 1, 'the request passed');
    assert.equal(seen.ok[0].psc.nationalId, doctor.nationalId);
    assert.equal(assertSummary(seen.ok[0], { not: ['123456', doctor.nationalId, sealed] }), 'PSC · GET /api/data · allowed (session)');
  });

  it('msg.revoke (without a request) ends the sessions of a national id, or all; a bad value is a Catch-able error', async () => {
    const seen = await start({});
    const sessions = helper.getNode('cfg').rp.sessions;
    const doctor = readProfessional({ sub: 's1', ...doctorAccount().claims }, 'eidas1')!;
    sessions.open(doctor, 't1');
    sessions.open(doctor, 't2');
    sessions.open({ ...doctor, nationalId: '899999999999' }, 't3');
    helper.getNode('n').receive({ revoke: '810001234567' });
    await until(() => sessions.size === 1, 'two sessions revoked');
    await until(() => logLines().some((l) => l.includes('2 session(s) revoked (810001234567)')), 'the log line');
    helper.getNode('n').receive({ revoke: '*' });
    await until(() => sessions.size === 0, 'every session revoked');
    helper.getNode('n').receive({ revoke: 42 });
    await until(() => seen.err.length === 1, 'the error');
    assert.match(seen.err[0].error.message, /msg.revoke must be a national id/);
    assert.equal(seen.ok.length + seen.refused.length, 0);
  });

  it('the callback path: a forged callback is refused 403 and msg.req / msg.payload no longer hold its code', async () => {
    const seen = await start({});
    const code = 'Zq9forgedcodeXy7Gq2LmN0pQrStUvWxYz1';
    const { msg } = httpMsg(`/psc/callback`, { accept: 'text/html' });
    msg.req.originalUrl = `/psc/callback?code=${code}&state=abc`;
    msg.req.query = { code, state: 'abc' };
    msg.payload = msg.req.query;
    helper.getNode('n').receive(msg);
    await until(() => seen.refused.length === 1 && seen.err.length === 1, 'the refusal and its error');
    assert.equal(seen.refused[0].statusCode, 403);
    assert.ok(!JSON.stringify(seen.refused[0]).includes(code));
    assert.ok(!JSON.stringify(seen.err[0]).includes(code));
  });
});
