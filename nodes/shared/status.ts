// A node status shown at most a few times a second. A node that updates its status for every message
// (counters, "sent at…") would otherwise send one editor event per message; here the first change is
// shown at once, later ones at most every `intervalMs`, and the last state is always shown in the end. A
// status given as a function is built only when shown (its RED._ text is not built per message).
import type { Node, NodeStatus } from './red';

type Status = NodeStatus | (() => NodeStatus);

/** The default interval: four updates a second at most. */
export const STATUS_INTERVAL_MS = 250;

export class ThrottledStatus {
  private shownAt = -Infinity;
  private pending: Status | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly node: Node,
    private readonly intervalMs = STATUS_INTERVAL_MS,
  ) {}

  /** Shows `status` now if the last one was shown long enough ago, else when the interval ends (the latest wins). */
  set(status: Status): void {
    const wait = this.shownAt + this.intervalMs - Date.now();
    if (wait <= 0 && !this.timer) return this.show(status);
    this.pending = status;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        const latest = this.pending;
        this.pending = null;
        if (latest) this.show(latest);
      }, Math.max(0, wait));
    }
  }

  /** Forgets what is pending (the node is closing) and shows `status`, if given, at once. */
  stop(status?: NodeStatus | Record<string, never>): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
    if (status) this.node.status(status);
  }

  private show(status: Status): void {
    this.shownAt = Date.now();
    this.node.status(typeof status === 'function' ? status() : status);
  }
}
