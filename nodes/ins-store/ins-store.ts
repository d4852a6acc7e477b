// ins-store: configuration node of the identity registry of the layer (latest identity per IPP,
// status history, merges and links, audit trail, idempotence of ADT messages). SQLite for now, one
// open database per file shared by every ins-store node that names it (nodes/shared/stores.ts).
import type { Node, NodeAPI, NodeDef } from '../shared/red';
import { STORE_ENGINES, acquire, release, resolveStoreFile, type InsStoreNode, type StoreEngine } from '../shared/stores';

interface InsStoreDef extends NodeDef {
  engine?: string;
  file?: string;
  /**
   * 'normal' for the benchmark's baseline only (not in the editor): writes answered before the WAL is
   * synced (lib/store SqliteStoreOptions.durability). Anything else: durable writes.
   */
  durability?: string;
};

export = function (RED: NodeAPI) {
  function InsStoreConfigNode(this: InsStoreNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = def as InsStoreDef;
    const engine = (config.engine || 'sqlite') as StoreEngine;
    node.engine = engine;
    node.file = resolveStoreFile(config.file, RED.settings.userDir);
    node.store = null;
    node.openError = null;
    node.getStore = () => {
      if (node.store) return node.store;
      throw node.openError ?? new Error(RED._('ins-store.errors.closed', { file: node.file }));
    };

    let held = false;
    if (!(STORE_ENGINES as readonly string[]).includes(engine)) {
      node.openError = new Error(RED._('ins-store.errors.engine', { engine: String(config.engine) }));
      node.error(node.openError);
    } else {
      try {
        node.store = acquire(node.file, engine, { durability: config.durability === 'normal' ? 'normal' : 'fsync' });
        held = true;
        node.debug(`ins-store: ${engine} ${node.file} open`);
      } catch (err) {
        node.openError = new Error(RED._('ins-store.errors.open', { file: node.file, error: (err as Error).message }));
        node.error(node.openError);
      }
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      node.store = null;
      if (!node.openError) node.openError = new Error(RED._('ins-store.errors.closed', { file: node.file }));
      if (!held) return done();
      held = false;
      release(node.file).then(
        () => done(),
        (err: Error) => {
          node.warn(RED._('ins-store.errors.close', { file: node.file, error: err.message }));
          done();
        },
      );
    });
  }

  RED.nodes.registerType('ins-store', InsStoreConfigNode as unknown as (this: Node, def: NodeDef) => void);
};
