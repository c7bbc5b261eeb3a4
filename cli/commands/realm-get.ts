/** `tokenctl realm get <id>`: one realm and its config (GET /api/realm/:id). */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emitResource, examples } from '../common';
import type { CliIo } from '../io';
import { checkId } from '../parse';
import { renderRealm } from '../render';

export function registerRealmGet(realm: Command, io: CliIo): void {
  const cmd = realm.command('get').description('show one realm').argument('<id>', 'realm id');
  addConnectionOptions(cmd);
  cmd.addHelpText(
    'after',
    examples('tokenctl realm get wxgzh', 'tokenctl realm get wxgzh --json > realm.json'),
  );
  cmd.action(async (idArg: string, _opts: unknown, command: Command) => {
    const id = checkId(idArg, 'Realm id');
    const api = connect(command, io);
    const body = await api.get(apiPath('realm', id));
    emitResource(io, command, body, 'a realm', (found) => renderRealm(found, io.now()));
  });
}
