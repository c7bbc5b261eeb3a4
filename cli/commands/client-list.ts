/** `tokenctl client list`: the client keys' ids, names and scopes (never the keys). */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { formatTime, renderTable } from '../output';
import { formatScopes, pageFooter } from '../render';
import { asText, field, isRecord, readList } from '../shapes';

export function registerClientList(client: Command, io: CliIo): void {
  const cmd = client.command('list').description('list client keys (without the keys)');
  addConnectionOptions(cmd);
  cmd.addHelpText('after', examples('tokenctl client list', 'tokenctl client list --json'));
  cmd.action(async (_opts: unknown, command: Command) => {
    const api = connect(command, io);
    const body = await api.get(apiPath('client'));
    emit(io, command, body, () => {
      const { list, total } = readList(body);
      const now = io.now();
      const rows = list
        .filter(isRecord)
        .map((c) => [
          asText(c.id),
          asText(c.name),
          formatScopes(c.scopes),
          formatTime(field(c, 'created_at'), now),
        ]);
      const table = rows.length === 0 ? '' : renderTable(['ID', 'NAME', 'SCOPES', 'CREATED'], rows);
      return table + pageFooter(rows.length, total, 1, undefined, 'clients');
    });
  });
}
