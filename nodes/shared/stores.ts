// The identity stores opened by ins-store configuration nodes, shared per database: two configuration
// nodes naming the same file (or the same PostgreSQL database as the same user), or a configuration node
// redeployed while another still holds it, use one open store (one SQLite connection, one writer; one
// PostgreSQL pool). Reference-counted: the store is closed when its last user releases it. The database holds patient data: its folder is
// created 0700 and the file 0600 before SQLite opens it (SQLite gives -wal and -shm the database's mode).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PostgresIdentityStore, SqliteIdentityStore, type IdentityStore, type PostgresStoreOptions, type SqliteStoreOptions } from '../../lib/store';
import type { Node } from './red';

/** The storage engines an ins-store node can use: an embedded SQLite file, or a shared PostgreSQL database (issue 15). */
export const STORE_ENGINES = ['sqlite', 'postgres'] as const;
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

/** Mode of every file holding patient data, and of the folders created for them: the owner's only. */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Makes a database file private before SQLite opens it: its folder is created 0700 if missing, the file
 * is created empty 0600 if missing (SQLite creates the -wal and -shm files with the database file's
 * mode), and an existing database, -wal or -shm that others may read (one written by an earlier
 * release: 0644) is set to 0600. An existing folder keeps its mode.
 */
export function preparePrivateFile(file: string): void {
  if (file === ':memory:') return;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, PRIVATE_FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    let mode: number;
    try {
      mode = fs.statSync(f).mode & 0o777;
    } catch {
      continue; // no -wal / -shm yet
    }
    if (mode & 0o077) fs.chmodSync(f, mode & 0o700);
  }
}

/**
 * What names a PostgreSQL store among the open ones, in messages and logs: its URL as the user given,
 * without password or query (postgres://user@host:port/database).
 */
export function postgresKey(url: string, user?: string): string {
  try {
    const u = new URL(url);
    if (user) u.username = encodeURIComponent(user);
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString();
  } catch {
    throw new Error('the PostgreSQL URL is not a URL (postgres://host:port/database)');
  }
}

/**
 * The open store of an (absolute) file — or of a PostgreSQL database (key: postgresKey) —, opened on
 * first use: a file with its folder, both private (preparePrivateFile); a PostgreSQL database with the
 * pool `options` give (its schema migrated in the background: a failure rejects every call). Each call
 * must be matched by one release(key). Throws when the store cannot be opened (folder not writable, not
 * a database, a PostgreSQL store not open and no URL given…); nothing is then held. `options` apply
 * when this call opens the store (the first user's durability or pool holds for every user).
 */
export function acquire(
  key: string,
  engine: StoreEngine = 'sqlite',
  options: Omit<SqliteStoreOptions, 'file'> | PostgresStoreOptions = {},
): IdentityStore {
  const entry = open.get(key);
  if (entry) {
    entry.refs++;
    return entry.store;
  }
  let store: IdentityStore;
  if (engine === 'postgres') {
    const pgOptions = options as Partial<PostgresStoreOptions>;
    if (!pgOptions.url) throw new Error(`the PostgreSQL store ${key} is not open`);
    store = new PostgresIdentityStore(pgOptions as PostgresStoreOptions);
  } else if (engine === 'sqlite') {
    preparePrivateFile(key);
    store = new SqliteIdentityStore({ file: key, ...(options as Omit<SqliteStoreOptions, 'file'>) });
  } else throw new Error(`storage engine "${String(engine)}" is not supported`);
  open.set(key, { store, refs: 1 });
  return store;
}

/** Gives back a store taken with acquire; the last release closes the database. */
export async function release(key: string): Promise<void> {
  const entry = open.get(key);
  if (!entry) return;
  entry.refs--;
  if (entry.refs > 0) return;
  open.delete(key);
  await entry.store.close();
}

/** The files open now and their number of users (for tests and diagnostics). */
export function openStores(): Record<string, number> {
  return Object.fromEntries([...open].map(([file, e]) => [file, e.refs]));
}

/** The ins-store configuration node as other nodes see it (RED.nodes.getNode). */
export interface InsStoreNode extends Node {
  engine: StoreEngine;
  /** The absolute path of the database file; for PostgreSQL, its URL without password (postgresKey). */
  file: string;
  /** The open store; null when it could not be opened (see openError) or once the node is closed. */
  store: IdentityStore | null;
  /** Why the store cannot be used (the message names the file); null while it is open. */
  openError: Error | null;
  /** The open store; throws openError when there is none. */
  getStore(): IdentityStore;
  /** Whether the nodes using this store write the message journal (the node's "Journal" setting, on by default). */
  journal: boolean;
}

/** Whether a node from RED.nodes.getNode is an ins-store node. */
export function isInsStoreNode(node: Node | null): node is InsStoreNode {
  return node !== null && node.type === 'ins-store' && typeof (node as Partial<InsStoreNode>).getStore === 'function';
}
