/**
 * Scenario 6, the scheduled refresh at scale (README "Benchmarks"): one run of runScheduledRefresh (the
 * deployed code path) with 1,000 / 10,000 / 100,000 secrets of which 1 % are due, against the floor
 * of the due ones. 1,000 and 10,000 on the Firestore emulator (seeded in bulk; document reads
 * counted in the Firestore client, below the store: test/helpers/firestore-reads.ts), 100,000 on the
 * memory store (reads counted by bench/counting-store.ts, as the Firestore store would be billed).
 * The due ones are refreshed against the fake provider. Memory: this process's heap and RSS sampled
 * during the run (the emulator's data lives in its own JVM; the memory store's in this heap, so its
 * growth during the run is what the run costs).
 *
 * Also the refresh throughput by concurrency (200 due tokens on the emulator, provider latencies of
 * 50 and 300 ms), the measurement behind DEFAULT_REFRESH_CONCURRENCY.
 */
import { randomBytes } from 'node:crypto';
import { getApps } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { systemClock } from '../../functions/clock';
import { parseConfig } from '../../functions/config';
import { freshState } from '../../functions/token/decide';
import { createRuntime, type Runtime } from '../../functions/runtime';
import { runScheduledRefresh } from '../../functions/scheduled';
import { encodeSecret, encodeTokenState } from '../../functions/store/codec';
import { MemoryStore } from '../../functions/store/memory/memory-store';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import { BACKFILL_DOC, COLLECTIONS, secretDocId, type Store } from '../../functions/store/store';
import type { TokenState } from '../../functions/store/types';
import { realmFor, startFakeProvider } from '../../test/fakes/providers';
import { countFirestoreReads } from '../../test/helpers/firestore-reads';
import { CountingStore, serveThrough } from '../counting-store';
import { row, type Row } from '../report';
import { PRESET, REALM, type Stack } from '../stack';
import { round } from '../stats';

const HOUR = 3_600_000;
const RUN = { scheduleTime: new Date(0).toISOString(), jobName: 'bench' };

export interface ScaleRun {
  secrets: number;
  due: number;
  store: string;
  refreshed: number;
  failed: number;
  /** Every document read of the run. */
  reads: number;
  /** Of those, the due query's. */
  scanReads: number;
  /** Reads per due token beyond the scan (secret, realm, lease, result). */
  readsPerRefresh: number;
  seconds: number;
  peakHeapMiB: number;
  heapGrowthMiB: number;
  peakRssMiB: number;
}

export interface ThroughputPoint {
  providerLatencyMs: number;
  concurrency: number;
  refreshes: number;
  seconds: number;
  refreshesPerSecond: number;
}

export interface ScheduledScaleResult {
  runs: ScaleRun[];
  throughput: ThroughputPoint[];
  seconds: number;
}

const MiB = 2 ** 20;

/** Samples this process's memory every 10 ms while `work` runs. */
async function withMemory<T>(
  work: () => Promise<T>,
): Promise<{ value: T; peakHeap: number; heapBefore: number; peakRss: number }> {
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let peakHeap = heapBefore;
  let peakRss = process.memoryUsage().rss;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  }, 10);
  try {
    const value = await work();
    const m = process.memoryUsage();
    return { value, peakHeap: Math.max(peakHeap, m.heapUsed), heapBefore, peakRss: Math.max(peakRss, m.rss) };
  } finally {
    clearInterval(timer);
  }
}

interface Seeding {
  values: Record<string, string>;
  sealer: Sealer;
}

/** Key i's secret and token state: the first `due` never fetched (due now), the rest due in an hour. */
function seedOf(i: number, due: number, now: number, seeding: Seeding) {
  const key = `scale-${String(i).padStart(6, '0')}`;
  const rev = `rev-${i}`;
  const secret = { realm: REALM, key, values: seeding.values, rev, createdAt: now, updatedAt: now };
  const state: TokenState =
    i < due
      ? freshState(REALM, key, rev, null)
      : {
          ...freshState(REALM, key, rev, null),
          token: `token-${i}`,
          fetchedAt: now,
          expiresAt: now + 2 * HOUR,
          refreshAt: now + HOUR + (i % 1000) * 1000,
        };
  return { key, secret, state };
}

