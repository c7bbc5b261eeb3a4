/**
 * Scenario 1, hit throughput. autocannon (its own process) against one function process at a time,
 * every process on the same Functions Framework: hello world, hello world behind firebase-functions'
 * onRequest (as ours is), tokenServerCache (memory hit), tokenServer (database hit) and a raw
 * firebase-admin read of the same token document. They are measured forwards then backwards
 * (A B C D E E D C B A), so that a change in the machine's load during the run falls on all alike. Every process runs with --cpu-prof; the profiles are summarised into the
 * results, and CPU time per request is measured beside throughput.
 */
import { join } from 'node:path';
import { cpuWindow, type CpuWindow } from '../cpu';
import { runLoad, type LoadResult } from '../load';
import { startBenchFunction, type BenchFunction } from '../processes';
import { summariseProfile, type ProfileSummary } from '../profile';
import { row, fmt, type Row } from '../report';
import { REALM, type Stack } from '../stack';
import { mean, round } from '../stats';
import { secretDocId, COLLECTIONS } from '../../functions/store/store';
import { repoRoot } from '../../test/helpers/processes';

export interface HitOptions {
  /** Serve token-server from another build (a folder with package.json), e.g. to try a patch. */
  source?: string;
  connections: number;
  durationS: number;
  warmupS: number;
  resultsDir: string;
}

export type HitTarget =
  | 'hello'
  | 'helloOnRequest'
  | 'tokenServerCache'
  | 'rawRead'
  | 'rawReadRest'
  | 'tokenServer'
  | 'tokenServerGrpc';

/**
 * The function each target serves, and its Firestore transport when it is not the function's
 * default (ours: REST, TOKEN_SERVER_FIRESTORE_TRANSPORT; the raw read: gRPC, BENCH_TRANSPORT).
 */
const SERVES: Record<HitTarget, { fn: string; env?: Record<string, string> }> = {
  hello: { fn: 'hello' },
  helloOnRequest: { fn: 'helloOnRequest' },
  tokenServerCache: { fn: 'tokenServerCache' },
  rawRead: { fn: 'rawRead' },
  rawReadRest: { fn: 'rawRead', env: { BENCH_TRANSPORT: 'rest' } },
  tokenServer: { fn: 'tokenServer' },
  tokenServerGrpc: { fn: 'tokenServer', env: { TOKEN_SERVER_FIRESTORE_TRANSPORT: 'grpc' } },
};

export interface HitRun {
  load: LoadResult;
  cpu: CpuWindow;
  /** CPU time of the function process per request (µs). */
  cpuUsPerRequest: number | undefined;
}

export interface HitTargetResult {
  target: HitTarget;
  /** What one request does. */
  what: string;
  runs: HitRun[];
  requestsPerSecond: number;
  cpuUsPerRequest: number | undefined;
  failed: number;
  /** One response before the runs (shows the source: memory or database). */
  sample: string;
  profile: ProfileSummary | { error: string };
  /** The profile's active CPU time over every request the process served (warmup included), µs. */
  profileUsPerRequest: number | undefined;
}

export interface HitResult {
  connections: number;
  durationS: number;
  warmupS: number;
  order: string;
  targets: HitTargetResult[];
  cacheOverHello: number;
  /** Memory hit over hello world behind the same firebase-functions wrapper (for analysis). */
  cacheOverHelloOnRequest: number;
  serverOverRawRead: number;
  /** Database hit over hello world (issue 18's target). */
  serverOverHello: number;
  /** The database hit over gRPC (TOKEN_SERVER_FIRESTORE_TRANSPORT=grpc) over hello world, and over the REST one. */
  serverGrpcOverHello: number;
  serverOverServerGrpc: number;
  /** The raw read over REST over the raw read over gRPC. */
  rawRestOverRawGrpc: number;
  /** The same ratios from CPU time per request (baseline µs / ours µs): less sensitive to other load. */
  cpuCacheOverHello: number | undefined;
  cpuServerOverRawRead: number | undefined;
  cpuServerOverHello: number | undefined;
  goals: { cacheOverHello: number; serverOverHello: number };
  seconds: number;
}

const KEY = 'hit';

const WHAT: Record<HitTarget, string> = {
  hello: 'hello-world function (baseline)',
  helloOnRequest: 'hello world behind firebase-functions onRequest (for analysis)',
  tokenServerCache: 'GET /api/token, memory hit, client key',
  rawRead: 'one firebase-admin read of the token document over gRPC (baseline)',
  rawReadRest: 'one firebase-admin read of the token document over REST (baseline)',
  tokenServer: 'GET /api/token, database hit, client key (Firestore over REST, the default)',
  tokenServerGrpc: 'GET /api/token, database hit, client key, Firestore over gRPC',
};

