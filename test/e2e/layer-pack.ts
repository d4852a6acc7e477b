// The layer pack (flows/segur-dpi-layer.json) as the end-to-end tests run it: the JSON as shipped, and
// the environment variables a test machine sets so that its listeners take free ports.
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, getFreePort, type FlowNode } from './harness';

export const LAYER_FILE = path.join(PROJECT_ROOT, 'flows', 'segur-dpi-layer.json');

/** The pack's nodes, a fresh copy each time. */
export function layerPack(): FlowNode[] {
  return JSON.parse(fs.readFileSync(LAYER_FILE, 'utf8')) as FlowNode[];
}

/** The defaults of the pack's global environment variables, as written in it (`$env(...) ?: "default"`). */
export function layerDefaults(nodes: FlowNode[] = layerPack()): Map<string, string> {
  const env = (nodes.find((n) => n.type === 'global-config')?.env ?? []) as { name: string; value: string; type: string }[];
  return new Map(env.map((e) => [e.name, /\?: "([^"]*)"\s*$/.exec(e.value)?.[1] ?? '']));
}

export interface LayerPorts {
  /** identities from the GAM (SEGUR_GAM_PORT) */
  gam: number;
  /** reports from the RIS / LIS (SEGUR_REPORTS_PORT) */
  reports: number;
  /** the PFI's business acknowledgements (SEGUR_PFI_ACK_PORT) */
  pfiAck: number;
  /** where the MDM go: the test's PFI (SEGUR_PFI_PORT) */
  pfi: number;
}

export async function freeLayerPorts(): Promise<LayerPorts> {
  return { gam: await getFreePort(), reports: await getFreePort(), pfiAck: await getFreePort(), pfi: await getFreePort() };
}

/** The environment of a Node-RED running the pack on these ports (everything else: the pack's defaults). */
export function layerEnv(ports: LayerPorts, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SEGUR_GAM_PORT: String(ports.gam),
    SEGUR_REPORTS_PORT: String(ports.reports),
    SEGUR_PFI_ACK_PORT: String(ports.pfiAck),
    SEGUR_PFI_PORT: String(ports.pfi),
    ...extra,
  };
}
