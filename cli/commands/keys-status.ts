/** `tokenctl keys status`: the current master key id and how many sealed values each key id holds. */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { renderTable } from '../output';
import { asText, isRecord, readObject } from '../shapes';

/** One row per key id: configured keys in their order, then ids values are still under. */
export function keyRows(status: Record<string, unknown>): string[][] {
  const current = asText(status.current);
  const configured = Array.isArray(status.keys) ? status.keys.map(asText) : [];
  const counts = isRecord(status.counts) ? status.counts : {};
  const ids = [...configured, ...Object.keys(counts).filter((id) => !configured.includes(id))];
  return ids.map((id) => {
    const n = Number(counts[id] ?? 0);
    const role = id === current ? 'current' : configured.includes(id) ? 'old' : 'NOT CONFIGURED';
    const note =
      id === current ? '' : n === 0 ? 'nothing left: may be removed' : 'run `tokenctl keys reseal`';
    return [id, role, String(n), note];
  });
}

export function registerKeysStatus(keys: Command, io: CliIo): void {
  const cmd = keys.command('status').description('master keys: the current id, and sealed values per key id');
  addConnectionOptions(cmd);
  cmd.addHelpText('after', examples('tokenctl keys status', 'tokenctl keys status --json | jq .counts'));
  cmd.action(async (_opts: unknown, command: Command) => {
    const body = await connect(command, io).get(apiPath('keys'));
    const status = readObject(body, 'key status');
    emit(io, command, status, () => renderTable(['KEY ID', 'ROLE', 'SEALED VALUES', ''], keyRows(status)));
  });
}
