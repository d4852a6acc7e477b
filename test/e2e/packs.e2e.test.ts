// The ready-made flow pack (flows/: the layer) and the examples (examples/) deploy together in a real
// Node-RED and work as shipped: the palette shows the pack's nodes, every MLLP listener answers, the
// examples' inject nodes produce the result their description promises. The layer pack end to end:
// layer.e2e.test.ts.
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { DebugPane } from './comms';
import { NodeRed, PROJECT_ROOT, getFreePort, type FlowNode } from './harness';
import { connectRetry } from './mllp-flows';
import { msaOf, sampleMessage } from '../support/mllp';
import { adtMessage, withWrongKey } from '../fixtures/adt';
import { mdmOf, receivedDocument } from '../fixtures/cda-received';
import { textPdf } from '../fixtures/pdf';
import { unzipAll } from '../fixtures/export-docs';
import { LEGACY_CDA_FIELDS } from '../../nodes/shared/establishment';
import { freeLayerPorts, layerDefaults, layerEnv, type LayerPorts } from './layer-pack';

function readFlows(dir: string): { file: string; nodes: FlowNode[] }[] {
  const full = path.join(PROJECT_ROOT, dir);
  return fs
    .readdirSync(full)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, nodes: JSON.parse(fs.readFileSync(path.join(full, file), 'utf8')) as FlowNode[] }));
}

/** Gives every MLLP port of the examples a free port (the shipped ones may be taken on a test machine). */
async function remapPorts(flows: FlowNode[]): Promise<Map<number, number>> {
  const map = new Map<number, number>();
  for (const n of flows) {
    if ((n.type === 'mllp-in' || n.type === 'mllp-out') && n.port !== undefined && n.port !== '') {
      const shipped = Number(n.port);
      if (!map.has(shipped)) map.set(shipped, await getFreePort());
      n.port = map.get(shipped);
    }
  }
  return map;
}

