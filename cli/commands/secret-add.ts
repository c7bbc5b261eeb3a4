/**
 * `tokenctl secret add`: stores one set of credentials at a provider (POST /api/secret). --stdin and
 * --from-env keep the values out of argv and shell history; the values are never printed (the
 * server answers them masked).
 */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
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
  type Credentials,
} from '../parse';
import { renderSecret, warningsOf } from '../render';
import { readObject } from '../shapes';

type KeyFlag = `key${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9}`;

type Options = {
  realm: string;
  key: string;
  fromEnv?: boolean;
  stdin?: boolean;
  parent?: string;
} & Partial<Record<KeyFlag, string>>;

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
    .requiredOption('--realm <realm>', 'realm id', idOption)
    .requiredOption('--key <key>', 'secret key (its name, 1-64 of A-Z a-z 0-9 _ . -)', idOption);
  for (let n = 1; n <= 9; n++) {
    cmd.option(
      `--key-${n} <value>`,
      n === 1 ? 'credential value $key_1 (visible in argv: prefer --stdin)' : `$key_${n}`,
    );
  }
  cmd
    .option('--from-env', 'read the values from TOKENCTL_KEY_1 .. TOKENCTL_KEY_9')
    .option('--stdin', 'read the values from stdin: key_N=value lines, or a JSON object {"key_1": "..."}')
    .option(
      '--parent <realm/key>',
      "a ticket's parent: the secret whose token the realm uses as $token",
      parentOption,
    );
  addConnectionOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Give the values one way: --stdin (recommended), --from-env, or --key-1 .. --key-9.
${examples(
  'printf \'key_1=%s\\nkey_2=%s\\nkey_3=client_credential\\n\' "$APPID" "$APPSECRET" | tokenctl secret add --realm wxgzh --key main --stdin',
  'tokenctl secret add --realm wxgzh --key main --stdin < wxgzh.json',
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
    ].filter((s) => s !== undefined);
    if (sources.length === 0 && opts.parent === undefined) {
      throw usageError(
        'Give the credential values: --stdin, --from-env, or --key-1 VALUE ... (or --parent R/K)',
      );
    }
    if (sources.length > 1) throw usageError(`Give the values one way only (got ${sources.join(', ')}).`);
    const api = connect(command, io);
    let credentials: Credentials = {};
    if (sources.length === 0) {
      // A dependent secret (--parent) needs no credentials of its own.
    } else if (opts.stdin === true) {
      let text: string;
      try {
        text = await io.readStdin();
      } catch (err) {
        throw usageError(`Cannot read stdin: ${err instanceof Error ? err.message : String(err)}.`);
      }
      credentials = parseCredentialsText(text);
    } else if (opts.fromEnv === true) {
      credentials = credentialsFromEnv(io.env);
    } else {
      credentials = checkCredentials(flags, 'options');
    }
    const parent = opts.parent === undefined ? {} : { parent: opts.parent };
    const body = await api.post(apiPath('secret'), {
      realm: opts.realm,
      key: opts.key,
      ...parent,
      ...credentials,
    });
    for (const message of warningsOf(body)) warn(io, message);
    emit(
      io,
      command,
      body,
      () =>
        `Saved secret ${opts.realm}/${opts.key}.\n` + renderSecret(readObject(body, 'a secret'), io.now()),
    );
  });
}
