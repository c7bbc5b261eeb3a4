/**
 * What the scheduled refresh finishes for WeChat Open Platform components by itself (README
 * "Third-party platforms (WeChat Open Platform)"), kept on the component's pushed-values document:
 * - `pendingAuthorizers`: authorizers whose authorization code was kept sealed because its exchange
 *   (api_query_auth) did not finish before the event's answer was due, or failed transiently
 *   (authorization-events.ts adds them); each run completes them (finishPending: exchanged, or
 *   dropped once expired or superseded by a newer event), keeping those that fail transiently;
 * - `syncCursor`: where an unfinished sync stopped (authorizer-sync.ts keeps it after every call
 *   that answers `complete: false`, and clears it on completion); each run goes on from it for
 *   SCHEDULED_SYNC_BUDGET_MS, keeping the new cursor until the sync completes.
 * A run works on a component only after claiming it (`followUpUntil`, a compare-and-set on that
 * document at the store's time), so that runs at the same time, on any instances, do the work once;
 * the claim is released when the run is done with it, and lapses by itself if the run dies.
 * Cost per run: one read per component secret (the scheduled run finds the components on the walk
 * its freshness scan makes anyway); writes and provider calls only for the work found.
 */
import { AppError } from '../errors';
import { log } from '../log';
import { auditWrite } from '../ops/audit/record';
import { ProviderFailure } from '../providers/failure';
import type { RealmConfig } from '../providers/realm-config';
import type { PushedState } from '../store/pushed';
import type { Store } from '../store/store';
import type { SecretRecord } from '../store/types';
import type { Runtime } from '../runtime';
import { usesPushedTicket } from '../engine/pushed-fetcher';
import { finishPending } from './authorization-events';
import { requireAuthorizerRealm } from './authorizer-realm';
import { syncAuthorizers } from './authorizer-sync';
import type { Component } from './component-api';
import { freshnessOf } from './freshness-table';
import { forEachPushedTicketSecret } from './ticket-freshness';

/** How long a run's claim on a component's follow-up work lasts (store time). */
export const FOLLOW_UP_CLAIM_MS = 55_000;
/** How long a scheduled run pages an unfinished sync before keeping the cursor for the next run. */
export const SCHEDULED_SYNC_BUDGET_MS = 20_000;

export interface FollowUpSummary {
  /** Components that had work and were claimed by this run. */
  components: number;
  codesStored: number;
  /** Codes dropped: expired, superseded by a newer event, or refused by WeChat. */
  codesDropped: number;
  /** Codes kept for the next run (a transient failure). */
  codesKept: number;
  /** Unfinished syncs this run went on with. */
  syncsContinued: number;
  syncsCompleted: number;
}

/** Claims the component's follow-up work until now + FOLLOW_UP_CLAIM_MS, if nobody holds it. */
async function claim(store: Store, realm: string, key: string): Promise<PushedState | null> {
  return store.mutatePushed(realm, key, (current, now) => {
    if (current === null || (current.followUpUntil ?? 0) > now) return { result: null };
    const hasWork = (current.pendingAuthorizers?.length ?? 0) > 0 || current.syncCursor !== undefined;
    if (!hasWork) return { result: null };
    const next = { ...current, followUpUntil: now + FOLLOW_UP_CLAIM_MS };
    return { next, result: next };
  });
}

/** Releases the claim, dropping the authorizers whose kept code is settled. */
async function release(store: Store, realm: string, key: string, settled: ReadonlySet<string>) {
  await store.mutatePushed(realm, key, (current) => {
    if (current === null) return { result: undefined };
    const { followUpUntil: _claim, pendingAuthorizers, ...rest } = current;
    const left = (pendingAuthorizers ?? []).filter((a) => !settled.has(a));
    return { next: { ...rest, ...(left.length > 0 ? { pendingAuthorizers: left } : {}) }, result: undefined };
  });
}

