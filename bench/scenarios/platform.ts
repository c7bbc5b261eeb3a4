/**
 * The `platform` scenario (issue 24): what a WeChat Open Platform component costs the broker.
 * - Pushes per second the event route verifies (WXBizMsgCrypt signature, AES-256-CBC, receiver id,
 *   replay window) and stores, on a tokenServer process over the emulator, beside the same number of
 *   forged pushes (refused 401 before decrypting: what an attacker can make it spend) and beside a
 *   hello-world function answering the same POSTs, all sent by this process at the same concurrency.
 *   Pushes go round-robin to COMPONENTS component secrets (WeChat pushes one per component every 10
 *   minutes; one document for all would measure the emulator's lock waits instead).
 * - Firestore reads and writes per push, counted in-process on the real handler and runtime through
 *   a counting Store (bench/counting-store.ts) over the same emulator.
 * - The freshness scan of the scheduled run over N component secrets with fresh tickets (the cost
 *   paid every minute): its time and reads.
 * Then issue 24's authorizers and sync and issue 26's tenants (platform-parts.ts: AUTHORIZER_ROWS).
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../functions/config';
import { createHandler } from '../../functions/http/app';
import { fullRoutes } from '../../functions/http/routes';
import { encryptMessage, msgSignature } from '../../functions/platforms/wxbizmsgcrypt';
import { scanTicketFreshness } from '../../functions/platforms/ticket-freshness';
import { createRuntime } from '../../functions/runtime';
import { freshState } from '../../functions/token/decide';
import { ticketRealm } from '../../test/fakes/tickets';
import { callHandler } from '../../test/helpers/fake-express';
import { registerSecret } from '../../test/helpers/leak-registry';
import { repoRoot, startFunction } from '../../test/helpers/processes';
import { CountingStore } from '../counting-store';
import { partsRows, platformParts, type PlatformOptions, type PlatformParts } from './platform-parts';
import { fmt, row, type Row } from '../report';
import type { Stack } from '../stack';
import { round } from '../stats';

const COMPONENTS = 20;
const PUSHES = 600;
const CONCURRENCY = 10;
const SCAN_SIZES = [10, 100, 500];
/** Nothing here calls the provider (fresh tickets, no token requests): a closed port. */
const NO_PROVIDER = 'http://127.0.0.1:9';

export interface Throughput {
  requests: number;
  seconds: number;
  perSecond: number;
  /** Answers other than the expected status. */
  unexpected: number;
}

export interface PlatformResult {
  components: number;
  concurrency: number;
  verified: Throughput;
  forged: Throughput;
  hello: Throughput;
  perPush: { pushes: number; reads: number; writes: number; transactions: number; error?: string };
  scans: Array<{ secrets: number; ms: number; reads: number; writes: number }>;
  loadAverage1m: number;
  /** Issue 24's and 26's rows (platform-parts.ts). */
  parts?: PlatformParts;
}

export interface Account {
  appid: string;
  secret: string;
  token: string;
  aesKey: string;
}

function account(): Account {
  const a = {
    appid: `wxbench${randomBytes(5).toString('hex')}`,
    secret: `benchsecret-${randomBytes(12).toString('hex')}`,
    token: `benchtoken${randomBytes(8).toString('hex')}`,
    aesKey: randomBytes(32).toString('base64').slice(0, 43),
  };
  registerSecret(a.secret, 'credential', 'bench platform');
  registerSecret(a.token, 'message key', 'bench platform');
  registerSecret(a.aesKey, 'message key', 'bench platform');
  return a;
}

/** A component_verify_ticket push as WeChat sends it: the path's query and the XML body. */
export function push(a: Account, createTime: number, forged = false): { query: string; body: string } {
  const ticket = `ticket@@@${randomBytes(24).toString('base64url')}`;
  const message =
    `<xml><AppId><![CDATA[${a.appid}]]></AppId><CreateTime>${createTime}</CreateTime>` +
    `<InfoType><![CDATA[component_verify_ticket]]></InfoType>` +
    `<ComponentVerifyTicket><![CDATA[${ticket}]]></ComponentVerifyTicket></xml>`;
  const encrypt = encryptMessage(a.aesKey, message, a.appid);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomBytes(6).toString('hex');
  const signature = msgSignature(forged ? 'not-the-token' : a.token, timestamp, nonce, encrypt);
  const query = new URLSearchParams({ timestamp, nonce, encrypt_type: 'aes', msg_signature: signature });
  return {
    query: query.toString(),
    body: `<xml><AppId><![CDATA[${a.appid}]]></AppId><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`,
  };
}

