/**
 * A secret's `parent` ("REALM/KEY", README "JS-SDK"), as the admin side checks it: its syntax, the
 * chain it starts (no cycle, bounded depth, every parent present), the warnings said when a secret
 * is saved, and the 409 for deleting a parent still named. The engine walks the same chain before a
 * dependent secret's first fetch (engine/dependent.ts).
 */
import { AppError } from '../errors';
import type { RealmConfig } from '../providers/realm-config';
import { usesParent } from '../providers/realm-facts';
import { parentRef, type Store } from '../store/store';

/** The longest chain of parents (a ticket's parent is a token: 1; anything past a few is a mistake). */
export const MAX_PARENT_DEPTH = 4;

export const PARENT_PATTERN = /^([^/]+)\/([^/]+)$/;

export function parseParentRef(ref: string): { realm: string; key: string } {
  const m = PARENT_PATTERN.exec(ref);
  if (m === null)
    throw new AppError('INVALID_ARGUMENT', `parent "${ref}" is not REALM/KEY`, {
      details: { field: 'parent' },
    });
  return { realm: m[1] ?? '', key: m[2] ?? '' };
}

/**
 * Walks up from `parent` (bounded): a missing secret on the way is a 404, a chain that comes back to
 * realm/key (a cycle) or is longer than MAX_PARENT_DEPTH a 400, both naming the field `parent`.
 */
export async function checkParent(store: Store, realm: string, key: string, parent: string): Promise<void> {
  const self = parentRef(realm, key);
  const seen = [self];
  let next: string | undefined = parent;
  while (next !== undefined) {
    if (seen.includes(next)) {
      throw new AppError(
        'INVALID_ARGUMENT',
        `parent: ${self} cannot depend on ${parent}: the chain of parents comes back (${[...seen, next].join(' → ')})`,
        { details: { field: 'parent', parent, chain: [...seen, next] } },
      );
    }
    if (seen.length > MAX_PARENT_DEPTH) {
      throw new AppError(
        'INVALID_ARGUMENT',
        `parent: the chain of parents of ${self} is longer than ${MAX_PARENT_DEPTH}`,
        { details: { field: 'parent', parent, chain: seen } },
      );
    }
    const { realm: r, key: k } = parseParentRef(next);
    const found = await store.getSecret(r, k);
    if (found === null) {
      throw new AppError('NOT_FOUND', `parent: no secret ${next} (the parent of ${seen.at(-1) ?? self})`, {
        details: { field: 'parent', parent: next },
      });
    }
    seen.push(next);
    next = found.parent;
  }
}

/** Warnings for a secret being added: a $token realm without a parent, or a parent the realm ignores. */
export function parentWarnings(realmId: string, config: RealmConfig, parent: string | undefined): string[] {
  const uses = usesParent(config);
  if (uses && parent === undefined) {
    return [
      `Realm ${realmId} references $token or \${parent.…} (a parent's token or values), and this secret names no parent: token requests will fail until it does`,
    ];
  }
  if (!uses && parent !== undefined) {
    return [`Realm ${realmId} references neither $token nor \${parent.…}: the parent ${parent} is not used`];
  }
  return [];
}

/** The 409 for deleting a secret that children still name as their parent. */
export function parentInUse(realm: string, key: string, children: string[]): AppError {
  return new AppError(
    'CONFLICT',
    `Secret ${parentRef(realm, key)} is the parent of ${children.join(', ')}: delete or re-parent them first`,
    { details: { realm, key, children } },
  );
}
