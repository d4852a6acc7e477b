// The part of the Node-RED runtime API the pack's nodes use, typed for strict TypeScript.
// (Node-RED ships no types of its own; this file states exactly what we rely on.)

export interface NodeMessage {
  _msgid?: string;
  payload?: unknown;
  [key: string]: unknown;
}

export type StatusFill = 'red' | 'green' | 'yellow' | 'blue' | 'grey';
export interface NodeStatus {
  fill?: StatusFill;
  shape?: 'ring' | 'dot';
  text?: string;
}

export type SendFn = (msg: NodeMessage | null | (NodeMessage | NodeMessage[] | null)[]) => void;
export type DoneFn = (err?: Error) => void;

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

export interface Node {
  id: string;
  type: string;
  name?: string;
  credentials?: Record<string, string>;
  on(event: 'input', cb: (msg: NodeMessage, send: SendFn, done: DoneFn) => void | Promise<void>): void;
  on(event: 'close', cb: (removed: boolean, done: () => void) => void): void;
  send: SendFn;
  status(status: NodeStatus | Record<string, never>): void;
  log(msg: string): void;
  warn(msg: string): void;
  error(err: string | Error, msg?: NodeMessage): void;
  debug(msg: string): void;
  trace(msg: string): void;
}

/** The TLS configuration node that ships with Node-RED (`tls-config`). */
export interface TlsConfigNode extends Node {
  valid: boolean;
  addTLSOptions(opts: Record<string, unknown>): Record<string, unknown>;
}

export interface NodeAPI {
  nodes: {
    createNode(node: Node, def: NodeDef): void;
    getNode(id: string): Node | null;
    registerType(type: string, ctor: (this: Node, def: NodeDef) => void, opts?: Record<string, unknown>): void;
  };
  settings: Record<string, unknown> & { userDir?: string };
  log: { info(m: string): void; warn(m: string): void; error(m: string): void; debug(m: string): void };
  _(key: string, subs?: Record<string, unknown>): string;
  /** The runtime's events (flows:started, runtime-event…). */
  events?: { on(event: string, listener: (payload: any) => void): void };
  /** The editor's HTTP API (Express), for the endpoints an edit dialog reads. */
  httpAdmin: { get(path: string, ...handlers: AdminHandler[]): void };
  auth: { needsPermission(permission: string): AdminHandler };
  /** Node-RED plugins (the operations console registers itself as one). */
  plugins: { registerPlugin(id: string, definition: Record<string, unknown>): void };
}

/** An Express handler of RED.httpAdmin (the part used here). */
export type AdminHandler = (req: unknown, res: { json(body: unknown): void }, next: () => void) => void;
