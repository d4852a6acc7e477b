// The MLLP benchmark's baseline, run as its own process (like Node-RED): a bare node:net MLLP server,
// no Node-RED, acknowledging every message with an ACK built by string concatenation from MSH-10.
// Prints "listening <port>" on stdout once ready; stops on SIGINT / SIGTERM / stdin end.
import * as net from 'node:net';
import { MllpDecoder, encodeFrame } from '../lib/mllp/framing';

function controlIdOf(msg: string): string {
  const end = msg.indexOf('\r');
  return (end < 0 ? msg : msg.slice(0, end)).split('|')[9] ?? '';
}

const sockets = new Set<net.Socket>();
const server = net.createServer((sock) => {
  sockets.add(sock);
  sock.setNoDelay(true);
  const decoder = new MllpDecoder();
  decoder.on('frame', (buf) => {
    const id = controlIdOf(buf.toString('utf8'));
    const ts = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    sock.write(encodeFrame(`MSH|^~\\&|DPI|HOSP|BENCH_APP|BENCH_FAC|${ts}||ACK^A01^ACK|ACK${id}|P|2.5\rMSA|AA|${id}\r`));
  });
  sock.on('data', (c: Buffer) => decoder.push(c));
  sock.on('error', () => undefined);
  sock.on('close', () => sockets.delete(sock));
});

function stop(): void {
  for (const s of sockets) s.destroy();
  server.close(() => process.exit(0));
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();

server.listen(Number(process.argv[2]) || 0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as net.AddressInfo).port}\n`);
});
