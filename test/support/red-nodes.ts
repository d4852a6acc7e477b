// Test helpers for the node tests run with node-red-node-test-helper: the nodes' en-US messages
// (the helper's RED._ returns the key alone), collecting what helper nodes receive, waiting.
import * as fs from 'node:fs';
import * as path from 'node:path';

type NodeModule = (RED: any) => void;

/** dist/nodes (the built nodes, with their locales copied beside them). */
const NODES_DIR = path.resolve(__dirname, '..', '..', 'nodes');

function loadMessages(types: string[]): Record<string, unknown> {
  const all: Record<string, unknown> = {};
  for (const type of types) {
    const file = path.join(NODES_DIR, type, 'locales', 'en-US', `${type}.json`);
    Object.assign(all, JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>);
  }
  return all;
}

/**
 * The node modules, registered with a RED._ that reads the nodes' en-US message files and fills the
 * __name__ placeholders (a key that is not found comes back as is, as with Node-RED).
 */
export function withMessages(types: string[], modules: NodeModule[]): NodeModule {
  const messages = loadMessages(types);
  const translate = (key: string, subs: Record<string, unknown> = {}): string => {
    let v: unknown = messages;
    for (const part of key.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    if (typeof v !== 'string') return key;
    return v.replace(/__(\w+)__/g, (all, name: string) => (name in subs ? String(subs[name]) : all));
  };
  return (RED: any) => {
    RED._ = translate;
    for (const m of modules) m(RED);
  };
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `cond` holds (polling), or fails after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

/**
 * Every status a node of the loaded flow has shown, first to last — its deploy-time status included,
 * which a listener on 'call:status' attached after helper.load misses (the helper spies on the Node
 * prototype's status()).
 */
export function statusesOf(node: any): Record<string, unknown>[] {
  return node.status
    .getCalls()
    .filter((c: { thisValue: unknown }) => c.thisValue === node)
    .map((c: { args: unknown[] }) => c.args[0] as Record<string, unknown>);
}

/** Waits until an asynchronous condition holds (a store read), polling; throws after `timeoutMs`. */
export async function untilAsync(cond: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}
