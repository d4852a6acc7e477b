// lib/psc state without a network: sealed cookies, the server-side session table (expiry,
// revocation), login transactions and replayed states, the bearer cache. Time is a fake clock.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { BearerCache, LOGIN_TTL_MS, PscRefusal, Sealer, SessionStore, UsedStates, loginCookieName, newLogin, readLogin, readProfessional, type PscProfessional } from '../../lib/psc';
import { doctorAccount } from '../support/psc-provider';

const DOCTOR: PscProfessional = readProfessional({ sub: 'sub-1', ...doctorAccount().claims }, 'eidas1')!;

describe('lib/psc: sealed cookies', () => {
  const secret = randomBytes(32);

  it('a sealed value opens with the same key and purpose, until it expires', async () => {
    const sealer = new Sealer(secret, 'session');
    const t0 = Date.UTC(2026, 0, 1);
    const sealed = await sealer.seal({ sid: 'abc' }, t0 + 60_000, t0);
    assert.doesNotMatch(sealed, /abc/, 'encrypted');
    assert.equal((await sealer.open(sealed, t0 + 59_000))?.sid, 'abc');
    assert.equal(await sealer.open(sealed, t0 + 60_000), null, 'expired');
  });

  it('a changed, truncated, foreign or cross-purpose value opens to nothing', async () => {
    const session = new Sealer(secret, 'session');
    const sealed = await session.seal({ sid: 'abc' }, Date.now() + 60_000);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    for (const i of [5, sealed.length / 2, sealed.length - 3].map(Math.floor)) assert.equal(await session.open(flip(sealed, i)), null, `byte ${i}`);
    assert.equal(await session.open(sealed.slice(0, -4)), null);
    assert.equal(await new Sealer(randomBytes(32), 'session').open(sealed), null, 'another key');
    assert.equal(await new Sealer(secret, 'login').open(sealed), null, 'a session cookie is no login cookie');
    for (const v of [undefined, '', 'x', 'a.b.c.d.e', 42]) assert.equal(await session.open(v), null);
    assert.throws(() => new Sealer(randomBytes(16), 'session'), /at least 32 bytes/);
  });
});

describe('lib/psc: sessions (server side)', () => {
  let now = 0;
  const clock = () => now;

  it('a session lives for its lifetime, counted from the login', () => {
    now = 1_000;
    const store = new SessionStore({ lifetimeMs: 60_000, now: clock });
    const s = store.open(DOCTOR, 'id-token');
    assert.match(s.id, /^[A-Za-z0-9_-]{43}$/);
    now = 60_999;
    assert.equal(store.get(s.id)?.professional.nationalId, '810001234567');
    now = 61_000;
    assert.equal(store.get(s.id), null);
    assert.equal(store.size, 0);
  });

  it('revocation: logout ends one session, a national id all of its sessions, revokeAll every one', () => {
    now = 0;
    const store = new SessionStore({ lifetimeMs: 60_000, now: clock });
    const a = store.open(DOCTOR, 't1');
    const b = store.open(DOCTOR, 't2');
    const other = store.open({ ...DOCTOR, nationalId: '899999999999' }, 't3');
    assert.equal(store.end(a.id)?.idToken, 't1');
    assert.equal(store.get(a.id), null);
    assert.equal(store.end(a.id), null, 'once');
    assert.equal(store.revokeNationalId('810001234567'), 1);
    assert.equal(store.get(b.id), null);
    assert.equal(store.revokeAll(), 1);
    assert.equal(store.get(other.id), null);
  });

  it('at most maxSessions: the oldest ends first', () => {
    const store = new SessionStore({ lifetimeMs: 60_000, maxSessions: 2, now: clock });
    const a = store.open(DOCTOR, 't1');
    store.open(DOCTOR, 't2');
    store.open(DOCTOR, 't3');
    assert.equal(store.get(a.id), null);
    assert.equal(store.size, 2);
  });
});

