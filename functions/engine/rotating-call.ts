/**
 * The provider call of a realm with rotating values (realm config `rotates`; README "Rotating values
 * (refresh tokens)"). The round (round.ts) makes this call as the lease holder; the call presents
 * the document's current value (token/rotation.ts) and, when the provider rejects it (WeChat 61023,
 * OAuth2 invalid_grant, or the realm's rotation_rejected_values), does not give up at once:
 *
 * 1. it re-reads the token document and tries what a sibling may have written (a newer current, a
 *    value kept from a refused write), then the previous value: each once, each attempt recorded
 *    in the store (and counted in the budget) before it is sent; a lease that lapsed meanwhile
 *    stops the round as lost (the app gets a sibling's token or "try again", never the rejection);
 * 2. then, for realms with a recovery (WeChat authorizers: rotation-recovery.ts), the broker finds
 *    the current value itself, stores it by compare-and-set and tries it once;
 * 3. only then it fails with NEEDS_REAUTHORIZATION, which the round stores as a permanent error that
 *    blocks the secret until its value is replaced (token route 409, webhook
 *    credential.needs_reauthorization).
 * The values never leave this module except in the request to the provider and the sealed document.
 */
import { AppError } from '../errors';
import { log } from '../log';
import { codeMatches } from '../providers/extract';
import { ProviderFailure } from '../providers/failure';
import type { RealmConfig } from '../providers/realm-config';
import type { Rotated } from '../providers/rotated';
import type { RotatingName } from '../providers/template';
import type { Store } from '../store/store';
import type { TokenLease, TokenState } from '../store/types';
import type { Policy } from '../token/decide';
import { recordAttempt } from '../token/mutators';
import { candidatesAfterRejection, presentedValues, storeRecovered } from '../token/rotation';
import { RoundStopped, type RoundCallResult } from './round';

/** Provider codes that reject a rotating value when the realm names none: WeChat, OAuth2 (RFC 6749 §5.2). */
export const DEFAULT_REJECTED_VALUES = ['61023', 'invalid_grant'] as const;
/** Attempts with other values after a rejection (sibling's, orphans, previous), recovery aside. */
export const MAX_LADDER_ATTEMPTS = 3;

/** One provider call with these values (the engine's fetcher for the secret). */
export type ValuesCall = (
  values: Record<string, string>,
  timeoutMs: number,
) => Promise<{ token: string; lifetimeMs: number; rotated?: Rotated }>;

/** Finds the current value of `name` for the secret somewhere the provider keeps it (or undefined). */
export type Recover = (name: RotatingName, timeoutMs: number) => Promise<string | undefined>;

export interface RotatingCallContext {
  store: Store;
  instanceId: string;
  realm: string;
  key: string;
  config: RealmConfig;
  policy: Policy;
  lease: TokenLease;
  /** The token document as the lease's compare-and-set wrote it. */
  state: TokenState;
  secretValues: Readonly<Record<string, string>>;
  recover?: Recover;
}

/** The rotating names the realm's `rotates` maps to. */
export function rotatingNames(config: RealmConfig): RotatingName[] {
  return [...new Set(Object.values(config.rotates ?? {}))];
}

/** Whether a failure is the provider rejecting a rotating value. */
export function rejectsRotating(config: RealmConfig, err: unknown): err is ProviderFailure {
  return (
    err instanceof ProviderFailure &&
    err.providerCode !== undefined &&
    codeMatches(config.rotation_rejected_values ?? [...DEFAULT_REJECTED_VALUES], err.providerCode)
  );
}

function needsReauthorization(ctx: RotatingCallContext, rejection: ProviderFailure, tried: number): AppError {
  return new AppError(
    'NEEDS_REAUTHORIZATION',
    `The provider rejected every refresh value the broker has for ${ctx.realm}/${ctx.key} ` +
      `(${rejection.providerCode ?? ''}, ${tried} tried): authorize again and re-save the secret (POST /api/secret)`,
    {
      details: {
        realm: ctx.realm,
        key: ctx.key,
        state: 'needs_reauthorization',
        ...(rejection.providerCode === undefined ? {} : { providerCode: rejection.providerCode }),
        ...(rejection.httpStatus === undefined ? {} : { httpStatus: rejection.httpStatus }),
      },
    },
  );
}

