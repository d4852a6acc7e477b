// End to end, in a real Node-RED: an identity registry's feed over MLLP →
// mllp-in → adt-to-ins (ins-store, SQLite in the user dir) → mllp-response.
// 1,000 ADT messages over 8 connections: every ACK right, the store holds exactly the expected
// identities, and still does after Node-RED restarts (a message sent again is not applied twice).
import { strict as assert } from 'node:assert';
import path from 'node:path';
import Database from 'better-sqlite3';
import { NodeRed, getFreePort } from './harness';
import { identityFlow } from './identity-flows';
import { connectRetry } from './mllp-flows';
import { msaOf } from '../support/mllp';
import { identityFeed, FEED_IPP_OID, type FeedMessage } from '../fixtures/identity-feed';

interface Row {
  ipp_key: string;
  status: string;
  qualified: number;
  ins_value: string | null;
  data: string;
}

function readStore(file: string) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT ipp_key, status, qualified, ins_value, data FROM identity ORDER BY ipp_key').all() as Row[];
    const history = db.prepare('SELECT ipp_key, COUNT(*) AS n FROM identity_history GROUP BY ipp_key').all() as { ipp_key: string; n: number }[];
    const messages = (db.prepare('SELECT COUNT(*) AS n FROM processed_message').get() as { n: number }).n;
    return { rows, history: new Map(history.map((h) => [h.ipp_key, h.n])), messages };
  } finally {
    db.close();
  }
}

describe('e2e: identity feed (PAM FR ADT) into the INS store, in a real Node-RED', function () {
  this.timeout(120_000);
  const feed = identityFeed(200);
  const total = feed.messages.reduce((n, l) => n + l.length, 0);
  let red: NodeRed | null = null;
  let mllpPort = 0;
  let storeFile = '';

  before(async () => {
    mllpPort = await getFreePort();
    red = await NodeRed.start({ flows: identityFlow(mllpPort) });
    storeFile = path.join(red.userDir, 'segur-dpi', 'ins-store.db');
  });
  after(async () => {
    await red?.stop();
  });

  async function sendAll(lists: FeedMessage[][], connections: number): Promise<string[]> {
    const problems: string[] = [];
    const byConnection: FeedMessage[][] = Array.from({ length: connections }, () => []);
    lists.forEach((list, p) => byConnection[p % connections].push(...list));
    await Promise.all(
      byConnection.map(async (msgs) => {
        const sock = await connectRetry(mllpPort);
        try {
          for (const m of msgs) {
            const ack = msaOf(await sock.request(Buffer.from(m.text, 'latin1'), 10_000));
            if (ack.code !== m.ack || ack.controlId !== m.controlId) problems.push(`${m.controlId}: got ${ack.code}/${ack.controlId}, expected ${m.ack}`);
          }
        } finally {
          await sock.close();
        }
      }),
    );
    return problems;
  }

  function checkStore() {
    const { rows, history, messages } = readStore(storeFile);
    assert.equal(rows.length, feed.expected.length, 'one identity per patient, no more');
    assert.equal(messages, feed.recordedMessages, 'messages recorded once each (AE not recorded, retries not twice)');
    const byKey = new Map(rows.map((r) => [r.ipp_key, r]));
    for (const e of feed.expected) {
      const key = `${FEED_IPP_OID}|${e.ipp}`;
      const row = byKey.get(key);
      assert.ok(row, `identity ${key} stored`);
      const patient = JSON.parse(row.data);
      assert.equal(row.status, e.status, key);
      assert.equal(row.qualified === 1, e.qualified, `${key} qualified`);
      assert.equal(row.ins_value, e.ins, `${key} INS`);
      assert.equal(patient.usedName, e.usedName, `${key} latest data, not the late message`);
      assert.equal(history.get(key), e.history, `${key} history entries`);
    }
    return rows.filter((r) => r.qualified === 1).length;
  }

  it(`acknowledges ${'1,000'} ADT messages over 8 connections, each with the expected code`, async () => {
    assert.equal(total, 1000);
    const problems = await sendAll(feed.messages, 8);
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} wrong ACK(s)`);
  });

  it('leaves exactly the expected identities in the store', () => {
    assert.equal(checkStore(), 160);
  });

  it('keeps them after Node-RED restarts, and a message sent again changes nothing', async () => {
    await red!.restart();
    assert.equal(checkStore(), 160);
    const again = feed.messages.slice(0, 20).map((list) => [list[list.length - 1]]);
    assert.deepEqual(await sendAll(again, 4), []);
    checkStore();
  });
});
