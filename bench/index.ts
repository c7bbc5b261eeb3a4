/**
 * `npm run bench`: the benchmarks of README "Benchmarks" and issue 18 in one run. Starts what it needs (the
 * Firestore emulator, a fake provider with 50 ms latency, 200 ms during the stampede, function
 * processes), runs the scenarios, stops everything, prints a table (every figure beside a baseline
 * measured in the same run) and writes bench/results/latest.json (and latest.md, the table for the
 * README).
 *
 *   node lib/bench/index.js [--duration 10] [--warmup 3]
 *                           [--only hit,stampede,expiry,day,cost,scale,cold,clientkey,adoption,platform,ops,reseal,opshit]
 *                           [--source DIR] [--scale] [--reseal-values N] [--cold-trials N]
 *                           [--first-round-after MS]
 *   node lib/bench/index.js adoption          (scenarios named as arguments: the same as --only)
 *
 * --scale: the issues' full scale: the platform scenario with 10,000 authorizers instead of 1,000, and
 * the reseal scenario with 100,000 sealed values instead of 5,000 (--reseal-values N for another count).
 * --cold-trials N: starts of each target in the cold-start scenario (default 5; a start varies by
 * ±100 ms here, so a comparison within 50 ms wants 15 or more).
 * --first-round-after MS: the stampede's first round of misses waits this long after the processes'
 * start (default 0: at once, as after a deploy), so that their idle warm-up has finished.
 * --source serves tokenServer and tokenServerCache in the process scenarios (hit, stampede) from
 * another build (a folder with a package.json whose main is the functions' index.js), to measure a
 * patch beside the same baselines; the in-process scenarios always use this checkout.
 */
// First: nothing in this process may probe the cloud metadata server (bench/local-only.ts).
import './local-only';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setLogSink } from '../functions/log';
import { findEmulatorJar } from '../test/helpers/emulator';
import { repoRoot, stopAllChildren } from '../test/helpers/processes';
import { markdownTable, textTable, type Row } from './report';
import { startStack, type Stack } from './stack';
import {
  clientKeyReload,
  clientKeyReloadRows,
  type ClientKeyReloadResult,
} from './scenarios/client-key-reload';
import { coldStart, coldStartRows, type ColdStartResult } from './scenarios/cold-start';
import { adoption, adoptionRows, type AdoptionResult } from './scenarios/adoption';
import { costPerRequest, costRows, type CostResult } from './scenarios/cost';
import { opsCost, opsCostRows, type OpsCostResult } from './scenarios/ops-cost';
import { opsHitRows, opsHitThroughput, type OpsHitResult } from './scenarios/ops-hit';
import { resealRows, resealScale, type ResealResult } from './scenarios/reseal-scale';
import { hitRows, hitThroughput, type HitResult } from './scenarios/hit-throughput';
import { massExpiry, massExpiryRows, type MassExpiryResult } from './scenarios/mass-expiry';
import { platform as platformScenario, platformRows, type PlatformResult } from './scenarios/platform';
import { scheduledScale, scheduledScaleRows, type ScheduledScaleResult } from './scenarios/scheduled-scale';
import { stampede, stampedeRows, type StampedeResult } from './scenarios/stampede';
import { steadyDay, steadyDayRows, type SteadyDayResult } from './scenarios/steady-day';

const SCENARIOS = [
  'hit',
  'stampede',
  'expiry',
  'day',
  'cost',
  'scale',
  'cold',
  'clientkey',
  'adoption',
  'platform',
  'ops',
  'reseal',
  'opshit',
] as const;
type Scenario = (typeof SCENARIOS)[number];
/** Run only when named: 'opshit' repeats scenario 1's kind of runs (2 minutes more). */
const ON_REQUEST: ReadonlySet<Scenario> = new Set(['opshit']);
const DEFAULT_SCENARIOS = SCENARIOS.filter((s) => !ON_REQUEST.has(s));