describe('lib/psc: login transactions', () => {
  it('RFC 7636: a fresh state, nonce and PKCE verifier per login, the S256 challenge of the verifier', async () => {
    const a = await newLogin('/x', 0);
    const b = await newLogin('/x', 0);
    assert.notEqual(a.tx.state, b.tx.state);
    assert.notEqual(a.tx.nonce, b.tx.nonce);
    assert.notEqual(a.tx.codeVerifier, b.tx.codeVerifier);
    assert.match(a.tx.codeVerifier, /^[A-Za-z0-9_-]{43,128}$/);
    assert.match(a.codeChallenge, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.codeChallenge, a.tx.codeVerifier);
    assert.equal(a.tx.expiresAt, LOGIN_TTL_MS);
  });

  it('the login cookie is named after the state (several tabs), and its payload reads back', async () => {
    const { tx } = await newLogin('/x');
    const name = loginCookieName('psc-login-', tx.state);
    assert.match(name, /^psc-login-[A-Za-z0-9_-]{16}$/);
    assert.ok(!name.includes(tx.state));
    const sealer = new Sealer(randomBytes(32), 'login');
    const sealed = await sealer.seal({ state: tx.state, nonce: tx.nonce, codeVerifier: tx.codeVerifier, returnTo: tx.returnTo }, tx.expiresAt);
    assert.deepEqual(readLogin(await sealer.open(sealed)), { ...tx, expiresAt: Math.floor(tx.expiresAt / 1000) * 1000 });
    assert.equal(readLogin({ state: 's' }), null);
  });

  it('a state is used once; it is forgotten once its login would have expired', () => {
    let now = 0;
    const used = new UsedStates(() => now);
    assert.ok(used.use('s1', 1000));
    assert.ok(!used.use('s1', 1000), 'replay');
    now = 1000;
    assert.ok(used.use('s1', 2000), 'expired entries are swept');
  });
});

describe('lib/psc: bearer cache', () => {
  it('a valid token is checked once per period, never past its own expiry; the token itself is not kept', async () => {
    let now = 0;
    let checks = 0;
    const cache = new BearerCache(
      async () => {
        checks++;
        return { professional: DOCTOR, expiresAt: 45_000 };
      },
      { cacheMs: 30_000, now: () => now },
    );
    await cache.validate('token-1');
    await cache.validate('token-1');
    assert.equal(checks, 1);
    now = 30_000;
    await cache.validate('token-1');
    assert.equal(checks, 2, 'cache period over');
    now = 45_000;
    await cache.validate('token-1');
    assert.equal(checks, 3, 'token expired: checked again (and refused by PSC in real life)');
    assert.ok(!JSON.stringify([...(cache as unknown as { entries: Map<string, unknown> }).entries.keys()]).includes('token-1'));
  });

  it('refusals are kept for the period (a flood of one bad token reaches PSC once); "PSC unavailable" is not', async () => {
    let checks = 0;
    let refusal = new PscRefusal('bearer-invalid', 'inactive token');
    const cache = new BearerCache(
      async () => {
        checks++;
        throw refusal;
      },
      { cacheMs: 30_000, now: () => 0 },
    );
    await assert.rejects(cache.validate('bad'), /bearer-invalid/);
    await assert.rejects(cache.validate('bad'), /bearer-invalid/);
    assert.equal(checks, 1);
    refusal = new PscRefusal('psc-unavailable', 'down');
    await assert.rejects(cache.validate('other'), /psc-unavailable/);
    await assert.rejects(cache.validate('other'), /psc-unavailable/);
    assert.equal(checks, 3);
  });

  it('concurrent requests with one token share one check; cacheMs 0 keeps nothing', async () => {
    let checks = 0;
    const cache = new BearerCache(
      async () => {
        checks++;
        await new Promise((r) => setTimeout(r, 5));
        return { professional: DOCTOR };
      },
      { cacheMs: 0 },
    );
    await Promise.all([cache.validate('t'), cache.validate('t'), cache.validate('t')]);
    assert.equal(checks, 1);
    await cache.validate('t');
    assert.equal(checks, 2);
    assert.equal(cache.size, 0);
  });
});
