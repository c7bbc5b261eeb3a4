/** `tokenctl realm list`: the realms, a page at a time (GET /api/realm). */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { renderTable, truncate } from '../output';
import { positiveInt } from '../parse';
import { pageFooter } from '../render';
import { asText, isRecord, readList } from '../shapes';

interface Options {
  keyword?: string;
  page?: number;
  pageSize?: number;
}

export function registerRealmList(realm: Command, io: CliIo): void {
  const cmd = realm
    .command('list')
    .description('list realms')
    .option('--keyword <text>', 'only realms whose id or comment contains this')
    .option('--page <n>', 'page number, from 1', positiveInt)
    .option('--page-size <n>', 'realms per page', positiveInt);
  addConnectionOptions(cmd);
  cmd.addHelpText(
    'after',
    examples('tokenctl realm list', 'tokenctl realm list --keyword wx --page 2 --page-size 20'),
  );
  cmd.action(async (_opts: unknown, command: Command) => {
    const opts = command.opts<Options>();
    const api = connect(command, io);
    const body = await api.get(apiPath('realm'), {
      page: opts.page,
      pageSize: opts.pageSize,
      keyword: opts.keyword,
    });
    emit(io, command, body, () => {
      const { list, total } = readList(body);
      const rows = list.filter(isRecord).map((r) => {
        const config = isRecord(r.config) ? r.config : {};
        return [
          asText(r.id),
          truncate(asText(r.comment), 40),
          asText(config.method),
          asText(config.url ?? r.logic_code ?? '(fixed token)'),
        ];
      });
      const table = rows.length === 0 ? '' : renderTable(['ID', 'COMMENT', 'METHOD', 'URL'], rows);
      return table + pageFooter(rows.length, total, opts.page ?? 1, opts.pageSize, 'realms');
    });
  });
}
