/**
 * The `platform` scenario's authorizer rows (issue 24, SPEC §12's bar): N wechat_authorizer secrets
 * (1,000; 10,000 with --scale) under one component secret, against the fake Open Platform
 * (test/fakes/wechat-authorizers.ts) in the STRICT reading (a refresh token is invalid the moment it
 * rotates), with authorizer tokens living LIFETIME_S so that each rotates several times in RUN_S.
 * - PROCESSES tokenServer processes over the emulator; the scheduled refresh's role is played by
 *   POST /api/refresh sent to a random live process every REFRESH_EVERY_MS (as Cloud Scheduler would,
 *   more often, for the short lifetimes); APPS app loops ask random processes for random authorizers'
 *   tokens with a client key.
 * - Every KILL_EVERY_MS, the process that sends the next api_authorizer_token call is SIGKILLed
 *   mid-call (platform-holder-killer.ts), alternately before the call reaches WeChat and after
 *   WeChat rotated the refresh token (the new one dies with the holder: only api_get_authorizer_list
 *   knows it), and a fresh process (empty caches) takes its place.
 * - Afterwards, with the processes stopped: per authorizer, the engine's state (needs_reauthorization,
 *   and whether the refresh token it keeps is WeChat's current one), token generations stored
 *   against api_authorizer_token calls, and the Firestore reads and writes of COUNTED refreshes made
 *   in-process through a counting store (bench/counting-store.ts) on the real engine.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../functions/clock';
import { TokenEngine } from '../../functions/engine/engine';
import { generateClientKey, hashClientKey } from '../../functions/keys/keys';
import { refreshAtFor } from '../../functions/token/schedule';
import { freshState } from '../../functions/token/decide';
import type { Store } from '../../functions/store/store';
import { ticketRealm } from '../../test/fakes/tickets';
import { AUTHORIZER_PATHS, startWechatAuthorizersFake } from '../../test/fakes/wechat-authorizers';
import { registerSecret } from '../../test/helpers/leak-registry';
import { repoRoot, startFunction, type FunctionProcess } from '../../test/helpers/processes';
import { CountingStore } from '../counting-store';
import { fmt, row, type Row } from '../report';
import type { Stack } from '../stack';
import { round } from '../stats';
import { push, type Account } from './platform';
import { startHolderKiller, type KillPoint } from './platform-holder-killer';

const PROCESSES = 3;
const LIFETIME_S = 40;
const RUN_S = 120;
const APPS = 6;
const REFRESH_EVERY_MS = 2_000;
const KILL_EVERY_MS = 5_000;
const COUNTED = 20;
/** Rotations per authorizer on average below which the run says nothing about rotation. */
const MIN_ROTATIONS = 2;
const PUT_CONCURRENCY = 25;

export interface AuthorizerResult {
  authorizers: number;
  processes: number;
  lifetimeS: number;
  runS: number;
  reading: 'strict';
  /** Mean refreshes WeChat answered per authorizer (rotations). */
  rotationsPerAuthorizer: number;
  needsReauthorization: number;
  /** Authorizers whose kept refresh token is not WeChat's current one (recoverable from the list). */
  behind: number;
  apps: {
    requests: number;
    ok: number;
    refreshTokenErrors: number;
    otherErrors: number;
    /** Requests that met a killed process (connection refused or reset). */
    connectionErrors: number;
    /** 200 answers whose token the fake never issued. */
    foreignTokens: number;
    /** The first few error answers (status and code), to say what went wrong. */
    errorSamples: string[];
  };
  upstream: {
    authorizerTokenCalls: number;
    rejections61023: number;
    listCalls: number;
    componentTokenCalls: number;
  };
  tokensStored: number;
  callsPerStoredToken: number;
  callsPerLifetime: number;
  /** The schedule's own calls per lifetime (token/schedule.ts: due at 45 % of a short life on average). */
  scheduleCallsPerLifetime: number;
  recoveries: number;
  /** The first few ERROR lines the processes logged. */
  errorLogs: string[];
  kills: { before: number; after: number; unmatched: number };
  perRefresh: { refreshes: number; reads: number; writes: number; transactions: number; error?: string };
  loadAverage1m: number;
}

