// The relying party's side of ProSanté Connect, on openid-client: discovery, the authorization request
// (code flow, PKCE S256, state, nonce, acr_values), the callback (code exchange, ID token checks,
// userinfo as JSON or as a signed JWT), bearer token checks (introspection or userinfo) and the logout
// URL (end_session_endpoint). Every check openid-client makes on the ID token — signature against the
// issuer's JWKS (enableNonRepudiationChecks), algorithm, issuer, audience, expiry, nonce — stays on;
// the acr check against the eIDAS ladder is added here.
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { meetsAcr, type EidasLevel } from './acr';
import type { LoginTransaction } from './login';
import { readProfessional, type PscProfessional } from './professional';
import { PscRefusal, safeDetail } from './refusals';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'tls_client_auth';
/** auto: JSON or a signed JWT (its signature checked), as PSC sends it; jwt: a signed JWT is required. */
export type UserinfoFormat = 'auto' | 'jwt';
export type BearerCheck = 'introspection' | 'userinfo' | 'off';

/** TLS options for the requests to PSC (Node-RED's tls-config): trusted CAs, the client certificate. */
export interface PscTlsOptions {
  ca?: string | Buffer | (string | Buffer)[];
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  servername?: string;
  rejectUnauthorized?: boolean;
}

export interface PscClientOptions {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  clientAuth: ClientAuthMethod;
  /** CA and / or client certificate (required for tls_client_auth). */
  tls?: PscTlsOptions | null;
  redirectUri: string;
  scope: string;
  acr: EidasLevel;
  /** The JWS algorithm of ID tokens (and of userinfo JWTs). */
  signingAlg: string;
  userinfo: UserinfoFormat;
  /** Seconds before a request to PSC is abandoned. Default 10. */
  timeoutSeconds?: number;
  /** Seconds during which a failed discovery is not retried. Default 5. */
  discoveryRetrySeconds?: number;
}

/** The outcome of a login: the professional and the ID token (kept server-side for the logout hint). */
export interface PscLogin {
  professional: PscProfessional;
  idToken: string;
}

/** A bearer token found valid: who it belongs to and until when (ms since the epoch) it is. */
export interface PscBearer {
  professional: PscProfessional;
  expiresAt?: number;
}

/** Whether an error says PSC could not be reached or answered like a server in trouble. */
function isUnreachable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; status?: number; cause?: unknown } | null;
  if (!e) return false;
  if (err instanceof TypeError) return true; // fetch failed: DNS, refused connection, TLS
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'OAUTH_TIMEOUT' || e.code === 'OAUTH_ABORT') return true;
  if (e.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') {
    const status = (e.cause as { status?: number } | undefined)?.status;
    return status === undefined || status >= 500;
  }
  if (err instanceof oidc.ResponseBodyError) return err.status >= 500;
  return false;
}

function unavailable(what: string, err: unknown): PscRefusal {
  return new PscRefusal('psc-unavailable', `${what}: ${safeDetail(err)}`, { cause: err });
}

export class PscClient {
  private readonly opts: PscClientOptions;
  private readonly agent: Agent | null;
  private configuration: Promise<oidc.Configuration> | null = null;
  private failedAt = 0;
  private lastFailure: unknown = null;

  constructor(opts: PscClientOptions) {
    this.opts = opts;
    const tls = opts.tls ?? null;
    this.agent = tls && Object.values(tls).some((v) => v !== undefined) ? new Agent({ connect: { ...tls } }) : null;
  }

  /** The discovered configuration (discovery once; a failure is retried after discoveryRetrySeconds). */
  config(): Promise<oidc.Configuration> {
    if (this.configuration) return this.configuration;
    const retryMs = (this.opts.discoveryRetrySeconds ?? 5) * 1000;
    if (this.lastFailure && Date.now() - this.failedAt < retryMs) return Promise.reject(unavailable('discovery', this.lastFailure));
    const o = this.opts;
    const metadata: Partial<oidc.ClientMetadata> = {
      client_secret: o.clientAuth === 'tls_client_auth' ? undefined : o.clientSecret,
      id_token_signed_response_alg: o.signingAlg,
      ...(o.userinfo === 'jwt' ? { userinfo_signed_response_alg: o.signingAlg } : {}),
      ...(o.clientAuth === 'tls_client_auth' ? { use_mtls_endpoint_aliases: true } : {}),
    };
    const auth =
      o.clientAuth === 'tls_client_auth'
        ? oidc.TlsClientAuth()
        : o.clientAuth === 'client_secret_post'
          ? oidc.ClientSecretPost(o.clientSecret)
          : oidc.ClientSecretBasic(o.clientSecret);
    const options: oidc.DiscoveryRequestOptions = {
      execute: [oidc.enableNonRepudiationChecks],
      timeout: o.timeoutSeconds ?? 10,
    };
    const agent = this.agent;
    if (agent) {
      options[oidc.customFetch] = ((url: string, init: Record<string, unknown>) =>
        undiciFetch(url, { ...init, dispatcher: agent } as Parameters<typeof undiciFetch>[1])) as unknown as oidc.CustomFetch;
    }
    const pending = oidc.discovery(new URL(o.issuer), o.clientId, metadata, auth, options).then(
      (config) => {
        this.lastFailure = null;
        return config;
      },
      (err: unknown) => {
        this.configuration = null;
        this.lastFailure = err;
        this.failedAt = Date.now();
        throw unavailable('discovery', err);
      },
    );
    this.configuration = pending;
    return pending;
  }

