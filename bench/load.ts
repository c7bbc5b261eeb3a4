/**
 * The load generator: autocannon in its own process (never inside the process under test), its
 * JSON result parsed and checked.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { repoRoot, spawnTracked } from '../test/helpers/processes';

const resultSchema = z.object({
  duration: z.number(),
  errors: z.number(),
  timeouts: z.number(),
  non2xx: z.number(),
  requests: z.object({ average: z.number(), total: z.number() }),
  latency: z.object({
    p50: z.number(),
    p90: z.number(),
    p99: z.number(),
    average: z.number(),
    max: z.number(),
  }),
});

export interface LoadOptions {
  url: string;
  connections: number;
  durationS: number;
  headers?: Record<string, string>;
}

export interface LoadResult {
  requestsPerSecond: number;
  totalRequests: number;
  durationS: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p90: number; p99: number; mean: number; max: number };
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const cli = join(repoRoot(), 'node_modules', 'autocannon', 'autocannon.js');
  const headerArgs = Object.entries(o.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}=${v}`]);
  const proc = spawnTracked(
    process.execPath,
    [cli, '-c', String(o.connections), '-d', String(o.durationS), '-n', '-j', ...headerArgs, o.url],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  proc.child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  proc.child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  // 'close' comes after the end of both output streams (and after 'exit').
  const code = await new Promise<number | null>((resolve) =>
    proc.child.once('close', (c: number | null) => resolve(c)),
  );
  const text = Buffer.concat(out).toString('utf8').trim();
  if (code !== 0 || text === '') {
    throw new Error(`autocannon failed (code ${code}): ${Buffer.concat(err).toString('utf8').slice(-2000)}`);
  }
  const r = resultSchema.parse(JSON.parse(text.slice(text.indexOf('{'))));
  return {
    requestsPerSecond: r.requests.average,
    totalRequests: r.requests.total,
    durationS: r.duration,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    latencyMs: {
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      mean: r.latency.average,
      max: r.latency.max,
    },
  };
}
