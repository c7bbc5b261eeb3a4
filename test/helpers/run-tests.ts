/**
 * The `npm test` driver: starts one Firestore emulator for the whole run, runs mocha over every
 * compiled test suite in child processes with the emulator in their environment, stops the emulator
 * whatever happens, and ends with one plain `N passed, N failed` line.
 *
 *   node lib/test/helpers/run-tests.js [mocha options] [spec files or globs]
 *
 * Mocha options pass through (`--grep token`, `--bail`); arguments ending in `.js`, containing `*`
 * or starting with `lib/` replace the default suites. FIRESTORE_EMULATOR_HOST, when already set,
 * is used instead of starting an emulator.
 *
 * Workers (run-workers.ts): with TEST_WORKERS=N (default 1) the run's files are shared among N mocha
 * processes, each on its own emulator project, dealt by their wall time in earlier runs. The
 * first worker's output is shown as it runs, each other's when its turn comes; the last line adds
 * them up. Each worker runs the leak check over what it saw, and writes it to a dump; the check then
 * runs once more over all dumps together (leaksAcrossWorkers), and a finding fails the run.
 *
 * A watchdog stops a hung worker: when it has printed nothing for TEST_SILENCE_MS (default 10 min,
 * well above the longest per-test timeout) or the run has taken TEST_TIMEOUT_MS (default 50 min,
 * well inside CI's 90). Per-test timeouts do the fine work. When it fires, the last line still counts
 * what passed and failed until then (run-progress.ts), after naming where the run was and the
 * failures seen.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { clearEmulator, FirestoreEmulator, startEmulator } from './emulator';
import { findLeaks, mergeRegistry, registryCounts, type RegistryDump } from './leak-registry';
import {
  addShutdownHook,
  repoRoot,
  spawnTracked,
  TEST_PROJECT_ID,
  type ExitInfo,
  type TrackedChild,
} from './processes';
import {
  finalCounts,
  newProgress,
  pendingCount,
  readLine,
  stoppedReport,
  summaryLine,
  watchdogLimits,
  watchdogVerdict,
  type RunProgress,
  type Stop,
} from './run-progress';
import {
  expandSpec,
  listTestFiles,
  readTimings,
  saveTimings,
  secondsFrom,
  splitFiles,
  TIMINGS_FILE,
  workerCount,
  workerProject,
} from './run-workers';

/** Suites in the order they run: fast and self-contained first, whole processes last. */
const SUITES = ['unit', 'emulator', 'rules', 'e2e'];
const MOCHA = join('node_modules', 'mocha', 'bin', 'mocha.js');
/** How often the watchdog looks. */
const WATCHDOG_TICK_MS = 5_000;

export function splitArgs(argv: readonly string[]): { specs: string[]; mochaArgs: string[] } {
  const specs: string[] = [];
  const mochaArgs: string[] = [];
  for (const arg of argv) {
    const isSpec =
      !arg.startsWith('-') && (arg.endsWith('.js') || arg.includes('*') || arg.startsWith('lib/'));
    (isSpec ? specs : mochaArgs).push(arg);
  }
  return { specs, mochaArgs };
}

/** lib/test/SUITE/**\/*.test.js for each suite that has at least one compiled test file. */
export function defaultSpecs(root: string): string[] {
  return SUITES.filter((suite) => hasTestFile(join(root, 'lib', 'test', suite))).map(
    (suite) => `lib/test/${suite}/**/*.test.js`,
  );
}

function hasTestFile(dir: string): boolean {
  if (!existsSync(dir)) return false;
  return readdirSync(dir, { withFileTypes: true }).some((entry) =>
    entry.isDirectory() ? hasTestFile(join(dir, entry.name)) : entry.name.endsWith('.test.js'),
  );
}

/** One mocha process of the run, with what its output showed. */
interface Worker {
  index: number;
  project: string;
  files: string[];
  progress: RunProgress;
  /** Its output while another worker's is being shown (printed when its turn comes). */
  held: string[];
  lastOutputAt: number;
  stopped: Stop | undefined;
  exit: ExitInfo | undefined;
  child: TrackedChild;
}