export async function inBatches<T>(items: readonly T[], size: number, each: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      for (let i = next++; i < items.length; i = next++) await each(items[i] as T);
    }),
  );
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A secret written as an admin's save would (a fresh token state), tried up to 3 times. */
export async function seedSecret(
  store: Store,
  realm: string,
  key: string,
  values: Record<string, string>,
  parent?: string,
): Promise<void> {
  const rev = randomUUID();
  const at = Date.now();
  await retrying(() =>
    store.putSecret(
      { realm, key, values, ...(parent === undefined ? {} : { parent }), rev, createdAt: at, updatedAt: at },
      (cur) => freshState(realm, key, rev, cur),
    ),
  );
}

/** The token generation of each key (the baseline that stored tokens are counted from). */
export async function generations(store: Store, realm: string, keys: readonly string[]) {
  const out = new Map<string, number>();
  await inBatches(keys, 25, async (key) => {
    out.set(key, (await retrying(() => store.getTokenState(realm, key)))?.generation ?? 0);
  });
  return out;
}

/** A seeding write tried up to 3 times (the emulator of a loaded machine misses the store's deadline). */
export async function retrying<T>(what: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await what();
    } catch (err) {
      if (attempt >= 3) throw err;
      await sleep(1000 * attempt);
    }
  }
}

/** The fake's component with a message token and EncodingAESKey of ours, all registered as secrets. */
export function componentAccount(c: { appid: string; secret: string }, origin: string): Account {
  const a: Account = {
    appid: c.appid,
    secret: c.secret,
    token: `benchtoken${randomBytes(8).toString('hex')}`,
    aesKey: randomBytes(32).toString('base64').slice(0, 43),
  };
  registerSecret(a.secret, 'credential', origin);
  registerSecret(a.token, 'message key', origin);
  registerSecret(a.aesKey, 'message key', origin);
  return a;
}

/**
 * A component_verify_ticket pushed to a process's event route; tried again on a connection reset
 * (a kept-alive connection the loaded server closed as it was reused).
 */
export async function pushTicket(fnUrl: string, realm: string, key: string, a: Account): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const p = push(a, Math.floor(Date.now() / 1000));
    try {
      const res = await fetch(`${fnUrl}/events/${realm}/${key}?${p.query}`, {
        method: 'POST',
        body: p.body,
        headers: { 'content-type': 'text/xml' },
      });
      const text = await res.text();
      if (text === 'success') return;
      throw new Error(`the ticket push was refused: ${res.status} ${text}`);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof TypeError)) throw err;
    }
  }
}

/** A client key allowed every secret of `realm`, registered with the leak check. */
export async function clientFor(store: Store, realm: string): Promise<string> {
  const clientKey = generateClientKey();
  registerSecret(clientKey, 'client key', 'bench platform');
  await store.putClient({
    id: randomUUID(),
    name: `bench-${realm}`,
    scopes: [{ realm, key: '*' }],
    keyHash: hashClientKey(clientKey),
    createdAt: Date.now(),
  });
  return clientKey;
}

