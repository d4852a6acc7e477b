// mllp-response: writes msg.payload (usually an HL7 acknowledgement), MLLP-framed, back to the
// connection an mllp-in message came from (msg.mllp.connectionId).
import type { Node, NodeAPI, NodeDef, NodeMessage } from '../shared/red';
import { debugLogging } from '../shared/logging';
import { ThrottledStatus } from '../shared/status';
import { clock, payloadBytes } from '../shared/util';
import { connections } from '../../lib/mllp';

export = function (RED: NodeAPI) {
  function MllpResponseNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    // per message: the status shown a few times a second, a debug line only when debug is logged
    const status = new ThrottledStatus(node);
    const debug = debugLogging(RED);

    node.on('input', (msg: NodeMessage, _send, done) => {
      const meta = msg.mllp as { connectionId?: unknown } | undefined;
      const id = meta && typeof meta.connectionId === 'string' ? meta.connectionId : '';
      const failed = (text: string) => {
        status.set(() => ({ fill: 'red', shape: 'ring', text: `${text} · ${clock()}` }));
      };
      if (!id) {
        failed(RED._('mllp-response.status.no-connection'));
        done(new Error(RED._('mllp-response.errors.no-connection-id')));
        return;
      }
      const conn = connections.get(id);
      if (!conn || !conn.open) {
        failed(RED._('mllp-response.status.gone'));
        done(new Error(RED._('mllp-response.errors.connection-gone', { id })));
        return;
      }
      const bytes = payloadBytes(msg.payload);
      if (!bytes) {
        failed(RED._('mllp-response.status.bad-payload'));
        done(new Error(RED._('mllp-response.errors.bad-payload', { type: typeof msg.payload })));
        return;
      }
      conn.send(bytes).then(
        () => {
          if (debug) node.debug(`mllp-response: ${bytes.length} bytes to connection ${id}`);
          status.set(() => ({ fill: 'green', shape: 'dot', text: RED._('mllp-response.status.sent', { time: clock() }) }));
          done();
        },
        (err: Error) => {
          failed(RED._('mllp-response.status.error'));
          done(new Error(RED._('mllp-response.errors.write', { id, error: err.message })));
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      status.stop({});
      done();
    });
  }

  RED.nodes.registerType('mllp-response', MllpResponseNode);
};
