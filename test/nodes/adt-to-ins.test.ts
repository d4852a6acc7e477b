import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import adtToIns = require('../../nodes/adt-to-ins/adt-to-ins');
import insStore = require('../../nodes/ins-store/ins-store');
import { redactIssueText } from '../../nodes/adt-to-ins/report';
import { encodeHl7, parseAck, readHeader } from '../../lib/hl7';
import { readAdtPayload } from '../../lib/ins';
import type { IdentityStore, SqliteIdentityStore } from '../../lib/store';
import { MARIE_NIR, OID, adtBytes, adtMessage, adtSegments, withKey, withWrongKey, type AdtSpec } from '../fixtures/adt';
import { HeldSync } from '../support/held-sync';
import { delay, statusesOf, until, untilAsync, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['ins-store', 'adt-to-ins'], [insStore, adtToIns]);
const IPP_OID = OID.IPP;
const keyOf = (ipp: string) => `${IPP_OID}|${ipp}`;

interface Result {
  ack: Msg;
  /** The ACK read back. */
  parsed: ReturnType<typeof parseAck>;
  out?: Msg;
  err?: Msg;
}

/** A flow: [ins-store] → adt-to-ins → helpers 'out' (output 1) and 'ack' (output 2), catch → 'err'. */
function flow(o: { file?: string | null; store?: string } = {}): Msg[] {
  const nodes: Msg[] = [];
  let store = o.store ?? '';
  if (o.file !== undefined && o.file !== null) {
    nodes.push({ id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file: o.file });
    store = 'st';
  }
  nodes.push(
    { id: 'n', type: 'adt-to-ins', name: '', store, wires: [['out'], ['ack']] },
    { id: 'out', type: 'helper' },
    { id: 'ack', type: 'helper' },
    { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['err']] },
    { id: 'err', type: 'helper' },
  );
  return nodes;
}

class Probe {
  readonly out: Msg[] = [];
  readonly acks: Msg[] = [];
  readonly errors: Msg[] = [];
  readonly statuses: Msg[] = [];

  constructor() {
    helper.getNode('out').on('input', (m: Msg) => this.out.push(m));
    helper.getNode('ack').on('input', (m: Msg) => this.acks.push(m));
    helper.getNode('err').on('input', (m: Msg) => this.errors.push(m));
    helper.getNode('n').on('call:status', (call: { args: Msg[] }) => this.statuses.push(call.args[0]));
  }

  /** Sends one msg to adt-to-ins; resolves with its ACK and whatever else it gave. */
  async send(msg: Msg): Promise<Result> {
    const [o, a, e] = [this.out.length, this.acks.length, this.errors.length];
    helper.getNode('n').receive(msg);
    await until(() => this.acks.length > a, 'the acknowledgement');
    await delay(25); // output 1 and the catch node, if anything comes
    assert.equal(this.acks.length, a + 1, 'exactly one acknowledgement per message');
    assert.ok(this.out.length <= o + 1 && this.errors.length <= e + 1);
    const ack = this.acks[a];
    assert.equal(typeof ack.payload, 'string');
    return { ack, parsed: parseAck(ack.payload), out: this.out[o], err: this.errors[e] };
  }

  adt(spec: AdtSpec = {}, extra: Msg = {}): Promise<Result> {
    return this.send({ payload: adtMessage(spec), ...extra });
  }

  /** Waits until the status shown last is `expected` (the status is throttled: it comes within a moment). */
  async statusBecomes(expected: Msg): Promise<void> {
    await until(() => isDeepStrictEqual(this.statuses[this.statuses.length - 1], expected), `status ${JSON.stringify(expected)}`);
  }
}

function store(): IdentityStore {
  const st = helper.getNode('st');
  assert.ok(st?.store, 'the ins-store node has an open store');
  return st.store as IdentityStore;
}

/** Checks an AE / AR: the ACK, the Catch-able error, no output 1. */
function assertRejected(r: Result, code: 'AE' | 'AR', errors: [string, string][] | null, controlId = 'MSG0001') {
  assert.equal(r.parsed.code, code, JSON.stringify(r.parsed));
  assert.equal(r.parsed.controlId, controlId);
  assert.equal(r.ack.ack.code, code);
  assert.equal(r.ack.ack.controlId, controlId);
  if (errors) {
    assert.deepEqual(
      r.parsed.errors.filter((e) => e.severity !== 'W').map((e) => [e.code, e.location ?? '']),
      errors,
    );
  }
  assert.equal(r.out, undefined, 'nothing on output 1');
  assert.ok(r.err, 'a Catch-able error');
  assert.equal(r.err.error.source.id, 'n');
  assert.equal(r.err.error.code, code);
  assert.match(r.err.error.message, new RegExp(`\\b${code}\\b`));
}

/** Patient data of the default fixture that must never appear in an error text. */
const PATIENT_DATA = ['MARTIN', 'Marie', 'DURAND', '19850512', '1985-05-12', '69123', MARIE_NIR, MARIE_NIR.slice(0, 13), '2850569123456'];
function assertNoPatientData(text: string, more: string[] = []) {
  for (const v of [...PATIENT_DATA, ...more]) assert.ok(!text.includes(v), `"${v}" appears in: ${text}`);
}

