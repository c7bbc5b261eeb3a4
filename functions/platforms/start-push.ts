/**
 * Asking the platform to push its ticket again (WeChat Open Platform `api_start_push_ticket`,
 * `{component_appid, component_secret}`): pushes stop after a wrong reply or a firewall change, and
 * this restarts them. The attempt is recorded in the secret's pushed-values document (startPushAt,
 * store time) before the call is sent, so that instances together send at most one per
 * START_PUSH_INTERVAL_MS unless an admin forces one (POST /api/component/{realm}/{key}/start-push).
 * The URL is the realm's token URL with its last path segment replaced, so a realm pointed at a
 * test double (or a proxy) sends this call there too.
 */
import { AppError } from '../errors';
import type { RealmConfig } from '../providers/realm-config';
import type { PushedState } from '../store/pushed';
import type { Store } from '../store/store';
import type { SecretRecord } from '../store/types';
import { componentAnswer, postComponent } from './component-api';

export const START_PUSH_INTERVAL_MS = 10 * 60_000;

export type StartPushOutcome = 'sent' | 'recently_sent';

export interface StartPushDeps {
  store: Store;
  allowPrivate: boolean;
}

/**
 * Records the attempt (unless one was recorded less than START_PUSH_INTERVAL_MS ago and `force`
 * is off), then calls api_start_push_ticket. A refusal is a ProviderFailure with WeChat's code.
 */
export async function startPush(
  deps: StartPushDeps,
  secret: SecretRecord,
  config: RealmConfig,
  force: boolean,
): Promise<StartPushOutcome> {
  const { realm, key } = secret;
  const go = await deps.store.mutatePushed(realm, key, (current, now) => {
    if (!force && current?.startPushAt !== undefined && now - current.startPushAt < START_PUSH_INTERVAL_MS)
      return { result: false };
    const next: PushedState = { ...(current ?? { realm, key }), startPushAt: now };
    return { next, result: true };
  });
  if (!go) return 'recently_sent';
  const appid = secret.values.key_1;
  const appsecret = secret.values.key_2;
  if (appid === undefined || appsecret === undefined) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `${realm}/${key} needs key_1 (component appid) and key_2 (appsecret)`,
      {
        details: { field: appid === undefined ? 'key_1' : 'key_2' },
      },
    );
  }
  const response = await postComponent(deps, { secret, config }, 'api_start_push_ticket', {
    component_appid: appid,
    component_secret: appsecret,
  });
  componentAnswer('api_start_push_ticket', response, { secret, config });
  return 'sent';
}