export async function platformAuthorizers(
  stack: Stack,
  options: { authorizers: number; /** false: no holder is killed (to compare) */ kills?: boolean },
): Promise<AuthorizerResult> {
  const stamp = Date.now().toString(36);
  const compRealm = `bench-wxcomp-${stamp}`;
  const authRealm = `bench-wxauth-${stamp}`;
  const compKey = 'comp';
  const fake = await startWechatAuthorizersFake({ reading: 'strict', authorizerExpiresIn: LIFETIME_S });
  const procs: Array<FunctionProcess | undefined> = [];
  const allProcs: FunctionProcess[] = [];
  const restarts: Array<Promise<void>> = [];
  // The default lease (15 s): a holder killed mid-refresh is taken over once it lapses.
  const env = stack.env.env;
  const startOne = async (slot: number): Promise<void> => {
    const fn = await startFunction({ target: 'tokenServer', env });
    allProcs.push(fn);
    procs[slot] = fn;
  };
  const killer = await startHolderKiller(
    fake.url,
    () => procs.flatMap((p) => (p === undefined ? [] : [p.pid])),
    (pid) => {
      const slot = procs.findIndex((p) => p?.pid === pid);
      if (slot < 0) return;
      procs[slot] = undefined;
      restarts.push(startOne(slot).catch(() => undefined));
    },
  );
  try {
    const now = Date.now();
    const component = componentAccount(fake.component, 'bench platform authorizers');
    for (const [id, config] of [
      [compRealm, ticketRealm('wechat_component', killer.url)],
      [authRealm, ticketRealm('wechat_authorizer', killer.url)],
    ] as const) {
      await stack.store.putRealm({
        id,
        comment: 'bench: authorizers',
        config,
        createdAt: now,
        updatedAt: now,
      });
    }
    const put = async (key: string, values: Record<string, string>, parent?: string) => {
      const realm = parent === undefined ? compRealm : authRealm;
      await seedSecret(stack.store, realm, key, values, parent);
    };
    await put(compKey, {
      key_1: component.appid,
      key_2: component.secret,
      key_3: component.token,
      key_4: component.aesKey,
      authorizer_realm: authRealm,
    });
    const appids = Array.from({ length: options.authorizers }, () => fake.authorize().appid);
    await inBatches(appids, PUT_CONCURRENCY, (appid) =>
      put(
        appid,
        { key_1: appid, refresh_token: fake.ledger.current(appid) ?? '' },
        `${compRealm}/${compKey}`,
      ),
    );
    const clientKey = await clientFor(stack.store, authRealm);
    const seeded = await generations(stack.store, authRealm, appids);

    await Promise.all(Array.from({ length: PROCESSES }, (_, i) => startOne(i)));
    // The component's ticket, pushed as WeChat does (the fake does not check it; the broker needs one).
    await pushTicket((procs[0] as FunctionProcess).url, compRealm, compKey, component);

    const apps: AuthorizerResult['apps'] = {
      requests: 0,
      ok: 0,
      refreshTokenErrors: 0,
      otherErrors: 0,
      connectionErrors: 0,
      foreignTokens: 0,
      errorSamples: [],
    };
    const alive = (): FunctionProcess | undefined => {
      const list = procs.filter((x): x is FunctionProcess => x !== undefined);
      return list[Math.floor(Math.random() * list.length)];
    };
    const until = Date.now() + RUN_S * 1000;
    const running = () => Date.now() < until;
    const app = async (): Promise<void> => {
      while (running()) {
        const fn = alive();
        if (fn === undefined) {
          await sleep(100);
          continue;
        }
        const appid = appids[Math.floor(Math.random() * appids.length)] as string;
        apps.requests++;
        try {
          const res = await fetch(`${fn.url}/api/token?realm=${authRealm}&key=${appid}`, {
            headers: { authorization: `Bearer ${clientKey}` },
            signal: AbortSignal.timeout(60_000),
          });
          const text = await res.text();
          if (res.status === 200) {
            apps.ok++;
            const token = (JSON.parse(text) as { token?: string }).token ?? '';
            if (!fake.issued.has(token)) apps.foreignTokens++;
          } else {
            if (/61023|NEEDS_REAUTHORIZATION/.test(text)) apps.refreshTokenErrors++;
            else apps.otherErrors++;
            if (apps.errorSamples.length < 5) apps.errorSamples.push(`${res.status} ${text.slice(0, 300)}`);
          }
        } catch {
          apps.connectionErrors++;
        }
      }
    };
    const scheduler = async (): Promise<void> => {
      while (running()) {
        const fn = alive();
        try {
          if (fn !== undefined) {
            const res = await fetch(`${fn.url}/api/refresh`, {
              method: 'POST',
              headers: { authorization: `Bearer ${stack.env.adminKey}` },
              signal: AbortSignal.timeout(60_000),
            });
            await res.arrayBuffer();
          }
        } catch {
          // the process was killed under it: the next run goes elsewhere
        }
        await sleep(REFRESH_EVERY_MS);
      }
    };
    const kills = async (): Promise<void> => {
      let point: KillPoint = 'after';
      while (running() && options.kills !== false) {
        await sleep(KILL_EVERY_MS);
        if (!running()) break;
        if (!killer.armed()) {
          killer.arm(AUTHORIZER_PATHS.authorizer_token, point);
          point = point === 'after' ? 'before' : 'after';
        }
      }
    };
    await Promise.all([...Array.from({ length: APPS }, app), scheduler(), scheduler(), kills()]);
    killer.arm('/nothing', 'before');
    await Promise.all(restarts);
    const logs = allProcs.flatMap((fn) => fn.logs);
    // The processes' output (the killed ones' too), as the other scenarios leave theirs.
    mkdirSync(join(repoRoot(), 'bench', 'results'), { recursive: true });
    writeFileSync(join(repoRoot(), 'bench', 'results', 'platform-authorizers.log'), `${logs.join('\n')}\n`);
    await Promise.all(procs.flatMap((fn) => (fn === undefined ? [] : [fn.stop()])));
    procs.splice(0);

    // Afterwards: what the broker keeps, against what WeChat holds.
    let needsReauthorization = 0;
    let behind = 0;
    let tokensStored = 0;
    let rotations = 0;
    const due: Array<{ appid: string; refreshAt: number }> = [];
    await inBatches(appids, PUT_CONCURRENCY, async (appid) => {
      const state = await stack.store.getTokenState(authRealm, appid);
      if (state?.lastError?.code === 'NEEDS_REAUTHORIZATION') needsReauthorization++;
      if (state?.rotating?.refresh_token?.current !== fake.ledger.current(appid)) behind++;
      // Each stored token adds one to the generation the seeding left (1, or more when retried).
      tokensStored += Math.max(0, (state?.generation ?? 0) - (seeded.get(appid) ?? 0));
      rotations += fake.ledger.refreshes(appid);
      if (state?.refreshAt !== undefined) due.push({ appid, refreshAt: state.refreshAt });
    });
    const upstream = {
      authorizerTokenCalls: fake.calls('authorizer_token'),
      rejections61023: fake.ledger.totalRejections(),
      listCalls: fake.calls('authorizer_list'),
      componentTokenCalls: fake.calls('component_token'),
    };
    const perRefresh = await countedRefreshes(stack.store, authRealm, due);
    const lifetimes = (RUN_S * options.authorizers) / LIFETIME_S;
    const lifetimeMs = LIFETIME_S * 1000;
    const meanInterval = (refreshAtFor(0, lifetimeMs, 0) + refreshAtFor(0, lifetimeMs, 1)) / 2;
    return {
      authorizers: options.authorizers,
      processes: PROCESSES,
      lifetimeS: LIFETIME_S,
      runS: RUN_S,
      reading: 'strict',
      rotationsPerAuthorizer: round(rotations / options.authorizers, 2),
      needsReauthorization,
      behind,
      apps,
      upstream,
      tokensStored,
      callsPerStoredToken: round(upstream.authorizerTokenCalls / Math.max(1, tokensStored), 3),
      callsPerLifetime: round(upstream.authorizerTokenCalls / lifetimes, 2),
      scheduleCallsPerLifetime: round(lifetimeMs / meanInterval, 2),
      recoveries: logs.filter((l) => l.includes('rotating_value_recovery')).length,
      errorLogs: logs.filter((l) => l.includes('ERROR')).slice(0, 5),
      kills: {
        before: killer.kills.filter((k) => k.point === 'before').length,
        after: killer.kills.filter((k) => k.point === 'after').length,
        unmatched: killer.unmatched,
      },
      perRefresh,
      loadAverage1m: round(loadavg()[0] ?? 0, 1),
    };
  } finally {
    await Promise.all(procs.flatMap((fn) => (fn === undefined ? [] : [fn.stop()])));
    await killer.close();
    await fake.close();
  }
}