async function blast(requests: Array<{ url: string; body: string }>, expected: number): Promise<Throughput> {
  let next = 0;
  let unexpected = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < requests.length; i = next++) {
        const r = requests[i];
        if (r === undefined) break;
        const res = await fetch(r.url, {
          method: 'POST',
          body: r.body,
          headers: { 'content-type': 'text/xml' },
        });
        await res.arrayBuffer();
        if (res.status !== expected) unexpected++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    requests: requests.length,
    seconds: round(seconds, 2),
    perSecond: round(requests.length / seconds, 0),
    unexpected,
  };
}

export async function platform(stack: Stack, options: PlatformOptions = {}): Promise<PlatformResult> {
  const pushes = await pushesAndScans(stack);
  return { ...pushes, parts: await platformParts(stack, options) };
}

async function pushesAndScans(stack: Stack): Promise<PlatformResult> {
  const realm = `bench-component-${Date.now().toString(36)}`;
  const now = Date.now();
  const config = ticketRealm('wechat_component', NO_PROVIDER);
  await stack.store.putRealm({ id: realm, comment: '', config, createdAt: now, updatedAt: now });
  const accounts = Array.from({ length: COMPONENTS }, account);
  const keyOf = (i: number) => `c${String(i).padStart(5, '0')}`;
  const putComponent = async (key: string, a: Account): Promise<void> => {
    const at = Date.now();
    await stack.store.putSecret(
      {
        realm,
        key,
        values: { key_1: a.appid, key_2: a.secret, key_3: a.token, key_4: a.aesKey },
        rev: `rev-${key}`,
        createdAt: at,
        updatedAt: at,
      },
      (current) => freshState(realm, key, `rev-${key}`, current),
    );
  };
  await Promise.all(accounts.map((a, i) => putComponent(keyOf(i), a)));

  const [fn, hello] = await Promise.all([
    startFunction({ target: 'tokenServer', env: stack.env.env }),
    startFunction({ target: 'hello', source: join(repoRoot(), 'lib', 'bench', 'hello'), env: stack.env.env }),
  ]);
  try {
    const t0 = Math.floor(Date.now() / 1000) - 60;
    const pushes = (forged: boolean) =>
      Array.from({ length: PUSHES }, (_, i) => {
        const c = i % COMPONENTS;
        const p = push(accounts[c] as Account, t0 + i, forged);
        return { url: `${fn.url}/events/${realm}/${keyOf(c)}?${p.query}`, body: p.body };
      });
    // Warm: the receivers' cache and the Firestore client.
    await blast(pushes(false).slice(0, COMPONENTS), 200);
    const verified = await blast(pushes(false), 200);
    const forged = await blast(pushes(true), 401);
    const sample = pushes(false)[0]?.body ?? '';
    const helloRun = await blast(
      Array.from({ length: PUSHES }, () => ({ url: `${hello.url}/`, body: sample })),
      200,
    );

    // Reads and writes per stored push, in-process on the real handler.
    const counting = new CountingStore(stack.store);
    const runtime = await createRuntime(parseConfig(stack.env.env));
    runtime.store = counting; // after createOps hooked the runtime's own store: the route reads through this one
    const handler = createHandler({
      name: 'tokenServer',
      routes: fullRoutes(),
      runtime: async () => runtime,
    });
    const t1 = t0 + PUSHES + 1; // newer than every ticket the throughput run stored (else: older, no write)
    const send = async (i: number) => {
      const p = push(accounts[0] as Account, t1 + i);
      const res = await callHandler(handler, {
        method: 'POST',
        url: `/events/${realm}/${keyOf(0)}?${p.query}`,
        headers: { 'content-type': 'text/xml' },
        body: p.body,
      });
      if (res.text !== 'success') throw new Error(`the event route answered ${res.status}: ${res.text}`);
    };
    let perPush: PlatformResult['perPush'];
    try {
      await send(0); // warm the receivers' cache
      counting.take();
      const counted = 20;
      for (let i = 1; i <= counted; i++) await send(i);
      const c = counting.take();
      perPush = {
        pushes: counted,
        reads: round(c.reads / counted, 2),
        writes: round(c.writes / counted, 2),
        transactions: round(c.transactions / counted, 2),
      };
    } catch (err) {
      // A refused push (the route answered other than `success`) is reported in the table, not hidden.
      perPush = { pushes: 0, reads: NaN, writes: NaN, transactions: NaN, error: String(err) };
    }

    // The freshness scan over N component secrets whose tickets are fresh.
    const scans: PlatformResult['scans'] = [];
    let made = COMPONENTS;
    for (const size of SCAN_SIZES) {
      const extra: Promise<void>[] = [];
      for (; made < size; made++)
        extra.push(putComponent(keyOf(made), accounts[made % COMPONENTS] as Account));
      await Promise.all(extra);
      counting.take();
      const started = process.hrtime.bigint();
      const summary = await scanTicketFreshness({ store: counting, allowPrivate: true });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const sc = counting.take();
      // Secrets of other realms are not listed; only this realm's components (plus earlier runs' none).
      scans.push({ secrets: summary.scanned, ms: round(ms, 0), reads: sc.reads, writes: sc.writes });
    }
    return {
      components: COMPONENTS,
      concurrency: CONCURRENCY,
      verified,
      forged,
      hello: helloRun,
      perPush,
      scans,
      loadAverage1m: round(loadavg()[0] ?? 0, 1),
    };
  } finally {
    await Promise.all([fn.stop(), hello.stop()]);
  }
}

