/** `tokenctl secret get <realm> <key>`: one secret, its values masked (GET /api/secret/:realm/:key). */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emitResource, examples } from '../common';
import type { CliIo } from '../io';
import { checkId } from '../parse';
import { renderSecret } from '../render';

export function registerSecretGet(secret: Command, io: CliIo): void {
  const cmd = secret
    .command('get')
    .description('show one secret, its values masked')
    .argument('<realm>', 'realm id')
    .argument('<key>', 'secret key');
  addConnectionOptions(cmd);
  cmd.addHelpText('after', examples('tokenctl secret get wxgzh main'));
  cmd.action(async (realmArg: string, keyArg: string, _opts: unknown, command: Command) => {
    const realm = checkId(realmArg, 'Realm id');
    const key = checkId(keyArg, 'Secret key');
    const api = connect(command, io);
    const body = await api.get(apiPath('secret', realm, key));
    emitResource(io, command, body, 'a secret', (found) => renderSecret(found, io.now()));
  });
}
