/**
 * Human renderings of the server's objects that more than one command prints (a realm after
 * `realm create` and `realm get`, a secret after `secret add` and `secret get`, list footers).
 * Unknown fields are shown too, so that the CLI keeps up with the server without a release.
 */
import { formatTime, renderFields } from './output';
import { asText, field, isRecord, type JsonRecord } from './shapes';

type Fields = Array<[string, string | string[]]>;

const TIME_FIELD = /(_at|At)$/;

/**
 * Times as times, objects one `name: value` per line (error_hints), anything else as text. Names
 * that share one value are listed together, so that a hint given for five codes (the IP allow-list
 * one) is printed once: `40164, 89501, 89503: The provider refused ...`.
 */
function fieldValue(name: string, value: unknown, now: number): string | string[] {
  if (TIME_FIELD.test(name)) return formatTime(value, now);
  if (isRecord(value)) {
    const byText = new Map<string, string[]>();
    for (const [k, v] of Object.entries(value)) byText.set(asText(v), [...(byText.get(asText(v)) ?? []), k]);
    return [...byText].map(([text, names]) => `${names.join(', ')}: ${text}`);
  }
  return asText(value);
}

function otherFields(obj: JsonRecord, skip: ReadonlySet<string>, now: number): Fields {
  return Object.entries(obj)
    .filter(([name]) => !skip.has(name))
    .map(([name, value]) => [name, fieldValue(name, value, now)]);
}

/** `appid=url:$key_1`: the --arg syntax of `realm create`. */
function formatArgument(arg: unknown): string {
  if (!isRecord(arg)) return asText(arg);
  return `${asText(arg.name)}=${asText(arg.place)}:${asText(arg.value)}`;
}

function configFields(config: unknown, now: number): Fields {
  if (config === undefined) return [];
  if (!isRecord(config)) return [['config', asText(config)]];
  const fields: Fields = [];
  if (config.url !== undefined) fields.push(['url', asText(config.url)]);
  if (config.method !== undefined) fields.push(['method', asText(config.method)]);
  if (Array.isArray(config.arguments)) fields.push(['arguments', config.arguments.map(formatArgument)]);
  return fields.concat(otherFields(config, new Set(['url', 'method', 'arguments']), now));
}

export function renderRealm(realm: JsonRecord, now: number): string {
  return renderFields([
    ['id', asText(realm.id)],
    ['comment', asText(realm.comment)],
    ...configFields(realm.config, now),
    ...(realm.logic_code === undefined ? [] : [['logic_code', asText(realm.logic_code)] as [string, string]]),
    ...(realm.config === undefined && realm.logic_code === undefined
      ? [['kind', 'fixed-token (its secrets carry the token)'] as [string, string]]
      : []),
    ...otherFields(realm, new Set(['id', 'comment', 'config', 'logic_code', 'warnings']), now),
  ]);
}

const KEY_FIELD = /^key_[1-9]$/;

/** key_1=abcd****, key_2=... : the masked values the server answers. */
export function maskedValues(secret: JsonRecord): string {
  return Object.keys(secret)
    .filter((name) => KEY_FIELD.test(name))
    .sort()
    .map((name) => `${name}=${asText(secret[name])}`)
    .join(' ');
}

export function renderSecret(secret: JsonRecord, now: number): string {
  const keys = Object.keys(secret)
    .filter((name) => KEY_FIELD.test(name))
    .sort();
  return renderFields([
    ['realm', asText(secret.realm)],
    ['key', asText(secret.key)],
    ...keys.map((name): [string, string] => [name, asText(secret[name])]),
    ...otherFields(secret, new Set(['realm', 'key', 'warnings', ...keys]), now),
  ]);
}

/** `wxgzh/wxgzh_secret, feishu/*` */
export function formatScopes(scopes: unknown): string {
  if (!Array.isArray(scopes)) return asText(scopes);
  return scopes.map((s) => (isRecord(s) ? `${asText(s.realm)}/${asText(s.key)}` : asText(s))).join(', ');
}

/** Warnings the server attached to an answer (e.g. a realm refers to a key_N the secret lacks). */
export function warningsOf(body: unknown): string[] {
  const places = [body, isRecord(body) ? body.data : undefined];
  for (const place of places) {
    if (!isRecord(place)) continue;
    const warnings = field(place, 'warnings');
    if (Array.isArray(warnings)) {
      return warnings.map((w) => (isRecord(w) && typeof w.message === 'string' ? w.message : asText(w)));
    }
  }
  return [];
}

/**
 * After a list, when there is more than one page: "Showing 10 of 23 realms (page 1); see more with
 * --page 2." An empty page says so.
 */
export function pageFooter(
  shown: number,
  total: number | undefined,
  page: number,
  pageSize: number | undefined,
  noun: string,
): string {
  if (shown === 0) {
    return total !== undefined && total > 0
      ? `No ${noun} on page ${page} (${total} in all).\n`
      : `No ${noun}.\n`;
  }
  if (total === undefined || (page === 1 && total <= shown)) return '';
  const size = pageSize ?? (page === 1 ? shown : undefined);
  const more = size !== undefined && page * size < total;
  return `Showing ${shown} of ${total} ${noun} (page ${page})${more ? `; see more with --page ${page + 1}` : ''}.\n`;
}
