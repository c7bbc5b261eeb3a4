/**
 * Scenario `reseal` (issue 25): a master-key rotation over many sealed values. N values (half secrets,
 * half token documents) are sealed under the stack's key (id `default`, a bare key) and written
 * straight to the emulator in bulk; then a runtime configured with a new current key `k2` and the old
 * one (`k2:NEW,OLD`, as README "Rotating keys" step 1) runs `POST /api/keys/reseal` pages — the real
 * handler, through the counting store — following the cursor until `complete`, as `tokenctl keys
 * reseal` does. Measured: wall time, pages, reads and writes per value (counting-store.ts billing),
 * this process's peak heap while it runs, and `GET /api/keys` counts per key id before and after.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encodeSecret, encodeTokenState } from '../../functions/store/codec';
import { secretDocId, COLLECTIONS } from '../../functions/store/store';
import { FirestoreStore } from '../../functions/store/firestore/firestore-store';
import { Sealer } from '../../functions/store/seal';
import { freshState } from '../../functions/token/decide';
import { callHandler } from '../../test/helpers/fake-express';
import { row, fmt, type Row } from '../report';
import type { Stack } from '../stack';
import { round } from '../stats';
import { countedInstance } from './ops-counting';

export interface ResealOptions {
  /** Sealed values to seed (half secrets, half tokens). */
  values: number;
  /** Documents per POST /api/keys/reseal call (tokenctl's default is 200; the route's maximum 1,000). */
  limit: number;
  /** Progress lines (seeded, every 50 pages). */
  say?: (line: string) => void;
}

export interface ResealResult {
  values: number;
  limit: number;
  seedSeconds: number;
  seconds: number;
  pages: number;
  valuesPerSecond: number;
  scanned: number;
  resealed: number;
  unreadable: number;
  reads: number;
  writes: number;
  readsPerValue: number;
  writesPerValue: number;
  calls: Record<string, number>;
  /** GET /api/keys before and after. */
  countsBefore: Record<string, number>;
  countsAfter: Record<string, number>;
  /** This process (the handler, its Firestore client, the counting) while the pages ran, MiB. */
  heapBeforeMiB: number;
  peakHeapMiB: number;
  peakRssMiB: number;
  /**
   * The heap left after a full collection at the end of each page: the first page's and the
   * largest, to tell what the reseal keeps from what is garbage.
   */
  retainedFirstMiB: number;
  retainedMaxMiB: number;
}

const REALM = 'reseal';
const MiB = 2 ** 20;

/** A full collection on demand, without starting node with --expose-gc. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Seeds `n` sealed values under `sealer`'s current key, in bulk, straight to Firestore. */
async function seed(stack: Stack, sealer: Sealer, n: number): Promise<void> {
  if (!(stack.store instanceof FirestoreStore)) throw new Error('the bench runs on Firestore');
  const db = stack.store.db;
  const writer = db.bulkWriter();
  writer.onWriteError((err) => err.failedAttempts < 5);
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const key = `v${String(i).padStart(6, '0')}`;
    const id = secretDocId(REALM, key);
    if (i % 2 === 0) {
      const secret = { realm: REALM, key, values: { key_1: `app-${key}`, key_2: `cred-${key}` } };
      const doc = encodeSecret({ ...secret, rev: 'r1', createdAt: now, updatedAt: now }, sealer);
      void writer.set(db.collection(COLLECTIONS.secrets).doc(id), doc);
    } else {
      const state = {
        ...freshState(REALM, key, 'r1', null),
        token: `tok-${key}-${randomBytes(8).toString('hex')}`,
        expiresAt: now + 7_200_000,
        refreshAt: now + 6_000_000,
        generation: 1,
      };
      void writer.set(db.collection(COLLECTIONS.tokens).doc(id), encodeTokenState(state, sealer));
    }
  }
  await writer.close();
}

