/**
 * Scenario 2, stampede: several function processes on one Firestore (the emulator), and a crowd of
 * requests, spread over them, for a secret that has no token yet, sent all at once and staggered
 * evenly over 300 ms, with a provider that takes PROVIDER_LATENCY_MS (200 ms). Measured: upstream
 * calls (the fake provider counts them per secret; target exactly 1) and latency percentiles against
 * the same crowd for a secret that has a token (all hits: what the burst itself costs on this
 * machine), targets p50 ≤ all-hit p50 + provider + 100 ms and p99 ≤ all-hit p99 + provider + 250
 * ms. Baselines from the same run: the provider's own latency, one miss alone, the all-hit crowds
 * (one before each round of misses, pooled like the misses).
 * The processes log at debug, so that every request (hits too) has its line for the in-function
 * latency. Right after a start, before any warm-up: one round of misses, and (at another set of
 * fresh processes) one crowd of hits, what a fresh process's first crowd costs without a miss.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processCpuSeconds, threadCpuSeconds } from '../cpu';
import { crowd, get } from '../crowd';
import { startBenchFunction, type BenchFunction } from '../processes';
import { row, fmt, type Row } from '../report';
import { PRESET, REALM, type Stack } from '../stack';
import { repoRoot } from '../../test/helpers/processes';
import { latencySummary, mean, percentile, round, type LatencySummary } from '../stats';
import type { InstanceKind } from '../sim';

export interface StampedeOptions {
  processes: InstanceKind[];
  /** Serve another build of the functions (a folder with package.json), e.g. to try a patch. */
  source?: string;
  requests: number;
  /** Rounds of each arrival pattern. */
  rounds: number;
  /** How long the first round of misses waits after the processes answered /healthz (ms). */
  firstRoundAfterMs: number;
  /** The provider's latency during this scenario (ms). */
  providerLatencyMs: number;
  resultsDir: string;
}

export interface StampedeRound {
  key: string;
  upstreamCalls: number;
  statuses: Record<string, number>;
  distinctTokens: number;
  /** From each request's dispatch to the end of its response (ms). */
  latencyMs: LatencySummary;
  /**
   * Inside the function processes (their request log's latencyMs: from our handler's start to the
   * reply): the rest of latencyMs is connection set-up and waiting for a turn on the shared CPU.
   */
  serverLatencyMs: LatencySummary | undefined;
  /** From the first request's dispatch to the last one's (ms): the crowd's arrival spread. */
  dispatchSpreadMs: number;
  /**
   * CPU seconds the function processes used from the crowd's dispatch to its last answer (/proc:
   * 10 ms steps; undefined off Linux): all their threads, and their main threads (the JavaScript;
   * the rest is V8's compiler and GC threads and libuv's pool).
   */
  functionCpuS?: { all: number; main: number };
}

export type Arrival = 'simultaneous' | 'staggered';

export interface StampedePattern {
  arrival: Arrival;
  /** Dispatch spread asked for (ms). */
  staggerMs: number;
  /** The same crowd, same arrival, for a secret that has a valid token (every request a hit). */
  hitCrowd: StampedeRound;
  rounds: StampedeRound[];
  /** All rounds together. */
  latencyMs: LatencySummary;
  serverLatencyMs: LatencySummary | undefined;
  goals: { upstreamCalls: number; p50Ms: number; p99Ms: number };
}

export interface StampedeResult {
  processes: string[];
  requestsPerRound: number;
  providerLatencyMs: { configured: number; measuredMedian: number };
  /** One request alone, no token yet: provider latency + a lease and a write. */
  soloMissMs: number;
  patterns: StampedePattern[];
  /**
   * One round of misses at once right after the processes first answered /healthz, before the
   * warm-up requests and the pooled rounds: what the first stampede after a deploy meets.
   */
  firstAfterStart: StampedeRound;
  /** How long after the start it was sent (--first-round-after; 0: at once). */
  firstRoundAfterMs: number;
  /**
   * The same crowd at once, all hits (a secret with a token), at another set of processes right
   * after their start: what a first crowd costs a fresh process when nothing misses.
   */
  firstHitsAfterStart: StampedeRound;
  /**
   * The floor of a fresh process's first crowd: hello world (bench/hello/hello.ts, on the same
   * Functions Framework) at as many fresh processes, each having answered once, the same wait after
   * the start, then the same crowd at once, then `rounds` more such crowds. What a first crowd at
   * new processes costs over later ones in the framework alone (code not yet compiled), whatever
   * the function does. (Not the raw read: its crowd makes one read per request, where ours makes
   * one per process, and takes seconds.)
   */
  firstCrowdFloor: { first: LatencySummary; later: LatencySummary; laterP50s: number[] };
  upstreamCallsMax: number;
  seconds: number;
}

