/** `tokenctl secret delete <realm> <key>`: removes a secret and its token. */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { checkId } from '../parse';

export function registerSecretDelete(secret: Command, io: CliIo): void {
  const cmd = secret
    .command('delete')
    .description('delete a secret and its cached token')
    .argument('<realm>', 'realm id')
    .argument('<key>', 'secret key');
  addConnectionOptions(cmd);
  cmd.addHelpText('after', examples('tokenctl secret delete wxgzh main'));
  cmd.action(async (realmArg: string, keyArg: string, _opts: unknown, command: Command) => {
    const realm = checkId(realmArg, 'Realm id');
    const key = checkId(keyArg, 'Secret key');
    const api = connect(command, io);
    const body = await api.delete(apiPath('secret', realm, key));
    emit(io, command, body ?? { ok: true }, () => `Deleted secret ${realm}/${key}.\n`);
  });
}
