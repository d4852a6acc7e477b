// Flows for the ProSanté Connect end-to-end tests: per relying party (a path prefix), the http in nodes
// of a protected portal, a protected API (GET and POST) and the PSC paths (callback, login, logout,
// signed-out page), all into one psc-auth node; output 1 answers 200 with who passed, output 2 goes
// to an http response. Debug nodes show the whole message of each output and of a catch node, so
// that a test can read what the debug pane would show.
import type { FlowNode } from './harness';

export interface RelyingPartyFlow {
  /** Path prefix and id part: /<prefix>/portal, /<prefix>/psc/callback… */
  prefix: string;
  clientId: string;
  clientSecret?: string;
  clientAuth?: 'client_secret_basic' | 'client_secret_post' | 'tls_client_auth';
  userinfo?: 'auto' | 'jwt';
  bearer?: 'introspection' | 'userinfo' | 'off';
  bearerCacheSeconds?: number;
  professions?: string;
  /** A catch node on psc-auth (default true); without one, refusals reported as errors are logged. */
  catchErrors?: boolean;
  cookieSecret: string;
  /** tls-config files: the CA (always), a client certificate and key (tls_client_auth). */
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

export const TAB = 'psc-e2e';

/** The ids of the debug nodes of a relying party. */
export function debugIds(prefix: string): { passed: string; refused: string; caught: string } {
  return { passed: `psc-e2e-${prefix}-passed`, refused: `psc-e2e-${prefix}-refused`, caught: `psc-e2e-${prefix}-caught` };
}

export function pscFlows(redPort: number, issuer: string, parties: RelyingPartyFlow[]): FlowNode[] {
  const nodes: FlowNode[] = [{ id: TAB, type: 'tab', label: 'ProSanté Connect e2e', info: 'psc-auth in front of http endpoints (tests)' }];
  for (const rp of parties) {
    const p = rp.prefix;
    const tls = `psc-e2e-${p}-tls`;
    const config = `psc-e2e-${p}-config`;
    const auth = `psc-e2e-${p}-auth`;
    const ok = `psc-e2e-${p}-ok`;
    const out = `psc-e2e-${p}-out`;
    const ids = debugIds(p);
    nodes.push(
      {
        id: tls,
        type: 'tls-config',
        name: `PSC ${p}`,
        cert: rp.certFile ?? '',
        key: rp.keyFile ?? '',
        ca: rp.caFile,
        certname: '',
        keyname: '',
        caname: '',
        servername: '',
        verifyservercert: true,
        alpnprotocol: '',
      },
      {
        id: config,
        type: 'psc-config',
        name: `PSC ${p}`,
        issuer,
        clientId: rp.clientId,
        clientAuth: rp.clientAuth ?? 'client_secret_basic',
        tls,
        redirectUri: `http://127.0.0.1:${redPort}/${p}/psc/callback`,
        scope: 'openid scope_all',
        acr: 'eidas1',
        sessionMinutes: 60,
        postLogoutRedirectUri: '',
        loginPath: '',
        logoutPath: '',
        secureCookies: false,
        professions: rp.professions ?? '',
        nationalIds: '',
        bearer: rp.bearer ?? 'introspection',
        bearerCacheSeconds: rp.bearerCacheSeconds ?? 30,
        bearerClients: '',
        userinfo: rp.userinfo ?? 'auto',
        signingAlg: 'RS256',
        credentials: { clientSecret: rp.clientSecret ?? '', cookieSecret: rp.cookieSecret },
      },
      { id: auth, type: 'psc-auth', z: TAB, name: `psc ${p}`, psc: config, x: 400, y: 100, wires: [[ok, ids.passed], [out, ids.refused]] },
      {
        id: ok,
        type: 'function',
        z: TAB,
        name: 'who passed',
        func: 'msg.payload = { ok: true, nationalId: msg.psc.nationalId, via: msg.psc.via, acr: msg.psc.acr, professions: msg.psc.professions.map(p => p.code) };\nreturn msg;',
        outputs: 1,
        x: 600,
        y: 80,
        wires: [[out]],
      },
      { id: out, type: 'http response', z: TAB, name: '', statusCode: '', headers: {}, x: 800, y: 100, wires: [] },
      { id: ids.passed, type: 'debug', z: TAB, name: 'passed', active: true, tosidebar: true, console: false, complete: 'true', targetType: 'full', x: 600, y: 140, wires: [] },
      { id: ids.refused, type: 'debug', z: TAB, name: 'refused', active: true, tosidebar: true, console: false, complete: 'true', targetType: 'full', x: 600, y: 180, wires: [] },
    );
    if (rp.catchErrors !== false) {
      nodes.push(
        { id: `psc-e2e-${p}-catch`, type: 'catch', z: TAB, name: '', scope: [auth], uncaught: false, x: 400, y: 220, wires: [[ids.caught]] },
        { id: ids.caught, type: 'debug', z: TAB, name: 'caught', active: true, tosidebar: true, console: false, complete: 'true', targetType: 'full', x: 600, y: 220, wires: [] },
      );
    }
    const routes: [string, string][] = [
      ['get', '/portal'],
      ['get', '/api/data'],
      ['post', '/api/data'],
      ['get', '/psc/callback'],
      ['get', '/psc/login'],
      ['get', '/psc/logout'],
      ['post', '/psc/logout'],
      ['get', '/psc/signed-out'],
    ];
    routes.forEach(([method, path], i) => {
      nodes.push({ id: `psc-e2e-${p}-in-${i}`, type: 'http in', z: TAB, name: '', url: `/${p}${path}`, method, upload: false, swaggerDoc: '', x: 150, y: 40 + 40 * i, wires: [[auth]] });
    });
  }
  return nodes;
}
