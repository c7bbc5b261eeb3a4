/**
 * parseRealmConfig (providers/realm-config.ts) for modules that the token-serving path loads
 * (presets, logic code): realm-config.ts, and zod with it, are loaded at the first call, which is a
 * refresh, an admin request or the warm-up of an idle instance (engine.ts warmMissPath), never a hit
 * (README "Cold start").
 */
import type * as RealmConfigModule from './realm-config';
import type { RealmConfig } from './realm-config';

let realmConfig: typeof RealmConfigModule | undefined;

export function parseRealmConfig(json: unknown, prefix?: string): RealmConfig {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- zod on first use
  realmConfig ??= require('./realm-config') as typeof RealmConfigModule;
  return realmConfig.parseRealmConfig(json, prefix);
}
