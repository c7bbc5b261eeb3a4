/**
 * Dependent secrets (README "JS-SDK"): a secret that names a `parent` ("REALM/KEY") has no
 * credentials of its own; its realm's arguments reference the parent's current token as $token. This
 * is how JS-SDK tickets are fetched. The engine refreshes such a secret like any other (one call per
 * due time, leases, budget): only its Fetcher is wrapped here, so that
 *
 * - the parent's token comes from the engine's own getToken (the parent keeps every guarantee: one
 *   upstream call per due time for parent and children together, however many children ask);
 * - when the child's provider answers that the parent's token is invalid or expired (40001, 40014,
 *   42001), the parent is refreshed by an invalid_token report on that token (collapsed across
 *   instances: one parent refresh for everybody) and the child's call is retried once with the new
 *   token, that retry counted in the child's daily budget.
 */
import type { Clock } from '../clock';
import { AppError } from '../errors';
import { log } from '../log';
import { ProviderFailure } from '../providers/failure';
import { withParentTicket } from './parent-ticket';
import { DEAD_TOKEN_CODES } from '../providers/dead-token-codes';
import type { RealmConfig } from '../providers/realm-config';
import { parentValuesUsed, usesParentToken } from '../providers/realm-facts';
import { PARENT_TOKEN, PUSHED_TICKET, parentValueName, type KeyName } from '../providers/template';
import type { Store } from '../store/store';
import { checkParent, parseParentRef } from '../admin/secret-parent';
import type { SecretRecord } from '../store/types';
import type { ServedToken } from './served';
import type { Fetcher, TokenRequest } from './types';
import { countDependentRetry } from '../token/mutators';

/** Whether a child's provider said that the parent's token it was given is dead. */
export function saysParentTokenDead(err: unknown): boolean {
  return (
    err instanceof ProviderFailure &&
    err.providerCode !== undefined &&
    DEAD_TOKEN_CODES.includes(Number(err.providerCode))
  );
}

export interface DependentDeps {
  store: Store;
  clock: Clock;
  /** The engine's getToken: the parent is served, refreshed and reported through it. */
  getToken(req: TokenRequest): Promise<ServedToken>;
  instanceId: string;
}

/** A parent without a token, as a failure of the child's fetch (its code and message kept). */
function parentFailure(ref: string, err: AppError): ProviderFailure {
  const details = err.details ?? {};
  const transient =
    err.code === 'REFRESH_IN_PROGRESS' ||
    err.code === 'UNAVAILABLE' ||
    err.code === 'UPSTREAM_TIMEOUT' ||
    details.transient === true;
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const providerCode = text(details.providerCode);
  const providerMessage = text(details.providerMessage);
  return new ProviderFailure({
    kind: transient ? 'transient' : 'permanent',
    reason: 'parent_token',
    message: `The parent secret ${ref} has no token (${err.code}): ${err.message}`,
    ...(providerCode === undefined ? {} : { providerCode }),
    ...(providerMessage === undefined ? {} : { providerMessage }),
  });
}

/**
 * Counts the child's retry in its daily budget (the engine counted the first call with the lease);
 * false when the budget is used up, and the retry is not made.
 */
async function countRetry(store: Store, secret: SecretRecord, config: RealmConfig): Promise<boolean> {
  return store.mutateTokenState(secret.realm, secret.key, (current, now) =>
    countDependentRetry(current, now, config.daily_budget),
  );
}

/**
 * The parent's values a realm references (${parent.key_N}, ${parent.ticket}), under the renderer's
 * names ("parent.key_1", "parent.ticket"); read when the call is made, so a replaced parent or a new
 * ticket is used at once. Absent values are left out (the renderer says what is missing).
 */
async function parentValues(store: Store, ref: string, names: string[]): Promise<Record<string, string>> {
  if (names.length === 0) return {};
  const { realm, key } = parseParentRef(ref);
  const wantsTicket = names.includes(PUSHED_TICKET);
  const [secret, pushed] = await Promise.all([
    store.getSecret(realm, key),
    wantsTicket ? store.readPushed(realm, key) : Promise.resolve(undefined),
  ]);
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = name === PUSHED_TICKET ? pushed?.state?.ticket : secret?.values[name as KeyName];
    if (value !== undefined) out[parentValueName(name as KeyName)] = value;
  }
  return out;
}

/**
 * The Fetcher for a secret with a parent: `base` called with the parent's current token as $token,
 * healed once when the child's provider rejects that token. A parent that cannot give a token fails
 * the child's fetch with the parent's error; within one refresh round the parent is asked at most
 * twice (once, and once more after reporting its token dead), however often the engine retries.
 */
export function dependentFetcher(
  base: Fetcher,
  secret: SecretRecord & { parent: string },
  deps: DependentDeps,
): Fetcher {
  const ref = secret.parent;
  const parent = parseParentRef(ref);
  let failed: ProviderFailure | undefined;
  const parentToken = async (invalidToken?: string): Promise<string> => {
    if (failed !== undefined) throw failed;
    try {
      const served = await deps.getToken({
        ...parent,
        ...(invalidToken === undefined ? {} : { invalidToken }),
      });
      return served.token;
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      failed = parentFailure(ref, err);
      throw failed;
    }
  };
  let checked = false;
  return async (config, values, options) => {
    if (!checked) {
      await checkParent(deps.store, secret.realm, secret.key, ref);
      checked = true;
    }
    const own = { ...values, ...(await parentValues(deps.store, ref, parentValuesUsed(config))) };
    // A realm that names only the parent's values (DingTalk's corp token) never asks for its token.
    if (!usesParentToken(config)) {
      // A call with the parent's ticket (DingTalk corpAccessToken): a refused ticket is TICKET_STALE.
      const withTicket = parentValuesUsed(config).includes(PUSHED_TICKET);
      const call = (): ReturnType<Fetcher> => base(config, own, options);
      return withTicket ? withParentTicket(ref, call) : call();
    }
    const first = await parentToken();
    try {
      return await base(config, { ...own, [PARENT_TOKEN]: first }, options);
    } catch (err) {
      if (!saysParentTokenDead(err)) throw err;
      const renewed = await parentToken(first);
      // The same token back: the parent was fetched moments ago, so the rejection is not its age.
      if (renewed === first) throw err;
      if (!(await countRetry(deps.store, secret, config))) throw err;
      log('INFO', `retrying ${secret.realm}/${secret.key} with a new token of its parent ${ref}`, {
        event: 'dependent_retry',
        realm: secret.realm,
        key: secret.key,
        parent: ref,
        providerCode: (err as ProviderFailure).providerCode,
        instance: deps.instanceId,
      });
      return base(config, { ...own, [PARENT_TOKEN]: renewed }, options);
    }
  };
}
