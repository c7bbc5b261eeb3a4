/** `tokenctl client revoke <id>`: revokes a client key (DELETE /api/client/:id). */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { emit } from '../common';
import { usageError } from '../errors';
import type { CliIo } from '../io';
import { registerIdCommand } from './id-command';

/** Client ids are the server's (UUIDs); anything but an empty one is sent as it is. */
function clientId(value: string): string {
  const id = value.trim();
  if (id === '') throw usageError('The client id must not be empty.');
  return id;
}

export function registerClientRevoke(client: Command, io: CliIo): void {
  registerIdCommand(client, io, {
    name: 'revoke',
    description:
      'revoke a client key (effective on every instance within 30 s, TOKEN_SERVER_CLIENT_CACHE_MS)',
    args: [{ name: 'id', help: 'client id (see `tokenctl client list`)', check: clientId }],
    examples: ['tokenctl client revoke 6f1c2a9e'],
    run: async (api, [id = ''], command) => {
      const body = await api.delete(apiPath('client', id));
      emit(
        io,
        command,
        body ?? { ok: true },
        () => `Revoked client ${id} (effective everywhere within 30 s, TOKEN_SERVER_CLIENT_CACHE_MS).\n`,
      );
    },
  });
}
