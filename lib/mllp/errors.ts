/** An MLLP transport failure. `code` is machine-readable: TIMEOUT, CONNECT_TIMEOUT, CLOSED, BAD_ACK, or the
 * system error code of the underlying socket error (ECONNREFUSED, ECONNRESET, ENOTFOUND, EPIPE, TLS codes…). */
export class MllpError extends Error {
  readonly code: string;
  /** Number of times the message was sent / connection attempts made before giving up (client only). */
  attempts?: number;

  constructor(code: string, message: string, opts?: { cause?: unknown; attempts?: number }) {
    super(message, opts?.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'MllpError';
    this.code = code;
    if (opts?.attempts !== undefined) this.attempts = opts.attempts;
  }
}

/** The `code` of a Node.js system error, if any. */
export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}
