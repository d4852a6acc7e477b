// MLLP round-trip benchmark: messages/s and latency of mllp-in → function (ACK built from msg.hl7) →
// mllp-response in a real Node-RED runtime (started with the e2e harness), against a baseline measured
// in the same run: a bare node:net MLLP server (no Node-RED) answering the same messages.
//
// Each scenario sends the messages in HL7 original mode (one message in flight per connection: the next
// one is written when the ACK of the previous one is back), over 1 connection, then 10 concurrent ones.
// MLLP_BENCH_MESSAGES overrides the number of messages per scenario (default 5,000).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { BenchTable, percentile } from './table';
import { NodeRed, getFreePort } from '../test/e2e/harness';
import { ackFlow } from '../test/e2e/mllp-flows';
import { MllpClient } from '../lib/mllp/client';

interface Scenario {
  name: string;
  connections: number;
  port: number;
}

interface Result {
  msgsPerSecond: number;
  p50: number;
  p99: number;
}

/** A fictitious ADT^A01 of about 1 KB. */
function benchMessage(controlId: string): string {
  return (
    [
      `MSH|^~\\&|BENCH_APP|BENCH_FAC|DPI|HOSP|20240102030405||ADT^A01^ADT_A01|${controlId}|P|2.5|||||FRA|UNICODE UTF-8`,
      'EVN|A01|20240102030405|||USER01^DOE^JOHN',
      'PID|1||123456789^^^HOSP&1.2.250.1.71.4.2.2&ISO^PI~1234567890123^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS||TEST^PATIENT^^^^^L~TEST^PATIENT^^^^^D||19800101|F|||1 RUE DE LA PAIX^^PARIS^^75001^FRA^H||0102030405^PRN^PH',
      'PD1||||1234567890^MEDECIN^TRAITANT^^^DR',
      'NK1|1|TEST^CONTACT|SPO^Spouse^HL70063|2 RUE DE LA PAIX^^PARIS^^75001^FRA|0607080910',
      'PV1|1|I|CARDIO^101^1^HOSP||||1234567890^MEDECIN^ADMIN^^^DR|||CAR||||1|||1234567890^MEDECIN^ADMIN^^^DR|IN|V0001^^^HOSP^VN|||||||||||||||||||||||||20240102030405',
      'PV2|||^Douleur thoracique',
      'ZBE|MVT0001^HOSP|20240102030405||INSERT|N',
      'ZFP|1|2',
      'ZFV|75001^1|20240102030405',
    ].join('\r') + '\r'
  );
}

/** Starts the baseline server (bench/mllp-echo-server) as a child process. */
async function startBaseline(): Promise<{ port: number; close(): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(__dirname, 'mllp-echo-server.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`bench: the baseline MLLP server exited (code ${code})`)));
  });
  return {
    port,
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function measure(s: Scenario, total: number): Promise<Result> {
  const perConnection = Math.ceil(total / s.connections);
  const clients = Array.from({ length: s.connections }, () => new MllpClient({ host: '127.0.0.1', port: s.port, ackTimeoutMs: 10_000, maxRetries: 5, backoffBaseMs: 50 }));
  try {
    // warm-up (connections opened, JIT, Node-RED's first messages)
    await Promise.all(clients.map(async (c, i) => {
      for (let k = 0; k < Math.min(200, perConnection); k++) await c.send(benchMessage(`W${i}-${k}`));
    }));
    const latencies: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      clients.map(async (c, i) => {
        for (let k = 0; k < perConnection; k++) {
          const id = `B${i}-${k}`;
          const start = performance.now();
          const res = await c.send(benchMessage(id));
          latencies.push(performance.now() - start);
          if (!res.ack.includes(`MSA|AA|${id}\r`)) throw new Error(`bench: wrong ACK for ${id}`);
        }
      }),
    );
    const elapsed = performance.now() - t0;
    latencies.sort((a, b) => a - b);
    return { msgsPerSecond: (latencies.length * 1000) / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

export async function run(): Promise<BenchTable[]> {
  const total = Number(process.env.MLLP_BENCH_MESSAGES) || 5000;
  const baseline = await startBaseline();
  const mllpPort = await getFreePort();
  let red: NodeRed | null = null;
  const rows: (string | number)[][] = [];
  try {
    red = await NodeRed.start({ flows: ackFlow(mllpPort) });
    const add = (name: string, connections: number, r: Result) => rows.push([name, String(connections), r.msgsPerSecond, r.p50, r.p99]);
    for (const connections of [1, 10]) {
      add('bare node:net MLLP server (baseline)', connections, await measure({ name: 'baseline', connections, port: baseline.port }, total));
      add('Node-RED: mllp-in → function → mllp-response', connections, await measure({ name: 'flow', connections, port: mllpPort }, total));
    }
    // the same listener acknowledging by itself (auto-ACK, ACK built by the HL7 codec)
    await red.deploy(ackFlow(mllpPort, { autoAck: true }));
    for (const connections of [1, 10]) {
      add('Node-RED: mllp-in, auto-ACK', connections, await measure({ name: 'auto-ack', connections, port: mllpPort }, total));
    }
  } finally {
    await red?.stop();
    await baseline.close();
  }
  return [
    {
      title: 'MLLP round trip (HL7 original mode, ~1 KB ADT^A01, loopback)',
      columns: ['scenario', 'connections', 'msgs/s', 'p50 ms', 'p99 ms'],
      rows,
      notes: [
        `${total.toLocaleString('en-US')} messages per scenario after a warm-up, one message in flight per connection; latency = send → ACK received, measured by the pack's MllpClient.`,
        "Baseline: a bare node:net MLLP server (the pack's MLLP decoder, ACK built by string concatenation from MSH-10), in its own process like Node-RED (scripts/node-red.js); the client runs in the benchmark process.",
        `Node ${process.version}, ${process.platform}/${process.arch}.`,
      ],
    },
  ];
}
