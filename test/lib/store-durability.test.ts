// Issue 11, "Durable acknowledgements, without losing throughput": a write of the store resolves only
// once its commit is on disk (the WAL synced after the COMMIT), and the writes that arrive while a sync
// runs are committed together — one savepoint each, in order, idempotence unchanged. The sync is
// observed and held through the store's WAL sync hook: an fsync-level check without strace.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { readAdtPayload } from '../../lib/ins';
import { POOL_HANDOVER_MS, SqliteIdentityStore, walSync, type ApplyResult, type WalSync } from '../../lib/store';
import { adtMessage, OID, type AdtSpec } from '../fixtures/adt';
import { HeldSync } from '../support/held-sync';
import { delay, until } from '../support/red-nodes';

/** A promise's state, read without waiting for it. */
function watch<T>(p: Promise<T>) {
  const s: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  p.then(
    (value) => Object.assign(s, { settled: true, value }),
    (error) => Object.assign(s, { settled: true, error }),
  );
  return s;
}

/** A few turns of the event loop, so that anything ready would have settled. */
const turns = () => delay(20);

describe('lib/store durable writes (issue 11: an ACK means the message is on disk)', () => {
  let dir: string;
  let file: string;
  let store: SqliteIdentityStore;
  let held: HeldSync;

  const origin = (controlId: string) => ({ sender: 'GAM/CHU-X', controlId, actor: 'test' });
  function apply(spec: AdtSpec, controlId: string): Promise<ApplyResult> {
    const reading = readAdtPayload(adtMessage({ ...spec, controlId }));
    assert.equal(reading.ack, 'AA');
    return store.applyAdt(reading, origin(controlId), { code: 'AA', text: '' });
  }
  /** What another connection (as a fresh process would) reads in the file. */
  function committed(): { controlIds: string[]; identities: string[] } {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return {
        controlIds: (db.prepare('SELECT control_id FROM processed_message ORDER BY control_id').all() as { control_id: string }[]).map((r) => r.control_id),
        identities: (db.prepare('SELECT ipp_key FROM identity ORDER BY ipp_key').all() as { ipp_key: string }[]).map((r) => r.ipp_key),
      };
    } finally {
      db.close();
    }
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segur-durable-'));
    file = path.join(dir, 'ins-store.db');
    held = new HeldSync();
    store = new SqliteIdentityStore({ file, syncWal: held.sync });
  });
  afterEach(async () => {
    held.release();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('applyAdt resolves only after the WAL sync of its commit has completed', async () => {
    const result = watch(apply({}, 'D1'));
    await until(() => held.held === 1, 'the WAL sync');
    await turns();
    assert.equal(result.settled, false, 'not resolved while the sync runs');
    assert.deepEqual(committed().controlIds, ['D1'], 'committed (in the WAL) before the sync');
    held.release();
    await until(() => result.settled, 'the write');
    assert.equal(result.value?.outcome, 'applied');
    assert.equal(held.calls, 1);
  });

  it('archiveDocument, cancelDocument and recordJourney resolve only after the sync too', async () => {
    const doc = {
      id: 'DOC1',
      setId: 'set-DOC1',
      version: 1,
      typeCode: '11490-0',
      typeLabel: 'Lettre de liaison',
      title: 'Lettre de liaison de sortie',
      effectiveTime: '2026-01-10T10:00:00+01:00',
      origin: 'produced' as const,
      replaces: null,
      ippKey: `${OID.IPP}|123456`,
      patient: { ipp: { id: '123456', oid: OID.IPP }, ins: null, insQualified: false, birthName: 'X', firstNames: 'Y', firstName: 'Y', usedName: '', birthDate: '1985-05-12', sex: 'F' },
      author: null,
      cda: Buffer.from('<ClinicalDocument/>'),
      pdf: null,
    };
    const writes: [string, () => Promise<unknown>][] = [
      ['archiveDocument', () => store.archiveDocument(doc)],
      ['recordJourney', () => store.recordJourney({ documentId: 'DOC1', step: 'sent', controlId: 'MDM1', ok: true, detail: {} })],
      ['cancelDocument', () => store.cancelDocument('DOC1')],
    ];
    for (const [name, write] of writes) {
      const calls = held.calls;
      const w = watch(write());
      await until(() => held.held === 1, `the sync of ${name}`);
      await turns();
      assert.equal(w.settled, false, `${name} waits for the sync`);
      held.release();
      await until(() => w.settled, name);
      assert.equal(w.error, undefined, name);
      assert.equal(held.calls, calls + 1);
    }
    assert.equal((await store.getDocument('DOC1'))?.status, 'cancelled');
  });

  it('the writes that arrive while a sync runs are committed together and synced once', async () => {
    const first = watch(apply({ pid: { ipp: '100000' } }, 'G0'));
    await until(() => held.held === 1, 'the first sync');
    const rest = Array.from({ length: 20 }, (_, i) => watch(apply({ pid: { ipp: `1000${String(i + 1).padStart(2, '0')}` } }, `G${String(i + 1).padStart(2, '0')}`)));
    await turns();
    assert.equal(held.calls, 1, 'no second sync while the first one runs');
    assert.deepEqual(committed().controlIds, ['G0'], 'the others wait for the sync in flight before they are committed');
    held.release();
    await until(() => first.settled && held.held === 1, 'the group of the twenty');
    assert.equal(held.calls, 2, 'one sync for the twenty');
    assert.equal(committed().controlIds.length, 21, 'the twenty committed together');
    assert.ok(rest.every((w) => !w.settled), 'none resolved before its own group is synced');
    held.release();
    await until(() => rest.every((w) => w.settled), 'the twenty');
    assert.ok(rest.every((w) => w.value?.outcome === 'applied'));
    assert.equal(held.calls, 2);
  });

  it('what is queued in one event-loop turn is one group, one sync', async () => {
    const writes = Array.from({ length: 10 }, (_, i) => watch(apply({ pid: { ipp: `20000${i}` } }, `T${i}`)));
    await until(() => held.held === 1, 'the sync');
    await turns();
    assert.equal(held.calls, 1);
    assert.equal(committed().controlIds.length, 10);
    held.release();
    await until(() => writes.every((w) => w.settled), 'the writes');
    assert.ok(writes.every((w) => w.value?.outcome === 'applied'));
  });

  it('one write that fails is rolled back to its savepoint and rejects alone; the others of its group commit', async () => {
    const good1 = watch(apply({ pid: { ipp: '300001' } }, 'S1'));
    // a control id the store cannot record (NOT NULL): the identity is written, then its history insert
    // fails — the savepoint must take the identity back too
    const reading = readAdtPayload(adtMessage({ pid: { ipp: '300002' }, controlId: 'S2' }));
    const bad = watch(store.applyAdt(reading, { sender: 'GAM/CHU-X', controlId: null as unknown as string, actor: 'test' }, { code: 'AA', text: '' }));
    const good2 = watch(apply({ pid: { ipp: '300003' } }, 'S3'));
    await until(() => bad.settled, 'the failed write');
    assert.match(String(bad.error), /NOT NULL/);
    await until(() => held.held === 1, 'the sync of the group');
    assert.equal(good1.settled || good2.settled, false, 'the good ones wait for the sync');
    held.release();
    await until(() => good1.settled && good2.settled, 'the good ones');
    assert.equal(good1.value?.outcome, 'applied');
    assert.equal(good2.value?.outcome, 'applied');
    assert.deepEqual(committed(), { controlIds: ['S1', 'S3'], identities: [`${OID.IPP}|300001`, `${OID.IPP}|300003`] });
    assert.equal(held.calls, 1, 'one group');
  });

  it('idempotence inside a group: the second copy of a message sees the first (duplicate, same ACK)', async () => {
    const a = watch(apply({}, 'DUP1'));
    const b = watch(apply({}, 'DUP1'));
    await until(() => held.held === 1, 'the sync');
    held.release();
    await until(() => a.settled && b.settled, 'both');
    assert.equal(a.value?.outcome, 'applied');
    assert.equal(b.value?.outcome, 'duplicate');
    assert.deepEqual(b.value?.previousAck, { code: 'AA', text: '' });
    assert.equal(held.calls, 1, 'one group');
    assert.equal((await store.history(`${OID.IPP}|123456`)).length, 1, 'applied once');
  });

  it('order is kept inside a group: messages about one patient apply in the order they were queued', async () => {
    const prov = watch(apply({ pid: { status: ['PROV'] }, evnOccurred: '20261123100000+0100' }, 'O1'));
    const vali = watch(apply({ pid: { status: ['VALI'] }, evnOccurred: '20261123110000+0100' }, 'O2'));
    const same = watch(apply({ pid: { status: ['VALI'], usedName: 'DUPONT' }, evnOccurred: '20261123110000+0100' }, 'O3'));
    await until(() => held.held === 1, 'the sync');
    held.release();
    await until(() => prov.settled && vali.settled && same.settled, 'the three');
    assert.deepEqual([prov, vali, same].map((w) => w.value?.outcome), ['applied', 'applied', 'applied']);
    assert.deepEqual((await store.history(`${OID.IPP}|123456`)).map((h) => [h.controlId, h.status]), [
      ['O1', 'PROV'],
      ['O2', 'VALI'],
      ['O3', 'VALI'],
    ]);
    assert.equal((await store.byIpp('123456', OID.IPP))?.patient.usedName, 'DUPONT');
  });

  it('a failed sync: the writes of its group reject, and no write is accepted after it', async () => {
    store.syncWal = () => Promise.reject(new Error('EIO: i/o error, fdatasync'));
    await assert.rejects(apply({}, 'F1'), /did not confirm a write .*EIO/);
    await assert.rejects(apply({ pid: { ipp: '400001' } }, 'F2'), /no write is accepted/);
  });

  it('close() waits for the writes under way, synced', async () => {
    const w = watch(apply({}, 'C1'));
    await until(() => held.held === 1, 'the sync');
    const closed = watch(store.close());
    await turns();
    assert.equal(closed.settled, false, 'close waits for the sync');
    held.release();
    await until(() => closed.settled && w.settled, 'the close');
    assert.equal(w.value?.outcome, 'applied');
    assert.deepEqual(committed().controlIds, ['C1']);
  });

  it('the default sync is fdatasync of the WAL file: the descriptor synced is the -wal file', async () => {
    await store.close();
    const synced: number[] = [];
    store = new SqliteIdentityStore({ file });
    const real = store.syncWal as WalSync;
    store.syncWal = (fd) => {
      synced.push(fs.fstatSync(fd).ino);
      return real(fd);
    };
    assert.equal((await apply({}, 'W1')).outcome, 'applied');
    assert.deepEqual(synced, [fs.statSync(`${file}-wal`).ino]);
  });

  it("'normal' durability (the benchmark's baseline): no WAL sync, each write resolves at its COMMIT", async () => {
    await store.close();
    store = new SqliteIdentityStore({ file, durability: 'normal', syncWal: held.sync });
    assert.equal(store.durability, 'normal');
    assert.equal(store.syncWal, null);
    assert.equal((await apply({}, 'N1')).outcome, 'applied');
    assert.equal(held.calls, 0);
  });
});

