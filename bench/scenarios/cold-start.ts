/**
 * Scenario 6, cold start: from the spawn of a fresh Functions Framework process to its first served
 * token (one secret already stored with a valid token, asked with a client key as an app would:
 * the runtime, the Firestore connection, the client-key lookup and one read), against hello world's
 * first answer from the same framework, and beside it a function that loads firebase-admin and
 * makes one read (what the Firestore client alone costs a cold start), and the same with the
 * client-key lookup's query beside the read (what an authenticated first token cannot do cheaper:
 * `rawAuthRead`). Ours and the raw reads are
 * each started over both Firestore transports (TOKEN_SERVER_FIRESTORE_TRANSPORT, BENCH_TRANSPORT:
 * functions/store/firestore/transport.ts). Each target is started `trials` times, interleaved
 * (hello, raw reads, cache, server, hello, ...); the first request is retried every 5 ms until it
 * is answered. Then one more start of each under --cpu-prof, not counted, whose summary says where
 * the time went.
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { spawnBenchFunction } from '../processes';
import { row, type Row } from '../report';
import { REALM, type Stack } from '../stack';
import { hashClientKey } from '../../functions/keys/keys';
import { COLLECTIONS, secretDocId } from '../../functions/store/store';
import { FIRESTORE_TRANSPORTS, type FirestoreTransport } from '../../functions/store/firestore/transport';
import { summariseProfile, type ProfileSummary } from '../profile';
import { percentile, round } from '../stats';
import { repoRoot } from '../../test/helpers/processes';

export interface ColdStartOptions {
  source?: string;
  trials: number;
  resultsDir: string;
}

/** rawAuthRead: the raw read with the client-key query beside it (bench/hello/raw-read.ts). */
type ColdFunction = 'rawRead' | 'rawAuthRead' | 'tokenServerCache' | 'tokenServer';
/** hello, or a function over a transport (`tokenServerCache:rest`). */
type ColdTarget = 'hello' | `${ColdFunction}:${FirestoreTransport}`;

function functionOf(target: ColdTarget): { fn: string; transport?: FirestoreTransport } {
  if (target === 'hello') return { fn: 'hello' };
  const [fn = '', transport] = target.split(':') as [string, FirestoreTransport];
  return { fn, transport };
}

export interface ColdStartTarget {
  target: ColdTarget;
  /** Spawn → first 200 (ms), per trial. */
  firstAnswerMs: number[];
  medianMs: number;
  /** What the first answer was (the token's source for ours). */
  sample: string;
  /** One more start, not counted above, under --cpu-prof: where a cold start's time goes. */
  profile?: ProfileSummary;
}

export interface ColdStartResult {
  trials: number;
  targets: ColdStartTarget[];
  /** Target: at most hello world's first answer + this. */
  goalOverHelloMs: number;
  seconds: number;
}

const KEY = 'cold';

