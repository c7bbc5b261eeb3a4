/**
 * How slow the machine is right now, for tests whose budgets (a lease, a call timeout, a latency
 * bound) are part of the scenario but must not turn a starved CPU into a failure: budgets scaled by
 * what the machine just showed, so that only the latency may suffer, never the property.
 */
import { spawn } from 'node:child_process';

/** `node -e 0` on a quiet 2-core machine takes about this long (an estimate; the factor is ≥ 1). */
const QUIET_NODE_START_MS = 60;

function nodeStartMs(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolve(performance.now() - t0));
  });
}

/**
 * The machine's slowdown now: the median of 5 sequential `node -e 0` starts over a quiet machine's
 * time, at least 1 and at most `max`. On a machine at load 30 on 2 cores it was about 20.
 */
export async function machineSlowdown(max = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push(await nodeStartMs());
  const median = times.sort((a, b) => a - b)[2] ?? QUIET_NODE_START_MS;
  return Math.min(max, Math.max(1, median / QUIET_NODE_START_MS));
}
