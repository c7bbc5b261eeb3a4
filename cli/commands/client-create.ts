/**
 * `tokenctl client create`: a client key for an app, scoped to realm/key pairs (POST /api/client).
 * The key is in this answer only: the server keeps nothing but its hash.
 */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emitResource, examples } from '../common';
import { usageError } from '../errors';
import type { CliIo } from '../io';
import { renderFields } from '../output';
import { parseScope, repeatable, type Scope } from '../parse';
import { formatScopes } from '../render';
import { asText, field } from '../shapes';

interface Options {
  name: string;
  scope: Scope[];
}

export function registerClientCreate(client: Command, io: CliIo): void {
  const cmd = client
    .command('create')
    .description('create a client key for an app (shown once)')
    .requiredOption('--name <name>', "the app's name, for people")
    .requiredOption(
      '--scope <REALM/KEY>',
      "a secret the app may use, repeatable; KEY * means every key (quote it: 'wxgzh/*')",
      repeatable(parseScope),
    );
  addConnectionOptions(cmd);
  cmd.addHelpText(
    'after',
    examples(
      'tokenctl client create --name billing-app --scope wxgzh/main --scope wecom/app1',
      "tokenctl client create --name ops --scope 'feishu/*' --json | jq -r .client_key",
    ),
  );
  cmd.action(async (_opts: unknown, command: Command) => {
    const opts = command.opts<Options>();
    const name = opts.name.trim();
    if (name === '') throw usageError('--name must not be empty.');
    const api = connect(command, io);
    const body = await api.post(apiPath('client'), { name, scopes: opts.scope });
    emitResource(io, command, body, 'a client', (created) => {
      return (
        renderFields([
          ['id', asText(created.id)],
          ['name', asText(created.name)],
          ['scopes', formatScopes(created.scopes)],
          ['client key', asText(field(created, 'client_key'))],
        ]) + '\nThis client key is shown only once: store it now. The server keeps only its hash.\n'
      );
    });
  });
}
