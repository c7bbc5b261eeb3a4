/**
 * Rotating values (README "Rotating values (refresh tokens)"): the rules of the token
 * document's `rotating` field, as pure functions of the state (each runs inside one compare-and-set
 * on the token document, or decides which value an attempt presents).
 *
 * - The value an attempt presents is the document's `current` for that name, else the one the secret
 *   was created with (a secret re-posted gets a fresh document: its value applies again).
 * - A token write that brings a new value stores it as `current` in the same write as the token, and
 *   keeps the value it replaced as `previous`: under the reading that the old value stays valid a
 *   while, a sibling that presented it may still succeed; under the strict reading it is dead, and
 *   `previous` is only a fallback. When the provider answers no new value (the "does not rotate"
 *   reading), the presented one is `current` and nothing else is kept.
 * - A new value whose token write is refused (the holder's lease lapsed, or someone wrote first) is
 *   never dropped: if the document still presents the value that fetched it, it becomes `current`;
 *   otherwise it is kept as an `orphan`, tried after a rejection. Either way a secret that had given
 *   up (needs_reauthorization) is unblocked, since there is a value it has not tried.
 * - After a rejection of the presented value, the next candidates are, in order: the document's
 *   `current` when a sibling changed it, its orphans, then `previous`, each at most once.
 * Every rotating value is a credential: sealed with the token (store/codec.ts), never in a summary,
 * a log line, an error or an event.
 */
import type { RotatingName } from '../providers/template';
import type { Mutation, RotatingSlot, RotatingState, TokenLease, TokenState } from './types';

export type { RotatingSlot, RotatingState } from './types';

/** The AppError code (and stored error code) of a secret that needs authorizing again. */
export const NEEDS_REAUTHORIZATION = 'NEEDS_REAUTHORIZATION';
/** How long a secret that gave up stays blocked: until its value is replaced (re-posted or recovered). */
export const NEEDS_REAUTHORIZATION_BLOCK_MS = 366 * 86_400_000;
/** Orphans kept per name (newest first). */
export const MAX_ORPHANS = 3;

/** The values an attempt presents, by name: the document's current one, else the secret's own. */
export function presentedValues(
  state: Pick<TokenState, 'rotating'> | null,
  secretValues: Readonly<Record<string, string>>,
  names: readonly RotatingName[],
): Partial<Record<RotatingName, string>> {
  const out: Partial<Record<RotatingName, string>> = {};
  for (const name of names) {
    const value = state?.rotating?.[name]?.current ?? secretValues[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/**
 * After the provider rejected `tried` (every value presented so far, the first one first): the values
 * still worth one attempt each, in order (a sibling's newer current, orphans, the previous value).
 */
export function candidatesAfterRejection(
  state: Pick<TokenState, 'rotating'> | null,
  name: RotatingName,
  tried: readonly string[],
): string[] {
  const slot = state?.rotating?.[name];
  if (slot === undefined) return [];
  const ordered = [
    slot.current,
    ...(slot.orphans ?? []),
    ...(slot.previous === undefined ? [] : [slot.previous]),
  ];
  return [...new Set(ordered)].filter((v) => !tried.includes(v));
}

/** The slot after a token write: the value received becomes current, the presented one previous. */
export function slotAfterFetch(presented: string, received: string | undefined): RotatingSlot {
  if (received === undefined || received === presented) return { current: presented };
  return { current: received, previous: presented };
}

/**
 * The `rotating` field of a token write (mutators.ts writeToken): every name presented gets its
 * slot after the fetch; names not presented keep theirs. Undefined when nothing rotates.
 */
export function rotatingAfterFetch(
  current: RotatingState | undefined,
  presented: Partial<Record<RotatingName, string>>,
  received: Partial<Record<RotatingName, string>> | undefined,
): RotatingState | undefined {
  const names = Object.keys(presented) as RotatingName[];
  if (names.length === 0) return current;
  const next: RotatingState = { ...current };
  for (const name of names) {
    const value = presented[name];
    if (value !== undefined) next[name] = slotAfterFetch(value, received?.[name]);
  }
  return next;
}

function withOrphan(slot: RotatingSlot, value: string): RotatingSlot {
  if (slot.current === value || slot.previous === value || slot.orphans?.includes(value) === true)
    return slot;
  return { ...slot, orphans: [value, ...(slot.orphans ?? [])].slice(0, MAX_ORPHANS) };
}

/** Whether the state gave up on its rotating value (blocked until a value changes). */
export function needsReauthorization(state: Pick<TokenState, 'lastError'> | null): boolean {
  return state?.lastError?.code === NEEDS_REAUTHORIZATION;
}

/** A state that gave up, unblocked: a value it has not tried arrived. */
function unblocked(state: TokenState): TokenState {
  if (!needsReauthorization(state)) return state;
  const { blockedUntil: _blocked, lastError: _error, ...rest } = state;
  return rest;
}

/**
 * Keeps new values whose token write was refused (see the top). `presented` is what fetched them.
 * Writes nothing when every value is already known, when the secret was replaced meanwhile, or when
 * the document is gone (then the values go with it, like the token, and the next attempt presents
 * the secret's own).
 */
export function keepReceived(
  current: TokenState | null,
  secretRev: string,
  presented: Partial<Record<RotatingName, string>>,
  received: Partial<Record<RotatingName, string>>,
): Mutation<boolean> {
  // Credentials replaced meanwhile (a new rev): the admin's value stands.
  if (current === null || current.secretRev !== secretRev) return { result: false };
  const next: RotatingState = { ...current.rotating };
  let changed = false;
  for (const name of Object.keys(received) as RotatingName[]) {
    const value = received[name];
    const from = presented[name];
    if (value === undefined || value === from) continue;
    const slot = next[name];
    const before = slot;
    if (slot === undefined) {
      next[name] = from === undefined ? { current: value } : { current: value, previous: from };
    } else if (slot.current === from) {
      next[name] = {
        current: value,
        previous: from,
        ...(slot.orphans === undefined ? {} : { orphans: slot.orphans }),
      };
    } else {
      next[name] = withOrphan(slot, value);
    }
    if (next[name] !== before) changed = true;
  }
  if (!changed) return { result: false };
  return { next: { ...unblocked(current), rotating: next }, result: true };
}

/**
 * A value recovered by the broker (e.g. from WeChat's authorizer list) for `name`, written by the
 * round's holder: it becomes current (the value it replaces kept as previous). Refused (false) when
 * the lease is no longer ours; then it is kept as an orphan if it is new.
 */
export function storeRecovered(
  current: TokenState | null,
  lease: TokenLease,
  name: RotatingName,
  value: string,
): Mutation<boolean> {
  if (current === null) return { result: false };
  const slot = current.rotating?.[name];
  if (current.lease?.id !== lease.id) {
    if (slot === undefined) return { result: false };
    const kept = withOrphan(slot, value);
    if (kept === slot) return { result: false };
    return { next: { ...current, rotating: { ...current.rotating, [name]: kept } }, result: false };
  }
  if (slot?.current === value) return { result: true };
  const next: RotatingSlot =
    slot === undefined ? { current: value } : { current: value, previous: slot.current };
  return { next: { ...current, rotating: { ...current.rotating, [name]: next } }, result: true };
}
