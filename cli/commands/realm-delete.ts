/** `tokenctl realm delete <id>`: removes a realm; the server refuses (409) while secrets use it. */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { emit } from '../common';
import type { CliIo } from '../io';
import { idArgument, registerIdCommand } from './id-command';

export function registerRealmDelete(realm: Command, io: CliIo): void {
  registerIdCommand(realm, io, {
    name: 'delete',
    description: 'delete a realm (refused while secrets still use it)',
    args: [idArgument('id', 'realm id', 'Realm id')],
    examples: ['tokenctl realm delete wxgzh'],
    run: async (api, [id = ''], command) => {
      const body = await api.delete(apiPath('realm', id));
      emit(io, command, body ?? { ok: true }, () => `Deleted realm ${id}.\n`);
    },
  });
}
