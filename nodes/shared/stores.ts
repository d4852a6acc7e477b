// The identity stores opened by ins-store configuration nodes, shared per database file: two
// configuration nodes naming the same file, or a configuration node redeployed while another still
// holds the file, use one open database (one SQLite connection, one writer). Reference-counted: the
// database is closed when its last user releases it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteIdentityStore, type IdentityStore, type SqliteStoreOptions } from '../../lib/store';
import type { Node } from './red';

/** The storage engines an ins-store node can use (PostgreSQL next). */
export const STORE_ENGINES = ['sqlite'] as const;
export type StoreEngine = (typeof STORE_ENGINES)[number];

/** The file used when an ins-store node names none, relative to the Node-RED user directory. */
export const DEFAULT_STORE_FILE = path.join('segur-dpi', 'ins-store.db');

interface Entry {
  store: IdentityStore;
  refs: number;
}

const open = new Map<string, Entry>();

/**
 * The absolute path of a store file: empty → `<userDir>/segur-dpi/ins-store.db`; a relative path is
 * relative to the user directory (`~/.node-red` when the runtime gives none). The folder is resolved
 * through symbolic links when it exists, so that two spellings of one folder share a database.
 * ':memory:' (an in-memory database, lost on close) is kept as is.
 */
export function resolveStoreFile(file: string | undefined, userDir: string | undefined): string {
  const name = (file ?? '').trim();
  if (name === ':memory:') return name;
  const base = userDir && userDir.trim() ? userDir : path.join(os.homedir(), '.node-red');
  const resolved = path.resolve(base, name || DEFAULT_STORE_FILE);
  try {
    return path.join(fs.realpathSync(path.dirname(resolved)), path.basename(resolved));
  } catch {
    return resolved; // the folder does not exist yet: it is created on first use
  }
}

/**
 * The open store of an (absolute) file, opened — with its folder — on first use. Each call must be
 * matched by one release(file). Throws when the database cannot be opened (folder not writable,
 * not a database…); nothing is then held. `options` apply when this call opens the file (the first
 * user's durability holds for every user of the file).
 */
export function acquire(file: string, engine: StoreEngine = 'sqlite', options: Omit<SqliteStoreOptions, 'file'> = {}): IdentityStore {
  const entry = open.get(file);
  if (entry) {
    entry.refs++;
    return entry.store;
  }
  if (engine !== 'sqlite') throw new Error(`storage engine "${String(engine)}" is not supported`);
  const store = new SqliteIdentityStore({ file, ...options });
  open.set(file, { store, refs: 1 });
  return store;
}

/** Gives back a store taken with acquire; the last release closes the database. */
export async function release(file: string): Promise<void> {
  const entry = open.get(file);
  if (!entry) return;
  entry.refs--;
  if (entry.refs > 0) return;
  open.delete(file);
  await entry.store.close();
}

/** The files open now and their number of users (for tests and diagnostics). */
export function openStores(): Record<string, number> {
  return Object.fromEntries([...open].map(([file, e]) => [file, e.refs]));
}

/** The ins-store configuration node as other nodes see it (RED.nodes.getNode). */
export interface InsStoreNode extends Node {
  engine: StoreEngine;
  /** The absolute path of the database file. */
  file: string;
  /** The open store; null when it could not be opened (see openError) or once the node is closed. */
  store: IdentityStore | null;
  /** Why the store cannot be used (the message names the file); null while it is open. */
  openError: Error | null;
  /** The open store; throws openError when there is none. */
  getStore(): IdentityStore;
}

/** Whether a node from RED.nodes.getNode is an ins-store node. */
export function isInsStoreNode(node: Node | null): node is InsStoreNode {
  return node !== null && node.type === 'ins-store' && typeof (node as Partial<InsStoreNode>).getStore === 'function';
}