/** One GET on a new connection: the status and body, or undefined while nothing listens. */
function tryGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', () => resolve(undefined));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Spawn → first 200 of one fresh process (ms), optionally under --cpu-prof. */
async function firstAnswer(
  stack: Stack,
  o: ColdStartOptions,
  target: ColdTarget,
  headers: Record<string, string>,
  cpuProfile?: { dir: string; name: string },
): Promise<{ ms: number; body: string }> {
  const { fn: name, transport } = functionOf(target);
  const raw = name === 'rawRead' || name === 'rawAuthRead';
  const fn = await spawnBenchFunction({
    target: name === 'rawAuthRead' ? 'rawRead' : name,
    ...(name === 'hello' || raw
      ? { source: join(repoRoot(), 'lib', 'bench', 'hello') }
      : o.source === undefined
        ? {}
        : { source: o.source }),
    env: {
      ...stack.env.env,
      BENCH_READ_DOC: `${COLLECTIONS.tokens}/${secretDocId(REALM, KEY)}`,
      ...(name === 'rawAuthRead'
        ? {
            BENCH_QUERY_COLLECTION: COLLECTIONS.clients,
            BENCH_QUERY_FIELD: 'keyHash',
            BENCH_QUERY_VALUE: hashClientKey(headers.authorization?.replace(/^Bearer /, '') ?? ''),
          }
        : {}),
      ...(transport === undefined
        ? {}
        : { BENCH_TRANSPORT: transport, TOKEN_SERVER_FIRESTORE_TRANSPORT: transport }),
    },
    logFile: join(o.resultsDir, `cold-${target.replace(':', '-')}.log`),
    ...(cpuProfile === undefined ? {} : { cpuProfile }),
  });
  try {
    const url = `${fn.url}/api/token?realm=${REALM}&key=${KEY}`;
    let answer: { status: number; body: string } | undefined;
    for (;;) {
      answer = await tryGet(url, headers);
      if (answer !== undefined || fn.exit() !== undefined) break;
      if (Number(process.hrtime.bigint() - fn.spawnedAt) > 60e9) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const ms = Number(process.hrtime.bigint() - fn.spawnedAt) / 1e6;
    if (answer?.status !== 200) {
      throw new Error(
        `${target} did not serve its first request: ${answer?.status ?? 'no answer'} ${answer?.body ?? ''}`,
      );
    }
    return { ms, body: answer.body };
  } finally {
    await fn.stop();
  }
}

export async function coldStart(stack: Stack, o: ColdStartOptions): Promise<ColdStartResult> {
  const started = Date.now();
  await stack.addSecret(KEY);
  const clientKey = await stack.addClient('bench-cold');
  await stack.prime(KEY);
  const headers = { authorization: `Bearer ${clientKey}` };
  const results = new Map<ColdTarget, ColdStartTarget>();
  const order: ColdTarget[] = [
    'hello',
    ...FIRESTORE_TRANSPORTS.flatMap((t) => [
      `rawRead:${t}` as const,
      `rawAuthRead:${t}` as const,
      `tokenServerCache:${t}` as const,
      `tokenServer:${t}` as const,
    ]),
  ];
  for (let trial = 0; trial < o.trials; trial++) {
    for (const target of order) {
      const { ms, body } = await firstAnswer(stack, o, target, headers);
      const entry = results.get(target) ?? {
        target,
        firstAnswerMs: [],
        medianMs: 0,
        sample: body.replace(/"token":"[^"]*"/, '"token":"…"'),
      };
      entry.firstAnswerMs.push(round(ms, 1));
      results.set(target, entry);
    }
  }
  // One profiled start each (profiling slows it, so it is not one of the trials).
  for (const target of order) {
    const name = `cold-${target.replace(':', '-')}.cpuprofile`;
    await firstAnswer(stack, o, target, headers, { dir: o.resultsDir, name });
    const entry = results.get(target);
    if (entry !== undefined) entry.profile = summariseProfile(join(o.resultsDir, name));
  }
  const targets = [...results.values()].map((t) => ({
    ...t,
    medianMs: round(percentile(t.firstAnswerMs, 50), 1),
  }));
  return {
    trials: o.trials,
    targets,
    goalOverHelloMs: 150,
    seconds: round((Date.now() - started) / 1000, 1),
  };
}

/** A difference as +12.5 ms / −3.1 ms. */
function signedMs(ms: number): string {
  return `${ms < 0 ? '−' : '+'}${round(Math.abs(ms), 1)} ms`;
}

export function coldStartRows(r: ColdStartResult): Row[] {
  const get = (t: ColdTarget) => r.targets.find((x) => x.target === t);
  const hello = get('hello')?.medianMs ?? NaN;
  const s = `6 cold start (fresh process → first answer, median of ${r.trials})`;
  const describe = (t: ColdTarget) => {
    const x = get(t);
    return x === undefined
      ? 'not run'
      : `${x.medianMs} ms (+${round(x.medianMs - hello, 1)} ms; runs ${x.firstAnswerMs.join(', ')})`;
  };
  const baseline = `hello world's first answer: ${describe('hello').replace(/ \(\+[^;]*; /, ' (')}`;
  return FIRESTORE_TRANSPORTS.flatMap((transport) => {
    const raw = get(`rawRead:${transport}`)?.medianMs ?? NaN;
    return (['tokenServerCache', 'tokenServer'] as const).flatMap((fn) => {
      const t = `${fn}:${transport}` as const;
      return [
        row(
          s,
          `${fn} over ${transport}: first served token (database hit, client key)`,
          describe(t),
          baseline,
          `≤ hello + ${r.goalOverHelloMs} ms`,
          (get(t)?.medianMs ?? Infinity) <= hello + r.goalOverHelloMs,
        ),
        row(
          s,
          `${fn} over ${transport} over a raw first read`,
          signedMs((get(t)?.medianMs ?? NaN) - raw),
          `firebase-admin alone over ${transport}, one read: ${describe(`rawRead:${transport}`)}`,
          'info',
          'info',
        ),
        row(
          s,
          `${fn} over ${transport} over a raw authenticated first read`,
          signedMs((get(t)?.medianMs ?? NaN) - (get(`rawAuthRead:${transport}`)?.medianMs ?? NaN)),
          `firebase-admin alone over ${transport}, the read and the client-key query side by side: ${describe(`rawAuthRead:${transport}`)}`,
          'info',
          'info',
        ),
      ];
    });
  });
}