describe('adt-to-ins node', function () {
  this.timeout(20_000);
  let tmp: string;
  let n = 0;
  const dbFile = () => path.join(tmp, `adt-${++n}.db`);

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'adt-to-ins-'));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  async function start(o: Parameters<typeof flow>[0] = {}): Promise<Probe> {
    await helper.load(NODES, flow(o));
    return new Probe();
  }

  describe('an accepted message', () => {
    it('A28 of a qualified identity: identity on output 1, AA on output 2, recorded in the store', async () => {
      const file = dbFile();
      const p = await start({ file });
      const mllp = { connectionId: 'conn-1', remoteAddress: '127.0.0.1', remotePort: 4000, localPort: 2575, receivedAt: new Date().toISOString() };
      const input = adtMessage();
      const r = await p.send({ payload: input, mllp, _msgid: 'm1' });

      // output 2: the ACK
      assert.equal(r.parsed.code, 'AA');
      assert.equal(r.parsed.controlId, 'MSG0001');
      assert.deepEqual(r.parsed.errors, []);
      assert.deepEqual(r.ack.ack, { code: 'AA', controlId: 'MSG0001', text: '' });
      assert.deepEqual(r.ack.mllp, mllp);
      assert.deepEqual(r.ack.insStore, { outcome: 'applied', file: helper.getNode('st').file });
      const h = readHeader(r.ack.payload);
      assert.equal(h.type, 'ACK');
      assert.equal(h.event, 'A28');
      assert.equal(h.charset, '8859/1', 'the ACK declares the charset of the message');
      assert.equal(h.receivingApplication, 'GAM');
      assert.equal(h.version, '2.5');

      // output 1: the identity
      assert.ok(r.out);
      assert.equal(r.out.payload, input);
      assert.equal(r.out._msgid, 'm1');
      assert.deepEqual(r.out.mllp, mllp);
      assert.deepEqual(r.out.hl7, { event: 'A28', controlId: 'MSG0001', sender: 'GAM/CHU-X', eventTime: '2026-11-23T10:10:00+01:00', action: 'update' });
      assert.deepEqual(r.out.insStore, { outcome: 'applied', file: helper.getNode('st').file });
      assert.equal(helper.getNode('st').file, path.join(fs.realpathSync(tmp), path.basename(file)));
      assert.equal(r.out.patient.qualified, true);
      assert.equal(r.out.patient.status, 'VALI');
      assert.equal(r.out.insSetAside, undefined);
      assert.deepEqual(r.out.patient.ipp, { id: '123456', authority: 'CHU-X', oid: IPP_OID });
      assert.deepEqual(r.out.patient.ins, { value: MARIE_NIR, oid: OID.NIR, kind: 'NIR', environment: 'production', validFrom: null });
      assert.equal(r.out.patient.birthName, 'MARTIN');
      assert.equal(r.err, undefined);

      // the store
      const stored = await store().byIpp('123456');
      assert.equal(stored?.key, keyOf('123456'));
      assert.equal(stored?.patient.ins?.value, MARIE_NIR);
      assert.deepEqual(await store().stats(), { identities: 1, qualified: 1, merged: 0, messages: 1, documents: 0 });
      const [audit] = await store().audit(1);
      assert.equal(audit.actor, 'node-red:adt-to-ins:n');
      assert.equal(audit.action, 'create');
    });

    it('reads a Latin-1 Buffer and answers in 8859/1', async () => {
      const p = await start({ file: dbFile() });
      const r = await p.send({ payload: adtBytes({ pid: { birthName: 'NOËL', firstName: 'Hélène', firstNames: 'Hélène Françoise' } }) });
      assert.equal(r.parsed.code, 'AA');
      assert.equal(r.out?.patient.birthName, 'NOËL');
      assert.equal(r.out?.patient.firstNames, 'Hélène Françoise');
      assert.ok(Buffer.isBuffer(r.out?.payload), 'payload unchanged');
      assert.equal(readHeader(r.ack.payload).charset, '8859/1');
      assert.equal((await store().byIpp('123456'))?.patient.firstName, 'Hélène');
    });

    it('answers in the charset of the message even when an error text has characters it cannot carry', async () => {
      const p = await start({ file: dbFile() });
      // checkInsKey's reason for a non-digit says "positions 6–7" (an en dash, not in ISO 8859-1)
      const r = await p.send({ payload: adtBytes({ pid: { ins: '2850X69123456' + '00' } }) });
      assert.equal(r.parsed.code, 'AA');
      assert.deepEqual(r.parsed.errors.map((e) => [e.code, e.location, e.severity]), [['102', 'PID^1^3^2', 'W']]);
      assert.equal(readHeader(r.ack.payload).charset, '8859/1');
      assert.doesNotThrow(() => encodeHl7(r.ack.payload));
      assert.match(r.parsed.errors[0].text ?? '', /positions 6-7/);
    });
  });

  describe('trigger events', () => {
    const updates = ['A28', 'A31', 'A01', 'A04', 'A05', 'A03', 'A11', 'A12', 'A13', 'A21', 'A22', 'Z99'];
    it(`ITI-30 / ITI-31 updates (${updates.join(', ')}): AA, recorded, identity on output 1`, async () => {
      const p = await start({ file: dbFile() });
      for (const [i, event] of updates.entries()) {
        const r = await p.adt({ event, controlId: `EV${i}`, evnOccurred: `2026112310${String(10 + i)}00+0100` });
        assert.equal(r.parsed.code, 'AA', `${event}: ${JSON.stringify(r.parsed)}`);
        assert.equal(r.parsed.controlId, `EV${i}`);
        assert.equal(readHeader(r.ack.payload).event, event);
        assert.equal(r.out?.hl7.event, event);
        assert.equal(r.out?.hl7.action, 'update');
        assert.equal(r.ack.insStore.outcome, 'applied', event);
      }
      const history = await store().history(keyOf('123456'));
      assert.deepEqual(history.map((e) => e.event), updates);
      assert.ok(history.every((e) => e.applied));
    });

    it('A40 merges: AA, the history of the merged IPP moves to the surviving one', async () => {
      const p = await start({ file: dbFile() });
      const old = await p.adt({ controlId: 'M1', pid: { ipp: '654321', ins: null, status: ['PROV'] }, evnOccurred: '20261120100000+0100' });
      assert.equal(old.parsed.code, 'AA');
      const survivor = await p.adt({ controlId: 'M2', evnOccurred: '20261121100000+0100' });
      assert.equal(survivor.parsed.code, 'AA');
      assert.equal((await store().history(keyOf('654321'))).length, 1);

      const r = await p.adt({ event: 'A40', controlId: 'M3', mrg: { ipp: '654321' } });
      assert.equal(r.parsed.code, 'AA');
      assert.equal(r.out?.hl7.action, 'merge');
      assert.deepEqual(r.out?.patient.replaces, [{ ipp: { id: '654321', authority: 'CHU-X', oid: IPP_OID } }]);

      const s = store();
      assert.deepEqual(await s.history(keyOf('654321')), [], 'nothing left under the merged IPP');
      const history = await s.history(keyOf('123456'));
      assert.deepEqual(history.map((e) => [e.event, e.controlId, e.originKey]), [
        ['A28', 'M1', keyOf('654321')],
        ['A28', 'M2', keyOf('123456')],
        ['A40', 'M3', keyOf('123456')],
      ]);
      const followed = await s.byIpp('654321', IPP_OID);
      assert.equal(followed?.key, keyOf('123456'), 'the merged IPP leads to the surviving identity');
      assert.equal(followed?.patient.ins?.value, MARIE_NIR);
      assert.deepEqual(
        (await s.links(keyOf('123456'))).map((l) => [l.key, l.otherKey, l.kind, l.active]),
        [[keyOf('123456'), keyOf('654321'), 'merge', true]],
      );
      assert.equal((await s.stats()).merged, 1);
    });

    it('A47 changes the identifier: AA, the former IPP leads to the new one', async () => {
      const p = await start({ file: dbFile() });
      assert.equal((await p.adt({ controlId: 'C1', pid: { ipp: '111111' }, evnOccurred: '20261120100000+0100' })).parsed.code, 'AA');
      const r = await p.adt({ event: 'A47', controlId: 'C2', pid: { ipp: '222222' }, mrg: { ipp: '111111' } });
      assert.equal(r.parsed.code, 'AA');
      assert.equal(r.out?.hl7.action, 'change-id');
      assert.equal((await store().byIpp('111111', IPP_OID))?.key, keyOf('222222'));
      assert.deepEqual((await store().history(keyOf('222222'))).map((e) => e.controlId), ['C1', 'C2']);
    });

    it('A24 links and A37 unlinks two patients: AA, msg.linked, the link recorded', async () => {
      const p = await start({ file: dbFile() });
      const link = await p.adt({ event: 'A24', controlId: 'L1', evnOccurred: '20261123100000+0100' });
      assert.equal(link.parsed.code, 'AA');
      assert.equal(link.out?.hl7.action, 'link');
      assert.equal(link.out?.linked.ipp.id, '777888');
      assert.equal(link.out?.linked.firstName, 'Paul');
      assert.deepEqual((await store().links(keyOf('123456'))).map((l) => [l.otherKey, l.kind, l.active]), [[keyOf('777888'), 'link', true]]);

      const unlink = await p.adt({ event: 'A37', controlId: 'L2', evnOccurred: '20261123110000+0100' });
      assert.equal(unlink.parsed.code, 'AA');
      assert.equal(unlink.out?.hl7.action, 'unlink');
      assert.deepEqual((await store().links(keyOf('123456'))).map((l) => [l.otherKey, l.kind, l.active]), [[keyOf('777888'), 'link', false]]);
    });

    it('an ADT event PAM FR keeps out (A08, A29): AA "nothing to record", a warning saying why, the store unchanged', async () => {
      const p = await start({ file: dbFile() });
      for (const [event, why] of [['A08', /A31 only/], ['A29', /not an event of PAM FR/]] as const) {
        const r = await p.adt({ event, controlId: `N${event}` });
        assert.equal(r.parsed.code, 'AA');
        assert.equal(r.parsed.text, 'nothing to record');
        assert.deepEqual(r.parsed.errors.map((e) => [e.code, e.location, e.severity]), [['201', 'MSH^1^9', 'W']]);
        assert.match(r.parsed.errors[0].text ?? '', why);
        assert.equal(r.ack.insStore.outcome, 'ignored');
        assert.equal(r.out, undefined);
        assert.equal(r.err, undefined);
      }
      assert.deepEqual(await store().stats(), { identities: 0, qualified: 0, merged: 0, messages: 0, documents: 0 });
    });

    it('a code that is no ADT event: AR 201', async () => {
      const p = await start({ file: dbFile() });
      assertRejected(await p.adt({ event: 'X29' }), 'AR', [['201', 'MSH^1^9']]);
      assert.equal((await store().stats()).messages, 0);
    });
  });

  describe('the INS', () => {
    it('reads each INS OID: INS-NIR, INS-NIA, test and demonstration INS-NIR', async () => {
      const p = await start({ file: dbFile() });
      const nia = withKey('7850599123456');
      const cases: [string, string, string, string, string][] = [
        // oid, value, processing id, kind, environment
        [OID.NIR, MARIE_NIR, 'P', 'NIR', 'production'],
        [OID.NIA, nia, 'P', 'NIA', 'production'],
        [OID.NIR_TEST, MARIE_NIR, 'T', 'NIR', 'test'],
        [OID.NIR_DEMO, MARIE_NIR, 'D', 'NIR', 'demo'],
      ];
      for (const [i, [oid, value, processingId, kind, environment]] of cases.entries()) {
        const r = await p.adt({ controlId: `OID${i}`, processingId, pid: { ipp: `90000${i}`, ins: value, insOid: oid } });
        assert.equal(r.parsed.code, 'AA', oid);
        assert.deepEqual(r.parsed.errors, [], oid);
        assert.deepEqual(r.out?.patient.ins, { value, oid, kind, environment, validFrom: null });
        assert.equal(r.out?.patient.qualified, true);
        assert.equal((await store().byIpp(`90000${i}`))?.patient.ins?.oid, oid);
      }
    });

    it('a test INS in a production message: the identity recorded without it, a warning (ERR severity W)', async () => {
      const p = await start({ file: dbFile() });
      const r = await p.adt({ pid: { insOid: OID.NIR_TEST } });
      assert.equal(r.parsed.code, 'AA');
      assert.deepEqual(r.parsed.errors.map((e) => [e.code, e.location, e.severity]), [['103', 'PID^1^3^2', 'W']]);
      assert.equal(r.out?.patient.ins, null);
      assert.match(r.out?.insSetAside, /test environment in a production message/);
      assert.equal(r.err, undefined);
      assert.equal((await store().byIpp('123456'))?.patient.qualified, false);
    });

    it('unknown OIDs and the legacy INS-C are reported, not read as an INS', async () => {
      const p = await start({ file: dbFile() });
      for (const [i, oid] of [OID.INS_C, '1.2.250.1.213.1.4.99'].entries()) {
        const r = await p.adt({ controlId: `U${i}`, pid: { ipp: `80000${i}`, insOid: oid } });
        assert.equal(r.parsed.code, 'AA', oid);
        assert.deepEqual(r.parsed.errors.map((e) => [e.code, e.location, e.severity]), [['103', 'PID^1^3^2', 'W']]);
        assert.equal(r.out?.patient.ins, null);
        assert.equal(r.out?.patient.qualified, false);
        assert.equal((await store().byIpp(`80000${i}`))?.patient.ins, null);
      }
    });

    it('PAM FR §6.6.15: a wrong key — the identity is integrated WITHOUT the INS, AA with W 102 at PID^1^3^n', async () => {
      const p = await start({ file: dbFile() });
      const wrong = withWrongKey('2850569123456');
      const r = await p.adt({ pid: { ins: wrong } });
      assert.equal(r.parsed.code, 'AA');
      assert.deepEqual(r.parsed.errors.map((e) => [e.code, e.location, e.severity]), [['102', 'PID^1^3^2', 'W']]);
      assert.match(r.parsed.errors[0].text ?? '', /INS-NIR not integrated: wrong key/);
      assertNoPatientData(r.parsed.errors[0].text ?? '', [wrong, wrong.slice(13)]);
      assert.equal(r.err, undefined, 'an AA raises no error');
      assert.equal(r.out?.patient.ins, null);
      assert.equal(r.out?.patient.qualified, false);
      assert.match(r.out?.insSetAside, /wrong key/);
      const stored = await store().byIpp('123456');
      assert.equal(stored?.patient.ins, null);
      assert.equal(stored?.patient.birthName, 'MARTIN', 'names, birth data and status are integrated');
      assert.equal(stored?.patient.status, 'VALI');
      assert.deepEqual(await store().byIns(wrong, { qualifiedOnly: false }), []);

      // INS first in PID-3: the location names its repetition
      const first = await p.adt({ controlId: 'MSG0002', pid: { ins: wrong, insFirst: true } });
      assert.deepEqual(first.parsed.errors.map((e) => [e.code, e.location, e.severity]), [['102', 'PID^1^3^1', 'W']]);
    });

    it('an AE leaves the stored identity as it was', async () => {
      const p = await start({ file: dbFile() });
      assert.equal((await p.adt({ controlId: 'K1', evnOccurred: '20261120100000+0100' })).parsed.code, 'AA');
      const r = await p.adt({ event: 'A31', controlId: 'K2', pid: { sex: 'X', birthName: 'AUTRE' } });
      assertRejected(r, 'AE', [['103', 'PID^1^8']], 'K2');
      const stored = await store().byIpp('123456');
      assert.equal(stored?.patient.ins?.value, MARIE_NIR);
      assert.equal(stored?.patient.birthName, 'MARTIN');
      assert.equal((await store().history(keyOf('123456'))).length, 1);
    });

    it('Corsica: 2A and 2B count as 19 and 18; a wrong key there is not integrated either', async () => {
      const p = await start({ file: dbFile() });
      const a = withKey('185052A123456');
      const b = withKey('285052B654321');
      for (const [i, ins] of [a, b].entries()) {
        const r = await p.adt({ controlId: `CO${i}`, pid: { ipp: `70000${i}`, ins, sex: i ? 'F' : 'M', birthPlace: i ? '2B033' : '2A004' } });
        assert.equal(r.parsed.code, 'AA', ins);
        assert.equal(r.out?.patient.ins.value, ins);
        assert.equal(r.out?.patient.qualified, true);
      }
      for (const [i, ins] of [withWrongKey('185052A123456'), withWrongKey('285052B654321')].entries()) {
        const r = await p.adt({ controlId: `CX${i}`, pid: { ipp: `71000${i}`, ins, sex: i ? 'F' : 'M' } });
        assert.equal(r.parsed.code, 'AA');
        assert.deepEqual(r.parsed.errors.map((e) => [e.code, e.location, e.severity]), [['102', 'PID^1^3^2', 'W']]);
        assertNoPatientData(r.parsed.errors[0].text ?? '', [ins, ins.slice(0, 13)]);
        assert.equal(r.out?.patient.ins, null);
      }
      assert.deepEqual(await store().stats(), { identities: 4, qualified: 2, merged: 0, messages: 4, documents: 0 });
    });
  });

  describe('identity status and birth traits', () => {
    it('PAM FR §6.6.15: VALI with its INS is qualified; PROV with an INS is recorded without it (W 103 at PID^1^32)', async () => {
      const p = await start({ file: dbFile() });
      const vali = await p.adt({ controlId: 'V1' });
      assert.equal(vali.out?.patient.qualified, true);
      const prov = await p.adt({ controlId: 'V2', event: 'A31', evnOccurred: '20261123110000+0100', pid: { status: ['PROV'] } });
      assert.equal(prov.parsed.code, 'AA');
      assert.deepEqual(prov.parsed.errors.map((e) => [e.code, e.location, e.severity]), [['103', 'PID^1^32', 'W']]);
      assert.equal(prov.out?.patient.ins, null);
      assert.equal(prov.out?.patient.status, 'PROV');
      const stored = await store().byIpp('123456');
      assert.equal(stored?.patient.qualified, false, 'demoted: the INS is gone with the qualification');
      assert.equal(stored?.patient.ins, null);
      // the msg.valiQualified of 0.1 has no effect any more
      const noOption = await p.adt({ controlId: 'V3', event: 'A31', evnOccurred: '20261123120000+0100', pid: { status: ['PROV'] } }, { valiQualified: true });
      assert.equal(noOption.out?.patient.qualified, false);
    });

    it('VALI with its INS but missing birth traits: recorded without the INS, one W 101 per trait', async () => {
      const p = await start({ file: dbFile() });
      const r = await p.adt({ controlId: 'T2', pid: { birthDate: '', sex: '' } });
      assert.equal(r.parsed.code, 'AA');
      assert.deepEqual(r.parsed.errors.map((e) => [e.code, e.location, e.severity]), [['101', 'PID^1^7', 'W'], ['101', 'PID^1^8', 'W']]);
      assert.equal(r.out?.patient.ins, null);
      assert.deepEqual(await store().stats(), { identities: 1, qualified: 0, merged: 0, messages: 1, documents: 0 });
    });

    it('PID-32 without a status, or with QUAL (not in table 0445): recorded, never qualified; DOUT neither', async () => {
      const p = await start({ file: dbFile() });
      for (const [i, status] of [['HOMD'], ['QUAL'], ['VALI', 'DOUT']].entries()) {
        const r = await p.adt({ controlId: `S${i}`, pid: { ipp: `60000${i}`, status } });
        assert.equal(r.parsed.code, 'AA', status.join('~'));
        assert.ok(r.parsed.errors.every((e) => e.severity === 'W'));
        assert.ok(r.parsed.errors.some((e) => e.location === 'PID^1^32'));
        assert.equal(r.out?.patient.qualified, false);
        assert.equal(r.out?.patient.ins, null);
      }
      assert.equal((await store().stats()).qualified, 0);
    });

    it('invalid birth date and sex: AE without the values in the error text', async () => {
      const p = await start({ file: dbFile() });
      const r = await p.adt({ pid: { birthDate: '19851332', sex: 'X' } });
      assertRejected(r, 'AE', [['102', 'PID^1^7'], ['103', 'PID^1^8']]);
      assertNoPatientData(r.err?.error.message, ['19851332', '"X"']);
      // MSA-3 (msg.ack.text) is redacted too; the ERR segments, for the sender, keep the values it sent
      assert.equal(r.ack.ack.text, 'the birth date (PID-7) is not a date (YYYYMMDD)');
      assert.equal(r.parsed.text, r.ack.ack.text);
      assert.equal(r.parsed.errors[1].text, 'the sex (PID-8) is not F, M or U');
      assert.equal(readHeader(r.ack.payload).charset, '8859/1');
    });
  });

  describe('out-of-date and duplicate messages', () => {
    it('an older message after a newer one: AA, recorded in the history, not applied, nothing on output 1', async () => {
      const p = await start({ file: dbFile() });
      const newer = await p.adt({ event: 'A31', controlId: 'N1', evnOccurred: '20261123120000+0100', pid: { usedName: 'NOUVEAU' } });
      assert.equal(newer.parsed.code, 'AA');
      const older = await p.adt({ event: 'A31', controlId: 'N2', evnOccurred: '20261123090000+0100', pid: { usedName: 'ANCIEN' } });
      assert.equal(older.parsed.code, 'AA');
      assert.equal(older.parsed.controlId, 'N2');
      assert.match(older.parsed.text, /out of date/);
      assert.equal(older.ack.ack.text, older.parsed.text);
      assert.equal(older.ack.insStore.outcome, 'out-of-date');
      assert.equal(older.out, undefined);
      assert.equal(older.err, undefined);
      assert.equal((await store().byIpp('123456'))?.patient.usedName, 'NOUVEAU');
      const history = await store().history(keyOf('123456'));
      assert.deepEqual(history.map((e) => [e.controlId, e.applied]), [['N1', true], ['N2', false]]);
    });

    it('the same message twice: the same ACK code, applied once, no second output 1', async () => {
      const p = await start({ file: dbFile() });
      const first = await p.adt({ controlId: 'D1' });
      assert.equal(first.parsed.code, 'AA');
      assert.ok(first.out);
      const again = await p.adt({ controlId: 'D1' });
      assert.equal(again.parsed.code, 'AA');
      assert.equal(again.parsed.controlId, 'D1');
      assert.match(again.parsed.text, /already processed/);
      assert.equal(again.ack.insStore.outcome, 'duplicate');
      assert.equal(again.out, undefined);
      assert.equal(again.err, undefined);
      assert.equal((await store().history(keyOf('123456'))).length, 1);
      assert.equal((await store().stats()).messages, 1);
      // another sender may use the same control id
      const other = await p.send({ payload: adtMessage({ controlId: 'D1' }).replace('|GAM|CHU-X|', '|GAM2|CHU-X|') });
      assert.equal(other.ack.insStore.outcome, 'applied');
    });
  });

  describe('input that cannot be read', () => {
    const cases: [string, () => unknown, 'AE' | 'AR', [string, string][], string][] = [
      ['not HL7', () => 'hello, this is not HL7', 'AR', [['100', 'MSH^1']], ''],
      ['an empty string', () => '', 'AR', [['100', 'MSH^1']], ''],
      ['a truncated header', () => adtMessage().slice(0, 40), 'AR', [['101', 'MSH^1^9']], ''],
      ['a message cut after EVN', () => adtSegments().slice(0, 2).join('\r') + '\r', 'AR', [['100', 'PID^1']], 'MSG0001'],
      ['a line that is not a segment', () => adtMessage().replace('\rPD1|', '\r??? |'), 'AR', [['100', '']], 'MSG0001'],
      ['segments out of order', () => adtMessage({ mutate: (s) => [s[0], s[2], s[1], ...s.slice(3)] }), 'AE', [['100', 'PID^1']], 'MSG0001'],
      ['an ORU^R01', () => adtMessage({ type: 'ORU', event: 'R01', structure: 'ORU_R01' }), 'AR', [['200', 'MSH^1^9']], 'MSG0001'],
      ['HL7 v2.3', () => adtMessage({ version: '2.3' }), 'AR', [['203', 'MSH^1^12']], 'MSG0001'],
      ['an unsupported charset', () => Buffer.from(adtMessage({ charset: 'ISO IR87' }), 'latin1'), 'AR', [['103', 'MSH^1^18']], 'MSG0001'],
      ['A40 without MRG', () => adtMessage({ event: 'A40', mrg: null }), 'AR', [['100', 'MRG^1']], 'MSG0001'],
      ['a null payload', () => null, 'AR', [['100', 'MSH^1']], ''],
      ['an object payload', () => ({ msh: 'MSH|^~\\&' }), 'AR', [['100', 'MSH^1']], ''],
      ['a number', () => 42, 'AR', [['100', 'MSH^1']], ''],
      ['a huge message (11 MiB)', () => adtMessage() + 'NTE|1||' + 'x'.repeat(11 * 1024 * 1024) + '\r', 'AR', [['207', '']], 'MSG0001'],
      ['a huge non-HL7 Buffer', () => Buffer.alloc(12 * 1024 * 1024, 0x41), 'AR', [['207', '']], ''],
    ];
    for (const [what, payload, code, errors, controlId] of cases) {
      it(`${what}: ${code} ${errors.map((e) => e[0]).join(', ')}, a Catch-able error, the store unchanged`, async () => {
        const p = await start({ file: dbFile() });
        const r = await p.send({ payload: payload(), mllp: { connectionId: 'c1' } });
        assertRejected(r, code, errors, controlId);
        assert.deepEqual(r.ack.mllp, { connectionId: 'c1' });
        assert.match(r.ack.payload, /^MSH\|\^~\\&\|/);
        assert.doesNotThrow(() => encodeHl7(r.ack.payload));
        assertNoPatientData(r.err?.error.message);
        assert.deepEqual(await store().stats(), { identities: 0, qualified: 0, merged: 0, messages: 0, documents: 0 });
      });
    }

    it('even a msg that throws when read gets its AR and a Catch-able error', async () => {
      const p = await start({ file: dbFile() });
      const msg: Msg = { mllp: { connectionId: 'c2' } };
      let reads = 0;
      Object.defineProperty(msg, 'payload', {
        enumerable: true,
        get() {
          // throws once (in the node), then reads null (when the catch node copies the msg)
          if (reads++ === 0) throw new Error('unreadable payload');
          return null;
        },
      });
      const r = await p.send(msg);
      assertRejected(r, 'AR', [['207', '']], '');
      assert.deepEqual(r.ack.mllp, { connectionId: 'c2' });
      // and the node goes on
      assert.equal((await p.adt()).parsed.code, 'AA');
    });

    it('keeps answering after bad input (status counts AA · AE · AR)', async () => {
      const p = await start({ file: dbFile() });
      await p.send({ payload: null });
      await p.adt({ controlId: 'X1', pid: { sex: 'X' } });
      await p.adt({ controlId: 'X2' });
      await p.statusBecomes({ fill: 'green', shape: 'dot', text: 'AA 1 · AE 1 · AR 1' });
      await p.send({ payload: 'nope' });
      await p.statusBecomes({ fill: 'red', shape: 'dot', text: 'AA 1 · AE 1 · AR 2' });
      for (const s of p.statuses) assertNoPatientData(String(s.text ?? ''));
    });
  });

  describe('issue 11: durable acknowledgements, and no per-message work beyond the message', () => {
    it('the ACK of a recorded message is sent only once its commit is on disk (the WAL sync completes before the ACK)', async () => {
      const p = await start({ file: dbFile() });
      const held = new HeldSync();
      (store() as SqliteIdentityStore).syncWal = held.sync;
      const answered = p.adt({ controlId: 'DUR1' });
      await until(() => held.held === 1, 'the WAL sync of the commit');
      await delay(50);
      assert.equal(p.acks.length, 0, 'no ACK while the commit is not on disk');
      assert.equal(p.out.length, 0, 'nor the identity on output 1');
      held.release();
      const r = await answered;
      assert.equal(r.parsed.code, 'AA');
      assert.equal(r.ack.insStore.outcome, 'applied');
      assert.equal(held.calls, 1);
    });

    it('an AE or AR the store has no part in is not held by a sync (its journal row is synced after the answer)', async () => {
      const p = await start({ file: dbFile() });
      const held = new HeldSync();
      (store() as SqliteIdentityStore).syncWal = held.sync;
      assertRejected(await p.adt({ controlId: 'E1', pid: { sex: 'X' } }), 'AE', [['103', 'PID^1^8']], 'E1');
      assert.ok(held.calls <= 1, 'at most the sync of the rejection\'s journal row, answered before it');
      held.release();
    });

    it('a burst of messages: the status is updated a few times, not once per message, and ends on the totals', async () => {
      const p = await start({ file: dbFile() });
      const n = 40;
      for (let i = 0; i < n; i++) helper.getNode('n').receive({ payload: adtMessage({ controlId: `B${i}`, pid: { ipp: `7000${String(i).padStart(2, '0')}` } }) });
      await until(() => p.acks.length === n, 'every ACK');
      await p.statusBecomes({ fill: 'green', shape: 'dot', text: `AA ${n} · AE 0 · AR 0` });
      assert.ok(p.statuses.length < n / 4, `${p.statuses.length} status updates for ${n} messages`);
    });

    it('no debug line per message at the info log level; one per message at debug level', async () => {
      const lines = async () => {
        const p = await start();
        const debugged: unknown[] = [];
        helper.getNode('n').on('call:debug', (call: { args: unknown[] }) => debugged.push(call.args[0]));
        await p.adt({ controlId: 'L1' });
        await p.adt({ controlId: 'L2' });
        await helper.unload();
        return debugged.length;
      };
      assert.equal(await lines(), 0);
      helper.settings({ logging: { console: { level: 'debug' } } });
      try {
        assert.equal(await lines(), 2);
      } finally {
        helper.settings({});
      }
    });
  });

  describe('store problems', () => {
    it('a store file that cannot be created: AR 207 naming the file, AE still AE', async () => {
      const blocker = path.join(tmp, `blocker-${++n}`);
      fs.writeFileSync(blocker, 'a file where a folder should be');
      const file = path.join(blocker, 'sub', 'ins-store.db');
      const p = await start({ file });
      const st = helper.getNode('st');
      assert.equal(st.store, null);
      assert.match(st.openError.message, /identity store .* cannot be opened/);
      assert.ok(st.openError.message.includes(path.join(blocker, 'sub', 'ins-store.db')));
      const r = await p.adt();
      assertRejected(r, 'AR', [['207', '']]);
      assert.match(r.err?.error.message, /identity store error/);
      assert.ok(r.err?.error.message.includes(file), 'the error names the file');
      assert.equal(r.ack.insStore, undefined);
      assert.deepEqual(p.statuses[p.statuses.length - 1], { fill: 'red', shape: 'ring', text: 'AA 0 · AE 0 · AR 1' });
      assertRejected(await p.adt({ controlId: 'E2', pid: { sex: 'X' } }), 'AE', [['103', 'PID^1^8']], 'E2');
    });

    it('issue 12: no store configured — what would be recorded is answered AR 207 (never AA recording nothing), a Catch-able error, a red status; AE still AE', async () => {
      const p = await start();
      assert.deepEqual(statusesOf(helper.getNode('n'))[0], { fill: 'red', shape: 'ring', text: 'no identity store: messages answered AR' }, 'red from the deploy on');
      const r = await p.adt();
      assertRejected(r, 'AR', [['207', '']]);
      assert.match(r.parsed.text ?? '', /not recorded, send it again/);
      assert.match(r.err?.error.message, /no identity store is configured: ADT\^A28 MSG0001 not recorded \(AR 207\); select an ins store in the node$/);
      assertNoPatientData(r.err?.error.message);
      assert.equal(r.ack.insStore, undefined);
      assert.deepEqual(p.statuses[p.statuses.length - 1], { fill: 'red', shape: 'ring', text: 'AA 0 · AE 0 · AR 1' });
      assertRejected(await p.adt({ controlId: 'MSG0002', pid: { sex: 'X' } }), 'AE', [['103', 'PID^1^8']], 'MSG0002');
    });

    it('a store configuration node that does not exist: AR 207', async () => {
      const p = await start({ store: 'missing-store' });
      const r = await p.adt();
      assertRejected(r, 'AR', [['207', '']]);
      assert.match(r.err?.error.message, /missing-store not found/);
    });

    it('a store that fails while applying: AR 207, nothing on output 1', async () => {
      const p = await start({ file: dbFile() });
      await store().close(); // the database is gone under the node's feet
      const r = await p.adt();
      assertRejected(r, 'AR', [['207', '']]);
    });
  });

  describe('error texts', () => {
    it('redactIssueText keeps locations and reasons, drops the values of the message', () => {
      const wrong = withWrongKey('2850569123456');
      const samples = [
        adtMessage({ pid: { ins: wrong } }),
        adtMessage({ pid: { ins: '2850569123' } }),
        adtMessage({ pid: { ins: '285056912345X7' + '1' } }),
        adtMessage({ pid: { birthDate: '19851332', sex: 'Q', birthPlace: '6912' } }),
        adtMessage({ pid: { extraIds: [`${withKey('1850275056789')}^^^ASIP-SANTE-INS-NIR&${OID.NIR}&ISO^INS`] } }),
        adtMessage({ pid: { ippOid: '' } }),
        adtMessage({ pid: { insEffective: '20261399' } }),
      ];
      const values = [...PATIENT_DATA, wrong, '2850569123', '285056912345X71', '19851332', '6912', withKey('1850275056789'), '123456', '20261399', '"Q"'];
      let seen = 0;
      for (const text of samples) {
        for (const issue of readAdtPayload(text).issues) {
          const redacted = redactIssueText(issue.text, issue.location);
          for (const v of values) assert.ok(!redacted.includes(v), `"${v}" left in "${redacted}" (from "${issue.text}")`);
          seen++;
        }
      }
      assert.ok(seen >= 7);
      assert.equal(redactIssueText(`INS ${wrong} (INS-NIR) rejected: wrong key 12, expected 34`, 'PID^1^3^2'), 'INS (INS-NIR) rejected: wrong key');
      assert.equal(
        redactIssueText('identifier typed INS under an assigning authority that is not an INS OID ("1.2.250.1.213.1.4.99"): not read', 'PID^1^3^2'),
        'identifier typed INS under an assigning authority that is not an INS OID ("1.2.250.1.213.1.4.99"): not read',
      );
      assert.equal(
        redactIssueText('INS not integrated: a qualified identity needs its birth place INSEE code (PID-11.9 typed BDL)', 'PID^1^11'),
        'INS not integrated: a qualified identity needs its birth place INSEE code (PID-11.9 typed BDL)',
      );
      assert.equal(redactIssueText('HL7 version "2.3" is not supported (supported: 2.5, 2.5.1)', 'MSH^1^12'), 'HL7 version "2.3" is not supported (supported: 2.5, 2.5.1)');
    });
  });
});

