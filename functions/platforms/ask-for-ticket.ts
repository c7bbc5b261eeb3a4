/**
 * "Push the ticket again", whichever platform the secret is on, by the realm's row of the freshness
 * table (freshness-table.ts `ask`): WeChat Open Platform components call api_start_push_ticket
 * (start-push.ts), Feishu/Lark store apps app_ticket/resend (feishu/resend.ts); WeCom has no such
 * call (its stale ticket is only reported). All share the store claim: at most one call per 10
 * minutes across instances (start-push.ts claimAskAgain).
 */
import type { RealmConfig } from '../providers/realm-config';
import type { SecretRecord } from '../store/types';
import { feishuResendCall } from './feishu/resend';
import { freshnessOf } from './freshness-table';
import {
  askAgain,
  idAndSecret,
  sendAskAgain,
  startPushCall,
  type AskAgainCall,
  type StartPushDeps,
  type StartPushOutcome,
} from './start-push';

interface PlatformAsk {
  /** key_1's name in messages. */
  what: string;
  call(config: RealmConfig, id: string, secretValue: string): AskAgainCall;
}

function askOf(config: RealmConfig): PlatformAsk | undefined {
  switch (freshnessOf(config).ask) {
    case 'api_start_push_ticket':
      return { what: 'component appid', call: startPushCall };
    case 'app_ticket/resend':
      return { what: 'app_id', call: feishuResendCall };
    default:
      return undefined;
  }
}

/** Claims the attempt and sends the platform's call; 'unsupported' where the platform has none. */
export async function askForTicket(
  deps: StartPushDeps,
  secret: SecretRecord,
  config: RealmConfig,
  force: boolean,
): Promise<StartPushOutcome | 'unsupported'> {
  const ask = askOf(config);
  if (ask === undefined) return 'unsupported';
  return askAgain(deps, secret, config, force, ask.what, (id, value) => ask.call(config, id, value));
}

/** Sends the platform's call for an attempt already claimed (the freshness scan's own claim). */
export async function sendAsk(deps: StartPushDeps, secret: SecretRecord, config: RealmConfig): Promise<void> {
  const ask = askOf(config);
  if (ask === undefined) return;
  const { id, secret: value } = idAndSecret(secret, ask.what);
  await sendAskAgain(deps, secret, config, ask.call(config, id, value));
}
