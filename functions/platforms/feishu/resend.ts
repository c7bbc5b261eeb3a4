/**
 * Asking Feishu to push the app_ticket again: `POST /open-apis/auth/v3/app_ticket/resend`
 * `{app_id, app_secret}` → `{code: 0}`, the ticket then arriving as an event. Claimed in the store
 * first (platforms/start-push.ts askAgain: at most one call per 10 minutes across instances
 * unless an admin forces one). The URL is the realm's token URL with `app_access_token` replaced, so
 * a realm pointed at Lark, a proxy or a test double sends it there too.
 */
import type { RealmConfig } from '../../providers/realm-config';
import type { SecretRecord } from '../../store/types';
import {
  askAgain,
  siblingUrl,
  type AskAgainCall,
  type StartPushDeps,
  type StartPushOutcome,
} from '../start-push';

/** 99991400: rate limited (Feishu answers it with HTTP 429, transient by status too). */
const FEISHU_BUSY_CODES = [99991400] as const;

export function resendAppTicket(
  deps: StartPushDeps,
  secret: SecretRecord,
  config: RealmConfig,
  force: boolean,
): Promise<StartPushOutcome> {
  return askAgain(deps, secret, config, force, 'app_id', (appId, appSecret) =>
    feishuResendCall(config, appId, appSecret),
  );
}

/** Feishu's call: app_ticket/resend {app_id, app_secret}. */
export function feishuResendCall(config: RealmConfig, appId: string, appSecret: string): AskAgainCall {
  return {
    name: 'app_ticket/resend',
    url: siblingUrl(config.url, 'app_ticket/resend'),
    body: { app_id: appId, app_secret: appSecret },
    codeField: 'code',
    messageField: 'msg',
    transientCodes: FEISHU_BUSY_CODES,
  };
}
