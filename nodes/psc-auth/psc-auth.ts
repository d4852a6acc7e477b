// psc-auth: after an http in node, lets through the requests of health professionals authenticated by
// ProSanté Connect (output 1, msg.psc) and answers or refuses the others: a browser without a session
// is sent to PSC, the callback and the logout are served here, refused requests leave on output 2 with
// msg.statusCode, msg.headers and msg.payload set for an http response node. The OpenID Connect logic
// is in lib/psc; this adapter reads msg.req, writes msg.res for the protocol steps, and reports.
import type { Node, NodeAPI, NodeDef, NodeMessage } from '../shared/red';
import { clock } from '../shared/util';
import { isPscConfigNode, type PscConfigNode } from '../psc-config/psc-config-node';
import { PscRefusal, type GateOutcome, type PscProfessional } from '../../lib/psc';
import { redactRequest, type HttpRequestLike } from './redact';
import { accessSummary } from '../shared/summary';

interface PscAuthDef extends NodeDef {
  psc?: string;
}

/** The Express response of an http in node (msg.res._res), as far as psc-auth writes it. */
interface HttpResponseLike {
  headersSent?: boolean;
  status(code: number): HttpResponseLike;
  set(headers: Record<string, string | string[]>): HttpResponseLike;
  send(body?: string): HttpResponseLike;
}

/** msg.psc: the professional, as a flow reads it. */
function pscView(p: PscProfessional, via: 'session' | 'bearer', expiresAt?: number): Record<string, unknown> {
  return {
    nationalId: p.nationalId,
    idType: p.idType,
    ...(p.rpps ? { rpps: p.rpps } : {}),
    ...(p.adeli ? { adeli: p.adeli } : {}),
    familyName: p.familyName,
    givenName: p.givenName,
    professions: p.professions,
    acr: p.acr,
    sub: p.sub,
    via,
    expiresAt: expiresAt ? new Date(expiresAt).toISOString() : undefined,
    claims: p.claims,
  };
}

/** The request's method, for msg.summary. */
function requestMethod(msg: NodeMessage): string {
  return String((msg.req as HttpRequestLike | undefined)?.method ?? 'GET').toUpperCase();
}

