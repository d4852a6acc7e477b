// lib/psc gate decisions with a stand-in for PSC (no network): which requests are sent to PSC, which
// get 401, the cookies' attributes in production (Secure, __Host-), logout when PSC cannot be reached.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { PscGate, PscRefusal, Sealer, SessionStore, UsedStates, readProfessional, type GateOutcome, type PscClient } from '../../lib/psc';
import { doctorAccount } from '../support/psc-provider';

const DOCTOR = readProfessional({ sub: 'sub-1', ...doctorAccount().claims }, 'eidas1')!;

type StubClient = Pick<PscClient, 'authorizationUrl' | 'finishLogin' | 'logoutUrl'>;

function gateWith(client: Partial<StubClient> = {}, secureCookies = true) {
  const secret = randomBytes(32);
  const sessions = new SessionStore({ lifetimeMs: 3_600_000 });
  const stub: StubClient = {
    authorizationUrl: async (tx) => new URL(`https://psc.example/auth?state=${tx.state}`),
    finishLogin: async () => ({ professional: DOCTOR, idToken: 'id-token' }),
    logoutUrl: async () => new URL('https://psc.example/logout'),
    ...client,
  };
  const gate = new PscGate({
    client: stub,
    sessions,
    sessionSealer: new Sealer(secret, 'session'),
    loginSealer: new Sealer(secret, 'login'),
    usedStates: new UsedStates(),
    bearer: null,
    redirectUri: 'https://sih.example.fr/psc/callback',
    loginPath: '/psc/login',
    logoutPath: '/psc/logout',
    postLogoutRedirectUri: 'https://sih.example.fr/psc/signed-out',
    secureCookies,
    cookieName: 'psc-x',
    allow: { professions: [], nationalIds: [] },
    acr: 'eidas1',
  });
  return { gate, sessions };
}

const req = (path: string, extra: Partial<Parameters<PscGate['handle']>[0]> = {}) => ({ method: 'GET', path, query: '', accept: 'text/html', ...extra });
const cookiePair = (setCookie: string) => setCookie.split(';')[0];

async function loggedIn(gate: PscGate): Promise<string> {
  const start = await gate.handle(req('/portal'));
  assert.equal(start.kind, 'answer');
  const login = start as Extract<GateOutcome, { kind: 'answer' }>;
  const state = new URL(login.headers.Location).searchParams.get('state')!;
  const callback = await gate.handle(req('/psc/callback', { query: `code=c&state=${state}`, cookie: cookiePair(login.cookies[0]) }));
  assert.equal(callback.kind, 'answer', JSON.stringify(callback));
  return cookiePair((callback as Extract<GateOutcome, { kind: 'answer' }>).cookies.at(-1)!);
}

