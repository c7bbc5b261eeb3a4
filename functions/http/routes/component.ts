/**
 * Admin routes of a platform secret (a secret whose realm references a pushed ticket, e.g. preset
 * wechat_component): `POST /api/component/{realm}/{key}/start-push` asks the platform to push its
 * ticket now (api_start_push_ticket; Feishu store apps: app_ticket/resend), whatever the 10-minute spacing of the automatic requests.
 */
import { usesPushedTicket } from '../../engine/pushed-fetcher';
import { AppError } from '../../errors';
import { parseRealmConfig, realmIdSchema } from '../../providers/realm-config';
import { askForTicket } from '../../platforms/ask-for-ticket';
import type { SecretRecord } from '../../store/types';
import type { RealmConfig } from '../../providers/realm-config';
import type { RouteContext } from '../types';
import { type Route } from '../types';

export async function platformSecret(
  ctx: RouteContext,
): Promise<{ secret: SecretRecord; config: RealmConfig }> {
  const { realm = '', key = '' } = ctx.req.params;
  for (const [field, value] of [
    ['realm', realm],
    ['key', key],
  ] as const) {
    if (!realmIdSchema.safeParse(value).success)
      throw new AppError('INVALID_ARGUMENT', `${field} is not a valid id`, { details: { field } });
  }
  ctx.logFields.realm = realm;
  ctx.logFields.key = key;
  const record = await ctx.runtime.store.getRealm(realm);
  if (record === null) throw new AppError('NOT_FOUND', `No realm ${realm}`, { details: { field: 'realm' } });
  const config = record.config === undefined ? undefined : parseRealmConfig(record.config);
  if (config === undefined || !usesPushedTicket(config)) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `Realm ${realm} takes no pushed ticket (no \${ticket} in its arguments)`,
      {
        details: { field: 'realm' },
      },
    );
  }
  const secret = await ctx.runtime.store.getSecret(realm, key);
  if (secret === null)
    throw new AppError('NOT_FOUND', `No secret ${realm}/${key}`, { details: { field: 'key' } });
  return { secret, config };
}

export const componentRoutes: Route[] = [
  {
    method: 'POST',
    pattern: '/api/component/:realm/:key/start-push',
    auth: 'admin',
    handle: async (ctx) => {
      const { secret, config } = await platformSecret(ctx);
      const outcome = await askForTicket(
        { store: ctx.runtime.store, allowPrivate: ctx.runtime.config.allowPrivateUpstreams },
        secret,
        config,
        true,
      );
      return { body: { realm: secret.realm, key: secret.key, start_push: outcome } };
    },
  },
];
