/** `tokenctl client revoke <id>`: revokes a client key (DELETE /api/client/:id). */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import { usageError } from '../errors';
import type { CliIo } from '../io';

export function registerClientRevoke(client: Command, io: CliIo): void {
  const cmd = client
    .command('revoke')
    .description('revoke a client key (effective on every instance within 60 s)')
    .argument('<id>', 'client id (see `tokenctl client list`)');
  addConnectionOptions(cmd);
  cmd.addHelpText('after', examples('tokenctl client revoke 6f1c2a9e'));
  cmd.action(async (idArg: string, _opts: unknown, command: Command) => {
    const id = idArg.trim();
    if (id === '') throw usageError('The client id must not be empty.');
    const api = connect(command, io);
    const body = await api.delete(apiPath('client', id));
    emit(
      io,
      command,
      body ?? { ok: true },
      () => `Revoked client ${id} (effective everywhere within 60 s).\n`,
    );
  });
}
