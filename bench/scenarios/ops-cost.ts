/**
 * Scenario `ops` (issue 25), what a webhook and an audit record cost: Firestore document reads,
 * writes and transactions per refresh and per admin change, with the audit log and webhooks on (as
 * deployed, one webhook subscribed to every event, its receiver up) and off (the same runtime with no
 * side writes: the cost before they existed), on the real tokenServer handler against the Firestore
 * emulator through the counting store (ops-counting.ts, the billing model of cost.ts). A changed
 * token state's webhook delivery (take the outbox entry, list the webhooks, POST, delete the entry)
 * is counted with the change that caused it. And hits, database and memory, with both on: they must
 * write nothing.
 */
import { WEBHOOK_EVENTS } from '../../functions/ops/webhooks/event-names';
import { callHandler, type FakeResponse } from '../../test/helpers/fake-express';
import { realmFor } from '../../test/fakes/providers';
import { startWebhookReceiver } from '../../test/fakes/webhook-receiver';
import type { Counts } from '../counting-store';
import { row, type Row } from '../report';
import { PRESET, type Stack } from '../stack';
import { round } from '../stats';
import { countedInstance, type CountedInstance } from './ops-counting';

export interface Cost {
  reads: number;
  writes: number;
  transactions: number;
  /** Calls per store method (ops.* for the ops store, sideWrites/tokenSideWrites for side writes). */
  calls: Record<string, number>;
}

export interface OpsCostRow {
  change: string;
  /** Requests the figures are of (per request when more than 1). */
  requests: number;
  off: Cost;
  on: Cost;
  /** on − off, per request. */
  added: { reads: number; writes: number; transactions: number };
  note: string;
}

export interface OpsCostResult {
  method: string;
  rows: OpsCostRow[];
  /** Writes counted during the hits with audit on and a webhook subscribed (must be 0). */
  hitWrites: { database: number; memory: number; hits: number };
  /** Webhook events the receiver acknowledged during the run, by type. */
  delivered: Record<string, number>;
  seconds: number;
}

const HITS = 100;

function cost(c: Counts, requests: number): Cost {
  return {
    reads: round(c.reads / requests, 3),
    writes: round(c.writes / requests, 3),
    transactions: round(c.transactions / requests, 3),
    calls: c.calls,
  };
}

