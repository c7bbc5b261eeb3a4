/**
 * The records the store keeps, in their plain (domain) form. Credential values and tokens are sealed
 * by store/codec.ts before they reach a document; these types never leave the process.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface RealmRecord {
  id: string;
  comment: string;
  /**
   * The realm config as JSON; validated by providers/realm-config.ts on every write and read. Absent
   * for a logic_code realm (logicCode: its token function's URL) and a fixed-token realm (neither).
   */
  config?: JsonObject;
  logicCode?: string;
  createdAt: number;
  updatedAt: number;
}

export interface SecretRecord {
  realm: string;
  key: string;
  /** key_1 .. key_9 → plaintext credential value (sealed at rest). */
  values: Record<string, string>;
  /** Changes whenever the credentials are replaced; a token fetched under another rev is discarded. */
  rev: string;
  createdAt: number;
  updatedAt: number;
}

export interface TokenLease {
  id: string;
  /** Which instance holds it (for status and logs). */
  owner: string;
  /** Epoch ms after which anyone may take the lease over. */
  until: number;
  /** The generation the holder started from; its write is accepted only if it is still current. */
  baseGeneration: number;
}

export interface TokenError {
  at: number;
  /** AppError code: UPSTREAM_ERROR, UPSTREAM_TIMEOUT, ... */
  code: string;
  message: string;
  /** Provider's HTTP status, error code and message, when it answered. */
  httpStatus?: number;
  providerCode?: string;
  providerMessage?: string;
  /** The realm's hint for the provider's code (e.g. the IP allow-list one), kept for repeated answers. */
  hint?: string;
  permanent: boolean;
  /** The lease during which it happened, so that waiters for that lease can report it. */
  leaseId?: string;
}

export interface TokenState {
  realm: string;
  key: string;
  /** The SecretRecord.rev this state belongs to. */
  secretRev: string;
  /** Increments with every accepted token write; never goes back. */
  generation: number;
  /** The token (sealed at rest). */
  token?: string;
  fetchedAt?: number;
  /** When the provider said it expires (fetch start + lifetime). */
  expiresAt?: number;
  /** When a refresh falls due (before expiresAt, with jitter). */
  refreshAt?: number;
  /** For providers that kill the previous token this long after a new fetch: the serving cap. */
  overlapMs?: number;
  lease?: TokenLease;
  lastError?: TokenError;
  /** Negative cache: no upstream call before this time after a permanent error. */
  blockedUntil?: number;
  /** UTC day (YYYY-MM-DD) that callsToday counts. */
  callsDay?: string;
  callsToday?: number;
  lastRefreshAt?: number;
}

/**
 * A token state without the token: what listings (status, the scheduled refresh) need. Reading it
 * opens nothing, so one document sealed under another master key cannot break a listing.
 */
export type TokenSummary = Omit<TokenState, 'token'> & { hasToken: boolean };

export interface ClientScope {
  realm: string;
  /** A secret key, or "*" for every key of the realm. */
  key: string;
}

export interface ClientRecord {
  id: string;
  name: string;
  scopes: ClientScope[];
  /** sha256 (hex) of the client key; the key itself is never stored. */
  keyHash: string;
  createdAt: number;
}

export interface Page<T> {
  list: T[];
  total: number;
}

export interface PageRequest {
  offset: number;
  limit: number;
}
