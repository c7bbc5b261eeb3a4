/**
 * Domain records ↔ stored documents, shared by both stores so they cannot drift apart. Credential
 * values and tokens are sealed here with the document's path as associated data.
 */
import type { Sealer } from './seal';
import { COLLECTIONS, secretDocId } from './store';
import type { ClientRecord, RealmRecord, SecretRecord, TokenState, TokenSummary } from './types';

export type Doc = Record<string, unknown>;

function compact(obj: Record<string, unknown>): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out;
}

export function secretPath(realm: string, key: string): string {
  return `${COLLECTIONS.secrets}/${secretDocId(realm, key)}`;
}

export function tokenPath(realm: string, key: string): string {
  return `${COLLECTIONS.tokens}/${secretDocId(realm, key)}`;
}

export function encodeRealm(r: RealmRecord): Doc {
  return compact({
    id: r.id,
    comment: r.comment,
    config: r.config,
    logicCode: r.logicCode,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  });
}

export function decodeRealm(d: Doc): RealmRecord {
  return d as unknown as RealmRecord;
}

export function encodeSecret(s: SecretRecord, sealer: Sealer): Doc {
  return {
    realm: s.realm,
    key: s.key,
    // Which key_N exist is not secret (it shapes warnings and masks); their values are sealed together.
    names: Object.keys(s.values).sort(),
    values: sealer.seal(JSON.stringify(s.values), secretPath(s.realm, s.key)),
    rev: s.rev,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

export function decodeSecret(d: Doc, sealer: Sealer): SecretRecord {
  const realm = String(d.realm);
  const key = String(d.key);
  const values = JSON.parse(sealer.open(String(d.values), secretPath(realm, key))) as Record<string, string>;
  return {
    realm,
    key,
    values,
    rev: String(d.rev),
    createdAt: Number(d.createdAt),
    updatedAt: Number(d.updatedAt),
  };
}

export function encodeTokenState(t: TokenState, sealer: Sealer): Doc {
  const { token, lease, lastError, ...rest } = t;
  return compact({
    ...rest,
    token: token === undefined ? undefined : sealer.seal(token, tokenPath(t.realm, t.key)),
    lease: lease === undefined ? undefined : compact({ ...lease }),
    lastError: lastError === undefined ? undefined : compact({ ...lastError }),
  });
}

export function decodeTokenState(d: Doc, sealer: Sealer): TokenState {
  const state = { ...d } as unknown as TokenState;
  if (typeof d.token === 'string') state.token = sealer.open(d.token, tokenPath(state.realm, state.key));
  return state;
}

export function decodeTokenSummary(d: Doc): TokenSummary {
  const { token, ...rest } = d;
  return { ...(rest as unknown as Omit<TokenState, 'token'>), hasToken: typeof token === 'string' };
}

export function encodeClient(c: ClientRecord): Doc {
  return {
    id: c.id,
    name: c.name,
    scopes: c.scopes.map((s) => ({ ...s })),
    keyHash: c.keyHash,
    createdAt: c.createdAt,
  };
}

export function decodeClient(d: Doc): ClientRecord {
  return d as unknown as ClientRecord;
}
