/**
 * The `platform` scenario's per-platform rows (issue 26): TENANTS tenants each of a WeCom suite
 * (wecom_suite + wecom_suite_corp), a DingTalk ISV suite (dingtalk_isv_suite + dingtalk_isv_corp)
 * and a Feishu store app (feishu_app_store + feishu_tenant_store), against their fakes
 * (test/fakes/wecom-suite.ts, dingtalk-isv.ts, feishu-store.ts), all at once for RUN_S on
 * PROCESSES tokenServer processes over the emulator:
 * - tokens live LIFETIME_S (the WeCom fake's lifetime setting; DingTalk's and Feishu's answers
 *   rewritten on the way by a proxy in bench/, since those fakes always say 7,200 s), so each tenant
 *   rotates several times;
 * - each platform's ticket is pushed to a random process every PUSH_EVERY_MS, in its own format;
 * - POST /api/refresh goes to a random process every REFRESH_EVERY_MS (the scheduled refresh), and
 *   APPS app loops ask random processes for random tenants' tokens with a client key;
 * - the ticket state of each platform secret (GET /api/status) is sampled every STATUS_EVERY_MS;
 * - at the end every tenant's token is asked for once (a tenant that gets none is lost), and the
 *   token generations stored are set against the tenant-token calls the fake counted.
 */
import { loadavg } from 'node:os';
import { refreshAtFor } from '../../functions/token/schedule';
import type { Store } from '../../functions/store/store';
import { startDingtalkIsvFake } from '../../test/fakes/dingtalk-isv';
import { startFeishuStoreFake } from '../../test/fakes/feishu-store';
import { ticketRealm } from '../../test/fakes/tickets';
import { startWecomSuiteFake } from '../../test/fakes/wecom-suite';
import { startFunction, type FunctionProcess } from '../../test/helpers/processes';
import { fmt, row, type Row } from '../report';
import type { Stack } from '../stack';
import { round } from '../stats';
import { clientFor, generations, inBatches, seedSecret, sleep } from './platform-authorizers';
import { startHolderKiller } from './platform-holder-killer';

const PROCESSES = 3;
const LIFETIME_S = 30;
const RUN_S = 45;
const APPS = 6;
const PUSH_EVERY_MS = 5_000;
const REFRESH_EVERY_MS = 2_000;
const STATUS_EVERY_MS = 5_000;
const PUT_CONCURRENCY = 25;

export interface TenantPlatformResult {
  platform: string;
  tenants: number;
  pushes: { sent: number; accepted: number };
  /** Status samples of the platform secret and those whose ticket_state was not `ok`. */
  ticketSamples: number;
  ticketsStale: number;
  maxTicketAgeMs: number;
  tenantCalls: number;
  platformCalls: number;
  tokensStored: number;
  callsPerStoredToken: number;
  callsPerLifetime: number;
  tenantsLost: number;
  apps: { requests: number; ok: number; errors: number };
}

export interface TenantsResult {
  processes: number;
  lifetimeS: number;
  runS: number;
  scheduleCallsPerLifetime: number;
  platforms: TenantPlatformResult[];
  loadAverage1m: number;
}

/** One platform set up: its realms, its tenants, how to push its ticket, what its fake counted. */
interface Platform {
  name: string;
  platformRealm: string;
  tenantRealm: string;
  tenants: string[];
  /** Sends a ticket push to a process; whether it was accepted as the provider expects. */
  push(fnUrl: string): Promise<boolean>;
  calls(): { tenant: number; platform: number };
  close(): Promise<void>;
}

const PLATFORM_KEY = 'platform';

/** A proxy that answers every token lifetime field (expires_in, expireIn, expire) as LIFETIME_S. */
async function shortened(url: string) {
  return startHolderKiller(
    url,
    () => [],
    () => undefined,
    (_path, body) => {
      try {
        const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        for (const field of ['expires_in', 'expireIn', 'expire'])
          if (typeof json[field] === 'number') json[field] = Math.min(json[field], LIFETIME_S);
        return Buffer.from(JSON.stringify(json));
      } catch {
        return body;
      }
    },
  );
}