/**
 * Records one more attempt under the round's lease before it is sent (§5.8): 'recorded', 'lost'
 * (the lease lapsed: someone else may be refreshing) or the budget's refusal.
 */
async function recordRetry(ctx: RotatingCallContext): Promise<string> {
  const record = await ctx.store.mutateTokenState(ctx.realm, ctx.key, (current, now) =>
    recordAttempt(current, now, ctx.lease, ctx.policy),
  );
  return record.kind;
}

/** The round's call for a realm with `rotates` (see the top). */
export function rotatingCall(
  base: ValuesCall,
  ctx: RotatingCallContext,
): (timeoutMs: number) => Promise<RoundCallResult> {
  const names = rotatingNames(ctx.config);
  let state: TokenState | null = ctx.state;
  const attempt = async (presented: Rotated, timeoutMs: number): Promise<RoundCallResult> => {
    const result = await base({ ...ctx.secretValues, ...presented }, timeoutMs);
    return { ...result, presented };
  };
  return async (timeoutMs) => {
    const presented = presentedValues(state, ctx.secretValues, names);
    try {
      return await attempt(presented, timeoutMs);
    } catch (err) {
      const name = names[0];
      const first = name === undefined ? undefined : presented[name];
      if (name === undefined || first === undefined || !rejectsRotating(ctx.config, err)) throw err;
      return ladder(ctx, name, presented, first, err, timeoutMs, attempt, (s) => (state = s));
    }
  };
}

async function ladder(
  ctx: RotatingCallContext,
  name: RotatingName,
  presented: Rotated,
  first: string,
  rejection: ProviderFailure,
  timeoutMs: number,
  attempt: (presented: Rotated, timeoutMs: number) => Promise<RoundCallResult>,
  remember: (state: TokenState | null) => void,
): Promise<RoundCallResult> {
  const tried = [first];
  let last = rejection;
  const tryValue = async (value: string, step: string): Promise<RoundCallResult | undefined> => {
    const record = await recordRetry(ctx);
    // A lapsed lease is not the provider's verdict: the round answers what a sibling stored, or
    // "try again" (never the rejection, which the app would take for a lost authorization).
    if (record === 'lost') throw new RoundStopped('lost');
    if (record !== 'recorded') throw last;
    tried.push(value);
    log('WARNING', `retrying ${ctx.realm}/${ctx.key} with another ${name} (${step})`, {
      event: 'rotating_value_retry',
      realm: ctx.realm,
      key: ctx.key,
      step,
      providerCode: last.providerCode,
      instance: ctx.instanceId,
    });
    try {
      return await attempt({ ...presented, [name]: value }, timeoutMs);
    } catch (err) {
      if (!rejectsRotating(ctx.config, err)) throw err;
      last = err;
      return undefined;
    }
  };
  const read = await ctx.store.readTokenState(ctx.realm, ctx.key);
  remember(read.state);
  for (const value of candidatesAfterRejection(read.state, name, tried).slice(0, MAX_LADDER_ATTEMPTS)) {
    const done = await tryValue(value, 'stored');
    if (done !== undefined) return done;
  }
  if (ctx.recover !== undefined) {
    const found = await ctx.recover(name, timeoutMs);
    if (found !== undefined && !tried.includes(found)) {
      const ours = await ctx.store.mutateTokenState(ctx.realm, ctx.key, (current) =>
        storeRecovered(current, ctx.lease, name, found),
      );
      log('WARNING', `recovered the ${name} of ${ctx.realm}/${ctx.key} from the provider`, {
        event: 'rotating_value_recovered',
        realm: ctx.realm,
        key: ctx.key,
        stored: ours,
        instance: ctx.instanceId,
      });
      const done = await tryValue(found, 'recovered');
      if (done !== undefined) return done;
    }
  }
  throw needsReauthorization(ctx, last, tried.length);
}
