/**
 * The original design's `logic_code` realms: instead of a provider config, the URL of a custom token
 * function (for providers that need signing or several steps). The broker POSTs the secret to it as
 * JSON, `{"realm", "key", "key_1", ...}` (only the values the secret has), and expects
 * `{"token": "...", "expires_in": seconds}` with a 2xx status.
 *
 * The call is expressed as an ordinary realm config, so that it goes through the same request
 * builder, URL guard, deadline, size cap, redaction, error reading (a body without a token is read
 * for the common error fields), retries, leases and every guarantee of the token engine.
 */
import type { RealmRecord } from '../store/types';
import { KEY_NAMES } from './template';
import { parseRealmConfig } from './parse-realm-config';
import type { RealmConfig } from './realm-config';

/** A custom function may cold-start: it gets longer than a provider's 5 s default. */
export const LOGIC_CODE_TIMEOUT_MS = 10_000;

/** The realm config that calls a logic_code realm's token function for one secret (realm/key). */
export function logicCodeConfig(url: string, realm: string, key: string): RealmConfig {
  return parseRealmConfig(
    {
      url,
      method: 'POST',
      content_type: 'json',
      arguments: [
        // Realm ids and secret keys are [A-Za-z0-9_.-]: as literals they can never read as a $key_N.
        { name: 'realm', place: 'body', value: realm },
        { name: 'key', place: 'body', value: key },
        ...KEY_NAMES.map((name) => ({ name, place: 'body', value: `\${${name}}`, optional: true })),
      ],
      token_path: 'token',
      expires_in_path: 'expires_in',
      expires_in_unit: 's',
      timeout_ms: LOGIC_CODE_TIMEOUT_MS,
    },
    `realms.${realm}.logic_code`,
  );
}

/**
 * The config the engine fetches a secret's token with: the realm's own, or for a logic_code realm
 * the call to its token function. A fixed-token realm has none (its tokens are never fetched).
 */
export function tokenConfigOf(realm: RealmRecord, key: string): RealmConfig | undefined {
  if (realm.config !== undefined) return parseRealmConfig(realm.config);
  if (realm.logicCode !== undefined) return logicCodeConfig(realm.logicCode, realm.id, key);
  return undefined;
}

/**
 * Loads the realm config parser (realm-config.ts and zod: about 50 ms here) and parses one config
 * (a logic_code call's: the first parse costs about 5 ms more than later ones), so that a miss's own
 * parse finds both done (engine.ts warmMissPath). Parsing makes no call.
 */
export function warmConfigParser(): void {
  logicCodeConfig('https://warm.invalid/token', 'warm', 'warm');
}
