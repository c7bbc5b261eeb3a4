/**
 * How stored records appear in admin responses. Credential values are masked, never whole, and
 * client key hashes never appear: every route answers through these views, so none can forget.
 */
import { KEY_NAMES } from '../providers/template';
import type { ClientRecord, ClientScope, JsonObject, RealmRecord, SecretRecord } from '../store/types';

export const MASK = '****';

/** The shortest value whose first characters are shown; shorter ones are all mask. */
export const MIN_REVEAL_LENGTH = 8;
const REVEALED = 4;

/**
 * The first 4 characters, then `****`. A value shorter than 8 characters is shown as `****` only,
 * so that at most half of any value is ever revealed. Characters are counted as code points, so a
 * mask never splits a surrogate pair.
 */
export function maskValue(value: string): string {
  const chars = Array.from(value);
  if (chars.length < MIN_REVEAL_LENGTH) return MASK;
  return chars.slice(0, REVEALED).join('') + MASK;
}

export interface SecretView {
  realm: string;
  key: string;
  /** key_1 .. key_9, each masked; absent when the secret has no such value. */
  [name: `key_${number}`]: string;
  /** A fixed-token realm's secret: the token, masked, and its lifetime in seconds when it has one. */
  token?: string;
  expires_in?: number;
  created_at: string;
  updated_at: string;
}

/** A secret as the admin API shows it: every key_N masked. */
export function secretView(secret: SecretRecord): SecretView {
  const masked: Record<string, string> = {};
  for (const name of KEY_NAMES) {
    const value = secret.values[name];
    if (value !== undefined) masked[name] = maskValue(value);
  }
  // A fixed-token realm's secret: its token masked like a credential, its lifetime as it was given.
  const { token, expires_in: expiresIn } = secret.values;
  return {
    realm: secret.realm,
    key: secret.key,
    ...masked,
    ...(token === undefined ? {} : { token: maskValue(token) }),
    ...(expiresIn === undefined ? {} : { expires_in: Number(expiresIn) }),
    created_at: new Date(secret.createdAt).toISOString(),
    updated_at: new Date(secret.updatedAt).toISOString(),
  };
}

export interface RealmView {
  id: string;
  comment: string;
  /** Absent for the other two kinds: a logic_code realm has logic_code, a fixed-token realm neither. */
  config?: JsonObject;
  logic_code?: string;
  created_at: string;
  updated_at: string;
}

export function realmView(realm: RealmRecord): RealmView {
  return {
    id: realm.id,
    comment: realm.comment,
    ...(realm.config === undefined ? {} : { config: realm.config }),
    ...(realm.logicCode === undefined ? {} : { logic_code: realm.logicCode }),
    created_at: new Date(realm.createdAt).toISOString(),
    updated_at: new Date(realm.updatedAt).toISOString(),
  };
}

export interface ClientView {
  id: string;
  name: string;
  scopes: ClientScope[];
  created_at: string;
}

/** A client without its key hash. */
export function clientView(client: ClientRecord): ClientView {
  return {
    id: client.id,
    name: client.name,
    scopes: client.scopes.map((s) => ({ realm: s.realm, key: s.key })),
    created_at: new Date(client.createdAt).toISOString(),
  };
}
