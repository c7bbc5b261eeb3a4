/**
 * Credential references inside a realm argument's literal value. A secret's values (key_1 .. key_9)
 * are substituted only here, at request time, so they travel no further than the request we build.
 *
 * Grammar (anything else is literal text):
 *   $key_N                     N = 1..9; "$key_10" or "$key_x" is an error, not "$key_1" + "0"
 *   ${key_N}                   the same, for use next to letters or digits: "Bearer ${key_1}"
 *   $token / ${token}          the current token of the secret's parent (README "JS-SDK"),
 *                              or in a realm's probe the token probed: given to the renderer as the
 *                              value named PARENT_TOKEN; "$token" followed
 *                              by a letter, digit or "_" is an error (write "${token}" there)
 *   ${ticket}                  the secret's newest pushed ticket (the event route stores it; the
 *                              engine passes it to the renderer as the value named PUSHED_TICKET)
 *   ${parent.key_N}            the parent secret's value key_N, and ${parent.ticket} its pushed
 *                              ticket (README's platform sections: a tenant's call that names its suite's id,
 *                              secret or ticket); the engine passes them as "parent.key_N" and
 *                              "parent.ticket" (engine/dependent.ts), never anywhere else
 *   ${refresh_token}           the secret's rotating value (README "Rotating values (refresh tokens)"):
 *                              the newest one the provider handed out (token/rotation.ts), or the
 *                              one the secret was created with; a credential like key_N
 *   ${basic:key_A:key_B}       base64 of "valueA:valueB" (UTF-8), for HTTP Basic client authentication
 *                              (`Authorization: Basic ${basic:key_1:key_2}`). The two values are used
 *                              as they are, like most clients do; a server that insists on the strict
 *                              RFC 6749 §2.3.1 form-encoding of both values first will reject values
 *                              that contain characters other than A-Z a-z 0-9 - . _ ~
 *   any other "${...}"         an error (so that a typo never goes to a provider as literal text)
 *
 * A "$" that starts none of these is literal. Values that are missing or empty count as missing.
 */
import { AppError } from '../errors';

export const KEY_NAMES = [
  'key_1',
  'key_2',
  'key_3',
  'key_4',
  'key_5',
  'key_6',
  'key_7',
  'key_8',
  'key_9',
] as const;
export type KeyName = (typeof KEY_NAMES)[number];

/** The name under which the parent's current token is passed to the renderer beside key_1 .. key_9. */
export const PARENT_TOKEN = 'token';

/** The name under which the secret's pushed ticket is passed to the renderer (store/pushed.ts). */
export const PUSHED_TICKET = 'ticket';

/** The renderer's name for the parent's value `name` (key_N or ticket): "parent.key_1". */
export function parentValueName(name: KeyName | typeof PUSHED_TICKET): string {
  return `parent.${name}`;
}

/**
 * Names of rotating values (a realm's `rotates` maps a response path to one of them): kept as a
 * secret value (sealed, masked), referenced as ${name}, replaced by the provider's answers.
 */
export const ROTATING_NAMES = ['refresh_token'] as const;
export type RotatingName = (typeof ROTATING_NAMES)[number];

function asRotatingName(inner: string): RotatingName | undefined {
  return (ROTATING_NAMES as readonly string[]).includes(inner) ? (inner as RotatingName) : undefined;
}

/** A secret's credential values by key name (key_1 .. key_9); absent keys may be missing or undefined. */
export type SecretValues = Readonly<Record<string, string | undefined>>;

export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'key'; key: KeyName }
  | { kind: 'token' }
  | { kind: 'ticket' }
  | { kind: 'parent'; name: KeyName | typeof PUSHED_TICKET }
  | { kind: 'rotating'; name: RotatingName }
  | { kind: 'basic'; user: KeyName; password: KeyName };

export class TemplateSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateSyntaxError';
  }
}

function asKeyName(digits: string): KeyName {
  if (!/^[1-9]$/.test(digits)) {
    throw new TemplateSyntaxError(`key_${digits} is not a credential key (use key_1 .. key_9)`);
  }
  return `key_${digits}` as KeyName;
}

