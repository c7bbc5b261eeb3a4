/**
 * The admin key and the master key, from the environment or Secret Manager, validated once per
 * instance; plus the small key helpers (constant-time comparison, client key generation and hashing).
 * A key that cannot be had is left undefined with a problem message, which the HTTP layer turns into
 * 503s: a missing or bad key never opens anything.
 */
import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config, KeySource } from '../config';
import { AppError } from '../errors';
import { DEFAULT_KEY_ID, MASTER_KEY_BYTES, parseMasterKeys, type MasterKey } from './master-keys';
import { readSecretVersion, type ReadSecret } from './secret-manager';

export interface ResolvedKeys {
  adminKey?: string;
  /** The current 32-byte master key: it encrypts credentials and tokens at rest. */
  masterKey?: Buffer;
  /**
   * Every configured master key, the current one first (keys/master-keys.ts): values sealed under
   * any of them open; new values are sealed under the first.
   */
  masterKeys?: MasterKey[];
  /** Why a key is missing, for a person; never contains a key or a secret payload. */
  problems: { adminKey?: string; masterKey?: string };
}

export interface KeyDeps {
  readSecret: ReadSecret;
}

export type KeyConfig = Pick<Config, 'adminKey' | 'masterKey' | 'secretManagerEndpoint'>;

export const ADMIN_KEY_MIN_LENGTH = 32;
export { MASTER_KEY_BYTES };
export const CLIENT_KEY_PREFIX = 'tsk_';

type KeyName = 'adminKey' | 'masterKey';

const VARIABLES: Record<KeyName, { value: string; secret: string }> = {
  adminKey: { value: 'TOKEN_SERVER_ADMIN_KEY', secret: 'TOKEN_SERVER_ADMIN_KEY_SECRET' },
  masterKey: { value: 'TOKEN_SERVER_MASTER_KEY', secret: 'TOKEN_SERVER_MASTER_KEY_SECRET' },
};

const NOT_CONFIGURED: Record<KeyName, string> = {
  adminKey:
    'No admin key is configured: set TOKEN_SERVER_ADMIN_KEY or TOKEN_SERVER_ADMIN_KEY_SECRET. Admin routes are closed until then',
  masterKey:
    'No master key is configured: set TOKEN_SERVER_MASTER_KEY or TOKEN_SERVER_MASTER_KEY_SECRET (base64 of 32 random bytes). Credentials are never stored in plain text, so routes that need them are closed until then',
};

/** Visible ASCII only: a Bearer token cannot carry spaces, control characters or other encodings. */
const ADMIN_KEY_CHARS = /^[\x21-\x7e]+$/;

/** Why `value` is not a usable admin key, or undefined when it is. */
function adminKeyFlaw(value: string): string | undefined {
  if (value.length < ADMIN_KEY_MIN_LENGTH) return `must be at least ${ADMIN_KEY_MIN_LENGTH} characters`;
  if (!ADMIN_KEY_CHARS.test(value)) return 'must be visible ASCII characters without spaces';
  return undefined;
}

function masterKeyFlaw(value: string): string | undefined {
  return parseMasterKeys(value).problem;
}

function masterKeyList(value: string): MasterKey[] {
  return parseMasterKeys(value).keys ?? [];
}

/** `gcloud secrets create --data-file` keeps the newline that `echo` or an editor adds. */
function withoutTrailingNewlines(text: string): string {
  return text.replace(/[\r\n]+$/, '');
}

type Resolved<T> = { key: T; problem?: undefined } | { key?: undefined; problem: string };

async function resolveOne<T>(
  name: KeyName,
  source: KeySource,
  endpoint: string | undefined,
  deps: KeyDeps,
  flaw: (value: string) => string | undefined,
  decode: (value: string) => T,
): Promise<Resolved<T>> {
  const variables = VARIABLES[name];
  if (source.kind === 'none') return { problem: NOT_CONFIGURED[name] };
  if (source.kind === 'value') {
    const bad = flaw(source.value);
    return bad === undefined ? { key: decode(source.value) } : { problem: `${variables.value}: ${bad}` };
  }
  let payload: Buffer;
  try {
    payload = await deps.readSecret(source.name, {
      variable: variables.secret,
      ...(endpoint === undefined ? {} : { endpoint }),
    });
  } catch (err) {
    // readSecretVersion's AppErrors name the variable, the secret and the reason, never the payload.
    // Anything else (an injected reader) is reported by type only, in case it carries data.
    if (err instanceof AppError) return { problem: err.message };
    const kind = err instanceof Error ? err.name : typeof err;
    return { problem: `${variables.secret}: cannot read Secret Manager version ${source.name}: ${kind}` };
  }
  const text = withoutTrailingNewlines(payload.toString('utf8'));
  const bad = flaw(text);
  if (bad !== undefined) {
    return { problem: `${variables.secret}: the payload of Secret Manager version ${source.name} ${bad}` };
  }
  return { key: decode(text) };
}

/**
 * Read and validate both keys: each Secret Manager version at most once per call, both in
 * parallel. Never rejects: every failure becomes a problem message and leaves its key undefined.
 * Callers resolve once per instance and keep the result; runtime.ts resolves again, after 30 s, an
 * instance whose Secret Manager read failed.
 */
export async function resolveKeys(
  config: KeyConfig,
  deps: KeyDeps = { readSecret: readSecretVersion },
): Promise<ResolvedKeys> {
  const endpoint = config.secretManagerEndpoint;
  const [admin, master] = await Promise.all([
    resolveOne('adminKey', config.adminKey, endpoint, deps, adminKeyFlaw, (v) => v),
    resolveOne('masterKey', config.masterKey, endpoint, deps, masterKeyFlaw, masterKeyList),
  ]);
  const keys: ResolvedKeys = { problems: {} };
  if (admin.problem === undefined) keys.adminKey = admin.key;
  else keys.problems.adminKey = admin.problem;
  const current = master.key?.[0];
  if (master.key !== undefined && current !== undefined) {
    keys.masterKey = current.key;
    keys.masterKeys = master.key;
  } else keys.problems.masterKey = master.problem ?? NOT_CONFIGURED.masterKey;
  return keys;
}

/** The configured master key ids, the current one first (a lone masterKey is `default`). */
export function masterKeyIds(keys: ResolvedKeys): string[] {
  if (keys.masterKeys !== undefined) return keys.masterKeys.map((k) => k.id);
  return keys.masterKey === undefined ? [] : [DEFAULT_KEY_ID];
}

/**
 * Compare a presented key with the expected one in time independent of where they differ and of
 * their lengths: both are hashed to 32 bytes first, so there is no early exit on length.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/** How a client key is stored and looked up: only its SHA-256 (hex) is ever kept. */
export function hashClientKey(key: string): string {
  // crypto.hash: the one-shot form, half the cost of a Hash object (it runs on every token request).
  return hash('sha256', key, 'hex');
}

/** A new client key, shown once at creation: `tsk_` + 32 random bytes in base64url (47 characters). */
export function generateClientKey(): string {
  return `${CLIENT_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** A new admin key (for npm start and tests): 32 random bytes in base64url, 43 characters. */
export function generateAdminKey(): string {
  return randomBytes(32).toString('base64url');
}

/** A new master key in the form TOKEN_SERVER_MASTER_KEY takes: base64 of 32 random bytes. */
export function generateMasterKey(): string {
  return randomBytes(MASTER_KEY_BYTES).toString('base64');
}