async function putRealmsAndSecrets(
  store: Store,
  p: {
    platformRealm: string;
    tenantRealm: string;
    platformPreset: string;
    tenantPreset: string;
    url: string;
  },
  platformValues: Record<string, string>,
  tenants: Array<{ key: string; values: Record<string, string> }>,
): Promise<void> {
  const now = Date.now();
  for (const [id, preset] of [
    [p.platformRealm, p.platformPreset],
    [p.tenantRealm, p.tenantPreset],
  ] as const) {
    await store.putRealm({
      id,
      comment: 'bench: tenants',
      config: ticketRealm(preset, p.url),
      createdAt: now,
      updatedAt: now,
    });
  }
  const put = (realm: string, key: string, values: Record<string, string>, parent?: string) =>
    seedSecret(store, realm, key, values, parent);
  await put(p.platformRealm, PLATFORM_KEY, platformValues);
  await inBatches(tenants, PUT_CONCURRENCY, (t) =>
    put(p.tenantRealm, t.key, t.values, `${p.platformRealm}/${PLATFORM_KEY}`),
  );
}

async function wecom(store: Store, n: number, stamp: string): Promise<Platform> {
  const fake = await startWecomSuiteFake();
  fake.lifetimeS = LIFETIME_S;
  const platformRealm = `bench-wwsuite-${stamp}`;
  const tenantRealm = `bench-wwcorp-${stamp}`;
  const corps = Array.from({ length: n }, () => fake.authorized());
  const a = fake.account;
  await putRealmsAndSecrets(
    store,
    {
      platformRealm,
      tenantRealm,
      platformPreset: 'wecom_suite',
      tenantPreset: 'wecom_suite_corp',
      url: fake.url,
    },
    { key_1: a.suiteId, key_2: a.secret, key_3: a.token, key_4: a.encodingAesKey, key_5: tenantRealm },
    corps.map((c) => ({ key: c.corpid, values: { key_1: c.corpid, key_2: c.permanentCode } })),
  );
  return {
    name: 'WeCom suite',
    platformRealm,
    tenantRealm,
    tenants: corps.map((c) => c.corpid),
    async push(fnUrl) {
      const p = fake.ticket();
      const res = await fetch(
        `${fnUrl}/events/${platformRealm}/${PLATFORM_KEY}?${new URLSearchParams(p.query).toString()}`,
        { method: 'POST', body: p.body, headers: { 'content-type': 'text/xml' } },
      );
      return (await res.text()) === 'success';
    },
    calls: () => ({ tenant: fake.calls('corp_token'), platform: fake.calls('suite_token') }),
    close: () => fake.close(),
  };
}

async function dingtalk(store: Store, n: number, stamp: string): Promise<Platform> {
  const fake = await startDingtalkIsvFake();
  const proxy = await shortened(fake.url);
  const platformRealm = `bench-dtsuite-${stamp}`;
  const tenantRealm = `bench-dtcorp-${stamp}`;
  const corps = Array.from({ length: n }, () => fake.authorizedCorp());
  const a = fake.account;
  await putRealmsAndSecrets(
    store,
    {
      platformRealm,
      tenantRealm,
      platformPreset: 'dingtalk_isv_suite',
      tenantPreset: 'dingtalk_isv_corp',
      url: proxy.url,
    },
    { key_1: a.suiteKey, key_2: a.suiteSecret, key_3: a.token, key_4: a.aesKey, key_5: tenantRealm },
    corps.map((corp) => ({ key: corp, values: { key_1: corp } })),
  );
  return {
    name: 'DingTalk ISV',
    platformRealm,
    tenantRealm,
    tenants: corps,
    async push(fnUrl) {
      const p = fake.ticket();
      const res = await fetch(
        `${fnUrl}/events/${platformRealm}/${PLATFORM_KEY}?${new URLSearchParams(p.query).toString()}`,
        { method: 'POST', body: p.body, headers: { 'content-type': 'application/json' } },
      );
      try {
        return fake.readReply(await res.text()) === 'success';
      } catch {
        return false;
      }
    },
    calls: () => ({ tenant: fake.calls('corp_token'), platform: fake.calls('suite_token') }),
    close: async () => {
      await proxy.close();
      await fake.close();
    },
  };
}

