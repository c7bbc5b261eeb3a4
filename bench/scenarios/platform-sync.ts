/**
 * The `platform` scenario's sync row (issue 24): POST /api/component/{realm}/{key}/sync of N
 * authorizers (10,000) that the fake Open Platform (test/fakes/wechat-authorizers.ts) lists in
 * api_get_authorizer_list and the broker does not have yet, following the cursor until `complete`.
 * In-process, on the real handler and runtime over the emulator through a counting store (as
 * platform.ts's Firestore-per-push row), so that the reads and writes are counted; the heap is
 * sampled every HEAP_SAMPLE_MS (and between calls) and its peak reported against the heap before
 * the first call. The handler runs in this process beside the fake, whose own answers (one page of
 * 500 at a time) are in the figure.
 */
import { loadavg } from 'node:os';
import { parseConfig } from '../../functions/config';
import { createHandler } from '../../functions/http/app';
import { fullRoutes } from '../../functions/http/routes';
import { createRuntime } from '../../functions/runtime';
import { freshState } from '../../functions/token/decide';
import { ticketRealm } from '../../test/fakes/tickets';
import { startWechatAuthorizersFake } from '../../test/fakes/wechat-authorizers';
import { callHandler } from '../../test/helpers/fake-express';
import { CountingStore } from '../counting-store';
import { fmt, row, type Row } from '../report';
import type { Stack } from '../stack';
import { round } from '../stats';
import { push } from './platform';
import { componentAccount } from './platform-authorizers';

const HEAP_SAMPLE_MS = 20;

export interface SyncBenchResult {
  authorizers: number;
  calls: number;
  pages: number;
  seconds: number;
  counts: { seen: number; created: number; recovered: number; unchanged: number };
  heapBeforeMiB: number;
  heapPeakMiB: number;
  readsPerAuthorizer: number;
  writesPerAuthorizer: number;
  created: number;
  error?: string;
  loadAverage1m: number;
}

interface SyncAnswer {
  seen: number;
  created: number;
  recovered: number;
  unchanged: number;
  complete: boolean;
  cursor?: string;
}

const mib = (bytes: number) => round(bytes / 2 ** 20, 1);

export async function platformSync(stack: Stack, options: { authorizers: number }): Promise<SyncBenchResult> {
  const stamp = Date.now().toString(36);
  const compRealm = `bench-synccomp-${stamp}`;
  const authRealm = `bench-syncauth-${stamp}`;
  const compKey = 'comp';
  const fake = await startWechatAuthorizersFake({ reading: 'strict' });
  try {
    for (let i = 0; i < options.authorizers; i++) fake.authorize();
    const component = componentAccount(fake.component, 'bench platform sync');
    const now = Date.now();
    for (const [id, preset] of [
      [compRealm, 'wechat_component'],
      [authRealm, 'wechat_authorizer'],
    ] as const) {
      await stack.store.putRealm({
        id,
        comment: 'bench: sync',
        config: ticketRealm(preset, fake.url),
        createdAt: now,
        updatedAt: now,
      });
    }
    await stack.store.putSecret(
      {
        realm: compRealm,
        key: compKey,
        values: {
          key_1: component.appid,
          key_2: component.secret,
          key_3: component.token,
          key_4: component.aesKey,
          authorizer_realm: authRealm,
        },
        rev: `rev-${stamp}`,
        createdAt: now,
        updatedAt: now,
      },
      (cur) => freshState(compRealm, compKey, `rev-${stamp}`, cur),
    );

    const counting = new CountingStore(stack.store);
    const runtime = await createRuntime(parseConfig(stack.env.env));
    runtime.store = counting; // the routes read and write through this one (the engine keeps its own)
    const handler = createHandler({
      name: 'tokenServer',
      routes: fullRoutes(),
      runtime: async () => runtime,
    });
    const p = push(component, Math.floor(Date.now() / 1000));
    const pushed = await callHandler(handler, {
      method: 'POST',
      url: `/events/${compRealm}/${compKey}?${p.query}`,
      headers: { 'content-type': 'text/xml' },
      body: p.body,
    });
    if (pushed.text !== 'success') throw new Error(`the ticket push was refused: ${pushed.status}`);

    const listBefore = fake.calls('authorizer_list');
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    const sample = () => {
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    };
    const sampler = setInterval(sample, HEAP_SAMPLE_MS);
    counting.take();
    const counts = { seen: 0, created: 0, recovered: 0, unchanged: 0 };
    let calls = 0;
    let error: string | undefined;
    const started = process.hrtime.bigint();
    try {
      let cursor: string | undefined;
      for (;;) {
        const res = await callHandler(handler, {
          method: 'POST',
          url: `/api/component/${compRealm}/${compKey}/sync`,
          headers: { authorization: `Bearer ${stack.env.adminKey}` },
          body: cursor === undefined ? {} : { cursor },
        });
        calls++;
        sample();
        if (res.status !== 200) throw new Error(`sync answered ${res.status}: ${res.text.slice(0, 200)}`);
        const answer = JSON.parse(res.text) as SyncAnswer;
        for (const k of ['seen', 'created', 'recovered', 'unchanged'] as const) counts[k] += answer[k];
        if (answer.complete) break;
        cursor = answer.cursor;
      }
    } catch (err) {
      error = String(err);
    } finally {
      clearInterval(sampler);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const c = counting.take();
    const n = Math.max(1, counts.seen);
    return {
      authorizers: options.authorizers,
      calls,
      pages: fake.calls('authorizer_list') - listBefore,
      seconds: round(seconds, 1),
      counts,
      heapBeforeMiB: mib(heapBefore),
      heapPeakMiB: mib(heapPeak),
      readsPerAuthorizer: round(c.reads / n, 2),
      writesPerAuthorizer: round(c.writes / n, 2),
      created: counts.created,
      ...(error === undefined ? {} : { error }),
      loadAverage1m: round(loadavg()[0] ?? 0, 1),
    };
  } finally {
    await fake.close();
  }
}

export function syncRows(r: SyncBenchResult): Row[] {
  const s = `10 platform: sync of ${fmt(r.authorizers)} authorizers (in-process, counting store, load ${r.loadAverage1m})`;
  return [
    row(
      s,
      'sync: time, pages, peak heap',
      r.error === undefined
        ? `${r.seconds} s, ${fmt(r.pages)} pages in ${fmt(r.calls)} calls, heap peak +${round(r.heapPeakMiB - r.heapBeforeMiB, 1)} MiB`
        : `failed: ${r.error.slice(0, 100)}`,
      `${fmt(r.counts.created)} created, ${fmt(r.counts.unchanged)} unchanged of ${fmt(r.counts.seen)} seen; heap ${r.heapBeforeMiB} → ${r.heapPeakMiB} MiB`,
      `${fmt(Math.ceil(r.authorizers / 500))} pages; memory of one page`,
      r.error === undefined && r.counts.created === r.authorizers,
    ),
    row(
      s,
      'sync: Firestore per authorizer created',
      `${r.readsPerAuthorizer} reads / ${r.writesPerAuthorizer} writes`,
      'its secret and token state read, then written',
      'info',
      'info',
    ),
  ];
}
