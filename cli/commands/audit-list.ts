/** `tokenctl audit [list]`: the audit log, newest first (GET /api/audit), filtered and paged by cursor. */
import type { Command } from 'commander';
import type { CliIo } from '../io';
import { formatTime } from '../output';
import { positiveInt } from '../parse';
import { asText, field } from '../shapes';
import { registerListCommand } from './list-command';

export function registerAuditList(audit: Command, io: CliIo): void {
  registerListCommand(audit, io, {
    description: 'the audit log of changes, newest first (the default of `tokenctl audit`)',
    resource: 'audit',
    plural: 'records',
    paged: false,
    isDefault: true,
    options: (cmd) =>
      cmd
        .option('--action <action>', 'only this action (realm.put, secret.delete, token.flush, ...)')
        .option('--target <target>', 'only this target (realm/key, a realm id, a client or webhook id)')
        .option('--since <time>', 'only records at or after this ISO-8601 time')
        .option('--hash <hmac>', 'only records that set the value with this HMAC (see `tokenctl audit hash`)')
        .option('--limit <n>', 'records per page (1 to 1000)', positiveInt)
        .option('--cursor <cursor>', 'the next_cursor of the previous page (--json shows it)'),
    query: (o) => ({
      action: o.action as string | undefined,
      target: o.target as string | undefined,
      since: o.since as string | undefined,
      hash: o.hash as string | undefined,
      limit: o.limit as number | undefined,
      cursor: o.cursor as string | undefined,
    }),
    examples: [
      'tokenctl audit',
      'tokenctl audit --target wxgzh/main --since 2026-12-01T00:00:00Z',
      'tokenctl audit --hash "$(tokenctl audit hash - < value.txt)"',
    ],
    headers: ['AT', 'ACTOR', 'ACTION', 'TARGET', 'REQUEST'],
    row: (r, now) => [
      formatTime(field(r, 'at'), now),
      asText(r.actor),
      asText(r.action),
      asText(r.target),
      asText(field(r, 'request_id')),
    ],
  });
}
