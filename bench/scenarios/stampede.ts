/**
 * Scenario 2, stampede: several function processes on one Firestore (the emulator), and a crowd of
 * concurrent requests, spread over them, for a secret that has no token yet. Measured: upstream
 * calls (the fake provider counts them per secret; target exactly 1) and latency percentiles
 * (target: p99 within the provider's latency + 250 ms). Baselines from the same run: the provider's
 * own latency, and one request alone for a secret with no token.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { startBenchFunction, type BenchFunction } from '../processes';
import { row, fmt, type Row } from '../report';
import { PRESET, REALM, type Stack } from '../stack';
import { latencySummary, percentile, round, type LatencySummary } from '../stats';
import type { InstanceKind } from '../sim';

export interface StampedeOptions {
  processes: InstanceKind[];
  /** Serve another build of the functions (a folder with package.json), e.g. to try a patch. */
  source?: string;
  requests: number;
  rounds: number;
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
}

export interface StampedeResult {
  processes: string[];
  requestsPerRound: number;
  providerLatencyMs: { configured: number; measuredMedian: number };
  /** One request alone, no token yet: provider latency + a lease and a write. */
  soloMissMs: number;
  /**
   * The same crowd for a secret that has a valid token (every request a hit): what the burst itself
   * costs on this machine (connections, HTTP, CPU shared by every process), with no engine waiting.
   */
  hitCrowd: StampedeRound;
  rounds: StampedeRound[];
  /** All rounds together. */
  latencyMs: LatencySummary;
  serverLatencyMs: LatencySummary | undefined;
  upstreamCallsMax: number;
  goals: { upstreamCalls: number; p99Ms: number };
  seconds: number;
}

interface Answer {
  status: number;
  ms: number;
  token: string | undefined;
}

/** One GET on a new connection (as from a separate app), timed from dispatch to the response's end. */
function get(url: string, headers: Record<string, string>): Promise<Answer> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false, headers }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        let token: string | undefined;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { token?: unknown };
          token = typeof body.token === 'string' ? body.token : undefined;
        } catch {
          token = undefined;
        }
        resolve({ status: res.statusCode ?? 0, ms, token });
      });
      res.on('error', () =>
        resolve({ status: 0, ms: Number(process.hrtime.bigint() - started) / 1e6, token: undefined }),
      );
    });
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.on('error', () =>
      resolve({ status: 0, ms: Number(process.hrtime.bigint() - started) / 1e6, token: undefined }),
    );
    req.end();
  });
}

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

export async function stampede(stack: Stack, o: StampedeOptions): Promise<StampedeResult> {
  const started = Date.now();
  const clientKey = await stack.addClient('bench-stampede');
  const headers = { authorization: `Bearer ${clientKey}` };
  const procs: BenchFunction[] = [];
  const logFiles: string[] = [];
  try {
    for (const [i, target] of o.processes.entries()) {
      logFiles.push(join(o.resultsDir, `stampede-${i}-${target}.log`));
      procs.push(
        await startBenchFunction({
          target,
          ...(o.source === undefined ? {} : { source: o.source }),
          env: stack.env.env,
          logFile: logFiles[i] as string,
        }),
      );
    }
    const tokenUrl = (p: BenchFunction, key: string, extra = '') =>
      `${p.url}/api/token?realm=${REALM}&key=${key}${extra}`;

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

    const crowd = async (key: string): Promise<StampedeRound & { msAll: number[]; serverAll: number[] }> => {
      const callsBefore = stack.callsFor(key);
      const dispatched: bigint[] = [];
      const answers = await Promise.all(
        Array.from({ length: o.requests }, (_, i) => {
          dispatched.push(process.hrtime.bigint());
          return get(tokenUrl(procs[i % procs.length] as BenchFunction, key), headers);
        }),
      );
      const statuses: Record<string, number> = {};
      for (const a of answers) statuses[String(a.status)] = (statuses[String(a.status)] ?? 0) + 1;
      const first = dispatched[0] ?? 0n;
      const last = dispatched[dispatched.length - 1] ?? 0n;
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
        dispatchSpreadMs: round(Number(last - first) / 1e6, 1),
      };
    };

    // Baseline: the same crowd, every request a hit ('warm' has a token in every process's reach).
    const { msAll: _hitMs, serverAll: _hitServer, ...hitCrowd } = await crowd('warm');
    const rounds: StampedeRound[] = [];
    const all: number[] = [];
    const allServer: number[] = [];
    for (let r = 1; r <= o.rounds; r++) {
      const key = `stampede-${r}`;
      await stack.addSecret(key);
      const { msAll, serverAll, ...round1 } = await crowd(key);
      all.push(...msAll);
      allServer.push(...serverAll);
      rounds.push(round1);
    }
    return {
      processes: o.processes,
      requestsPerRound: o.requests,
      providerLatencyMs: {
        configured: stack.providerLatencyMs,
        measuredMedian: round(percentile(direct, 50), 1),
      },
      soloMissMs: round(solo.ms, 1),
      hitCrowd,
      rounds,
      latencyMs: latencySummary(all),
      serverLatencyMs: allServer.length === 0 ? undefined : latencySummary(allServer),
      upstreamCallsMax: Math.max(...rounds.map((x) => x.upstreamCalls)),
      goals: { upstreamCalls: 1, p99Ms: stack.providerLatencyMs + 250 },
      seconds: round((Date.now() - started) / 1000, 1),
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

export function stampedeRows(r: StampedeResult): Row[] {
  const s = `2 stampede (${r.processes.length} processes, ${fmt(r.requestsPerRound)} concurrent, ${r.rounds.length} rounds)`;
  const ok = r.rounds.every((x) => x.statuses['200'] === r.requestsPerRound && x.distinctTokens === 1);
  return [
    row(
      s,
      'upstream calls per round',
      r.rounds.map((x) => x.upstreamCalls).join(', ') +
        (ok ? ' (all 200, one token)' : ' (NOT all 200 / one token)'),
      `without a broker: ${fmt(r.requestsPerRound)}`,
      `exactly ${r.goals.upstreamCalls}`,
      ok && r.rounds.every((x) => x.upstreamCalls === r.goals.upstreamCalls),
    ),
    row(
      s,
      'latency p50 / p99 / max',
      `${r.latencyMs.p50} / ${r.latencyMs.p99} / ${r.latencyMs.max} ms`,
      `same crowd, all hits: ${r.hitCrowd.latencyMs.p50} / ${r.hitCrowd.latencyMs.p99} ms; provider ${r.providerLatencyMs.measuredMedian} ms; one miss alone ${r.soloMissMs} ms`,
      `p99 ≤ ${r.goals.p99Ms} ms`,
      r.latencyMs.p99 <= r.goals.p99Ms,
    ),
    row(
      s,
      'inside the functions p50 / p99; rounds over 2 s',
      r.serverLatencyMs === undefined
        ? 'no request logs'
        : `${r.serverLatencyMs.p50} / ${r.serverLatencyMs.p99} ms; ${r.rounds.filter((x) => x.latencyMs.p50 > 2000).length} of ${r.rounds.length}`,
      `same crowd, all hits: ${r.hitCrowd.serverLatencyMs === undefined ? '?' : `${r.hitCrowd.serverLatencyMs.p50} / ${r.hitCrowd.serverLatencyMs.p99} ms`}`,
      'info',
      'info',
    ),
  ];
}
