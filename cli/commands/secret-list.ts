/** `tokenctl secret list`: the secrets (masked), of one realm or all (GET /api/secret). */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { formatTime, renderTable } from '../output';
import { idOption, positiveInt } from '../parse';
import { maskedValues, pageFooter } from '../render';
import { asText, field, isRecord, readList } from '../shapes';

interface Options {
  realm?: string;
  page?: number;
  pageSize?: number;
}

export function registerSecretList(secret: Command, io: CliIo): void {
  const cmd = secret
    .command('list')
    .description('list secrets, their values masked')
    .option('--realm <realm>', 'only the secrets of this realm', idOption)
    .option('--page <n>', 'page number, from 1', positiveInt)
    .option('--page-size <n>', 'secrets per page', positiveInt);
  addConnectionOptions(cmd);
  cmd.addHelpText('after', examples('tokenctl secret list', 'tokenctl secret list --realm wxgzh --json'));
  cmd.action(async (_opts: unknown, command: Command) => {
    const opts = command.opts<Options>();
    const api = connect(command, io);
    const body = await api.get(apiPath('secret'), {
      realm: opts.realm,
      page: opts.page,
      pageSize: opts.pageSize,
    });
    emit(io, command, body, () => {
      const { list, total } = readList(body);
      const now = io.now();
      const rows = list
        .filter(isRecord)
        .map((s) => [
          asText(s.realm),
          asText(s.key),
          maskedValues(s),
          formatTime(field(s, 'updated_at'), now),
        ]);
      const table = rows.length === 0 ? '' : renderTable(['REALM', 'KEY', 'VALUES', 'UPDATED'], rows);
      return table + pageFooter(rows.length, total, opts.page ?? 1, opts.pageSize, 'secrets');
    });
  });
}
