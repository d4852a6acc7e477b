// Issue 15: "two instances applying ADT messages for the same patient at once never lose an update nor
// apply a message twice …; the out-of-date protection holds across instances; a replay or a reconciliation
// done on one instance is seen by the other." Two PostgresIdentityStore on one database — two pools, as two
// Node-RED instances would have — apply interleaved messages for the same patients, all at once, with
// duplicates (the same message to both instances) and late messages (older events arriving last).
import assert from 'node:assert/strict';
import { readAdtPayload } from '../../lib/ins';
import { PostgresIdentityStore, TaskAlreadyDecided, type ApplyResult, type IdentityStore } from '../../lib/store';
import { adtMessage, OID } from '../fixtures/adt';
import { documentInput, journalEntry } from '../fixtures/journal';
import { dropDatabase, freshDatabase } from '../support/postgres';

interface Message {
  ipp: string;
  controlId: string;
  /** Minutes after the first event: the EVN-6 time. */
  minute: number;
  usedName: string;
}

/** EVN-6 of a message `minute` minutes after 2026-01-10 08:00 UTC, in HL7 form. */
function evn(minute: number): string {
  const d = new Date(Date.UTC(2026, 0, 10, 8, minute));
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}00+0000`;
}

/** A deterministic shuffle (the same run every time). */
function shuffle<T>(items: T[], seed: number): T[] {
  const out = items.slice();
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('lib/store PostgreSQL: two instances on one database (issue 15)', function () {
  let url: string;
  let a: PostgresIdentityStore;
  let b: PostgresIdentityStore;

  const apply = (store: IdentityStore, m: Message): Promise<ApplyResult> => {
    const reading = readAdtPayload(adtMessage({ event: 'A31', controlId: m.controlId, evnOccurred: evn(m.minute), pid: { ipp: m.ipp, status: ['VALI'], usedName: m.usedName } }));
    return store.applyAdt(reading, { sender: 'GAM/CHU-X', controlId: m.controlId, actor: store === a ? 'instance-a' : 'instance-b' }, { code: 'AA', text: '' }, {
      journal: (r) => journalEntry({ controlId: m.controlId, event: 'A31', outcome: r.outcome, keys: { ippKey: `${OID.IPP}|${m.ipp}` } }),
    });
  };

  beforeEach(async () => {
    url = await freshDatabase('concurrency');
    [a, b] = await Promise.all([PostgresIdentityStore.open({ url, poolSize: 4 }), PostgresIdentityStore.open({ url, poolSize: 4 })]);
  });
  afterEach(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await dropDatabase(url);
  });

  it('interleaved messages for the same patients, duplicates and late ones, all at once: nothing lost, nothing applied twice, the newest event kept', async () => {
    const patients = Array.from({ length: 12 }, (_, i) => String(300000 + i));
    const messages: Message[] = [];
    for (const ipp of patients) for (let k = 0; k < 10; k++) messages.push({ ipp, controlId: `${ipp}-${k}`, minute: k * 5, usedName: `NOM${k}` });
    // every message to one instance or the other, a third of them to both (a resend after a failover),
    // and the oldest event of each patient sent once more at the very end (late)
    const sends: [IdentityStore, Message][] = [];
    shuffle(messages, 15).forEach((m, i) => {
      sends.push([i % 2 ? a : b, m]);
      if (i % 3 === 0) sends.push([i % 2 ? b : a, m]);
    });
    const late = patients.map((ipp) => messages.find((m) => m.ipp === ipp && m.minute === 0) as Message);
    const results = await Promise.all(sends.map(([store, m]) => apply(store, m).then((r) => [m.controlId, r.outcome] as const)));
    const lateResults = await Promise.all(late.map((m, i) => apply(i % 2 ? a : b, m)));

    // each message applied or found out of date exactly once; every other copy a duplicate
    const byMessage = new Map<string, string[]>();
    for (const [id, outcome] of results) byMessage.set(id, [...(byMessage.get(id) ?? []), outcome]);
    for (const [id, outcomes] of byMessage) {
      assert.equal(outcomes.filter((o) => o !== 'duplicate').length, 1, `${id}: ${outcomes.join(', ')}`);
      assert.ok(outcomes.every((o) => ['applied', 'out-of-date', 'duplicate'].includes(o)), `${id}: ${outcomes.join(', ')}`);
    }
    assert.deepEqual(new Set(lateResults.map((r) => r.outcome)), new Set(['duplicate']), 'a late copy of a message already processed is a duplicate');
    assert.equal((await a.stats()).messages, messages.length, 'one processed_message row per message');

    for (const ipp of patients) {
      const key = `${OID.IPP}|${ipp}`;
      // both instances read the same, the newest event whatever the arrival order
      const [fromA, fromB] = await Promise.all([a.byIpp(ipp, OID.IPP), b.byIpp(ipp, OID.IPP)]);
      assert.deepEqual(fromA, fromB);
      assert.equal(fromA?.patient.usedName, 'NOM9', `${ipp}: the newest event kept`);
      const history = await b.history(key);
      assert.equal(history.length, 10, `${ipp}: each message recorded once in the history`);
      assert.equal(new Set(history.map((h) => h.controlId)).size, 10);
      // in commit order, each applied message is newer than the one applied before: no update lost
      // under a newer one, no older one applied over it
      const applied = history.filter((h) => h.applied).map((h) => Date.parse(h.eventTime as string));
      assert.deepEqual(applied, applied.slice().sort((x, y) => x - y), `${ipp}: applied in event order`);
      assert.equal(new Set(applied).size, applied.length);
    }
    // the journal holds one row per copy received, each with its outcome
    assert.equal((await a.journalSize()).rows, sends.length + late.length);
  });

  it('one patient, the same fifty messages sent to both instances at the same moment: each applied once, the newest kept', async () => {
    const messages = Array.from({ length: 50 }, (_, k) => ({ ipp: '424242', controlId: `S${k}`, minute: k, usedName: `NOM${k}` }));
    const results = await Promise.all(shuffle(messages, 7).flatMap((m) => [apply(a, m), apply(b, m)]));
    assert.equal(results.filter((r) => r.outcome === 'duplicate').length, 50);
    assert.equal(results.filter((r) => r.outcome === 'applied' || r.outcome === 'out-of-date').length, 50);
    assert.equal((await a.byIpp('424242', OID.IPP))?.patient.usedName, 'NOM49');
    assert.equal((await b.history(`${OID.IPP}|424242`)).length, 50);
  });

  it('out of date across instances: an event older than what the other instance applied is recorded, not applied', async () => {
    assert.equal((await apply(a, { ipp: '500001', controlId: 'N1', minute: 30, usedName: 'RECENT' })).outcome, 'applied');
    const old = await apply(b, { ipp: '500001', controlId: 'O1', minute: 10, usedName: 'ANCIEN' });
    assert.equal(old.outcome, 'out-of-date');
    assert.equal((await b.byIpp('500001', OID.IPP))?.patient.usedName, 'RECENT');
  });

  it('a reconciliation decided on one instance is seen by the other; deciding at once on both, the first decision stands', async () => {
    const task = { reason: 'unknown-patient', reasonText: 'no local identity', traits: { birthName: 'MARTIN', firstNames: 'Marie', firstName: 'Marie', usedName: '', birthDate: '1985-05-12', sex: 'F' }, candidates: [] };
    await apply(a, { ipp: '123456', controlId: 'I1', minute: 0, usedName: '' });
    await a.archiveDocument(documentInput('DOC1'), { task, journal: journalEntry({ controlId: 'R1', outcome: 'to-reconcile', keys: { documentId: 'DOC1' } }) });
    await b.archiveDocument(documentInput('DOC2'), { task });
    const t1 = (await b.taskOfDocument('DOC1'))!;
    await b.decideTask(t1.id, { attach: `${OID.IPP}|123456` }, 'bob');
    assert.equal((await a.task(t1.id))?.status, 'attached', 'seen by the other instance');
    assert.equal((await a.getDocument('DOC1'))?.ippKey, `${OID.IPP}|123456`);
    await assert.rejects(a.decideTask(t1.id, { reject: 'not ours' }, 'alice'), TaskAlreadyDecided);

    const t2 = (await a.taskOfDocument('DOC2'))!;
    const both = await Promise.allSettled([a.decideTask(t2.id, { reject: 'not ours' }, 'alice'), b.decideTask(t2.id, { attach: `${OID.IPP}|123456` }, 'bob')]);
    assert.equal(both.filter((r) => r.status === 'fulfilled').length, 1, 'one decision');
    const refused = both.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(refused.reason instanceof TaskAlreadyDecided);
    assert.equal((await a.audit(10)).filter((e) => e.action.startsWith('reconcile') && (e.detail as { task: number }).task === t2.id).length, 1, 'audited once');
  });

  it('a replay journalled on one instance is found by the other with its original', async () => {
    const original = await a.journal(journalEntry({ controlId: 'RP1' }));
    const replay = await b.journal(journalEntry({ controlId: 'RP1', outcome: 'duplicate', replayOf: original, actor: 'alice' }));
    assert.deepEqual((await a.searchJournal({ replayOf: original })).entries.map((e) => e.id), [replay]);
  });
});

describe('lib/store PostgreSQL: schema and durability (issue 15)', function () {
  let url: string;
  beforeEach(async () => {
    url = await freshDatabase('schema');
  });
  afterEach(async () => {
    await dropDatabase(url);
  });

  it('two instances starting together apply each migration once (advisory lock), both then work', async () => {
    const stores = await Promise.all([1, 2, 3].map(() => PostgresIdentityStore.open({ url, poolSize: 2 })));
    try {
      for (const s of stores) assert.deepEqual(await s.migrations(), [1, 2, 3]);
      await stores[0].journal(journalEntry({ controlId: 'X' }));
      assert.equal((await stores[2].searchJournal({ controlId: 'X' })).entries.length, 1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('a database migrated by newer software is refused', async () => {
    const first = await PostgresIdentityStore.open({ url });
    await first.pool.query(`INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')`);
    await first.close();
    await assert.rejects(PostgresIdentityStore.open({ url }), /schema version 99 is newer than this software/);
  });

  it('every connection commits with synchronous_commit on, whatever the database default', async () => {
    const name = new URL(url).pathname.slice(1);
    const admin = await PostgresIdentityStore.open({ url });
    await admin.pool.query(`ALTER DATABASE ${name} SET synchronous_commit = off`);
    await admin.close();
    const store = await PostgresIdentityStore.open({ url, poolSize: 3 });
    try {
      const clients = await Promise.all([1, 2, 3].map(() => store.pool.connect()));
      const settings = await Promise.all(clients.map((c) => c.query('SHOW synchronous_commit')));
      clients.forEach((c) => c.release());
      assert.deepEqual(settings.map((s) => s.rows[0].synchronous_commit), ['on', 'on', 'on']);
    } finally {
      await store.close();
    }
  });
});
