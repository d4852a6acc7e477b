// The gate in front of an HTTP endpoint, without Node-RED: given a request (method, path, query,
// cookies, Authorization, Accept) it decides
// - pass: a live session (sealed cookie naming a session of the server-side table) or a valid bearer
//   token; the professional comes with it;
// - answer: a step of the protocol the gate serves itself — the redirect to PSC (login), the callback
//   (session opened, back to the page first asked for), the logout (session ended here, then at PSC),
//   the signed-out page;
// - refuse: the request is refused, with its status and headers (WWW-Authenticate for API clients).
// A browser (GET or HEAD asking for HTML) without a session is sent to PSC; any other request gets 401.
import { parseCookie, stringifySetCookie } from 'cookie';
import { randomState } from 'openid-client';
import type { EidasLevel } from './acr';
import { safeReturnPath } from './return-path';
import type { BearerCache } from './bearer';
import type { PscClient } from './client';
import { loginCookieName, newLogin, readLogin, type UsedStates } from './login';
import { isAllowed, type PscAllowList, type PscProfessional } from './professional';
import { isRefusal, PscRefusal, safeDetail } from './refusals';
import type { Sealer } from './seal';
import type { SessionStore } from './sessions';

export interface GateRequest {
  method: string;
  /** The path of the request, without the query. */
  path: string;
  /** The raw query string, without '?'. */
  query: string;
  /** The Cookie header. */
  cookie?: string;
  /** The Authorization header. */
  authorization?: string;
  /** The Accept header. */
  accept?: string;
}

export type GateStep = 'login' | 'callback' | 'logout' | 'signed-out';

export type GateOutcome =
  | { kind: 'pass'; via: 'session' | 'bearer'; professional: PscProfessional; expiresAt?: number }
  | {
      kind: 'answer';
      step: GateStep;
      status: number;
      headers: Record<string, string>;
      /** Set-Cookie values. */
      cookies: string[];
      body?: string;
      /** callback: who logged in; logout: whose session ended. */
      professional?: PscProfessional;
      /** Something went wrong without stopping the step (PSC unreachable at logout), safe to log. */
      warning?: string;
    }
  | { kind: 'refuse'; refusal: PscRefusal; headers: Record<string, string>; cookies: string[] };

export interface GateOptions {
  client: Pick<PscClient, 'authorizationUrl' | 'finishLogin' | 'logoutUrl'>;
  sessions: SessionStore;
  sessionSealer: Sealer;
  loginSealer: Sealer;
  usedStates: UsedStates;
  /** Bearer tokens: null when API clients may not present one. */
  bearer: BearerCache | null;
  /** The redirect URI registered at PSC; its path is the callback path. */
  redirectUri: string;
  loginPath: string;
  logoutPath: string;
  /** Where PSC sends the browser after the logout (registered at PSC). */
  postLogoutRedirectUri: string;
  /** Secure cookies (off only for http://localhost tests). */
  secureCookies: boolean;
  /** Base of the cookie names (letters, digits, '-', '_'). */
  cookieName: string;
  allow: PscAllowList;
  /** The required authentication level (named in the RFC 9470 step-up challenge). */
  acr: EidasLevel;
  /** The realm named in WWW-Authenticate. */
  realm?: string;
  now?: () => number;
}

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 8192;

const SIGNED_OUT_PAGE =
  '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Déconnexion</title></head>' +
  '<body><p>Vous êtes déconnecté(e) de ProSanté Connect. / You are signed out of ProSanté Connect.</p></body></html>';

export class PscGate {
  readonly sessions: SessionStore;
  private readonly o: GateOptions;
  private readonly now: () => number;
  /** The path of the redirect URI, served as the callback. */
  readonly callbackPath: string;
  private readonly signedOutPath: string | null;
  private readonly sessionCookie: string;
  private readonly loginCookiePrefix: string;

  constructor(opts: GateOptions) {
    this.o = opts;
    this.sessions = opts.sessions;
    this.now = opts.now ?? Date.now;
    const redirect = new URL(opts.redirectUri);
    this.callbackPath = redirect.pathname;
    const postLogout = new URL(opts.postLogoutRedirectUri);
    this.signedOutPath = postLogout.origin === redirect.origin ? postLogout.pathname : null;
    // __Host-: the browser keeps it only when Secure, Path=/ and no Domain (RFC 6265bis §4.1.3.2)
    this.sessionCookie = opts.secureCookies ? `__Host-${opts.cookieName}` : opts.cookieName;
    this.loginCookiePrefix = opts.secureCookies ? `__Secure-${opts.cookieName}-login-` : `${opts.cookieName}-login-`;
  }

