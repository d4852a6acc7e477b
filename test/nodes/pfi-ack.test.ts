// pfi-ack: the journey of a document sent to the PFI — its technical ACK (the msg of mllp out), then the
// business acknowledgements ZAM^Z01 / Z02 / Z03 (volet "Transmission de documents CDA en HL7 v2" 2.1,
// profils-messages.md "Description des messages HL7 d'accusés métier") sent back through MLLP: a real
// socket to mllp in → pfi-ack → mllp response, and the journey read from the archive.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import insStore = require('../../nodes/ins-store/ins-store');
import mllpIn = require('../../nodes/mllp-in/mllp-in');
import mllpResponse = require('../../nodes/mllp-response/mllp-response');
import pfiAck = require('../../nodes/pfi-ack/pfi-ack');
import { buildZam, type ZamInput } from '../../lib/cda';
import { parseAck, parseHl7 } from '../../lib/hl7';
import type { IdentityStore } from '../../lib/store';
import { RawMllpSocket, delay, freePort } from '../support/mllp';
import { statusesOf, until, withMessages } from '../support/red-nodes';

const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const NODES = withMessages(['ins-store', 'mllp-in', 'mllp-response', 'pfi-ack'], [insStore, mllpIn, mllpResponse, pfiAck]);
const HL7 = { sendingApplication: 'PFI', sendingFacility: 'CHU_X', receivingApplication: 'DPI', receivingFacility: 'CHU_X' };
const DOC = '1.2.250.1.999.1.1^DOC0001';

function zam(over: Partial<ZamInput> & Pick<ZamInput, 'event'>, controlId: string): string {
  return buildZam({ ok: true, messageControlId: 'MDM0042', controlId, hl7: HL7, ...over });
}

