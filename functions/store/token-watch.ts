/**
 * Sleeping until a token state changes: a waiter (the engine's waitForHolder) sleeps until the store
 * reports a change to the token document or its poll delay elapses, whichever comes first. With a
 * store that cannot watch (`watchTokenState` absent) or a watch that fails, it is the plain poll.
 *
 * A watch reports once when it starts (Firestore's first snapshot; the memory store does the same),
 * so a write that landed between the waiter's read and the start of the watch is not missed. Each
 * report carries the document as of the snapshot: the waiter decides on it without reading again.
 */
import type { Clock } from '../clock';
import type { Store, TokenRead } from './store';

/**
 * A snapshot the watch reported, with `sentAt`: an instance-clock time no later than the moment of
 * the snapshot's store time (as a read's send time is), for converting deadlines (engine/served.ts).
 */
export type WatchedRead = TokenRead & { sentAt: number };

export type Wake = 'changed' | 'elapsed';

export interface ChangeWatch {
  /** Resolves 'changed' once a change is reported (or was since the last sleep), else 'elapsed' after ms. */
  sleep(clock: Clock, ms: number): Promise<Wake>;
  /** Changes reported so far. */
  readonly changes: number;
  /** The newest snapshot reported and not yet taken (undefined: none, or it could not be decoded). */
  take(): WatchedRead | undefined;
  /** Stops watching (idempotent): the waiter must call it when its wait ends. */
  close(): void;
}

/**
 * `clock` is the instance's: the watch notes when it opened. Every snapshot is read after that, so
 * the first one's store time maps to no earlier than the opening, and a later one to the opening
 * plus the store time passed since the first (the two clocks run at the same rate, whatever their
 * offset).
 */
export function watchChanges(store: Store, realm: string, key: string, clock: Clock): ChangeWatch {
  const openedAt = clock.now();
  let firstStoreTime: number | undefined;
  let latest: WatchedRead | undefined;
  let changes = 0;
  let seen = 0;
  let wake: (() => void) | undefined;
  const stop = store.watchTokenState?.(realm, key, (read) => {
    changes++;
    if (read !== undefined) {
      firstStoreTime ??= read.now;
      latest = { ...read, sentAt: openedAt + Math.max(0, read.now - firstStoreTime) };
    } else {
      latest = undefined;
    }
    wake?.();
  });
  let closed = false;
  return {
    get changes() {
      return changes;
    },
    take() {
      const read = latest;
      latest = undefined;
      return read;
    },
    sleep(clock, ms) {
      if (changes !== seen) {
        seen = changes;
        return Promise.resolve('changed');
      }
      return new Promise<Wake>((resolve) => {
        let settled = false;
        const settle = (how: Wake) => {
          if (settled) return;
          settled = true;
          wake = undefined;
          seen = changes;
          resolve(how);
        };
        wake = () => settle('changed');
        void clock.sleep(ms).then(() => settle('elapsed'));
      });
    },
    close() {
      if (closed) return;
      closed = true;
      wake = undefined;
      stop?.();
    },
  };
}
