// The smallest HTTP adapter of a PscGate, for the lib tests (the psc-auth node is the real one): a
// request passed by the gate gets 200 and the professional as JSON; answers and refusals are written
// as the gate gives them (a refusal's body is its code).
import http from 'node:http';
import type { PscGate } from '../../lib/psc';
import { freePort } from './mllp';

export interface GateServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startGateServer(gate: () => PscGate, port?: number): Promise<GateServer> {
  const p = port ?? (await freePort());
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const header = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(', ') : v);
    gate()
      .handle({
        method: req.method ?? 'GET',
        path: q < 0 ? url : url.slice(0, q),
        query: q < 0 ? '' : url.slice(q + 1),
        cookie: header(req.headers.cookie),
        authorization: header(req.headers.authorization),
        accept: header(req.headers.accept),
      })
      .then((out) => {
        if (out.kind === 'pass') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ via: out.via, professional: out.professional }));
          return;
        }
        const headers: Record<string, string | string[]> = { ...out.headers };
        if (out.cookies.length) headers['set-cookie'] = out.cookies;
        if (out.kind === 'answer') {
          res.writeHead(out.status, headers);
          res.end(out.body ?? '');
        } else {
          res.writeHead(out.refusal.status, { ...headers, 'content-type': 'text/plain' });
          res.end(`${out.refusal.code}\n${out.refusal.detail}`);
        }
      });
  });
  await new Promise<void>((resolve) => server.listen(p, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