/** Seed of the simulations' random sources: the same seed gives the same simulated results. */
const SEED = 20_261_124;
const PROVIDER_LATENCY_MS = 50;
/** The provider's latency during the stampede (issue 18's comparison). */
const STAMPEDE_PROVIDER_LATENCY_MS = 200;

interface Options {
  source: string | undefined;
  durationS: number;
  warmupS: number;
  only: Set<Scenario>;
  /** `platform`: 10,000 authorizers instead of 1,000; `reseal`: 100,000 sealed values. */
  scale: boolean;
  /** Sealed values the reseal scenario seeds. */
  resealValues: number;
  /** Starts of each target in the cold-start scenario. */
  coldTrials: number;
  /** How long the stampede's first round waits after the start (ms). */
  firstRoundAfterMs: number;
}

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      only: { type: 'string', default: DEFAULT_SCENARIOS.join(',') },
      source: { type: 'string' },
      scale: { type: 'boolean', default: false },
      'reseal-values': { type: 'string' },
      'cold-trials': { type: 'string', default: '5' },
      'first-round-after': { type: 'string', default: '0' },
    },
    strict: true,
  });
  const seconds = (v: string, name: string, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number of seconds ≥ ${min}`);
    return n;
  };
  const count = (v: string, name: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}`);
    return n;
  };
  const only = new Set<Scenario>();
  // `node lib/bench/index.js adoption stampede` is --only adoption,stampede.
  const names = positionals.length > 0 ? positionals : values.only.split(',');
  for (const name of names.map((s) => s.trim())) {
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new Error(`--only: unknown scenario ${name} (use ${SCENARIOS.join(', ')})`);
    }
    only.add(name as Scenario);
  }
  return {
    source: values.source === undefined ? undefined : resolve(values.source),
    durationS: seconds(values.duration, 'duration', 1),
    warmupS: seconds(values.warmup, 'warmup', 0),
    only,
    scale: values.scale,
    resealValues: count(values['reseal-values'] ?? (values.scale ? '100000' : '5000'), 'reseal-values', 2),
    coldTrials: count(values['cold-trials'], 'cold-trials', 1),
    firstRoundAfterMs: count(values['first-round-after'], 'first-round-after', 0),
  };
}

function sourceOf(options: Options): { source?: string } {
  return options.source === undefined ? {} : { source: options.source };
}

function versionOf(pkg: string): string {
  try {
    const manifest = JSON.parse(
      readFileSync(join(repoRoot(), 'node_modules', pkg, 'package.json'), 'utf8'),
    ) as {
      version?: string;
    };
    return manifest.version ?? '?';
  } catch {
    return '?';
  }
}

