// A local OpenID Connect provider configured like ProSanté Connect, for the tests: oidc-provider
// (panva) behind an HTTPS front that terminates TLS (the test PKI's server certificate, client
// certificates requested) and hands the client certificate to the provider in a header, as a TLS
// terminator in front of PSC's Keycloak would.
//
// Like PSC: discovery, JWKS (RS256), authorization code flow only, PKCE S256 required, acr_values
// eidas1 (acr in the ID token and in token introspection), scopes openid + scope_all, userinfo with
// the PSC claims (SubjectNameID, SubjectRefPro, SubjectRole…) as a signed JWT or as JSON per client,
// client_secret_basic / client_secret_post / tls_client_auth, token introspection and revocation,
// end_session_endpoint (RP-initiated logout with id_token_hint, state, post_logout_redirect_uri).
//
// For the attack tests the front can rewrite the next ID token the token endpoint returns (`tamper`):
// claims changed and re-signed with the provider's own key, or signed with alg none, with HS256 keyed
// by the public key (key confusion), or with a key the JWKS does not hold. Every code and token that
// passes through the front is recorded (`secrets`), so that a test can check none of them was logged.
import { X509Certificate, createPublicKey } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { SignJWT, base64url, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import { freePort } from './mllp';
import type { TestPki } from './pki';

// oidc-provider ships no TypeScript types
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { default: Provider } = require('oidc-provider') as { default: any };

export interface PscTestAccount {
  /** The subject (sub). */
  id: string;
  /** The acr the login gives (default eidas1). */
  acr?: string;
  /** The userinfo claims besides sub. */
  claims: Record<string, unknown>;
}

export interface PscTestClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'tls_client_auth';
  userinfo_signed_response_alg?: string;
  tls_client_auth_subject_dn?: string;
}

export type IdTokenTamper = (claims: Record<string, unknown>) => {
  claims?: Record<string, unknown>;
  /** How the token is signed: the provider's key (default), none, HS256 keyed by the public key PEM, an unknown key. */
  sign?: 'provider' | 'none' | 'hs256-public-key' | 'foreign-key';
};

/** A PSC-shaped professional: a doctor (RPPS 810001234567), profession 10, one activity. */
export function doctorAccount(id = 'f:550dc1c8:810001234567', rpps = '10001234567'): PscTestAccount {
  return {
    id,
    claims: {
      SubjectNameID: `8${rpps}`,
      preferred_username: `8${rpps}`,
      given_name: 'CLAIRE',
      family_name: 'MEDECIN-TEST',
      SubjectRole: ['10^1.2.250.1.213.1.1.5.5'],
      SubjectOrganization: 'CHU TEST',
      SubjectRefPro: {
        codeCivilite: 'MME',
        exercices: [
          {
            codeProfession: '10',
            codeCategorieProfessionnelle: 'C',
            codeCiviliteDexercice: 'DR',
            nomDexercice: 'MEDECIN-TEST',
            prenomDexercice: 'CLAIRE',
            codeTypeSavoirFaire: 'S',
            codeSavoirFaire: 'SM54',
            activities: [
              {
                codeModeExercice: 'S',
                codeSecteurDActivite: 'SA01',
                codeRole: 'FON-05',
                identifiantTechniqueDeLaStructure: 'F690000001',
                raisonSocialeSite: 'CHU TEST',
                numeroFinessSite: '690000001',
                numeroFinessetablissementJuridique: '690000000',
              },
            ],
          },
        ],
      },
    },
  };
}

/**
 * oidc-provider's storage: a Map per provider (what its development adapter does, without the warning
 * it prints): entries expire, a grant's tokens are revoked together (a replayed code revokes them).
 */
