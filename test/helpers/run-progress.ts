/**
 * What a mocha run has shown so far, read line by line from its spec-style output (the default
 * reporter and test/helpers/progress-reporter.ts): tests passed, failed and pending as they end,
 * the failures with the message lines progress-reporter prints under them, the suite being run,
 * and mocha's epilogue once it comes. run-tests.ts uses it for its last line, which must be true
 * even when the run is stopped before mocha's epilogue (the watchdog, a crash).
 */

export interface RunProgress {
  /** Counts of tests as they ended (✔, `N) title`, `- title` lines). */
  passed: number;
  failed: number;
  pending: number;
  /** Mocha's epilogue counts ("12 passing", "1 failing", "2 pending"), once printed. */
  epilogue: { passed: number; failed: number | undefined; pending: number | undefined } | undefined;
  /** Titles of the suites being run, outermost first (from the spec reporter's indentation). */
  suites: string[];
  /** The last test that ended, and the suites it was in. */
  lastTest: { title: string; suites: string[] } | undefined;
  /** Each failure as printed during the run (`3) title`), with the message lines under it. */
  failures: string[][];
}

export function newProgress(): RunProgress {
  return {
    passed: 0,
    failed: 0,
    pending: 0,
    epilogue: undefined,
    suites: [],
    lastTest: undefined,
    failures: [],
  };
}

/** The marker progress-reporter.ts puts before an error's message under a failed test's line. */
export const DETAIL_MARK = '↳';

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const EPILOGUE = /^\s*(\d+) (passing|failing|pending)\b/;
// mocha's Base.symbols.ok is ✔ (✓ in older versions); a slow test ends with its duration.
const PASS = /^\s+[✔✓] (.*?)(?: \(\d+ms\))?$/;
const FAIL = /^\s+\d+\) (.*)$/;
const PENDING = /^\s+- (.*)$/;
const DETAIL = new RegExp(`^\\s+${DETAIL_MARK} (.*)$`);
const SUITE = /^((?: {2})+)(\S.*)$/;

/** Reads one line of mocha's output into progress. */
export function readLine(rawLine: string, progress: RunProgress): void {
  const line = rawLine.replace(ANSI, '').trimEnd();
  const epilogue = EPILOGUE.exec(line);
  if (epilogue !== null) {
    const n = Number(epilogue[1]);
    if (epilogue[2] === 'passing') {
      // A new epilogue starts with "passing": forget counts of an earlier one.
      progress.epilogue = { passed: n, failed: undefined, pending: undefined };
    } else if (progress.epilogue !== undefined) {
      if (epilogue[2] === 'failing') progress.epilogue.failed = n;
      else progress.epilogue.pending = n;
    }
    return;
  }
  // After the epilogue, numbered lines repeat the failures in full: nothing more to count.
  if (progress.epilogue !== undefined) return;
  let match: RegExpExecArray | null;
  if ((match = PASS.exec(line)) !== null) {
    progress.passed += 1;
    progress.lastTest = { title: match[1] ?? '', suites: [...progress.suites] };
  } else if ((match = FAIL.exec(line)) !== null) {
    progress.failed += 1;
    progress.lastTest = { title: match[1] ?? '', suites: [...progress.suites] };
    progress.failures.push([`${progress.failed}) ${[...progress.suites, match[1] ?? ''].join(' › ')}`]);
  } else if ((match = DETAIL.exec(line)) !== null) {
    progress.failures.at(-1)?.push(match[1] ?? '');
  } else if (PENDING.test(line)) {
    progress.pending += 1;
  } else if ((match = SUITE.exec(line)) !== null) {
    // A suite at depth d is printed with 2·d spaces; its tests with 2·d + 2.
    const depth = (match[1] ?? '').length / 2;
    progress.suites = [...progress.suites.slice(0, depth - 1), match[2] ?? ''];
  }
}

/** Where the run was: the suite being run and the last test that ended in it. */
export function whereLine(progress: RunProgress): string {
  if (progress.suites.length === 0) return 'before the first suite started';
  const suite = progress.suites.join(' › ');
  const last = progress.lastTest;
  const sameSuite = last !== undefined && last.suites.join('\u0000') === progress.suites.join('\u0000');
  return sameSuite
    ? `in "${suite}", the test after "${last.title}" (or an after hook)`
    : `in "${suite}", its first test (or a before hook)`;
}

