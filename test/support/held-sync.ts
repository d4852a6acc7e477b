// A WAL sync for the store's sync hook (SqliteIdentityStore.syncWal) that waits to be released, then
// really syncs: tests see that nothing is answered while a commit is not on disk.
import { fdatasync, type WalSync } from '../../lib/store';

export class HeldSync {
  /** How many syncs were asked for. */
  calls = 0;
  private waiting: (() => void)[] = [];
  readonly sync: WalSync = (fd) => {
    this.calls++;
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => fdatasync(fd));
  };

  /** Syncs asked for and not released yet. */
  get held(): number {
    return this.waiting.length;
  }

  release(): void {
    for (const go of this.waiting.splice(0)) go();
  }
}
