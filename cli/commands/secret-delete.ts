/** `tokenctl secret delete <realm> <key>`: removes a secret and its token. */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { emit } from '../common';
import type { CliIo } from '../io';
import { idArgument, registerIdCommand } from './id-command';

export function registerSecretDelete(secret: Command, io: CliIo): void {
  registerIdCommand(secret, io, {
    name: 'delete',
    description: 'delete a secret and its cached token',
    args: [idArgument('realm', 'realm id', 'Realm id'), idArgument('key', 'secret key', 'Secret key')],
    examples: ['tokenctl secret delete wxgzh main'],
    run: async (api, [realm = '', key = ''], command) => {
      const body = await api.delete(apiPath('secret', realm, key));
      emit(io, command, body ?? { ok: true }, () => `Deleted secret ${realm}/${key}.\n`);
    },
  });
}