const STAGGER_MS = 300;

/** latencyMs of the request log lines for one secret in the processes' log files. */
function serverLatencies(logFiles: readonly string[], key: string): number[] {
  const out: number[] = [];
  for (const file of logFiles) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{') || !line.includes(`"key":"${key}"`)) continue;
      try {
        const entry = JSON.parse(line) as { event?: unknown; key?: unknown; latencyMs?: unknown };
        if (entry.event === 'request' && entry.key === key && typeof entry.latencyMs === 'number') {
          out.push(entry.latencyMs);
        }
      } catch {
        // not one of our log lines
      }
    }
  }
  return out;
}

function mergeCounts(counts: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const c of counts) for (const [k, n] of Object.entries(c)) merged[k] = (merged[k] ?? 0) + n;
  return merged;
}

export async function stampede(stack: Stack, o: StampedeOptions): Promise<StampedeResult> {
  const started = Date.now();
  const clientKey = await stack.addClient('bench-stampede');
  const headers = { authorization: `Bearer ${clientKey}` };
  /** Every process started, of both sets (stopped at the end, whatever happens). */
  const everyStarted: BenchFunction[] = [];
  /** One fresh process per target, logging at debug (each set's log files named by `set`). */
  const startSet = async (set: string): Promise<{ procs: BenchFunction[]; logFiles: string[] }> => {
    const procs: BenchFunction[] = [];
    const logFiles: string[] = [];
    for (const [i, target] of o.processes.entries()) {
      logFiles.push(join(o.resultsDir, `stampede-${set}${i}-${target}.log`));
      const p = await startBenchFunction({
        target,
        ...(o.source === undefined ? {} : { source: o.source }),
        env: { ...stack.env.env, TOKEN_SERVER_LOG_LEVEL: 'debug' },
        logFile: logFiles[i] as string,
      });
      everyStarted.push(p);
      procs.push(p);
    }
    return { procs, logFiles };
  };
  stack.fake.setLatency(o.providerLatencyMs);
  try {
    const tokenUrl = (p: BenchFunction, key: string, extra = '') =>
      `${p.url}/api/token?realm=${REALM}&key=${key}${extra}`;

    const floorOfFirstCrowd = async (): Promise<StampedeResult['firstCrowdFloor']> => {
      const hellos: BenchFunction[] = [];
      for (const [i] of o.processes.entries()) {
        const p = await startBenchFunction({
          target: 'hello',
          source: join(repoRoot(), 'lib', 'bench', 'hello'),
          env: stack.env.env,
          logFile: join(o.resultsDir, `stampede-floor${i}-hello.log`),
        });
        everyStarted.push(p);
        hellos.push(p);
      }
      try {
        // As ours have answered /healthz.
        for (const p of hellos) {
          const a = await get(`${p.url}/hello`, {});
          if (a.status !== 200) throw new Error(`hello world answered ${a.status}`);
        }
        await new Promise((resolve) => setTimeout(resolve, o.firstRoundAfterMs));
        const at = (i: number) => `${(hellos[i % hellos.length] as BenchFunction).url}/hello`;
        const first = await crowd(o.requests, at, {});
        if (first.answers.some((a) => a.status !== 200)) throw new Error('hello world failed');
        const later: number[] = [];
        const laterP50s: number[] = [];
        for (let r = 0; r < o.rounds; r++) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          const { answers } = await crowd(o.requests, at, {});
          if (answers.some((a) => a.status !== 200)) throw new Error('hello world failed');
          const ms = answers.map((a) => a.ms);
          later.push(...ms);
          laterP50s.push(round(percentile(ms, 50), 1));
        }
        return {
          first: latencySummary(first.answers.map((a) => a.ms)),
          later: latencySummary(later),
          laterP50s,
        };
      } finally {
        await Promise.all(hellos.map((p) => p.stop()));
      }
    };

    type ProcessSet = Awaited<ReturnType<typeof startSet>>;
    const roundAt = async (
      set: ProcessSet,
      key: string,
      staggerMs: number,
    ): Promise<StampedeRound & { msAll: number[]; serverAll: number[] }> => {
      const { procs, logFiles } = set;
      const callsBefore = stack.callsFor(key);
      const cpu = () => {
        let all = 0;
        let main = 0;
        for (const p of procs) {
          const a = processCpuSeconds(p.pid);
          const m = threadCpuSeconds(p.pid, p.pid);
          if (a === undefined || m === undefined) return undefined;
          all += a;
          main += m;
        }
        return { all, main };
      };
      const cpuBefore = cpu();
      const { answers, dispatchSpreadMs } = await crowd(
        o.requests,
        (i) => tokenUrl(procs[i % procs.length] as BenchFunction, key),
        headers,
        staggerMs,
      );
      const cpuAfter = cpu();
      const statuses: Record<string, number> = {};
      for (const a of answers) statuses[String(a.status)] = (statuses[String(a.status)] ?? 0) + 1;
      // The processes write each request's log line as they answer; give the files a moment.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const server = serverLatencies(logFiles, key);
      return {
        key,
        upstreamCalls: stack.callsFor(key) - callsBefore,
        statuses,
        distinctTokens: new Set(answers.map((a) => a.token).filter((t) => t !== undefined)).size,
        latencyMs: latencySummary(answers.map((a) => a.ms)),
        serverLatencyMs: server.length === 0 ? undefined : latencySummary(server),
        msAll: answers.map((a) => a.ms),
        serverAll: server,
        dispatchSpreadMs,
        ...(cpuBefore === undefined || cpuAfter === undefined
          ? {}
          : {
              functionCpuS: {
                all: round(cpuAfter.all - cpuBefore.all, 2),
                main: round(cpuAfter.main - cpuBefore.main, 2),
              },
            }),
      };
    };

    // A first crowd of hits at fresh processes of their own, stopped before the others start.
    const hitSet = await startSet('hits-');
    await stack.addSecret('first-hits-after-start');
    await stack.prime('first-hits-after-start');
    const {
      msAll: _firstHitMs,
      serverAll: _firstHitServer,
      ...firstHitsAfterStart
    } = await roundAt(hitSet, 'first-hits-after-start', 0);
    await Promise.all(hitSet.procs.map((p) => p.stop()));

    const firstCrowdFloor = await floorOfFirstCrowd();

    const main = await startSet('');
    const { procs } = main;
    const round1 = (key: string, staggerMs: number) => roundAt(main, key, staggerMs);

    // The first round after the start: the processes have answered /healthz (their runtime is
    // built) and nothing else, as after a deploy.
    await stack.addSecret('first-after-start');
    // Ordinarily at once; --first-round-after gives the processes' idle warm-up time to finish.
    await new Promise((resolve) => setTimeout(resolve, o.firstRoundAfterMs));
    const {
      msAll: _firstMs,
      serverAll: _firstServer,
      ...firstAfterStart
    } = await round1('first-after-start', 0);

    // Warm every process: the runtime, the Firestore client (a read and a transaction), the client-key cache.
    await stack.addSecret('warm');
    for (const p of procs) {
      for (const extra of ['', '&flush=true']) {
        const a = await get(tokenUrl(p, 'warm', extra), headers);
        if (a.status !== 200) throw new Error(`warming ${p.target} answered ${a.status}`);
      }
    }

    // Baselines: the provider alone, and one request alone for a secret with no token.
    const values = stack.fake.credentials(PRESET, 0);
    const direct: number[] = [];
    for (let i = 0; i < 5; i++) {
      const a = await get(
        `${stack.fake.url}/cgi-bin/token?grant_type=client_credential&appid=${values.key_1}&secret=${values.key_2}`,
        {},
      );
      direct.push(a.ms);
    }
    await stack.addSecret('solo');
    const solo = await get(tokenUrl(procs[0] as BenchFunction, 'solo'), headers);
    if (solo.status !== 200) throw new Error(`the solo miss answered ${solo.status}`);

    const patterns: StampedePattern[] = [];
    for (const [arrival, staggerMs] of [
      ['simultaneous', 0],
      ['staggered', STAGGER_MS],
    ] as const) {
      // Baseline: the same crowd, every request a hit (a secret of its own, with a token), one
      // before each round of misses, so that both see the machine as it is in those seconds.
      const hitRounds: StampedeRound[] = [];
      const hitAll: number[] = [];
      const hitServerAll: number[] = [];
      const rounds: StampedeRound[] = [];
      const all: number[] = [];
      const allServer: number[] = [];
      for (let r = 1; r <= o.rounds; r++) {
        const hitKey = `hits-${arrival}-${r}`;
        await stack.addSecret(hitKey);
        await stack.prime(hitKey);
        for (const p of procs) await get(tokenUrl(p, hitKey), headers);
        const { msAll: hitMs, serverAll: hitServer, ...hits } = await round1(hitKey, staggerMs);
        hitAll.push(...hitMs);
        hitServerAll.push(...hitServer);
        hitRounds.push(hits);
        const key = `stampede-${arrival}-${r}`;
        await stack.addSecret(key);
        const { msAll, serverAll, ...one } = await round1(key, staggerMs);
        all.push(...msAll);
        allServer.push(...serverAll);
        rounds.push(one);
      }
      const hitCrowd: StampedeRound = {
        key: `hits-${arrival}-*`,
        upstreamCalls: hitRounds.reduce((n, h) => n + h.upstreamCalls, 0),
        statuses: mergeCounts(hitRounds.map((h) => h.statuses)),
        distinctTokens: Math.max(...hitRounds.map((h) => h.distinctTokens)),
        latencyMs: latencySummary(hitAll),
        serverLatencyMs: hitServerAll.length === 0 ? undefined : latencySummary(hitServerAll),
        dispatchSpreadMs: Math.max(...hitRounds.map((h) => h.dispatchSpreadMs)),
      };
      patterns.push({
        arrival,
        staggerMs,
        hitCrowd,
        rounds,
        latencyMs: latencySummary(all),
        serverLatencyMs: allServer.length === 0 ? undefined : latencySummary(allServer),
        goals: {
          upstreamCalls: 1,
          p50Ms: round(hitCrowd.latencyMs.p50 + o.providerLatencyMs + 100, 1),
          p99Ms: round(hitCrowd.latencyMs.p99 + o.providerLatencyMs + 250, 1),
        },
      });
    }
    return {
      processes: o.processes,
      requestsPerRound: o.requests,
      providerLatencyMs: {
        configured: o.providerLatencyMs,
        measuredMedian: round(percentile(direct, 50), 1),
      },
      soloMissMs: round(solo.ms, 1),
      patterns,
      firstAfterStart,
      firstRoundAfterMs: o.firstRoundAfterMs,
      firstHitsAfterStart,
      firstCrowdFloor,
      upstreamCallsMax: Math.max(...patterns.flatMap((p) => p.rounds.map((x) => x.upstreamCalls))),
      seconds: round((Date.now() - started) / 1000, 1),
    };
  } finally {
    stack.fake.setLatency(stack.providerLatencyMs);
    await Promise.all(everyStarted.map((p) => p.stop()));
  }
}