describe('pfi-ack node (the journey of documents sent: ACK, ZAM^Z01 / Z02 / Z03)', function () {
  this.timeout(30_000);
  let tmp: string;
  let port: number;
  let sock: RawMllpSocket | null = null;
  const got: Record<string, Msg[]> = {};

  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pfi-ack-'));
    port = await freePort();
    await new Promise<void>((resolve) => helper.startServer(resolve));
    await helper.load(NODES, [
      { id: 'st', type: 'ins-store', name: '', engine: 'sqlite', file: path.join(tmp, 'store.db') },
      { id: 'in', type: 'mllp-in', port, host: '127.0.0.1', autoAck: false, wires: [['pa']] },
      { id: 'pa', type: 'pfi-ack', store: 'st', wires: [['journey'], ['resp', 'acks']] },
      { id: 'resp', type: 'mllp-response' },
      { id: 'journey', type: 'helper' },
      { id: 'acks', type: 'helper' },
      { id: 'c', type: 'catch', scope: ['pa'], uncaught: false, wires: [['err']] },
      { id: 'err', type: 'helper' },
    ]);
    for (const id of ['journey', 'acks', 'err']) {
      got[id] = [];
      helper.getNode(id).on('input', (m: Msg) => got[id].push(m));
    }
    // a document sent: archived, and its step 'sent' (as pdf-to-cda-n1 records it) under the MDM's control id
    await store().archiveDocument({
      id: DOC,
      setId: DOC,
      version: 1,
      typeCode: '11490-0',
      typeLabel: 'Lettre de liaison',
      title: 'LDL',
      effectiveTime: '2026-11-30T08:00:00+01:00',
      origin: 'produced',
      replaces: null,
      ippKey: null,
      patient: { ipp: null, ins: null, insQualified: false, birthName: 'X', firstNames: 'Y', firstName: 'Y', usedName: '', birthDate: '2000-01-01', sex: 'F' },
      author: null,
      cda: Buffer.from('<ClinicalDocument/>'),
      pdf: null,
    });
    await store().recordJourney({ documentId: DOC, step: 'sent', controlId: 'MDM0042', ok: true, detail: { carrier: 'MDM', event: 'MDM^T02' } });
  });
  afterEach(async () => {
    await sock?.close().catch(() => undefined);
    sock = null;
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function store(): IdentityStore {
    return helper.getNode('st').getStore() as IdentityStore;
  }

  async function connect(): Promise<RawMllpSocket> {
    const deadline = Date.now() + 3000;
    for (;;) {
      try {
        sock = await RawMllpSocket.connect(port);
        return sock;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await delay(20);
      }
    }
  }

  it('issue 14: a ZAM has one journal row (recorded, the AA given, the document); an ACK mllp out journaled gets no second row, one from elsewhere gets its own', async () => {
    const s = await connect();
    assert.equal(parseAck(await s.request(zam({ event: 'Z01' }, 'ZAM-J1'))).code, 'AA');
    const [row] = (await store().searchJournal({ controlId: 'ZAM-J1' })).entries;
    assert.deepEqual([row.node.type, row.direction, row.type, row.event, row.outcome, row.ack?.code, row.keys.documentId], ['pfi-ack', 'in', 'ZAM', 'Z01', 'recorded', 'AA', DOC]);
    const rows = (await store().journalSize()).rows;
    helper.getNode('pa').receive({ payload: 'MSH|...', ack: { code: 'AA', controlId: 'MDM0042', text: '' }, journalId: 999 });
    await until(() => got.journey.length === 2, 'the ACK step');
    assert.equal((await store().journalSize()).rows, rows, 'the exchange is in mllp-out\'s row');
    helper.getNode('pa').receive({ payload: 'MSH|...', ack: { code: 'AE', controlId: 'MDM0042', text: 'no' } });
    await until(() => got.journey.length === 3, 'the second ACK step');
    const [ack] = (await store().searchJournal({ type: 'ACK' })).entries;
    assert.deepEqual([ack.outcome, ack.ack?.code, ack.controlId], ['recorded', 'AE', 'MDM0042']);
  });

  it('records the technical ACK of mllp out, then a Z01 and a Z02 sent through MLLP: the journey read from the archive', async () => {
    // the msg mllp out passes on once the PFI acknowledged the MDM
    helper.getNode('pa').receive({ payload: 'MSH|...', ack: { code: 'AA', controlId: 'MDM0042', text: '' }, transmission: { controlId: 'MDM0042' } });
    await until(() => got.journey.length === 1, 'the ACK step');
    assert.deepEqual({ ...got.journey[0].journey, at: undefined }, { step: 'ack', ok: true, controlId: 'MDM0042', documents: [DOC], at: undefined });

    const s = await connect();
    const z01 = parseAck(await s.request(zam({ event: 'Z01' }, 'ZAM01')));
    assert.equal(z01.code, 'AA');
    assert.equal(z01.controlId, 'ZAM01');
    const z02Text = await s.request(zam({ event: 'Z02', party: { address: 'adam.hoda@medecin.mssante.fr', id: '801234567897' } }, 'ZAM02'));
    const z02 = parseHl7(z02Text);
    assert.equal(z02.segment('MSA')?.value(1), 'AA');
    assert.equal(z02.segments[0].raw(9), 'ACK^Z02^ACK', 'volet 2.1: "ACK^Z01^ACK ou ACK^Z02^ACK ou ACK^Z03^ACK"');
    assert.equal(z02.segments[0].value(17), 'FRA');

    const journey = await store().journey(DOC);
    assert.deepEqual(
      journey.map((j) => [j.step, j.controlId, j.ok]),
      [
        ['sent', 'MDM0042', true],
        ['ack', 'MDM0042', true],
        ['dmp-received', 'MDM0042', true],
        ['mssante-received', 'MDM0042', true],
      ],
    );
    assert.deepEqual(journey[3].detail.party, { role: 'DESTINATAIRE_MSS', address: 'adam.hoda@medecin.mssante.fr', id: '801234567897' });
    assert.equal(journey[2].detail.event, 'ZAM^Z01');
    await until(() => got.journey.length === 3, 'two ZAM steps on output 1');
    assert.deepEqual(got.journey[2].journey.documents, [DOC]);
    assert.equal(got.journey[2].zam.event, 'Z02');
    assert.equal(got.err.length, 0);
  });

  it('an N status is recorded (ok false, with its error) and acknowledged AA; a Z03 names the reader', async () => {
    const s = await connect();
    const nack = parseAck(await s.request(zam({ event: 'Z01', ok: false, error: { code: 'DMPClosed', text: 'DMP fermé' } }, 'ZAM11')));
    assert.equal(nack.code, 'AA', 'business information: the message itself is fine');
    const read = parseAck(await s.request(zam({ event: 'Z03', party: { address: 'lecteur@medecin.mssante.fr' } }, 'ZAM12')));
    assert.equal(read.code, 'AA');
    const journey = await store().journey(DOC);
    const dmp = journey.find((j) => j.step === 'dmp-received');
    assert.equal(dmp?.ok, false);
    assert.equal((dmp?.detail.errors as Msg[])[0].application.code, 'DMPClosed');
    assert.equal((journey.find((j) => j.step === 'mssante-read')?.detail.party as Msg).address, 'lecteur@medecin.mssante.fr');
  });

  it('a message that is not a ZAM the volet defines: AE with the table code, a Catch-able error, nothing recorded', async () => {
    const s = await connect();
    const noId = zam({ event: 'Z01' }, 'ZAM21').replace('|MDM0042|', '||');
    const ae = parseAck(await s.request(noId));
    assert.equal(ae.code, 'AE');
    assert.deepEqual(ae.errors.map((e) => [e.code, e.location]), [['101', 'OBX^1^4']]);
    const z09 = parseAck(await s.request(zam({ event: 'Z01' }, 'ZAM22').replace('ZAM^Z01^ZAM_Z01', 'ZAM^Z09^ZAM_Z01')));
    assert.equal(z09.code, 'AE');
    assert.equal(z09.errors[0].code, '201');
    await until(() => got.err.length === 2, 'two Catch-able errors');
    assert.deepEqual(
      got.err.map((m) => m.error.code),
      ['MISSING_CONTROL_ID', 'UNSUPPORTED_EVENT'],
    );
    assert.deepEqual((await store().journey(DOC)).map((j) => j.step), ['sent']);
  });

  it('a ZAM about a message this DPI never sent: acknowledged AA, a warning, documents empty', async () => {
    const s = await connect();
    const ack = parseAck(await s.request(zam({ event: 'Z01', messageControlId: 'UNKNOWN9' }, 'ZAM31')));
    assert.equal(ack.code, 'AA');
    await until(() => got.journey.length === 1, 'output 1');
    assert.deepEqual(got.journey[0].journey.documents, []);
  });

  it('issue 12: no store configured — a red status from the deploy, the ZAM answered AR 207 (the PFI sends it again), a Catch-able error saying so', async () => {
    await helper.unload();
    await helper.load(NODES, [
      { id: 'pa', type: 'pfi-ack', store: '', wires: [['journey'], ['acks']] },
      { id: 'journey', type: 'helper' },
      { id: 'acks', type: 'helper' },
      { id: 'c', type: 'catch', scope: ['pa'], uncaught: false, wires: [['err']] },
      { id: 'err', type: 'helper' },
    ]);
    for (const id of ['journey', 'acks', 'err']) {
      got[id] = [];
      helper.getNode(id).on('input', (m: Msg) => got[id].push(m));
    }
    const pa = helper.getNode('pa');
    assert.deepEqual(statusesOf(pa)[0], { fill: 'red', shape: 'ring', text: 'no identity store' });
    pa.receive({ payload: zam({ event: 'Z01' }, 'ZAM41') });
    await until(() => got.acks.length === 1 && got.err.length === 1, 'the ACK and the error');
    const ar = parseAck(got.acks[0].payload);
    assert.equal(ar.code, 'AR');
    assert.equal(ar.errors[0].code, '207');
    assert.equal(got.err[0].error.code, 'STORE');
    assert.match(got.err[0].error.message, /no identity store is configured: select an ins store in the node; nothing recorded/);
    assert.equal(got.journey.length, 0);
    assert.equal(statusesOf(pa).at(-1)?.fill, 'red', 'still red');
  });
});
