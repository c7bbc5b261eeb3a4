/** `tokenctl realm get <id>`: one realm and its config (GET /api/realm/:id). */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { emitResource } from '../common';
import type { CliIo } from '../io';
import { renderRealm } from '../render';
import { idArgument, registerIdCommand } from './id-command';

export function registerRealmGet(realm: Command, io: CliIo): void {
  registerIdCommand(realm, io, {
    name: 'get',
    description: 'show one realm',
    args: [idArgument('id', 'realm id', 'Realm id')],
    examples: ['tokenctl realm get wxgzh', 'tokenctl realm get wxgzh --json > realm.json'],
    run: async (api, [id = ''], command) => {
      const body = await api.get(apiPath('realm', id));
      emitResource(io, command, body, 'a realm', (found) => renderRealm(found, io.now()));
    },
  });
}
