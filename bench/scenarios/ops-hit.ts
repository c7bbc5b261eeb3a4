/**
 * Scenario `opshit` (issue 25), hit throughput unchanged by the audit log and webhooks: hello world,
 * tokenServerCache (memory hit) and tokenServer (database hit), one process each, measured by
 * autocannon with no webhook in the database (off) and with one subscribed to every event after
 * audited admin changes (on: the webhook's creation is one), in one run: off forwards, on forwards,
 * on backwards, off backwards (the webhook created and deleted between), so that a drift of the
 * machine's load falls on both alike. Each figure is a ratio to hello world in the same phase. And
 * the database's side: across every run, the token document's update time and the number of outbox
 * entries and audit records must not move (a hit writes nothing).
 */
import { join } from 'node:path';
import { AUDIT_COLLECTION } from '../../functions/ops/audit/record';
import { OUTBOX_COLLECTION } from '../../functions/ops/ops-store';
import { WEBHOOK_EVENTS } from '../../functions/ops/webhooks/event-names';
import { FirestoreStore } from '../../functions/store/firestore/firestore-store';
import { COLLECTIONS, secretDocId } from '../../functions/store/store';
import { repoRoot } from '../../test/helpers/processes';
import { runLoad } from '../load';
import { startBenchFunction, type BenchFunction } from '../processes';
import { fmt, row, type Row } from '../report';
import { REALM, type Stack } from '../stack';
import { mean, round } from '../stats';

export interface OpsHitOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  resultsDir: string;
}

type Target = 'hello' | 'tokenServerCache' | 'tokenServer';
const TARGETS: Target[] = ['hello', 'tokenServerCache', 'tokenServer'];

export interface OpsHitResult {
  connections: number;
  durationS: number;
  /** Requests per second, the mean of the phase's two runs. */
  off: Record<Target, number>;
  on: Record<Target, number>;
  /** Ours over hello world, per phase. */
  ratios: { off: { cache: number; server: number }; on: { cache: number; server: number } };
  failed: number;
  /** Requests served while the database was watched, and what moved in it (all must be 0). */
  hits: number;
  writes: { tokenDocument: number; outboxEntries: number; auditRecords: number };
  seconds: number;
}

const KEY = 'ops-hit';

