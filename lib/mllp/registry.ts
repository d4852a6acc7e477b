// Open MLLP connections by id, shared by every node of the pack in this process (mllp-in registers
// the connections it accepts, mllp-response writes replies to them). Kept on a global symbol so that
// the registry is the same even if this module were loaded twice (e.g. through two paths).
import type { MllpConnection } from './server';

const KEY = Symbol.for('node-red-contrib-segur-dpi.mllp.connections');
type Registry = Map<string, MllpConnection>;

const holder = globalThis as unknown as Record<symbol, Registry | undefined>;

export const connections: Registry = (holder[KEY] ??= new Map<string, MllpConnection>());
