// ProSanté Connect end to end: a real Node-RED (scripts/node-red.js) with psc-auth nodes in front of
// http in endpoints, a local OpenID Connect provider configured like PSC (test/support/psc-provider.ts:
// discovery, JWKS, PKCE required, acr eidas1, scope_all, PSC userinfo as a signed JWT and as JSON,
// introspection, revocation, end_session), and a cookie-keeping HTTP client for the browser. The whole
// flow, then the attacks, each refused with its status — and after each test, no code, token, state,
// nonce, cookie or secret in the Node-RED log nor in the debug pane.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { Sealer } from '../../lib/psc';
import { TestBrowser, formAction, hiddenInput, type BrowserResponse } from '../support/http-browser';
import { makePki, type TestPki } from '../support/pki';
import { doctorAccount, PscTestProvider, type IdTokenTamper, type PscTestAccount, type PscTestClient } from '../support/psc-provider';
import { DebugPane } from './comms';
import { NodeRed, getFreePort } from './harness';
import { debugIds, pscFlows, type RelyingPartyFlow } from './psc-flows';

const DOCTOR = doctorAccount();
const NURSE: PscTestAccount = {
  id: 'f:nurse:899700000042',
  claims: { SubjectNameID: '899700000042', given_name: 'PAUL', family_name: 'INFIRMIER-TEST', SubjectRefPro: { exercices: [{ codeProfession: '60', activities: [] }] } },
};
/** A login the provider authenticates below eidas1. */
const WEAK: PscTestAccount = { ...doctorAccount('f:weak:810009999999', '10009999999'), acr: 'eidas0' };

const secret = (label: string) => `${label}-${randomBytes(24).toString('base64url')}`;
const CLIENT_SECRET = secret('client-secret');
const COOKIE_SECRET = randomBytes(32).toString('hex');

