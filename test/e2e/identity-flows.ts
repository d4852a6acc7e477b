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
}

export function identityFlow(mllpPort: number, opts: IdentityFlowOptions = {}): FlowNode[] {
  const store: FlowNode = { id: 'adt-store', type: 'ins-store', name: 'identités', engine: 'sqlite', file: opts.file ?? '' };
  if (opts.durability) store.durability = opts.durability;
  if (opts.postgres) Object.assign(store, { engine: 'postgres', file: '', url: opts.postgres, poolSize: 8 });
  return [
    { id: 'adt-tab', type: 'tab', label: 'identity feed e2e' },
    store,
    { id: 'adt-in', z: 'adt-tab', type: 'mllp-in', name: '', port: mllpPort, host: '127.0.0.1', tls: '', maxSize: 10, maxSizeUnit: 'MiB', autoAck: opts.autoAck === true, wires: [opts.autoAck ? [] : ['adt-ins']] },
    { id: 'adt-ins', z: 'adt-tab', type: 'adt-to-ins', name: '', store: 'adt-store', valiQualified: false, wires: [[], ['adt-resp']] },
    { id: 'adt-resp', z: 'adt-tab', type: 'mllp-response', name: '', wires: [] },
  ];
}
