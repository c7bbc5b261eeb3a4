/**
 * The adoption scenario's moving parts, shared by its e2e tests and its benchmark: a secret at the
 * broker for one app account of the fake WeChat platform (its realm calls the platform as caller
 * "broker"), a client key for it, and N app processes (test/fakes/adoption-app.ts) running a real SDK
 * on their own or through the broker.
 */
import { join } from 'node:path';
import { getPreset } from '../../functions/providers/presets';
import type { AdoptionSdk, AppResult } from '../fakes/adoption-app';
import { request } from './http';
import { readLines, repoRoot, spawnTracked } from './processes';

/** The platform caller name of the broker's token calls for one realm. */
export function brokerCaller(realm: string): string {
  return `broker-${realm}`;
}

export interface BrokerSecret {
  realm: string;
  key: string;
  clientKey: string;
}

/**
 * A WeChat realm at the broker pointed at the platform (caller `broker-REALM`), a secret, a client key,
 * and the secret's first token fetched (one token call at the platform).
 */
export async function brokerSecretFor(options: {
  adminUrl: string;
  adminKey: string;
  platformUrl: string;
  /** The platform's overlap (the broker caps served lifetimes by it). */
  overlapMs: number;
  realm: string;
  appid: string;
  secret: string;
  /** Realm config fields to set beside the preset's (e.g. flush_min_interval_ms). */
  config?: Record<string, unknown>;
  /** Function URLs (the apps' tokenServerCache instances) to warm with one token request each. */
  warmUrls?: string[];
}): Promise<BrokerSecret> {
  const preset = getPreset('wechat_offiaccount');
  if (preset === undefined) throw new Error('no wechat_offiaccount preset');
  const admin = { bearer: options.adminKey };
  const config = {
    ...preset.config,
    url: `${options.platformUrl}/app/${brokerCaller(options.realm)}/cgi-bin/token`,
    overlap_ms: options.overlapMs,
    ...options.config,
  };
  const realm = await request(`${options.adminUrl}/api/realm`, {
    method: 'POST',
    ...admin,
    body: { id: options.realm, comment: 'fake WeChat platform', config },
  });
  if (realm.status !== 200) throw new Error(`POST /api/realm: ${realm.status} ${realm.text}`);
  const key = 'app';
  const secret = await request(`${options.adminUrl}/api/secret`, {
    method: 'POST',
    ...admin,
    body: { realm: options.realm, key, key_1: options.appid, key_2: options.secret },
  });
  if (secret.status !== 200) throw new Error(`POST /api/secret: ${secret.status} ${secret.text}`);
  const client = await request<{ data?: { client_key?: string }; client_key?: string }>(
    `${options.adminUrl}/api/client`,
    {
      method: 'POST',
      ...admin,
      body: { name: `${options.realm}-apps`, scopes: [{ realm: options.realm, key }] },
    },
  );
  const clientKey = client.body.data?.client_key ?? client.body.client_key;
  if (clientKey === undefined) throw new Error(`POST /api/client: ${client.status} ${client.text}`);
  // A broker in service has a token already and warm instances: fetch it once, then through each.
  for (const url of [options.adminUrl, ...(options.warmUrls ?? [])]) {
    const res = await request(`${url}/api/token?realm=${options.realm}&key=${key}`, {
      bearer: clientKey,
      timeoutMs: 60_000,
    });
    if (res.status !== 200) throw new Error(`GET /api/token: ${res.status} ${res.text}`);
  }
  return { realm: options.realm, key, clientKey };
}

export interface AppsOptions {
  sdk: AdoptionSdk;
  mode: 'alone' | 'broker';
  count: number;
  platformUrl: string;
  appid: string;
  /** The app secret (alone mode only: through the broker, apps do not have it). */
  secret: string;
  /** Broker mode: function URLs (apps are spread over them) and the secret. */
  brokerUrls?: string[];
  broker?: BrokerSecret;
  durationMs: number;
  intervalMs?: number;
}

/** The platform caller name of app process i of an SDK. */
export function appCaller(sdk: AdoptionSdk, mode: 'alone' | 'broker', i: number): string {
  return `${sdk}-${mode}-${i}`;
}

/** Runs N app processes at once until they finish; answers each one's result. */
export async function runApps(options: AppsOptions): Promise<AppResult[]> {
  const script = join(repoRoot(), 'lib', 'test', 'fakes', 'adoption-app.js');
  const runs = Array.from({ length: options.count }, (_, i) => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ADOPTION_SDK: options.sdk,
      ADOPTION_MODE: options.mode,
      ADOPTION_NAME: appCaller(options.sdk, options.mode, i),
      ADOPTION_PLATFORM: options.platformUrl,
      ADOPTION_APPID: options.appid,
      ADOPTION_DURATION_MS: String(options.durationMs),
      ADOPTION_INTERVAL_MS: String(options.intervalMs ?? 20),
    };
    if (options.mode === 'alone') env.ADOPTION_SECRET = options.secret;
    else {
      const urls = options.brokerUrls ?? [];
      if (options.broker === undefined || urls.length === 0) throw new Error('broker mode needs the broker');
      env.ADOPTION_BROKER = urls[i % urls.length];
      env.ADOPTION_CLIENT_KEY = options.broker.clientKey;
      env.ADOPTION_REALM = options.broker.realm;
      env.ADOPTION_KEY = options.broker.key;
    }
    const child = spawnTracked(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    readLines(child.child, (line) => lines.push(line));
    return child.exited.then((exit) => {
      const line = lines.find((l) => l.startsWith('RESULT '));
      if (line === undefined) {
        throw new Error(
          `app ${i} (${options.sdk}) ended without a result (code ${exit.code}):\n${lines.join('\n')}`,
        );
      }
      return JSON.parse(line.slice('RESULT '.length)) as AppResult;
    });
  });
  return Promise.all(runs);
}

/** The sum of the app processes' counts. */
export function sumResults(results: readonly AppResult[]): { calls: number; ok: number; failed: number } {
  return results.reduce(
    (sum, r) => ({ calls: sum.calls + r.calls, ok: sum.ok + r.ok, failed: sum.failed + r.failed }),
    { calls: 0, ok: 0, failed: 0 },
  );
}
