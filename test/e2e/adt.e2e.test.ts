// End to end, in a real Node-RED: an identity registry's feed over MLLP →
// mllp-in → adt-to-ins (ins-store, SQLite in the user dir) → mllp-response.
// 1,000 ADT messages over 8 connections: every ACK right, the store holds exactly the expected
// identities, and still does after Node-RED restarts (a message sent again is not applied twice).
// Issue 11: Node-RED killed with SIGKILL in the middle of a feed over 8 connections — every message the
// client got an AA for is in the store file as a fresh process reads it; sent again after the restart,
// the feed ends in exactly the expected identities (nothing lost, nothing applied twice).
import { strict as assert } from 'node:assert';
import path from 'node:path';
import Database from 'better-sqlite3';
import { NodeRed, getFreePort } from './harness';
import { identityFlow } from './identity-flows';
import { checkFeedInStore, sendFeed } from './feed';
import { identityFeed, FEED_IPP_OID, type FeedMessage } from '../fixtures/identity-feed';

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

  const sendAll = (lists: FeedMessage[][], connections: number) => sendFeed(mllpPort, lists, connections);
  const checkStore = () => checkFeedInStore(storeFile, feed, 'E2E');

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

describe('e2e: SIGKILL during an identity feed — every ACK received is on disk (issue 11)', function () {
  this.timeout(180_000);
  const feed = identityFeed(400, 'CRASH');
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

  it('kills Node-RED mid-stream (8 connections): a fresh process finds every message acknowledged as recorded in the store file', async () => {
    const acked: FeedMessage[] = [];
    let killed: Promise<void> | null = null;
    const stream = sendFeed(mllpPort, feed.messages, 8, (m, ack) => {
      // every AA says "recorded", except an event PAM FR keeps out (A08): "nothing to record"
      if (ack.code === 'AA' && ack.text !== 'nothing to record') acked.push(m);
      if (acked.length >= total / 4 && !killed) killed = red!.kill(); // no shutdown, no close: a crash
    }).then(
      () => 'finished',
      () => 'broken',
    );
    assert.equal(await stream, 'broken', 'the stream was cut by the kill');
    await killed;
    assert.ok(acked.length >= total / 4 && acked.length < total, `${acked.length} of ${total} acknowledged before the kill`);

    // what a fresh process reads in the file left by the killed one (SQLite recovers the WAL on open)
    const db = new Database(storeFile, { fileMustExist: true });
    try {
      const recorded = new Set((db.prepare('SELECT control_id FROM processed_message').all() as { control_id: string }[]).map((r) => r.control_id));
      const identities = new Set((db.prepare('SELECT ipp_key FROM identity').all() as { ipp_key: string }[]).map((r) => r.ipp_key));
      const lost = acked.filter((m) => !recorded.has(m.controlId)).map((m) => m.controlId);
      assert.deepEqual(lost.slice(0, 10), [], `${lost.length} acknowledged message(s) not in the store`);
      const missing = acked.filter((m) => !identities.has(`${FEED_IPP_OID}|${feed.expected[m.patient].ipp}`));
      assert.deepEqual(missing.slice(0, 10).map((m) => m.controlId), [], 'the identity of every acknowledged message');
    } finally {
      db.close();
    }
  });

  it('started again, the whole feed sent again: the expected ACK for each message, and exactly the expected identities', async () => {
    await red!.startAgain();
    assert.deepEqual((await sendFeed(mllpPort, feed.messages, 8)).slice(0, 10), []);
    assert.equal(checkFeedInStore(storeFile, feed, 'CRASH'), feed.expected.filter((e) => e.qualified).length);
  });
});
