// The psc-config node's settings, read and checked: defaults from the PSC référentiel, environment
// variables, and every rule that keeps the login safe (TLS to PSC, an https redirect URI except on
// the loopback interface, Secure cookies off only there, eIDAS level, asymmetric signatures only).
import path from 'node:path';
import { isEidasLevel, type EidasLevel } from './acr';
import type { BearerCheck, ClientAuthMethod, UserinfoFormat } from './client';
import type { PscAllowList } from './professional';
import { PSC_ACR, PSC_ISSUERS, PSC_SCOPE, PSC_SIGNING_ALG } from './referentiel';

/** The settings as the edit dialog saves them (strings, booleans), environment variables allowed. */
export interface PscSettingsInput {
  issuer?: unknown;
  clientId?: unknown;
  clientAuth?: unknown;
  redirectUri?: unknown;
  scope?: unknown;
  acr?: unknown;
  sessionMinutes?: unknown;
  postLogoutRedirectUri?: unknown;
  loginPath?: unknown;
  logoutPath?: unknown;
  secureCookies?: unknown;
  professions?: unknown;
  nationalIds?: unknown;
  bearer?: unknown;
  bearerCacheSeconds?: unknown;
  bearerClients?: unknown;
  userinfo?: unknown;
  signingAlg?: unknown;
  /** Whether a client secret is set (its value is not needed to check the settings). */
  hasSecret: boolean;
  /** Whether the tls-config gives a client certificate and its key. */
  hasClientCertificate: boolean;
}

export interface PscSettings {
  issuer: string;
  clientId: string;
  clientAuth: ClientAuthMethod;
  redirectUri: string;
  scope: string;
  acr: EidasLevel;
  sessionLifetimeMs: number;
  postLogoutRedirectUri: string;
  loginPath: string;
  logoutPath: string;
  secureCookies: boolean;
  allow: PscAllowList;
  bearer: BearerCheck;
  bearerCacheMs: number;
  /** Client ids whose tokens are accepted as bearer tokens (this client's first). */
  bearerClients: string[];
  userinfo: UserinfoFormat;
  signingAlg: string;
}