/** Everything one instance (on or off) measured, by row name. */
type Measured = Map<string, { cost: Cost; requests: number; note: string }>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function opsCost(stack: Stack): Promise<OpsCostResult> {
  const started = Date.now();
  const receiver = await startWebhookReceiver();
  const on = await countedInstance(stack, true);
  const off = await countedInstance(stack, false);
  const admin = stack.env.adminKey;
  const hitWrites = { database: 0, memory: 0, hits: 0 };
  try {
    // One webhook, every event, subscribed before anything is measured (webhooks are global: the
    // off instance simply writes no outbox entries).
    const created = await callHandler(on.server, {
      method: 'POST',
      url: '/api/webhook',
      bearer: admin,
      body: { url: receiver.url, events: [...WEBHOOK_EVENTS], comment: 'bench ops' },
    });
    if (created.status !== 201 && created.status !== 200) {
      throw new Error(`POST /api/webhook answered ${created.status}: ${created.text}`);
    }
    receiver.secret = (created.body as { secret: string }).secret;

    const measureOne = async (i: CountedInstance, mode: 'on' | 'off'): Promise<Measured> => {
      const out: Measured = new Map();
      const realm = `ops-${mode}`;
      const call = async (
        method: string,
        url: string,
        body?: unknown,
        bearer = admin,
      ): Promise<FakeResponse> =>
        callHandler(i.server, { method, url, bearer, ...(body === undefined ? {} : { body }) });
      const must = (r: FakeResponse, what: string, ok = [200, 201]) => {
        if (!ok.includes(r.status)) throw new Error(`${mode}: ${what} answered ${r.status}: ${r.text}`);
        return r;
      };
      const settled = () => i.store.counts.calls['ops.settleOutbox'] ?? 0;
      /** Waits for `n` more deliveries settled by this instance (on), so their cost is counted. */
      const delivered = async (before: number, n: number) => {
        if (mode === 'off') return;
        const deadline = Date.now() + 15_000;
        while (settled() < before + n) {
          if (Date.now() > deadline) throw new Error(`${mode}: the webhook delivery did not settle`);
          await sleep(20);
        }
      };
      const take = (name: string, requests: number, note = '') => {
        out.set(name, { cost: cost(i.store.take(), requests), requests, note });
      };
      const config = { ...realmFor(PRESET, stack.fake.url), flush_min_interval_ms: 0 };
      const secretBody = async (key: string) => {
        await stack.addSecret(`${realm}-${key}`); // the fake accepts its credential (not counted)
        return { realm, key, key_1: `bench-${realm}-${key}`, key_2: `secret-of-${realm}-${key}` };
      };

      // Warm: the realm, a first secret (opens the audit key), a first client.
      must(await call('POST', '/api/realm', { id: realm, config }), 'the first realm save');
      must(await call('POST', '/api/secret', await secretBody('warm')), 'the first secret save');
      must(
        await call('POST', '/api/client', { name: `${realm}-warm`, scopes: [{ realm, key: '*' }] }),
        'a client',
      );
      const bodyA = await secretBody('a');
      const bodyB = await secretBody('b');
      i.store.take();

      must(await call('POST', '/api/realm', { id: realm, config, comment: 'saved again' }), 'realm save');
      take('realm save (POST /api/realm)', 1);
      must(await call('POST', '/api/secret', bodyA), 'secret save');
      take('secret save (POST /api/secret)', 1);
      const client = must(
        await call('POST', '/api/client', { name: `${realm}-app`, scopes: [{ realm, key: '*' }] }),
        'client create',
      );
      take('client create (POST /api/client)', 1);
      const clientKey = (client.body as { client_key: string }).client_key;
      const token = async (key: string, query = '', h = i.server) =>
        callHandler(h, { url: `/api/token?realm=${realm}&key=${key}${query}`, bearer: clientKey });

      must(await token('a'), 'refresh');
      take('refresh (miss → upstream, succeeds)', 1);

      for (let n = 0; n < HITS; n++) must(await token('a'), 'database hit');
      take('database hit', HITS);
      must(await token('a', '', i.cache), 'the first memory hit');
      i.store.take();
      for (let n = 0; n < HITS; n++) must(await token('a', '', i.cache), 'memory hit');
      take('memory hit', HITS);

      must(await token('a', '&flush=true'), 'flush');
      take('flush (refreshes)', 1);
      const current = (must(await token('a'), 'a hit').body as { token: string }).token;
      i.store.take();
      must(await token('a', `&invalid_token=${encodeURIComponent(current)}`), 'invalid_token report');
      take('invalid_token report (refreshes)', 1);

      // A failure episode: the secret's first fetch fails (the fake answers 500), no token to serve.
      must(await call('POST', '/api/secret', bodyB), 'secret save b');
      i.store.take();
      const beforeFail = settled();
      stack.fake.setMode(PRESET, 'http500');
      const failed = await token('b');
      stack.fake.setMode(PRESET, null);
      must(failed, 'the failing refresh', [502, 504]);
      await delivered(beforeFail, 1);
      take(
        'refresh that fails (episode begins)',
        1,
        mode === 'on' ? 'token.refresh_failed: outbox entry + its delivery' : '',
      );
      // Recovery: the next request after the backoff (≤ 2 s after a first failure) fetches a token.
      const beforeRecover = settled();
      const deadline = Date.now() + 20_000;
      for (;;) {
        await sleep(500);
        i.store.take();
        const r = await token('b');
        if (r.status === 200) break;
        if (Date.now() > deadline) throw new Error(`${mode}: no recovery: ${r.status} ${r.text}`);
      }
      await delivered(beforeRecover, 1);
      take(
        'refresh that recovers (episode ends)',
        1,
        mode === 'on' ? 'token.recovered: outbox entry + its delivery' : '',
      );
      return out;
    };

    const offRows = await measureOne(off, 'off');
    const onRows = await measureOne(on, 'on');
    const rows: OpsCostRow[] = [];
    for (const [change, a] of onRows) {
      const b = offRows.get(change);
      if (b === undefined) continue;
      rows.push({
        change,
        requests: a.requests,
        off: b.cost,
        on: a.cost,
        added: {
          reads: round(a.cost.reads - b.cost.reads, 3),
          writes: round(a.cost.writes - b.cost.writes, 3),
          transactions: round(a.cost.transactions - b.cost.transactions, 3),
        },
        note: a.note,
      });
    }
    const hit = (name: string) => onRows.get(name);
    hitWrites.database = (hit('database hit')?.cost.writes ?? NaN) * HITS;
    hitWrites.memory = (hit('memory hit')?.cost.writes ?? NaN) * HITS;
    hitWrites.hits = 2 * HITS;
    const delivered: Record<string, number> = {};
    for (const e of receiver.unique().values()) delivered[e.type] = (delivered[e.type] ?? 0) + 1;
    return {
      method:
        'in-process: the deployed tokenServer/tokenServerCache handlers on the Firestore emulator through a counting Store (cost.ts billing: a get = 1 read, a query = 1 per document, min 1; a transaction = 1 read per attempt + 1 write per document written) that also counts side writes (audit records, outbox entries, 1 write each) and the ops store (delivery: take = 1 read + 1 write, webhook list, settle = 1 write). off = the same runtime committing no side writes.',
      rows,
      hitWrites,
      delivered,
      seconds: round((Date.now() - started) / 1000, 1),
    };
  } finally {
    await on.close();
    await off.close();
    await receiver.close();
  }
}

export function opsCostRows(r: OpsCostResult): Row[] {
  const s = '11 audit + webhooks: Firestore per change';
  const n = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
  const show = (c: Cost) => `${n(c.reads)} r, ${n(c.writes)} w, ${n(c.transactions)} tx`;
  const rows = r.rows
    .filter((x) => !x.change.endsWith(' hit'))
    .map((x) =>
      row(
        s,
        x.change,
        `on: ${show(x.on)} (+${n(x.added.reads)} r, +${n(x.added.writes)} w)${x.note ? `; ${x.note}` : ''}`,
        `off: ${show(x.off)}`,
        'info',
        'info',
      ),
    );
  rows.push(
    row(
      s,
      `hits with audit on + a webhook (${r.hitWrites.hits}: database, memory)`,
      `${r.hitWrites.database + r.hitWrites.memory} writes`,
      'floor 0 writes',
      '0',
      r.hitWrites.database + r.hitWrites.memory === 0,
    ),
  );
  return rows;
}