/** How the run ended when it did not end by itself. */
export type Stop = { kind: 'silence'; silentMs: number } | { kind: 'total'; elapsedMs: number };

/**
 * The final line CI looks for: `N passed, N failed`. Mocha's epilogue counts when it printed one;
 * otherwise the counts seen as tests ended, plus one failure for the test a stopped run was in. A
 * run that failed with no failure seen counts as one failure.
 */
export function summaryLine(progress: RunProgress, exitCode: number, stopped?: Stop): string {
  const { passed, failed } = finalCounts(progress, exitCode, stopped);
  return `${passed} passed, ${failed} failed`;
}

/** The counts of summaryLine (run-tests.ts adds them up over its workers). */
export function finalCounts(
  progress: RunProgress,
  exitCode: number,
  stopped?: Stop,
): { passed: number; failed: number } {
  const epilogue = stopped === undefined ? progress.epilogue : undefined;
  const passed = epilogue?.passed ?? progress.passed;
  let failed = epilogue ? (epilogue.failed ?? 0) : progress.failed + (stopped ? 1 : 0);
  if (exitCode !== 0 && failed === 0) failed = 1;
  return { passed, failed };
}

/** Tests marked pending (skipped), by mocha's epilogue or as seen. */
export function pendingCount(progress: RunProgress): number {
  return progress.epilogue ? (progress.epilogue.pending ?? 0) : progress.pending;
}

/**
 * The lines printed before the summary when the run did not reach mocha's epilogue: why it
 * stopped, where it was, and the failures seen until then with their messages.
 */
export function stoppedReport(progress: RunProgress, stopped: Stop | undefined): string[] {
  if (progress.epilogue !== undefined && stopped === undefined) return [];
  const why =
    stopped === undefined
      ? 'mocha ended before its summary'
      : stopped.kind === 'silence'
        ? `stopped by the watchdog: mocha printed nothing for ${seconds(stopped.silentMs)}`
        : `stopped by the watchdog: the run took longer than ${seconds(stopped.elapsedMs)}`;
  const lines = [
    `${why}, ${whereLine(progress)}.`,
    `Seen until then: ${progress.passed} passed, ${progress.failed} failed, ${progress.pending} pending.`,
  ];
  if (progress.failures.length > 0) {
    lines.push('Failures seen:');
    for (const failure of progress.failures) {
      const [title, ...details] = failure;
      lines.push(`  ${title ?? ''}`, ...details.map((d) => `       ${d}`));
    }
  }
  return lines;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** The watchdog's bounds (ms), from the environment: see README "Tests". */
export interface WatchdogLimits {
  /** Longest time mocha may print nothing: well above the longest per-test timeout (240 s). */
  silenceMs: number;
  /** Longest whole mocha run: well inside CI's 90 minutes, which also cover install, build, lint. */
  totalMs: number;
}

export const DEFAULT_SILENCE_MS = 10 * 60_000;
export const DEFAULT_TOTAL_MS = 50 * 60_000;

export function watchdogLimits(env: NodeJS.ProcessEnv): WatchdogLimits {
  const positive = (value: string | undefined, fallback: number): number => {
    const n = Number(value);
    return value !== undefined && value !== '' && Number.isFinite(n) && n > 0 ? n : fallback;
  };
  return {
    silenceMs: positive(env.TEST_SILENCE_MS, DEFAULT_SILENCE_MS),
    totalMs: positive(env.TEST_TIMEOUT_MS, DEFAULT_TOTAL_MS),
  };
}

/** Whether the watchdog should stop the run now, and why. */
export function watchdogVerdict(
  limits: WatchdogLimits,
  startedAt: number,
  lastOutputAt: number,
  now: number,
): Stop | undefined {
  if (now - startedAt > limits.totalMs) return { kind: 'total', elapsedMs: limits.totalMs };
  if (now - lastOutputAt > limits.silenceMs) return { kind: 'silence', silentMs: now - lastOutputAt };
  return undefined;
}