describe('lib/psc: the gate', () => {
  it('RFC 6265bis: in production the cookies are HttpOnly, Secure, SameSite=Lax; the session cookie is __Host- (Path=/, no Domain)', async () => {
    const { gate } = gateWith();
    const start = (await gate.handle(req('/portal?doc=1'))) as Extract<GateOutcome, { kind: 'answer' }>;
    assert.equal(start.status, 302);
    assert.equal(start.headers['Cache-Control'], 'no-store');
    const [login] = start.cookies;
    assert.match(login, /^__Secure-psc-x-login-[A-Za-z0-9_-]{16}=/);
    assert.match(login, /; Max-Age=600; Path=\/psc\/callback; HttpOnly; Secure; SameSite=Lax$/);
    const state = new URL(start.headers.Location).searchParams.get('state')!;
    const callback = (await gate.handle(req('/psc/callback', { query: `code=c&state=${state}`, cookie: cookiePair(login) }))) as Extract<GateOutcome, { kind: 'answer' }>;
    assert.equal(callback.headers.Location, '/portal?doc=1');
    const session = callback.cookies.find((c) => c.startsWith('__Host-'))!;
    assert.match(session, /^__Host-psc-x=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    assert.doesNotMatch(session, /Domain=/);
    assert.ok(callback.cookies.some((c) => c.startsWith('__Secure-psc-x-login-') && /Max-Age=0/.test(c)), 'login cookie cleared');
  });

  it('browser navigations go to PSC; API calls, POSTs and non-HTML requests get 401', async () => {
    const { gate } = gateWith();
    assert.equal((await gate.handle(req('/x'))).kind, 'answer');
    assert.equal((await gate.handle(req('/x', { method: 'HEAD' }))).kind, 'answer');
    for (const r of [req('/x', { accept: 'application/json' }), req('/x', { method: 'POST' }), req('/x', { accept: undefined }), req('/x', { authorization: 'Basic dTpw' })]) {
      const out = await gate.handle(r);
      assert.equal(out.kind, 'refuse', JSON.stringify(r));
      assert.equal((out as Extract<GateOutcome, { kind: 'refuse' }>).refusal.code, 'not-authenticated');
    }
  });

  it('a live session passes; the returned path is the one asked for, never another site', async () => {
    const { gate } = gateWith();
    const cookie = await loggedIn(gate);
    const out = await gate.handle(req('/portal', { cookie, accept: 'application/json' }));
    assert.equal(out.kind, 'pass');
    assert.equal((out as Extract<GateOutcome, { kind: 'pass' }>).professional.nationalId, '810001234567');
    const odd = (await gate.handle(req('//evil.example/x'))) as Extract<GateOutcome, { kind: 'answer' }>;
    assert.equal(odd.kind, 'answer', 'a scheme-relative request path starts a login...');
    const state = new URL(odd.headers.Location).searchParams.get('state')!;
    const back = (await gate.handle(req('/psc/callback', { query: `code=c&state=${state}`, cookie: cookiePair(odd.cookies[0]) }))) as Extract<GateOutcome, { kind: 'answer' }>;
    assert.equal(back.headers.Location, '/', '...that comes back to / rather than to evil.example');
  });

  it('bearer tokens when none are accepted, or malformed: 401 invalid_token', async () => {
    const { gate } = gateWith();
    const off = (await gate.handle(req('/api', { authorization: 'Bearer abc' }))) as Extract<GateOutcome, { kind: 'refuse' }>;
    assert.equal(off.refusal.code, 'bearer-invalid');
    assert.equal(off.headers['WWW-Authenticate'], 'Bearer realm="ProSante Connect", error="invalid_token"');
  });

  it('PSC unreachable when a login starts: 503, nothing else', async () => {
    const { gate } = gateWith({ authorizationUrl: async () => Promise.reject(new PscRefusal('psc-unavailable', 'discovery: fetch failed')) });
    const out = (await gate.handle(req('/portal'))) as Extract<GateOutcome, { kind: 'refuse' }>;
    assert.equal(out.kind, 'refuse');
    assert.equal(out.refusal.status, 503);
    assert.deepEqual(out.cookies, []);
  });

  it('logout: the session ends here even when PSC cannot be reached (then back to the signed-out page, with a warning)', async () => {
    const { gate, sessions } = gateWith({ logoutUrl: async () => Promise.reject(new Error('fetch failed')) });
    const cookie = await loggedIn(gate);
    assert.equal(sessions.size, 1);
    const out = (await gate.handle(req('/psc/logout', { method: 'POST', cookie }))) as Extract<GateOutcome, { kind: 'answer' }>;
    assert.equal(out.status, 303);
    assert.equal(out.headers.Location, 'https://sih.example.fr/psc/signed-out');
    assert.match(out.warning!, /ended here but not at PSC/);
    assert.equal(sessions.size, 0);
    assert.equal((await gate.handle(req('/portal', { cookie, accept: 'application/json' }))).kind, 'refuse');
    const page = (await gate.handle(req('/psc/signed-out'))) as Extract<GateOutcome, { kind: 'answer' }>;
    assert.equal(page.status, 200);
  });

  it('development: without Secure, no __Host- / __Secure- prefix (browsers refuse them over http)', async () => {
    const { gate } = gateWith({}, false);
    const start = (await gate.handle(req('/portal'))) as Extract<GateOutcome, { kind: 'answer' }>;
    assert.match(start.cookies[0], /^psc-x-login-/);
    assert.doesNotMatch(start.cookies[0], /Secure/);
  });
});
