// ProSanté Connect in a real browser: headless Chromium (Debian's chromium, driven by playwright-core)
// logs in through psc-auth in a real Node-RED and the local PSC-like provider, as a professional would
// with the e-CPS form, then logs out at PSC. What a browser enforces is checked on its side: the
// session cookie is HttpOnly (invisible to scripts) and SameSite=Lax (sent on the redirect back from
// PSC), and the pages never carry a token.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { makePki, type TestPki } from '../support/pki';
import { doctorAccount, PscTestProvider } from '../support/psc-provider';
import { NodeRed, getFreePort } from './harness';
import { pscFlows } from './psc-flows';

/** Debian's chromium (.ci/run installs it); CHROMIUM_PATH to use another. */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const DOCTOR = doctorAccount();

describe('e2e: ProSanté Connect login in headless Chromium', function () {
  this.timeout(180_000);
  let pki: TestPki;
  let psc: PscTestProvider;
  let red: NodeRed;
  let context: BrowserContext;
  let profile: string;

  before(async function () {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does it)`);
    pki = makePki();
    const port = await getFreePort();
    const secret = randomBytes(24).toString('base64url');
    psc = await PscTestProvider.start(
      pki,
      [
        {
          client_id: 'segur-browser',
          client_secret: secret,
          userinfo_signed_response_alg: 'RS256',
          redirect_uris: [`http://127.0.0.1:${port}/w/psc/callback`],
          post_logout_redirect_uris: [`http://127.0.0.1:${port}/w/psc/signed-out`],
        },
      ],
      [DOCTOR],
    );
    red = await NodeRed.start({ flows: [], port });
    await red.deploy(pscFlows(port, psc.issuer, [{ prefix: 'w', clientId: 'segur-browser', clientSecret: secret, userinfo: 'jwt', cookieSecret: randomBytes(32).toString('hex'), caFile: pki.caFile }]));
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-psc-chromium-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, ignoreHTTPSErrors: true });
  });

  after(async () => {
    await context?.close();
    await red?.stop();
    await psc?.stop();
    pki?.cleanup();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  it('a professional opens a protected page, signs in at PSC (e-CPS form), lands back on the page, then signs out at PSC', async () => {
    const page = await context.newPage();
    const portal = `${red.url}/w/portal?doc=7`;

    await page.goto(portal);
    assert.ok(page.url().startsWith(`${psc.issuer}/interaction/`), `at the PSC login page: ${page.url()}`);
    await page.fill('#login', DOCTOR.id);
    await Promise.all([page.waitForURL(portal), page.click('#submit')]);
    const shown = JSON.parse((await page.textContent('body')) ?? '');
    assert.deepEqual(shown, { ok: true, nationalId: '810001234567', via: 'session', acr: 'eidas1', professions: ['10'] });

    const cookies = await context.cookies(red.url);
    const session = cookies.find((c) => c.name === 'psc-psc-e2e-w-config');
    assert.ok(session, JSON.stringify(cookies.map((c) => c.name)));
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.path, '/');
    assert.ok(!cookies.some((c) => c.name.includes('-login-')), 'the login cookie is gone');
    assert.doesNotMatch(await page.evaluate('document.cookie'), /psc-psc-e2e/, 'HttpOnly: scripts cannot read the session');

    await page.goto(`${red.url}/w/psc/logout`);
    assert.ok(page.url().startsWith(`${psc.issuer}/session/end`), page.url());
    await Promise.all([page.waitForURL((u) => u.href.startsWith(`${red.url}/w/psc/signed-out`)), page.click('button[name="logout"]')]);
    assert.match((await page.textContent('body')) ?? '', /déconnecté/);
    assert.ok(!(await context.cookies(red.url)).some((c) => c.name === 'psc-psc-e2e-w-config'), 'session cookie removed');

    await page.goto(portal);
    assert.ok(page.url().startsWith(`${psc.issuer}/interaction/`), 'signed out: the page asks for a login again');
    for (const s of psc.secrets) assert.ok(!red.output.includes(s), 'no code or token in the Node-RED log');
  });
});