describe('adt-to-ins node: the message journal (issue 14)', function () {
  this.timeout(20_000);
  let tmp: string;
  let n = 0;
  const dbFile = () => path.join(tmp, `adt-journal-${++n}.db`);
  const { replayHandler } = require('../../nodes/shared/console-registry') as typeof import('../../nodes/shared/console-registry');

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'adt-journal-'));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  async function start(nodes: Msg[]): Promise<Probe> {
    await helper.load(NODES, nodes);
    return new Probe();
  }

  it('an applied message: one row with its keys, the ACK given and the outcome, written with the identity; its id on both outputs', async () => {
    const p = await start(flow({ file: dbFile() }));
    const r = await p.adt({ controlId: 'J1' });
    assert.equal(r.parsed.code, 'AA');
    const page = await store().searchJournal({ controlId: 'J1' });
    assert.equal(page.entries.length, 1);
    const row = page.entries[0];
    assert.deepEqual([row.node.id, row.node.type, row.direction, row.kind, row.type, row.event, row.outcome, row.ack?.code], ['n', 'adt-to-ins', 'in', 'message', 'ADT', 'A28', 'applied', 'AA']);
    assert.equal(row.keys.ippKey, keyOf('123456'));
    assert.equal(row.keys.ins, MARIE_NIR);
    assert.equal(r.ack.journalId, row.id);
    assert.equal(r.out?.journalId, row.id);
    const content = await store().journalContent(row.id);
    assert.deepEqual(content?.message, adtBytes({ controlId: 'J1' }), 'the bytes as received, in MSH-18');
    assert.ok(content?.answer?.length, 'the ACK given');
    assert.equal((await store().searchJournal({ ins: MARIE_NIR })).entries.length, 1);
  });

  it('the same message again: a second row, outcome duplicate, nothing applied twice', async () => {
    const p = await start(flow({ file: dbFile() }));
    await p.adt({ controlId: 'J2' });
    await p.adt({ controlId: 'J2' });
    const rows = (await store().searchJournal({ controlId: 'J2' })).entries;
    assert.deepEqual(rows.map((e) => e.outcome), ['duplicate', 'applied']);
    assert.equal((await store().history(keyOf('123456'))).length, 1);
  });

  it('a rejected message: its row, outcome rejected with the ACK AE and its ERR, and no identity', async () => {
    const p = await start(flow({ file: dbFile() }));
    assertRejected(await p.adt({ controlId: 'J3', pid: { sex: 'X' } }), 'AE', [['103', 'PID^1^8']], 'J3');
    await untilAsync(async () => (await store().searchJournal({ controlId: 'J3' })).entries.length === 1, 'the row');
    const [row] = (await store().searchJournal({ controlId: 'J3' })).entries;
    assert.equal(row.outcome, 'rejected');
    assert.equal(row.ack?.code, 'AE');
    assert.deepEqual(row.ack?.errors.map((e) => [e.code, e.location]), [['103', 'PID^1^8']]);
    assert.equal((await store().stats()).identities, 0);
  });

  it('the store\'s Journal setting off: the identity recorded, no row', async () => {
    const nodes = flow({ file: dbFile() });
    nodes[0].journal = false;
    const p = await start(nodes);
    assert.equal((await p.adt({ controlId: 'J4' })).parsed.code, 'AA');
    assert.equal((await store().stats()).identities, 1);
    assert.equal((await store().journalSize()).rows, 0);
  });

  it('replay from the console: an applied message replayed changes nothing and says so; the row links to the original and names who asked; no ACK is sent', async () => {
    const p = await start(flow({ file: dbFile() }));
    await p.adt({ controlId: 'J5' });
    const [original] = (await store().searchJournal({ controlId: 'J5' })).entries;
    const handler = replayHandler('n');
    assert.ok(handler, 'adt-to-ins registers a replay handler');
    const message = (await store().journalContent(original.id))?.message as Buffer;
    const acks = p.acks.length;
    const result = await handler({ entry: original, message, originalId: original.id, actor: 'console:alice' });
    assert.deepEqual([result.outcome, result.changed, result.ack?.code], ['duplicate', false, 'AA']);
    assert.match(result.text, /nothing changed/);
    const replay = await store().journalEntry(result.journalId as number);
    assert.deepEqual([replay?.replayOf, replay?.actor, replay?.outcome], [original.id, 'console:alice', 'duplicate']);
    assert.equal(p.acks.length, acks, 'no ACK sent for a replay');
    assert.ok((await store().audit()).some((a) => a.action === 'replay' && a.actor === 'console:alice'));
    assert.equal((await store().history(keyOf('123456'))).length, 1);
  });

  it('replay of a message answered AR (store closed then) applies it once', async () => {
    const p = await start(flow({ file: dbFile() }));
    // a row as a store failure writes it: the bytes kept, outcome failed
    const id = await store().journal({ node: { id: 'n', type: 'adt-to-ins' }, direction: 'in', kind: 'message', type: 'ADT', event: 'A28', controlId: 'J6', outcome: 'failed', message: adtBytes({ controlId: 'J6' }) });
    const entry = (await store().journalEntry(id))!;
    const outs = p.out.length;
    const result = await replayHandler('n')!({ entry, message: (await store().journalContent(id))!.message!, originalId: id, actor: 'console:bob' });
    assert.deepEqual([result.outcome, result.changed], ['applied', true]);
    await until(() => p.out.length === outs + 1, 'the identity on output 1');
    assert.equal((await store().stats()).identities, 1);
  });
});