  /** The names of the cookies the gate sets (the session cookie, the prefix of the login cookies). */
  get cookieNames(): { session: string; loginPrefix: string } {
    return { session: this.sessionCookie, loginPrefix: this.loginCookiePrefix };
  }

  /** What to do with a request. Never throws: a failure is a refusal. */
  async handle(req: GateRequest): Promise<GateOutcome> {
    try {
      return await this.decide(req);
    } catch (err) {
      return this.refuse(isRefusal(err) ? err : new PscRefusal('psc-unavailable', safeDetail(err), { cause: err }));
    }
  }

  private async decide(req: GateRequest): Promise<GateOutcome> {
    const cookies = parseCookie(req.cookie ?? '');
    if (req.path === this.callbackPath) return this.callback(req, cookies);
    if (req.path === this.o.logoutPath) return this.logout(req, cookies);
    if (req.path === this.signedOutPath) {
      return { kind: 'answer', step: 'signed-out', status: 200, headers: { ...NO_STORE, 'Content-Type': 'text/html; charset=utf-8' }, cookies: [], body: SIGNED_OUT_PAGE };
    }
    if (req.path === this.o.loginPath) {
      const params = new URLSearchParams(req.query);
      const returnTo = safeReturnPath(params.get('returnTo') ?? '/');
      if (!returnTo) return this.refuse(new PscRefusal('bad-return-path', 'returnTo is not a path of this site'));
      return this.startLogin(returnTo, []);
    }
    if (req.authorization !== undefined) return this.bearer(req.authorization);

    const clear: string[] = [];
    const presented = cookies[this.sessionCookie];
    if (presented !== undefined) {
      const session = this.sessions.get((await this.o.sessionSealer.open(presented, this.now()))?.sid);
      if (session) return { kind: 'pass', via: 'session', professional: session.professional, expiresAt: session.expiresAt };
      clear.push(this.clearCookie(this.sessionCookie, '/')); // tampered, expired or revoked: forgotten
    }
    if (isBrowserNavigation(req)) {
      const returnTo = safeReturnPath(req.query ? `${req.path}?${req.query}` : req.path) ?? '/';
      return this.startLogin(returnTo, clear);
    }
    return this.refuse(new PscRefusal('not-authenticated', presented === undefined ? 'no session, no bearer token' : 'session expired or unknown'), clear);
  }

  /** The redirect to PSC, with the login transaction sealed in a cookie for the callback. */
  private async startLogin(returnTo: string, cookies: string[]): Promise<GateOutcome> {
    const now = this.now();
    const { tx, codeChallenge } = await newLogin(returnTo, now);
    const url = await this.o.client.authorizationUrl(tx, codeChallenge);
    const sealed = await this.o.loginSealer.seal({ state: tx.state, nonce: tx.nonce, codeVerifier: tx.codeVerifier, returnTo }, tx.expiresAt, now);
    const name = loginCookieName(this.loginCookiePrefix, tx.state);
    const cookie = this.cookie(name, sealed, this.callbackPath, Math.floor((tx.expiresAt - now) / 1000));
    return { kind: 'answer', step: 'login', status: 302, headers: { ...NO_STORE, Location: url.href }, cookies: [...cookies, cookie] };
  }

  /** The callback from PSC: the login of this browser with this state, completed once. */
  private async callback(req: GateRequest, cookies: Record<string, string | undefined>): Promise<GateOutcome> {
    const params = new URLSearchParams(req.query);
    const state = params.get('state');
    if (!state) return this.refuse(new PscRefusal('state-mismatch', 'no state'));
    const name = loginCookieName(this.loginCookiePrefix, state);
    const clear = cookies[name] === undefined ? [] : [this.clearCookie(name, this.callbackPath)];
    const tx = readLogin(await this.o.loginSealer.open(cookies[name], this.now()));
    if (!tx || tx.state !== state) return this.refuse(new PscRefusal('state-mismatch', 'no login of this browser has this state'), clear);
    if (!this.o.usedStates.use(state, tx.expiresAt)) return this.refuse(new PscRefusal('state-mismatch', 'this login was already completed'), clear);
    if (!params.has('code') && !params.has('error')) return this.refuse(new PscRefusal('callback-invalid', 'no code'), clear);

    let login;
    try {
      login = await this.o.client.finishLogin(req.query, tx);
    } catch (err) {
      return this.refuse(isRefusal(err) ? err : new PscRefusal('id-token-invalid', safeDetail(err), { cause: err }), clear);
    }
    if (!isAllowed(login.professional, this.o.allow)) {
      return this.refuse(new PscRefusal('not-allowed', 'neither the profession nor the national id is allowed'), clear);
    }
    const session = this.sessions.open(login.professional, login.idToken);
    const sealed = await this.o.sessionSealer.seal({ sid: session.id }, session.expiresAt, this.now());
    const sessionCookie = this.cookie(this.sessionCookie, sealed, '/', Math.floor((session.expiresAt - this.now()) / 1000));
    return {
      kind: 'answer',
      step: 'callback',
      status: 302,
      headers: { ...NO_STORE, Location: tx.returnTo },
      cookies: [...clear, sessionCookie],
      professional: login.professional,
    };
  }