export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = Object.freeze(['client_secret_basic', 'client_secret_post', 'tls_client_auth']);
const BEARER_CHECKS: readonly BearerCheck[] = ['introspection', 'userinfo', 'off'];
const USERINFO_FORMATS: readonly UserinfoFormat[] = ['auto', 'jwt'];
/** Asymmetric JWS algorithms only: a symmetric one (HS256) would let the client secret sign tokens, none none. */
const SIGNING_ALGS = Object.freeze(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512']);
const DEFAULT_SESSION_MINUTES = 60;
const DEFAULT_BEARER_CACHE_SECONDS = 30;
const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * A text setting with its environment variables replaced: `${NAME}` (Node-RED replaces it before the
 * node sees it when NAME is set) and `${NAME:-default}` (the default when NAME is unset or empty).
 * An unset variable without a default gives ''.
 */
export function expandEnv(value: unknown, lookup: (name: string) => string | undefined): string {
  if (typeof value !== 'string') return value === undefined || value === null ? '' : String(value);
  return value.replace(ENV_REFERENCE, (_all, name: string, fallback: string | undefined) => {
    const v = lookup(name);
    return v !== undefined && v !== '' ? v : (fallback ?? '');
  }).trim();
}

/** Whether a URL's host is the loopback interface (where http and non-Secure cookies are tolerated, for tests). */
export function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

const listOf = (v: string): string[] => [...new Set(v.split(/[\s,;]+/).filter(Boolean))];

function oneOf<T extends string>(value: string, allowed: readonly T[], fallback: T): T | null {
  if (value === '') return fallback;
  return (allowed as readonly string[]).includes(value) ? (value as T) : null;
}

function number(value: string, fallback: number, min: number, max: number): number | null {
  if (value === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n >= min && n <= max ? n : null;
}

/** A browser-facing URL (redirect or post-logout): absolute, no fragment, https except on the loopback. */
function pageUrl(value: string, what: string, problems: string[]): URL | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${what} is not an absolute URL`);
    return null;
  }
  if (url.hash) problems.push(`${what} must not have a fragment`);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
    problems.push(`${what} must be https (http only on localhost, for tests)`);
    return null;
  }
  return url;
}

/**
 * The settings of a psc-config node, with the problems that prevent using it and the warnings that do
 * not (each a sentence naming the setting). `settings` is null when there is any problem.
 */
export function readSettings(
  input: PscSettingsInput,
  lookup: (name: string) => string | undefined,
): { settings: PscSettings | null; problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const s = (v: unknown) => expandEnv(v, lookup);

  const issuer = s(input.issuer) || PSC_ISSUERS.sandbox;
  try {
    if (new URL(issuer).protocol !== 'https:') problems.push('the issuer must be an https URL');
  } catch {
    problems.push('the issuer is not an absolute URL');
  }
  const clientId = s(input.clientId);
  if (!clientId) problems.push('no client id');

  const clientAuth = oneOf(s(input.clientAuth), CLIENT_AUTH_METHODS, 'client_secret_basic');
  if (!clientAuth) problems.push('unknown client authentication method');
  else if (clientAuth === 'tls_client_auth' && !input.hasClientCertificate) problems.push('tls_client_auth needs a TLS configuration with a client certificate and its key');
  else if (clientAuth !== 'tls_client_auth' && !input.hasSecret) warnings.push('no client secret: PSC will refuse to exchange codes until one is set');

  const redirectText = s(input.redirectUri);
  const redirect = redirectText ? pageUrl(redirectText, 'the redirect URI', problems) : null;
  if (!redirectText) problems.push('no redirect URI');
  const callbackPath = redirect?.pathname ?? '/';
  const base = path.posix.dirname(callbackPath).replace(/\/$/, '');

  const scope = s(input.scope) || PSC_SCOPE;
  if (!scope.split(/\s+/).includes('openid')) problems.push('the scope must include openid');
  const acr = s(input.acr) || PSC_ACR;
  if (!isEidasLevel(acr)) problems.push(`unknown authentication level ${JSON.stringify(acr)} (eidas1, eidas2 or eidas3)`);

  const minutes = number(s(input.sessionMinutes), DEFAULT_SESSION_MINUTES, 1, 24 * 60);
  if (minutes === null) problems.push('the session lifetime must be 1 to 1440 minutes');

  const postLogoutText = s(input.postLogoutRedirectUri) || (redirect ? new URL(`${base}/signed-out`, redirect).href : '');
  const postLogout = postLogoutText ? pageUrl(postLogoutText, 'the post-logout redirect URI', problems) : null;

  const loginPath = s(input.loginPath) || `${base}/login`;
  const logoutPath = s(input.logoutPath) || `${base}/logout`;
  for (const [what, p] of [
    ['login path', loginPath],
    ['logout path', logoutPath],
  ]) {
    if (!p.startsWith('/') || p.startsWith('//') || /[?#\s]/.test(p)) problems.push(`the ${what} must be a path starting with /`);
    else if (p === callbackPath) problems.push(`the ${what} must differ from the redirect URI's path`);
  }
  if (loginPath === logoutPath) problems.push('the login and logout paths must differ');

  // Secure always over https; the setting only matters for an http://localhost redirect URI (tests)
  const secureCookies = (input.secureCookies !== false && input.secureCookies !== 'false') || redirect?.protocol === 'https:';

  const bearer = oneOf(s(input.bearer), BEARER_CHECKS, 'introspection');
  if (!bearer) problems.push('unknown bearer check (introspection, userinfo or off)');
  const cacheSeconds = number(s(input.bearerCacheSeconds), DEFAULT_BEARER_CACHE_SECONDS, 0, 300);
  if (cacheSeconds === null) problems.push('the bearer cache must be 0 to 300 seconds');
  const userinfo = oneOf(s(input.userinfo), USERINFO_FORMATS, 'auto');
  if (!userinfo) problems.push('unknown userinfo format (auto or jwt)');
  const signingAlg = s(input.signingAlg) || PSC_SIGNING_ALG;
  if (!SIGNING_ALGS.includes(signingAlg)) problems.push(`signature algorithm ${JSON.stringify(signingAlg)} refused (asymmetric algorithms only: ${SIGNING_ALGS.join(', ')})`);

  if (problems.length > 0 || !clientAuth || !redirect || !postLogout || minutes === null || !bearer || cacheSeconds === null || !userinfo || !isEidasLevel(acr)) {
    return { settings: null, problems, warnings };
  }
  return {
    problems,
    warnings,
    settings: {
      issuer,
      clientId,
      clientAuth,
      redirectUri: redirect.href,
      scope,
      acr,
      sessionLifetimeMs: minutes * 60_000,
      postLogoutRedirectUri: postLogout.href,
      loginPath,
      logoutPath,
      secureCookies,
      allow: { professions: listOf(s(input.professions)), nationalIds: listOf(s(input.nationalIds)) },
      bearer,
      bearerCacheMs: cacheSeconds * 1000,
      bearerClients: [clientId, ...listOf(s(input.bearerClients)).filter((c) => c !== clientId)],
      userinfo,
      signingAlg,
    },
  };
}
