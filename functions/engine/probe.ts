/**
 * Probing for outside kills (README "Probes: tokens killed from outside"): another system that fetches a WeChat token with the same appid
 * kills ours without telling anyone, and apps that cannot report a rejected token (the WeChat-
 * compatible routes) would keep getting it until its due time. The scheduled refresh calls
 * probeTokens: for each realm that names a `probe`, each of its secrets' tokens is checked at most
 * every `probe.interval_ms` (claimed in the token state as `probedAt` and counted in the daily budget
 * by token/mutators.ts's claimProbe, judged by the store's time, so that instances running at once
 * probe once), and a dead one is refreshed at once by an
 * invalid_token report on that very token: collapsed with any app's report, one refresh.
 *
 * Every probed secret is reached within bounded time at any scale, at a bounded cost per run: a run
 * goes on from a cursor the store keeps (getProbeCursor) through the realms and their secrets in id
 * order, looks at no more than PROBE_LIMITS' secrets and realms, and leaves the cursor where it
 * stopped; past the last realm the next run starts over. So each secret of a probe realm is looked
 * at once per pass (one token-state compare-and-set, a probe when its interval has passed), and a
 * pass over S such secrets among R realms takes about max(S / secretsPerRun, R / realmsPerRun) runs.
 */
import { AppError } from '../errors';
import { log } from '../log';
import { probeToken } from '../providers/probe';
import { realmConfigSchema, type RealmConfig, type RealmProbe } from '../providers/realm-config';
import { secretDocId, type ProbeCursor, type Store } from '../store/store';
import type { RealmRecord, SecretRecord } from '../store/types';
import type { ServedToken } from './served';
import type { TokenRequest } from './types';
import { claimProbe } from '../token/mutators';

/**
 * How far one run goes: realms and secrets are read in pages of `pageSize`; a run looks at no more
 * than `secretsPerRun` secrets (one token-state compare-and-set each, and a probe call for those
 * whose interval has passed) and `realmsPerRun` realms, then leaves a cursor for the next run.
 */
export interface ProbeLimits {
  pageSize: number;
  secretsPerRun: number;
  realmsPerRun: number;
}

export const PROBE_LIMITS: ProbeLimits = { pageSize: 200, secretsPerRun: 1_000, realmsPerRun: 1_000 };
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
  allowPrivateUpstreams: boolean;
  instanceId: string;
  /** The engine's getToken: a dead token is reported through it (invalidToken). */
  getToken(req: TokenRequest): Promise<ServedToken>;
  /** PROBE_LIMITS, unless given (tests shrink them). */
  limits?: Partial<ProbeLimits>;
}

type ProbeConfig = RealmConfig & { probe: RealmProbe };
type ProbeTask = { secret: SecretRecord; config: ProbeConfig };

/** A realm's config when it names a probe (undefined for every other realm). */
function probeConfigOf(realm: RealmRecord): ProbeConfig | undefined {
  const parsed = realmConfigSchema.safeParse(realm.config);
  if (!parsed.success || parsed.data.probe === undefined) return undefined;
  return { ...parsed.data, probe: parsed.data.probe };
}

/**
 * The secrets this run looks at: from the cursor on (realms and keys in id order), until the end of
 * the realms (the next run starts over: null) or a limit (the next run goes on from `next`).
 */
async function collectTasks(
  store: Store,
  cursor: ProbeCursor | null,
  limits: ProbeLimits,
): Promise<{ tasks: ProbeTask[]; next: ProbeCursor | null }> {
  const tasks: ProbeTask[] = [];
  let realmsLeft = limits.realmsPerRun;
  // The secrets of one realm after the key `after`; a cursor where the run's secrets ran out.
  const visit = async (realm: RealmRecord, after?: string): Promise<ProbeCursor | undefined> => {
    realmsLeft--;
    const config = probeConfigOf(realm);
    if (config === undefined) return undefined;
    for (let position = after; ;) {
      const room = limits.secretsPerRun - tasks.length;
      if (room <= 0) return { realm: realm.id, ...(position === undefined ? {} : { key: position }) };
      const page = await store.listSecrets({
        realm: realm.id,
        limit: Math.min(limits.pageSize, room),
        countTotal: false,
        ...(position === undefined ? {} : { after: secretDocId(realm.id, position) }),
      });
      for (const secret of page.list) tasks.push({ secret, config });
      position = page.list.at(-1)?.key ?? position;
      if (page.next === undefined) return undefined;
    }
  };
  if (cursor !== null) {
    // The realm the last run stopped in (gone: the realms after its id).
    const realm = await store.getRealm(cursor.realm);
    const stop = realm === null ? undefined : await visit(realm, cursor.key);
    if (stop !== undefined) return { tasks, next: stop };
  }
  for (let after = cursor?.realm; ;) {
    const page = await store.listRealms({
      limit: limits.pageSize,
      countTotal: false,
      ...(after === undefined ? {} : { after }),
    });
    for (const realm of page.list) {
      if (realmsLeft <= 0 || tasks.length >= limits.secretsPerRun)
        return { tasks, next: { realm: realm.id } };
      const stop = await visit(realm);
      if (stop !== undefined) return { tasks, next: stop };
    }
    const last = page.list.at(-1);
    if (page.next === undefined || last === undefined) return { tasks, next: null };
    after = last.id;
  }
}

async function probeOne(
  deps: ProbeDeps,
  secret: SecretRecord,
  config: ProbeConfig,
  summary: ProbeSummary,
): Promise<void> {
  const { realm, key } = secret;
  // Judged and counted by the store's time (the mutator's `now`), never this instance's clock.
  const token = await deps.store.mutateTokenState(realm, key, (current, now) =>
    claimProbe(current, now, {
      secretRev: secret.rev,
      intervalMs: config.probe.interval_ms,
      dailyBudget: config.daily_budget,
    }),
  );
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

/**
 * One probe run: the secrets of realms with a probe from where the last run stopped (the store's
 * probe cursor), at most PROBE_LIMITS' worth, at most 8 probes at once; then the cursor moves on.
 */
export async function probeTokens(deps: ProbeDeps): Promise<ProbeSummary> {
  const limits = { ...PROBE_LIMITS, ...deps.limits };
  const summary: ProbeSummary = { probed: 0, dead: 0, refreshed: 0 };
  const cursor = await deps.store.getProbeCursor();
  const { tasks, next: cursorAfter } = await collectTasks(deps.store, cursor, limits);
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
  // Saved once the run's probes are done: a run that dies is done again by the next (claims dedupe).
  if (JSON.stringify(cursorAfter) !== JSON.stringify(cursor)) await deps.store.putProbeCursor(cursorAfter);
  return summary;
}
