/** `tokenctl secret get <realm> <key>`: one secret, its values masked (GET /api/secret/:realm/:key). */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { emitResource } from '../common';
import type { CliIo } from '../io';
import { renderSecret } from '../render';
import { idArgument, registerIdCommand } from './id-command';

export function registerSecretGet(secret: Command, io: CliIo): void {
  registerIdCommand(secret, io, {
    name: 'get',
    description: 'show one secret, its values masked',
    args: [idArgument('realm', 'realm id', 'Realm id'), idArgument('key', 'secret key', 'Secret key')],
    examples: ['tokenctl secret get wxgzh main'],
    run: async (api, [realm = '', key = ''], command) => {
      const body = await api.get(apiPath('secret', realm, key));
      emitResource(io, command, body, 'a secret', (found) => renderSecret(found, io.now()));
    },
  });
}