describe('e2e: flow packs and examples in a real Node-RED', function () {
  this.timeout(60_000);
  const packs = readFlows('flows');
  const examples = readFlows('examples');
  let red: NodeRed | null = null;
  let pane: DebugPane | null = null;
  let ports = new Map<number, number>();
  let layer: LayerPorts;

  before(async () => {
    ports = await remapPorts(examples.flatMap((f) => f.nodes));
    layer = await freeLayerPorts();
    // the layer's ports come from its environment variables (the pack itself is imported unchanged)
    red = await NodeRed.start({ flows: [...packs, ...examples].flatMap((f) => f.nodes), env: layerEnv(layer) });
    pane = await DebugPane.open(red.port);
  });
  after(async () => {
    pane?.close();
    await red?.stop();
  });

  it('ships the layer pack, and an example that uses each node of the pack', () => {
    assert.deepEqual(packs.map((p) => p.file), ['segur-dpi-layer.json'], 'one pack: the layer (the first three packs are tabs of it)');
    const types = new Set(examples.flatMap((e) => e.nodes.map((n) => n.type)));
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
    for (const t of Object.keys(pkg['node-red'].nodes)) assert.ok(types.has(t), `an example uses ${t}`);
    for (const e of [...packs, ...examples]) {
      const tabs = e.nodes.filter((n) => n.type === 'tab');
      if (examples.includes(e)) assert.equal(tabs.length, 1, `${e.file}: one tab`);
      for (const tab of tabs) assert.ok(String(tab.info ?? '').length > 40, `${e.file}: the tab "${tab.label}" says what the flow does`);
      // issue 12: every debug node shows the one-line msg.summary, in the sidebar and as its status
      for (const d of e.nodes.filter((n) => n.type === 'debug')) {
        assert.deepEqual([d.complete, d.targetType, d.tostatus, d.statusVal, d.statusType], ['summary', 'msg', true, 'summary', 'msg'], `${e.file}: ${d.id}`);
      }
      // issue 12: the establishment is set once, in a segur-establishment node, not typed again in each node
      for (const n of e.nodes.filter((x) => x.type === 'pdf-to-cda-n1' || x.type === 'portability-export')) {
        const est = e.nodes.find((x) => x.id === n.establishment);
        assert.equal(est?.type, 'segur-establishment', `${e.file}: ${n.type} selects a segur-establishment of its file`);
        const own = [...LEGACY_CDA_FIELDS, 'producerName', 'producerFiness', 'timeZone'].filter((f) => n[f] !== undefined && n[f] !== '');
        assert.deepEqual(own, [], `${e.file}: ${n.type} holds no establishment field of its own`);
      }
    }
  });

  it('the layer pack: one tab per function, every node named and described, one store, one establishment, one PSC client; every ${SEGUR_*} defined with a default', () => {
    const nodes = packs[0].nodes;
    assert.equal(new Set(nodes.map((n) => n.id)).size, nodes.length, 'every id once');
    assert.deepEqual(
      nodes.filter((n) => n.type === 'tab').map((n) => n.label),
      ['Ségur DPI · 1 · Identities (GAM → INS)', 'Ségur DPI · 2 · Documents produced (PDF → CDA → PFI)', 'Ségur DPI · 3 · Reports received (RIS / LIS → record)', 'Ségur DPI · 4 · Portability (export, ProSanté Connect)', 'Ségur DPI · 5 · Errors and status'],
    );
    for (const n of nodes.filter((x) => x.type !== 'tab' && x.type !== 'global-config')) {
      assert.ok(String(n.name ?? '').trim(), `${n.id} (${n.type}) is named`);
      assert.ok(String(n.info ?? '').length > 10, `${n.id} (${n.type}) has a description`);
    }
    for (const type of ['ins-store', 'segur-establishment', 'psc-config', 'global-config']) assert.equal(nodes.filter((n) => n.type === type).length, 1, `one ${type}`);
    // the debug nodes show the one-line summary (msg.summary), never a whole message
    for (const d of nodes.filter((n) => n.type === 'debug')) assert.deepEqual([d.complete, d.targetType, d.statusVal, d.statusType], ['summary', 'msg', 'summary', 'msg'], d.id);
    const defaults = layerDefaults(nodes);
    const used = new Set([...JSON.stringify(nodes).matchAll(/"\$\{(\w+)\}"/g)].map((m) => m[1]));
    for (const name of used) assert.ok(defaults.has(name), `\${${name}} is a global environment variable of the pack, with a default`);
    for (const [name, def] of defaults) assert.ok(name === 'SEGUR_DPI_INBOX' || name === 'SEGUR_STORE_FILE' || name === 'SEGUR_STORE_URL' || name.startsWith('SEGUR_PSC_') || def !== '', `${name}: a default a test machine can use`);
    assert.equal(defaults.get('SEGUR_BIND_ADDRESS'), '127.0.0.1', 'listeners on the loopback interface unless told otherwise');
  });

  it('loads every node of the pack in the palette, category "Ségur DPI", with help in English and French', async () => {
    const list = (await red!.request('GET', '/nodes', undefined, { accept: 'application/json' })).json<{ module: string; types: string[]; enabled: boolean; err?: string }[]>();
    const ours = list.filter((s) => s.module === 'node-red-contrib-segur-dpi');
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
    const declared = Object.keys(pkg['node-red'].nodes).sort();
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), declared);
    for (const s of ours) assert.ok(s.enabled && !s.err, `${s.types} loaded without error (${s.err ?? ''})`);
    for (const lang of ['en-US', 'fr']) {
      const html = (await red!.request('GET', '/nodes', undefined, { accept: 'text/html', 'accept-language': lang })).body;
      for (const t of declared) {
        assert.match(html, new RegExp(`registerType\\(\\s*['"]${t}['"]`), `${t} editor code`);
        assert.match(html, new RegExp(`data-help-name="${t}"`), `${t} help (${lang})`);
      }
      for (const t of declared) {
        const category = new RegExp(`registerType\\(\\s*['"]${t}['"]\\s*,\\s*\\{\\s*category:\\s*'([^']+)'`).exec(html)?.[1];
        assert.ok(category === 'Ségur DPI' || category === 'config', `${t}: category ${category}`);
      }
    }
    // the edit dialogs' shared script (resources/), which every node's editor file loads
    const html = (await red!.request('GET', '/nodes', undefined, { accept: 'text/html' })).body;
    assert.match(html, /<script src="resources\/node-red-contrib-segur-dpi\/segur-dpi-editor\.js"><\/script>/);
    const script = await red!.request('GET', '/resources/node-red-contrib-segur-dpi/segur-dpi-editor.js');
    assert.equal(script.status, 200, script.body);
    assert.match(script.body, /root\.SegurDpiEditor = /);
    // Import > Examples lists the module's examples
    const index = await red!.request('GET', '/library/examples/flows/node-red-contrib-segur-dpi', undefined, { accept: 'application/json' });
    assert.equal(index.status, 200, index.body);
    const listed = JSON.stringify(index.json());
    for (const e of examples) assert.ok(listed.includes(e.file.replace(/\.json$/, '')), `${e.file} is listed: ${listed}`);
  });

  it('the layer pack beside the examples: its identity listener stores a PAM FR A28 (AA), a wrong INS key gets AA with a warning, no IPP gets AE', async () => {
    const sock = await connectRetry(layer.gam);
    try {
      const ok = await sock.request(Buffer.from(adtMessage({ controlId: 'PACK-ADT-1' }), 'latin1'));
      assert.deepEqual(msaOf(ok), { code: 'AA', controlId: 'PACK-ADT-1' });
      // PAM FR §6.6.15: integrated without the INS, a warning at the INS repetition
      const warned = await sock.request(Buffer.from(adtMessage({ controlId: 'PACK-ADT-2', pid: { ins: withWrongKey('2850569123456') } }), 'latin1'));
      assert.deepEqual(msaOf(warned), { code: 'AA', controlId: 'PACK-ADT-2' });
      assert.match(warned, /\rERR\|\|PID\^1\^3\^2\|102\^[^|]*\|W\|/);
      const bad = await sock.request(Buffer.from(adtMessage({ controlId: 'PACK-ADT-3', pid: { ipp: null } }), 'latin1'));
      assert.deepEqual(msaOf(bad), { code: 'AE', controlId: 'PACK-ADT-3' });
    } finally {
      await sock.close();
    }
  });

  it('the layer pack beside the examples: its reports listener preselects the record of a locally qualified INS (AA), rejects a hostile report (AE)', async () => {
    const id = await connectRetry(layer.gam);
    try {
      assert.equal(msaOf(await id.request(Buffer.from(adtMessage({ controlId: 'PACK-RPT-ID' }), 'latin1'))).code, 'AA');
    } finally {
      await id.close();
    }
    const doc = await receivedDocument('CR-BIO', await textPdf());
    const sock = await connectRetry(layer.reports);
    try {
      assert.deepEqual(msaOf(await sock.request(mdmOf(doc, 'T02', 'PACK-RPT-1'), 10_000)), { code: 'AA', controlId: 'PACK-RPT-1' });
      const hostile = mdmOf(doc, 'T02', 'PACK-RPT-2').replace(/\^Base64\^[A-Za-z0-9+/=]{8}/, '^Base64^!!!!!!!!');
      assert.deepEqual(msaOf(await sock.request(hostile, 10_000)), { code: 'AE', controlId: 'PACK-RPT-2' });
    } finally {
      await sock.close();
    }
  });

  it('example "adt-to-ins": the qualified A28 gives AA and an identity, the wrong key AA without the INS, no IPP AE and an error', async () => {
    assert.equal((await red!.request('POST', '/inject/ex-adt-ok')).status, 200);
    // issue 12: the debug pane shows msg.summary, "A28 · IPP 000003 · INS qualifiée · AA"
    const patient = await pane!.waitFor((m) => m.id === 'ex-adt-patient');
    assert.equal(patient.property, 'summary');
    assert.match(patient.msg, /^A28 · IPP \S+ · INS qualifiée · AA$/);
    await pane!.waitFor((m) => m.id === 'ex-adt-ack' && /^A28 · IPP \S+ · INS qualifiée · AA$/.test(m.msg));
    assert.equal((await red!.request('POST', '/inject/ex-adt-warn')).status, 200);
    await pane!.waitFor((m) => m.id === 'ex-adt-patient' && /^A\d\d · IPP \S+ · INS non qualifiée\b.* · AA$/.test(m.msg));
    assert.equal((await red!.request('POST', '/inject/ex-adt-bad')).status, 200);
    await pane!.waitFor((m) => m.id === 'ex-adt-ack' && / · AE$/.test(m.msg));
    const error = await pane!.waitFor((m) => m.id === 'ex-adt-error');
    assert.match(error.msg, / · AE$/);
    assert.doesNotMatch(JSON.stringify(pane!.messages.filter((m) => m.id.startsWith('ex-adt-'))), /MARTIN|1985|2850569/, 'no patient data in the debug pane');
  });

  it('example "pdf-to-cda-n1": the PDF of the inject node becomes a CDA carrying the INS and an MDM^T02 of the volet Transmission 2.1 (msg.transmission)', async () => {
    assert.equal((await red!.request('POST', '/inject/ex-cda-inject')).status, 200);
    // issue 12: msg.summary — the CDA carrying the INS, archived; its MDM^T02 (new) for the PFI
    const cda = await pane!.waitFor((m) => m.id === 'ex-cda-doc', 20_000);
    assert.equal(cda.property, 'summary');
    assert.match(cda.msg, /^CDA 11490-0 v1 · IPP \S+ · INS qualifiée · archived$/);
    const sent = await pane!.waitFor((m) => m.id === 'ex-cda-mdm');
    assert.match(sent.msg, /^MDM\^T02 · MSH-10 \S+ · 11490-0 v1 · IPP \S+ · INS qualifiée$/);
    assert.equal(pane!.messages.filter((m) => m.id === 'ex-cda-error').length, 0, 'no error');
    // the code lists of its edit dialog
    const codes = await red!.request('GET', '/pdf-to-cda-n1/codes', undefined, { accept: 'application/json' });
    assert.equal(codes.status, 200, codes.body);
    const lists = codes.json<Record<string, { code: string }[]>>();
    assert.ok(lists.documentTypes.some((t) => t.code === 'LDL') && lists.facilityTypes.some((t) => t.code === 'SA01'));
  });

  it('example "cda-ingest": the CR-BIO goes to reconcile (no identity in the store), its ORU gets AE 207 / 902 (LPS volet), the hostile DOCTYPE is rejected (DTD)', async () => {
    assert.equal((await red!.request('POST', '/inject/ex-cdain-cda')).status, 200);
    // issue 12: msg.summary — where the document went, why, what the archive did, the ACK
    const rec = await pane!.waitFor((m) => m.id === 'ex-cdain-rec');
    assert.match(rec.msg, /^CDA · 11502-2 · to reconcile \(unknown-patient\) · archived( · AE)?$/);
    assert.doesNotMatch(rec.msg, /MARTIN|Paul|1985|185027505678953/, 'no patient data in the debug pane');
    assert.equal((await red!.request('POST', '/inject/ex-cdain-oru')).status, 200);
    const ack = await pane!.waitFor((m) => m.id === 'ex-cdain-ack');
    // kept for reconciliation: AE 207 with ERR-5 902, patient unknown; sent again: a duplicate
    assert.equal(ack.msg, 'ORU^R01 · MSH-10 EXORU0001 · 11502-2 · to reconcile (unknown-patient) · duplicate · AE');
    await pane!.waitFor((m) => m.id === 'ex-cdain-rec' && / · duplicate · AE$/.test(m.msg));
    assert.equal((await red!.request('POST', '/inject/ex-cdain-hostile')).status, 200);
    const rej = await pane!.waitFor((m) => m.id === 'ex-cdain-rej');
    assert.match(rej.msg, /^CDA · rejected \(DTD\)( · A[ER])?$/);
    assert.doesNotMatch(rej.msg, /root:|daemon:/, 'the external entity was never read');
    assert.equal(pane!.messages.filter((m) => m.id === 'ex-cdain-pre').length, 0);
  });

  it('example "portability-export": the whole establishment gives an archive in <userDir>/segur-dpi/exports; the test patient an archive or UNKNOWN_PATIENT', async () => {
    // every example shares one store (ins-store file ""): counts depend on what the other examples archived
    assert.equal((await red!.request('POST', '/inject/ex-pexp-all')).status, 200);
    const shown = await pane!.waitFor((m) => m.id === 'ex-pexp-export', 30_000);
    assert.equal(shown.property, 'summary');
    const [, exportId, documents] = /^EXPORT ([0-9a-f-]{36}) · all · [\d,]+ patients? · ([\d,]+) documents? · [\d,]+ bytes$/.exec(shown.msg) ?? [];
    assert.ok(exportId, shown.msg);
    const folder = path.join(red!.userDir, 'segur-dpi', 'exports');
    const [name, ...others] = fs.readdirSync(folder);
    assert.deepEqual(others, [], 'the archive only, no partial file');
    assert.match(name, /^export-690000001-all-\d{8}-\d{6}(-\d+)?\.zip$/);
    const manifest = JSON.parse(unzipAll(fs.readFileSync(path.join(folder, name))).get('manifest.json')!.toString('utf8'));
    assert.equal(manifest.export.exportId, exportId, 'the archive the summary names');
    assert.equal(manifest.documents.length, Number(documents.replace(/,/g, '')));
    assert.equal(manifest.export.depth.since, null, 'msg.everything: the whole history');
    assert.equal(manifest.export.types, '*', 'the whole history: every type (issue 12)');
    assert.doesNotMatch(shown.msg, /MARTIN/, 'no patient data in the debug pane');

    // the test patient: known when another example stored it (adt-to-ins, pdf-to-cda-n1), else UNKNOWN_PATIENT
    assert.equal((await red!.request('POST', '/inject/ex-pexp-patient')).status, 200);
    const next = await pane!.waitFor((m) => (m.id === 'ex-pexp-export' && m !== shown) || m.id === 'ex-pexp-error', 30_000);
    if (next.id === 'ex-pexp-export') {
      assert.match(next.msg, /^EXPORT [0-9a-f-]{36} · patient · 1 patient · [\d,]+ documents? · [\d,]+ bytes$/);
      const names = fs.readdirSync(folder).filter((n) => n !== name);
      assert.equal(names.length, 1);
      assert.match(names[0], /^export-690000001-patient-\d{8}-\d{6}(-\d+)?\.zip$/, 'no patient data in the file name');
    } else {
      assert.equal(next.msg, 'EXPORT · ERROR UNKNOWN_PATIENT');
    }
  });

  for (const [inject, debugId, file] of [
    ['ex-mllp-resp-inject', 'ex-mllp-resp-ack', 'mllp-response - the flow answers.json'],
    ['ex-mllp-out-inject', 'ex-mllp-out-ack', 'mllp-out - send and wait for the ACK.json'],
    ['ex-pfiack-inject', 'ex-pfiack-ack', 'pfi-ack - business acknowledgements.json'],
  ]) {
    it(`example "${file}": its inject node gets an AA back`, async () => {
      const res = await red!.request('POST', `/inject/${inject}`);
      assert.equal(res.status, 200);
      const shown = await pane!.waitFor((m) => m.id === debugId);
      // issue 12: msg.summary of mllp-out — the message sent, its control id, the ACK
      assert.match(shown.msg, /^\w+\^\w+ · MSH-10 EX000001 · AA · to 127\.0\.0\.1:\d+$/);
    });
  }

  it('example "psc-auth": the configuration loads on its defaults (PSC sandbox); an API call without a session gets 401 from output 2', async () => {
    assert.doesNotMatch(red!.output, /ProSanté Connect configuration unusable/);
    // without the harness's admin token: a bearer token psc-auth would check with PSC (503 offline)
    const res = await red!.request('GET', '/psc-example/hello', undefined, { accept: 'application/json', authorization: '' });
    assert.equal(res.status, 401);
    assert.match(res.body, /ProSanté Connect/);
  });

  it('the auto-ACK example answers on its port', async () => {
    const sock = await connectRetry(ports.get(2576)!);
    try {
      assert.deepEqual(msaOf(await sock.request(sampleMessage('EX-AUTO'))), { code: 'AA', controlId: 'EX-AUTO' });
    } finally {
      sock.close();
    }
  });
});
