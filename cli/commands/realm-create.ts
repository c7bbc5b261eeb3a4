/**
 * `tokenctl realm create <id>`: defines (or replaces) how to fetch a token from a provider, from a
 * built-in preset, from a JSON file, or from options (POST /api/realm).
 */
import { Option, type Command } from 'commander';
import { apiPath, type ApiClient } from '../api';
import { addConnectionOptions, connect, emitResource, examples } from '../common';
import { AppError } from '../../functions/errors';
import { parseRealm } from '../../functions/providers/realm-config';
import { referencedKeys, usesParentToken } from '../../functions/providers/realm-facts';
import { fromAppError, usageError } from '../errors';
import type { CliIo } from '../io';
import { warn } from '../output';
import { checkId, parseArgSpec, parseScalar, positiveInt, repeatable, type RealmArgument } from '../parse';
import { fetchPresets, formatPresetKeys, type Preset } from '../presets';
import { renderRealm, warningsOf } from '../render';
import { asText, isRecord, unwrapData, type JsonRecord } from '../shapes';

interface Options {
  preset?: string;
  file?: string;
  logicCode?: string;
  fixedToken?: boolean;
  url?: string;
  method?: string;
  arg?: RealmArgument[];
  tokenPath?: string;
  expiresInPath?: string;
  expiresInUnit?: 's' | 'ms';
  errorPath?: string;
  successValue?: Array<string | number | boolean | null>;
  errorMessagePath?: string;
  contentType?: 'json' | 'form';
  timeoutMs?: number;
  defaultExpiresIn?: number;
  comment?: string;
}

/** The options that describe a config by hand; none of them goes with --preset or --file. */
const MANUAL: Array<[keyof Options, string]> = [
  ['url', '--url'],
  ['method', '--method'],
  ['arg', '--arg'],
  ['tokenPath', '--token-path'],
  ['expiresInPath', '--expires-in-path'],
  ['expiresInUnit', '--expires-in-unit'],
  ['errorPath', '--error-path'],
  ['successValue', '--success-value'],
  ['errorMessagePath', '--error-message-path'],
  ['contentType', '--content-type'],
  ['timeoutMs', '--timeout-ms'],
  ['defaultExpiresIn', '--default-expires-in'],
];

function upperMethod(value: string): string {
  const method = value.toUpperCase();
  if (method !== 'GET' && method !== 'POST')
    throw usageError(`--method must be GET or POST (got "${value}").`);
  return method;
}

function checkUpstreamUrl(raw: string, flag = '--url'): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`${flag} is not a valid URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw usageError(`${flag} must be an https:// (or, for local tests, http://) URL.`);
  }
  return raw;
}

/** The config described by the manual options, in the field order of README "Realms". */
function configFromOptions(opts: Options): JsonRecord {
  const missing = [
    opts.url === undefined ? '--url' : undefined,
    opts.tokenPath === undefined ? '--token-path' : undefined,
    opts.expiresInPath === undefined && opts.defaultExpiresIn === undefined
      ? '--expires-in-path (or --default-expires-in)'
      : undefined,
  ].filter((m) => m !== undefined);
  if (missing.length > 0) {
    throw usageError(`A realm described by options needs ${missing.join(', ')}.`);
  }
  if (opts.successValue !== undefined && opts.errorPath === undefined) {
    throw usageError('--success-value needs --error-path (where the provider puts its error code).');
  }
  const config: JsonRecord = {
    url: checkUpstreamUrl(opts.url ?? ''),
    method: upperMethod(opts.method ?? 'GET'),
    arguments: opts.arg ?? [],
    token_path: opts.tokenPath,
  };
  if (opts.contentType !== undefined) config.content_type = opts.contentType;
  if (opts.expiresInPath !== undefined) config.expires_in_path = opts.expiresInPath;
  if (opts.expiresInUnit !== undefined) config.expires_in_unit = opts.expiresInUnit;
  if (opts.errorPath !== undefined) config.error_path = opts.errorPath;
  if (opts.successValue !== undefined) config.success_values = opts.successValue;
  if (opts.errorMessagePath !== undefined) config.error_message_path = opts.errorMessagePath;
  if (opts.timeoutMs !== undefined) config.timeout_ms = opts.timeoutMs;
  if (opts.defaultExpiresIn !== undefined) config.default_expires_in = opts.defaultExpiresIn;
  return config;
}

