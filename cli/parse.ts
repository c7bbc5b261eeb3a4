/**
 * Checks of command-line input, done before any request so that a mistake exits 2 with a message
 * and never reaches the server. Credential values are never part of a message.
 */
import { InvalidArgumentError } from 'commander';
import { ARGUMENT_PLACES, realmIdSchema, type ArgumentPlace } from '../functions/providers/realm-config';
import { KEY_NAMES, type KeyName } from '../functions/providers/template';
import { usageError } from './errors';

const ID_RULE = '1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit';

/** README "Realms": realm ids and secret keys, by the server's own schema. */
function isId(value: string): boolean {
  return realmIdSchema.safeParse(value).success;
}

export function checkId(value: string, what: string): string {
  if (!isId(value)) throw usageError(`${what} "${value}" is not valid: ${ID_RULE}.`);
  return value;
}

/** A commander option parser for ids. */
export function idOption(value: string): string {
  if (!isId(value)) throw new InvalidArgumentError(`Expected ${ID_RULE}.`);
  return value;
}

/** `--parent REALM/KEY`: a secret of another realm or key, each part an id. */
export function parentOption(value: string): string {
  const [realm, key, ...rest] = value.split('/');
  if (realm === undefined || key === undefined || rest.length > 0 || !isId(realm) || !isId(key)) {
    throw new InvalidArgumentError(`Expected REALM/KEY, each ${ID_RULE}.`);
  }
  return value;
}

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('Expected a whole number of at least 1.');
  }
  return Number(value);
}

/** For repeatable options: `(value, previous) => [...previous, parse(value)]`. */
export function repeatable<T>(
  parse: (value: string) => T,
): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

export interface RealmArgument {
  name: string;
  place: ArgumentPlace;
  value: string;
}

/**
 * `--arg NAME=PLACE:VALUE`, e.g. `appid=url:$key_1` or `Authorization=header:Bearer ${key_1}`. The
 * name ends at the first `=`, the place at the next `:`; the value is the rest, as it is. A bad spec
 * is a usage error that never repeats what was given (a value may be a literal credential; so may
 * the text where a place was expected), and is not commander's "argument '...' is invalid", which
 * would quote the whole spec.
 */
export function parseArgSpec(spec: string): RealmArgument {
  const eq = spec.indexOf('=');
  const colon = eq < 0 ? -1 : spec.indexOf(':', eq + 1);
  if (eq <= 0 || colon < 0) {
    throw usageError(
      'Invalid --arg: expected NAME=PLACE:VALUE, e.g. appid=url:$key_1 (PLACE: url, body or header).',
    );
  }
  const name = spec.slice(0, eq);
  const place = spec.slice(eq + 1, colon);
  const value = spec.slice(colon + 1);
  if (!(ARGUMENT_PLACES as readonly string[]).includes(place)) {
    throw usageError(
      'Invalid --arg: PLACE must be url, body or header (it is what comes between "=" and the next ":").',
    );
  }
  if (value === '') {
    throw usageError(
      `Invalid --arg: the value of "${safeName(name)}" is empty. If you wrote $key_N, single-quote the whole --arg so that the shell does not expand it.`,
    );
  }
  return { name, place: place as ArgumentPlace, value };
}

/** An argument name as a message may show it: a plausible name, or nothing of what was given. */
function safeName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : '(the argument)';
}

/** `--success-value 0` → 0; `'"0"'` → "0"; `ok` → "ok": JSON scalars as such, anything else as text. */
export function parseScalar(value: string): string | number | boolean | null {
  try {
    const parsed = JSON.parse(value) as unknown;
    if (parsed === null || ['string', 'number', 'boolean'].includes(typeof parsed)) {
      return parsed as string | number | boolean | null;
    }
  } catch {
    // not JSON: plain text
  }
  return value;
}

export interface Scope {
  realm: string;
  key: string;
}

/** `--scope REALM/KEY`; KEY may be `*` (every key of the realm). */
export function parseScope(spec: string): Scope {
  const parts = spec.split('/');
  const [realm, key] = parts;
  if (parts.length !== 2 || realm === undefined || key === undefined) {
    throw new InvalidArgumentError('Expected REALM/KEY, e.g. wxgzh/wxgzh_secret or wxgzh/* (quote the *).');
  }
  if (!isId(realm)) throw new InvalidArgumentError(`The realm "${realm}" is not valid: ${ID_RULE}.`);
  if (key !== '*' && !isId(key)) {
    throw new InvalidArgumentError(`The key "${key}" is not valid: ${ID_RULE}, or *.`);
  }
  return { realm, key };
}

