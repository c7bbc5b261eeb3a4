/** `tokenctl realm list`: the realms, a page at a time (GET /api/realm). */
import type { Command } from 'commander';
import type { CliIo } from '../io';
import { truncate } from '../output';
import { asText, isRecord } from '../shapes';
import { registerListCommand } from './list-command';

export function registerRealmList(realm: Command, io: CliIo): void {
  registerListCommand(realm, io, {
    description: 'list realms',
    resource: 'realm',
    plural: 'realms',
    paged: true,
    options: (cmd) => cmd.option('--keyword <text>', 'only realms whose id or comment contains this'),
    query: (opts) => ({ keyword: opts.keyword as string | undefined }),
    examples: ['tokenctl realm list', 'tokenctl realm list --keyword wx --page 2 --page-size 20'],
    headers: ['ID', 'COMMENT', 'METHOD', 'URL'],
    row: (r) => {
      const config = isRecord(r.config) ? r.config : {};
      return [
        asText(r.id),
        truncate(asText(r.comment), 40),
        asText(config.method),
        asText(config.url ?? r.logic_code ?? '(fixed token)'),
      ];
    },
  });
}
