// Where the browser goes back after a login: only a path of this site. Anything that a browser could
// read as another origin — an absolute URL, a scheme-relative `//host`, a backslash that some browsers
// turn into a slash, a control character or a space that they strip — is refused (open redirect,
// OWASP "Unvalidated Redirects and Forwards").

const BASE = 'https://return-path.invalid';
const MAX_LENGTH = 2048;

/**
 * The same-origin relative path (path and query, no fragment) a value designates, or null when the
 * value is not one: it must start with a single `/`, hold no backslash, no control character and no
 * space, and stay on the origin once resolved.
 */
export function safeReturnPath(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return null;
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return null;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f-\u009f]/.test(value)) return null;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return null;
  }
  if (url.origin !== BASE) return null;
  return url.pathname + url.search;
}
