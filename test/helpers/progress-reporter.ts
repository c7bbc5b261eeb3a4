/**
 * The mocha reporter of this repository (named in .mocharc.json): mocha's spec reporter, plus
 *  - under each failed test's `N) title` line, its error on one line (`↳ AssertionError: …`),
 *    so failures are visible as they happen and run-tests.ts can report them if the run is stopped
 *    before mocha's epilogue;
 *  - after the epilogue, the slowest test files by wall time (`--reporter-option slowest=N`,
 *    default 10, 0 for none), so a run shows where its time goes;
 *  - with TEST_TIMINGS_FILE set (run-tests.ts sets it), every file's wall time written there as JSON
 *    (FileTiming[]), from which run-tests deals the next run's files among its workers.
 */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import Mocha from 'mocha';
import { DETAIL_MARK } from './run-progress';

const { EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_TEST_END, EVENT_TEST_FAIL } = Mocha.Runner.constants;
const DEFAULT_SLOWEST = 10;

/** Wall time and test count of one file's top-level suites. */
export interface FileTiming {
  file: string;
  ms: number;
  tests: number;
}

/** The n slowest files, slowest first, as lines for the end of a run. */
export function slowestFilesLines(timings: readonly FileTiming[], n: number): string[] {
  if (n <= 0 || timings.length === 0) return [];
  const total = timings.reduce((sum, t) => sum + t.ms, 0);
  const top = [...timings].sort((a, b) => b.ms - a.ms).slice(0, n);
  return [
    `  slowest files (${top.length} of ${timings.length}, wall time of their suites; all files ${secs(total)}):`,
    ...top.map(
      (t) => `  ${secs(t.ms).padStart(8)}  ${pct(t.ms, total).padStart(4)}  ${t.file} (${t.tests} tests)`,
    ),
  ];
}

/** An error as one line, `Name: message` (its non-empty lines joined), at most 300 characters. */
export function errorLine(err: unknown): string {
  const text =
    err instanceof Error
      ? `${err.name}: ${err.message}`
      : typeof err === 'string'
        ? err
        : (JSON.stringify(err) ?? String(err));
  const line = text
    .split('\n')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(' ');
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((100 * part) / whole)}%` : '';
}

export default class ProgressReporter extends Mocha.reporters.Spec {
  private readonly timings = new Map<string, FileTiming>();
  private readonly slowest: number;

  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const reporterOptions = options?.reporterOptions as Record<string, unknown> | undefined;
    const asked = Number(reporterOptions?.slowest);
    this.slowest =
      reporterOptions?.slowest === undefined || !Number.isFinite(asked) ? DEFAULT_SLOWEST : asked;

    const started = new Map<Mocha.Suite, number>();
    runner.on(EVENT_SUITE_BEGIN, (suite) => {
      if (suite.parent?.root === true) started.set(suite, Date.now());
    });
    runner.on(EVENT_SUITE_END, (suite) => {
      const start = started.get(suite);
      if (start === undefined) return;
      started.delete(suite);
      this.timing(suite.file).ms += Date.now() - start;
    });
    runner.on(EVENT_TEST_END, (test) => {
      this.timing(test.file).tests += 1;
    });
    // Registered after Spec's own listener, so it prints under the `N) title` line.
    runner.on(EVENT_TEST_FAIL, (_test, err: unknown) => {
      Mocha.reporters.Base.consoleLog(`      ${DETAIL_MARK} ${errorLine(err)}`);
    });
  }

  override epilogue(): void {
    super.epilogue();
    const out = process.env.TEST_TIMINGS_FILE;
    if (out !== undefined && out !== '') writeFileSync(out, JSON.stringify([...this.timings.values()]));
    for (const line of slowestFilesLines([...this.timings.values()], this.slowest)) {
      Mocha.reporters.Base.consoleLog(line);
    }
    if (this.slowest > 0 && this.timings.size > 0) Mocha.reporters.Base.consoleLog();
  }

  private timing(file: string | undefined): FileTiming {
    const name = file === undefined ? '(no file)' : relative(process.cwd(), file);
    let timing = this.timings.get(name);
    if (timing === undefined) {
      timing = { file: name, ms: 0, tests: 0 };
      this.timings.set(name, timing);
    }
    return timing;
  }
}
