/**
 * The test driver's tally and watchdog (test/helpers/run-progress.ts) and the reporter's extra
 * lines (test/helpers/progress-reporter.ts), on mocha output as the spec reporter prints it.
 */
import { expect } from 'chai';
import { errorLine, slowestFilesLines } from '../../helpers/progress-reporter';
import {
  DEFAULT_SILENCE_MS,
  DEFAULT_TOTAL_MS,
  newProgress,
  pendingCount,
  readLine,
  stoppedReport,
  summaryLine,
  watchdogLimits,
  watchdogVerdict,
  type RunProgress,
} from '../../helpers/run-progress';

const ESC = String.fromCharCode(27);

function read(lines: string[]): RunProgress {
  const progress = newProgress();
  for (const line of lines) readLine(line, progress);
  return progress;
}

// A run cut off in its third file: two suites done, one failure with its message, one pending.
const CUT_OFF = [
  'Firestore emulator started at 127.0.0.1:4000 (pid 12)',
  '',
  '  config',
  '    ✔ parses the defaults',
  `    ${ESC}[32m✔${ESC}[0m${ESC}[90m colored and slow${ESC}[0m${ESC}[31m (812ms)${ESC}[0m`,
  '    nested',
  '      ✔ inner one',
  '      1) inner two',
  '      ↳ AssertionError: expected 503 to equal 200',
  '      - skipped one',
  '',
  '  realworld skew',
  '    ✔ serves one token across skewed clocks (5123ms)',
];

describe('run-tests progress (test/helpers/run-progress.ts)', () => {
  it('counts passes, failures and pending as the spec reporter prints them, colors or not', () => {
    const progress = read(CUT_OFF);
    expect([progress.passed, progress.failed, progress.pending]).to.deep.equal([4, 1, 1]);
    expect(progress.failures).to.deep.equal([
      ['1) config › nested › inner two', 'AssertionError: expected 503 to equal 200'],
    ]);
    expect(progress.suites).to.deep.equal(['realworld skew']);
  });

  it('a run stopped by the watchdog says what passed, where it was and what failed, and counts the stopped test', () => {
    const progress = read(CUT_OFF);
    const stopped = { kind: 'silence', silentMs: 600_400 } as const;
    expect(summaryLine(progress, 1, stopped)).to.equal('4 passed, 2 failed');
    const report = stoppedReport(progress, stopped);
    expect(report[0]).to.equal(
      'stopped by the watchdog: mocha printed nothing for 600 s, in "realworld skew", the test after ' +
        '"serves one token across skewed clocks" (or an after hook).',
    );
    expect(report.slice(1)).to.deep.equal([
      'Seen until then: 4 passed, 1 failed, 1 pending.',
      'Failures seen:',
      '  1) config › nested › inner two',
      '       AssertionError: expected 503 to equal 200',
    ]);
  });

  it('names a suite whose first test has not ended yet, and a run stopped by its total bound', () => {
    const progress = read([...CUT_OFF, '  tokenctl', '    against a live server']);
    expect(stoppedReport(progress, { kind: 'total', elapsedMs: 2_700_000 })[0]).to.equal(
      'stopped by the watchdog: the run took longer than 2700 s, in "tokenctl › against a live server", ' +
        'its first test (or a before hook).',
    );
  });

  it('mocha that ends without its epilogue is reported and counted as failed', () => {
    const progress = read(CUT_OFF.slice(0, 4));
    expect(summaryLine(progress, 1)).to.equal('1 passed, 1 failed');
    expect(stoppedReport(progress, undefined)[0]).to.match(/^mocha ended before its summary, in "config"/);
  });

  it("mocha's epilogue decides the counts; its repeated failures are not counted again", () => {
    const progress = read([
      ...CUT_OFF,
      '',
      '  4 passing (12s)',
      '  1 pending',
      '  1 failing',
      '',
      '  1) config',
      '       nested',
      '         inner two:',
      '     AssertionError: expected 503 to equal 200',
    ]);
    expect(progress.failures).to.have.length(1);
    expect(summaryLine(progress, 1)).to.equal('4 passed, 1 failed');
    expect(pendingCount(progress)).to.equal(1);
    expect(stoppedReport(progress, undefined)).to.deep.equal([]);
  });

  it('a later epilogue replaces an earlier one; a clean run is clean', () => {
    const progress = read(['  3 passing', '  2 failing', '  7 passing (1s)']);
    expect(summaryLine(progress, 0)).to.equal('7 passed, 0 failed');
    expect(summaryLine(newProgress(), 0)).to.equal('0 passed, 0 failed');
    expect(summaryLine(newProgress(), 1)).to.equal('0 passed, 1 failed');
  });

  it('the watchdog fires on silence or on the total bound, and not before', () => {
    const limits = { silenceMs: 1_000, totalMs: 10_000 };
    expect(watchdogVerdict(limits, 0, 5_000, 6_000)).to.equal(undefined);
    expect(watchdogVerdict(limits, 0, 5_000, 6_001)).to.deep.equal({ kind: 'silence', silentMs: 1_001 });
    expect(watchdogVerdict(limits, 0, 9_900, 10_001)).to.deep.equal({ kind: 'total', elapsedMs: 10_000 });
  });

  it('reads its bounds from TEST_SILENCE_MS and TEST_TIMEOUT_MS, ignoring nonsense', () => {
    expect(watchdogLimits({})).to.deep.equal({ silenceMs: DEFAULT_SILENCE_MS, totalMs: DEFAULT_TOTAL_MS });
    expect(watchdogLimits({ TEST_SILENCE_MS: '5000', TEST_TIMEOUT_MS: '60000' })).to.deep.equal({
      silenceMs: 5000,
      totalMs: 60000,
    });
    expect(watchdogLimits({ TEST_SILENCE_MS: 'soon', TEST_TIMEOUT_MS: '-1' })).to.deep.equal({
      silenceMs: DEFAULT_SILENCE_MS,
      totalMs: DEFAULT_TOTAL_MS,
    });
    // Hang detection, not a stopwatch: silence is allowed well past the longest per-test timeout.
    expect(DEFAULT_SILENCE_MS).to.be.at.least(240_000 + 5 * 60_000);
    expect(DEFAULT_TOTAL_MS).to.be.at.most(50 * 60_000);
  });
});

describe('progress reporter lines (test/helpers/progress-reporter.ts)', () => {
  it('lists the slowest files first, with their share of all files', () => {
    const lines = slowestFilesLines(
      [
        { file: 'lib/test/unit/a.test.js', ms: 1_000, tests: 40 },
        { file: 'lib/test/e2e/b.test.js', ms: 6_000, tests: 3 },
        { file: 'lib/test/e2e/c.test.js', ms: 3_000, tests: 5 },
      ],
      2,
    );
    expect(lines).to.deep.equal([
      '  slowest files (2 of 3, wall time of their suites; all files 10.0 s):',
      '     6.0 s   60%  lib/test/e2e/b.test.js (3 tests)',
      '     3.0 s   30%  lib/test/e2e/c.test.js (5 tests)',
    ]);
    expect(slowestFilesLines([{ file: 'x', ms: 1, tests: 1 }], 0)).to.deep.equal([]);
  });

  it('prints an error on one line, bounded', () => {
    expect(errorLine(new TypeError('Expected values to be equal:\n\n503 !== 200\n'))).to.equal(
      'TypeError: Expected values to be equal: 503 !== 200',
    );
    expect(errorLine('x'.repeat(400))).to.have.length(300);
    expect(errorLine({ status: 503 })).to.equal('{"status":503}');
  });
});
