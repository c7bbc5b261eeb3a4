/**
 * `tokenctl token get`: prints the bare token and a newline, so that TOKEN=$(tokenctl token get ...)
 * works in scripts (GET /api/token). Takes a client key or the admin key.
 */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { idOption } from '../parse';
import { readObject, unexpectedShape } from '../shapes';

interface Options {
  realm: string;
  key: string;
  flush?: boolean;
}

export function registerTokenGet(token: Command, io: CliIo): void {
  const cmd = token
    .command('get')
    .description('print the current token of a secret')
    .requiredOption('--realm <realm>', 'realm id', idOption)
    .requiredOption('--key <key>', 'secret key', idOption)
    .option('--flush', 'get a token fetched from the provider now');
  addConnectionOptions(cmd, { clientKey: true });
  cmd.addHelpText(
    'after',
    `
Prints only the token and a newline; --json prints the whole answer (token, expires_in, expires_at, source).
${examples(
  'TOKEN=$(tokenctl token get --realm wxgzh --key main)',
  'TOKENCTL_CLIENT_KEY=$APP_KEY tokenctl token get --realm wxgzh --key main --flush',
  'tokenctl token get --realm wxgzh --key main --json | jq .expires_at',
)}`,
  );
  cmd.action(async (_opts: unknown, command: Command) => {
    const opts = command.opts<Options>();
    const api = connect(command, io, { clientKey: true });
    const body = await api.get(apiPath('token'), {
      realm: opts.realm,
      key: opts.key,
      flush: opts.flush === true,
    });
    emit(io, command, body, () => {
      const token = readObject(body, 'a token').token;
      if (typeof token !== 'string' || token === '') throw unexpectedShape('a token');
      return `${token}\n`;
    });
  });
}