interface Running {
  target: HitTarget;
  fn: BenchFunction;
  runs: HitRun[];
  sample: string;
  /** Every request served, warmups included (for the profile's per-request figures). */
  served: number;
}

const BASELINES: ReadonlySet<HitTarget> = new Set(['hello', 'helloOnRequest', 'rawRead', 'rawReadRest']);

export async function hitThroughput(stack: Stack, o: HitOptions): Promise<HitResult> {
  const started = Date.now();
  await stack.addSecret(KEY);
  const clientKey = await stack.addClient('bench-hit');
  await stack.prime(KEY);
  const helloSource = join(repoRoot(), 'lib', 'bench', 'hello');
  const headers = { authorization: `Bearer ${clientKey}` };
  const path = `/api/token?realm=${REALM}&key=${KEY}`;
  const env = { ...stack.env.env, BENCH_READ_DOC: `${COLLECTIONS.tokens}/${secretDocId(REALM, KEY)}` };

  const start = async (target: HitTarget): Promise<Running> => {
    const baseline = BASELINES.has(target);
    const fn = await startBenchFunction({
      target: SERVES[target].fn,
      ...(baseline ? { source: helloSource } : o.source === undefined ? {} : { source: o.source }),
      env: { ...env, ...SERVES[target].env },
      logFile: join(o.resultsDir, `hit-${target}.log`),
      cpuProfile: { dir: o.resultsDir, name: `hit-${target}.cpuprofile` },
    });
    const res = await fetch(`${fn.url}${path}`, { headers });
    const sample = (await res.text()).replace(/"token":"[^"]*"/, '"token":"…"');
    if (res.status !== 200) {
      await fn.stop();
      throw new Error(`${target} answered ${res.status}: ${sample}`);
    }
    return { target, fn, runs: [], sample, served: 1 };
  };
  const measure = async (r: Running): Promise<void> => {
    const close = cpuWindow(r.fn.pid);
    const load = await runLoad({
      url: `${r.fn.url}${path}`,
      connections: o.connections,
      durationS: o.durationS,
      headers,
    });
    const cpu = close();
    const cpuUsPerRequest =
      cpu.functionCpuSeconds === undefined
        ? undefined
        : round((cpu.functionCpuSeconds * 1e6) / load.totalRequests, 1);
    r.runs.push({ load, cpu, cpuUsPerRequest });
    r.served += load.totalRequests;
  };

  const results: HitTargetResult[] = [];
  // One group, so that every ratio (ours over hello world, a database hit over the raw read) is of
  // runs of the same minutes, interleaved; the raw read's two runs come last, because the load it
  // puts on the emulator lingers (its JVM works on for seconds) and would slow whatever ran next.
  const groups: HitTarget[][] = [
    [
      'hello',
      'helloOnRequest',
      'tokenServerCache',
      'tokenServer',
      'tokenServerGrpc',
      'rawRead',
      'rawReadRest',
    ],
  ];
  const LAST: ReadonlySet<HitTarget> = new Set(['rawRead', 'rawReadRest']);
  for (const targets of groups) {
    const group: Running[] = [];
    try {
      for (const t of targets) group.push(await start(t));
      for (const r of o.warmupS > 0 ? group : []) {
        const warm = await runLoad({
          url: `${r.fn.url}${path}`,
          connections: o.connections,
          durationS: o.warmupS,
          headers,
        });
        r.served += warm.totalRequests;
      }
      const interleaved = group.filter((r) => !LAST.has(r.target));
      const last = group.filter((r) => LAST.has(r.target));
      for (const r of [...interleaved, ...[...interleaved].reverse(), ...last, ...[...last].reverse()]) {
        await measure(r);
      }
    } finally {
      await Promise.all(group.map((r) => r.fn.stop()));
    }
    for (const r of group) {
      let profile: HitTargetResult['profile'];
      try {
        profile = summariseProfile(r.fn.profilePath ?? '');
      } catch (err) {
        profile = { error: (err as Error).message };
      }
      const cpus = r.runs.map((x) => x.cpuUsPerRequest);
      results.push({
        target: r.target,
        what: WHAT[r.target],
        runs: r.runs,
        requestsPerSecond: round(mean(r.runs.map((x) => x.load.requestsPerSecond)), 0),
        cpuUsPerRequest: cpus.every((c) => c !== undefined) ? round(mean(cpus), 1) : undefined,
        failed: r.runs.reduce((s, x) => s + x.load.non2xx + x.load.errors + x.load.timeouts, 0),
        sample: r.sample,
        profile,
        profileUsPerRequest:
          'activeMs' in profile ? round((profile.activeMs * 1000) / r.served, 1) : undefined,
      });
    }
  }
  const get = (t: HitTarget) => results.find((r) => r.target === t);
  const ratio = (ours: HitTarget, base: HitTarget) =>
    round((get(ours)?.requestsPerSecond ?? NaN) / (get(base)?.requestsPerSecond ?? NaN), 3);
  const cpuRatio = (ours: HitTarget, base: HitTarget) => {
    const x = get(ours)?.cpuUsPerRequest;
    const y = get(base)?.cpuUsPerRequest;
    return x === undefined || y === undefined ? undefined : round(y / x, 3);
  };
  return {
    connections: o.connections,
    durationS: o.durationS,
    warmupS: o.warmupS,
    order:
      'forwards then backwards (A B C D E E D C B A), then the raw reads (F G G F), each run durationS, after a warmup of warmupS each',
    targets: results,
    cacheOverHello: ratio('tokenServerCache', 'hello'),
    cacheOverHelloOnRequest: ratio('tokenServerCache', 'helloOnRequest'),
    serverOverRawRead: ratio('tokenServer', 'rawRead'),
    serverOverHello: ratio('tokenServer', 'hello'),
    serverGrpcOverHello: ratio('tokenServerGrpc', 'hello'),
    serverOverServerGrpc: ratio('tokenServer', 'tokenServerGrpc'),
    rawRestOverRawGrpc: ratio('rawReadRest', 'rawRead'),
    cpuCacheOverHello: cpuRatio('tokenServerCache', 'hello'),
    cpuServerOverRawRead: cpuRatio('tokenServer', 'rawRead'),
    cpuServerOverHello: cpuRatio('tokenServer', 'hello'),
    goals: { cacheOverHello: 0.9, serverOverHello: 0.8 },
    seconds: round((Date.now() - started) / 1000, 1),
  };
}

