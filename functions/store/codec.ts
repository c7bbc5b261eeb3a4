/**
 * Domain records ↔ stored documents, shared by both stores so they cannot drift apart. Credential
 * values and tokens are sealed here with the document's path as associated data.
 */
import { AppError } from '../errors';
import { dueAtOf, dueAtOfState } from '../token/due-time';
import { mismatch, type Shape } from './doc-shape';
import { SEALED_WITH } from './reseal-types';
import type { Sealer } from './seal';
import { packToken, unpackToken } from './rotating-codec';
import { COLLECTIONS, secretDocId, type DueEntry } from './store';
import type { ClientRecord, RealmRecord, SecretRecord, TokenState, TokenSummary } from './types';

export type Doc = Record<string, unknown>;

/**
 * What every stored document of a kind must carry, checked when it is read: a document written by
 * an older version, or by hand, that lacks them fails loudly (500, logged with the field) instead of
 * travelling on as a record with holes. Fields beyond these pass through as they are (optional ones
 * are typed by the domain types, and a newer version's extra fields survive a read-modify-write).
 */
const realmDoc: Shape = {
  id: 'string',
  comment: 'string',
  'config?': 'record',
  'logicCode?': 'string',
  createdAt: 'number',
  updatedAt: 'number',
};
const clientDoc: Shape = {
  id: 'string',
  name: 'string',
  scopes: { array: { object: { realm: 'string', key: 'string' } } },
  keyHash: 'string',
  createdAt: 'number',
};
const tokenDoc: Shape = {
  realm: 'string',
  key: 'string',
  secretRev: 'string',
  generation: 'integer',
  'token?': 'string',
  'expiresAt?': 'number',
  'refreshAt?': 'number',
};

/** A copy of `d` (callers may change it) once it fits `shape`; a 500 naming the first field that does not. */
function checked<T>(shape: Shape, d: Doc, what: string): T {
  const field = mismatch(shape, d);
  if (field === undefined) return { ...d } as T;
  throw new AppError('INTERNAL', `A stored ${what} document is not in this version's format (${field})`, {
    details: { field },
  });
}

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
  return checked<RealmRecord>(realmDoc, d, 'realm');
}

export function encodeSecret(s: SecretRecord, sealer: Sealer): Doc {
  return {
    realm: s.realm,
    key: s.key,
    // Which key_N exist is not secret (it shapes warnings and masks); their values are sealed together.
    names: Object.keys(s.values).sort(),
    values: sealer.seal(JSON.stringify(s.values), secretPath(s.realm, s.key)),
    // Which master key sealed them (store/reseal.ts: what GET /api/keys counts and reseal updates).
    [SEALED_WITH]: sealer.currentKeyId,
    // Not secret, and queried: deleting a parent looks for the secrets that name it.
    ...(s.parent === undefined ? {} : { parent: s.parent }),
    rev: s.rev,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    ...(s.revoked === undefined ? {} : { revoked: { at: s.revoked.at, reason: s.revoked.reason } }),
    ...(s.eventAt === undefined ? {} : { eventAt: s.eventAt }),
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
    ...(typeof d.parent === 'string' ? { parent: d.parent } : {}),
    rev: String(d.rev),
    createdAt: Number(d.createdAt),
    updatedAt: Number(d.updatedAt),
    ...revokedOf(d.revoked),
    ...(typeof d.eventAt === 'number' ? { eventAt: d.eventAt } : {}),
  };
}

function revokedOf(raw: unknown): Pick<SecretRecord, 'revoked'> {
  if (typeof raw !== 'object' || raw === null) return {};
  const { at, reason } = raw as { at?: unknown; reason?: unknown };
  return { revoked: { at: Number(at), reason: String(reason) } };
}

/**
 * The stored token document. `dueAt` (token/due-time.ts) is derived from the state and written with
 * every write, so that the scheduled refresh can query it; it is not part of the domain state.
 */
export function encodeTokenState(t: TokenState, sealer: Sealer): Doc {
  const { token: plainToken, rotating, lease, lastError, lastAttempt, ...rest } = t;
  // Rotating values are sealed with the token, in its field (store/rotating-codec.ts).
  const token = packToken(plainToken, rotating);
  const {
    dueAt: _stale,
    [SEALED_WITH]: _marker,
    ...fields
  } = rest as typeof rest & {
    dueAt?: unknown;
    [SEALED_WITH]?: unknown;
  };
  return compact({
    ...fields,
    token: token === undefined ? undefined : sealer.seal(token, tokenPath(t.realm, t.key)),
    // Which master key sealed the token; null without one (store/reseal.ts).
    [SEALED_WITH]: token === undefined ? null : sealer.currentKeyId,
    lease: lease === undefined ? undefined : compact({ ...lease }),
    lastError: lastError === undefined ? undefined : compact({ ...lastError }),
    lastAttempt: lastAttempt === undefined ? undefined : compact({ ...lastAttempt }),
    dueAt: dueAtOfState(t),
  });
}

export function decodeTokenState(d: Doc, sealer: Sealer): TokenState {
  const { dueAt: _derived, [SEALED_WITH]: _marker, ...rest } = d;
  const state = checked<TokenState>(tokenDoc, rest, 'token state');
  if (typeof d.token === 'string') {
    const { token, rotating } = unpackToken(sealer.open(d.token, tokenPath(state.realm, state.key)));
    if (token === undefined) delete state.token;
    else state.token = token;
    if (rotating !== undefined) state.rotating = rotating;
  }
  return state;
}

export function decodeTokenSummary(d: Doc): TokenSummary {
  const {
    token,
    dueAt: _derived,
    [SEALED_WITH]: _marker,
    ...rest
  } = checked<Doc>(tokenDoc, d, 'token state');
  return { ...(rest as Omit<TokenState, 'token'>), hasToken: typeof token === 'string' };
}

/** The fields of a token document the due scan reads (a projection: never the sealed token). */
export const DUE_ENTRY_FIELDS = ['realm', 'key', 'dueAt'] as const;

/** The due time a stored token document should carry (for documents written without one). */
export function dueAtOfDoc(d: Doc): number {
  return dueAtOf(decodeTokenSummary(d));
}

export function decodeDueEntry(d: Doc): DueEntry {
  return { realm: String(d.realm), key: String(d.key), dueAt: Number(d.dueAt) };
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
  const client = checked<ClientRecord>(clientDoc, d, 'client');
  return { ...client, scopes: client.scopes.map((s) => ({ ...s })) };
}
