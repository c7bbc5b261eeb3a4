/**
 * The `npm test` driver: starts one Firestore emulator for the whole run, runs mocha over every
 * compiled test suite in a child process with the emulator in its environment, stops the emulator
 * whatever happens, and ends with one plain `N passed, N failed` line.
 *
 *   node lib/test/helpers/run-tests.js [mocha options] [spec files or globs]
 *
 * Mocha options pass through (`--grep token`, `--bail`); arguments ending in `.js`, containing `*`
 * or starting with `lib/` replace the default suites. FIRESTORE_EMULATOR_HOST, when already set,
 * is used instead of starting an emulator; TEST_TIMEOUT_MS bounds the mocha run (default 8 min).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { clearEmulator, FirestoreEmulator, startEmulator } from './emulator';
import { addShutdownHook, repoRoot, spawnTracked, TEST_PROJECT_ID, type ExitInfo } from './processes';

/** Suites in the order they run: fast and self-contained first, whole processes last. */
const SUITES = ['unit', 'emulator', 'rules', 'e2e'];
const MOCHA = join('node_modules', 'mocha', 'bin', 'mocha.js');
const DEFAULT_TIMEOUT_MS = 8 * 60_000;

interface Tally {
  passed: number | undefined;
  failed: number | undefined;
  pending: number | undefined;
}

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

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** Reads mocha's (spec-style) epilogue: "  12 passing (3s)", "  2 pending", "  1 failing". */
export function tallyLine(line: string, tally: Tally): void {
  const match = /^\s*(\d+) (passing|failing|pending)\b/.exec(line.replace(ANSI, ''));
  if (match === null) return;
  const n = Number(match[1]);
  if (match[2] === 'passing') {
    // A new epilogue starts with "passing": forget counts of an earlier one.
    tally.passed = n;
    tally.failed = undefined;
    tally.pending = undefined;
  } else if (match[2] === 'failing') tally.failed = n;
  else tally.pending = n;
}

/** The final line CI looks for. A run that failed without a mocha tally counts as one failure. */
export function summaryLine(tally: Tally, exitCode: number): string {
  const passed = tally.passed ?? 0;
  let failed = tally.failed ?? 0;
  if (exitCode !== 0 && failed === 0) failed = 1;
  return `${passed} passed, ${failed} failed`;
}

async function main(argv: readonly string[]): Promise<number> {
  const root = repoRoot();
  const { specs, mochaArgs } = splitArgs(argv);
  const files = specs.length > 0 ? specs : defaultSpecs(root);
  if (files.length === 0) {
    console.log('No compiled tests under lib/test (run `npm run build` first).');
    console.log(summaryLine({ passed: 0, failed: 0, pending: 0 }, 0));
    return 0;
  }

  let emulator: FirestoreEmulator;
  try {
    const given = process.env.FIRESTORE_EMULATOR_HOST;
    emulator = given ? FirestoreEmulator.external(given) : await startEmulator();
    // A reused emulator may hold data from an earlier run.
    await clearEmulator(emulator.host, TEST_PROJECT_ID);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    console.log(summaryLine({ passed: 0, failed: 0, pending: 0 }, 1));
    return 1;
  }
  console.log(
    emulator.owned
      ? `Firestore emulator started at ${emulator.host} (pid ${emulator.pid})`
      : `Using the Firestore emulator at ${emulator.host} (FIRESTORE_EMULATOR_HOST)`,
  );

  const tally: Tally = { passed: undefined, failed: undefined, pending: undefined };
  let timedOut = false;
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
    if (mocha.child.stdout !== null) {
      // Mocha's output goes to ours unchanged; each line is also read for the epilogue.
      mocha.child.stdout.on('data', (chunk: Buffer) => process.stdout.write(chunk));
      createInterface({ input: mocha.child.stdout, crlfDelay: Infinity }).on('line', (line) =>
        tallyLine(line, tally),
      );
    }
    const removeHook = addShutdownHook(async () => {
      console.error('\nInterrupted: stopping mocha and the Firestore emulator.');
    });
    const timeoutMs = Number(process.env.TEST_TIMEOUT_MS) || DEFAULT_TIMEOUT_MS;
    const watchdog = setTimeout(() => {
      timedOut = true;
      console.error(`\nThe test run took longer than ${timeoutMs} ms: stopping mocha.`);
      void mocha.stop(5000);
    }, timeoutMs);
    exit = await mocha.exited;
    clearTimeout(watchdog);
    removeHook();
  } finally {
    if (emulator.owned) await emulator.stop();
  }

  const exitCode = timedOut ? 1 : (exit.code ?? 1);
  if (exit.signal !== null) console.error(`mocha was ended by ${exit.signal}`);
  if (tally.pending) console.log(`${tally.pending} pending`);
  console.log(summaryLine(tally, exitCode));
  return exitCode;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      console.log(summaryLine({ passed: undefined, failed: undefined, pending: undefined }, 1));
      process.exitCode = 1;
    },
  );
}