export function hitRows(r: HitResult): Row[] {
  const get = (t: HitTarget) => r.targets.find((x) => x.target === t);
  const describe = (t: HitTarget) => {
    const x = get(t);
    if (x === undefined) return 'not run';
    const cpu = x.cpuUsPerRequest === undefined ? '' : `, ${fmt(x.cpuUsPerRequest)} µs CPU/req`;
    return `${fmt(x.requestsPerSecond)} req/s${cpu}${x.failed > 0 ? `, ${x.failed} failed` : ''}`;
  };
  const ok = (t: HitTarget) => get(t)?.failed === 0;
  const cpu = (v: number | undefined) => (v === undefined ? '' : ` (CPU: ${v}×)`);
  const s = `1 hit throughput (-c ${r.connections}, 2×${r.durationS} s each)`;
  return [
    row(
      s,
      'tokenServerCache memory hit',
      `${describe('tokenServerCache')} = ${r.cacheOverHello}×${cpu(r.cpuCacheOverHello)}`,
      `hello world: ${describe('hello')}`,
      `≥ ${r.goals.cacheOverHello}×`,
      ok('tokenServerCache') && r.cacheOverHello >= r.goals.cacheOverHello,
    ),
    row(
      s,
      'tokenServerCache over hello behind onRequest',
      `${r.cacheOverHelloOnRequest}×`,
      `hello + firebase-functions onRequest: ${describe('helloOnRequest')}`,
      'info',
      'info',
    ),
    row(
      s,
      'tokenServer database hit',
      `${describe('tokenServer')} = ${r.serverOverHello}×${cpu(r.cpuServerOverHello)}`,
      `hello world: ${describe('hello')}`,
      `≥ ${r.goals.serverOverHello}×`,
      ok('tokenServer') && r.serverOverHello >= r.goals.serverOverHello,
    ),
    row(
      s,
      'tokenServer database hit over a raw read',
      `${r.serverOverRawRead}×${cpu(r.cpuServerOverRawRead)}`,
      `one firebase-admin read per request over gRPC: ${describe('rawRead')}`,
      'info',
      'info',
    ),
    row(
      s,
      'tokenServer database hit, Firestore over REST (default) vs gRPC',
      `REST ${r.serverOverHello}× vs gRPC ${r.serverGrpcOverHello}× of hello world (REST/gRPC ${r.serverOverServerGrpc}×)`,
      `over gRPC: ${describe('tokenServerGrpc')}; raw read REST/gRPC ${r.rawRestOverRawGrpc}× (${describe('rawReadRest')})`,
      'info',
      'info',
    ),
  ];
}
