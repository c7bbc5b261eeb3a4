/**
 * The records the store keeps, in their plain (domain) form. Credential values and tokens are sealed
 * by store/codec.ts before they reach a document; these types never leave the process.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** The token document's types live with its rules (token/types.ts); re-exported here for the store's users. */
export type {
  QuotaCheck,
  TokenAttempt,
  TokenError,
  TokenLease,
  TokenState,
  TokenSummary,
} from '../token/types';

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
  /** "REALM/KEY" of the secret whose token this one's realm references as $token (a ticket's parent). */
  parent?: string;
  /** Changes whenever the credentials are replaced; a token fetched under another rev is discarded. */
  rev: string;
  createdAt: number;
  updatedAt: number;
  /**
   * A tombstone (WeChat `unauthorized`, WeCom `cancel_auth`: README's platform sections): the platform ended this tenant.
   * Its values are erased and the secret is kept, so that its token route can say so (410
   * AUTHORIZER_REVOKED) and a later authorization brings it back (platforms/child-secrets.ts).
   */
  revoked?: { at: number; reason: string };
  /**
   * The platform's time (ms) of the newest event that created, replaced or revoked this secret, so
   * that an older event delivered late never undoes a newer one.
   */
  eventAt?: number;
}

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

/**
 * A page of a list. `next` is the position of the page's last entry when more follow (absent on
 * the last page): the next page starts after it.
 */
export interface Page<T, P = string> {
  list: T[];
  total: number;
  next?: P;
}

/**
 * At most `limit` entries, after the position `after` (a cursor: costs reads for this page only),
 * or from `offset` (the original design's page/pageSize: Firestore bills every skipped document).
 * Positions are document ids except where a list says otherwise.
 */
export interface PageRequest<P = string> {
  limit: number;
  offset?: number;
  after?: P;
}

/** Clients are listed by creation time, then id. */
export interface ClientPosition {
  createdAt: number;
  id: string;
}
