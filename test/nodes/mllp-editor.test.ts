// The MLLP checks of the edit dialogs (resources/segur-dpi-editor.js, run here under Node): which mllp-in
// listeners would take the same port, the port a node dropped from the palette takes, and what mllp-out
// needs to send (issue 12). The same checks in the editor itself: test/e2e/editor-browser.e2e.test.ts.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const editor = require(path.resolve(__dirname, '..', '..', '..', 'resources', 'segur-dpi-editor.js'));
const ROOT = path.resolve(__dirname, '..', '..', '..');

type Listener = { id: string; host?: string; port: string | number; d?: boolean; z?: string };

describe('the MLLP checks of the edit dialogs (resources/segur-dpi-editor.js)', () => {
  it('ports: 1 to 65535, an environment variable is unknown (valid)', () => {
    for (const v of ['1', '2575', 65535, ' 2600 ', '${MLLP_PORT}']) assert.equal(editor.portProblem(v), '', String(v));
    assert.equal(editor.portProblem(''), 'no-port');
    assert.equal(editor.portProblem(undefined), 'no-port');
    for (const v of ['0', '65536', '25.5', 'abc', '-1', '2575x']) assert.equal(editor.portProblem(v), 'bad-port', String(v));
  });

  it('two listeners overlap on the same port with the same address, or when either listens on every interface', () => {
    const overlap = (a: Partial<Listener>, b: Partial<Listener>) => editor.listenersOverlap(a, b) as boolean;
    assert.equal(overlap({ host: '127.0.0.1', port: 2575 }, { host: '127.0.0.1', port: '2575' }), true);
    assert.equal(overlap({ host: '', port: 2575 }, { host: '127.0.0.1', port: 2575 }), true, 'empty is the runtime default, 127.0.0.1');
    assert.equal(overlap({ host: 'localhost', port: 2575 }, { host: '127.0.0.1', port: 2575 }), true);
    assert.equal(overlap({ host: '0.0.0.0', port: 2575 }, { host: '10.1.2.3', port: 2575 }), true, 'every interface takes the port on each');
    assert.equal(overlap({ host: '10.1.2.3', port: 2575 }, { host: '::', port: 2575 }), true);
    assert.equal(overlap({ host: '10.1.2.3', port: 2575 }, { host: '127.0.0.1', port: 2575 }), false, 'two addresses of the machine');
    assert.equal(overlap({ host: '127.0.0.1', port: 2575 }, { host: '127.0.0.1', port: 2576 }), false);
    assert.equal(overlap({ host: '127.0.0.1', port: '${MLLP_PORT}' }, { host: '127.0.0.1', port: 2575 }), false, 'unknown until deployed');
    assert.equal(overlap({ host: '${MLLP_HOST}', port: 2575 }, { host: '127.0.0.1', port: 2575 }), false);
  });

  it('the conflict names the other listener; disabled nodes and nodes of disabled flows do not listen', () => {
    const others: Listener[] = [
      { id: 'a', host: '127.0.0.1', port: 2575, z: 't1' },
      { id: 'b', host: '127.0.0.1', port: 2580, z: 't1', d: true },
      { id: 'c', host: '127.0.0.1', port: 2581, z: 'off' },
    ];
    const conflict = (n: Listener) => editor.listenerConflict(n, [...others, n], ['off']);
    assert.equal(conflict({ id: 'n', host: '127.0.0.1', port: 2575, z: 't2' })?.id, 'a');
    assert.equal(conflict({ id: 'n', host: '127.0.0.1', port: 2580, z: 't2' }), null, 'b is disabled');
    assert.equal(conflict({ id: 'n', host: '127.0.0.1', port: 2581, z: 't2' }), null, 'c is on a disabled flow');
    assert.equal(conflict({ id: 'n', host: '127.0.0.1', port: 2575, z: 't2', d: true }), null, 'n itself disabled');
    assert.equal(conflict({ id: 'a', host: '127.0.0.1', port: 2575, z: 't1' }), null, 'a node does not conflict with itself');
  });

  it('a node dropped from the palette takes the first port from its default that no other listener takes', () => {
    assert.equal(editor.freeListenerPort(2600, '127.0.0.1', []), 2600);
    assert.equal(editor.freeListenerPort(2600, '127.0.0.1', [{ id: 'a', host: '127.0.0.1', port: 2600 }, { id: 'b', host: '0.0.0.0', port: 2601 }]), 2602);
    assert.equal(editor.freeListenerPort(2600, '127.0.0.1', [{ id: 'a', host: '127.0.0.1', port: 2600, d: true }]), 2600, 'a disabled node');
  });

  it('issue 12: the default port of mllp-in is one that no shipped flow or example listens on', () => {
    const html = fs.readFileSync(path.join(ROOT, 'nodes', 'mllp-in', 'mllp-in.html'), 'utf8');
    const def = Number(/port:\s*\{\s*value:\s*(\d+)/.exec(html)?.[1]);
    assert.equal(def, 2600);
    const listeners: Listener[] = [];
    for (const dir of ['flows', 'examples']) {
      for (const f of fs.readdirSync(path.join(ROOT, dir)).filter((x) => x.endsWith('.json'))) {
        for (const n of JSON.parse(fs.readFileSync(path.join(ROOT, dir, f), 'utf8'))) if (n.type === 'mllp-in') listeners.push(n);
      }
    }
    assert.ok(listeners.length >= 3);
    const taken = listeners.filter((l) => editor.listenersOverlap({ host: '127.0.0.1', port: def }, l));
    assert.deepEqual(taken.map((l) => l.id), []);
    // and the shipped listeners do not take each other's ports (the packs and examples are deployed together)
    for (const l of listeners) assert.equal(editor.listenerConflict(l, listeners, [])?.id, undefined, `${l.id} :${l.port}`);
  });

  it('mllp-out needs a host and a port, unless they come from the message', () => {
    assert.equal(editor.senderHostProblem('', false), 'no-host');
    assert.equal(editor.senderHostProblem('  ', undefined), 'no-host');
    assert.equal(editor.senderHostProblem('', true), '');
    assert.equal(editor.senderHostProblem('pfi.example.fr', false), '');
    assert.equal(editor.senderPortProblem('', false), 'no-port');
    assert.equal(editor.senderPortProblem('', true), '');
    assert.equal(editor.senderPortProblem('99999', true), 'bad-port', 'a default given must still be a port');
    assert.equal(editor.senderPortProblem('${PFI_PORT}', false), '');
  });
});