async function seedFirestore(db: Firestore, secrets: number, due: number, seeding: Seeding) {
  const now = Date.now();
  const writer = db.bulkWriter();
  for (let i = 0; i < secrets; i++) {
    const { key, secret, state } = seedOf(i, due, now, seeding);
    const id = secretDocId(REALM, key);
    void writer.set(db.collection(COLLECTIONS.secrets).doc(id), encodeSecret(secret, seeding.sealer));
    void writer.set(db.collection(COLLECTIONS.tokens).doc(id), encodeTokenState(state, seeding.sealer));
  }
  // A deployment past its one-time dueAt backfill (the first runs after an upgrade read each token once).
  void writer.set(db.collection(COLLECTIONS.meta).doc(BACKFILL_DOC), { done: true });
  await writer.close();
}

/**
 * A runtime on `store`. A CountingStore wraps the store the runtime is built on (the ops store is
 * the inner store's: ops/ops.ts knows only real stores); its store and engine are then the counting
 * ones, as bench/scenarios/ops-counting.ts does.
 */
async function runtimeOn(store: Store): Promise<Runtime> {
  const config = parseConfig({ TOKEN_SERVER_STORE: 'memory', TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true' });
  const runtime = await createRuntime(config, {
    keys: { masterKey: randomBytes(32), problems: {} },
    store: store instanceof CountingStore ? store.inner : store,
    clock: systemClock,
  });
  if (store instanceof CountingStore) serveThrough(runtime, store);
  return runtime;
}

async function oneRun(
  runtime: Runtime,
  reads: () => { total: number; scan: number },
  concurrency?: number,
): Promise<Omit<ScaleRun, 'secrets' | 'due' | 'store'>> {
  const started = process.hrtime.bigint();
  const measured = await withMemory(() => runScheduledRefresh(runtime, RUN, concurrency));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { total, scan } = reads();
  const done = Math.max(1, measured.value.refreshed + measured.value.failed);
  return {
    refreshed: measured.value.refreshed,
    failed: measured.value.failed,
    reads: total,
    scanReads: scan,
    readsPerRefresh: round((total - scan) / done, 2),
    seconds: round(seconds, 2),
    peakHeapMiB: round(measured.peakHeap / MiB, 1),
    heapGrowthMiB: round((measured.peakHeap - measured.heapBefore) / MiB, 1),
    peakRssMiB: round(measured.peakRss / MiB, 1),
  };
}

export async function scheduledScale(
  stack: Stack,
  say: (line: string) => void = () => undefined,
): Promise<ScheduledScaleResult> {
  const started = Date.now();
  const sealer = new Sealer(randomBytes(32));
  // One credential the fake accepts, shared by every secret of the scenario.
  await stack.addSecret('scale-credential');
  const credential = await stack.store.getSecret(REALM, 'scale-credential');
  const seeding: Seeding = { values: credential?.values ?? {}, sealer };
  const appName = 'bench-scale';
  const store = openStore(
    { store: 'firestore', projectId: stack.env.projectId, emulatorHost: stack.env.emulatorHost },
    sealer,
    appName,
  );
  const db = getFirestore(getApps().find((a) => a.name === appName)!);
  const counter = countFirestoreReads(db);
  const realmDoc = async (url: string) => {
    const now = Date.now();
    await store.putRealm({
      id: REALM,
      comment: 'bench',
      config: realmFor(PRESET, url),
      createdAt: now,
      updatedAt: now,
    });
  };
  const runs: ScaleRun[] = [];
  const throughput: ThroughputPoint[] = [];
  try {
    for (const secrets of [1_000, 10_000]) {
      const due = secrets / 100;
      say(`  seeding ${secrets} secrets on the emulator...`);
      await stack.emulator.clear(stack.env.projectId);
      await realmDoc(stack.fake.url);
      await seedFirestore(db, secrets, due, seeding);
      say('  one scheduled run...');
      const runtime = await runtimeOn(store);
      // Count the due query's reads apart: it is the part that must not grow with the secrets.
      let scan = 0;
      const listDue = store.listDueTokens.bind(store);
      store.listDueTokens = async (q) => {
        const before = counter.reads;
        const page = await listDue(q);
        scan += counter.reads - before;
        return page;
      };
      counter.reset();
      const run = await oneRun(runtime, () => ({ total: counter.reads, scan }));
      store.listDueTokens = listDue;
      runs.push({ secrets, due, store: 'firestore (emulator)', ...run });
      say(`  ${JSON.stringify(runs[runs.length - 1])}`);
    }

    // 100,000 on the memory store, reads counted as Firestore bills them.
    say('  seeding 100000 secrets in the memory store...');
    const memory = new CountingStore(new MemoryStore(sealer));
    const now = Date.now();
    await memory.putRealm({
      id: REALM,
      comment: 'bench',
      config: realmFor(PRESET, stack.fake.url),
      createdAt: now,
      updatedAt: now,
    });
    const secrets = 100_000;
    const due = secrets / 100;
    for (let i = 0; i < secrets; i++) {
      const { secret, state } = seedOf(i, due, now, seeding);
      await memory.putSecret(secret, () => state);
    }
    const runtime = await runtimeOn(memory);
    memory.take();
    const run = await oneRun(runtime, () => {
      const c = memory.take();
      return { total: c.reads, scan: c.readsBy.listDueTokens ?? 0 };
    });
    runs.push({ secrets, due, store: 'memory (reads counted)', ...run });
    say(`  ${JSON.stringify(runs[runs.length - 1])}`);

    // Throughput by concurrency: 200 due tokens, the fake provider at 50 and 300 ms.
    for (const latencyMs of [50, 300]) {
      const fake =
        latencyMs === stack.providerLatencyMs ? stack.fake : await startFakeProvider({ latencyMs });
      fake.setCredentials(PRESET, [{ id: seeding.values.key_1 ?? '', secret: seeding.values.key_2 ?? '' }]);
      for (const concurrency of [8, 16, 32, 64]) {
        await stack.emulator.clear(stack.env.projectId);
        await realmDoc(fake.url);
        await seedFirestore(db, 200, 200, seeding);
        const runtimeT = await runtimeOn(store);
        const t0 = process.hrtime.bigint();
        const summary = await runScheduledRefresh(runtimeT, RUN, concurrency);
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        throughput.push({
          providerLatencyMs: latencyMs,
          concurrency,
          refreshes: summary.refreshed,
          seconds: round(seconds, 2),
          refreshesPerSecond: round(summary.refreshed / seconds, 1),
        });
        say(`  ${JSON.stringify(throughput[throughput.length - 1])}`);
      }
      if (fake !== stack.fake) await fake.close();
    }
  } finally {
    counter.restore();
    await store.close();
    // Leave the stack's realm as the other scenarios expect it.
    await stack.emulator.clear(stack.env.projectId);
    const now = Date.now();
    await stack.store.putRealm({
      id: REALM,
      comment: 'bench',
      config: realmFor(PRESET, stack.fake.url),
      createdAt: now,
      updatedAt: now,
    });
  }
  return { runs, throughput, seconds: round((Date.now() - started) / 1000, 1) };
}

export function scheduledScaleRows(r: ScheduledScaleResult): Row[] {
  const s = '6 scheduled refresh at scale';
  const rows = r.runs.map((run) =>
    row(
      s,
      `${run.secrets.toLocaleString('en-US')} secrets, ${run.due} due (${run.store})`,
      `${run.reads} reads (due query ${run.scanReads}; ${run.readsPerRefresh} per refresh), ${run.seconds} s, ` +
        `heap +${run.heapGrowthMiB} MiB (peak ${run.peakHeapMiB}), RSS ${run.peakRssMiB} MiB; ${run.refreshed} refreshed`,
      `floor: ${run.due} reads of the due ones`,
      'due query ≈ due + 1 per page',
      run.scanReads <= run.due + Math.ceil(run.due / 200) + 1 && run.refreshed === run.due,
    ),
  );
  const best = (latency: number) =>
    r.throughput
      .filter((t) => t.providerLatencyMs === latency)
      .map((t) => `c=${t.concurrency}: ${t.refreshesPerSecond}/s`)
      .join(', ');
  rows.push(
    row(s, 'refresh throughput, provider 50 ms (emulator)', best(50), '', 'info', 'info'),
    row(s, 'refresh throughput, provider 300 ms (emulator)', best(300), '', 'info', 'info'),
  );
  return rows;
}
