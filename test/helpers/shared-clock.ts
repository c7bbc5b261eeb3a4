/**
 * One shifted clock for several processes that the test can move while they run (issue 24: "the
 * emulator and the function processes moved forward together on one shifted clock"): libfaketime
 * reads the offset from a file (FAKETIME_TIMESTAMP_FILE, "+N" seconds from real time) and re-reads
 * it at most every FAKETIME_CACHE_DURATION seconds. Only the wall clock moves
 * (FAKETIME_DONT_FAKE_MONOTONIC): timers, timeouts and gRPC keepalives keep real time, so a jump
 * fires nothing early. The test process itself keeps real time: it adds `offsetMs` where it speaks
 * for the shifted world (a push's timestamp, a webhook receiver's replay window).
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { libfaketime } from './skew';

/** How often (s) the processes re-read the offset: a move takes effect within this. */
const REREAD_SECONDS = 1;
/** How long after a move every process has read it (one period and a margin). */
export const SHARED_CLOCK_REREAD_MS = REREAD_SECONDS * 1000 + 200;

export class SharedClock {
  private readonly dir = mkdtempSync(join(tmpdir(), 'shared-clock-'));
  private readonly file = join(this.dir, 'offset');
  private seconds = 0;

  constructor() {
    this.write();
  }

  /** The environment of a process on this clock (base plus libfaketime's variables). */
  env(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return {
      ...base,
      LD_PRELOAD: [libfaketime(), base.LD_PRELOAD].filter(Boolean).join(':'),
      FAKETIME_TIMESTAMP_FILE: this.file,
      FAKETIME_CACHE_DURATION: String(REREAD_SECONDS),
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
      // Without this, libfaketime 0.9.10's pthread_cond_timedwait fix stalls the JVM: the emulator
      // did not start within 60 s (measured here: as fast as without libfaketime with it).
      FAKETIME_FORCE_MONOTONIC_FIX: '0',
    };
  }

  get offsetMs(): number {
    return this.seconds * 1000;
  }

  /** The shifted world's time now (ms). */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Moves the clock forward (or back) by `seconds`; callers wait for the processes to see it. */
  advance(seconds: number): void {
    this.seconds += seconds;
    this.write();
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private write(): void {
    // Written whole and renamed, so that a reader never sees half an offset.
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${this.seconds >= 0 ? '+' : ''}${this.seconds}\n`);
    renameSync(tmp, this.file);
  }
}
