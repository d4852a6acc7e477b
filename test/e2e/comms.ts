// Reads what the editor's debug pane would show: the admin websocket (/comms), topic "debug" — after
// authenticating with the harness's login token, as the editor does.
import WebSocket from 'ws';
import { adminToken } from './harness';

export interface DebugMessage {
  /** id of the debug node */
  id: string;
  name?: string;
  property?: string;
  format?: string;
  /** the value shown, as Node-RED serialises it for the editor */
  msg: string;
}

export class DebugPane {
  readonly messages: DebugMessage[] = [];
  private constructor(private readonly ws: WebSocket) {}

  static open(port: number, token = adminToken(port)): Promise<DebugPane> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/comms`);
      const pane = new DebugPane(ws);
      const subscribe = () => {
        ws.send(JSON.stringify({ subscribe: 'debug' }));
        resolve(pane);
      };
      ws.on('message', (data) => {
        let batch: unknown;
        try {
          batch = JSON.parse(data.toString());
        } catch {
          return;
        }
        for (const m of Array.isArray(batch) ? batch : [batch]) {
          const { topic, data: d, auth } = m as { topic?: string; data?: DebugMessage; auth?: string };
          if (auth === 'ok') subscribe();
          else if (auth === 'fail') reject(new Error('debug websocket: authentication failed'));
          if (topic === 'debug' && d) pane.messages.push(d);
        }
      });
      ws.once('open', () => {
        if (token) ws.send(JSON.stringify({ auth: token }));
        else subscribe();
      });
      ws.once('error', reject);
    });
  }

  /** Resolves with the first debug message (already received or to come) that matches. */
  async waitFor(match: (m: DebugMessage) => boolean, timeoutMs = 10_000): Promise<DebugMessage> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (Date.now() > until) {
        throw new Error(`no matching debug message within ${timeoutMs} ms; seen: ${JSON.stringify(this.messages.slice(-5))}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  close(): void {
    this.ws.close();
  }
}