/** Splits a literal into text and references; throws TemplateSyntaxError on a malformed reference. */
export function parseTemplate(value: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < value.length) {
    const ch = value[i];
    if (ch !== '$') {
      text += ch;
      i += 1;
      continue;
    }
    const rest = value.slice(i);
    if (rest.startsWith('${')) {
      const close = rest.indexOf('}');
      if (close < 0) throw new TemplateSyntaxError('"${" without a closing "}"');
      const inner = rest.slice(2, close);
      const plain = /^key_([0-9]+)$/.exec(inner);
      const basic = /^basic:key_([0-9]+):key_([0-9]+)$/.exec(inner);
      const ofParent = /^parent\.(?:key_([0-9]+)|(ticket))$/.exec(inner);
      if (text !== '') parts.push({ kind: 'text', text });
      text = '';
      if (plain) parts.push({ kind: 'key', key: asKeyName(plain[1] ?? '') });
      else if (inner === PARENT_TOKEN) parts.push({ kind: 'token' });
      else if (inner === PUSHED_TICKET) parts.push({ kind: 'ticket' });
      else if (ofParent) {
        const name = ofParent[2] === undefined ? asKeyName(ofParent[1] ?? '') : PUSHED_TICKET;
        parts.push({ kind: 'parent', name });
      } else if (asRotatingName(inner) !== undefined) {
        parts.push({ kind: 'rotating', name: asRotatingName(inner) ?? 'refresh_token' });
      } else if (basic) {
        parts.push({ kind: 'basic', user: asKeyName(basic[1] ?? ''), password: asKeyName(basic[2] ?? '') });
      } else {
        throw new TemplateSyntaxError(
          'unknown reference "${...}" (use ${key_N}, ${token}, ${ticket}, ${parent.key_N}, ${parent.ticket}, ${refresh_token} or ${basic:key_N:key_M})',
        );
      }
      i += close + 1;
      continue;
    }
    if (rest.startsWith('$key_')) {
      const digits = /^\$key_([0-9]+)/.exec(rest);
      if (!digits) throw new TemplateSyntaxError('"$key_" must be followed by a number 1..9');
      if (text !== '') parts.push({ kind: 'text', text });
      text = '';
      parts.push({ kind: 'key', key: asKeyName(digits[1] ?? '') });
      i += digits[0].length;
      continue;
    }
    if (rest.startsWith('$token')) {
      if (/^\$token[A-Za-z0-9_]/.test(rest)) {
        throw new TemplateSyntaxError('"$token" followed by a letter or digit (write "${token}" there)');
      }
      if (text !== '') parts.push({ kind: 'text', text });
      text = '';
      parts.push({ kind: 'token' });
      i += '$token'.length;
      continue;
    }
    text += ch;
    i += 1;
  }
  if (text !== '') parts.push({ kind: 'text', text });
  return parts;
}

/** Why a literal's references are malformed, or undefined when they are fine (for the schema). */
export function templateProblem(value: string): string | undefined {
  try {
    parseTemplate(value);
    return undefined;
  } catch (err) {
    if (err instanceof TemplateSyntaxError) return err.message;
    throw err;
  }
}

/** The keys a literal references, in order of first appearance, without repeats. */
export function templateKeys(value: string): KeyName[] {
  const keys: KeyName[] = [];
  for (const part of parseTemplate(value)) {
    const names = part.kind === 'key' ? [part.key] : part.kind === 'basic' ? [part.user, part.password] : [];
    for (const name of names) if (!keys.includes(name)) keys.push(name);
  }
  return keys;
}

/** Whether a literal references the parent's token ($token / ${token}). */
export function templateUsesToken(value: string): boolean {
  return parseTemplate(value).some((part) => part.kind === 'token');
}

/** Whether a literal references a value of the parent secret (${parent.key_N} / ${parent.ticket}). */
export function templateUsesParentValues(value: string): boolean {
  return parseTemplate(value).some((part) => part.kind === 'parent');
}

/** The rotating values a literal references (${refresh_token}). */
export function templateRotating(value: string): RotatingName[] {
  const names: RotatingName[] = [];
  for (const part of parseTemplate(value)) {
    if (part.kind === 'rotating' && !names.includes(part.name)) names.push(part.name);
  }
  return names;
}

/** Whether a literal references the secret's pushed ticket (${ticket}). */
export function templateUsesTicket(value: string): boolean {
  return parseTemplate(value).some((part) => part.kind === 'ticket');
}