export type Credentials = Partial<Record<KeyName, string>>;

/**
 * What `secret add --stdin` may read: credentials, and (the original design's secret JSON as it is)
 * the realm and key it is for; for a fixed-token realm the token and its lifetime in seconds.
 */
export interface SecretInput {
  realm?: string;
  key?: string;
  token?: string;
  expires_in?: number;
  credentials: Credentials;
}

function keyName(n: string): KeyName {
  const name = KEY_NAMES[Number(n) - 1];
  if (name === undefined) throw usageError(`There is no key_${n}: credentials are key_1 .. key_9.`);
  return name;
}

/**
 * Credentials from standard input: a JSON object `{"key_1": "...", ...}`, or lines `key_N=value`
 * (also `KEY_N=` and `TOKENCTL_KEY_N=`; blank lines and `#` comments are skipped). Values are taken
 * as they are, up to the end of the line. Errors name the line or field, never a value.
 */
export function parseCredentialsText(text: string): Credentials {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return checkCredentials(parseSecretJson(trimmed).credentials, 'stdin');
  const out: Credentials = {};
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const match = /^\s*(?:TOKENCTL_)?key_(\d+)=/i.exec(line);
    if (match === null) {
      throw usageError(`stdin line ${i + 1}: expected key_N=value (N = 1..9) or a JSON object.`);
    }
    const name = keyName(match[1] ?? '');
    if (out[name] !== undefined) throw usageError(`stdin line ${i + 1}: ${name} is given twice.`);
    out[name] = line.slice(match[0].length);
  });
  return checkCredentials(out, 'stdin');
}

/**
 * A secret as JSON on stdin: `{"key_1": "...", ...}`, or the original design's secret as it is,
 * `{"realm", "key", "key_1", ...}` (a fixed-token realm's: `{"realm", "key", "token", "expires_in"}`).
 * Errors name the field, never a value.
 */
export function parseSecretJson(text: string): SecretInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message would quote the input: it may hold credentials.
    throw usageError('stdin starts with "{" but is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw usageError('stdin: expected a JSON object {"realm", "key", "key_1": "...", ...}.');
  }
  const out: SecretInput = { credentials: {} };
  for (const [field, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (field === 'realm' || field === 'key') {
      if (typeof value !== 'string' || !isId(value)) {
        throw usageError(`stdin: ${field} must be ${ID_RULE}.`);
      }
      out[field] = value;
      continue;
    }
    if (field === 'token') {
      if (typeof value !== 'string' || value === '')
        throw usageError('stdin: token must be a non-empty string.');
      out.token = value;
      continue;
    }
    if (field === 'expires_in') {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
        throw usageError('stdin: expires_in must be a whole number of seconds, at least 1.');
      }
      out.expires_in = value;
      continue;
    }
    const match = /^key_(\d+)$/.exec(field);
    if (match === null) {
      throw usageError(
        `stdin: unexpected field "${field}" (expected realm, key, key_1 .. key_9, or token and expires_in).`,
      );
    }
    if (typeof value !== 'string') throw usageError(`stdin: ${field} must be a string.`);
    out.credentials[keyName(match[1] ?? '')] = value;
  }
  return out;
}

/** TOKENCTL_KEY_1 .. TOKENCTL_KEY_9. */
export function credentialsFromEnv(env: Readonly<Record<string, string | undefined>>): Credentials {
  const out: Credentials = {};
  KEY_NAMES.forEach((name, i) => {
    const value = env[`TOKENCTL_KEY_${i + 1}`];
    if (value !== undefined) out[name] = value;
  });
  if (Object.keys(out).length === 0) {
    throw usageError('--from-env: none of TOKENCTL_KEY_1 .. TOKENCTL_KEY_9 is set.');
  }
  return checkCredentials(out, 'environment');
}

/** At least one value, none empty (an empty value is usually an unset shell variable). */
export function checkCredentials(creds: Credentials, source: string): Credentials {
  const names = Object.keys(creds) as Array<keyof Credentials>;
  if (names.length === 0) throw usageError(`No credentials found (${source}): give at least key_1.`);
  for (const name of names) {
    if (creds[name] === '') throw usageError(`${name} is empty (${source}).`);
  }
  return creds;
}
