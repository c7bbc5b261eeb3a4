/**
 * Secrets whose realm references a pushed ticket (`${ticket}`, e.g. preset wechat_component): the
 * Fetcher is wrapped so that the provider call gets the newest ticket the event route stored
 * (store/pushed.ts), read once per call. Without a ticket the call is never sent (the template
 * refuses with TICKET_MISSING); a provider answer that the ticket is expired or invalid (WeChat
 * 61005/61006) becomes TICKET_STALE. Both are 503s the engine remembers as transient, never as a
 * credential error (errors.ts PUSHED_VALUE_CODES). Either way the platform is asked to push again
 * (platforms/ask-for-ticket.ts: WeChat's api_start_push_ticket, Feishu's app_ticket/resend), as it
 * is when the ticket is stale (no push for 2.5 intervals, platforms/freshness-table.ts) but still used:
 * every token fetch, the scheduled refresh's included, notices a stalled push.
 */
import { AppError } from '../errors';
import { log } from '../log';
import { askForTicket } from '../platforms/ask-for-ticket';
import { saysFeishuTicketInvalid } from '../platforms/feishu/ticket-errors';
import { freshnessOf } from '../platforms/freshness-table';
import { ProviderFailure } from '../providers/failure';
import type { RealmConfig } from '../providers/realm-config';
import { PUSHED_TICKET, templateUsesTicket } from '../providers/template';
import type { Store } from '../store/store';
import type { SecretRecord } from '../store/types';
import type { Fetcher } from './types';

/**
 * Provider codes that say the pushed ticket is expired or invalid (WeChat Open Platform 61005/61006;
 * WeCom 40085 invalid suite_ticket).
 */
export const STALE_TICKET_CODES: ReadonlySet<string> = new Set(['61005', '61006', '40085']);

/** Whether a realm's arguments reference the pushed ticket. */
export function usesPushedTicket(config: RealmConfig): boolean {
  return config.arguments.some((arg) => typeof arg.value === 'string' && templateUsesTicket(arg.value));
}

/**
 * Without a usable ticket, the platform is asked to push again (platforms/start-push.ts: at most once
 * per 10 minutes across instances) when it has a call for that (platforms/freshness-table.ts; WeCom
 * has none: the ticket is only reported stale); its failure is logged, and the caller still gets the 503.
 */
async function askForPush(
  store: Store,
  secret: SecretRecord,
  config: RealmConfig,
  allowPrivate: boolean,
): Promise<void> {
  if (freshnessOf(config).ask === undefined) return;
  try {
    const outcome = await askForTicket({ store, allowPrivate }, secret, config, false);
    log(
      'WARNING',
      `no usable pushed ticket for ${secret.realm}/${secret.key}: asked the platform to push again (${outcome})`,
      {
        event: 'start_push',
        realm: secret.realm,
        key: secret.key,
        outcome,
      },
    );
  } catch (err) {
    log('ERROR', `asking the platform to push again failed for ${secret.realm}/${secret.key}`, {
      event: 'start_push',
      realm: secret.realm,
      key: secret.key,
      outcome: 'failed',
      code: err instanceof AppError ? err.code : 'INTERNAL',
      providerCode: err instanceof ProviderFailure ? err.providerCode : undefined,
    });
  }
}

export function pushedFetcher(base: Fetcher, secret: SecretRecord, store: Store): Fetcher {
  return async (config, values, options) => {
    const { state, now } = await store.readPushed(secret.realm, secret.key);
    const ticket = state?.ticket;
    // Still usable but no push for a while (2.5 push intervals): ask for one now, and use this one.
    if (
      state?.ticketArrivedAt !== undefined &&
      now - state.ticketArrivedAt > freshnessOf(config).staleAfterMs
    )
      await askForPush(store, secret, config, options.allowPrivate);
    const given = ticket === undefined ? values : { ...values, [PUSHED_TICKET]: ticket };
    try {
      return await base(config, given, options);
    } catch (err) {
      if (err instanceof AppError && err.code === 'TICKET_MISSING') {
        await askForPush(store, secret, config, options.allowPrivate);
        throw err;
      }
      if (!(err instanceof ProviderFailure)) throw err;
      if (!STALE_TICKET_CODES.has(err.providerCode ?? '') && !saysFeishuTicketInvalid(config, err)) throw err;
      await askForPush(store, secret, config, options.allowPrivate);
      const age = state?.ticketArrivedAt === undefined ? undefined : now - state.ticketArrivedAt;
      throw new AppError(
        'TICKET_STALE',
        `The provider refused the pushed ticket of ${secret.realm}/${secret.key} as expired or invalid ` +
          `(${err.providerCode ?? ''}); a new push is needed (POST /api/component/${secret.realm}/${secret.key}/start-push asks for one)`,
        {
          retryAfter: 60,
          details: {
            field: PUSHED_TICKET,
            providerCode: err.providerCode,
            ...(err.providerMessage === undefined ? {} : { providerMessage: err.providerMessage }),
            ...(age === undefined ? {} : { ticket_age_ms: age }),
          },
        },
      );
    }
  };
}
