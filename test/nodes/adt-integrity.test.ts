// Identity integrity through adt-to-ins on a real store: what a hostile-input review found, each case
// refused (AE, saying why) or integrated without the INS (AA with a warning), never applied silently.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import adtToIns = require('../../nodes/adt-to-ins/adt-to-ins');
import insStore = require('../../nodes/ins-store/ins-store');
import { buildCdaN1 } from '../../lib/cda';
import { parseAck } from '../../lib/hl7';
import { MAX_ISSUES } from '../../lib/ins';
import type { IdentityStore } from '../../lib/store';
import { MARIE_NIR, OID, adtMessage, withKey, type AdtSpec } from '../fixtures/adt';
import { documentInput, settings } from '../fixtures/cda';
import { textPdf } from '../fixtures/pdf';
import { delay, until, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['ins-store', 'adt-to-ins'], [insStore, adtToIns]);
const keyOf = (ipp: string) => `${OID.IPP}|${ipp}`;
const PAUL_NIR = withKey('1850275056789');
const PAUL = { ins: PAUL_NIR, birthName: 'MARTIN', firstName: 'Paul', firstNames: 'Paul', usedName: null, sex: 'M', birthDate: '19850207', birthPlace: '75056' };

describe('adt-to-ins identity integrity (real store)', function () {
  this.timeout(30_000);
  let tmp: string;
  let n = 0;
  const acks: Msg[] = [];
  const outs: Msg[] = [];
  const errors: Msg[] = [];

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'adt-integrity-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  beforeEach(async () => {
    await new Promise<void>((resolve) => helper.startServer(resolve));
    await helper.load(NODES, [
      { id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file: path.join(tmp, `integrity-${++n}.db`) },
      { id: 'n', type: 'adt-to-ins', name: '', store: 'st', wires: [['out'], ['ack']] },
      { id: 'out', type: 'helper' },
      { id: 'ack', type: 'helper' },
      { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['err']] },
      { id: 'err', type: 'helper' },
    ]);
    acks.length = outs.length = errors.length = 0;
    helper.getNode('ack').on('input', (m: Msg) => acks.push(m));
    helper.getNode('out').on('input', (m: Msg) => outs.push(m));
    helper.getNode('err').on('input', (m: Msg) => errors.push(m));
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  const store = (): IdentityStore => helper.getNode('st').store as IdentityStore;

  async function send(spec: AdtSpec | string) {
    const [a, o, e] = [acks.length, outs.length, errors.length];
    helper.getNode('n').receive({ payload: typeof spec === 'string' ? spec : adtMessage(spec) });
    await until(() => acks.length > a, 'the ACK');
    await delay(20);
    const ack = parseAck(acks[a].payload);
    return { ack, raw: acks[a], out: outs[o], err: errors[e], errors: ack.errors.map((x) => `${x.severity}${x.code}@${x.location ?? ''}`) };
  }

  describe('merges and identifier changes', () => {
    it('after an A40, a newer A31 for the merged-away IPP is AE 207 — never un-merged, never two identities with one INS', async () => {
      assert.equal((await send({ controlId: 'A', evnOccurred: '20261120100000+0100', pid: { ipp: '654321' } })).ack.code, 'AA');
      assert.equal((await send({ controlId: 'B', evnOccurred: '20261121100000+0100', pid: { ipp: '123456', ins: null, status: ['PROV'] } })).ack.code, 'AA');
      const merge = await send({ event: 'A40', controlId: 'C', evnOccurred: '20261122100000+0100', pid: { ipp: '123456' }, mrg: { ipp: '654321' } });
      assert.equal(merge.ack.code, 'AA', JSON.stringify(merge.ack));
      const late = await send({ event: 'A31', controlId: 'D', evnOccurred: '20261123100000+0100', pid: { ipp: '654321' } });
      assert.equal(late.ack.code, 'AE');
      assert.deepEqual(late.errors, ['E207@PID^1^3']);
      assert.match(late.ack.text, /merged into \(A40\)/);
      assert.ok(late.err, 'a Catch-able error');
      assert.equal(late.err.error.code, 'AE');
      assert.equal(late.out, undefined);
      assert.equal((await store().byIpp('654321', OID.IPP))?.key, keyOf('123456'), 'still merged');
      assert.equal((await store().byIns(MARIE_NIR)).length, 1, 'one identity carries the INS');
      assert.equal((await store().stats()).merged, 1);
      // an older message about the merged-away IPP is only late: recorded, not applied, AA
      const older = await send({ event: 'A31', controlId: 'E', evnOccurred: '20261121120000+0100', pid: { ipp: '654321' } });
      assert.equal(older.ack.code, 'AA');
      assert.equal(older.raw.insStore.outcome, 'out-of-date');
      assert.equal((await store().byIpp('654321', OID.IPP))?.key, keyOf('123456'));
    });

    it('an A47 onto an IPP that already holds another patient is AE 207 naming the conflict; both stay as they were', async () => {
      await send({ controlId: 'A', pid: { ipp: '111111' } });
      await send({ controlId: 'B', pid: { ipp: '222222', ...PAUL } });
      const r = await send({ event: 'A47', controlId: 'C', pid: { ipp: '222222' }, mrg: { ipp: '111111' } });
      assert.equal(r.ack.code, 'AE');
      assert.deepEqual(r.errors, ['E207@PID^1^3']);
      assert.match(r.ack.text, /already holds another patient/);
      assert.equal((await store().byIpp('111111', OID.IPP))?.patient.ins?.value, MARIE_NIR);
      assert.equal((await store().byIpp('222222', OID.IPP))?.patient.ins?.value, PAUL_NIR);
      assert.equal((await store().stats()).merged, 0);
    });

    it('an A40 merging two qualified identities with different INS is AE 207: identity vigilance decides', async () => {
      await send({ controlId: 'A', pid: { ipp: '111111' } });
      await send({ controlId: 'B', pid: { ipp: '222222', ...PAUL } });
      const r = await send({ event: 'A40', controlId: 'C', pid: { ipp: '111111' }, mrg: { ipp: '222222' } });
      assert.equal(r.ack.code, 'AE');
      assert.deepEqual(r.errors, ['E207@MRG^1^1']);
      assert.match(r.ack.text, /qualified with different INS/);
      assert.equal((await store().stats()).merged, 0);
      assert.equal((await store().byIpp('222222', OID.IPP))?.key, keyOf('222222'));
      // the same INS on both (a true duplicate) merges
      await send({ controlId: 'D', pid: { ipp: '333333' } });
      const dup = await send({ event: 'A40', controlId: 'E', pid: { ipp: '111111' }, mrg: { ipp: '333333' } });
      assert.equal(dup.ack.code, 'AA', JSON.stringify(dup.ack));
      assert.equal((await store().stats()).merged, 1);
    });
  });

  describe('dates', () => {
    it('an EVN-6 of 9999-12-31 is AE 102 and freezes nothing: the next update is applied', async () => {
      const frozen = await send({ controlId: 'A', evnOccurred: '99991231000000+0100', pid: { birthName: 'FIGÉ' } });
      assert.equal(frozen.ack.code, 'AE');
      assert.deepEqual(frozen.errors, ['E102@EVN^1^6']);
      assert.equal(await store().byIpp('123456'), null);
      const next = await send({ controlId: 'B', evnOccurred: '20261123100000+0100' });
      assert.equal(next.ack.code, 'AA');
      assert.equal(next.raw.insStore.outcome, 'applied');
    });

    it('a birth date in the future is AE 102, the stored identity untouched', async () => {
      await send({ controlId: 'A' });
      const r = await send({ controlId: 'B', event: 'A31', pid: { birthDate: '20991231' } });
      assert.equal(r.ack.code, 'AE');
      assert.deepEqual(r.errors, ['E102@PID^1^7']);
      assert.equal((await store().byIpp('123456'))?.patient.birthDate, '1985-05-12');
    });
  });

  describe('implausible traits of a qualified identity', () => {
    it('a birth place that is not an INSEE code: not kept, so the INS is not integrated (warnings)', async () => {
      const r = await send({ pid: { birthPlace: 'LYON 2E' } });
      assert.equal(r.ack.code, 'AA');
      assert.deepEqual(r.errors, ['W102@PID^1^11^2^9', 'W101@PID^1^11']);
      const s = await store().byIpp('123456');
      assert.equal(s?.patient.birthPlace, '');
      assert.equal(s?.patient.ins, null);
    });

    it('a sex that disagrees with the INS-NIR: the INS is not integrated (W 102 at PID^1^8)', async () => {
      const r = await send({ pid: { sex: 'M' } });
      assert.equal(r.ack.code, 'AA');
      assert.deepEqual(r.errors, ['W102@PID^1^8']);
      assert.equal((await store().byIpp('123456'))?.patient.qualified, false);
    });

    it('a 5 MiB name is AE 102 (XPN: 194 characters), nothing stored', async () => {
      const r = await send({ pid: { birthName: 'A'.repeat(5 * 1024 * 1024) } });
      assert.equal(r.ack.code, 'AE');
      assert.deepEqual(r.errors, ['E102@PID^1^5^1^1']);
      assert.match(r.ack.text, /at most 194/);
      assert.ok(r.raw.payload.length < 2000, 'the ACK does not echo the name');
      assert.deepEqual(await store().stats(), { identities: 0, qualified: 0, merged: 0, messages: 0, documents: 0 });
    });

    it('10,000 identical INS repetitions: read once, the INS not integrated, an ACK of a few ERR segments', async () => {
      const cx = `${MARIE_NIR}^^^ASIP-SANTE-INS-NIR&${OID.NIR}&ISO^INS`;
      const r = await send({ pid: { ins: null, extraIds: Array(10_000).fill(cx) } });
      assert.equal(r.ack.code, 'AA');
      assert.deepEqual(r.errors, ['W198@PID^1^3', 'W198@PID^1^3']);
      assert.ok(r.raw.payload.length < 2000);
      assert.equal((await store().byIpp('123456'))?.patient.ins, null);
    });

    it('never more than MAX_ISSUES ERR segments, the rest counted', async () => {
      const ids = Array.from({ length: 500 }, (_, i) => `${i}^^^ASIP-SANTE-INS-C&${OID.INS_C}&ISO^INS-C`);
      const r = await send({ pid: { ins: null, extraIds: ids } });
      assert.equal(r.ack.code, 'AA');
      assert.equal(r.errors.length, MAX_ISSUES + 1);
      assert.match(r.ack.errors[MAX_ISSUES].text ?? '', /480 warnings more, not listed/);
    });

    for (const [what, c] of [['BEL', '\x07'], ['FS (0x1C)', '\x1c'], ['NUL', '\x00'], ['DEL', '\x7f']] as const) {
      it(`a ${what} in a name is AE 102: stored names are exactly what the CDA shows`, async () => {
        const r = await send({ pid: { birthName: `MAR${c}TIN` } });
        assert.equal(r.ack.code, 'AE');
        assert.deepEqual(r.errors, ['E102@PID^1^5^1^1']);
        assert.match(r.ack.errors[0].text ?? '', /control character \(U\+00[0-9A-F]{2}\)/);
        assert.equal(await store().byIpp('123456'), null);
      });
    }

    it('what is stored is what the CDA shows', async () => {
      await send({ pid: { birthName: "N'DIAYE-LÉON", firstName: 'Zoé', firstNames: 'Zoé Ève', usedName: 'DE LA TOUR' } });
      const p = (await store().byIpp('123456'))!.patient;
      const cda = await buildCdaN1({ pdf: await textPdf(), patient: p, document: documentInput('LDL'), settings: settings() });
      for (const [qualifier, value] of [['BR', "N'DIAYE-LÉON"], ['CL', 'DE LA TOUR']]) {
        assert.ok(cda.xml.includes(`<family qualifier="${qualifier}">${value.replace("'", '&apos;')}</family>`) || cda.xml.includes(`<family qualifier="${qualifier}">${value}</family>`), `${qualifier} ${value}`);
      }
      assert.ok(cda.xml.includes('Zoé Ève'));
    });
  });

  describe('idempotence', () => {
    it('the same sender and control id with another content is AE 207 — the other patient is not lost silently', async () => {
      assert.equal((await send({ controlId: 'SAME', pid: { ipp: '111111' } })).ack.code, 'AA');
      const other = await send({ controlId: 'SAME', pid: { ipp: '222222', ...PAUL } });
      assert.equal(other.ack.code, 'AE');
      assert.deepEqual(other.errors, ['E207@MSH^1^10']);
      assert.match(other.ack.text, /already used for another message/);
      assert.ok(other.err);
      assert.equal(await store().byIpp('222222', OID.IPP), null);
      // the first message again is a duplicate: AA, applied once
      const again = await send({ controlId: 'SAME', pid: { ipp: '111111' } });
      assert.equal(again.ack.code, 'AA');
      assert.equal(again.raw.insStore.outcome, 'duplicate');
    });
  });
});