describe('e2e: ProSanté Connect — psc-auth in a real Node-RED against a PSC-like provider', function () {
  this.timeout(120_000);
  let pki: TestPki;
  let psc: PscTestProvider;
  let red: NodeRed;
  let pane: DebugPane;
  const browsers: TestBrowser[] = [];
  /** Values that must never appear in a log line or the debug pane, besides the provider's codes and tokens. */
  const secrets = new Set<string>([CLIENT_SECRET, COOKIE_SECRET]);

  const url = (prefix: string, path: string) => `${red.url}/${prefix}${path}`;
  const browser = () => {
    const b = new TestBrowser(pki.ca);
    browsers.push(b);
    return b;
  };
  const api = (b: TestBrowser, method: string, u: string, headers: Record<string, string> = {}) => b.request(method, u, { headers: { accept: 'application/json', ...headers } });

  before(async () => {
    pki = makePki();
    const port = await getFreePort();
    const uris = (p: string) => ({ redirect_uris: [`http://127.0.0.1:${port}/${p}/psc/callback`], post_logout_redirect_uris: [`http://127.0.0.1:${port}/${p}/psc/signed-out`] });
    const clients: PscTestClient[] = [
      { client_id: 'segur-a', client_secret: CLIENT_SECRET, userinfo_signed_response_alg: 'RS256', ...uris('a') },
      { client_id: 'segur-b', client_secret: CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_post', ...uris('b') },
      { client_id: 'segur-m', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: pki.clientSubject, ...uris('m') },
      { client_id: 'segur-n', client_secret: CLIENT_SECRET, ...uris('n') },
    ];
    psc = await PscTestProvider.start(pki, clients, [DOCTOR, NURSE, WEAK]);
    const parties: RelyingPartyFlow[] = [
      { prefix: 'a', clientId: 'segur-a', clientSecret: CLIENT_SECRET, userinfo: 'jwt', cookieSecret: COOKIE_SECRET, caFile: pki.caFile },
      { prefix: 'b', clientId: 'segur-b', clientSecret: CLIENT_SECRET, clientAuth: 'client_secret_post', catchErrors: false, cookieSecret: COOKIE_SECRET, caFile: pki.caFile },
      { prefix: 'm', clientId: 'segur-m', clientAuth: 'tls_client_auth', cookieSecret: COOKIE_SECRET, caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile },
      { prefix: 'n', clientId: 'segur-n', clientSecret: CLIENT_SECRET, professions: '60', cookieSecret: COOKIE_SECRET, caFile: pki.caFile },
    ];
    red = await NodeRed.start({ flows: [], port });
    await red.deploy(pscFlows(port, psc.issuer, parties));
    pane = await DebugPane.open(red.port);
  });

  after(async () => {
    pane?.close();
    await red?.stop();
    await psc?.stop();
    pki?.cleanup();
  });

  afterEach(function () {
    if (!red) return;
    // nothing secret in the log, nor in what the debug pane showed
    const all = new Set<string>([...secrets, ...psc.secrets]);
    for (const b of browsers) {
      for (const v of b.seenCookieValues) all.add(v);
      for (const u of b.visited) {
        const q = new URL(u).searchParams;
        for (const k of ['code', 'state', 'nonce', 'code_challenge', 'id_token_hint']) {
          const v = q.get(k);
          if (v) all.add(v);
        }
      }
    }
    const shown = JSON.stringify(pane.messages);
    for (const s of all) {
      if (s.length < 16) continue;
      assert.ok(!red.output.includes(s), `${this.currentTest?.title}: a secret (${s.slice(0, 6)}…) is in the Node-RED log`);
      assert.ok(!shown.includes(s), `${this.currentTest?.title}: a secret (${s.slice(0, 6)}…) is in the debug pane`);
    }
  });

  /** From the redirect to PSC: the login page, the form posted as `account`; returns the provider's redirect to the callback. */
  async function atPsc(b: TestBrowser, toPsc: BrowserResponse, account: PscTestAccount): Promise<string> {
    assert.equal(toPsc.status, 302, toPsc.body);
    assert.ok(toPsc.location!.startsWith(`${psc.issuer}/auth?`), toPsc.location);
    const form = await b.follow(toPsc.location!);
    assert.match(form.body, /Identifiant e-CPS/, form.body);
    const back = await b.request('POST', formAction(form.body, form.url)!, { form: { login: account.id } });
    const toCallback = await b.follow(back.location!, (r) => !!r.location && r.location.startsWith(red.url));
    assert.ok(toCallback.location?.startsWith(red.url), `the provider sends the browser back: ${toCallback.status} ${toCallback.body.slice(0, 200)}`);
    return toCallback.location!;
  }

  /** A login from a protected page, up to (and including) the callback; the callback's answer. */
  async function login(b: TestBrowser, prefix: string, account: PscTestAccount = DOCTOR, opts: { path?: string; tamper?: IdTokenTamper } = {}) {
    const toPsc = await b.get(url(prefix, opts.path ?? '/portal'));
    const callbackUrl = await atPsc(b, toPsc, account);
    psc.tamper = opts.tamper ?? null;
    const callback = await b.get(callbackUrl);
    psc.tamper = null;
    return { callback, callbackUrl, authUrl: new URL(toPsc.location!) };
  }

  /**
   * Waits for the refusal the debug pane shows (msg.pscRefusal on output 2) after message number
   * `since`, and when `reason` is given, for the Catch-able error that names it.
   */
  async function refusalShown(prefix: string, code: string, since: number, reason?: RegExp) {
    const after = (d: { id: string }) => pane.messages.indexOf(d as never) >= since;
    await pane.waitFor((d) => after(d) && d.id === debugIds(prefix).refused && d.msg.includes(`"code":"${code}"`));
    if (reason) {
      const caught = await pane.waitFor((d) => after(d) && d.id === debugIds(prefix).caught && d.msg.includes(`request refused (${code})`));
      assert.match(caught.msg.replace(/\\"/g, '"'), reason);
    }
  }
  const mark = () => pane.messages.length;

  it('the whole flow: redirect to PSC, login, callback, session, access granted, logout at PSC', async () => {
    const b = browser();
    const toPsc = await b.get(url('a', '/portal?doc=42'));
    assert.equal(toPsc.status, 302);
    const auth = new URL(toPsc.location!);
    assert.equal(auth.searchParams.get('client_id'), 'segur-a');
    assert.equal(auth.searchParams.get('redirect_uri'), url('a', '/psc/callback'));
    assert.equal(auth.searchParams.get('scope'), 'openid scope_all');
    assert.equal(auth.searchParams.get('acr_values'), 'eidas1');
    assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(auth.searchParams.get('response_type'), 'code');

    const callbackUrl = await atPsc(b, toPsc, DOCTOR);
    const callback = await b.get(callbackUrl);
    assert.equal(callback.status, 302, callback.body);
    assert.equal(callback.location, url('a', '/portal?doc=42'), 'back to the page first asked for');
    const session = b.cookies.find((c) => c.name === 'psc-psc-e2e-a-config')!;
    assert.ok(session, JSON.stringify(b.cookies.map((c) => c.name)));
    assert.ok(session.httpOnly && session.sameSite === 'lax' && session.path === '/', session.raw);
    assert.equal(psc.userinfoTypes.at(-1), 'application/jwt', 'PSC userinfo as a signed JWT');

    const page = await b.get(callback.location!);
    assert.equal(page.status, 200, page.body);
    assert.deepEqual(JSON.parse(page.body), { ok: true, nationalId: '810001234567', via: 'session', acr: 'eidas1', professions: ['10'] });
    assert.equal((await api(b, 'GET', url('a', '/api/data'))).status, 200, 'the same session serves the API');
    const passed = await pane.waitFor((d) => d.id === debugIds('a').passed);
    assert.match(passed.msg, /"nationalId":"810001234567"/);
    await red.waitForOutput(/ProSanté Connect login: 810001234567 \(acr eidas1\), session opened/);

    // logout: the session ends here, then at PSC (end_session_endpoint with id_token_hint, state, post_logout_redirect_uri)
    const before = { ...session };
    const logout = await b.get(url('a', '/psc/logout'));
    assert.equal(logout.status, 302);
    const end = new URL(logout.location!);
    assert.equal(end.origin + end.pathname, `${psc.issuer}/session/end`);
    assert.ok(end.searchParams.get('id_token_hint'));
    assert.ok(end.searchParams.get('state'));
    assert.equal(end.searchParams.get('post_logout_redirect_uri'), url('a', '/psc/signed-out'));
    assert.equal(b.cookies.find((c) => c.name === session.name), undefined, 'session cookie cleared');
    const confirm = await b.follow(logout.location!);
    const xsrf = hiddenInput(confirm.body, 'xsrf');
    assert.ok(xsrf, confirm.body);
    const done = await b.request('POST', formAction(confirm.body, confirm.url, 'op.logoutForm')!, { form: { xsrf, logout: 'yes' } });
    const signedOut = await b.follow(done.location!);
    assert.equal(signedOut.url.split('?')[0], url('a', '/psc/signed-out'));
    assert.equal(signedOut.status, 200);
    assert.match(signedOut.body, /déconnecté/);
    await red.waitForOutput(/ProSanté Connect logout: 810001234567, session ended/);

    // the ended session is refused even with its old cookie (server-side revocation)
    assert.equal((await b.get(url('a', '/portal'))).status, 302, 'login again');
    b.setCookie(before);
    const replay = await api(b, 'GET', url('a', '/api/data'));
    assert.equal(replay.status, 401);
    assert.match(String(replay.headers['www-authenticate']), /^Bearer realm="ProSante Connect"$/);
  });

  it('PSC userinfo as JSON, client_secret_post', async () => {
    const b = browser();
    const { callback } = await login(b, 'b');
    assert.equal(callback.status, 302, callback.body);
    assert.equal(psc.userinfoTypes.at(-1), 'application/json');
    const page = await b.get(url('b', '/portal'));
    assert.equal(JSON.parse(page.body).nationalId, '810001234567');
  });

  it('log lines: without a catch node a refusal is logged with its reason, never with the values it refused', async () => {
    const b = browser();
    const forgedCode = secret('forged-code');
    secrets.add(forgedCode);
    const toPsc = await b.get(url('b', '/portal'));
    const state = new URL(toPsc.location!).searchParams.get('state')!;
    const logMark = red.output.length;
    assert.equal((await b.get(url('b', `/psc/callback?code=${forgedCode}&state=${state}x`))).status, 403);
    await red.waitForOutput(/\[error\] \[psc-auth:psc b\] (?:Error: )?request refused \(state-mismatch\): no login of this browser has this state/, 10_000, logMark);
    const b2 = browser();
    const { callback } = await login(b2, 'b', DOCTOR, { tamper: (c) => ({ claims: { ...c, aud: 'segur-a' } }) });
    assert.equal(callback.status, 401);
    await red.waitForOutput(/\[error\] \[psc-auth:psc b\] (?:Error: )?request refused \(id-token-invalid\): unexpected JWT "aud" \(audience\) claim value/, 10_000, logMark);
  });

  it('RFC 8705 tls_client_auth: the client certificate of the tls-config node authenticates the client', async () => {
    const b = browser();
    const { callback } = await login(b, 'm');
    assert.equal(callback.status, 302, callback.body);
    assert.equal((await b.get(url('m', '/portal'))).status, 200);
  });

  it('an API request without session or token: 401 with WWW-Authenticate, not a redirect; POST too', async () => {
    const b = browser();
    const get = await api(b, 'GET', url('a', '/api/data'));
    assert.equal(get.status, 401);
    assert.equal(get.headers['www-authenticate'], 'Bearer realm="ProSante Connect"');
    assert.equal(get.headers['cache-control'], 'no-store');
    const post = await b.request('POST', url('a', '/api/data'), { headers: { accept: 'text/html', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(post.status, 401);
  });

  it('state: missing → 403; another value than the login of this browser → 403; a callback opened in another browser (login CSRF) → 403', async () => {
    const forgedCode = secret('forged-code');
    secrets.add(forgedCode);
    const b = browser();
    let since = mark();
    const missing = await b.get(url('a', `/psc/callback?code=${forgedCode}`));
    assert.equal(missing.status, 403);
    await refusalShown('a', 'state-mismatch', since, /no state/);

    const toPsc = await b.get(url('a', '/portal'));
    const callbackUrl = await atPsc(b, toPsc, DOCTOR);
    const wrong = new URL(callbackUrl);
    wrong.searchParams.set('state', secret('other-state'));
    since = mark();
    assert.equal((await b.get(wrong.href)).status, 403);
    await refusalShown('a', 'state-mismatch', since, /no login of this browser has this state/);

    const victim = browser();
    since = mark();
    assert.equal((await victim.get(callbackUrl)).status, 403, 'the attacker’s callback in the victim’s browser');
    await refusalShown('a', 'state-mismatch', since, /no login of this browser has this state/);
  });

  it('a replayed code: the same callback again → 403; the code in a new login → 401 (PSC refuses it)', async () => {
    const b = browser();
    const toPsc = await b.get(url('a', '/portal'));
    const callbackUrl = await atPsc(b, toPsc, DOCTOR);
    const loginCookies = b.cookies.filter((c) => c.name.includes('-login-')).map((c) => ({ ...c }));
    assert.equal((await b.get(callbackUrl)).status, 302);
    for (const c of loginCookies) b.setCookie(c);
    let since = mark();
    const replay = await b.get(callbackUrl);
    assert.equal(replay.status, 403);
    await refusalShown('a', 'state-mismatch', since, /this login was already completed/);

    const code = new URL(callbackUrl).searchParams.get('code')!;
    const other = browser();
    const again = await other.get(url('a', '/portal'));
    const fresh = new URL(await atPsc(other, again, DOCTOR));
    fresh.searchParams.set('code', code);
    since = mark();
    const swapped = await other.get(fresh.href);
    assert.equal(swapped.status, 401);
    await refusalShown('a', 'code-rejected', since, /invalid_grant/);
  });

  const idTokenAttacks: [string, IdTokenTamper, RegExp][] = [
    ['a wrong nonce', (c) => ({ claims: { ...c, nonce: 'not-the-nonce-of-this-login' } }), /"nonce" claim value/],
    ['an expired ID token', (c) => ({ claims: { ...c, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 } }), /"exp" \(expiration time\)/],
    ['an ID token for another audience', (c) => ({ claims: { ...c, aud: 'segur-b' } }), /"aud" \(audience\)/],
    ['an ID token from another issuer', (c) => ({ claims: { ...c, iss: 'https://evil.example' } }), /"iss" \(issuer\)/],
    ['alg none', () => ({ sign: 'none' }), /"alg" header parameter/],
    ['key confusion (HS256 keyed with the RSA public key)', () => ({ sign: 'hs256-public-key' }), /"alg" header parameter/],
    ['a signature by a key the JWKS does not hold', () => ({ sign: 'foreign-key' }), /signature verification failed/],
  ];
  for (const [what, tamper, reason] of idTokenAttacks) {
    it(`OIDC Core §3.1.3.7: ${what} → 401, no session`, async () => {
      const b = browser();
      const since = mark();
      const { callback } = await login(b, 'a', DOCTOR, { tamper });
      assert.equal(callback.status, 401, callback.body);
      assert.equal(b.cookies.find((c) => c.name === 'psc-psc-e2e-a-config'), undefined, 'no session cookie');
      await refusalShown('a', 'id-token-invalid', since, reason);
    });
  }

  it('PSC référentiel: acr below eidas1 → 403, and an ID token without acr → 403', async () => {
    const weak = browser();
    let since = mark();
    const { callback } = await login(weak, 'a', WEAK);
    assert.equal(callback.status, 403, callback.body);
    await refusalShown('a', 'acr-insufficient', since, /acr "eidas0", eidas1 required/);
    const none = browser();
    since = mark();
    const r = await login(none, 'a', DOCTOR, {
      tamper: (c) => {
        const { acr: _acr, ...rest } = c;
        return { claims: rest };
      },
    });
    assert.equal(r.callback.status, 403);
    await refusalShown('a', 'acr-insufficient', since, /acr missing, eidas1 required/);
  });

  it('PSC answers the login with an error (the user cancelled) → 401', async () => {
    const b = browser();
    const toPsc = await b.get(url('a', '/portal'));
    const state = new URL(toPsc.location!).searchParams.get('state')!;
    const since = mark();
    const cancelled = await b.get(url('a', `/psc/callback?error=access_denied&state=${encodeURIComponent(state)}&iss=${encodeURIComponent(psc.issuer)}`));
    assert.equal(cancelled.status, 401);
    await refusalShown('a', 'login-refused', since, /access_denied/);
  });

  it('a tampered session cookie and an expired one are no session: browser → PSC, API → 401, the cookie cleared', async () => {
    const b = browser();
    assert.equal((await login(b, 'a')).callback.status, 302);
    const session = b.cookies.find((c) => c.name === 'psc-psc-e2e-a-config')!;
    const i = Math.floor(session.value.length / 2);
    b.setCookie({ ...session, value: session.value.slice(0, i) + (session.value[i] === 'A' ? 'B' : 'A') + session.value.slice(i + 1) });
    const tampered = await api(b, 'GET', url('a', '/api/data'));
    assert.equal(tampered.status, 401);
    assert.ok(tampered.setCookies.some((c) => c.startsWith('psc-psc-e2e-a-config=;')), 'cleared');
    b.setCookie({ ...session, value: session.value.slice(0, i) + (session.value[i] === 'A' ? 'B' : 'A') + session.value.slice(i + 1) });
    const toPsc = await b.get(url('a', '/portal'));
    assert.equal(toPsc.status, 302);
    assert.ok(toPsc.location!.startsWith(psc.issuer));

    // the same session id, sealed again with an expiry in the past (the test holds the cookie key)
    const sealer = new Sealer(Buffer.from(COOKIE_SECRET, 'utf8'), 'session');
    const sid = (await sealer.open(session.value))!.sid as string;
    const expired = await sealer.seal({ sid }, Date.now() - 1000, Date.now() - 61_000);
    secrets.add(expired);
    b.setCookie({ ...session, value: expired });
    assert.equal((await api(b, 'GET', url('a', '/api/data'))).status, 401);
    b.setCookie(session);
    assert.equal((await api(b, 'GET', url('a', '/api/data'))).status, 200, 'the genuine cookie still works');
  });

  it('bearer tokens (RFC 6750): PSC’s access token passes by introspection; revoked → 401; issued to another client → 401', async () => {
    const b = browser();
    assert.equal((await login(b, 'a')).callback.status, 302);
    const token = psc.issued.filter((t) => t.clientId === 'segur-a').at(-1)!.accessToken;
    const ok = await api(browser(), 'GET', url('a', '/api/data'), { authorization: `Bearer ${token}` });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).via, 'bearer');

    assert.equal((await login(browser(), 'a')).callback.status, 302);
    const revoked = psc.issued.filter((t) => t.clientId === 'segur-a').at(-1)!.accessToken;
    assert.equal(await psc.revoke(revoked, 'segur-a', CLIENT_SECRET, pki.ca), 200);
    let since = mark();
    const refused = await api(browser(), 'GET', url('a', '/api/data'), { authorization: `Bearer ${revoked}` });
    assert.equal(refused.status, 401);
    assert.match(String(refused.headers['www-authenticate']), /error="invalid_token"/);
    await refusalShown('a', 'bearer-invalid', since, /inactive token/);

    assert.equal((await login(browser(), 'b')).callback.status, 302);
    const foreign = psc.issued.filter((t) => t.clientId === 'segur-b').at(-1)!.accessToken;
    since = mark();
    assert.equal((await api(browser(), 'GET', url('a', '/api/data'), { authorization: `Bearer ${foreign}` })).status, 401);
    await refusalShown('a', 'bearer-invalid', since, /token issued to another client/);
    assert.equal((await api(browser(), 'GET', url('a', '/api/data'), { authorization: 'Bearer not a token' })).status, 401);
  });

  it('no open redirect: returnTo off the site → 400; a return URL added to the callback is ignored', async () => {
    const b = browser();
    for (const target of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
      const since = mark();
      const r = await b.get(url('a', `/psc/login?returnTo=${encodeURIComponent(target)}`));
      assert.equal(r.status, 400, target);
      assert.equal(r.location, undefined);
      await refusalShown('a', 'bad-return-path', since);
    }
    const start = await b.get(url('a', `/psc/login?returnTo=${encodeURIComponent('/a/portal?from=link')}`));
    const callbackUrl = new URL(await atPsc(b, start, DOCTOR));
    callbackUrl.searchParams.set('returnTo', 'https://evil.example/');
    callbackUrl.searchParams.set('redirect_uri', 'https://evil.example/');
    const callback = await b.get(callbackUrl.href);
    assert.equal(callback.status, 302, callback.body);
    assert.equal(callback.location, url('a', '/portal?from=link'));
  });

  it('allowed professions: a doctor on an endpoint for nurses (TRE_G15 60) → 403; the nurse passes', async () => {
    const doctor = browser();
    const since = mark();
    assert.equal((await login(doctor, 'n', DOCTOR)).callback.status, 403);
    await refusalShown('n', 'not-allowed', since);
    const nurse = browser();
    assert.equal((await login(nurse, 'n', NURSE)).callback.status, 302);
    const page = await nurse.get(url('n', '/portal'));
    assert.deepEqual(JSON.parse(page.body).professions, ['60']);
  });

  it('what a flow receives carries no credential: msg.req without the Authorization header and the pack’s cookies', async () => {
    const b = browser();
    assert.equal((await login(b, 'a')).callback.status, 302);
    const n = pane.messages.length;
    const other = 'theme=dark';
    await b.request('GET', url('a', '/portal'), { headers: { accept: 'text/html', cookie: `${b.cookieHeader(url('a', '/portal'))}; ${other}` } });
    const passed = await pane.waitFor((d) => d.id === debugIds('a').passed && pane.messages.indexOf(d) >= n);
    assert.match(passed.msg, /theme=dark/, 'other cookies are kept');
    assert.doesNotMatch(passed.msg, /psc-psc-e2e-a-config=/);
  });

  it('client secret and cookie key are Node-RED credentials: not in the flows the editor reads', async () => {
    const flows = await red.request('GET', '/flows', undefined, { 'Node-RED-API-Version': 'v2' });
    assert.ok(!flows.body.includes(CLIENT_SECRET) && !flows.body.includes(COOKIE_SECRET));
    const creds = await red.request('GET', '/credentials/psc-config/psc-e2e-a-config');
    assert.deepEqual(creds.json(), { has_clientSecret: true, has_cookieSecret: true });
  });
});
