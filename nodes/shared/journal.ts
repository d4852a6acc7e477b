// What the pack's nodes need to write their journal rows (lib/store/journal.ts, issue 14): whether the
// ins-store they use journals (its "Journal" setting, on by default), how a node and an HL7 header are
// named in a row, and the id a row leaves on the msg (msg.journalId) so that the node after it links its
// own row to it (parentId) or writes none (pfi-ack after mllp-out: the ACK is in mllp-out's row).
import type { Hl7Header } from '../../lib/hl7';
import type { IdentityStore, JournalEntry } from '../../lib/store';
import type { Node, NodeMessage } from './red';
import { payloadBytes } from './util';
import type { InsStoreNode } from './stores';

/** The node as a row names it. */
export function journalNode(node: Node): JournalEntry['node'] {
  return { id: node.id, type: node.type, ...(node.name ? { name: node.name } : {}) };
}

/** Whether rows are written through this store node: it is there, open, and its Journal setting is on. */
export function journals(storeNode: InsStoreNode | null): storeNode is InsStoreNode {
  return storeNode !== null && storeNode.journal !== false && storeNode.store !== null;
}

/** MSH-3.1 / MSH-4.1 as "application/facility" (the sender lib/ins names). */
export function senderOf(h: Hl7Header | undefined | null): string | null {
  if (!h) return null;
  const app = h.sendingApplication.split('^')[0] ?? '';
  const facility = h.sendingFacility.split('^')[0] ?? '';
  return facility ? `${app}/${facility}` : app || null;
}

/** MSH-5.1 / MSH-6.1 as "application/facility". */
export function receiverOf(h: Hl7Header | undefined | null): string | null {
  if (!h) return null;
  const app = h.receivingApplication.split('^')[0] ?? '';
  const facility = h.receivingFacility.split('^')[0] ?? '';
  return facility ? `${app}/${facility}` : app || null;
}

/** The header's part of a row: type, event, control id, sender, receiver. */
export function headerFields(h: Hl7Header | undefined | null): Pick<JournalEntry, 'type' | 'event' | 'controlId' | 'sender' | 'receiver'> {
  return { type: h?.type || null, event: h?.event || null, controlId: h?.controlId || null, sender: senderOf(h), receiver: receiverOf(h) };
}

/** A payload's bytes for a row: a string encoded in the character set its MSH-18 declares (as it was received), so a replay reads it the same. */
export const bytesOf = payloadBytes;

/** The row id an earlier node left on the msg (mllp-in's auto-ACK row, pdf-to-cda-n1's, mllp-out's). */
export function journalIdOf(msg: NodeMessage): number | null {
  const id = msg.journalId;
  return typeof id === 'number' && Number.isInteger(id) && id > 0 ? id : null;
}

/**
 * Writes a row that changes nothing else (a rejection, an answer received…); its id, or null when it
 * could not be written — the caller's answer still goes (the row is lost, the node warns).
 */
export async function journalAlone(store: IdentityStore, entry: JournalEntry, warn: (text: string) => void): Promise<number | null> {
  try {
    return await store.journal(entry);
  } catch (err) {
    warn(`journal row not written: ${(err as Error).message}`);
    return null;
  }
}

/** What a replay says when it ran: the result's text (shared by the nodes' replay handlers). */
export const REPLAY_TEXT = {
  unchanged: 'already applied: nothing changed',
  applied: 'applied by this replay',
  rejected: 'rejected again',
  failed: 'failed: nothing recorded',
} as const;