function present(values: SecretValues, key: string): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(values, key)) return undefined;
  const value = values[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The keys a literal references that `values` lacks (missing or empty). */
export function missingKeys(value: string, values: SecretValues): KeyName[] {
  return templateKeys(value).filter((key) => present(values, key) === undefined);
}

/**
 * The credential material a literal puts on the wire: each referenced value as it is, and each HTTP
 * Basic blob (base64 of "user:password"), which is as secret as the values it is made of. Missing
 * values are left out. For redacting what a provider echoes back.
 */
export function secretParts(value: string, values: SecretValues): string[] {
  let parts: TemplatePart[];
  try {
    parts = parseTemplate(value);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const part of parts) {
    if (part.kind === 'key') {
      const found = present(values, part.key);
      if (found !== undefined) out.push(found);
    } else if (part.kind === 'ticket' || part.kind === 'rotating') {
      const found = present(values, part.kind === 'ticket' ? PUSHED_TICKET : part.name);
      if (found !== undefined) out.push(found);
    } else if (part.kind === 'parent') {
      const found = present(values, parentValueName(part.name));
      if (found !== undefined) out.push(found);
    } else if (part.kind === 'basic') {
      const user = present(values, part.user);
      const password = present(values, part.password);
      if (user !== undefined && password !== undefined) {
        out.push(Buffer.from(`${user}:${password}`, 'utf8').toString('base64'));
      }
    }
  }
  return out;
}

/**
 * The literal with every reference replaced. A missing value is an INVALID_ARGUMENT naming the
 * argument and the key (never any value).
 */
export function renderTemplate(value: string, values: SecretValues, argument: string): string {
  let parts: TemplatePart[];
  try {
    parts = parseTemplate(value);
  } catch (err) {
    if (!(err instanceof TemplateSyntaxError)) throw err;
    throw new AppError('INVALID_ARGUMENT', `Argument "${argument}" of the realm: ${err.message}`, {
      details: { argument },
    });
  }
  const need = (key: KeyName): string => {
    const found = present(values, key);
    if (found !== undefined) return found;
    throw new AppError(
      'INVALID_ARGUMENT',
      `Argument "${argument}" of the realm needs ${key}, which this secret does not have`,
      { details: { field: key, argument, key } },
    );
  };
  let out = '';
  for (const part of parts) {
    if (part.kind === 'text') out += part.text;
    else if (part.kind === 'key') out += need(part.key);
    else if (part.kind === 'token') {
      const token = present(values, PARENT_TOKEN);
      if (token === undefined) {
        throw new AppError(
          'INVALID_ARGUMENT',
          `Argument "${argument}" of the realm needs the parent's token ($token), and this secret names no parent`,
          { details: { field: 'parent', argument } },
        );
      }
      out += token;
    } else if (part.kind === 'ticket') {
      const ticket = present(values, PUSHED_TICKET);
      if (ticket === undefined) {
        throw new AppError(
          'TICKET_MISSING',
          `Argument "${argument}" of the realm needs a pushed ticket, and none has arrived yet`,
          {
            details: { field: PUSHED_TICKET, argument },
            retryAfter: 60,
          },
        );
      }
      out += ticket;
    } else if (part.kind === 'parent') {
      out += parentValue(values, part.name, argument);
    } else if (part.kind === 'rotating') {
      const rotating = present(values, part.name);
      if (rotating === undefined) {
        throw new AppError(
          'INVALID_ARGUMENT',
          `Argument "${argument}" of the realm needs ${part.name}, which this secret does not have`,
          { details: { field: part.name, argument } },
        );
      }
      out += rotating;
    } else {
      const user = need(part.user);
      const password = need(part.password);
      if (user.includes(':')) {
        throw new AppError(
          'INVALID_ARGUMENT',
          `Argument "${argument}" of the realm: ${part.user} contains ":", which HTTP Basic cannot carry in a user name`,
          { details: { field: part.user, argument, key: part.user } },
        );
      }
      out += Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
    }
  }
  return out;
}

/** ${parent.key_N} / ${parent.ticket} rendered, or the error that says what is missing. */
function parentValue(values: SecretValues, name: KeyName | typeof PUSHED_TICKET, argument: string): string {
  const found = present(values, parentValueName(name));
  if (found !== undefined) return found;
  if (name === PUSHED_TICKET) {
    throw new AppError(
      'TICKET_MISSING',
      `Argument "${argument}" of the realm needs the parent's pushed ticket, and none has arrived yet`,
      { details: { field: 'parent.ticket', argument }, retryAfter: 60 },
    );
  }
  throw new AppError(
    'INVALID_ARGUMENT',
    `Argument "${argument}" of the realm needs the parent's ${name}, and this secret's parent has none (or it names no parent)`,
    { details: { field: 'parent', argument, key: name } },
  );
}
