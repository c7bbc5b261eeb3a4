/**
 * The freshness scan of pushed tickets (README "Third-party platforms (WeChat Open Platform)"), part of every scheduled run: for each secret of
 * a realm that references `${ticket}` (wechat_component, wecom_suite, …), when no ticket has arrived
 * for its platform's stale time (freshness-table.ts: 25 min for WeChat and WeCom) of store time (or
 * none at all that long after the secret was created):
 * - a stale episode begins (`staleSince`, with a `ticket.stale` webhook event in the same commit:
 *   ops/webhooks/ticket-events.ts); the next stored ticket ends it (`ticket.recovered`);
 * - a platform that has a call for it is asked to push again (WeChat: api_start_push_ticket; WeCom
 *   has none, so its stale ticket is only reported), at most once per
 *   START_PUSH_INTERVAL_MS across all instances: the attempt is claimed in the pushed-values
 *   document by a compare-and-set (Store.mutatePushed) before the call is sent, so two runs at once
 *   send one call, and the claim is shared with the token route's own requests for a push.
 * The last good ticket stays in use meanwhile (valid 12 h): nothing here touches it or the token.
 * Cost per run: the realm listing, each component realm's secrets, one pushed-values read per
 * component secret, and a transaction only for a secret that needs one of the two actions.
 */
import { AppError } from '../errors';
import { log } from '../log';
import { usesPushedTicket } from '../engine/pushed-fetcher';
import { ProviderFailure } from '../providers/failure';
import { parseRealmConfig, type RealmConfig } from '../providers/realm-config';
import type { PushedMutator, PushedState } from '../store/pushed';
import { secretDocId, type Store } from '../store/store';
import type { SecretRecord } from '../store/types';
import { sendAsk } from './ask-for-ticket';
import { START_PUSH_INTERVAL_MS } from './start-push';
import { freshnessOf, type TicketFreshness } from './freshness-table';
import { TICKET_STALE_AFTER_MS } from './ticket-status';

/** Realms and secrets listed per page. */
const PAGE_SIZE = 100;

/**
 * - `fresh`: a ticket arrived within TICKET_STALE_AFTER_MS (or the secret is younger than that);
 * - `waiting`: stale, already reported, and a push was asked for less than 10 minutes ago;
 * - `marked`: the stale episode begins now, but a push was asked for recently (by a request);
 * - `claimed`: this run asks for a push (and begins the episode if it had not begun).
 */
export type FreshnessDecision = 'fresh' | 'waiting' | 'marked' | 'claimed';

export interface FreshnessSummary {
  /** Secrets of realms that take pushed tickets. */
  scanned: number;
  /** Of those, stale or missing for longer than TICKET_STALE_AFTER_MS. */
  stale: number;
  /** api_start_push_ticket calls this run made (claimed and answered errcode 0). */
  startPushSent: number;
  startPushFailed: number;
}

/**
 * The decision on one secret's pushed values at store time `now` (pure: Store.mutatePushed may run
 * it again). `createdAt`: the secret's creation, from which a ticket that never came counts.
 */
export function freshnessDecision(
  realm: string,
  key: string,
  createdAt: number,
  row: Pick<TicketFreshness, 'staleAfterMs' | 'ask'> = {
    staleAfterMs: TICKET_STALE_AFTER_MS,
    ask: 'api_start_push_ticket',
  },
): PushedMutator<FreshnessDecision> {
  return (current, now) => {
    const since = current?.ticketArrivedAt ?? createdAt;
    if (now - since <= row.staleAfterMs) return { result: 'fresh' };
    const mark = current?.staleSince === undefined;
    // A platform with no call to make it push again (WeCom) is only reported stale.
    const claim =
      row.ask !== undefined &&
      (current?.startPushAt === undefined || now - current.startPushAt >= START_PUSH_INTERVAL_MS);
    if (!mark && !claim) return { result: 'waiting' };
    const next: PushedState = {
      ...(current ?? { realm, key }),
      ...(mark ? { staleSince: now } : {}),
      ...(claim ? { startPushAt: now } : {}),
    };
    return { next, result: claim ? 'claimed' : 'marked' };
  };
}