async function feishu(store: Store, n: number, stamp: string): Promise<Platform> {
  const fake = await startFeishuStoreFake();
  const proxy = await shortened(fake.url);
  const platformRealm = `bench-fsapp-${stamp}`;
  const tenantRealm = `bench-fstenant-${stamp}`;
  const tenants = Array.from({ length: n }, (_, i) => `fstenant${stamp}${i}`);
  for (const t of tenants) fake.tenants.add(t);
  const a = fake.app;
  await putRealmsAndSecrets(
    store,
    {
      platformRealm,
      tenantRealm,
      platformPreset: 'feishu_app_store',
      tenantPreset: 'feishu_tenant_store',
      url: proxy.url,
    },
    {
      key_1: a.appId,
      key_2: a.appSecret,
      key_3: a.verificationToken,
      ...(a.encryptKey === undefined ? {} : { key_4: a.encryptKey }),
      authorizer_realm: tenantRealm,
    },
    tenants.map((t) => ({ key: t, values: { key_1: t } })),
  );
  return {
    name: 'Feishu store app',
    platformRealm,
    tenantRealm,
    tenants,
    async push(fnUrl) {
      const e = fake.event({ type: 'app_ticket' });
      const res = await fetch(`${fnUrl}/events/${platformRealm}/${PLATFORM_KEY}`, {
        method: 'POST',
        body: e.body,
        headers: e.headers,
      });
      await res.arrayBuffer();
      return res.status === 200;
    },
    calls: () => ({ tenant: fake.calls('tenant_token'), platform: fake.calls('app_token') }),
    close: async () => {
      await proxy.close();
      await fake.close();
    },
  };
}

