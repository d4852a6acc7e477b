// A minimal browser for the ProSanté Connect tests: HTTP(S) requests with a cookie jar that behaves
// like a browser's where it matters here (cookies per host name — shared between ports — and path,
// Secure cookies only over https, Max-Age=0 deletes, HttpOnly kept), redirects followed on demand.
// Trusts the test CA for the provider.
import http from 'node:http';
import https from 'node:https';
import { parseSetCookie } from 'cookie';

export interface StoredCookie {
  name: string;
  value: string;
  host: string;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  sameSite?: string;
  /** The Set-Cookie header as received. */
  raw: string;
}

export interface BrowserResponse {
  url: string;
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The Location header resolved against the request URL. */
  location?: string;
  setCookies: string[];
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** An application/x-www-form-urlencoded body. */
  form?: Record<string, string>;
  body?: string;
  /** Do not send the jar's cookies. */
  noCookies?: boolean;
}

export class TestBrowser {
  readonly cookies: StoredCookie[] = [];
  /** Every URL requested, in order. */
  readonly visited: string[] = [];
  /** Every cookie value ever set (for leak checks). */
  readonly seenCookieValues = new Set<string>();

  constructor(private readonly ca?: string) {}

  /** The Cookie header the jar sends to a URL. */
  cookieHeader(url: string): string {
    const u = new URL(url);
    return this.cookies
      .filter((c) => c.host === u.hostname && (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)) && (!c.secure || u.protocol === 'https:'))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  cookie(name: string): StoredCookie | undefined {
    return this.cookies.find((c) => c.name === name);
  }

  /** Sets or replaces a cookie (for tests that tamper with one). */
  setCookie(c: Omit<StoredCookie, 'raw'>): void {
    this.forget(c.name, c.host, c.path);
    this.cookies.push({ ...c, raw: `${c.name}=${c.value}` });
  }

  request(method: string, url: string, opts: RequestOptions = {}): Promise<BrowserResponse> {
    const u = new URL(url);
    this.visited.push(url);
    const headers: Record<string, string> = { ...opts.headers };
    const cookie = opts.noCookies ? '' : this.cookieHeader(url);
    if (cookie && headers.cookie === undefined) headers.cookie = cookie;
    let body: string | undefined = opts.body;
    if (opts.form) {
      body = new URLSearchParams(opts.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const lib = u.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(u, { method, headers, ca: this.ca, timeout: 20_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const setCookies = res.headers['set-cookie'] ?? [];
          for (const raw of setCookies) this.store(raw, u);
          const location = typeof res.headers.location === 'string' ? new URL(res.headers.location, u).href : undefined;
          resolve({ url, status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), location, setCookies });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timeout`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  get(url: string, opts: RequestOptions = {}): Promise<BrowserResponse> {
    return this.request('GET', url, { ...opts, headers: { accept: 'text/html,application/xhtml+xml', ...opts.headers } });
  }

  /** Follows redirects (GET) from a URL until a response that is not a redirect, or one `stop` accepts. */
  async follow(url: string, stop: (r: BrowserResponse) => boolean = () => false, maxHops = 20): Promise<BrowserResponse> {
    let res = await this.get(url);
    for (let hop = 0; hop < maxHops && res.location && res.status >= 300 && res.status < 400 && !stop(res); hop++) {
      res = await this.get(res.location);
    }
    return res;
  }

  private forget(name: string, host: string, path: string): void {
    for (let i = this.cookies.length - 1; i >= 0; i--) {
      const c = this.cookies[i];
      if (c.name === name && c.host === host && c.path === path) this.cookies.splice(i, 1);
    }
  }

  private store(raw: string, from: URL): void {
    const parsed = parseSetCookie(raw);
    const path = parsed.path ?? (from.pathname.replace(/\/[^/]*$/, '') || '/');
    this.forget(parsed.name, from.hostname, path);
    const expired = parsed.maxAge !== undefined ? parsed.maxAge <= 0 : parsed.expires !== undefined && parsed.expires.getTime() <= Date.now();
    if (expired || parsed.value === undefined) return;
    this.seenCookieValues.add(parsed.value);
    this.cookies.push({
      name: parsed.name,
      value: parsed.value,
      host: from.hostname,
      path,
      secure: !!parsed.secure,
      httpOnly: !!parsed.httpOnly,
      sameSite: typeof parsed.sameSite === 'string' ? parsed.sameSite : parsed.sameSite ? 'strict' : undefined,
      raw,
    });
  }
}

/** The value of a hidden input of an HTML form. */
export function hiddenInput(html: string, name: string): string | undefined {
  const re = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`, 'i');
  const alt = new RegExp(`<input[^>]*value="([^"]*)"[^>]*name="${name}"`, 'i');
  return (re.exec(html) ?? alt.exec(html))?.[1];
}

/** The action of the first form of an HTML page (resolved against its URL). */
export function formAction(html: string, base: string, id?: string): string | undefined {
  const re = id ? new RegExp(`<form[^>]*id="${id}"[^>]*action="([^"]*)"|<form[^>]*action="([^"]*)"[^>]*id="${id}"`, 'i') : /<form[^>]*action="([^"]*)"/i;
  const m = re.exec(html);
  const action = m?.[1] ?? m?.[2];
  return action === undefined ? undefined : new URL(action.replace(/&amp;/g, '&'), base).href;
}
