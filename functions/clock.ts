/** Time and randomness are injected so that expiry, refresh and lease logic are tested without sleeping. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A uniform random number in [0, 1). */
export type Random = () => number;

export const systemRandom: Random = Math.random;

/** A clock that only moves when told to; sleep() advances it (for deterministic tests and simulations). */
export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 10, 24, 0, 0, 0)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
  async sleep(ms: number): Promise<void> {
    this.current += ms;
    // Yield a whole turn of the event loop, so that other simulated work (timers, I/O) can progress.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** `base` shifted by `offsetMs`: an instance whose clock is off (tests of store-time judgements). */
export function skewedClock(base: Clock, offsetMs: number): Clock {
  return { now: () => base.now() + offsetMs, sleep: (ms) => base.sleep(ms) };
}