  /** Ends the session here, then at PSC (end_session_endpoint), then back to the signed-out page. */
  private async logout(req: GateRequest, cookies: Record<string, string | undefined>): Promise<GateOutcome> {
    const presented = cookies[this.sessionCookie];
    const session = presented === undefined ? null : this.sessions.end((await this.o.sessionSealer.open(presented, this.now()))?.sid);
    let location = this.o.postLogoutRedirectUri;
    let warning: string | undefined;
    if (session) {
      try {
        const url = await this.o.client.logoutUrl(session.idToken, randomState(), this.o.postLogoutRedirectUri);
        if (url) location = url.href;
      } catch (err) {
        warning = `the session ended here but not at PSC (${safeDetail(err)})`;
      }
    }
    return {
      kind: 'answer',
      step: 'logout',
      status: req.method === 'GET' || req.method === 'HEAD' ? 302 : 303,
      headers: { ...NO_STORE, Location: location },
      cookies: presented === undefined ? [] : [this.clearCookie(this.sessionCookie, '/')],
      professional: session?.professional,
      warning,
    };
  }

  private async bearer(authorization: string): Promise<GateOutcome> {
    const m = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!m) return this.refuse(new PscRefusal('not-authenticated', 'not a bearer token'));
    const token = m[1];
    if (!this.o.bearer) return this.refuse(new PscRefusal('bearer-invalid', 'bearer tokens are not accepted here'));
    if (token.length > MAX_TOKEN_LENGTH || !BEARER_TOKEN.test(token)) return this.refuse(new PscRefusal('bearer-invalid', 'malformed token'));
    try {
      const ok = await this.o.bearer.validate(token);
      if (!isAllowed(ok.professional, this.o.allow)) {
        return this.refuse(new PscRefusal('not-allowed', 'neither the profession nor the national id is allowed'));
      }
      return { kind: 'pass', via: 'bearer', professional: ok.professional, expiresAt: ok.expiresAt };
    } catch (err) {
      if (isRefusal(err) && err.code === 'acr-insufficient') {
        // RFC 9470 §3: the step-up challenge of a token whose authentication level is too low
        return this.refuse(new PscRefusal('acr-insufficient', err.detail, { cause: err, status: 401 }));
      }
      throw err;
    }
  }

  private refuse(refusal: PscRefusal, cookies: string[] = []): GateOutcome {
    const headers: Record<string, string> = { ...NO_STORE };
    const realm = `realm="${this.o.realm ?? 'ProSante Connect'}"`;
    if (refusal.status === 401) {
      // RFC 6750 §3 (invalid_token), RFC 9470 §3 (insufficient_user_authentication)
      if (refusal.code === 'bearer-invalid') headers['WWW-Authenticate'] = `Bearer ${realm}, error="invalid_token"`;
      else if (refusal.code === 'acr-insufficient') headers['WWW-Authenticate'] = `Bearer ${realm}, error="insufficient_user_authentication", acr_values="${this.o.acr}"`;
      else headers['WWW-Authenticate'] = `Bearer ${realm}`;
    }
    return { kind: 'refuse', refusal, headers, cookies };
  }

  private cookie(name: string, value: string, path: string, maxAgeSeconds: number): string {
    return stringifySetCookie(name, value, {
      httpOnly: true,
      secure: this.o.secureCookies,
      sameSite: 'lax', // sent on the top-level redirect back from PSC, not on cross-site subrequests
      path,
      maxAge: Math.max(0, maxAgeSeconds),
    });
  }

  private clearCookie(name: string, path: string): string {
    return stringifySetCookie(name, '', { httpOnly: true, secure: this.o.secureCookies, sameSite: 'lax', path, maxAge: 0, expires: new Date(0) });
  }
}

/** A top-level navigation of a browser: GET or HEAD asking for HTML. */
function isBrowserNavigation(req: GateRequest): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && /\btext\/html\b/i.test(req.accept ?? '');
}
