/**
 * Scenario 6, cold start: from the spawn of a fresh Functions Framework process to its first served
 * token (one secret already stored with a valid token, asked with a client key as an app would:
 * the runtime, the Firestore connection, the client-key lookup and one read), against hello world's
 * first answer from the same framework. Each target is started `trials` times, interleaved
 * (hello, cache, server, hello, ...); the first request is retried every 5 ms until it is answered.
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { spawnBenchFunction } from '../processes';
import { row, type Row } from '../report';
import { REALM, type Stack } from '../stack';
import { percentile, round } from '../stats';
import { repoRoot } from '../../test/helpers/processes';

export interface ColdStartOptions {
  source?: string;
  trials: number;
  resultsDir: string;
}

type ColdTarget = 'hello' | 'tokenServerCache' | 'tokenServer';

export interface ColdStartTarget {
  target: ColdTarget;
  /** Spawn → first 200 (ms), per trial. */
  firstAnswerMs: number[];
  medianMs: number;
  /** What the first answer was (the token's source for ours). */
  sample: string;
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

export async function coldStart(stack: Stack, o: ColdStartOptions): Promise<ColdStartResult> {
  const started = Date.now();
  await stack.addSecret(KEY);
  const clientKey = await stack.addClient('bench-cold');
  await stack.prime(KEY);
  const headers = { authorization: `Bearer ${clientKey}` };
  const results = new Map<ColdTarget, ColdStartTarget>();
  const order: ColdTarget[] = ['hello', 'tokenServerCache', 'tokenServer'];
  for (let trial = 0; trial < o.trials; trial++) {
    for (const target of order) {
      const fn = await spawnBenchFunction({
        target,
        ...(target === 'hello'
          ? { source: join(repoRoot(), 'lib', 'bench', 'hello') }
          : o.source === undefined
            ? {}
            : { source: o.source }),
        env: stack.env.env,
        logFile: join(o.resultsDir, `cold-${target}.log`),
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
        const entry = results.get(target) ?? {
          target,
          firstAnswerMs: [],
          medianMs: 0,
          sample: answer.body.replace(/"token":"[^"]*"/, '"token":"…"'),
        };
        entry.firstAnswerMs.push(round(ms, 1));
        results.set(target, entry);
      } finally {
        await fn.stop();
      }
    }
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
  return (['tokenServerCache', 'tokenServer'] as const).map((t) =>
    row(
      s,
      `${t}: first served token (database hit, client key)`,
      describe(t),
      baseline,
      `≤ hello + ${r.goalOverHelloMs} ms`,
      (get(t)?.medianMs ?? Infinity) <= hello + r.goalOverHelloMs,
    ),
  );
}