/** The request's path without its query (the query may carry a code, a state or an identifier), for msg.summary. */
function requestPath(msg: NodeMessage): string {
  const req = msg.req as HttpRequestLike | undefined;
  const url = req?.originalUrl ?? req?.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export = function (RED: NodeAPI) {
  function PscAuthNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const configId = (def as PscAuthDef).psc;
    const found = configId ? RED.nodes.getNode(configId) : null;
    const config: PscConfigNode | null = isPscConfigNode(found) ? found : null;

    const showSessions = () => {
      const n = config?.rp?.sessions.size ?? 0;
      node.status({ fill: 'green', shape: 'dot', text: RED._('psc-auth.status.sessions', { count: n }) });
    };
    if (!config) node.status({ fill: 'red', shape: 'ring', text: RED._('psc-auth.status.no-config') });
    else if (!config.rp) node.status({ fill: 'red', shape: 'ring', text: RED._('psc-auth.status.invalid-config') });
    else showSessions();

    /** Sends a refusal on output 2 for an http response node; reports it when it is an error. */
    const refuse = (msg: NodeMessage, refusal: PscRefusal, headers: Record<string, string>, cookies: string[], send: (m: (NodeMessage | null)[]) => void, done: (err?: Error) => void) => {
      msg.summary = accessSummary(requestMethod(msg), requestPath(msg), { allowed: false, status: refusal.status, code: refusal.code });
      msg.statusCode = refusal.status;
      msg.headers = cookies.length ? { ...headers, 'Set-Cookie': cookies } : headers;
      msg.payload = RED._(`psc-auth.refusals.${refusal.code}`);
      msg.pscRefusal = { code: refusal.code, status: refusal.status };
      send([null, msg]);
      if (!refusal.reportable) return done();
      node.status({ fill: 'red', shape: 'ring', text: `${refusal.code} · ${clock()}` });
      const err = new Error(RED._('psc-auth.errors.refused', { code: refusal.code, detail: refusal.detail || '-' }));
      (err as Error & { code: string }).code = refusal.code;
      done(err);
    };

    const answer = (res: HttpResponseLike, outcome: Extract<GateOutcome, { kind: 'answer' }>) => {
      const headers: Record<string, string | string[]> = { ...outcome.headers };
      if (outcome.cookies.length) headers['Set-Cookie'] = outcome.cookies;
      res.status(outcome.status).set(headers).send(outcome.body ?? '');
    };

    /** msg.revoke without a request: ends the sessions of a national id, or all of them (true or "*"). */
    const revoke = (msg: NodeMessage, done: (err?: Error) => void) => {
      const rp = config?.rp;
      if (!rp) return done(new Error(RED._('psc-auth.status.invalid-config')));
      const who = msg.revoke;
      const all = who === true || who === '*';
      if (!all && (typeof who !== 'string' || !who.trim())) return done(new Error(RED._('psc-auth.errors.bad-revoke')));
      const count = all ? rp.sessions.revokeAll() : rp.sessions.revokeNationalId((who as string).trim());
      node.log(RED._('psc-auth.log.revoked', { count, who: all ? '*' : (who as string).trim() }));
      showSessions();
      done();
    };

    const handle = async (msg: NodeMessage, send: (m: (NodeMessage | null)[]) => void, done: (err?: Error) => void) => {
      if (msg.req === undefined && msg.revoke !== undefined) return revoke(msg, done);
      const req = msg.req as HttpRequestLike | undefined;
      const res = (msg.res as { _res?: HttpResponseLike } | undefined)?._res;
      if (!req || typeof req !== 'object' || !res || typeof res.status !== 'function') {
        done(new Error(RED._('psc-auth.errors.not-http')));
        return;
      }
      const rp = config?.rp;
      if (!rp) {
        refuse(msg, new PscRefusal('not-configured', config ? config.problems.join('; ') : RED._('psc-auth.status.no-config')), { 'Cache-Control': 'no-store' }, [], send, done);
        return;
      }
      // the path as the browser sent it (originalUrl keeps Node-RED's httpNodeRoot, req.path does not)
      const url = req.originalUrl ?? req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      let outcome: GateOutcome;
      try {
        const header = (name: string) => {
          const v = req.headers?.[name];
          return Array.isArray(v) ? v.join(', ') : v;
        };
        outcome = await rp.gate.handle({
          method: (req.method ?? 'GET').toUpperCase(),
          path,
          query: q < 0 ? '' : url.slice(q + 1),
          cookie: header('cookie'),
          authorization: header('authorization'),
          accept: header('accept'),
        });
      } finally {
        const names = rp.gate.cookieNames;
        redactRequest(msg, req, { sessionCookie: names.session, loginCookiePrefix: names.loginPrefix, onCallback: path === rp.gate.callbackPath });
      }

      switch (outcome.kind) {
        case 'pass':
          msg.psc = pscView(outcome.professional, outcome.via, outcome.expiresAt);
          msg.summary = accessSummary(requestMethod(msg), path, { allowed: true, via: outcome.via });
          send([msg, null]);
          done();
          return;
        case 'answer':
          answer(res, outcome);
          if (outcome.step === 'callback' && outcome.professional) {
            node.log(RED._('psc-auth.log.login', { id: outcome.professional.nationalId, acr: outcome.professional.acr ?? '-' }));
            showSessions();
          } else if (outcome.step === 'logout') {
            if (outcome.professional) node.log(RED._('psc-auth.log.logout', { id: outcome.professional.nationalId }));
            if (outcome.warning) node.warn(outcome.warning);
            showSessions();
          }
          done();
          return;
        case 'refuse':
          refuse(msg, outcome.refusal, outcome.headers, outcome.cookies, send, done);
          return;
      }
    };

    node.on('input', (msg: NodeMessage, send, done) => {
      handle(msg, send, done).catch((err: unknown) => done(err instanceof Error ? err : new Error(String(err))));
    });
  }

  RED.nodes.registerType('psc-auth', PscAuthNode);
};