export async function resealScale(stack: Stack, o: ResealOptions): Promise<ResealResult> {
  const old = Buffer.from(stack.env.masterKey, 'base64');
  const seedStarted = Date.now();
  await seed(stack, new Sealer(old), o.values);
  const seedSeconds = round((Date.now() - seedStarted) / 1000, 1);
  o.say?.(`   seeded ${o.values} values in ${seedSeconds} s`);

  const fresh = randomBytes(32).toString('base64');
  const env = {
    ...stack.env.env,
    TOKEN_SERVER_MASTER_KEY: `k2:${fresh},${stack.env.masterKey}`,
    // The emulator on a shared machine counts 100,000 documents (GET /api/keys) slower than the 10 s
    // default deadline; Firestore itself bills and answers a count() by index entries.
    TOKEN_SERVER_STORE_TIMEOUT_MS: '60000',
  };
  const instance = await countedInstance(stack, true, env);
  const admin = stack.env.adminKey;
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await callHandler(instance.server, {
      method,
      url,
      bearer: admin,
      ...(body === undefined ? {} : { body }),
    });
    if (res.status !== 200) throw new Error(`${method} ${url} answered ${res.status}: ${res.text}`);
    return res.body as Record<string, unknown>;
  };
  try {
    const countsBefore = (await call('GET', '/api/keys')).counts as Record<string, number>;
    const gc = collector();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let peakHeap = heapBefore;
    let peakRss = process.memoryUsage().rss;
    const sample = setInterval(() => {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    }, 25);
    instance.store.take();
    const started = Date.now();
    let pages = 0;
    let scanned = 0;
    let resealed = 0;
    let unreadable = 0;
    let cursor: string | undefined;
    const retained: number[] = [];
    /** Time spent in the per-page collections, left out of the reseal's time. */
    let gcMs = 0;
    try {
      for (;;) {
        const page = await call('POST', '/api/keys/reseal', {
          limit: o.limit,
          ...(cursor === undefined ? {} : { cursor }),
        });
        pages++;
        const gcStarted = Date.now();
        gc();
        retained.push(process.memoryUsage().heapUsed);
        gcMs += Date.now() - gcStarted;
        scanned += page.scanned as number;
        resealed += page.resealed as number;
        unreadable += page.unreadable as number;
        if (pages % 50 === 0) o.say?.(`   ${pages} pages, ${scanned} values looked at`);
        if (page.complete === true) break;
        cursor = page.cursor as string;
      }
    } finally {
      clearInterval(sample);
    }
    const seconds = (Date.now() - started - gcMs) / 1000;
    const counts = instance.store.take();
    const countsAfter = (await call('GET', '/api/keys')).counts as Record<string, number>;
    return {
      values: o.values,
      limit: o.limit,
      seedSeconds,
      seconds: round(seconds, 1),
      pages,
      valuesPerSecond: round(resealed / seconds, 0),
      scanned,
      resealed,
      unreadable,
      reads: counts.reads,
      writes: counts.writes,
      readsPerValue: round(counts.reads / Math.max(1, resealed), 3),
      writesPerValue: round(counts.writes / Math.max(1, resealed), 3),
      calls: counts.calls,
      countsBefore,
      countsAfter,
      heapBeforeMiB: round(heapBefore / MiB, 1),
      peakHeapMiB: round(peakHeap / MiB, 1),
      peakRssMiB: round(peakRss / MiB, 1),
      retainedFirstMiB: round((retained[0] ?? NaN) / MiB, 1),
      retainedMaxMiB: round(Math.max(...retained) / MiB, 1),
    };
  } finally {
    await instance.close();
  }
}

export function resealRows(r: ResealResult): Row[] {
  const s = `12 reseal of ${fmt(r.values)} sealed values`;
  const show = (c: Record<string, number>) =>
    Object.entries(c)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(', ');
  const oldLeft = r.countsAfter.default ?? 0;
  return [
    row(
      s,
      `POST /api/keys/reseal pages of ${r.limit} until complete`,
      `${r.seconds} s, ${r.pages} pages, ${fmt(r.valuesPerSecond)} values/s; ${r.readsPerValue} reads + ${r.writesPerValue} writes per value`,
      `seeded in bulk in ${r.seedSeconds} s`,
      'info',
      'info',
    ),
    row(
      s,
      'counts per key id (GET /api/keys)',
      `after: ${show(r.countsAfter)}; ${fmt(r.resealed)} resealed, ${r.unreadable} unreadable`,
      `before: ${show(r.countsBefore)}`,
      'old key → 0',
      oldLeft === 0 && r.unreadable === 0 && r.resealed >= r.values,
    ),
    row(
      s,
      'peak heap of the process running the pages',
      `${r.peakHeapMiB} MiB (rss ${r.peakRssMiB} MiB); after a GC per page: ${r.retainedFirstMiB} MiB after the first, at most ${r.retainedMaxMiB} MiB`,
      `before: ${r.heapBeforeMiB} MiB`,
      'bounded by the page',
      'info',
    ),
  ];
}
