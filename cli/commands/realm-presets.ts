/** `tokenctl realm presets`: the built-in provider presets that `realm create --preset` takes. */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { renderTable, truncate } from '../output';
import { formatPresetKeys, readPresets } from '../presets';

export function registerRealmPresets(realm: Command, io: CliIo): void {
  const cmd = realm.command('presets').description('list the built-in provider presets');
  addConnectionOptions(cmd);
  cmd.addHelpText(
    'after',
    examples('tokenctl realm presets', "tokenctl realm presets --json | jq '.data.list[].name'"),
  );
  cmd.action(async (_opts: unknown, command: Command) => {
    const api = connect(command, io);
    const body = await api.get(apiPath('preset'));
    emit(io, command, body, () => {
      const presets = readPresets(body);
      if (presets.length === 0) return 'No presets.\n';
      const rows = presets.map((p) => [p.name, formatPresetKeys(p), truncate(p.comment, 60)]);
      return renderTable(['NAME', 'KEYS', 'COMMENT'], rows);
    });
  });
}
