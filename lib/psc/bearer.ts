// Bearer tokens presented by API clients (Authorization: Bearer …), checked at PSC (introspection or
// userinfo, see PscClient.checkBearer) and the answer kept briefly, so that a busy client does not cost
// one PSC round trip per request. The cache is keyed by the token's SHA-256 (the token itself is never
// kept), an entry lives at most `cacheMs` and never past the token's own expiry; refusals are kept
// too (so that a flood of one bad token reaches PSC once per period), "PSC unavailable" is not. Several
// requests with the same token while it is being checked share one check.
import { createHash } from 'node:crypto';
import type { PscBearer } from './client';
import { isRefusal, PscRefusal } from './refusals';

export interface BearerCacheOptions {
  /** How long an answer is kept, in milliseconds (0: not kept). */
  cacheMs: number;
  /** At most this many entries (oldest dropped first). Default 10,000. */
  maxEntries?: number;
  now?: () => number;
}

type Entry = { until: number; ok: PscBearer } | { until: number; refusal: PscRefusal };

export class BearerCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<PscBearer>>();
  private readonly cacheMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly check: (token: string) => Promise<PscBearer>,
    opts: BearerCacheOptions,
  ) {
    this.cacheMs = Math.max(0, opts.cacheMs);
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** The professional a bearer token belongs to; throws a PscRefusal. */
  async validate(token: string): Promise<PscBearer> {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.until > now) {
      if ('refusal' in hit) throw hit.refusal;
      return hit.ok;
    }
    if (hit) this.entries.delete(key);
    const running = this.pending.get(key);
    if (running) return running;
    const p = this.check(token).then(
      (ok) => {
        this.remember(key, { until: Math.min(this.now() + this.cacheMs, ok.expiresAt ?? Infinity), ok });
        return ok;
      },
      (err: unknown) => {
        if (isRefusal(err) && err.code !== 'psc-unavailable') this.remember(key, { until: this.now() + this.cacheMs, refusal: err });
        throw err;
      },
    );
    this.pending.set(key, p);
    try {
      return await p;
    } finally {
      this.pending.delete(key);
    }
  }

  /** Forgets every answer (after a revocation, for instance). */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private remember(key: string, entry: Entry): void {
    if (this.cacheMs === 0 || entry.until <= this.now()) return;
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, entry);
  }
}