function memoryAdapter() {
  const store = new Map<string, { value: unknown; until: number }>();
  const get = (key: string) => {
    const e = store.get(key);
    if (!e) return undefined;
    if (e.until <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return e.value;
  };
  const set = (key: string, value: unknown, expiresIn?: number) => store.set(key, { value, until: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
  return class MemoryAdapter {
    constructor(private readonly model: string) {}
    private key(id: string) {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      if (this.model === 'Session') set(`sessionUid:${String(payload.uid)}`, id, expiresIn);
      if (typeof payload.grantId === 'string') {
        const grantKey = `grant:${payload.grantId}`;
        set(grantKey, [...((get(grantKey) as string[] | undefined) ?? []), this.key(id)]);
      }
      set(this.key(id), payload, expiresIn);
    }
    async find(id: string) {
      return get(this.key(id));
    }
    async findByUid(uid: string) {
      const id = get(`sessionUid:${uid}`) as string | undefined;
      return id ? this.find(id) : undefined;
    }
    async findByUserCode() {
      return undefined;
    }
    async consume(id: string) {
      const v = get(this.key(id)) as Record<string, unknown> | undefined;
      if (v) v.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const key of (get(`grant:${grantId}`) as string[] | undefined) ?? []) store.delete(key);
      store.delete(`grant:${grantId}`);
    }
  };
}

/** The PSC claims that scope_all releases. */
const SCOPE_ALL_CLAIMS = ['SubjectNameID', 'SubjectRefPro', 'SubjectRole', 'SubjectOrganization', 'given_name', 'family_name', 'preferred_username'];

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class PscTestProvider {
  /** Accounts by sub. */
  readonly accounts = new Map<string, PscTestAccount>();
  /** Every authorization code, access token, ID token and refresh token that went through the front. */
  readonly secrets = new Set<string>();
  /** Rewrites the next ID token from the token endpoint, then resets itself. */
  tamper: IdTokenTamper | null = null;
  /** How many requests reached each endpoint path. */
  readonly hits = new Map<string, number>();
  /** The content type of each userinfo answer, in order. */
  readonly userinfoTypes: string[] = [];
  /** The token endpoint's successful answers, in order, with the client that asked. */
  readonly issued: { clientId: string; accessToken: string; idToken: string }[] = [];

  /** The oidc-provider instance. */
  provider: any;
  private front!: https.Server;
  private inner!: http.Server;

  private constructor(
    readonly issuer: string,
    private readonly signingKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'],
    private readonly publicJwk: JWK,
  ) {}

  static async start(pki: TestPki, clients: PscTestClient[], accounts: PscTestAccount[]): Promise<PscTestProvider> {
    const frontPort = await freePort();
    const issuer = `https://127.0.0.1:${frontPort}`;
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const privateJwk = { ...(await exportJWK(privateKey)), kid: 'psc-test-1', alg: 'RS256', use: 'sig' };
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'psc-test-1', alg: 'RS256', use: 'sig' };
    const psc = new PscTestProvider(issuer, privateKey, publicJwk);
    for (const a of accounts) psc.addAccount(a);
    const accountMap = psc.accounts;

    const provider = new Provider(issuer, {
      adapter: memoryAdapter(),
      clients,
      jwks: { keys: [privateJwk] },
      cookies: { keys: ['psc-test-cookie-key-0123456789abcdef'] },
      scopes: ['openid', 'scope_all'],
      claims: { openid: ['sub'], acr: null, scope_all: SCOPE_ALL_CLAIMS },
      acrValues: ['eidas1', 'eidas2', 'eidas3'],
      responseTypes: ['code'],
      pkce: { methods: ['S256'], required: () => true },
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'tls_client_auth'],
      enabledJWA: { idTokenSigningAlgValues: ['RS256'], userinfoSigningAlgValues: ['RS256'] },
      features: {
        devInteractions: { enabled: false },
        // a confidential client may introspect any token of the realm (as with PSC's Keycloak); psc-auth checks the client
        introspection: { enabled: true, allowedPolicy: async () => true },
        revocation: { enabled: true },
        jwtUserinfo: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: (ctx: any, form: string) => {
            ctx.body = page('Déconnexion', `${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Se déconnecter</button>`);
          },
          postLogoutSuccessSource: (ctx: any) => {
            ctx.body = page('Déconnecté', '<p>Déconnecté de ProSanté Connect (test).</p>');
          },
        },
        mTLS: {
          enabled: true,
          tlsClientAuth: true,
          getCertificate: (ctx: any) => {
            const pem = ctx.get('x-ssl-client-cert');
            return pem ? decodeURIComponent(pem) : undefined;
          },
          certificateAuthorized: (ctx: any) => ctx.get('x-ssl-client-verify') === 'SUCCESS',
          certificateSubjectMatches: (ctx: any, property: string, expected: string) => {
            if (property !== 'tls_client_auth_subject_dn') return false;
            const cert = new X509Certificate(decodeURIComponent(ctx.get('x-ssl-client-cert')));
            // X509Certificate.subject: "C=FR\nO=CHU Test\nCN=…" (most significant first); RFC 4514 is the reverse
            return cert.subject.split('\n').reverse().join(',') === expected;
          },
        },
      },
      interactions: { url: (_ctx: any, interaction: any) => `/interaction/${interaction.uid}` },
      findAccount: async (_ctx: any, sub: string) => {
        const account = accountMap.get(sub);
        if (!account) return undefined;
        return { accountId: sub, claims: async () => ({ sub, ...account.claims }) };
      },
      // PSC asks no consent: a grant of openid + scope_all is made for each login
      loadExistingGrant: async (ctx: any) => {
        const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
        if (grantId) return ctx.oidc.provider.Grant.find(grantId);
        const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
        grant.addOIDCScope('openid scope_all');
        grant.addOIDCClaims(['acr']);
        await grant.save();
        return grant;
      },
      // the acr of the login travels with the access token (token introspection shows it, as Keycloak's does)
      extraTokenClaims: async (ctx: any) => {
        const acr = ctx.oidc.entities?.AuthorizationCode?.acr;
        return acr ? { acr } : undefined;
      },
      ttl: { AccessToken: 600, AuthorizationCode: 120, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
      renderError: (ctx: any, out: Record<string, unknown>) => {
        ctx.type = 'html';
        ctx.body = page('Erreur', `<p id="error">${String(out.error)}</p>`);
      },
    });
    provider.proxy = true;
    psc.provider = provider;

    const callback = provider.callback();
    const inner = http.createServer((req, res) => {
      if (req.url?.startsWith('/interaction/')) {
        psc.interaction(req, res).catch((err: Error) => {
          res.statusCode = 500;
          res.end(err.message);
        });
        return;
      }
      callback(req, res);
    });
    const innerPort = await freePort();
    await new Promise<void>((resolve) => inner.listen(innerPort, '127.0.0.1', resolve));

    const front = https.createServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      psc.proxy(req, res, innerPort).catch((err: Error) => {
        res.statusCode = 502;
        res.end(err.message);
      });
    });
    await new Promise<void>((resolve) => front.listen(frontPort, '127.0.0.1', resolve));
    psc.front = front;
    psc.inner = inner;
    return psc;
  }

  /** Adds (or replaces) an account. */
  addAccount(a: PscTestAccount): void {
    this.accounts.set(a.id, a);
  }

  /** Revokes a token at the provider, as its client (client_secret_basic). */
  async revoke(token: string, clientId: string, clientSecret: string, ca: string): Promise<number> {
    const body = new URLSearchParams({ token, token_type_hint: 'access_token' }).toString();
    const auth = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    return new Promise((resolve, reject) => {
      const req = https.request(`${this.issuer}/token/revocation`, { method: 'POST', ca, headers: { authorization: `Basic ${auth}`, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  async stop(): Promise<void> {
    this.front.closeAllConnections();
    this.inner.closeAllConnections();
    await Promise.all([new Promise((r) => this.front.close(r)), new Promise((r) => this.inner.close(r))]);
  }

  // ---------------------------------------------------------------------------------------------

  /** The login page (a form with the account id, as a stand-in for the CPS / e-CPS screens) and its answer. */
  private async interaction(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const details = await this.provider.interactionDetails(req, res);
    const uid = details.uid as string;
    if (req.method === 'GET') {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(
        page(
          'ProSanté Connect (test)',
          `<form method="post" action="/interaction/${uid}/login"><label for="login">Identifiant e-CPS</label>` +
            `<input id="login" name="login" value=""><button type="submit" id="submit">Se connecter</button></form>`,
        ),
      );
      return;
    }
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    const account = this.accounts.get(form.get('login') ?? '');
    if (!account) {
      res.statusCode = 400;
      res.end(page('Erreur', '<p id="error">compte inconnu</p>'));
      return;
    }
    await this.provider.interactionFinished(req, res, { login: { accountId: account.id, acr: account.acr ?? 'eidas1', amr: ['mfa'] } }, { mergeWithLastSubmission: false });
  }

  /** The TLS front: forwards to the provider, with the client certificate in headers; records and tampers. */
  private async proxy(req: http.IncomingMessage, res: http.ServerResponse, innerPort: number): Promise<void> {
    const url = new URL(req.url ?? '/', this.issuer);
    this.hits.set(url.pathname, (this.hits.get(url.pathname) ?? 0) + 1);
    const body = await readBody(req);
    const headers = { ...req.headers };
    delete headers['x-ssl-client-cert'];
    delete headers['x-ssl-client-verify'];
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate?.(false);
    if (peer && peer.raw) {
      headers['x-ssl-client-cert'] = encodeURIComponent(new X509Certificate(peer.raw).toString());
      headers['x-ssl-client-verify'] = socket.authorized ? 'SUCCESS' : 'FAILED';
    }
    headers['x-forwarded-proto'] = 'https';
    let clientId = '';
    if (url.pathname === '/token') {
      const form = new URLSearchParams(body.toString('utf8'));
      const code = form.get('code');
      if (code) this.secrets.add(code);
      const basic = /^Basic (.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
      clientId = basic ? decodeURIComponent(Buffer.from(basic, 'base64').toString('utf8').split(':')[0]) : (form.get('client_id') ?? '');
    }
    const answer = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const inner = http.request({ host: '127.0.0.1', port: innerPort, method: req.method, path: req.url, headers }, (r) => {
        readBody(r).then((b) => resolve({ status: r.statusCode ?? 502, headers: r.headers, body: b }), reject);
      });
      inner.on('error', reject);
      inner.end(body);
    });
    if (url.pathname === '/me') this.userinfoTypes.push(String(answer.headers['content-type']).split(';')[0]);
    let out = answer.body;
    if (url.pathname === '/token' && answer.status === 200) out = Buffer.from(await this.onTokens(out.toString('utf8'), clientId));
    const location = answer.headers.location;
    if (typeof location === 'string') {
      const code = new URL(location, this.issuer).searchParams.get('code');
      if (code) this.secrets.add(code);
    }
    const outHeaders = { ...answer.headers, 'content-length': String(out.length) };
    delete outHeaders['transfer-encoding'];
    res.writeHead(answer.status, outHeaders);
    res.end(out);
  }

  private async onTokens(text: string, clientId: string): Promise<string> {
    const json = JSON.parse(text) as Record<string, string>;
    for (const k of ['access_token', 'id_token', 'refresh_token']) if (json[k]) this.secrets.add(json[k]);
    this.issued.push({ clientId, accessToken: json.access_token, idToken: json.id_token });
    const tamper = this.tamper;
    if (tamper && json.id_token) {
      this.tamper = null;
      json.id_token = await this.forge(json.id_token, tamper);
      this.secrets.add(json.id_token);
    }
    return JSON.stringify(json);
  }

  private async forge(idToken: string, tamper: IdTokenTamper): Promise<string> {
    const header = decodeProtectedHeader(idToken);
    const original = decodeJwt(idToken) as Record<string, unknown>;
    const change = tamper({ ...original });
    const claims = change.claims ?? original;
    switch (change.sign ?? 'provider') {
      case 'none': {
        const enc = (o: object) => base64url.encode(JSON.stringify(o));
        return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
      }
      case 'hs256-public-key': {
        const pem = createPublicKey({ key: this.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
        return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: header.kid }).sign(new TextEncoder().encode(pem));
      }
      case 'foreign-key': {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: header.kid }).sign(privateKey);
      }
      default:
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: header.kid }).sign(this.signingKey);
    }
  }
}
