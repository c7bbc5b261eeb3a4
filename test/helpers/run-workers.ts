/**
 * How run-tests.ts shares the test files among parallel mocha workers. Each worker is its own mocha
 * process with its own Firestore emulator project (the emulator keeps projects apart, and its clear
 * endpoint is per project), so workers never see each other's data. Files are dealt out by their
 * expected wall time (longest first, each to the least loaded worker), then each worker runs its
 * files in the usual order (unit, emulator, rules, e2e).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

/**
 * Expected wall time (s) of the slow files on a quiet 2-core machine, by file name: the e2e files
 * that wait through real lifetimes, leases and timeouts or start many processes. Others count by
 * their suite (SUITE_SECONDS). Only the balance between workers depends on these figures.
 */
export const FILE_SECONDS: Readonly<Record<string, number>> = {
  // From the clean one-process run at e881b7d (README "Tests"), rounded.
  'authorizers-processes.test.js': 56,
  'ticket-freshness-storetime.test.js': 51,
  'realworld-invalidating.test.js': 53,
  'realworld-skew.test.js': 49,
  'engine-processes.test.js': 48,
  'hardening-faults.test.js': 47,
  'hardening-providers.test.js': 47,
  'realworld-outage.test.js': 39,
  'console.test.js': 33,
  'realworld-same-token.test.js': 28,
  'wechat-open-authorizers.test.js': 30,
  'feishu-store.test.js': 25,
  'hardening-input.test.js': 25,
  'npm-start.test.js': 30,
  'client-app.test.js': 20,
  'realworld-budget.test.js': 20,
  'realworld-outcome.test.js': 20,
  'tokenctl.test.js': 20,
  'tickets-processes.test.js': 20,
  'compat-routes.test.js': 20,
  'original-design.test.js': 20,
  'webhooks.test.js': 15,
};

/** Expected wall time (s) of a file not named in FILE_SECONDS, by its suite (lib/test/SUITE/…). */
export const SUITE_SECONDS: Readonly<Record<string, number>> = { unit: 1, emulator: 5, rules: 5, e2e: 12 };

/** Every compiled test file under lib/test/SUITE for each suite, in run order (suite, then path). */
export function listTestFiles(root: string, suites: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.test.js')) out.push(relative(root, path));
    }
  };
  for (const suite of suites) walk(join(root, 'lib', 'test', suite));
  return out;
}

/**
 * Where run-tests keeps each file's wall time from the runs so far (ms, by path as listTestFiles
 * gives it), under lib/ (a build output, not committed): the next run deals files by these.
 */
export const TIMINGS_FILE = join('lib', 'test', 'file-timings.json');

/** The wall times (ms) of earlier runs, by file; empty when there are none (a fresh checkout). */
export function readTimings(path: string): Record<string, number> {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed as Record<string, unknown>).filter(
        (e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]) && e[1] >= 0,
      ),
    );
  } catch {
    return {};
  }
}

/** Adds the files' wall times of this run (progress-reporter's FileTiming lists) to `path`. */
export function saveTimings(
  path: string,
  runs: ReadonlyArray<ReadonlyArray<{ file: string; ms: number }>>,
): void {
  const all = readTimings(path);
  for (const run of runs) for (const t of run) all[t.file] = t.ms;
  writeFileSync(path, `${JSON.stringify(all, null, 1)}\n`);
}

/**
 * Expected seconds per file: its wall time in an earlier run when known (`timings`, ms), else
 * expectedSeconds. Only the ratios matter: a loaded machine slows all files alike, roughly.
 */
export function secondsFrom(timings: Readonly<Record<string, number>>): (file: string) => number {
  return (file) => {
    const ms = timings[file];
    return ms === undefined ? expectedSeconds(file) : ms / 1000;
  };
}

/** The expected wall time (s) of one file (a path as listTestFiles gives it). */
export function expectedSeconds(file: string): number {
  const named = FILE_SECONDS[basename(file)];
  if (named !== undefined) return named;
  const suite = /(?:^|[/\\])test[/\\]([^/\\]+)[/\\]/.exec(file)?.[1] ?? '';
  return SUITE_SECONDS[suite] ?? SUITE_SECONDS.e2e!;
}

/**
 * Deals `files` (in run order) to `workers` lists: longest first to the least loaded, ties to the
 * lower worker; each list keeps the run order. Never an empty list: at most files.length lists.
 */
export function splitFiles(
  files: readonly string[],
  workers: number,
  seconds: (file: string) => number = expectedSeconds,
): string[][] {
  const n = Math.max(1, Math.min(workers, files.length));
  const load = Array.from({ length: n }, () => 0);
  const owner = new Map<string, number>();
  const byLength = [...files].sort((a, b) => seconds(b) - seconds(a) || files.indexOf(a) - files.indexOf(b));
  for (const file of byLength) {
    let least = 0;
    for (let w = 1; w < n; w++) if (load[w]! < load[least]!) least = w;
    owner.set(file, least);
    load[least]! += seconds(file);
  }
  return Array.from({ length: n }, (_, w) => files.filter((f) => owner.get(f) === w));
}

/** The emulator project of worker `index` (0-based): the usual one for the first, `-wN` after it. */
export function workerProject(base: string, index: number): string {
  return index === 0 ? base : `${base}-w${index + 1}`;
}

/**
 * How many workers: TEST_WORKERS when set (a whole number ≥ 1, at most 8), else DEFAULT_WORKERS.
 */
export function workerCount(env: NodeJS.ProcessEnv): number {
  const asked = Number(env.TEST_WORKERS);
  if (env.TEST_WORKERS !== undefined && env.TEST_WORKERS !== '' && Number.isInteger(asked) && asked >= 1)
    return Math.min(asked, 8);
  return DEFAULT_WORKERS;
}

/**
 * Two mocha processes unless TEST_WORKERS says otherwise (TEST_WORKERS=1 for a machine shared with
 * other jobs). The latency-bound tests that had failed a two-worker run on a starved machine now
 * stretch their budgets by the machine's slowdown (README "Tests").
 */
export const DEFAULT_WORKERS = 2;

/** A glob as a RegExp over `/`-separated relative paths: `**` then `/` any folders (or none), `*` any name part. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*' && glob[i + 2] === '/') {
      source += '(?:[^/]+/)*';
      i += 2;
    } else if (c === '*' && glob[i + 1] === '*') {
      source += '.*';
      i += 1;
    } else if (c === '*') source += '[^/]*';
    else source += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * The files a spec argument names: itself when it has no `*`, else the files under its fixed prefix
 * whose relative path matches, in path order.
 */
export function expandSpec(root: string, spec: string): string[] {
  if (!spec.includes('*')) return [spec];
  const parts = spec.split('/');
  const fixed = parts
    .slice(
      0,
      parts.findIndex((p) => p.includes('*')),
    )
    .join('/');
  const pattern = globToRegExp(spec);
  const found: string[] = [];
  const walk = (dir: string): void => {
    const abs = join(root, dir);
    if (!existsSync(abs)) return;
    const entries = readdirSync(abs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (pattern.test(path)) found.push(path);
    }
  };
  walk(fixed);
  return found;
}
