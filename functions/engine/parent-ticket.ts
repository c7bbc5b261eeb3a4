/**
 * A tenant's token call that presents its platform's pushed ticket (${parent.ticket}: DingTalk ISV
 * corpAccessToken): an answer that the ticket is expired or invalid is not the tenant's credentials'
 * fault. It becomes 503 TICKET_STALE (a pushed-value code the engine never remembers as a credential
 * error) when its provider code is one of the known stale-ticket codes or its code or message names
 * the ticket (DingTalk's exact answer is unverified: any 4xx that mentions a ticket counts).
 */
import { AppError } from '../errors';
import { ProviderFailure } from '../providers/failure';
import { STALE_TICKET_CODES } from './pushed-fetcher';

/** Whether a failure says that the ticket presented is expired or invalid. */
export function namesStaleTicket(err: unknown): err is ProviderFailure {
  if (!(err instanceof ProviderFailure) || err.reason === 'timeout') return false;
  const code = err.providerCode ?? '';
  if (STALE_TICKET_CODES.has(code)) return true;
  return /ticket/i.test(`${code} ${err.providerMessage ?? ''}`);
}

/** Runs a tenant's call; a stale-ticket answer is rethrown as TICKET_STALE, naming its parent. */
export async function withParentTicket<T>(parent: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!namesStaleTicket(err)) throw err;
    throw new AppError(
      'TICKET_STALE',
      `The provider refused the pushed ticket of ${parent} (${err.providerCode ?? 'no code'}); ` +
        'the platform must push a new one (check its callback URL)',
      {
        retryAfter: 60,
        details: {
          field: 'parent.ticket',
          providerCode: err.providerCode,
          ...(err.providerMessage === undefined ? {} : { providerMessage: err.providerMessage }),
        },
      },
    );
  }
}