/** What the command posts besides the id: a config, a logic_code URL, or neither (fixed-token). */
interface RealmBody {
  comment: string | undefined;
  config?: JsonRecord;
  logic_code?: string;
}

/**
 * A file holding a Realm of any kind ({id?, comment?, config | logic_code | neither}, as `realm get
 * --json` writes it) or only a config ({url, ...}). Read-only fields (created_at, updated_at) and
 * the answer's warnings are left behind.
 */
async function realmFromFile(io: CliIo, path: string, id: string): Promise<RealmBody> {
  let text: string;
  try {
    text = path === '-' ? await io.readStdin() : await io.readFile(path);
  } catch (err) {
    const reason = err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err);
    throw usageError(`Cannot read ${path}: ${reason}.`);
  }
  let parsed: unknown;
  try {
    // `tokenctl realm get ID --json > realm.json` writes the wrapped answer: accept it as well.
    parsed = unwrapData(JSON.parse(text));
  } catch {
    throw usageError(`${path} is not valid JSON.`);
  }
  if (!isRecord(parsed)) throw usageError(`${path}: expected a JSON object (a realm, or a realm's config).`);
  if (parsed.url !== undefined) return { comment: undefined, config: parsed };
  if (parsed.id !== undefined && parsed.id !== id) {
    throw usageError(`${path} is for realm "${asText(parsed.id)}", not "${id}".`);
  }
  const comment = typeof parsed.comment === 'string' ? parsed.comment : undefined;
  if (isRecord(parsed.config)) return { comment, config: parsed.config };
  if (typeof parsed.logic_code === 'string') return { comment, logic_code: parsed.logic_code };
  if (parsed.config === undefined && parsed.logic_code === undefined && parsed.id !== undefined) {
    return { comment }; // a fixed-token realm: {"id", "comment"}
  }
  throw usageError(
    `${path}: expected a realm {"id", "comment", "config" | "logic_code"} (or {"id", "comment"} for a fixed-token realm), or a config {"url", ...}.`,
  );
}

/** Levenshtein distance, for "did you mean" on preset names. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next[j] = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + cost);
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

/** The preset name nearest to a mistyped one, when it is near enough to be a typo. */
export function nearestName(name: string, names: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const candidate of names) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (best === undefined || d < best.d) best = { name: candidate, d };
  }
  return best !== undefined && best.d <= Math.max(2, Math.floor(best.name.length / 3))
    ? best.name
    : undefined;
}

/** A preset whose URL is a placeholder (OAuth2: every server has its own token endpoint). */
function hasPlaceholderUrl(preset: Preset): boolean {
  try {
    const host = new URL(asText(preset.config.url)).hostname;
    return host === 'example.com' || host.endsWith('.example.com');
  } catch {
    return false;
  }
}

async function presetConfig(api: ApiClient, name: string): Promise<Preset> {
  const presets = await fetchPresets(api);
  const preset = presets.find((p) => p.name === name);
  if (preset === undefined) {
    const all = presets.map((p) => p.name);
    const near = nearestName(name, all);
    const names = all.join(', ');
    throw usageError(
      `There is no preset "${name}".${near === undefined ? '' : ` Did you mean ${near}?`} Presets: ${names === '' ? '(none)' : names}.`,
    );
  }
  return preset;
}

/**
 * The server's own realm schema, applied before the request: a config the server would refuse is a
 * usage error (exit 2) naming each field, and no request is made.
 */
