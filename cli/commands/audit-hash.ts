/**
 * `tokenctl audit hash VALUE`: the HMAC under which the audit log records a secret value (POST
 * /api/audit/hash), to find the records that set it (`tokenctl audit --hash H`). `-` reads the value
 * from standard input, which keeps it out of argv and shell history.
 */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emitResource, examples } from '../common';
import { usageError } from '../errors';
import type { CliIo } from '../io';
import { asText } from '../shapes';

export function registerAuditHash(audit: Command, io: CliIo): void {
  const cmd = audit
    .command('hash')
    .description('print the HMAC the audit log records a secret value as')
    .argument('<value>', 'the value, or - to read it from standard input');
  addConnectionOptions(cmd);
  cmd.addHelpText(
    'after',
    examples(
      'tokenctl audit hash - < credential.txt',
      'tokenctl audit --hash "$(tokenctl audit hash - < credential.txt)"',
    ),
  );
  cmd.action(async (value: string, _opts: unknown, command: Command) => {
    const text = value === '-' ? (await io.readStdin()).replace(/\r?\n$/, '') : value;
    if (text === '') throw usageError('The value must not be empty.');
    const body = await connect(command, io).post(apiPath('audit', 'hash'), { value: text });
    emitResource(io, command, body, 'a hash', (r) => `${asText(r.hash)}\n`);
  });
}
