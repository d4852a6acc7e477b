// The MLLP flows used by the end-to-end test and the benchmark (mllp-in → function → mllp-response).
import { FlowNode } from './harness';
import { RawMllpSocket, delay } from '../support/mllp';

/** Function node body: an AA acknowledgement built from msg.hl7 only (no codec). */
export const ACK_FUNCTION = `
const h = msg.hl7;
const ts = new Date().toISOString().replace(/\\D/g, '').slice(0, 14);
msg.payload = [
  ['MSH', '^~\\\\&', h.receivingApplication, h.receivingFacility, h.sendingApplication, h.sendingFacility,
   ts, '', 'ACK^' + h.event + '^ACK', 'ACK' + h.controlId, h.processingId || 'P', h.version].join('|'),
  'MSA|AA|' + h.controlId,
].join('\\r') + '\\r';
return msg;
`;

/** The e2e / bench flow: mllp-in (port) → function → mllp-response. */
export function ackFlow(mllpPort: number, opts: { autoAck?: boolean } = {}): FlowNode[] {
  return [
    { id: 'e2e-tab', type: 'tab', label: 'MLLP e2e' },
    {
      id: 'e2e-in',
      z: 'e2e-tab',
      type: 'mllp-in',
      name: '',
      port: mllpPort,
      host: '127.0.0.1',
      tls: '',
      maxSize: 10,
      maxSizeUnit: 'MiB',
      autoAck: opts.autoAck === true,
      wires: opts.autoAck ? [[]] : [['e2e-fn']],
    },
    {
      id: 'e2e-fn',
      z: 'e2e-tab',
      type: 'function',
      name: 'build ACK',
      func: ACK_FUNCTION,
      outputs: 1,
      noerr: 0,
      initialize: '',
      finalize: '',
      libs: [],
      wires: [['e2e-resp']],
    },
    { id: 'e2e-resp', z: 'e2e-tab', type: 'mllp-response', name: '', wires: [] },
  ];
}

/** Connects, retrying while the listener starts. */
export async function connectRetry(port: number, timeoutMs = 5000): Promise<RawMllpSocket> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await RawMllpSocket.connect(port);
    } catch (err) {
      if (Date.now() > until) throw err;
      await delay(25);
    }
  }
}
