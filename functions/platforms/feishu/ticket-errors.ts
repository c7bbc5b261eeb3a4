/**
 * Which Feishu answers to app_access_token say the app_ticket is bad (so 503 TICKET_STALE and a
 * resend, never a remembered credential error). Feishu's code for it is not verified (10012 is
 * reported as "app_ticket is invalid"), so any refusal of a Feishu store app whose message names the
 * app_ticket counts too. Safe when wrong: a credential error taken for a ticket error is answered
 * 503 and retried (at most one resend per 10 minutes), never hidden as success.
 */
import type { ProviderFailure } from '../../providers/failure';
import type { RealmConfig } from '../../providers/realm-config';
import { isFeishuStore } from './realm';

export const FEISHU_TICKET_CODES: ReadonlySet<string> = new Set(['10012']);

export function saysFeishuTicketInvalid(config: RealmConfig, err: ProviderFailure): boolean {
  if (!isFeishuStore(config)) return false;
  if (FEISHU_TICKET_CODES.has(err.providerCode ?? '')) return true;
  return /app[_ ]?ticket/i.test(err.providerMessage ?? '');
}
