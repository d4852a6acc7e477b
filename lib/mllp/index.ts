// MLLP transport (framing, client, server) — no Node-RED and no HL7 dependency.
export * from './framing';
export * from './errors';
export * from './client';
export * from './server';
export { connections } from './registry';
export * from './listeners';
