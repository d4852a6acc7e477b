// The identity feed of test/fixtures/identity-feed.ts over MLLP to a real Node-RED, and what its store
// file holds afterwards, as a fresh process reads it.
import { strict as assert } from 'node:assert';
import Database from 'better-sqlite3';
import { connectRetry } from './mllp-flows';
import { parseAck, type ParsedAck } from '../../lib/hl7';
import { FEED_IPP_OID, type FeedMessage, type IdentityFeed } from '../fixtures/identity-feed';

/**
 * Sends each patient's messages in order, the patients spread over `connections` connections (one
 * message in flight per connection); calls `onAck` for each ACK received. Resolves with the ACKs that
 * were not the expected ones; a connection that breaks ends its share (and rejects).
 */
export async function sendFeed(port: number, lists: FeedMessage[][], connections: number, onAck: (m: FeedMessage, ack: ParsedAck) => void = () => {}): Promise<string[]> {
  const problems: string[] = [];
  const byConnection: FeedMessage[][] = Array.from({ length: connections }, () => []);
  lists.forEach((list, p) => byConnection[p % connections].push(...list));
  await Promise.all(
    byConnection.map(async (msgs) => {
      const sock = await connectRetry(port);
      try {
        for (const m of msgs) {
          const ack = parseAck(await sock.request(Buffer.from(m.text, 'latin1'), 10_000));
          onAck(m, ack);
          if (ack.code !== m.ack || ack.controlId !== m.controlId) problems.push(`${m.controlId}: got ${ack.code}/${ack.controlId}, expected ${m.ack}`);
        }
      } finally {
        await sock.close();
      }
    }),
  );
  return problems;
}

export interface Row {
  ipp_key: string;
  status: string;
  qualified: number;
  ins_value: string | null;
  data: string;
}

/**
 * The store file holds exactly the identities the feed leads to — each message applied once (its history
 * entries), AE messages not recorded, retries not twice — whatever else the store holds (other IPPs,
 * messages whose control ids do not start with `run`-). Returns how many of them are qualified.
 */
export function checkFeedInStore(file: string, feed: IdentityFeed, run: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  let rows: Row[];
  let history: Map<string, number>;
  let messages: number;
  try {
    rows = db.prepare('SELECT ipp_key, status, qualified, ins_value, data FROM identity ORDER BY ipp_key').all() as Row[];
    const counts = db.prepare('SELECT ipp_key, COUNT(*) AS n FROM identity_history GROUP BY ipp_key').all() as { ipp_key: string; n: number }[];
    history = new Map(counts.map((h) => [h.ipp_key, h.n]));
    messages = (db.prepare("SELECT COUNT(*) AS n FROM processed_message WHERE control_id LIKE ? || '-%'").get(run) as { n: number }).n;
  } finally {
    db.close();
  }
  return checkFeedRows({ rows, history, messages }, feed);
}

/** What a store holds of a feed: its identities, the history entries per IPP key, the messages of the run recorded. */
export interface FeedRows {
  rows: Row[];
  history: Map<string, number>;
  messages: number;
}

/** checkFeedInStore's checks on rows read from any engine (the PostgreSQL store: issue 15). */
export function checkFeedRows({ rows, history, messages }: FeedRows, feed: IdentityFeed): number {
  const keys = new Set(feed.expected.map((e) => `${FEED_IPP_OID}|${e.ipp}`));
  const mine = rows.filter((r) => keys.has(r.ipp_key));
  assert.equal(mine.length, feed.expected.length, 'one identity per patient of the feed: none missing');
  assert.equal(messages, feed.recordedMessages, 'messages recorded once each (AE not recorded, retries not twice)');
  const byKey = new Map(mine.map((r) => [r.ipp_key, r]));
  for (const e of feed.expected) {
    const key = `${FEED_IPP_OID}|${e.ipp}`;
    const row = byKey.get(key)!;
    const patient = JSON.parse(row.data);
    assert.equal(row.status, e.status, key);
    assert.equal(row.qualified === 1, e.qualified, `${key} qualified`);
    assert.equal(row.ins_value, e.ins, `${key} INS`);
    assert.equal(patient.usedName, e.usedName, `${key} latest data, not the late message`);
    assert.equal(history.get(key), e.history, `${key} history entries: each message applied once`);
  }
  // an INS is held by one identity only: nothing doubled under another IPP
  const ins = rows.filter((r) => r.ins_value).map((r) => r.ins_value);
  assert.equal(new Set(ins).size, ins.length, 'no INS on two identities');
  return mine.filter((r) => r.qualified === 1).length;
}
