/**
 * Sleeping until a token state changes: a waiter (the engine's waitForHolder) sleeps until the store
 * reports a change to the token document or its poll delay elapses, whichever comes first. With a
 * store that cannot watch (`watchTokenState` absent) or a watch that fails, it is the plain poll.
 *
 * A watch reports once when it starts (Firestore's first snapshot; the memory store does the same),
 * so a write that landed between the waiter's read and the start of the watch is not missed: it
 * costs one extra read per waiting instance, and it closes the race.
 */
import type { Clock } from '../clock';
import type { Store } from './store';

export type Wake = 'changed' | 'elapsed';

export interface ChangeWatch {
  /** Resolves 'changed' once a change is reported (or was since the last sleep), else 'elapsed' after ms. */
  sleep(clock: Clock, ms: number): Promise<Wake>;
  /** Changes reported so far. */
  readonly changes: number;
  /** Stops watching (idempotent): the waiter must call it when its wait ends. */
  close(): void;
}

export function watchChanges(store: Store, realm: string, key: string): ChangeWatch {
  let changes = 0;
  let seen = 0;
  let wake: (() => void) | undefined;
  const stop = store.watchTokenState?.(realm, key, () => {
    changes++;
    wake?.();
  });
  let closed = false;
  return {
    get changes() {
      return changes;
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
