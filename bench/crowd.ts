/**
 * Crowds of requests for the process benchmarks: each request a GET on a new connection (as from a
 * separate app), timed from its dispatch to the end of its response.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';

export interface Answer {
  status: number;
  ms: number;
  token: string | undefined;
}

/** One GET on a new connection, timed from dispatch to the response's end. */
export function get(url: string, headers: Record<string, string>): Promise<Answer> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false, headers }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        let token: string | undefined;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { token?: unknown };
          token = typeof body.token === 'string' ? body.token : undefined;
        } catch {
          token = undefined;
        }
        resolve({ status: res.statusCode ?? 0, ms, token });
      });
      res.on('error', () =>
        resolve({ status: 0, ms: Number(process.hrtime.bigint() - started) / 1e6, token: undefined }),
      );
    });
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.on('error', () =>
      resolve({ status: 0, ms: Number(process.hrtime.bigint() - started) / 1e6, token: undefined }),
    );
    req.end();
  });
}

/**
 * n requests at once (staggerMs 0) or dispatched evenly over staggerMs; `url(i)` picks request i's
 * target. Also returns the spread from the first dispatch to the last (ms).
 */
export async function crowd(
  n: number,
  url: (i: number) => string,
  headers: Record<string, string>,
  staggerMs = 0,
): Promise<{ answers: Answer[]; dispatchSpreadMs: number }> {
  const dispatched: bigint[] = [];
  const one = (i: number) => {
    dispatched.push(process.hrtime.bigint());
    return get(url(i), headers);
  };
  const answers = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      staggerMs <= 0
        ? one(i)
        : new Promise<Answer>((resolve) => setTimeout(() => resolve(one(i)), (i * staggerMs) / n)),
    ),
  );
  const first = dispatched[0] ?? 0n;
  const last = dispatched[dispatched.length - 1] ?? 0n;
  return { answers, dispatchSpreadMs: Math.round(Number(last - first) / 1e5) / 10 };
}
