// Issue 14, the console's API with the real nodes behind it: an ADT message adt-to-ins recorded is found by
// its INS and its control id, replayed through adt-to-ins (nothing applied twice, and it says so), and a
// document cda-ingest kept to reconcile is decided in the worklist and emitted by reconcile-out with the
// archive updated. (adminAuth is the stand-in of test/support/console.ts; the browser test drives a real one.)
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import insStore = require('../../nodes/ins-store/ins-store');
import adtToIns = require('../../nodes/adt-to-ins/adt-to-ins');
import cdaIngest = require('../../nodes/cda-ingest/cda-ingest');
import reconcileOut = require('../../nodes/reconcile-out/reconcile-out');
import type { IdentityStore } from '../../lib/store';
import { consoleModule } from '../support/console';
import { adtMessage, MARIE_NIR, OID } from '../fixtures/adt';
import { LOCAL, PATIENTS, feedIdentity, oruOf, receivedDocument } from '../fixtures/cda-received';
import { textPdf } from '../fixtures/pdf';
import { until, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const API = '/segur-dpi/api';
const WRITER = { 'x-test-user': 'alice', 'x-test-scope': 'segur-dpi.read,segur-dpi.write' };
const NODES = withMessages(['ins-store', 'adt-to-ins', 'cda-ingest', 'reconcile-out'], [insStore, adtToIns, cdaIngest, reconcileOut]);

describe('the console API with the nodes behind it (issue 14)', function () {
  this.timeout(30_000);
  let tmp: string;
  const got: Record<string, Msg[]> = {};
  const req = (method: 'get' | 'post', p: string) => {
    const r = helper.request()[method](p);
    for (const [k, v] of Object.entries(WRITER)) r.set(k, v);
    return r;
  };

  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'console-nodes-'));
    await new Promise<void>((resolve) => helper.startServer(resolve));
    await helper.load(
      [NODES, consoleModule()],
      [
        { id: 'st', type: 'ins-store', name: 'registry', engine: 'sqlite', file: path.join(tmp, 'store.db') },
        { id: 'adt', type: 'adt-to-ins', store: 'st', wires: [['identity'], ['ack']] },
        { id: 'cda', type: 'cda-ingest', store: 'st', maxSize: 50, archive: true, acceptLevel3: true, reconcileAck: 'AE', wires: [[], ['rec'], [], ['ack']] },
        { id: 'ro', type: 'reconcile-out', store: 'st', wires: [['dpi']] },
        { id: 'identity', type: 'helper' },
        { id: 'ack', type: 'helper' },
        { id: 'rec', type: 'helper' },
        { id: 'dpi', type: 'helper' },
      ],
    );
    for (const id of ['identity', 'ack', 'rec', 'dpi']) {
      got[id] = [];
      helper.getNode(id).on('input', (m: Msg) => got[id].push(m));
    }
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const store = (): IdentityStore => helper.getNode('st').getStore() as IdentityStore;

  it('an ADT message found by INS and by control id, replayed through adt-to-ins: a duplicate, nothing applied twice, who replayed it named', async () => {
    helper.getNode('adt').receive({ payload: adtMessage({ controlId: 'CONSOLE-1' }) });
    await until(() => got.ack.length === 1, 'the ACK');
    const byIns = (await req('get', `${API}/journal?ins=${MARIE_NIR}`)).body.entries;
    const byControl = (await req('get', `${API}/journal?controlId=CONSOLE-1`)).body.entries;
    assert.equal(byIns.length, 1);
    assert.equal(byControl[0].id, byIns[0].id);
    const shown = (await req('get', `${API}/journal/${byIns[0].id}`)).body;
    assert.equal(shown.replayable, true);
    const replay = await req('post', `${API}/journal/${byIns[0].id}/replay`).send({});
    assert.equal(replay.status, 200);
    assert.deepEqual([replay.body.outcome, replay.body.changed, replay.body.ack.code], ['duplicate', false, 'AA']);
    assert.deepEqual([replay.body.replay.replayOf, replay.body.replay.actor], [byIns[0].id, 'console:alice']);
    assert.equal((await store().history(`${OID.IPP}|123456`)).length, 1, 'applied once');
    assert.equal(got.ack.length, 1, 'no ACK sent for the replay');
  });

  it('a report to reconcile: a task of the worklist; attached there, reconcile-out emits it and the archive shows it', async () => {
    await feedIdentity(store(), LOCAL.marie);
    const pdf = await textPdf({ lines: ['Compte rendu (test)'] });
    const doc = await receivedDocument('CR-BIO', pdf, PATIENTS.marieOtherBirthDate());
    helper.getNode('cda').receive({ payload: oruOf(doc.xml, 'ORU-CONSOLE') });
    await until(() => got.rec.length === 1, 'output 2');
    const tasks = (await req('get', `${API}/tasks`)).body.tasks;
    assert.equal(tasks.length, 1);
    assert.equal(got.dpi.length, 0, 'nothing emitted before a person decides');
    const decided = await req('post', `${API}/tasks/${tasks[0].id}/decision`).send({ attach: `${OID.IPP}|123456`, seen: { shown: true } });
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    await until(() => got.dpi.length === 1, 'the decision emitted');
    assert.deepEqual([got.dpi[0].reconciliation.status, got.dpi[0].reconciliation.by], ['attached', 'console:alice']);
    assert.equal((await store().getDocument(got.rec[0].cda.id))?.ippKey, `${OID.IPP}|123456`);
    assert.equal(got.dpi[0].document.ippKey, `${OID.IPP}|123456`);
  });
});
