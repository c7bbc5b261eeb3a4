/**
 * Documents written in the same commit as a change of the store's own records: an admin change's
 * audit record, a token state change's webhook event (its outbox entry) or a report's audit record.
 * The store only writes them; what they are is decided in functions/ops/.
 */
import type { PushedState } from './pushed';
import type { TokenState } from './types';

export interface SideWrite {
  collection: string;
  id: string;
  doc: Record<string, unknown>;
  /** A field set to the commit's store time (Firestore: the server's timestamp; memory: its clock). */
  stampField?: string;
}

/** What a token state change brings along (set on a store by the runtime: Store.tokenHook). */
export interface TokenChangeHook {
  /**
   * The side writes of one decided change (before → after, `now` the store time of the read). It may
   * be called for a decision that is not committed (the compare-and-set lost and decides again).
   */
  writesFor(before: TokenState | null, after: TokenState | null, now: number): SideWrite[];
  /** Called once the change and its side writes are committed. */
  committed(writes: SideWrite[]): void;
}

/** What a change of a secret's pushed values brings along (Store.pushedHook: ticket webhook events). */
export interface PushedChangeHook {
  /** As TokenChangeHook.writesFor, for a decided pushed-values change (possibly not committed). */
  writesFor(before: PushedState | null, after: PushedState, now: number): SideWrite[];
  /** Called once the change and its side writes are committed. */
  committed(writes: SideWrite[]): void;
}