export async function opsHitThroughput(stack: Stack, o: OpsHitOptions): Promise<OpsHitResult> {
  const started = Date.now();
  if (!(stack.store instanceof FirestoreStore)) throw new Error('the bench runs on Firestore');
  const db = stack.store.db;
  await stack.addSecret(KEY);
  const clientKey = await stack.addClient('bench-ops-hit');
  await stack.prime(KEY);
  const headers = { authorization: `Bearer ${clientKey}` };
  const path = `/api/token?realm=${REALM}&key=${KEY}`;
  const running = new Map<Target, BenchFunction>();
  const runs: Record<'off' | 'on', Record<Target, number[]>> = {
    off: { hello: [], tokenServerCache: [], tokenServer: [] },
    on: { hello: [], tokenServerCache: [], tokenServer: [] },
  };
  let failed = 0;
  let hits = 0;
  const tokenRef = db.collection(COLLECTIONS.tokens).doc(secretDocId(REALM, KEY));
  const watched = async () => ({
    token: (await tokenRef.get()).updateTime?.toMillis() ?? 0,
    outbox: (await db.collection(OUTBOX_COLLECTION).count().get()).data().count,
    audit: (await db.collection(AUDIT_COLLECTION).count().get()).data().count,
  });
  const writes = { tokenDocument: 0, outboxEntries: 0, auditRecords: 0 };
  const admin = async (method: string, url: string, body?: unknown): Promise<unknown> => {
    const server = running.get('tokenServer');
    if (server === undefined) throw new Error('tokenServer is not running');
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${stack.env.adminKey}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${await res.text()}`);
    return res.json();
  };
  try {
    for (const t of TARGETS) {
      const fn = await startBenchFunction({
        target: t,
        ...(t === 'hello' ? { source: join(repoRoot(), 'lib', 'bench', 'hello') } : {}),
        env: stack.env.env,
        logFile: join(o.resultsDir, `ops-hit-${t}.log`),
      });
      running.set(t, fn);
      const res = await fetch(`${fn.url}${path}`, { headers });
      if (res.status !== 200) throw new Error(`${t} answered ${res.status}: ${await res.text()}`);
      if (o.warmupS > 0) {
        await runLoad({ url: `${fn.url}${path}`, connections: o.connections, durationS: o.warmupS, headers });
      }
    }
    const phase = async (mode: 'off' | 'on', order: Target[]) => {
      const before = await watched();
      for (const t of order) {
        const fn = running.get(t) as BenchFunction;
        const load = await runLoad({
          url: `${fn.url}${path}`,
          connections: o.connections,
          durationS: o.durationS,
          headers,
        });
        runs[mode][t].push(load.requestsPerSecond);
        failed += load.non2xx + load.errors + load.timeouts;
        if (t !== 'hello') hits += load.totalRequests;
      }
      const after = await watched();
      writes.tokenDocument += after.token === before.token ? 0 : 1;
      writes.outboxEntries += after.outbox - before.outbox;
      writes.auditRecords += after.audit - before.audit;
    };
    const subscribe = async () =>
      (
        (await admin('POST', '/api/webhook', {
          url: 'https://hooks.example.com/token', // never called: a hit causes no event
          events: [...WEBHOOK_EVENTS],
          comment: 'bench ops-hit',
        })) as { id: string }
      ).id;
    await phase('off', TARGETS);
    const webhook = await subscribe();
    await phase('on', TARGETS);
    await phase('on', [...TARGETS].reverse());
    await admin('DELETE', `/api/webhook/${webhook}`);
    await phase('off', [...TARGETS].reverse());
  } finally {
    await Promise.all([...running.values()].map((fn) => fn.stop()));
  }
  const rps = (mode: 'off' | 'on') =>
    Object.fromEntries(TARGETS.map((t) => [t, round(mean(runs[mode][t]), 0)])) as Record<Target, number>;
  const off = rps('off');
  const on = rps('on');
  const ratio = (x: Record<Target, number>, t: Target) => round(x[t] / x.hello, 3);
  return {
    connections: o.connections,
    durationS: o.durationS,
    off,
    on,
    ratios: {
      off: { cache: ratio(off, 'tokenServerCache'), server: ratio(off, 'tokenServer') },
      on: { cache: ratio(on, 'tokenServerCache'), server: ratio(on, 'tokenServer') },
    },
    failed,
    hits,
    writes,
    seconds: round((Date.now() - started) / 1000, 1),
  };
}

export function opsHitRows(r: OpsHitResult): Row[] {
  const s = `13 audit + webhooks: hit throughput (-c ${r.connections}, 2×${r.durationS} s per phase)`;
  const moved = r.writes.tokenDocument + r.writes.outboxEntries + r.writes.auditRecords;
  return [
    row(
      s,
      'memory hit (tokenServerCache) / hello world',
      `on ${r.ratios.on.cache}× (${fmt(r.on.tokenServerCache)} req/s)`,
      `off ${r.ratios.off.cache}× (${fmt(r.off.tokenServerCache)} req/s); hello ${fmt(r.off.hello)} / ${fmt(r.on.hello)} req/s`,
      'unchanged (±10 %)',
      'info',
    ),
    row(
      s,
      'database hit (tokenServer) / hello world',
      `on ${r.ratios.on.server}× (${fmt(r.on.tokenServer)} req/s)`,
      `off ${r.ratios.off.server}× (${fmt(r.off.tokenServer)} req/s)`,
      'unchanged (±10 %)',
      'info',
    ),
    row(
      s,
      `writes during ${fmt(r.hits)} hits (token document, outbox, audit)`,
      `${moved}${r.failed > 0 ? `; ${r.failed} failed` : ''}`,
      'floor 0',
      '0',
      moved === 0 && r.failed === 0,
    ),
  ];
}
