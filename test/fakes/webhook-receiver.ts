/**
 * A webhook receiver on 127.0.0.1, as a customer would write one: it checks every delivery's
 * `Token-Server-Signature` itself (HMAC-SHA256 of `t + "." + body` under the webhook's secret, with
 * node:crypto, not the server's code), dedupes by event id, and counts. It can be down (answers 503),
 * or hang (holds requests without answering) to leave a delivery unfinished.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { recordWebhookDelivery } from '../helpers/leak-registry';

export interface ReceivedEvent {
  id: string;
  type: string;
  created_at: string;
  data: Record<string, unknown>;
}

export interface WebhookReceiver {
  readonly url: string;
  /** The signing secret deliveries are checked with (set once the webhook is created). */
  secret: string;
  mode: 'up' | 'down' | 'hang';
  /** Deliveries answered 2xx (acknowledged), in order, duplicates included. */
  readonly acked: ReceivedEvent[];
  /** Every delivery that arrived, whatever it was answered. */
  readonly arrived: ReceivedEvent[];
  /** Deliveries whose signature did not verify (never acknowledged). */
  readonly badSignatures: number;
  /** Acknowledged events by id, each once. */
  unique(): Map<string, ReceivedEvent>;
  close(): Promise<void>;
}

function verify(secret: string, header: string | undefined, body: string, nowMs: number): boolean {
  const parts = new Map((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = parts.get('t');
  const v1 = parts.get('v1');
  if (t === undefined || v1 === undefined || !/^\d+$/.test(t) || !/^[0-9a-f]{64}$/.test(v1)) return false;
  if (Math.abs(nowMs / 1000 - Number(t)) > 300) return false; // a replay window, as Stripe's
  const want = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(want, Buffer.from(v1, 'hex'));
}

/** `now`: the receiver's clock for the replay window (a test's fake clock; default the real one). */
export async function startWebhookReceiver(now: () => number = Date.now): Promise<WebhookReceiver> {
  const acked: ReceivedEvent[] = [];
  const arrived: ReceivedEvent[] = [];
  const held = new Set<http.ServerResponse>();
  let bad = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      recordWebhookDelivery(body);
      const event = JSON.parse(body) as ReceivedEvent;
      arrived.push(event);
      if (receiver.mode === 'hang') {
        held.add(res);
        return;
      }
      if (receiver.mode === 'down') {
        res.writeHead(503).end();
        return;
      }
      if (
        !verify(receiver.secret, req.headers['token-server-signature'] as string | undefined, body, now())
      ) {
        bad++;
        res.writeHead(400).end();
        return;
      }
      acked.push(event);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hook`,
    secret: '',
    mode: 'up',
    acked,
    arrived,
    get badSignatures() {
      return bad;
    },
    unique: () => new Map(acked.map((e) => [e.id, e])),
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}
