/**
 * `tokenctl secret add`: stores one set of credentials at a provider (POST /api/secret). --stdin and
 * --from-env keep the values out of argv and shell history; the values are never printed (the
 * server answers them masked).
 */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emitResource, examples } from '../common';
import { KEY_NAMES } from '../../functions/providers/template';
import { usageError } from '../errors';
import type { CliIo } from '../io';
import { warn } from '../output';
import {
  checkCredentials,
  credentialsFromEnv,
  idOption,
  parentOption,
  parseCredentialsText,
  parseSecretJson,
  positiveInt,
  type Credentials,
  type SecretInput,
} from '../parse';
import { renderSecret, warningsOf } from '../render';

type KeyFlag = `key${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9}`;

type Options = {
  realm?: string;
  key?: string;
  fromEnv?: boolean;
  stdin?: boolean;
  parent?: string;
  token?: string;
  expiresIn?: number;
} & Partial<Record<KeyFlag, string>>;

/** stdin: key_N=value lines, or JSON (the original design's secret as it is, realm and key included). */
async function secretFromStdin(io: CliIo): Promise<SecretInput> {
  let text: string;
  try {
    text = await io.readStdin();
  } catch (err) {
    throw usageError(`Cannot read stdin: ${err instanceof Error ? err.message : String(err)}.`);
  }
  if (!text.trim().startsWith('{')) return { credentials: parseCredentialsText(text) };
  const input = parseSecretJson(text.trim());
  if (input.token === undefined) checkCredentials(input.credentials, 'stdin');
  else if (Object.keys(input.credentials).length > 0) checkCredentials(input.credentials, 'stdin');
  return input;
}

/** --realm/--key, or the ones the JSON on stdin names; both given must agree. */
function pick(flag: string | undefined, fromJson: string | undefined, name: 'realm' | 'key'): string {
  if (flag !== undefined && fromJson !== undefined && flag !== fromJson) {
    throw usageError(`--${name} ${flag} and the ${name} "${fromJson}" on stdin differ: give one.`);
  }
  const value = flag ?? fromJson;
  if (value === undefined) throw usageError(`Give --${name} (or "${name}" in the JSON on stdin).`);
  return value;
}

function credentialsFromFlags(opts: Options): Credentials {
  const out: Credentials = {};
  KEY_NAMES.forEach((name, i) => {
    const value = opts[`key${i + 1}` as KeyFlag];
    if (value !== undefined) out[name] = value;
  });
  return out;
}

export function registerSecretAdd(secret: Command, io: CliIo): void {
  const cmd = secret
    .command('add')
    .description("create or replace a secret: one set of credentials at a realm's provider")
    .option('--realm <realm>', 'realm id (may be left out when the JSON on stdin carries it)', idOption)
    .option('--key <key>', 'secret key (its name, 1-64 of A-Z a-z 0-9 _ . -)', idOption);
  for (let n = 1; n <= 9; n++) {
    cmd.option(
      `--key-${n} <value>`,
      n === 1 ? 'credential value $key_1 (visible in argv: prefer --stdin)' : `$key_${n}`,
    );
  }
  cmd
    .option('--from-env', 'read the values from TOKENCTL_KEY_1 .. TOKENCTL_KEY_9')
    .option(
      '--stdin',
      'read the values from stdin: key_N=value lines, or a JSON object {"key_1": "..."} (the original design\'s {"realm", "key", "key_1", ...} as it is)',
    )
    .option('--token <token>', 'a fixed-token realm: the token itself (visible in argv: prefer --stdin)')
    .option(
      '--expires-in <seconds>',
      'with --token: its lifetime in seconds (default: does not expire)',
      positiveInt,
    )
    .option(
      '--parent <realm/key>',
      "a ticket's parent: the secret whose token the realm uses as $token",
      parentOption,
    );
  addConnectionOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Give the values one way: --stdin (recommended), --from-env, --key-1 .. --key-9, or --token.
${examples(
  'printf \'key_1=%s\\nkey_2=%s\\nkey_3=client_credential\\n\' "$APPID" "$APPSECRET" | tokenctl secret add --realm wxgzh --key main --stdin',
  'tokenctl secret add --stdin < wxgzh_secret.json   # {"realm": "wxgzh", "key": "wxgzh_secret", "key_1": ...}',
  'tokenctl secret add --realm static_keys --key partner --token "$TOKEN" --expires-in 86400',
  'TOKENCTL_KEY_1=$CORPID TOKENCTL_KEY_2=$CORPSECRET tokenctl secret add --realm wecom --key app1 --from-env',
  'tokenctl secret add --realm wxticket --key main --parent wxgzh/main',
)}`,
  );
  cmd.action(async (_opts: unknown, command: Command) => {
    const opts = command.opts<Options>();
    const flags = credentialsFromFlags(opts);
    const sources = [
      Object.keys(flags).length > 0 ? '--key-N' : undefined,
      opts.fromEnv === true ? '--from-env' : undefined,
      opts.stdin === true ? '--stdin' : undefined,
      opts.token !== undefined ? '--token' : undefined,
    ].filter((s) => s !== undefined);
    if (sources.length === 0 && opts.parent === undefined) {
      throw usageError(
        'Give the credential values: --stdin, --from-env, --key-1 VALUE ..., or --token TOKEN (or --parent R/K)',
      );
    }
    if (sources.length > 1) throw usageError(`Give the values one way only (got ${sources.join(', ')}).`);
    if (opts.expiresIn !== undefined && opts.token === undefined) {
      throw usageError('--expires-in goes with --token (a fixed-token realm).');
    }
    if (opts.token === '') throw usageError('--token is empty.');
    let input: SecretInput;
    // A dependent secret (--parent alone) needs no credentials of its own.
    if (sources.length === 0) input = { credentials: {} };
    else if (opts.stdin === true) input = await secretFromStdin(io);
    else if (opts.fromEnv === true) input = { credentials: credentialsFromEnv(io.env) };
    else if (opts.token !== undefined) {
      input = {
        credentials: {},
        token: opts.token,
        ...(opts.expiresIn === undefined ? {} : { expires_in: opts.expiresIn }),
      };
    } else input = { credentials: checkCredentials(flags, 'options') };
    const realm = pick(opts.realm, input.realm, 'realm');
    const key = pick(opts.key, input.key, 'key');
    const api = connect(command, io);
    const credentials: Credentials = input.credentials;
    const body = await api.post(apiPath('secret'), {
      realm,
      key,
      ...(opts.parent === undefined ? {} : { parent: opts.parent }),
      ...credentials,
      ...(input.token === undefined ? {} : { token: input.token }),
      ...(input.expires_in === undefined ? {} : { expires_in: input.expires_in }),
    });
    for (const message of warningsOf(body)) warn(io, message);
    emitResource(
      io,
      command,
      body,
      'a secret',
      (saved) => `Saved secret ${realm}/${key}.\n` + renderSecret(saved, io.now()),
    );
  });
}
