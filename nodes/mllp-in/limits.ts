// The limits of an mllp-in listener: read from the node's configuration (editor fields, defaults for the
// flows written before them), and reported — each hit counted, warned about once per connection
// (refused connections: once a minute per remote address, with the count since), never with content.
import { DEFAULT_LIMITS, type MllpLimit, type MllpLimitHit, type MllpLimits } from '../../lib/mllp';

/** The editor fields of the limits, with their units. */
export interface LimitFields {
  maxConnections?: string | number;
  maxPerAddress?: string | number;
  /** seconds */
  idleTimeout?: string | number;
  /** seconds */
  frameTimeout?: string | number;
  /** MiB */
  maxBuffered?: string | number;
  /** KiB */
  maxPendingAck?: string | number;
}

/** Defaults of the editor fields (DEFAULT_LIMITS in the fields' units). */
export const LIMIT_FIELD_DEFAULTS = Object.freeze({
  maxConnections: DEFAULT_LIMITS.maxConnections,
  maxPerAddress: DEFAULT_LIMITS.maxConnectionsPerAddress,
  idleTimeout: DEFAULT_LIMITS.idleTimeoutMs / 1000,
  frameTimeout: DEFAULT_LIMITS.frameTimeoutMs / 1000,
  maxBuffered: DEFAULT_LIMITS.maxBufferedBytes / (1024 * 1024),
  maxPendingAck: DEFAULT_LIMITS.maxPendingWriteBytes / 1024,
});

/** A field's value times its unit; the default when empty, not a number or negative (0 = no limit). */
function field(v: string | number | undefined, fallback: number, unit: number): number {
  if (v === undefined || v === null || String(v).trim() === '') return fallback * unit;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n * unit) : fallback * unit;
}

export function limitsFrom(config: LimitFields): MllpLimits {
  const d = LIMIT_FIELD_DEFAULTS;
  return {
    maxConnections: field(config.maxConnections, d.maxConnections, 1),
    maxConnectionsPerAddress: field(config.maxPerAddress, d.maxPerAddress, 1),
    idleTimeoutMs: field(config.idleTimeout, d.idleTimeout, 1000),
    frameTimeoutMs: field(config.frameTimeout, d.frameTimeout, 1000),
    maxBufferedBytes: field(config.maxBuffered, d.maxBuffered, 1024 * 1024),
    maxPendingWriteBytes: field(config.maxPendingAck, d.maxPendingAck, 1024),
  };
}

/** How often a refused connection from one address is warned about (with the count refused since). */
export const REFUSAL_WARNING_INTERVAL_MS = 60_000;
const MAX_TRACKED_ADDRESSES = 1000;

/** Decides which limit hits are warned about, and keeps the counts the node's status shows. */
export class LimitReport {
  /** Hits of every limit since the node started. */
  total = 0;
  last: MllpLimit | null = null;
  private readonly refusals = new Map<string, { at: number; since: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Records a hit; returns the number of hits it stands for when it must be warned about (1, or more
   * for a refusal after refusals left unwarned), null when it must not (already warned about).
   */
  record(hit: MllpLimitHit): number | null {
    this.total++;
    this.last = hit.limit;
    if (hit.connectionId !== null) return hit.first ? 1 : null;
    const key = `${hit.limit} ${hit.remoteAddress}`;
    const now = this.now();
    const seen = this.refusals.get(key);
    if (seen && now - seen.at < REFUSAL_WARNING_INTERVAL_MS) {
      seen.since++;
      return null;
    }
    const count = (seen?.since ?? 0) + 1;
    if (!seen && this.refusals.size >= MAX_TRACKED_ADDRESSES) {
      for (const [k, v] of this.refusals) if (now - v.at >= REFUSAL_WARNING_INTERVAL_MS) this.refusals.delete(k);
    }
    if (this.refusals.size < MAX_TRACKED_ADDRESSES || seen) this.refusals.set(key, { at: now, since: 0 });
    return count;
  }
}

/** Whether a bind address means every interface of the machine. */
export function isEveryInterface(host: string): boolean {
  return ['0.0.0.0', '::', '::0', '0:0:0:0:0:0:0:0', '[::]'].includes(host.trim());
}