describe('lib/store walSync: the WAL synced on the event loop while the disk is fast, in the thread pool when it is slow', () => {
  it('starts in the pool, moves to the event loop after fast syncs, back to the pool after a slow one, and back again', async () => {
    let clock = 0;
    let cost = 0.3; // ms a sync takes, on the fake clock
    const where: string[] = [];
    const sync = walSync({
      now: () => clock,
      onLoop: () => {
        where.push('loop');
        clock += cost;
      },
      inPool: async () => {
        where.push('pool');
        clock += cost;
      },
    });
    await sync(0);
    await sync(0);
    assert.deepEqual(where, ['pool', 'loop'], 'the first in the pool, then on the loop: the disk syncs fast');
    cost = 20; // the disk becomes slow
    await sync(0);
    cost = 0.3;
    await sync(0);
    assert.deepEqual(where.slice(2), ['loop', 'pool'], 'one slow sync, and the next ones leave the event loop');
    for (let i = 0; i < 30 && where[where.length - 1] === 'pool'; i++) await sync(0);
    assert.equal(where[where.length - 1], 'loop', 'back on the event loop once the syncs are fast again');
  });

  it('a sync in the pool counts without its hand-overs: a disk of 0.7 ms, measured 1.2 ms from the pool after a slow sync, comes back to the event loop', async () => {
    let clock = 0;
    let disk = 0.7;
    const where: string[] = [];
    const sync = walSync({
      now: () => clock,
      onLoop: () => {
        where.push('loop');
        clock += disk;
      },
      inPool: async () => {
        where.push('pool');
        clock += disk + POOL_HANDOVER_MS; // the thread woken, then the event loop
      },
    });
    for (let i = 0; i < 5; i++) await sync(0);
    assert.equal(where[where.length - 1], 'loop');
    disk = 30; // a checkpoint's sync
    await sync(0);
    disk = 0.7;
    await sync(0);
    assert.equal(where[where.length - 1], 'pool', 'after the slow sync, in the pool');
    for (let i = 0; i < 40 && where[where.length - 1] === 'pool'; i++) await sync(0);
    assert.equal(where[where.length - 1], 'loop', 'back on the event loop: the disk itself is fast');
  });

  it('a sync that fails on the event loop rejects', async () => {
    const sync = walSync({ now: () => 0, onLoop: () => { throw new Error('EIO'); }, inPool: async () => {} });
    await sync(0); // in the pool, measured 0 ms
    await assert.rejects(sync(0), /EIO/);
  });
});