async function main(argv: readonly string[]): Promise<number> {
  const root = repoRoot();
  const { specs, mochaArgs } = splitArgs(argv);
  const specsGiven = specs.length > 0;
  // Named spec files run in one process unless TEST_WORKERS says otherwise.
  const workers = specsGiven && (process.env.TEST_WORKERS ?? '') === '' ? 1 : workerCount(process.env);
  const files =
    workers === 1
      ? specsGiven
        ? specs
        : defaultSpecs(root)
      : specsGiven
        ? specs.flatMap((spec) => expandSpec(root, spec))
        : listTestFiles(root, SUITES);
  if (files.length === 0) {
    console.log('No compiled tests under lib/test (run `npm run build` first).');
    console.log(summaryLine(newProgress(), 0));
    return 0;
  }
  const timingsPath = join(root, TIMINGS_FILE);
  const shares = workers === 1 ? [files] : splitFiles(files, workers, secondsFrom(readTimings(timingsPath)));

  let emulator: FirestoreEmulator;
  try {
    const given = process.env.FIRESTORE_EMULATOR_HOST;
    if (given) {
      emulator = FirestoreEmulator.external(given);
      // A reused emulator may hold data from an earlier run (one just started holds none, and on a
      // loaded machine its first request can take longer than clearEmulator's 10 s).
      for (let i = 0; i < shares.length; i++)
        await clearEmulator(emulator.host, workerProject(TEST_PROJECT_ID, i));
    } else emulator = await startEmulator();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    console.log(summaryLine(newProgress(), 1));
    return 1;
  }
  console.log(
    emulator.owned
      ? `Firestore emulator started at ${emulator.host} (pid ${emulator.pid})`
      : `Using the Firestore emulator at ${emulator.host} (FIRESTORE_EMULATOR_HOST)`,
  );
  if (shares.length > 1) {
    console.log(
      `${shares.length} mocha workers (TEST_WORKERS), each on its own emulator project: ` +
        shares.map((share, i) => `worker ${i + 1} ${share.length} files`).join(', ') +
        '. The first is shown as it runs, each other one when its turn comes.',
    );
  }

  /** The workers' leak dumps (with several workers) and file timings. */
  const runDir = mkdtempSync(join(tmpdir(), 'token-server-run-'));
  const dumpDir = shares.length > 1 ? runDir : undefined;
  const pool: Worker[] = [];
  const startedAt = Date.now();
  const limits = watchdogLimits(process.env);
  let shown = 0;
  const show = (w: Worker, text: string): void => {
    if (w.index <= shown) process.stdout.write(text);
    else w.held.push(text);
  };
  /** Once the shown worker has ended, the next one's output so far, and from then on as it comes. */
  const advance = (): void => {
    while (shown < pool.length && pool[shown]!.exit !== undefined) {
      shown++;
      const next = pool[shown];
      if (next === undefined) break;
      process.stdout.write(
        `\n── worker ${next.index + 1} of ${pool.length} (${next.files.length} files) ──\n`,
      );
      process.stdout.write(next.held.splice(0).join(''));
    }
  };
  try {
    const wantsColor = process.stdout.isTTY && !mochaArgs.some((a) => /^--(no-)?colors?$|^-c$|^-C$/.test(a));
    for (const [index, share] of shares.entries()) {
      const project = workerProject(TEST_PROJECT_ID, index);
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        FIRESTORE_EMULATOR_HOST: emulator.host,
        GOOGLE_CLOUD_PROJECT: project,
        GCLOUD_PROJECT: project,
        METADATA_SERVER_DETECTION: 'none',
        ...(dumpDir === undefined ? {} : { TEST_LEAK_DUMP: join(dumpDir, `worker-${index + 1}.json`) }),
        TEST_TIMINGS_FILE: join(runDir, `timings-${index + 1}.json`),
      };
      const child = spawnTracked(
        process.execPath,
        [join(root, MOCHA), ...(wantsColor ? ['--color'] : []), ...mochaArgs, ...share],
        { cwd: root, env, stdio: ['inherit', 'pipe', 'inherit'] },
      );
      const w: Worker = {
        index,
        project,
        files: share,
        progress: newProgress(),
        held: [],
        lastOutputAt: Date.now(),
        stopped: undefined,
        exit: undefined,
        child,
      };
      pool.push(w);
      if (child.child.stdout !== null) {
        // Mocha's output goes to ours unchanged; each line is also read for the tally.
        child.child.stdout.on('data', (chunk: Buffer) => {
          w.lastOutputAt = Date.now();
          show(w, chunk.toString('utf8'));
        });
        createInterface({ input: child.child.stdout, crlfDelay: Infinity }).on('line', (line) =>
          readLine(line, w.progress),
        );
      }
    }
    const removeHook = addShutdownHook(async () => {
      console.error('\nInterrupted: stopping mocha and the Firestore emulator.');
    });
    const watchdog = setInterval(() => {
      for (const w of pool) {
        if (w.stopped !== undefined || w.exit !== undefined) continue;
        w.stopped = watchdogVerdict(limits, startedAt, w.lastOutputAt, Date.now());
        if (w.stopped === undefined) continue;
        show(
          w,
          `\nThe watchdog stops mocha${pool.length > 1 ? ` (worker ${w.index + 1})` : ''} ` +
            `(TEST_SILENCE_MS=${limits.silenceMs}, TEST_TIMEOUT_MS=${limits.totalMs}).\n`,
        );
        void w.child.stop(5000);
      }
    }, WATCHDOG_TICK_MS);
    await Promise.all(
      pool.map(async (w) => {
        const exit = await w.child.exited;
        // Output still in the pipe after the exit is read first (unless a grandchild holds it open).
        const out = w.child.child.stdout;
        if (out !== null && !out.closed) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 2_000);
            out.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
        w.exit = exit;
        advance();
      }),
    );
    clearInterval(watchdog);
    removeHook();
  } finally {
    if (emulator.owned) await emulator.stop();
  }

  let passed = 0;
  let failed = 0;
  let pending = 0;
  let exitCode = 0;
  for (const w of pool) {
    const exit = w.exit as ExitInfo;
    const code = w.stopped !== undefined ? 1 : (exit.code ?? 1);
    const label = pool.length > 1 ? ` (worker ${w.index + 1})` : '';
    if (exit.signal !== null) console.error(`mocha${label} was ended by ${exit.signal}`);
    const report = stoppedReport(w.progress, w.stopped);
    if (report.length > 0)
      console.log(['', ...(label === '' ? [] : [`Worker ${w.index + 1}:`]), ...report].join('\n'));
    const counts = finalCounts(w.progress, code, w.stopped);
    passed += counts.passed;
    failed += counts.failed;
    pending += pendingCount(w.progress);
    if (code !== 0) exitCode = 1;
  }
  if (dumpDir !== undefined) {
    const leaks = leaksAcrossWorkers(dumpDir, pool.length);
    console.log(`  ${leaks.line}`);
    for (const finding of leaks.findings.slice(0, 20)) console.log(`    ${finding}`);
    if (!leaks.ok) {
      failed += 1;
      exitCode = 1;
    }
  }
  try {
    saveTimings(
      timingsPath,
      pool.map((w) => readTimingsList(join(runDir, `timings-${w.index + 1}.json`))),
    );
  } catch (err) {
    console.error(`The files' timings were not saved: ${err instanceof Error ? err.message : String(err)}`);
  }
  rmSync(runDir, { recursive: true, force: true });
  if (pool.length > 1)
    console.log(`${pool.length} workers, ${Math.round((Date.now() - startedAt) / 1000)} s of mocha`);
  if (pending > 0) console.log(`${pending} pending`);
  console.log(`${passed} passed, ${failed} failed`);
  return exitCode;
}