/**
 * Firestore per refresh: COUNTED authorizers refreshed one at a time by an engine of this process over
 * a counting store, once due (the earliest due first; the function processes are stopped by then).
 */
async function countedRefreshes(
  store: Store,
  realm: string,
  due: Array<{ appid: string; refreshAt: number }>,
): Promise<AuthorizerResult['perRefresh']> {
  const counting = new CountingStore(store);
  const engine = new TokenEngine({
    store: counting,
    clock: systemClock,
    random: Math.random,
    instanceId: 'bench-counted-refresh',
    leaseMs: 15_000,
    waitMs: 20_000,
    allowPrivateUpstreams: true,
  });
  const picked = due.sort((a, b) => a.refreshAt - b.refreshAt).slice(0, COUNTED);
  try {
    const last = picked[picked.length - 1]?.refreshAt ?? 0;
    await sleep(Math.max(0, last - Date.now() + 500));
    counting.take();
    let refreshed = 0;
    for (const { appid } of picked) {
      if ((await engine.refreshOne(realm, appid)) === 'refreshed') refreshed++;
    }
    const c = counting.take();
    if (refreshed === 0) throw new Error('no counted refresh was made');
    return {
      refreshes: refreshed,
      reads: round(c.reads / refreshed, 2),
      writes: round(c.writes / refreshed, 2),
      transactions: round(c.transactions / refreshed, 2),
    };
  } catch (err) {
    return { refreshes: 0, reads: NaN, writes: NaN, transactions: NaN, error: String(err) };
  }
}