function checkRealm(io: CliIo, realm: RealmBody & { id: string; comment: string }): void {
  let parsed: ReturnType<typeof parseRealm>;
  try {
    parsed = parseRealm(realm);
  } catch (err) {
    if (err instanceof AppError) throw fromAppError(err, 'realm');
    throw err;
  }
  if (
    parsed.config !== undefined &&
    referencedKeys(parsed.config).length === 0 &&
    !usesParentToken(parsed.config)
  ) {
    warn(io, 'no argument refers to $key_1..$key_9: the secrets of this realm will not be used.');
  }
}

export function registerRealmCreate(realm: Command, io: CliIo): void {
  const cmd = realm
    .command('create')
    .description('create or replace a realm: how to fetch a token from one provider')
    .argument('<id>', 'realm id (1-64 of A-Z a-z 0-9 _ . -)')
    .option('--preset <name>', 'use a built-in preset (see `tokenctl realm presets`)')
    .option('--file <path>', 'read the realm (or its config) from a JSON file; - for stdin')
    .option(
      '--logic-code <url>',
      'a logic_code realm: the URL of a custom token function (POSTed the secret, answers {token, expires_in})',
    )
    .option('--fixed-token', 'a fixed-token realm: its secrets carry the token (tokenctl secret add --token)')
    .option('--url <url>', "the provider's token URL (the server URL then comes from TOKENCTL_URL)")
    .option('--method <method>', 'HTTP method of the token request', 'GET')
    .option(
      '--arg <NAME=PLACE:VALUE>',
      "a request argument, repeatable; PLACE is url, body or header; VALUE may hold $key_1..$key_9: single-quote it ('appid=url:$key_1')",
      repeatable(parseArgSpec),
    )
    .option('--token-path <path>', 'dot path of the token in the JSON answer, e.g. access_token')
    .option('--expires-in-path <path>', 'dot path of the lifetime in the JSON answer, e.g. expires_in')
    .addOption(new Option('--expires-in-unit <unit>', 'unit of the lifetime').choices(['s', 'ms']))
    .option('--error-path <path>', 'dot path of the provider error code, e.g. errcode')
    .option(
      '--success-value <value>',
      'a value at --error-path that means success, repeatable',
      repeatable(parseScalar),
    )
    .option('--error-message-path <path>', 'dot path of the provider error message, e.g. errmsg')
    .addOption(new Option('--content-type <type>', 'encoding of body arguments').choices(['json', 'form']))
    .option('--timeout-ms <ms>', 'upstream timeout in milliseconds', positiveInt)
    .option(
      '--default-expires-in <seconds>',
      'lifetime when the answer has none (OAuth2 without expires_in)',
      positiveInt,
    )
    .option('--comment <text>', 'a note for people');
  addConnectionOptions(cmd, { serverUrl: false });
  cmd.addHelpText(
    'after',
    `
Give exactly one of --preset, --file, --logic-code, --fixed-token, or --url with --token-path and
--expires-in-path.
With --preset, --url replaces the preset's provider URL (another host, a proxy, a local fake).
Here --url is the provider's URL; give the token-server URL with TOKENCTL_URL, or before the
subcommand: tokenctl --url http://127.0.0.1:8080 realm create ...
${examples(
  'tokenctl realm create wecom_main --preset wecom --comment "WeCom, main corp"',
  'tokenctl realm create wxgzh --file realm.json',
  'tokenctl realm create wxgzh --url https://api.weixin.qq.com/cgi-bin/token \\\n' +
    "      --arg 'appid=url:$key_1' --arg 'secret=url:$key_2' --arg 'grant_type=url:client_credential' \\\n" +
    '      --token-path access_token --expires-in-path expires_in \\\n' +
    '      --error-path errcode --success-value 0 --error-message-path errmsg',
)}`,
  );
  cmd.action(async (idArg: string, _opts: unknown, command: Command) => {
    const opts = command.opts<Options>();
    const id = checkId(idArg, 'Realm id');
    // --method has a default: it counts as given only when typed.
    // With --preset, --url alone replaces the preset's URL (Lark vs Feishu hosts, a proxy, a local fake).
    const manual = MANUAL.filter(
      ([name]) =>
        opts[name] !== undefined &&
        (name !== 'method' || command.getOptionValueSource('method') === 'cli') &&
        !(name === 'url' && opts.preset !== undefined),
    );
    const kinds = [
      opts.preset !== undefined ? '--preset' : undefined,
      opts.file !== undefined ? '--file' : undefined,
      opts.logicCode !== undefined ? '--logic-code' : undefined,
      opts.fixedToken === true ? '--fixed-token' : undefined,
    ];
    const sources = [...kinds, manual.length > 0 ? 'options' : undefined].filter((s) => s !== undefined);
    if (sources.length === 0) {
      throw usageError(
        'Give the realm config: --preset NAME, --file realm.json, --logic-code URL, --fixed-token, or --url URL --token-path P --expires-in-path P [...].',
      );
    }
    if (sources.length > 1) {
      const flags = kinds.concat(manual.map(([, flag]) => flag)).filter((f) => f !== undefined);
      const hint = flags.includes('--url')
        ? " Here --url is the provider's URL: give the server's with TOKENCTL_URL or before the subcommand."
        : '';
      throw usageError(
        `Give one of --preset, --file or options, not several (got ${flags.join(', ')}).${hint}`,
      );
    }
    let described: RealmBody;
    let api: ApiClient;
    let keysHint = '';
    if (opts.file !== undefined) {
      described = await realmFromFile(io, opts.file, id);
      api = connect(command, io, { serverUrl: false });
    } else if (opts.preset !== undefined) {
      api = connect(command, io, { serverUrl: false });
      const preset = await presetConfig(api, opts.preset);
      if (opts.url === undefined && hasPlaceholderUrl(preset)) {
        throw usageError(
          `The preset ${preset.name} has no real token URL (${asText(preset.config.url)} is a placeholder): give your server's with --url URL.`,
        );
      }
      described = {
        comment: preset.comment,
        config:
          opts.url === undefined ? preset.config : { ...preset.config, url: checkUpstreamUrl(opts.url) },
      };
      const keys = formatPresetKeys(preset);
      if (keys !== '') {
        keysHint = `\nIts secrets hold ${keys}:\n  tokenctl secret add --realm ${id} --key NAME --stdin\n`;
      }
    } else if (opts.logicCode !== undefined) {
      described = { comment: undefined, logic_code: checkUpstreamUrl(opts.logicCode, '--logic-code') };
      api = connect(command, io, { serverUrl: false });
      keysHint = `\nIts secrets are POSTed to the function as {"realm", "key", "key_1", ...}:\n  tokenctl secret add --realm ${id} --key NAME --stdin\n`;
    } else if (opts.fixedToken === true) {
      described = { comment: undefined };
      api = connect(command, io, { serverUrl: false });
      keysHint = `\nIts secrets carry the token:\n  tokenctl secret add --realm ${id} --key NAME --token TOKEN [--expires-in SECONDS]\n`;
    } else {
      described = { comment: undefined, config: configFromOptions(opts) };
      api = connect(command, io, { serverUrl: false });
    }
    const realm = { ...described, id, comment: opts.comment ?? described.comment ?? '' };
    checkRealm(io, realm);
    const body = await api.post(apiPath('realm'), realm);
    for (const message of warningsOf(body)) warn(io, message);
    emitResource(
      io,
      command,
      body,
      'a realm',
      (saved) =>
        `${wasReplaced(saved) ? `Replaced realm ${id} (it existed; its secrets now use this config)` : `Created realm ${id}`}.\n` +
        renderRealm(saved, io.now()) +
        keysHint,
    );
  });
}

/** The server keeps created_at when a POST replaces a realm: a later updated_at says it existed. */
function wasReplaced(saved: Record<string, unknown>): boolean {
  return (
    typeof saved.created_at === 'string' &&
    typeof saved.updated_at === 'string' &&
    saved.created_at !== saved.updated_at
  );
}