async function finishCodes(
  runtime: Runtime,
  c: Component,
  appids: readonly string[],
  summary: FollowUpSummary,
): Promise<Set<string>> {
  const settled = new Set<string>();
  const deps = {
    engine: runtime.engine,
    allowPrivate: runtime.config.allowPrivateUpstreams,
    store: runtime.store,
    now: () => runtime.clock.now(),
    answerWithinMs: 0,
    requestId: `scheduled-${runtime.instanceId}`,
  };
  for (const appid of appids) {
    try {
      const outcome = await finishPending(deps, c, appid);
      if (outcome === 'stored') summary.codesStored++;
      else summary.codesDropped++;
      settled.add(appid);
      log('INFO', `kept authorization code of ${appid}: ${outcome}`, {
        event: 'authorization_exchange',
        realm: requireAuthorizerRealm(c.secret),
        key: appid,
        outcome,
        by: 'scheduled',
      });
    } catch (err) {
      const transient = !(err instanceof ProviderFailure) || err.transient;
      if (transient) summary.codesKept++;
      else {
        summary.codesDropped++;
        settled.add(appid);
      }
      log('WARNING', `kept authorization code of ${appid} could not be exchanged`, {
        event: 'authorization_exchange',
        realm: requireAuthorizerRealm(c.secret),
        key: appid,
        outcome: transient ? 'kept' : 'dropped',
        by: 'scheduled',
        code: err instanceof AppError ? err.code : 'INTERNAL',
        providerCode: err instanceof ProviderFailure ? err.providerCode : undefined,
      });
    }
  }
  return settled;
}

async function continueSync(runtime: Runtime, c: Component, cursor: string, summary: FollowUpSummary) {
  const hash = await runtime.ops.auditKey.hasher();
  const result = await syncAuthorizers(
    {
      engine: runtime.engine,
      allowPrivate: runtime.config.allowPrivateUpstreams,
      store: runtime.store,
      now: () => runtime.clock.now(),
      audit: (target, refreshToken) => [
        auditWrite({
          actor: 'scheduled',
          action: 'component.sync',
          target,
          requestId: `scheduled-${runtime.instanceId}`,
          hashes: hash === undefined ? [] : [hash(refreshToken)],
        }),
      ],
    },
    c,
    { cursor, deadline: runtime.clock.now() + SCHEDULED_SYNC_BUDGET_MS },
  );
  summary.syncsContinued++;
  if (result.complete) summary.syncsCompleted++;
  log('INFO', `continued the authorizer sync of ${c.secret.realm}/${c.secret.key}`, {
    event: 'authorizer_sync',
    realm: c.secret.realm,
    key: c.secret.key,
    by: 'scheduled',
    seen: result.seen,
    created: result.created,
    recovered: result.recovered,
    complete: result.complete,
  });
}

async function followUp(runtime: Runtime, c: Component, summary: FollowUpSummary): Promise<void> {
  const { realm, key } = c.secret;
  const { state } = await runtime.store.readPushed(realm, key, { open: false });
  if ((state?.pendingAuthorizers?.length ?? 0) === 0 && state?.syncCursor === undefined) return;
  const claimed = await claim(runtime.store, realm, key);
  if (claimed === null) return;
  summary.components++;
  let settled = new Set<string>();
  try {
    settled = await finishCodes(runtime, c, claimed.pendingAuthorizers ?? [], summary);
    if (claimed.syncCursor !== undefined) await continueSync(runtime, c, claimed.syncCursor, summary);
  } finally {
    await release(runtime.store, realm, key, settled);
  }
}

/** A WeChat component secret with customers: what the follow-ups look at. */
export function isFollowUpComponent(secret: SecretRecord, config: RealmConfig): boolean {
  return (
    secret.values.authorizer_realm !== undefined &&
    usesPushedTicket(config) &&
    freshnessOf(config).preset === 'wechat_component'
  );
}

/**
 * One pass over every WeChat component secret (see the top). The scheduled run passes the components
 * its freshness scan found on its walk; without them, the same walk is made here.
 */
export async function finishAuthorizerFollowUps(
  runtime: Runtime,
  found?: readonly Component[],
): Promise<FollowUpSummary> {
  const summary: FollowUpSummary = {
    components: 0,
    codesStored: 0,
    codesDropped: 0,
    codesKept: 0,
    syncsContinued: 0,
    syncsCompleted: 0,
  };
  let components = found;
  if (components === undefined) {
    const list: Component[] = [];
    await forEachPushedTicketSecret(runtime.store, async (secrets, config) => {
      for (const secret of secrets) if (isFollowUpComponent(secret, config)) list.push({ secret, config });
    });
    components = list;
  }
  for (const c of components) await followUp(runtime, c, summary);
  return summary;
}
