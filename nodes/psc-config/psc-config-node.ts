// The psc-config node as the psc-auth nodes see it (RED.nodes.getNode).
import type { Node } from '../shared/red';
import type { PscRelyingParty, PscSettings } from '../../lib/psc';

export interface PscConfigNode extends Node {
  /** The relying party; null when the settings have problems (see problems) or once closed. */
  rp: PscRelyingParty | null;
  settings: PscSettings | null;
  /** Why the configuration cannot be used (sentences naming settings; no secret values). */
  problems: string[];
}

/** Whether a node from RED.nodes.getNode is a psc-config node. */
export function isPscConfigNode(node: Node | null): node is PscConfigNode {
  return node !== null && node.type === 'psc-config' && Array.isArray((node as Partial<PscConfigNode>).problems);
}
