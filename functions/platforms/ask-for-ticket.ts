/**
 * "Push the ticket again", whichever platform the secret is on: Feishu/Lark store apps call
 * app_ticket/resend (feishu/resend.ts), WeChat Open Platform components api_start_push_ticket
 * (start-push.ts). Both share the store claim: at most one call per 10 minutes across instances.
 */
import type { RealmConfig } from '../providers/realm-config';
import type { SecretRecord } from '../store/types';
import { isFeishuStore } from './feishu/realm';
import { resendAppTicket } from './feishu/resend';
import { startPush, type StartPushDeps, type StartPushOutcome } from './start-push';

export function askForTicket(
  deps: StartPushDeps,
  secret: SecretRecord,
  config: RealmConfig,
  force: boolean,
): Promise<StartPushOutcome> {
  return isFeishuStore(config)
    ? resendAppTicket(deps, secret, config, force)
    : startPush(deps, secret, config, force);
}
