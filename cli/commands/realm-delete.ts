/** `tokenctl realm delete <id>`: removes a realm; the server refuses (409) while secrets use it. */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { checkId } from '../parse';

export function registerRealmDelete(realm: Command, io: CliIo): void {
  const cmd = realm
    .command('delete')
    .description('delete a realm (refused while secrets still use it)')
    .argument('<id>', 'realm id');
  addConnectionOptions(cmd);
  cmd.addHelpText('after', examples('tokenctl realm delete wxgzh'));
  cmd.action(async (idArg: string, _opts: unknown, command: Command) => {
    const id = checkId(idArg, 'Realm id');
    const api = connect(command, io);
    const body = await api.delete(apiPath('realm', id));
    emit(io, command, body ?? { ok: true }, () => `Deleted realm ${id}.\n`);
  });
}
