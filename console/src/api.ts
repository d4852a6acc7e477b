// Talking to the console's HTTP API (docs/console-api.md) with Node-RED's admin token: the one the editor
// keeps in localStorage (same origin), or the one this page got from its own login form (kept in
// sessionStorage, for users who may not open the editor).

/** <httpAdminRoot>/ as seen from this page (served at <httpAdminRoot>/segur-dpi/). */
export const ADMIN_ROOT = location.pathname.replace(/segur-dpi\/.*$/, '').replace(/[^/]*$/, '') || '/';
const API = `${ADMIN_ROOT}segur-dpi/api`;

/** Node-RED's red.js (RED.settings.init): "auth-tokens" + the editor's path without its last "/", each "/" a "-". */
export const EDITOR_TOKEN_KEY = 'auth-tokens' + ADMIN_ROOT.slice(0, -1).replace(/\//g, '-');
const OWN_TOKEN_KEY = 'segur-dpi-console-token' + ADMIN_ROOT.slice(0, -1).replace(/\//g, '-');

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

function readToken(storage: Storage, key: string): string | null {
  try {
    const v = JSON.parse(storage.getItem(key) ?? 'null') as { access_token?: unknown } | null;
    return typeof v?.access_token === 'string' && v.access_token ? v.access_token : null;
  } catch {
    return null;
  }
}

/** The token in use: this page's own login first, else the editor's. */
export function token(): string | null {
  return readToken(sessionStorage, OWN_TOKEN_KEY) ?? readToken(localStorage, EDITOR_TOKEN_KEY);
}

export function tokenSource(): 'console' | 'editor' | null {
  return readToken(sessionStorage, OWN_TOKEN_KEY) ? 'console' : readToken(localStorage, EDITOR_TOKEN_KEY) ? 'editor' : null;
}

/** Which login the runtime has: 'credentials' (a form), another type, or null without adminAuth. */
export async function loginType(): Promise<string | null> {
  const res = await fetch(`${ADMIN_ROOT}auth/login`, { headers: { accept: 'application/json' } });
  if (!res.ok) return null;
  const body = (await res.json()) as { type?: string };
  return body.type ?? null;
}

/** Logs in as the editor does (password grant, the user's own permissions); keeps the token for this tab. */
export async function login(username: string, password: string): Promise<boolean> {
  const res = await fetch(`${ADMIN_ROOT}auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: 'node-red-editor', grant_type: 'password', scope: '', username, password }),
  });
  if (!res.ok) return false;
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) return false;
  sessionStorage.setItem(OWN_TOKEN_KEY, JSON.stringify({ access_token: body.access_token }));
  return true;
}

/** Forgets this page's own token (revoked at Node-RED); the editor's token is the editor's to revoke. */
export async function logout(): Promise<void> {
  const own = readToken(sessionStorage, OWN_TOKEN_KEY);
  sessionStorage.removeItem(OWN_TOKEN_KEY);
  if (own) {
    await fetch(`${ADMIN_ROOT}auth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${own}` },
      body: JSON.stringify({ token: own }),
    }).catch(() => undefined);
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = token();
  return { accept: 'application/json', ...(t ? { authorization: `Bearer ${t}` } : {}), ...extra };
}

async function failure(res: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await res.json()) as Record<string, unknown>;
  } catch {
    /* Node-RED's own 401 has no body */
  }
  const code = typeof body.error === 'string' ? body.error : res.status === 401 ? 'unauthorized' : `http-${res.status}`;
  const message = typeof body.message === 'string' ? body.message : res.statusText || `HTTP ${res.status}`;
  return new ApiError(res.status, code, message, body);
}

/** Query string of the values given (empty ones left out). */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function get<T>(path: string): Promise<T> {
  const res = await fetch(API + path, { headers: headers() });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(API + path, { method: 'POST', headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify(body) });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** Bytes the API serves (a PDF, a raw message), as a blob: URL the page can show or offer for download. */
export async function blobUrl(path: string): Promise<string> {
  const res = await fetch(API + path, { headers: headers({ accept: '*/*' }) });
  if (!res.ok) throw await failure(res);
  return URL.createObjectURL(await res.blob());
}
