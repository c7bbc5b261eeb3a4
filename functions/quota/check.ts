/**
 * Quota truth (the scheduled refresh calls checkQuotas): for each secret of a WeChat token realm
 * (GET …/cgi-bin/token), at most once an hour, WeChat's own count of today's /cgi-bin/token calls
 * (providers/quota.ts) is compared with the broker's count for the same UTC+8 day
 * (token/quota-day-count.ts). WeChat counting more means another system fetches tokens with this appid,
 * and each of its fetches kills the broker's token: the status row then says so (`foreign_use`),
 * and once per day and secret a `quota_foreign_use` warning is logged and the `quota.foreign_use`
 * webhook event is sent: the event's outbox entry is written in the same commit as the check that
 * found it (the commit sets quotaCheck.foreignReported; ops/webhooks/events.ts).
 *
 * The broker's count is read after WeChat answered and every attempt is counted before it is sent,
 * so the broker never counts less than WeChat saw of it: a surplus is someone else's.
 * Reads are bounded like the probes': one page of realms, one page of secrets per WeChat realm.
 */
import { AppError } from '../errors';
import { log } from '../log';
import { fetchWechatQuota, isWechatTokenUrl } from '../providers/quota';
import { realmConfigSchema } from '../providers/realm-config';
import type { Store } from '../store/store';
import type { QuotaCheck, TokenState } from '../store/types';
import { quotaCallsOn, wechatDay } from '../token/quota-day-count';

export const QUOTA_CHECK_INTERVAL_MS = 3_600_000;
export const QUOTA_REALMS_PER_RUN = 200;
export const QUOTA_SECRETS_PER_REALM = 200;
const QUOTA_TIMEOUT_MS = 5_000;

export interface QuotaDeps {
  store: Store;
  allowPrivateUpstreams: boolean;
  instanceId: string;
}

export interface QuotaSummary {
  checked: number;
  foreign: number;
}

function validToken(cur: TokenState | null, now: number): cur is TokenState & { token: string } {
  return cur?.token !== undefined && (cur.expiresAt === undefined || cur.expiresAt > now);
}

/** Claims this hour's check of one secret: answers its token, or null (checked lately, no token). */
function claim(store: Store, realm: string, key: string): Promise<{ token: string; day: string } | null> {
  return store.mutateTokenState(realm, key, (cur, now) => {
    if (!validToken(cur, now)) return { result: null };
    if (cur.quotaCheck !== undefined && now - cur.quotaCheck.at < QUOTA_CHECK_INTERVAL_MS)
      return { result: null };
    return {
      next: { ...cur, quotaCheck: { ...cur.quotaCheck, at: now } },
      result: { token: cur.token, day: wechatDay(now) },
    };
  });
}

/** Records WeChat's answer beside the broker's count as it is now; answers the check recorded. */
function record(
  store: Store,
  realm: string,
  key: string,
  day: string,
  answer: Awaited<ReturnType<typeof fetchWechatQuota>>,
): Promise<{ check: QuotaCheck; newlyForeign: boolean } | null> {
  return store.mutateTokenState(realm, key, (cur, now) => {
    if (cur === null) return { result: null };
    const before = cur.quotaCheck;
    let check: QuotaCheck;
    if (!answer.ok) check = { at: now, error: answer.error };
    else {
      // Judged only when both counts are of one day (not across WeChat's midnight, 16:00 UTC).
      const broker = wechatDay(now) === day ? quotaCallsOn(cur, now) : undefined;
      check = {
        at: now,
        day,
        wechatUsed: answer.used,
        ...(answer.dailyLimit === undefined ? {} : { dailyLimit: answer.dailyLimit }),
        ...(broker === undefined ? {} : { brokerCalls: broker, foreign: answer.used > broker }),
      };
    }
    // Once per day: not again after a check that failed or could not judge, nor for a state
    // that was judged foreign today before foreignReported existed.
    const newlyForeign =
      check.foreign === true &&
      check.day !== undefined &&
      before?.foreignReported !== check.day &&
      !(before?.foreign === true && before.day === check.day);
    const reported = newlyForeign ? check.day : before?.foreignReported;
    if (reported !== undefined) check.foreignReported = reported;
    return { next: { ...cur, quotaCheck: check }, result: { check, newlyForeign } };
  });
}

async function checkOne(
  deps: QuotaDeps,
  realm: string,
  key: string,
  tokenUrl: string,
  summary: QuotaSummary,
) {
  const claimed = await claim(deps.store, realm, key);
  if (claimed === null) return;
  summary.checked++;
  const answer = await fetchWechatQuota(tokenUrl, claimed.token, {
    allowPrivate: deps.allowPrivateUpstreams,
    timeoutMs: QUOTA_TIMEOUT_MS,
  });
  const recorded = await record(deps.store, realm, key, claimed.day, answer);
  if (recorded === null) return;
  const { check } = recorded;
  if (check.foreign === true) summary.foreign++;
  if (recorded.newlyForeign) {
    log(
      'WARNING',
      `quota: WeChat counted ${check.wechatUsed} token fetches for ${realm}/${key} on ${check.day}, the broker made ${check.brokerCalls}: another system fetches this appid's token (and kills the broker's)`,
      {
        event: 'quota_foreign_use',
        realm,
        key,
        day: check.day,
        wechatUsed: check.wechatUsed,
        brokerCalls: check.brokerCalls,
        instance: deps.instanceId,
      },
    );
  }
}

/** One round over every WeChat token realm's secrets (bounded reads, one check at a time per realm). */
export async function checkQuotas(deps: QuotaDeps): Promise<QuotaSummary> {
  const summary: QuotaSummary = { checked: 0, foreign: 0 };
  const realms = await deps.store.listRealms({ offset: 0, limit: QUOTA_REALMS_PER_RUN });
  for (const realm of realms.list) {
    const parsed = realmConfigSchema.safeParse(realm.config);
    if (!parsed.success || parsed.data.method !== 'GET' || !isWechatTokenUrl(parsed.data.url)) continue;
    const page = await deps.store.listTokenSummaries({
      realm: realm.id,
      limit: QUOTA_SECRETS_PER_REALM,
      countTotal: false,
    });
    for (const s of page.list) {
      if (!s.hasToken) continue;
      await checkOne(deps, s.realm, s.key, parsed.data.url, summary).catch((err: unknown) => {
        log('WARNING', `quota: checking ${s.realm}/${s.key} failed`, {
          event: 'quota_check_failed',
          realm: s.realm,
          key: s.key,
          code: err instanceof AppError ? err.code : 'INTERNAL',
          instance: deps.instanceId,
        });
      });
    }
  }
  return summary;
}