function machine(stack: Stack | undefined): Record<string, unknown> {
  const cpu = cpus();
  let emulator = 'not started';
  if (stack !== undefined) {
    if (!stack.emulator.owned) emulator = `external at ${stack.emulator.host} (FIRESTORE_EMULATOR_HOST)`;
    else {
      try {
        emulator = findEmulatorJar();
      } catch {
        emulator = 'started here';
      }
    }
  }
  return {
    cpuModel: cpu[0]?.model ?? '?',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    firestoreEmulator: emulator,
    packages: {
      '@google-cloud/functions-framework': versionOf('@google-cloud/functions-framework'),
      'firebase-functions': versionOf('firebase-functions'),
      'firebase-admin': versionOf('firebase-admin'),
      autocannon: versionOf('autocannon'),
    },
    note:
      `The load generator (autocannon, its own process), the function process under test, the Firestore ` +
      `emulator (a JVM) and this process share these ${cpu.length} cores, with whatever else runs on the machine ` +
      `(see loadAverage1m per run).`,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const resultsDir = join(repoRoot(), 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  // In-process engines (simulations, cost counting) log like the deployed ones; not wanted here.
  setLogSink(() => undefined);
  const say = (line: string) => process.stdout.write(`${line}\n`);

  // Every scenario but the two simulations needs the emulator.
  const needsStack = [...options.only].some((s) => s !== 'expiry' && s !== 'day');
  // The emulator starts while the simulations (which need nothing) run.
  const stackPromise = needsStack ? startStack(PROVIDER_LATENCY_MS) : undefined;
  stackPromise?.catch(() => undefined);
  let stack: Stack | undefined;
  const results: {
    hitThroughput?: HitResult;
    stampede?: StampedeResult;
    massExpiry?: MassExpiryResult;
    steadyDay?: SteadyDayResult;
    cost?: CostResult;
    scheduledScale?: ScheduledScaleResult;
    coldStart?: ColdStartResult;
    clientKeyReload?: ClientKeyReloadResult;
    adoption?: AdoptionResult;
    platform?: PlatformResult;
    opsCost?: OpsCostResult;
    reseal?: ResealResult;
    opsHit?: OpsHitResult;
  } = {};
  const rows: Row[] = [];
  try {
    if (options.only.has('expiry')) {
      say('3/9 mass expiry (simulated, injected clock)...');
      results.massExpiry = await massExpiry(SEED);
    }
    if (options.only.has('day')) {
      say('4/9 a simulated day at steady load (injected clock)...');
      results.steadyDay = await steadyDay(SEED);
    }
    stack = await stackPromise;
    if (stack !== undefined) {
      if (options.only.has('hit')) {
        say(
          `1/9 hit throughput: 5 functions, autocannon -c 50, ${options.warmupS} s warmup + 2 × ${options.durationS} s each...`,
        );
        results.hitThroughput = await hitThroughput(stack, {
          ...(options.source === undefined ? {} : { source: options.source }),
          connections: 50,
          durationS: options.durationS,
          warmupS: options.warmupS,
          resultsDir,
        });
      }
      if (options.only.has('stampede')) {
        say('2/9 stampede: 4 function processes, 400 misses at once and staggered, 5 rounds each...');
        results.stampede = await stampede(stack, {
          ...(options.source === undefined ? {} : { source: options.source }),
          processes: ['tokenServer', 'tokenServer', 'tokenServerCache', 'tokenServerCache'],
          requests: 400,
          rounds: 5,
          firstRoundAfterMs: options.firstRoundAfterMs,
          providerLatencyMs: STAMPEDE_PROVIDER_LATENCY_MS,
          resultsDir,
        });
      }
      if (options.only.has('cost')) {
        say('5/9 Firestore reads and writes per request...');
        results.cost = await costPerRequest(stack);
      }
      if (options.only.has('scale')) {
        say(
          '6/9 scheduled refresh at scale: 1,000 / 10,000 (emulator) / 100,000 (memory) secrets, 1 % due...',
        );
        results.scheduledScale = await scheduledScale(stack, say);
      }
      if (options.only.has('cold')) {
        say(`7/9 cold start: fresh processes to their first answer, ${options.coldTrials} each...`);
        results.coldStart = await coldStart(stack, {
          ...sourceOf(options),
          trials: options.coldTrials,
          resultsDir,
        });
      }
      if (options.only.has('clientkey')) {
        say(
          '8/9 client-key reload: 100 concurrent hits, warm, under steady traffic and after idling past the expiry, 7 rounds...',
        );
        results.clientKeyReload = await clientKeyReload(stack, {
          ...sourceOf(options),
          requests: 100,
          rounds: 7,
          resultsDir,
        });
      }
      if (options.only.has('adoption')) {
        say('9/9 adoption: 8 app processes per SDK, alone and through the broker, 20 s each...');
        results.adoption = await adoption(stack, { apps: 8, durationS: 20, overlapMs: 2_000 });
      }
      if (options.only.has('platform')) {
        say('10: platform: pushes verified and stored per second, Firestore per push, the freshness scan...');
        results.platform = await platformScenario(stack, { scale: options.scale });
      }
      if (options.only.has('ops')) {
        say('11: audit + webhooks: Firestore per change on and off, hits with them on...');
        results.opsCost = await opsCost(stack);
      }
      if (options.only.has('reseal')) {
        say(`12: reseal of ${options.resealValues} sealed values under a new master key, pages of 200...`);
        // tokenctl's page size (the route's default).
        results.reseal = await resealScale(stack, { values: options.resealValues, limit: 200, say });
      }
      if (options.only.has('opshit')) {
        say(
          `13: hit throughput with a webhook and audit records vs without, 3 functions, 4 × ${options.durationS} s each...`,
        );
        results.opsHit = await opsHitThroughput(stack, {
          connections: 50,
          durationS: options.durationS,
          warmupS: options.warmupS,
          resultsDir,
        });
      }
    }
  } finally {
    if (stack === undefined && stackPromise !== undefined) stack = await stackPromise.catch(() => undefined);
    await stack?.stop();
    await stopAllChildren();
  }

  if (results.hitThroughput) rows.push(...hitRows(results.hitThroughput));
  if (results.stampede) rows.push(...stampedeRows(results.stampede));
  if (results.massExpiry) rows.push(...massExpiryRows(results.massExpiry));
  if (results.steadyDay) rows.push(...steadyDayRows(results.steadyDay));
  if (results.cost) rows.push(...costRows(results.cost));
  if (results.scheduledScale) rows.push(...scheduledScaleRows(results.scheduledScale));
  if (results.coldStart) rows.push(...coldStartRows(results.coldStart));
  if (results.clientKeyReload) rows.push(...clientKeyReloadRows(results.clientKeyReload));
  if (results.adoption) rows.push(...adoptionRows(results.adoption));
  if (results.platform) rows.push(...platformRows(results.platform));
  if (results.opsCost) rows.push(...opsCostRows(results.opsCost));
  if (results.reseal) rows.push(...resealRows(results.reseal));
  if (results.opsHit) rows.push(...opsHitRows(results.opsHit));

  const totalSeconds = Math.round((Date.now() - started) / 100) / 10;
  const date = new Date().toISOString();
  const info = machine(stack);
  const output = {
    date,
    totalSeconds,
    machine: info,
    settings: {
      providerLatencyMs: PROVIDER_LATENCY_MS,
      stampedeProviderLatencyMs: STAMPEDE_PROVIDER_LATENCY_MS,
      simulationSeed: SEED,
      durationS: options.durationS,
      warmupS: options.warmupS,
      scenarios: [...options.only],
      functionsSource: options.source ?? 'this checkout',
    },
    table: rows,
    scenarios: results,
  };
  // Only a full run of this checkout, with runs of the length, replaces latest.json.
  const complete =
    DEFAULT_SCENARIOS.every((s) => options.only.has(s)) &&
    options.source === undefined &&
    options.durationS >= 10;
  const name = complete
    ? 'latest'
    : `partial-${[...options.only].join('-')}${options.source === undefined ? '' : '-other-source'}${options.durationS >= 10 ? '' : '-short'}`;
  writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(output, null, 2)}\n`);
  writeFileSync(
    join(resultsDir, `${name}.md`),
    `${markdownTable(rows)}\n\n${date}, ${String(info.cpuModel)}, ${String(info.cores)} cores, Node ${process.version}; ` +
      `total ${totalSeconds} s.\n`,
  );
  say('');
  say(textTable(rows));
  say('');
  say(
    `${String(info.cores)} cores (${String(info.cpuModel)}), shared by the load generator, the function and the emulator.`,
  );
  say(
    `Total ${totalSeconds} s. Results: bench/results/${name}.json (CPU profiles: bench/results/hit-*.cpuprofile).`,
  );
  if (rows.some((r) => r.verdict === 'missed')) {
    say('Some targets were missed: see README.md "Benchmarks" for why.');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
