/**
 * Function processes for the benchmarks: the stock Functions Framework, like test/helpers'
 * startFunction, but with Node options of our own (`--cpu-prof` cannot go through NODE_OPTIONS) and
 * the process's output written to a file, so that reading a pipe does not take CPU from the two
 * cores the load generator and the function share.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getFreePort, LOOPBACK } from '../test/helpers/ports';
import { FUNCTIONS_FRAMEWORK, repoRoot, spawnTracked, type ExitInfo } from '../test/helpers/processes';

export interface BenchFunctionOptions {
  /** An export of `source` (default: the repository root, i.e. lib/functions/index.js). */
  target: string;
  source?: string;
  env: NodeJS.ProcessEnv;
  /** Where stdout and stderr go. */
  logFile: string;
  /** Write a V8 CPU profile (`--cpu-prof`) into this folder under this name when the process exits. */
  cpuProfile?: { dir: string; name: string };
}

export interface BenchFunction {
  target: string;
  url: string;
  pid: number;
  /** The profile's path (written once the process has exited), if profiling. */
  profilePath: string | undefined;
  /** SIGTERM (the framework exits, writing the profile), SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

/** A function process spawned, not yet answering (spawnBenchFunction), or answering (startBenchFunction). */
export interface SpawnedFunction extends BenchFunction {
  /** process.hrtime.bigint() just before the spawn. */
  spawnedAt: bigint;
  /** The exit, once the process has exited. */
  exit(): ExitInfo | undefined;
}

/** Spawns the Functions Framework on a free port without waiting for it (cold-start measurements). */
export async function spawnBenchFunction(o: BenchFunctionOptions): Promise<SpawnedFunction> {
  const root = repoRoot();
  const port = await getFreePort();
  const url = `http://${LOOPBACK}:${port}`;
  const profileArgs =
    o.cpuProfile === undefined
      ? []
      : ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfile.dir}`, `--cpu-prof-name=${o.cpuProfile.name}`];
  const fd = openSync(o.logFile, 'w');
  const spawnedAt = process.hrtime.bigint();
  const child = spawnTracked(
    process.execPath,
    [
      ...profileArgs,
      join(root, FUNCTIONS_FRAMEWORK),
      `--target=${o.target}`,
      `--port=${port}`,
      `--source=${o.source ?? root}`,
    ],
    { cwd: o.source ?? root, env: o.env, stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  let exit: ExitInfo | undefined;
  void child.exited.then((info) => (exit = info));
  return {
    target: o.target,
    url,
    pid: child.pid,
    profilePath: o.cpuProfile === undefined ? undefined : join(o.cpuProfile.dir, o.cpuProfile.name),
    stop: (graceMs = 10_000) => child.stop(graceMs),
    spawnedAt,
    exit: () => exit,
  };
}

export async function startBenchFunction(o: BenchFunctionOptions): Promise<BenchFunction> {
  const fn = await spawnBenchFunction(o);
  const started = Date.now();
  for (;;) {
    const exit = fn.exit();
    if (exit !== undefined) throw failure(o, `exited before it was ready (code ${exit.code})`);
    if (await healthy(fn.url)) break;
    if (Date.now() - started > 30_000) {
      await fn.stop(1000);
      throw failure(o, 'did not answer GET /healthz within 30 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return fn;
}

function failure(o: BenchFunctionOptions, problem: string): Error {
  let output = '';
  try {
    output = readFileSync(o.logFile, 'utf8').slice(-4000);
  } catch {
    // no output yet
  }
  return new Error(`${o.target} ${problem}.\n--- its output (${o.logFile}) ---\n${output || '(none)'}`);
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
