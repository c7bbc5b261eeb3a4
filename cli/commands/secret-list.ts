/** `tokenctl secret list`: the secrets (masked), of one realm or all (GET /api/secret). */
import type { Command } from 'commander';
import type { CliIo } from '../io';
import { formatTime } from '../output';
import { idOption } from '../parse';
import { maskedValues } from '../render';
import { asText, field } from '../shapes';
import { registerListCommand } from './list-command';

export function registerSecretList(secret: Command, io: CliIo): void {
  registerListCommand(secret, io, {
    description: 'list secrets, their values masked',
    resource: 'secret',
    plural: 'secrets',
    paged: true,
    options: (cmd) => cmd.option('--realm <realm>', 'only the secrets of this realm', idOption),
    query: (opts) => ({ realm: opts.realm as string | undefined }),
    examples: ['tokenctl secret list', 'tokenctl secret list --realm wxgzh --json'],
    headers: ['REALM', 'KEY', 'VALUES', 'UPDATED'],
    row: (s, now) => [
      asText(s.realm),
      asText(s.key),
      maskedValues(s),
      formatTime(field(s, 'updated_at'), now),
    ],
  });
}