async function scanSecret(
  deps: FreshnessDeps,
  secret: SecretRecord,
  config: RealmConfig,
  summary: FreshnessSummary,
): Promise<void> {
  const { realm, key } = secret;
  summary.scanned++;
  const decide = freshnessDecision(realm, key, secret.createdAt, freshnessOf(config));
  // A read first: a fresh or already handled secret costs no transaction.
  const { state, now } = await deps.store.readPushed(realm, key, { open: false });
  const looks = decide(state, now);
  if (looks.result !== 'fresh') summary.stale++;
  if (looks.next === undefined) return;
  const decided = await deps.store.mutatePushed(realm, key, decide);
  if (decided !== 'claimed') return;
  try {
    await sendAsk(deps, secret, config);
    summary.startPushSent++;
    log('WARNING', `pushed ticket of ${realm}/${key} is stale: start-push sent`, {
      event: 'start_push',
      realm,
      key,
      outcome: 'sent',
      by: 'freshness_scan',
    });
  } catch (err) {
    summary.startPushFailed++;
    log('ERROR', `pushed ticket of ${realm}/${key} is stale, and start-push failed`, {
      event: 'start_push',
      realm,
      key,
      outcome: 'failed',
      by: 'freshness_scan',
      code: err instanceof AppError ? err.code : 'INTERNAL',
      providerCode: err instanceof ProviderFailure ? err.providerCode : undefined,
    });
  }
}

export interface FreshnessDeps {
  store: Store;
  allowPrivate: boolean;
}

/**
 * Every secret of every realm that takes pushed tickets, a page of each at a time: the one walk the
 * scheduled run makes for them (the freshness scan below, and the component follow-ups of
 * platforms/authorizer-followups.ts ride along on it). Realms are read once, pushed-ticket realms'
 * secrets once; other realms' secrets never.
 */
export async function forEachPushedTicketSecret(
  store: Store,
  visitPage: (secrets: readonly SecretRecord[], config: RealmConfig) => Promise<void>,
): Promise<void> {
  for (let after: string | undefined; ;) {
    const realms = await store.listRealms({
      limit: PAGE_SIZE,
      countTotal: false,
      ...(after === undefined ? {} : { after }),
    });
    for (const realm of realms.list) {
      let config: RealmConfig;
      try {
        config = parseRealmConfig(realm.config);
      } catch {
        continue; // a realm this version cannot read takes no pushed ticket it could use
      }
      if (!usesPushedTicket(config)) continue;
      for (let position: string | undefined; ;) {
        const secrets = await store.listSecrets({
          realm: realm.id,
          limit: PAGE_SIZE,
          countTotal: false,
          ...(position === undefined ? {} : { after: position }),
        });
        await visitPage(secrets.list, config);
        const last = secrets.list.at(-1);
        if (secrets.next === undefined || last === undefined) break;
        position = secretDocId(realm.id, last.key);
      }
    }
    if (realms.next === undefined) break;
    after = realms.next;
  }
}

/**
 * One scan over every secret of every realm that takes pushed tickets. `alsoVisit` sees each such
 * secret too (the scheduled run collects its WeChat components there, instead of a second walk).
 */
export async function scanTicketFreshness(
  deps: FreshnessDeps,
  alsoVisit?: (secret: SecretRecord, config: RealmConfig) => void,
): Promise<FreshnessSummary> {
  const summary: FreshnessSummary = { scanned: 0, stale: 0, startPushSent: 0, startPushFailed: 0 };
  await forEachPushedTicketSecret(deps.store, async (secrets, config) => {
    if (alsoVisit !== undefined) for (const s of secrets) alsoVisit(s, config);
    await Promise.all(secrets.map((s) => scanSecret(deps, s, config, summary)));
  });
  return summary;
}
