// Whether the runtime logs at debug level. Node-RED's node.debug() builds an Error (for its stack) and a
// log record on every call, even when the level then drops it: a line written for each message costs
// more than reading the message. The nodes write such lines only when they will be shown.
import type { NodeAPI } from './red';

/**
 * True when a logger of the settings (`logging: { console: { level: 'debug' } }`, or any handler of
 * its own) is at debug or trace level. The level is set when Node-RED starts: read it once per node.
 */
export function debugLogging(RED: NodeAPI): boolean {
  let logging: unknown;
  try {
    logging = RED.settings.logging;
  } catch {
    return false;
  }
  if (!logging || typeof logging !== 'object') return false;
  return Object.values(logging as Record<string, unknown>).some((logger) => {
    const level = logger && typeof logger === 'object' ? (logger as { level?: unknown }).level : undefined;
    return level === 'debug' || level === 'trace';
  });
}