/** Issue 24's authorizer and sync rows and issue 26's tenant rows (platform-parts.ts). */
const AUTHORIZER_ROWS: (r: PlatformResult) => Row[] = (r) =>
  r.parts === undefined ? [] : partsRows(r.parts);

export function platformRows(r: PlatformResult): Row[] {
  const s = `10 platform (WeChat Open Platform component; ${r.components} components, ${r.concurrency} concurrent, load ${r.loadAverage1m})`;
  const tp = (t: Throughput) =>
    `${fmt(t.perSecond)}/s (${fmt(t.requests)} in ${t.seconds} s${t.unexpected > 0 ? `, ${fmt(t.unexpected)} unexpected` : ''})`;
  return [
    row(
      s,
      'pushes verified, decrypted and stored per second',
      tp(r.verified),
      `hello world: ${tp(r.hello)}`,
      'WeChat sends 1 per component per 10 min',
      r.verified.unexpected === 0,
    ),
    row(
      s,
      'forged pushes refused (401) per second',
      tp(r.forged),
      `hello world: ${tp(r.hello)}`,
      'no Firestore write, no upstream call',
      r.forged.unexpected === 0,
    ),
    row(
      s,
      'Firestore per stored push',
      r.perPush.error === undefined
        ? `${r.perPush.reads} reads / ${r.perPush.writes} writes / ${r.perPush.transactions} transactions`
        : `not measured: ${r.perPush.error.slice(0, 80)}`,
      `${r.perPush.pushes} pushes, in-process, counting store`,
      '1 transaction (read + write) per new ticket',
      'info',
    ),
    ...r.scans.map((sc) =>
      row(
        s,
        `freshness scan over ${fmt(sc.secrets)} component secrets (fresh tickets)`,
        `${fmt(sc.ms)} ms, ${fmt(sc.reads)} reads, ${fmt(sc.writes)} writes`,
        `${round(sc.reads / Math.max(1, sc.secrets), 2)} reads per secret`,
        '≈ 2 reads per secret, no write',
        sc.writes === 0,
      ),
    ),
    ...AUTHORIZER_ROWS(r),
  ];
}
