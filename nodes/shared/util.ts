// Small helpers shared by the nodes: TLS options from the `tls-config` node, payload bytes, status clock.
import { encodeHl7 } from '../../lib/hl7';
import type { NodeAPI, TlsConfigNode } from './red';

/**
 * Returns the TLS options of the `tls-config` node `id`, or null when TLS is off (no id: the editor
 * stores an empty id when "Use TLS" is unticked).
 * Throws when the configuration node is missing or invalid (unreadable certificate files…).
 */
export function tlsOptionsFrom(RED: NodeAPI, id: unknown): Record<string, unknown> | null {
  if (typeof id !== 'string' || !id || id === '_ADD_') return null;
  const cfg = RED.nodes.getNode(id) as TlsConfigNode | null;
  if (!cfg) throw new Error(`TLS configuration node ${id} not found`);
  if (typeof cfg.addTLSOptions !== 'function') throw new Error(`node ${id} is not a TLS configuration (tls-config) node`);
  if (cfg.valid === false) throw new Error(`TLS configuration node ${id} is invalid (see its error in the log)`);
  return cfg.addTLSOptions({});
}

/** HH:MM:SS of now, for status texts. */
export function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}

/**
 * msg.payload as bytes to send: a Buffer / Uint8Array as is, a string encoded in the character set its
 * own MSH-18 declares (UTF-8 when it is not HL7 or cannot be encoded so); null for anything else.
 */
export function payloadBytes(payload: unknown): Buffer | null {
  if (Buffer.isBuffer(payload)) return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (typeof payload !== 'string') return null;
  try {
    return encodeHl7(payload);
  } catch {
    return Buffer.from(payload, 'utf8');
  }
}
