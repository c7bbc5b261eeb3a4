/**
 * Probing for outside kills (SPEC §6): another system that fetches a WeChat token with the same appid
 * kills ours without telling anyone, and apps that cannot report a rejected token (the WeChat-
 * compatible routes) would keep getting it until its due time. The scheduled refresh calls
 * probeTokens: for each realm that names a `probe`, each of its secrets' tokens is checked at most
 * every `probe.interval_ms` (claimed in the token state as `probedAt`, counted in the daily budget,
 * so that instances running at once probe once), and a dead one is refreshed at once by an
 * invalid_token report on that very token: collapsed with any app's report, one refresh.
 *
 * Reads are bounded: one page of realms, then at most PROBE_SECRETS_PER_REALM secrets of each realm
 * with a probe, one token-state read each; never a scan of every token.
 */
import type { Clock } from '../clock';
import { AppError } from '../errors';
import { log } from '../log';
import { probeToken } from '../providers/probe';
import { realmConfigSchema, type RealmConfig, type RealmProbe } from '../providers/realm-config';
import type { Store } from '../store/store';
import type { SecretRecord } from '../store/types';
import type { ServedToken } from './served';
import type { TokenRequest } from './types';
import { callsToday, utcDay } from '../token/decide';
import { leaseActive, usable } from '../token/phase';

/** Realms looked at per run (realms are few; those past this are not probed). */
export const PROBE_REALMS_PER_RUN = 200;
/** Secrets of one probe realm looked at per run. */
export const PROBE_SECRETS_PER_REALM = 200;
const PROBE_CONCURRENCY = 8;

export interface ProbeSummary {
  /** Probe calls made. */
  probed: number;
  /** Tokens the provider called dead (each then reported invalid). */
  dead: number;
  /** Dead tokens replaced by a new one. */
  refreshed: number;
}

export interface ProbeDeps {
  store: Store;
  clock: Clock;
  allowPrivateUpstreams: boolean;
  instanceId: string;
  /** The engine's getToken: a dead token is reported through it (invalidToken). */
  getToken(req: TokenRequest): Promise<ServedToken>;
}

type ProbeRealm = { id: string; config: RealmConfig & { probe: RealmProbe } };

async function probeRealms(store: Store): Promise<ProbeRealm[]> {
  const page = await store.listRealms({ offset: 0, limit: PROBE_REALMS_PER_RUN });
  const out: ProbeRealm[] = [];
  for (const realm of page.list) {
    const parsed = realmConfigSchema.safeParse(realm.config);
    if (!parsed.success || parsed.data.probe === undefined) continue;
    out.push({ id: realm.id, config: { ...parsed.data, probe: parsed.data.probe } });
  }
  return out;
}

/**
 * Claims the probe of one secret's token: only a valid token that no refresh holds, last fetched or
 * probed at least interval_ms ago, within the daily budget. Answers the token to probe, or null.
 */
function claim(
  store: Store,
  secret: SecretRecord,
  config: RealmConfig & { probe: RealmProbe },
  now: number,
): Promise<string | null> {
  return store.mutateTokenState(secret.realm, secret.key, (cur) => {
    if (!usable(cur, now) || cur.secretRev !== secret.rev) return { result: null };
    if (leaseActive(cur, now)) return { result: null };
    const last = Math.max(cur.probedAt ?? 0, cur.fetchedAt ?? 0);
    if (now - last < config.probe.interval_ms) return { result: null };
    const calls = callsToday(cur, now);
    if (calls >= config.daily_budget) return { result: null };
    return {
      next: { ...cur, probedAt: now, callsDay: utcDay(now), callsToday: calls + 1 },
      result: cur.token,
    };
  });
}

async function probeOne(
  deps: ProbeDeps,
  secret: SecretRecord,
  config: RealmConfig & { probe: RealmProbe },
  summary: ProbeSummary,
): Promise<void> {
  const { realm, key } = secret;
  const token = await claim(deps.store, secret, config, deps.clock.now());
  if (token === null) return;
  summary.probed++;
  const { verdict, code } = await probeToken(config, secret.values, token, {
    allowPrivate: deps.allowPrivateUpstreams,
  });
  if (verdict !== 'dead') return;
  summary.dead++;
  log('WARNING', `probe: the token of ${realm}/${key} is dead (killed from outside?); refreshing it`, {
    event: 'token_probe_dead',
    realm,
    key,
    providerCode: String(code),
    instance: deps.instanceId,
  });
  const served = await deps.getToken({ realm, key, invalidToken: token });
  if (served.token !== token) summary.refreshed++;
}

/** One probe round over every realm with a probe (bounded reads, at most 8 probes at once). */
export async function probeTokens(deps: ProbeDeps): Promise<ProbeSummary> {
  const summary: ProbeSummary = { probed: 0, dead: 0, refreshed: 0 };
  const tasks: Array<{ secret: SecretRecord; config: ProbeRealm['config'] }> = [];
  for (const realm of await probeRealms(deps.store)) {
    const page = { realm: realm.id, offset: 0, limit: PROBE_SECRETS_PER_REALM };
    for (const secret of (await deps.store.listSecrets(page)).list)
      tasks.push({ secret, config: realm.config });
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let task = tasks[next++]; task !== undefined; task = tasks[next++]) {
      const { realm, key } = task.secret;
      // One secret's failure (its refresh failed, the store blinked) does not end the round.
      await probeOne(deps, task.secret, task.config, summary).catch((err: unknown) => {
        log('WARNING', `probe: probing or refreshing ${realm}/${key} failed`, {
          event: 'token_probe_failed',
          realm,
          key,
          code: err instanceof AppError ? err.code : 'INTERNAL',
          instance: deps.instanceId,
        });
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(PROBE_CONCURRENCY, tasks.length) }, worker));
  return summary;
}
