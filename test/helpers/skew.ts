/**
 * Function processes whose clocks are off (issue 11): the whole process runs under libfaketime
 * (Debian's `faketime` package), started through LD_PRELOAD + FAKETIME so that the stock
 * startFunction() (processes.ts) spawns it unchanged. Only function processes are shifted; the
 * Firestore emulator and the test process (and so the fake providers) keep real time.
 */
import { existsSync } from 'node:fs';
import { startFunction, type FunctionProcess, type StartFunctionOptions } from './processes';

const LIBFAKETIME_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
  '/usr/local/lib/faketime/libfaketime.so.1',
];

/** The libfaketime library, or a clear error saying how to get it. */
export function libfaketime(): string {
  const found = LIBFAKETIME_CANDIDATES.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(
      'libfaketime.so.1 not found (looked in ' +
        LIBFAKETIME_CANDIDATES.join(', ') +
        "): the clock-skew tests need Debian's faketime package (apt-get install faketime)",
    );
  }
  return found;
}

/**
 * The environment of a process whose clock reads real time + offsetSeconds (whole seconds, either
 * sign), constant for its whole life. 0 gives the environment back unchanged.
 */
export function skewedEnv(env: NodeJS.ProcessEnv, offsetSeconds: number): NodeJS.ProcessEnv {
  if (!Number.isInteger(offsetSeconds)) throw new Error(`skewedEnv: ${offsetSeconds} is not whole seconds`);
  if (offsetSeconds === 0) return env;
  return {
    ...env,
    LD_PRELOAD: [libfaketime(), env.LD_PRELOAD].filter(Boolean).join(':'),
    FAKETIME: `${offsetSeconds > 0 ? '+' : ''}${offsetSeconds}`,
  };
}

export interface SkewedProcess extends FunctionProcess {
  /** The offset it was started with, seconds. */
  readonly offsetSeconds: number;
}

/** startFunction() with the process clock shifted by offsetSeconds. */
export async function startSkewedFunction(
  options: StartFunctionOptions & { offsetSeconds: number },
): Promise<SkewedProcess> {
  const { offsetSeconds, ...rest } = options;
  const proc = await startFunction({ ...rest, env: skewedEnv(options.env, offsetSeconds) });
  return Object.assign(proc, { offsetSeconds });
}

/**
 * How far the process's clock is from this one, as its `Date` header shows (whole seconds, so
 * within ±1 s): a check that a shift really took effect.
 */
export async function observedOffsetSeconds(url: string): Promise<number> {
  const before = Date.now();
  // Connection: close: no idle socket left for a later request to meet closed (see startFunction).
  const res = await fetch(`${url}/healthz`, {
    headers: { connection: 'close' },
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  const after = Date.now();
  const date = res.headers.get('date');
  if (date === null) throw new Error(`${url}/healthz answered without a Date header`);
  return Math.round((Date.parse(date) + 500 - (before + after) / 2) / 1000);
}
