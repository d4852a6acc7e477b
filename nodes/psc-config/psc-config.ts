// psc-config: configuration node of a ProSanté Connect relying party — the issuer (discovery), the
// client registered at PSC (id, secret or TLS client certificate through Node-RED's tls-config), the
// redirect and post-logout URIs, scope, acr, session lifetime, who may pass — and what it holds at
// run time: the session table, shared by every psc-auth node that uses this configuration.
import type { Node, NodeAPI, NodeDef } from '../shared/red';
import { tlsOptionsFrom } from '../shared/util';
import { createRelyingParty, readSettings, type PscTlsOptions } from '../../lib/psc';
import type { PscConfigNode } from './psc-config-node';

/** The TLS options that matter for requests to PSC, from a tls-config node (none of its ALPN settings). */
function pscTls(options: Record<string, unknown> | null): PscTlsOptions | null {
  if (!options) return null;
  const { ca, cert, key, passphrase, servername, rejectUnauthorized } = options as PscTlsOptions;
  return { ca, cert, key, passphrase, servername, rejectUnauthorized };
}

export = function (RED: NodeAPI) {
  function PscConfigNode(this: PscConfigNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    node.rp = null;
    node.settings = null;
    node.problems = [];

    let tls: PscTlsOptions | null = null;
    try {
      tls = pscTls(tlsOptionsFrom(RED, def.tls));
    } catch (err) {
      node.problems.push((err as Error).message);
    }
    if (tls && tls.rejectUnauthorized === false) node.problems.push(RED._('psc-config.errors.verify-server'));
    const credentials = node.credentials ?? {};
    const { settings, problems, warnings } = readSettings(
      { ...def, hasSecret: !!credentials.clientSecret, hasClientCertificate: !!(tls?.cert && tls?.key) },
      (name) => process.env[name],
    );
    node.problems.push(...problems);
    if (credentials.cookieSecret && Buffer.byteLength(credentials.cookieSecret) < 32) warnings.push(RED._('psc-config.errors.short-cookie-key'));
    for (const w of warnings) node.warn(w);
    if (settings && node.problems.length === 0) {
      node.settings = settings;
      const cookieName = `psc-${node.id.replace(/[^A-Za-z0-9_-]/g, '')}`;
      node.rp = createRelyingParty(settings, { clientSecret: credentials.clientSecret, cookieSecret: credentials.cookieSecret, tls }, cookieName);
    } else {
      node.error(RED._('psc-config.errors.invalid', { problems: node.problems.join('; ') }));
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      const rp = node.rp;
      node.rp = null;
      if (!rp) return done();
      rp.close().then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType('psc-config', PscConfigNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: {
      clientSecret: { type: 'password' },
      cookieSecret: { type: 'password' },
    },
  });
};