/** A worker's file timings (progress-reporter.ts), or none when it wrote none (a crashed worker). */
function readTimingsList(path: string): Array<{ file: string; ms: number }> {
  if (!existsSync(path)) return [];
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  return Array.isArray(parsed)
    ? parsed.filter(
        (t): t is { file: string; ms: number } =>
          typeof (t as { file?: unknown }).file === 'string' &&
          typeof (t as { ms?: unknown }).ms === 'number',
      )
    : [];
}

/**
 * The leak check over every worker's dump at once (leak-registry.ts): a secret registered by one
 * worker is looked for in what every worker saw. A missing or unreadable dump fails the check.
 */
export function leaksAcrossWorkers(
  dir: string,
  workers: number,
): { ok: boolean; line: string; findings: string[] } {
  const missing: string[] = [];
  for (let i = 1; i <= workers; i++) {
    const path = join(dir, `worker-${i}.json`);
    try {
      mergeRegistry(JSON.parse(readFileSync(path, 'utf8')) as RegistryDump, `worker ${i}`);
    } catch (err) {
      missing.push(
        `worker ${i} left no readable leak dump (${err instanceof Error ? err.message : String(err)})`,
      );
    }
  }
  const findings = [...missing, ...findLeaks()];
  const seen = registryCounts();
  const total = Object.values(seen.secrets).reduce((a, b) => a + b, 0);
  return {
    ok: findings.length === 0,
    line:
      `leak check across ${workers} workers: ${total} secrets against ${seen.responses} responses, ` +
      `${seen.logLines} log lines and ${seen.documents} documents: ` +
      (findings.length === 0 ? 'none leaked' : `${findings.length} findings`),
    findings,
  };
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      console.log(summaryLine(newProgress(), 1));
      process.exitCode = 1;
    },
  );
}
