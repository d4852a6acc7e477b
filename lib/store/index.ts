// Stores of the layer: the identity registry (and document archive) behind one interface.
export * from './types';
export * from './journal';
export * from './reconciliation';
export { SqliteIdentityStore, type SqliteStoreOptions } from './sqlite';
export { fdatasync, walSync, INLINE_SYNC_MS, POOL_HANDOVER_MS, type WalSync } from './group-commit';
export { PostgresIdentityStore, redactUrl, type PostgresStoreOptions } from './postgres';
export { MIGRATIONS, PG_SCHEMA_VERSION, STORE_TABLES } from './postgres-schema';
