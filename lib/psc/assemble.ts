// One PSC relying party from checked settings: the openid-client side, the session table, the sealed
// cookies, the bearer cache and the gate that uses them. What a psc-config node holds.
import { randomBytes } from 'node:crypto';
import { BearerCache } from './bearer';
import { PscClient, type PscTlsOptions } from './client';
import { PscGate } from './gate';
import { UsedStates } from './login';
import { Sealer } from './seal';
import { SessionStore } from './sessions';
import type { PscSettings } from './settings';

export interface PscSecrets {
  /** The client secret (client_secret_basic / client_secret_post). */
  clientSecret?: string;
  /** The key material of the cookies (≥ 32 bytes); a random one when absent (cookies then die with the process, as the sessions do). */
  cookieSecret?: string;
  /** CA and client certificate for the requests to PSC. */
  tls?: PscTlsOptions | null;
}

export interface PscRelyingParty {
  client: PscClient;
  gate: PscGate;
  sessions: SessionStore;
  bearer: BearerCache | null;
  close(): Promise<void>;
}

export function createRelyingParty(settings: PscSettings, secrets: PscSecrets, cookieName: string): PscRelyingParty {
  const client = new PscClient({
    issuer: settings.issuer,
    clientId: settings.clientId,
    clientSecret: secrets.clientSecret,
    clientAuth: settings.clientAuth,
    tls: secrets.tls,
    redirectUri: settings.redirectUri,
    scope: settings.scope,
    acr: settings.acr,
    signingAlg: settings.signingAlg,
    userinfo: settings.userinfo,
  });
  const secret = secrets.cookieSecret && Buffer.byteLength(secrets.cookieSecret) >= 32 ? Buffer.from(secrets.cookieSecret, 'utf8') : randomBytes(32);
  const sessions = new SessionStore({ lifetimeMs: settings.sessionLifetimeMs });
  const mode = settings.bearer;
  const bearer = mode === 'off' ? null : new BearerCache((token) => client.checkBearer(token, mode, settings.bearerClients), { cacheMs: settings.bearerCacheMs });
  const gate = new PscGate({
    client,
    sessions,
    sessionSealer: new Sealer(secret, 'session'),
    loginSealer: new Sealer(secret, 'login'),
    usedStates: new UsedStates(),
    bearer,
    redirectUri: settings.redirectUri,
    loginPath: settings.loginPath,
    logoutPath: settings.logoutPath,
    postLogoutRedirectUri: settings.postLogoutRedirectUri,
    secureCookies: settings.secureCookies,
    cookieName,
    allow: settings.allow,
    acr: settings.acr,
  });
  return {
    client,
    gate,
    sessions,
    bearer,
    close: async () => {
      sessions.revokeAll();
      bearer?.clear();
      await client.close();
    },
  };
}
