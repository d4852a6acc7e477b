// A login in progress: what the authorization request sent (state, nonce, PKCE verifier) and where to
// go back, kept in a sealed cookie of the browser that started it — not on the server, so that an
// anonymous request costs no memory. The cookie's name derives from the state, so that several tabs can
// log in at once. A state that has been used once is remembered until its login would have expired:
// a replayed callback is refused even with its cookie.
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';

/** How long a login may take, from the redirect to PSC to the callback (card, PIN, e-CPS approval). */
export const LOGIN_TTL_MS = 10 * 60 * 1000;

export interface LoginTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Same-origin path to go back to after the login. */
  returnTo: string;
  expiresAt: number;
}

/** A new login transaction (random state, nonce and PKCE verifier from openid-client) and its S256 challenge. */
export async function newLogin(returnTo: string, now = Date.now()): Promise<{ tx: LoginTransaction; codeChallenge: string }> {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const tx: LoginTransaction = {
    state: oidc.randomState(),
    nonce: oidc.randomNonce(),
    codeVerifier,
    returnTo,
    expiresAt: now + LOGIN_TTL_MS,
  };
  return { tx, codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier) };
}

/** The cookie name of the login of a state (prefix + 16 characters of its SHA-256). */
export function loginCookieName(prefix: string, state: string): string {
  return `${prefix}${createHash('sha256').update(state).digest('base64url').slice(0, 16)}`;
}

/** Reads a login transaction back from a sealed cookie's payload; null when it is not one. */
export function readLogin(payload: Record<string, unknown> | null): LoginTransaction | null {
  if (!payload) return null;
  const { state, nonce, codeVerifier, returnTo, exp } = payload;
  if (typeof state !== 'string' || typeof nonce !== 'string' || typeof codeVerifier !== 'string' || typeof returnTo !== 'string') return null;
  if (typeof exp !== 'number') return null;
  return { state, nonce, codeVerifier, returnTo, expiresAt: exp * 1000 };
}

/** The states of the callbacks already served, each until its login would have expired. */
export class UsedStates {
  private readonly used = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}

  /** Records a state as used; false when it was already. */
  use(state: string, until: number): boolean {
    this.sweep();
    if (this.used.has(state)) return false;
    this.used.set(state, until);
    return true;
  }

  private sweep(): void {
    const now = this.now();
    for (const [s, until] of this.used) if (until <= now) this.used.delete(s);
  }
}
