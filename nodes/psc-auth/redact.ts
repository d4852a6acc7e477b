// What psc-auth takes out of msg.req before a message leaves it, so that a debug node, a catch node
// or a log never shows a credential: the Authorization header, the pack's own cookies (session,
// login); on the callback path — whose messages only ever leave as refusals — msg.req is replaced by a
// summary without code and state (Express caches the parsed URL in places of its own), and msg.payload
// (the query of a GET, as the http in node sets it) loses them too.

/** The request of an http in node, as far as psc-auth reads or redacts it (Express). */
export interface HttpRequestLike {
  method?: string;
  path?: string;
  originalUrl?: string;
  url?: string;
  headers?: Record<string, string | string[] | undefined>;
  rawHeaders?: string[];
  cookies?: Record<string, unknown>;
  query?: Record<string, unknown>;
}

export interface RedactionNames {
  sessionCookie: string;
  loginCookiePrefix: string;
  /** Whether the request is on the callback path. */
  onCallback: boolean;
}

const REDACTED = '[redacted]';
const CALLBACK_PARAMS = ['code', 'state', 'session_state'];

function isOurs(name: string, names: RedactionNames): boolean {
  return name === names.sessionCookie || name.startsWith(names.loginCookiePrefix);
}

/** The Cookie header without the pack's cookies. */
function otherCookies(header: string, names: RedactionNames): string {
  return header
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c && !isOurs(c.split('=')[0].trim(), names))
    .join('; ');
}

function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const p of CALLBACK_PARAMS) if (params.has(p)) params.set(p, REDACTED);
  return `${url.slice(0, q)}?${params.toString()}`;
}

function redactQuery(target: unknown): void {
  if (target && typeof target === 'object') {
    for (const p of CALLBACK_PARAMS) if (p in target) (target as Record<string, unknown>)[p] = REDACTED;
  }
}

/** Removes the credentials from a message's request (msg.req changed in place, or replaced on the callback path). */
export function redactRequest(msg: Record<string, unknown>, req: HttpRequestLike, names: RedactionNames): void {
  const headers = req.headers;
  if (headers) {
    if (headers.authorization !== undefined) headers.authorization = REDACTED;
    if (typeof headers.cookie === 'string') headers.cookie = otherCookies(headers.cookie, names);
  }
  if (Array.isArray(req.rawHeaders)) {
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i].toLowerCase();
      if (name === 'authorization') req.rawHeaders[i + 1] = REDACTED;
      else if (name === 'cookie') req.rawHeaders[i + 1] = otherCookies(req.rawHeaders[i + 1], names);
    }
  }
  if (req.cookies && typeof req.cookies === 'object') {
    for (const name of Object.keys(req.cookies)) if (isOurs(name, names)) delete req.cookies[name];
  }
  if (names.onCallback) {
    redactQuery(msg.payload);
    const query = req.query && typeof req.query === 'object' ? { ...req.query } : {};
    redactQuery(query);
    msg.req = {
      method: req.method,
      path: req.path,
      originalUrl: redactUrl(req.originalUrl ?? req.url ?? ''),
      query,
      headers: { ...req.headers },
    };
  }
}
