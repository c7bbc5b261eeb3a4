/**
 * The broker's own recovery of a rejected rotating value (realm config `rotation_recovery`), tried
 * by rotating-call.ts before a secret is given up as needs_reauthorization:
 * - `wechat_authorizer_list`: an authorizer secret's refresh token, from WeChat's
 *   api_get_authorizer_list (platforms/authorizer-list.ts) called with its parent component's token
 *   and appid (`key_1` of the parent), matched on the authorizer's appid (its `key_1`, else its key).
 * A transient failure of the recovery is thrown (the round backs off and tries again later, nothing
 * is given up); a permanent one is logged and answers nothing (the secret then needs authorizing).
 */
import { AppError } from '../errors';
import { log } from '../log';
import { ProviderFailure } from '../providers/failure';
import type { RealmConfig } from '../providers/realm-config';
import { findAuthorizer } from '../platforms/authorizer-list';
import type { Store } from '../store/store';
import type { SecretRecord } from '../store/types';
import { parseParentRef } from '../admin/secret-parent';
import type { Recover } from './rotating-call';
import type { ServedToken } from './served';
import type { TokenRequest } from './types';

export interface RecoveryDeps {
  store: Store;
  allowPrivate: boolean;
  instanceId: string;
  /** The engine's getToken: the parent's token is served through it. */
  getToken(req: TokenRequest): Promise<ServedToken>;
}

/** The secret's recovery, when its realm names one and the secret has what it needs (a parent). */
export function recoveryFor(
  deps: RecoveryDeps,
  secret: SecretRecord,
  config: RealmConfig,
): Recover | undefined {
  if (config.rotation_recovery !== 'wechat_authorizer_list' || secret.parent === undefined) return undefined;
  const parent = parseParentRef(secret.parent);
  const appid = secret.values.key_1 ?? secret.key;
  return async (name, timeoutMs) => {
    if (name !== 'refresh_token') return undefined;
    try {
      const component = await deps.store.getSecret(parent.realm, parent.key);
      const componentAppid = component?.values.key_1;
      if (componentAppid === undefined) return undefined;
      const served = await deps.getToken(parent);
      const found = await findAuthorizer(
        {
          platformUrl: config.url,
          componentAppid,
          componentToken: served.token,
          allowPrivate: deps.allowPrivate,
          timeoutMs,
        },
        (entry) => entry.authorizer_appid === appid,
      );
      log(
        found === undefined ? 'ERROR' : 'INFO',
        `authorizer list recovery for ${secret.realm}/${secret.key}`,
        {
          event: 'rotating_value_recovery',
          realm: secret.realm,
          key: secret.key,
          found: found !== undefined,
          instance: deps.instanceId,
        },
      );
      return found?.refresh_token;
    } catch (err) {
      if (err instanceof ProviderFailure && err.kind === 'transient') throw err;
      log('ERROR', `authorizer list recovery failed for ${secret.realm}/${secret.key}`, {
        event: 'rotating_value_recovery',
        realm: secret.realm,
        key: secret.key,
        found: false,
        code: err instanceof AppError ? err.code : 'INTERNAL',
        providerCode: err instanceof ProviderFailure ? err.providerCode : undefined,
        instance: deps.instanceId,
      });
      return undefined;
    }
  };
}
