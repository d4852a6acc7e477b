// The identity-feed flow used by the end-to-end test and the benchmark:
// mllp-in → adt-to-ins (ins-store: SQLite in the user dir) → mllp-response.
import type { FlowNode } from './harness';

export interface IdentityFlowOptions {
  /** mllp-in answers by itself and adt-to-ins is not in the path (transport baseline). */
  autoAck?: boolean;
  /** The store file, relative to the user dir (default: the ins-store default, segur-dpi/ins-store.db). */
  file?: string;
  /** 'normal': answers before the WAL is synced — the benchmark's baseline only (ins-store's durability). */
  durability?: 'normal';
  /** The store on PostgreSQL at this URL instead of SQLite (issue 15: several instances on one database). */
  postgres?: string;
  /** ins-store's "Write the journal" (on by default): off for the journal benchmark's comparison (issue 14). */
  journal?: boolean;
  /** Appended to every node id, so that two of these flows can be deployed together. */
  suffix?: string;
}

export function identityFlow(mllpPort: number, opts: IdentityFlowOptions = {}): FlowNode[] {
  const id = (name: string) => `adt-${name}${opts.suffix ?? ''}`;
  const store: FlowNode = { id: id('store'), type: 'ins-store', name: 'identités', engine: 'sqlite', file: opts.file ?? '' };
  if (opts.durability) store.durability = opts.durability;
  if (opts.postgres) Object.assign(store, { engine: 'postgres', file: '', url: opts.postgres, poolSize: 8 });
  if (opts.journal !== undefined) store.journal = opts.journal;
  return [
    { id: id('tab'), type: 'tab', label: `identity feed e2e${opts.suffix ?? ''}` },
    store,
    { id: id('in'), z: id('tab'), type: 'mllp-in', name: '', port: mllpPort, host: '127.0.0.1', tls: '', maxSize: 10, maxSizeUnit: 'MiB', autoAck: opts.autoAck === true, wires: [opts.autoAck ? [] : [id('ins')]] },
    { id: id('ins'), z: id('tab'), type: 'adt-to-ins', name: '', store: id('store'), valiQualified: false, wires: [[], [id('resp')]] },
    { id: id('resp'), z: id('tab'), type: 'mllp-response', name: '', wires: [] },
  ];
}
