/**
 * A platform secret's tenants counted without reading them (Store.countChildren; README "HTTP API"
 * status `tenants`): the secrets that name it as `parent`, of those the tombstones (`revoked`), and
 * the token states of the children's realm whose last error has a given code (the engine gave the
 * tenant's refresh token up: NEEDS_REAUTHORIZATION). Encoded documents in, so that the memory store
 * counts what the Firestore store's count() queries count.
 */
import type { Doc } from './codec';

export interface ChildCounts {
  /** Secrets whose parent is the platform secret. */
  total: number;
  /** Of those, tombstones (the platform ended them). */
  revoked: number;
  /** Token states of the children's realm whose lastError.code is the one asked for. */
  withError: number;
}

/** The memory store's count over its encoded secret and token documents. */
export function countChildDocs(
  secrets: Iterable<Doc>,
  tokens: Iterable<Doc>,
  parent: string,
  errorCode: string,
): ChildCounts {
  let total = 0;
  let revoked = 0;
  let realm: unknown;
  for (const d of secrets) {
    if (d.parent !== parent) continue;
    total++;
    if (typeof d.revoked === 'object' && d.revoked !== null) revoked++;
    realm ??= d.realm;
  }
  let withError = 0;
  if (typeof realm === 'string') {
    for (const d of tokens) {
      const error = d.lastError as { code?: unknown } | undefined;
      if (d.realm === realm && error?.code === errorCode) withError++;
    }
  }
  return { total, revoked, withError };
}
