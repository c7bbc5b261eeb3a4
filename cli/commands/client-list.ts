/** `tokenctl client list`: the client keys' ids, names and scopes (never the keys). */
import type { Command } from 'commander';
import type { CliIo } from '../io';
import { formatTime } from '../output';
import { formatScopes } from '../render';
import { asText, field } from '../shapes';
import { registerListCommand } from './list-command';

export function registerClientList(client: Command, io: CliIo): void {
  registerListCommand(client, io, {
    description: 'list client keys (without the keys)',
    resource: 'client',
    plural: 'clients',
    paged: false,
    examples: ['tokenctl client list', 'tokenctl client list --json'],
    headers: ['ID', 'NAME', 'SCOPES', 'CREATED'],
    row: (c, now) => [
      asText(c.id),
      asText(c.name),
      formatScopes(c.scopes),
      formatTime(field(c, 'created_at'), now),
    ],
  });
}