export function stampedeRows(r: StampedeResult): Row[] {
  const out: Row[] = [];
  for (const p of r.patterns) {
    const how = p.arrival === 'simultaneous' ? 'at once' : `staggered over ${p.staggerMs} ms`;
    const s = `2 stampede (${r.processes.length} processes, ${fmt(r.requestsPerRound)} misses ${how}, ${p.rounds.length} rounds, provider ${r.providerLatencyMs.configured} ms)`;
    const ok = p.rounds.every((x) => x.statuses['200'] === r.requestsPerRound && x.distinctTokens === 1);
    const hit = p.hitCrowd.latencyMs;
    const above = (v: number, base: number) => `+${round(v - base, 1)}`;
    out.push(
      row(
        s,
        'upstream calls per round',
        p.rounds.map((x) => x.upstreamCalls).join(', ') +
          (ok ? ' (all 200, one token)' : ' (NOT all 200 / one token)'),
        `without a broker: ${fmt(r.requestsPerRound)}`,
        `exactly ${p.goals.upstreamCalls}`,
        ok && p.rounds.every((x) => x.upstreamCalls === p.goals.upstreamCalls),
      ),
      row(
        s,
        'latency p50 / p99 / max',
        `${p.latencyMs.p50} / ${p.latencyMs.p99} / ${p.latencyMs.max} ms (${above(p.latencyMs.p50, hit.p50)} / ${above(p.latencyMs.p99, hit.p99)} ms above all hits)`,
        `same crowd, all hits: ${hit.p50} / ${hit.p99} ms; provider ${r.providerLatencyMs.measuredMedian} ms; one miss alone ${r.soloMissMs} ms`,
        `p50 ≤ ${p.goals.p50Ms}, p99 ≤ ${p.goals.p99Ms} ms (hits + provider + 100 / + 250)`,
        p.latencyMs.p50 <= p.goals.p50Ms && p.latencyMs.p99 <= p.goals.p99Ms,
      ),
      row(
        s,
        'inside the functions p50 / p99',
        p.serverLatencyMs === undefined
          ? 'no request logs'
          : `${p.serverLatencyMs.p50} / ${p.serverLatencyMs.p99} ms`,
        `same crowd, all hits: ${p.hitCrowd.serverLatencyMs === undefined ? '?' : `${p.hitCrowd.serverLatencyMs.p50} / ${p.hitCrowd.serverLatencyMs.p99} ms`}`,
        'info',
        'info',
      ),
    );
    if (p.arrival === 'simultaneous') {
      const f = r.firstAfterStart;
      const signed = (v: number, base: number) => `${v >= base ? '+' : '−'}${round(Math.abs(v - base), 1)}`;
      out.push(
        row(
          s,
          r.firstRoundAfterMs === 0
            ? 'first round after a start (before any warm-up): p50 / p99, upstream calls'
            : `first round ${r.firstRoundAfterMs} ms after a start (idle warm-up done): p50 / p99, upstream calls`,
          `${f.latencyMs.p50} / ${f.latencyMs.p99} ms (${signed(f.latencyMs.p50, p.latencyMs.p50)} / ${signed(f.latencyMs.p99, p.latencyMs.p99)} ms against the pooled rounds); ${f.upstreamCalls} call${f.statuses['200'] === r.requestsPerRound && f.distinctTokens === 1 ? ' (all 200, one token)' : ' (NOT all 200 / one token)'}`,
          `pooled rounds: ${p.latencyMs.p50} / ${p.latencyMs.p99} ms (p50 of each, the 2nd to ${p.rounds.length + 1}th round of misses after the start: ${p.rounds.map((x) => x.latencyMs.p50).join(', ')} ms); inside the functions ${f.serverLatencyMs === undefined ? '?' : `${f.serverLatencyMs.p50} / ${f.serverLatencyMs.p99} ms`}`,
          'info',
          'info',
        ),
      );
      const cpuOf = (x: StampedeRound) =>
        x.functionCpuS === undefined ? '?' : `${x.functionCpuS.all} / ${x.functionCpuS.main} s`;
      const pooledCpu = p.rounds.flatMap((x) => (x.functionCpuS === undefined ? [] : [x.functionCpuS]));
      out.push(
        row(
          s,
          'CPU the 4 function processes used per round: all threads / main threads',
          `first round ${cpuOf(f)}; first crowd of hits (its own processes) ${cpuOf(r.firstHitsAfterStart)}`,
          pooledCpu.length === 0
            ? 'pooled rounds: ?'
            : `pooled rounds: ${round(mean(pooledCpu.map((c) => c.all)), 2)} / ${round(mean(pooledCpu.map((c) => c.main)), 2)} s on average (${p.rounds.map(cpuOf).join('; ')})`,
          'info',
          'info',
        ),
      );
      const h = r.firstHitsAfterStart;
      const allHit = h.statuses['200'] === r.requestsPerRound && h.upstreamCalls === 0;
      out.push(
        row(
          s,
          'first crowd after a start, all hits (fresh processes of their own): p50 / p99',
          `${h.latencyMs.p50} / ${h.latencyMs.p99} ms (${signed(h.latencyMs.p50, hit.p50)} / ${signed(h.latencyMs.p99, hit.p99)} ms against the pooled all-hit crowds)${allHit ? '' : ' (NOT all 200 without a call)'}; the first round of misses ${signed(f.latencyMs.p50, h.latencyMs.p50)} ms over it at p50`,
          `pooled all-hit crowds: ${hit.p50} / ${hit.p99} ms; inside the functions ${h.serverLatencyMs === undefined ? '?' : `${h.serverLatencyMs.p50} / ${h.serverLatencyMs.p99} ms`}`,
          'info',
          'info',
        ),
      );
      const fl = r.firstCrowdFloor;
      out.push(
        row(
          s,
          "floor: hello world's first crowd at fresh processes (same wait): p50 / p99",
          `${fl.first.p50} / ${fl.first.p99} ms (${signed(fl.first.p50, fl.later.p50)} / ${signed(fl.first.p99, fl.later.p99)} ms against its later crowds); ours: first hits ${signed(h.latencyMs.p50, hit.p50)}, first misses ${signed(f.latencyMs.p50, p.latencyMs.p50)} ms at p50 against their pooled crowds`,
          `its ${fl.laterP50s.length} later crowds: ${fl.later.p50} / ${fl.later.p99} ms (p50 of each: ${fl.laterP50s.join(', ')} ms)`,
          'info',
          'info',
        ),
      );
    }
  }
  return out;
}
