/**
 * What the rest of the code asks of a realm, without zod: the id rule, the longest lifetime believed,
 * which kind a realm is, and what a parsed config refers to (credential keys, a parent's token or
 * values). providers/realm-config.ts builds its schemas on these; the token-serving path imports them
 * from here, so that a tokenServerCache instance serves its first token without loading zod (README
 * "Cold start").
 */
import type { RealmConfig } from './realm-config';
import { KEY_NAMES, type KeyName, parseTemplate, templateKeys, templateUsesToken } from './template';

export const DAY_MS = 86_400_000;
/** The longest lifetime (and default_expires_in) we believe: anything longer is a broken response. */
export const MAX_LIFETIME_MS = 366 * DAY_MS;

/** Realm ids and secret keys: 1–64 of A-Z a-z 0-9 _ . -, starting with a letter or digit. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export type RealmKind = 'config' | 'logic_code' | 'fixed_token';

/** Which of the three kinds a realm (parsed, or as stored) is. */
export function realmKind(realm: { config?: unknown; logic_code?: unknown; logicCode?: unknown }): RealmKind {
  if (realm.config !== undefined) return 'config';
  if (realm.logic_code !== undefined || realm.logicCode !== undefined) return 'logic_code';
  return 'fixed_token';
}

function keysOf(config: RealmConfig, includeOptional: boolean): KeyName[] {
  const found = new Set<KeyName>();
  for (const arg of config.arguments) {
    if (typeof arg.value !== 'string' || (arg.optional === true && !includeOptional)) continue;
    for (const key of templateKeys(arg.value)) found.add(key);
  }
  return KEY_NAMES.filter((key) => found.has(key));
}

/** Every credential key the realm's arguments reference, in key order: ['key_1', 'key_2']. */
export function referencedKeys(config: RealmConfig): KeyName[] {
  return keysOf(config, true);
}

/** The keys a secret must have (references from non-optional arguments): warn when a secret lacks one. */
export function requiredKeys(config: RealmConfig): KeyName[] {
  return keysOf(config, false);
}

/** Whether the realm's arguments reference a parent's token ($token): its secrets need a parent. */
export function usesParentToken(config: RealmConfig): boolean {
  return config.arguments.some((arg) => typeof arg.value === 'string' && templateUsesToken(arg.value));
}

/** The parent's values the realm's arguments reference (${parent.key_N}, ${parent.ticket}): key_N or ticket. */
export function parentValuesUsed(config: RealmConfig): string[] {
  const names = new Set<string>();
  for (const arg of config.arguments) {
    if (typeof arg.value !== 'string') continue;
    for (const part of parseTemplate(arg.value)) if (part.kind === 'parent') names.add(part.name);
  }
  return [...names];
}

/** Whether the realm's secrets need a parent: its token ($token) or its values (${parent.key_N}). */
export function usesParent(config: RealmConfig): boolean {
  return usesParentToken(config) || parentValuesUsed(config).length > 0;
}
