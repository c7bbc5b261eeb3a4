/**
 * The fields a stored document of a kind must carry, checked when it is read (store/codec.ts,
 * store/pushed.ts). These are our own documents, so the check is about shape only: a document written
 * by an older version, or by hand, that lacks a field fails loudly instead of travelling on as a
 * record with holes. Written without zod so that a tokenServerCache instance reads and serves its
 * first token without loading it (README "Cold start"); the rules are zod's for the same schema
 * (a number is finite, an integer a safe one, fields not named pass through).
 */

export type FieldRule =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  /** A plain object of any fields. */
  | 'record'
  | { array: FieldRule }
  | { object: Shape };

/** Field name → its rule; a `?` after the name makes it optional (absent or undefined). */
export type Shape = Readonly<Record<string, FieldRule>>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fits(rule: FieldRule, value: unknown, path: string): string | undefined {
  if (rule === 'string') return typeof value === 'string' ? undefined : path;
  if (rule === 'number') return typeof value === 'number' && Number.isFinite(value) ? undefined : path;
  if (rule === 'integer') return Number.isSafeInteger(value) ? undefined : path;
  if (rule === 'boolean') return typeof value === 'boolean' ? undefined : path;
  if (rule === 'record') return isPlainObject(value) ? undefined : path;
  if ('array' in rule) {
    if (!Array.isArray(value)) return path;
    for (let i = 0; i < value.length; i++) {
      const bad = fits(rule.array, value[i], `${path}.${i}`);
      if (bad !== undefined) return bad;
    }
    return undefined;
  }
  return isPlainObject(value) ? mismatch(rule.object, value, `${path}.`) : path;
}

/** The first field of `doc` that breaks `shape`, as a dotted path (`scopes.0.realm`), or undefined. */
export function mismatch(shape: Shape, doc: Record<string, unknown>, prefix = ''): string | undefined {
  for (const [spelled, rule] of Object.entries(shape)) {
    const optional = spelled.endsWith('?');
    const field = optional ? spelled.slice(0, -1) : spelled;
    const value = doc[field];
    if (value === undefined && optional) continue;
    const bad = fits(rule, value, `${prefix}${field}`);
    if (bad !== undefined) return bad;
  }
  return undefined;
}
