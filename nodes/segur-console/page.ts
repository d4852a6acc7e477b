// The console page: the files the front end's rollup build puts in dist/console/, served under
// <httpAdminRoot>/segur-dpi/ without authentication — they hold no data; the page calls the API
// (./api.ts) with the editor's admin token. Only files of that folder, of the kinds a page is made of.
import fs from 'node:fs';
import path from 'node:path';
import type { ApiHandler, ApiRequest, ApiResponse } from './api';

/** dist/console/, beside dist/nodes/ (this file runs from dist/nodes/segur-console/). */
export const CONSOLE_DIR = path.resolve(__dirname, '..', '..', 'console');

const TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
});

/** The page may show the PDF of a task from a blob: URL, and be framed by the editor (its sidebar tab). */
export const PAGE_CSP = "default-src 'self'; img-src 'self' data: blob:; object-src 'self' blob:; frame-src 'self' blob:; frame-ancestors 'self'";

/** The file a path under /segur-dpi/ names, or null when it is not one the page is made of. */
export function pageFile(dir: string, rel: string): string | null {
  let name: string;
  try {
    name = decodeURIComponent(rel || 'index.html');
  } catch {
    return null;
  }
  if (name.endsWith('/')) name += 'index.html';
  if (name.includes('\0') || !TYPES[path.extname(name).toLowerCase()]) return null;
  const file = path.resolve(dir, name);
  if (!file.startsWith(dir + path.sep)) return null;
  return file;
}

/**
 * Serves a file of the page; a path that names none is passed on (`next`), so that the flows' own routes
 * under /segur-dpi/ (the layer pack's GET /segur-dpi/status, /segur-dpi/portabilite/export, on the same
 * root when httpNodeRoot is httpAdminRoot) still answer — 404 when nothing else does. The page itself
 * without a build is a 404 saying so.
 */
function servePage(dir: string, rel: string, res: ApiResponse, next: (err?: unknown) => void): void {
  const file = pageFile(dir, rel);
  let body: Buffer | null = null;
  if (file) {
    try {
      body = fs.readFileSync(file);
    } catch {
      body = null;
    }
  }
  if (!file || !body) {
    if (rel) return next();
    res.set('X-Content-Type-Options', 'nosniff').set('Cache-Control', 'no-cache');
    res.status(404).set('Content-Type', 'text/plain; charset=utf-8');
    res.send('The Ségur DPI console is not built: dist/console/index.html is missing (npm run build).');
    return;
  }
  res.set('X-Content-Type-Options', 'nosniff').set('Cache-Control', 'no-cache');
  res.set('Content-Type', TYPES[path.extname(file).toLowerCase()]).set('Content-Security-Policy', PAGE_CSP);
  res.send(body);
}

/** Registers GET /segur-dpi/ and the page's files (never under /segur-dpi/api/). */
export function registerConsolePage(httpAdmin: { get(path: string | RegExp, ...h: ApiHandler[]): void }, dir = CONSOLE_DIR): void {
  const root = path.resolve(dir);
  httpAdmin.get(/^\/segur-dpi\/?$/, (_req: ApiRequest, res: ApiResponse, next) => servePage(root, '', res, next));
  httpAdmin.get(/^\/segur-dpi\/(?!api(?:\/|$))(.+)$/, (req: ApiRequest, res: ApiResponse, next) => servePage(root, (req.params as Record<string, string>)[0] ?? '', res, next));
}
