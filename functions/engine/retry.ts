/**
 * Explicit retries for one refresh: only transient provider failures (network, timeout, 5xx, 429,
 * "busy" codes), capped exponential backoff with full jitter, inside a total time budget. Permanent
 * failures (bad credentials, IP not allow-listed, quota) are thrown at once.
 */
import type { Clock, Random } from '../clock';
import { AppError } from '../errors';
import { ProviderFailure } from '../providers/failure';

export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseDelayMs: 200, maxDelayMs: 2_000, maxAttempts: 5 };

export interface AttemptOutcome<T> {
  value: T;
  attempts: number;
  /** When the successful attempt started (a lifetime counts from then, conservatively). */
  startedAt: number;
}

export class RetriesExhausted extends Error {
  constructor(
    readonly last: unknown,
    readonly attempts: number,
  ) {
    super('retries exhausted');
  }
}

export function isTransient(err: unknown): boolean {
  return err instanceof ProviderFailure && err.kind === 'transient';
}

/**
 * Calls attempt(timeoutMs) until it succeeds, fails permanently, or the budget ends. Each attempt
 * gets at most the time left. Throws RetriesExhausted carrying the last error and the attempt count.
 */
export async function withRetries<T>(
  attempt: (timeoutMs: number) => Promise<T>,
  options: { deadline: number; perAttemptMs: number; clock: Clock; random: Random; policy?: RetryPolicy },
): Promise<AttemptOutcome<T>> {
  const policy = options.policy ?? DEFAULT_RETRY;
  let attempts = 0;
  for (;;) {
    const startedAt = options.clock.now();
    const left = options.deadline - startedAt;
    if (left <= 0) {
      throw new RetriesExhausted(
        new AppError('UPSTREAM_TIMEOUT', 'The provider did not answer within the refresh time budget'),
        attempts,
      );
    }
    attempts++;
    try {
      const value = await attempt(Math.min(options.perAttemptMs, left));
      return { value, attempts, startedAt };
    } catch (err) {
      if (!isTransient(err) || attempts >= policy.maxAttempts) throw new RetriesExhausted(err, attempts);
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempts - 1));
      const delay = Math.floor(options.random() * cap) + 1;
      if (options.clock.now() + delay >= options.deadline) throw new RetriesExhausted(err, attempts);
      await options.clock.sleep(delay);
    }
  }
}