  /** The authorization request URL of a login: code flow, scope, acr_values, state, nonce, PKCE S256. */
  async authorizationUrl(tx: LoginTransaction, codeChallenge: string): Promise<URL> {
    const config = await this.config();
    return oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.opts.redirectUri,
      response_type: 'code',
      scope: this.opts.scope,
      acr_values: this.opts.acr,
      state: tx.state,
      nonce: tx.nonce,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
    });
  }

  /**
   * Completes a login from the callback's query string: the code is exchanged (PKCE verifier, client
   * authentication), the ID token checked (signature, alg, iss, aud, exp, iat, nonce, then acr), the
   * userinfo fetched (JSON or signed JWT, for the ID token's subject). Throws a PscRefusal.
   */
  async finishLogin(query: string, tx: LoginTransaction): Promise<PscLogin> {
    const config = await this.config();
    const current = new URL(this.opts.redirectUri);
    current.search = query;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: tx.codeVerifier,
        expectedState: tx.state,
        expectedNonce: tx.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      if (err instanceof oidc.AuthorizationResponseError) throw new PscRefusal('login-refused', err.error, { cause: err });
      if (isUnreachable(err)) throw unavailable('token endpoint', err);
      if (err instanceof oidc.ResponseBodyError) throw new PscRefusal('code-rejected', err.error, { cause: err });
      throw new PscRefusal('id-token-invalid', safeDetail(err), { cause: err });
    }
    const claims = tokens.claims();
    const idToken = tokens.id_token;
    if (!claims || !idToken) throw new PscRefusal('id-token-invalid', 'no ID token');
    if (!meetsAcr(claims.acr, this.opts.acr)) {
      throw new PscRefusal('acr-insufficient', `acr ${typeof claims.acr === 'string' ? JSON.stringify(claims.acr.slice(0, 40)) : 'missing'}, ${this.opts.acr} required`);
    }
    const professional = await this.professional(config, tokens.access_token, claims.sub, claims.acr as string);
    return { professional, idToken };
  }

  /** Checks a bearer token presented by an API client; throws a PscRefusal. */
  async checkBearer(token: string, mode: Exclude<BearerCheck, 'off'>, audiences: string[]): Promise<PscBearer> {
    const config = await this.config();
    if (mode === 'userinfo') {
      const professional = await this.professional(config, token, oidc.skipSubjectCheck, undefined, 'bearer-invalid');
      return { professional };
    }
    let info: oidc.IntrospectionResponse;
    try {
      info = await oidc.tokenIntrospection(config, token);
    } catch (err) {
      if (isUnreachable(err)) throw unavailable('introspection endpoint', err);
      throw new PscRefusal('bearer-invalid', safeDetail(err), { cause: err });
    }
    if (info.active !== true) throw new PscRefusal('bearer-invalid', 'inactive token');
    const aud = typeof info.aud === 'string' ? [info.aud] : Array.isArray(info.aud) ? info.aud : [];
    const holders = [info.client_id, info.azp, ...aud].filter((v): v is string => typeof v === 'string');
    if (!holders.some((h) => audiences.includes(h))) throw new PscRefusal('bearer-invalid', 'token issued to another client');
    const expiresAt = typeof info.exp === 'number' ? info.exp * 1000 : undefined;
    if (expiresAt !== undefined && expiresAt <= Date.now()) throw new PscRefusal('bearer-invalid', 'expired token');
    if (!meetsAcr(info.acr, this.opts.acr)) {
      throw new PscRefusal('acr-insufficient', `token acr ${typeof info.acr === 'string' ? JSON.stringify(info.acr.slice(0, 40)) : 'missing'}, ${this.opts.acr} required`);
    }
    const sub = typeof info.sub === 'string' ? info.sub : oidc.skipSubjectCheck;
    const professional = await this.professional(config, token, sub, info.acr as string, 'bearer-invalid');
    return { professional, expiresAt };
  }

  /**
   * The URL that ends the session at PSC (end_session_endpoint with id_token_hint, state and
   * post_logout_redirect_uri); null when PSC publishes no end_session_endpoint.
   */
  async logoutUrl(idTokenHint: string, state: string, postLogoutRedirectUri: string): Promise<URL | null> {
    const config = await this.config();
    if (!config.serverMetadata().end_session_endpoint) return null;
    return oidc.buildEndSessionUrl(config, {
      id_token_hint: idTokenHint,
      post_logout_redirect_uri: postLogoutRedirectUri,
      state,
    });
  }

  /** Releases the TLS connections to PSC. */
  async close(): Promise<void> {
    if (this.agent) await this.agent.close();
  }

  private async professional(
    config: oidc.Configuration,
    accessToken: string,
    sub: string | typeof oidc.skipSubjectCheck,
    acr: string | undefined,
    refusal: 'userinfo-invalid' | 'bearer-invalid' = 'userinfo-invalid',
  ): Promise<PscProfessional> {
    let info: oidc.UserInfoResponse;
    try {
      info = await oidc.fetchUserInfo(config, accessToken, sub);
    } catch (err) {
      if (isUnreachable(err)) throw unavailable('userinfo endpoint', err);
      throw new PscRefusal(refusal, safeDetail(err), { cause: err });
    }
    const professional = readProfessional(info as Record<string, unknown>, acr);
    if (!professional) throw new PscRefusal('userinfo-invalid', 'no SubjectNameID (national id) in userinfo');
    return professional;
  }
}
