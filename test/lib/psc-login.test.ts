// lib/psc against a local OpenID Connect provider configured like ProSanté Connect (test/support/
// psc-provider.ts), through a minimal HTTP adapter of the gate: the whole login, the ID token and
// userinfo checks, client authentication by secret and by TLS client certificate.
import { strict as assert } from 'node:assert';
import { createRelyingParty, readSettings, type PscRelyingParty, type PscSettingsInput } from '../../lib/psc';
import { startGateServer, type GateServer } from '../support/gate-server';
import { TestBrowser, type BrowserResponse } from '../support/http-browser';
import { freePort } from '../support/mllp';
import { makePki, type TestPki } from '../support/pki';
import { doctorAccount, PscTestProvider } from '../support/psc-provider';
import fs from 'node:fs';

const SECRET = 'test-client-secret-0123456789-abcdefghij';
const DOCTOR = doctorAccount();

describe('lib/psc: login against a PSC-like provider', function () {
  this.timeout(60_000);
  let pki: TestPki;
  let psc: PscTestProvider;
  let port: number;
  let server: GateServer;
  let rp: PscRelyingParty | null = null;

  const base = () => `http://127.0.0.1:${port}`;
  function relyingParty(input: Partial<PscSettingsInput>, clientSecret: string | undefined = SECRET, tls: Record<string, unknown> = { ca: pki.ca }) {
    const { settings, problems } = readSettings(
      { issuer: psc.issuer, redirectUri: `${base()}/psc/callback`, secureCookies: false, hasSecret: !!clientSecret, hasClientCertificate: !!tls.cert, ...input },
      () => undefined,
    );
    assert.deepEqual(problems, []);
    return createRelyingParty(settings!, { clientSecret, tls }, 'psc-test');
  }

  before(async () => {
    pki = makePki();
    port = await freePort();
    const uris = { redirect_uris: [`http://127.0.0.1:${port}/psc/callback`], post_logout_redirect_uris: [`http://127.0.0.1:${port}/psc/signed-out`] };
    psc = await PscTestProvider.start(
      pki,
      [
        { client_id: 'rp-jwt', client_secret: SECRET, userinfo_signed_response_alg: 'RS256', ...uris },
        { client_id: 'rp-json', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_post', ...uris },
        { client_id: 'rp-mtls', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: pki.clientSubject, ...uris },
      ],
      [DOCTOR],
    );
    server = await startGateServer(() => rp!.gate, port);
  });
  after(async () => {
    await rp?.close();
    await server?.close();
    await psc?.stop();
    pki?.cleanup();
  });
  afterEach(async () => {
    await rp?.close();
    rp = null;
  });

  /** Logs in as the doctor from a protected path (or from the redirect to PSC already obtained). */
  async function login(browser: TestBrowser, path = '/portal?x=1', redirect?: BrowserResponse) {
    const toPsc = redirect ?? (await browser.get(`${base()}${path}`));
    assert.equal(toPsc.status, 302, toPsc.body);
    const form = await browser.follow(toPsc.location!);
    assert.match(form.body, /Identifiant e-CPS/);
    const action = new URL(/action="([^"]+)"/.exec(form.body)![1], form.url).href;
    const back = await browser.request('POST', action, { form: { login: DOCTOR.id } });
    return browser.follow(back.location!, (r) => r.url.startsWith(base()));
  }

  for (const clientId of ['rp-jwt', 'rp-json']) {
    it(`PSC: code flow with PKCE, acr eidas1, userinfo ${clientId === 'rp-jwt' ? 'as a signed JWT' : 'as JSON'} → session → access`, async () => {
      rp = relyingParty({ clientId, clientAuth: clientId === 'rp-json' ? 'client_secret_post' : 'client_secret_basic', userinfo: clientId === 'rp-jwt' ? 'jwt' : 'auto' });
      const browser = new TestBrowser(pki.ca);
      const toPsc = await browser.get(`${base()}/portal?x=1`);
      const auth = new URL(toPsc.location!);
      assert.equal(auth.origin + auth.pathname, `${psc.issuer}/auth`);
      assert.equal(auth.searchParams.get('response_type'), 'code');
      assert.equal(auth.searchParams.get('scope'), 'openid scope_all');
      assert.equal(auth.searchParams.get('acr_values'), 'eidas1');
      assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
      assert.match(auth.searchParams.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(auth.searchParams.get('state') && auth.searchParams.get('nonce'));
      const loginCookie = browser.cookies.find((c) => c.name.startsWith('psc-test-login-'))!;
      assert.equal(loginCookie.path, '/psc/callback');
      assert.ok(loginCookie.httpOnly);

      const userinfoCalls = psc.userinfoTypes.length;
      const callback = await login(browser, '', toPsc);
      assert.deepEqual(psc.userinfoTypes.slice(userinfoCalls), [clientId === 'rp-jwt' ? 'application/jwt' : 'application/json']);
      assert.equal(callback.status, 302, callback.body);
      assert.equal(callback.location, `${base()}/portal?x=1`);
      const session = browser.cookie('psc-test')!;
      assert.ok(session.httpOnly && session.sameSite === 'lax' && session.path === '/');
      assert.equal(browser.cookies.filter((c) => c.name.startsWith('psc-test-login-')).length, 0, 'login cookie cleared');

      const page = await browser.get(`${base()}/portal?x=1`);
      assert.equal(page.status, 200, page.body);
      const { via, professional } = JSON.parse(page.body);
      assert.equal(via, 'session');
      assert.equal(professional.nationalId, '810001234567');
      assert.equal(professional.idType, 'RPPS');
      assert.equal(professional.rpps, '10001234567');
      assert.equal(professional.acr, 'eidas1');
      assert.equal(professional.professions[0].code, '10');
      assert.equal(professional.professions[0].activities[0].finess, '690000001');
      assert.equal(rp.sessions.size, 1);
    });
  }

  it('RFC 8705 tls_client_auth: the client authenticates with its IGC Santé-like certificate', async () => {
    rp = relyingParty({ clientId: 'rp-mtls', clientAuth: 'tls_client_auth' }, undefined, {
      ca: pki.ca,
      cert: fs.readFileSync(pki.clientCertFile, 'utf8'),
      key: fs.readFileSync(pki.clientKeyFile, 'utf8'),
    });
    const browser = new TestBrowser(pki.ca);
    const callback = await login(browser, '/portal');
    assert.equal(callback.status, 302, callback.body);
    assert.equal((await browser.get(`${base()}/portal`)).status, 200);
  });
});
