/**
 * One app process of the adoption scenario: a real WeChat SDK making API calls against the fake
 * platform (test/fakes/wechat-platform.ts) for a while, either on its own (it fetches tokens with the
 * app secret, as the SDK does by default) or through the broker with the client library's adapter
 * (the two lines an app adds). Prints one line `RESULT {json}` with its counts when done.
 *
 *   ADOPTION_SDK=co-wechat-api|wechat-api|node-easywechat ADOPTION_MODE=alone|broker
 *   ADOPTION_NAME (its /app/NAME prefix at the platform) ADOPTION_PLATFORM (the platform's URL)
 *   ADOPTION_APPID ADOPTION_SECRET (alone) ADOPTION_BROKER ADOPTION_CLIENT_KEY ADOPTION_REALM ADOPTION_KEY (broker)
 *   ADOPTION_DURATION_MS (default 10000) ADOPTION_INTERVAL_MS (default 20)
 */
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import CoWechatApi from 'co-wechat-api';
import WechatApi from 'wechat-api';
import { OfficialAccount } from 'node-easywechat';
import type * as ClientLibrary from '../../client/src';

export type AdoptionSdk = 'co-wechat-api' | 'wechat-api' | 'node-easywechat';
export const ADOPTION_SDKS: readonly AdoptionSdk[] = ['co-wechat-api', 'wechat-api', 'node-easywechat'];

export interface AppResult {
  sdk: AdoptionSdk;
  mode: 'alone' | 'broker';
  name: string;
  calls: number;
  ok: number;
  failed: number;
  /** The first few failures, by error code or name (never a token). */
  failures: string[];
}

type Call = () => Promise<unknown>;

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

/** The client library as an app loads it: require('<repo>/client'). */
function clientLibrary(): typeof ClientLibrary {
  const requireFromHere = createRequire(__filename);
  return requireFromHere(join(__dirname, '..', '..', '..', 'client')) as typeof ClientLibrary;
}

function brokerClient(): ClientLibrary.TokenClient {
  const { TokenClient } = clientLibrary();
  return new TokenClient({
    url: env('ADOPTION_BROKER'),
    clientKey: env('ADOPTION_CLIENT_KEY'),
    realm: env('ADOPTION_REALM'),
    key: env('ADOPTION_KEY'),
  });
}

/** The SDK set up as an app would, and the three API calls it makes in turn. */
function sdkCalls(sdk: AdoptionSdk, broker: boolean, base: string, appid: string, secret: string): Call[] {
  const { adapters } = broker ? clientLibrary() : { adapters: undefined };
  switch (sdk) {
    case 'co-wechat-api': {
      const raw = new CoWechatApi(appid, secret);
      const api = adapters === undefined ? raw : adapters.coWechatApi(raw, brokerClient());
      api.prefix = `${base}/cgi-bin/`;
      return [() => api.getUser('openid-1'), () => api.getMenu(), () => api.sendText('openid-1', 'hello')];
    }
    case 'wechat-api': {
      const raw = new WechatApi(appid, secret);
      const api = adapters === undefined ? raw : adapters.wechatApi(raw, brokerClient());
      api.endpoint = base;
      const promised =
        (call: (cb: (err: unknown, data?: unknown) => void) => void): Call =>
        () =>
          new Promise((resolve, reject) =>
            call((err, data) =>
              err ? reject(err instanceof Error ? err : new Error('wechat-api call failed')) : resolve(data),
            ),
          );
      return [
        promised((cb) => api.getUser('openid-1', cb)),
        promised((cb) => api.getMenu(cb)),
        promised((cb) => api.sendText('openid-1', 'hello', cb)),
      ];
    }
    case 'node-easywechat': {
      const raw = new OfficialAccount({
        app_id: appid,
        secret,
        token: '',
        aes_key: '',
        http: { baseURL: `${base}/`, throw: false },
        // Each app process has its own disk, as separate machines or containers do.
        file_cache: {
          path: mkdtempSync(join(tmpdir(), 'easywechat-')),
          dirMode: 0o700,
          fileMode: 0o600,
          ext: '.cache',
        },
      });
      const app = adapters === undefined ? raw : adapters.easyWechat(raw, brokerClient());
      const client = app.getClient();
      const checked = async (response: Promise<{ toObject(): unknown }>): Promise<unknown> => {
        const body = (await response).toObject() as { errcode?: number; errmsg?: string } | undefined;
        if (body?.errcode !== undefined && body.errcode !== 0) {
          throw Object.assign(new Error(body.errmsg ?? 'error'), { code: body.errcode });
        }
        return body;
      };
      return [
        () => checked(client.get('cgi-bin/user/info', { params: { openid: 'openid-1' } })),
        () => checked(client.get('cgi-bin/menu/get')),
        () =>
          checked(
            client.postJson('cgi-bin/message/custom/send', {
              touser: 'openid-1',
              msgtype: 'text',
              text: { content: 'hello' },
            }),
          ),
      ];
    }
  }
}

function describeFailure(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown };
  if (typeof e?.code === 'number' || typeof e?.code === 'string') return `code ${e.code}`;
  return typeof e?.name === 'string' ? e.name : 'error';
}

async function main(): Promise<void> {
  const sdk = env('ADOPTION_SDK') as AdoptionSdk;
  const mode = env('ADOPTION_MODE') === 'broker' ? 'broker' : 'alone';
  const name = env('ADOPTION_NAME');
  const base = `${env('ADOPTION_PLATFORM')}/app/${name}`;
  const secret = mode === 'alone' ? env('ADOPTION_SECRET') : 'the-app-no-longer-has-the-secret';
  const calls = sdkCalls(sdk, mode === 'broker', base, env('ADOPTION_APPID'), secret);
  const durationMs = Number(process.env.ADOPTION_DURATION_MS ?? '10000');
  const intervalMs = Number(process.env.ADOPTION_INTERVAL_MS ?? '20');
  const result: AppResult = { sdk, mode, name, calls: 0, ok: 0, failed: 0, failures: [] };
  const end = Date.now() + durationMs;
  while (Date.now() < end) {
    const call = calls[result.calls % calls.length] as Call;
    result.calls++;
    try {
      await call();
      result.ok++;
    } catch (err) {
      result.failed++;
      if (result.failures.length < 5) result.failures.push(describeFailure(err));
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`adoption app failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