export async function platformTenants(stack: Stack, options: { tenants: number }): Promise<TenantsResult> {
  const stamp = Date.now().toString(36);
  const platforms: Platform[] = [];
  const procs: FunctionProcess[] = [];
  try {
    // Settled all before going on, so that no seeding is left running when one failed.
    const set = await Promise.allSettled([
      wecom(stack.store, options.tenants, stamp),
      dingtalk(stack.store, options.tenants, stamp),
      feishu(stack.store, options.tenants, stamp),
    ]);
    for (const r of set) if (r.status === 'fulfilled') platforms.push(r.value);
    for (const r of set) if (r.status === 'rejected') throw r.reason;
    // The generations the seeding left (1, or more when a write was retried): stored tokens add to them.
    const seeded = await Promise.all(
      platforms.map((p) => generations(stack.store, p.tenantRealm, p.tenants)),
    );
    const clientKeys = new Map<string, string>();
    for (const p of platforms) clientKeys.set(p.tenantRealm, await clientFor(stack.store, p.tenantRealm));
    procs.push(
      ...(await Promise.all(
        Array.from({ length: PROCESSES }, () => startFunction({ target: 'tokenServer', env: stack.env.env })),
      )),
    );
    const any = () => procs[Math.floor(Math.random() * procs.length)] as FunctionProcess;
    const pushes = platforms.map(() => ({ sent: 0, accepted: 0 }));
    const pushAll = async () =>
      Promise.all(
        platforms.map(async (p, i) => {
          const counts = pushes[i] as { sent: number; accepted: number };
          counts.sent++;
          if (await p.push(any().url).catch(() => false)) counts.accepted++;
        }),
      );
    await pushAll();
    const tickets = platforms.map(() => ({ samples: 0, stale: 0, maxAgeMs: 0 }));
    const apps = platforms.map(() => ({ requests: 0, ok: 0, errors: 0 }));
    const until = Date.now() + RUN_S * 1000;
    const running = () => Date.now() < until;
    const every = async (ms: number, what: () => Promise<unknown>) => {
      while (running()) {
        await sleep(ms);
        if (running()) await what().catch(() => undefined);
      }
    };
    const tokenOf = async (p: Platform, tenant: string): Promise<boolean> => {
      const res = await fetch(`${any().url}/api/token?realm=${p.tenantRealm}&key=${tenant}`, {
        headers: { authorization: `Bearer ${clientKeys.get(p.tenantRealm) ?? ''}` },
        signal: AbortSignal.timeout(60_000),
      });
      await res.arrayBuffer();
      return res.status === 200;
    };
    const app = async () => {
      while (running()) {
        const i = Math.floor(Math.random() * platforms.length);
        const p = platforms[i] as Platform;
        const a = apps[i] as { requests: number; ok: number; errors: number };
        a.requests++;
        const ok = await tokenOf(p, p.tenants[Math.floor(Math.random() * p.tenants.length)] as string).catch(
          () => false,
        );
        if (ok) a.ok++;
        else a.errors++;
      }
    };
    const sampleTickets = async () => {
      const admin = { authorization: `Bearer ${stack.env.adminKey}` };
      await Promise.all(
        platforms.map(async (p, i) => {
          const res = await fetch(`${any().url}/api/status?realm=${p.platformRealm}`, { headers: admin });
          const body = (await res.json()) as {
            data?: { list?: Array<{ key?: string; ticket_state?: string; ticket_age_ms?: number | null }> };
          };
          const r = body.data?.list?.find((x) => x.key === PLATFORM_KEY);
          const t = tickets[i] as { samples: number; stale: number; maxAgeMs: number };
          t.samples++;
          if (r?.ticket_state !== 'ok') t.stale++;
          t.maxAgeMs = Math.max(t.maxAgeMs, r?.ticket_age_ms ?? 0);
        }),
      );
    };
    const refresh = async () => {
      const res = await fetch(`${any().url}/api/refresh`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.env.adminKey}` },
        signal: AbortSignal.timeout(60_000),
      });
      await res.arrayBuffer();
    };
    await Promise.all([
      ...Array.from({ length: APPS }, app),
      every(PUSH_EVERY_MS, pushAll),
      every(REFRESH_EVERY_MS, refresh),
      every(STATUS_EVERY_MS, sampleTickets),
    ]);

    // The end: every tenant's token once (lost when none comes), then what was stored against calls.
    const results: TenantPlatformResult[] = [];
    for (const [i, p] of platforms.entries()) {
      let lost = 0;
      await inBatches(p.tenants, 10, async (t) => {
        if (!(await tokenOf(p, t).catch(() => false))) lost++;
      });
      let tokensStored = 0;
      await inBatches(p.tenants, PUT_CONCURRENCY, async (t) => {
        const state = await stack.store.getTokenState(p.tenantRealm, t);
        tokensStored += Math.max(0, (state?.generation ?? 0) - (seeded[i]?.get(t) ?? 0));
      });
      const calls = p.calls();
      const t = tickets[i] as { samples: number; stale: number; maxAgeMs: number };
      results.push({
        platform: p.name,
        tenants: p.tenants.length,
        pushes: pushes[i] as { sent: number; accepted: number },
        ticketSamples: t.samples,
        ticketsStale: t.stale,
        maxTicketAgeMs: t.maxAgeMs,
        tenantCalls: calls.tenant,
        platformCalls: calls.platform,
        tokensStored,
        callsPerStoredToken: round(calls.tenant / Math.max(1, tokensStored), 3),
        callsPerLifetime: round(calls.tenant / ((p.tenants.length * RUN_S) / LIFETIME_S), 2),
        tenantsLost: lost,
        apps: apps[i] as { requests: number; ok: number; errors: number },
      });
    }
    const lifetimeMs = LIFETIME_S * 1000;
    const meanInterval = (refreshAtFor(0, lifetimeMs, 0) + refreshAtFor(0, lifetimeMs, 1)) / 2;
    return {
      processes: PROCESSES,
      lifetimeS: LIFETIME_S,
      runS: RUN_S,
      scheduleCallsPerLifetime: round(lifetimeMs / meanInterval, 2),
      platforms: results,
      loadAverage1m: round(loadavg()[0] ?? 0, 1),
    };
  } finally {
    await Promise.all(procs.map((fn) => fn.stop()));
    await Promise.all(platforms.map((p) => p.close()));
  }
}

export function tenantRows(r: TenantsResult): Row[] {
  return r.platforms.map((p) =>
    row(
      `10 platform: ${p.platform} (${fmt(p.tenants)} tenants, ${r.lifetimeS} s tokens, ${r.runS} s, ${r.processes} processes, load ${r.loadAverage1m})`,
      'tenants lost / tickets stale / tenant-token calls per token stored',
      `${fmt(p.tenantsLost)} lost / ${fmt(p.ticketsStale)} of ${fmt(p.ticketSamples)} stale / ${p.callsPerStoredToken} (${fmt(p.tenantCalls)} calls, ${fmt(p.tokensStored)} tokens)`,
      `${p.callsPerLifetime} calls per tenant per lifetime (the schedule's own ${r.scheduleCallsPerLifetime}); ` +
        `${fmt(p.platformCalls)} platform-token calls; pushes ${fmt(p.pushes.accepted)}/${fmt(p.pushes.sent)} accepted, ` +
        `ticket at most ${fmt(p.maxTicketAgeMs / 1000, 1)} s old; apps ${fmt(p.apps.ok)}/${fmt(p.apps.requests)} tokens`,
      '0 / 0 / floor 1, ≤ 1.05 (≥ 2 tokens per tenant)',
      // A run in which tenants did not rotate (2 tokens each at least) proves nothing: missed.
      p.tenantsLost === 0 &&
        p.ticketsStale === 0 &&
        p.callsPerStoredToken <= 1.05 &&
        p.tokensStored >= 2 * p.tenants,
    ),
  );
}