export function authorizerRows(r: AuthorizerResult): Row[] {
  const s =
    `10 platform: ${fmt(r.authorizers)} WeChat authorizers (${r.reading} rotation, ${r.lifetimeS} s tokens, ` +
    `${r.runS} s, ${r.processes} processes, ${r.kills.before + r.kills.after} holders SIGKILLed, load ${r.loadAverage1m})`;
  const a = r.apps;
  return [
    row(
      s,
      'authorizers that need re-authorization',
      fmt(r.needsReauthorization),
      `${r.rotationsPerAuthorizer} rotations each; ${fmt(r.upstream.rejections61023)} 61023 at WeChat, ${fmt(r.recoveries)} list recoveries, ${fmt(r.behind)} left behind WeChat's value`,
      `0 (with ≥ ${MIN_ROTATIONS} rotations each)`,
      // A run that did not rotate every authorizer several times proves nothing: missed.
      r.needsReauthorization === 0 && r.rotationsPerAuthorizer >= MIN_ROTATIONS,
    ),
    row(
      s,
      '61023 / NEEDS_REAUTHORIZATION answers seen by apps',
      fmt(a.refreshTokenErrors),
      `${fmt(a.requests)} requests: ${fmt(a.ok)} tokens, ${fmt(a.otherErrors)} other errors, ${fmt(a.connectionErrors)} met a killed process, ${fmt(a.foreignTokens)} tokens WeChat never issued`,
      '0',
      a.refreshTokenErrors === 0 && a.foreignTokens === 0,
    ),
    row(
      s,
      'api_authorizer_token calls per authorizer per lifetime',
      `${r.callsPerStoredToken} per token stored (${fmt(r.upstream.authorizerTokenCalls)} calls, ${fmt(r.tokensStored)} tokens)`,
      `${r.callsPerLifetime} per ${r.lifetimeS} s lifetime; the schedule's own ${r.scheduleCallsPerLifetime} (due at 45 % of a short life)`,
      'floor 1, ≤ 1.05',
      r.callsPerStoredToken <= 1.05,
    ),
    row(
      s,
      'Firestore per refresh (rotating refresh token)',
      r.perRefresh.error === undefined
        ? `${r.perRefresh.reads} reads / ${r.perRefresh.writes} writes / ${r.perRefresh.transactions} transactions`
        : `not measured: ${r.perRefresh.error.slice(0, 80)}`,
      `${r.perRefresh.refreshes} refreshes, in-process, counting store`,
      'info',
      'info',
    ),
  ];
}
