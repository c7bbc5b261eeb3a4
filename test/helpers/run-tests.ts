/**
 * The `npm test` driver: starts one Firestore emulator for the whole run, runs mocha over every
 * compiled test suite in a child process with the emulator in its environment, stops the emulator
 * whatever happens, and ends with one plain `N passed, N failed` line.
 *
 *   node lib/test/helpers/run-tests.js [mocha options] [spec files or globs]
 *
 * Mocha options pass through (`--grep token`, `--bail`); arguments ending in `.js`, containing `*`
 * or starting with `lib/` replace the default suites. FIRESTORE_EMULATOR_HOST, when already set,
 * is used instead of starting an emulator.
 *
 * A watchdog stops a hung run: when mocha has printed nothing for TEST_SILENCE_MS (default 10 min,
 * well above the longest per-test timeout) or has run for TEST_TIMEOUT_MS (default 45 min, well
 * inside CI's 90). Per-test timeouts do the fine work. When it fires, the last line still counts
 * what passed and failed until then (run-progress.ts), after naming where the run was and the
 * failures seen.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { clearEmulator, FirestoreEmulator, startEmulator } from './emulator';
import { addShutdownHook, repoRoot, spawnTracked, TEST_PROJECT_ID, type ExitInfo } from './processes';
import {
  newProgress,
  pendingCount,
  readLine,
  stoppedReport,
  summaryLine,
  watchdogLimits,
  watchdogVerdict,
  type Stop,
} from './run-progress';

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

async function main(argv: readonly string[]): Promise<number> {
  const root = repoRoot();
  const { specs, mochaArgs } = splitArgs(argv);
  const files = specs.length > 0 ? specs : defaultSpecs(root);
  if (files.length === 0) {
    console.log('No compiled tests under lib/test (run `npm run build` first).');
    console.log(summaryLine(newProgress(), 0));
    return 0;
  }

  let emulator: FirestoreEmulator;
  try {
    const given = process.env.FIRESTORE_EMULATOR_HOST;
    if (given) {
      emulator = FirestoreEmulator.external(given);
      // A reused emulator may hold data from an earlier run (one just started holds none, and on a
      // loaded machine its first request can take longer than clearEmulator's 10 s).
      await clearEmulator(emulator.host, TEST_PROJECT_ID);
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

  const progress = newProgress();
  let stopped: Stop | undefined;
  let exit: ExitInfo;
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      FIRESTORE_EMULATOR_HOST: emulator.host,
      GOOGLE_CLOUD_PROJECT: TEST_PROJECT_ID,
      GCLOUD_PROJECT: TEST_PROJECT_ID,
      METADATA_SERVER_DETECTION: 'none',
    };
    const wantsColor = process.stdout.isTTY && !mochaArgs.some((a) => /^--(no-)?colors?$|^-c$|^-C$/.test(a));
    const mocha = spawnTracked(
      process.execPath,
      [join(root, MOCHA), ...(wantsColor ? ['--color'] : []), ...mochaArgs, ...files],
      { cwd: root, env, stdio: ['inherit', 'pipe', 'inherit'] },
    );
    const limits = watchdogLimits(process.env);
    const startedAt = Date.now();
    let lastOutputAt = startedAt;
    if (mocha.child.stdout !== null) {
      // Mocha's output goes to ours unchanged; each line is also read for the tally.
      mocha.child.stdout.on('data', (chunk: Buffer) => {
        lastOutputAt = Date.now();
        process.stdout.write(chunk);
      });
      createInterface({ input: mocha.child.stdout, crlfDelay: Infinity }).on('line', (line) =>
        readLine(line, progress),
      );
    }
    const removeHook = addShutdownHook(async () => {
      console.error('\nInterrupted: stopping mocha and the Firestore emulator.');
    });
    const watchdog = setInterval(() => {
      if (stopped !== undefined) return;
      stopped = watchdogVerdict(limits, startedAt, lastOutputAt, Date.now());
      if (stopped === undefined) return;
      console.log(
        `\nThe watchdog stops mocha (TEST_SILENCE_MS=${limits.silenceMs}, TEST_TIMEOUT_MS=${limits.totalMs}).`,
      );
      void mocha.stop(5000);
    }, WATCHDOG_TICK_MS);
    exit = await mocha.exited;
    clearInterval(watchdog);
    removeHook();
  } finally {
    if (emulator.owned) await emulator.stop();
  }

  const exitCode = stopped !== undefined ? 1 : (exit.code ?? 1);
  if (exit.signal !== null) console.error(`mocha was ended by ${exit.signal}`);
  const report = stoppedReport(progress, stopped);
  if (report.length > 0) console.log(['', ...report].join('\n'));
  const pending = pendingCount(progress);
  if (pending > 0) console.log(`${pending} pending`);
  console.log(summaryLine(progress, exitCode, stopped));
  return exitCode;
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
