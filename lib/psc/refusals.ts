// Why a request is refused, and the HTTP answer each reason gets. A refusal never carries a token, a
// code, a cookie or a secret: its detail is the reason a library gave (fixed texts), with anything that
// looks like a token cut out.

export type RefusalCode =
  /** no session and no bearer token, on a request that cannot be redirected to PSC (API, POST…) */
  | 'not-authenticated'
  /** the bearer token is unknown, expired, revoked, or issued to another client */
  | 'bearer-invalid'
  /** the callback lacks code or state */
  | 'callback-invalid'
  /** the callback's state matches no login started by this browser (missing, wrong, replayed, expired) */
  | 'state-mismatch'
  /** PSC answered the login with an error (the user cancelled, access_denied…) */
  | 'login-refused'
  /** the token endpoint refused the code (replayed code, wrong PKCE verifier, expired code) */
  | 'code-rejected'
  /** the ID token failed validation: signature (JWKS), algorithm, issuer, audience, expiry, nonce */
  | 'id-token-invalid'
  /** the authentication level (acr) is below the required one */
  | 'acr-insufficient'
  /** userinfo is missing, malformed, signed wrongly, for another subject, or has no national id */
  | 'userinfo-invalid'
  /** authenticated, but neither the professions nor the national ids allowed */
  | 'not-allowed'
  /** a return path that would leave the site */
  | 'bad-return-path'
  /** the psc-config node is missing or invalid */
  | 'not-configured'
  /** PSC cannot be reached (discovery, token, userinfo or introspection endpoint down or too slow) */
  | 'psc-unavailable';

interface RefusalRule {
  status: number;
  /** Whether the refusal is also reported as a Catch-able error (the plain login challenge is not). */
  error: boolean;
}

/** Status and reporting of each refusal. Frozen. */
export const REFUSALS: Readonly<Record<RefusalCode, RefusalRule>> = Object.freeze({
  'not-authenticated': { status: 401, error: false },
  'bearer-invalid': { status: 401, error: true },
  'callback-invalid': { status: 400, error: true },
  'state-mismatch': { status: 403, error: true },
  'login-refused': { status: 401, error: true },
  'code-rejected': { status: 401, error: true },
  'id-token-invalid': { status: 401, error: true },
  'acr-insufficient': { status: 403, error: true },
  'userinfo-invalid': { status: 401, error: true },
  'not-allowed': { status: 403, error: true },
  'bad-return-path': { status: 400, error: true },
  'not-configured': { status: 503, error: true },
  'psc-unavailable': { status: 503, error: true },
});

/** Runs of characters that could be a token, a code or a key: 20 or more base64 / base64url / hex
 * characters holding a digit or both cases (a long word such as "introspection_endpoint" is kept). */
const TOKEN_LIKE = /[A-Za-z0-9_\-+/=~]{20,}/g;
const looksRandom = (run: string) => /\d/.test(run) || (/[a-z]/.test(run) && /[A-Z]/.test(run));
const cutTokens = (s: string) => s.replace(TOKEN_LIKE, (run) => (looksRandom(run) ? '…' : run));

/** A library's error text, safe to log: one line, at most 200 characters, nothing token-like. */
export function safeDetail(err: unknown): string {
  const e = err as { message?: unknown; cause?: { message?: unknown } } | null;
  const raw = typeof e?.cause?.message === 'string' ? e.cause.message : typeof e?.message === 'string' ? e.message : String(err);
  return cutTokens(raw.replace(/\s+/g, ' ')).slice(0, 200);
}

export class PscRefusal extends Error {
  override readonly name = 'PscRefusal';
  readonly status: number;
  /** Whether to report it as a Catch-able error. */
  readonly reportable: boolean;
  constructor(
    readonly code: RefusalCode,
    /** Why, without any secret value (see safeDetail). */
    readonly detail = '',
    options?: { cause?: unknown; status?: number },
  ) {
    super(detail ? `${code}: ${detail}` : code, options);
    this.status = options?.status ?? REFUSALS[code].status;
    this.reportable = REFUSALS[code].error;
  }
}

/** Whether an error is a PscRefusal. */
export function isRefusal(err: unknown): err is PscRefusal {
  return err instanceof PscRefusal;
}
