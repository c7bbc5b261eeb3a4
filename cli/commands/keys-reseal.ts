/**
 * `tokenctl keys reseal`: seals every stored value again under the current master key, calling
 * POST /api/keys/reseal page after page (following its cursor) until it answers complete.
 * Interrupted, it is simply run again (or resumed with --cursor): pages already done cost reads only.
 */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { positiveInt } from '../parse';
import { asText, readObject } from '../shapes';

interface ResealOptions {
  limit?: number;
  cursor?: string;
}

export interface ResealTotals {
  resealed: number;
  scanned: number;
  unreadable: number;
  pages: number;
  complete: true;
}

export function registerKeysReseal(keys: Command, io: CliIo): void {
  const cmd = keys
    .command('reseal')
    .description('seal every stored value again under the current master key (follows pages to the end)')
    .option('--limit <n>', 'documents per request (1 to 1000; default: the server default, 200)', positiveInt)
    .option('--cursor <cursor>', 'resume where an interrupted run stopped (the cursor it printed last)');
  addConnectionOptions(cmd);
  cmd.addHelpText('after', examples('tokenctl keys reseal', 'tokenctl keys reseal --limit 500 --json'));
  cmd.action(async (opts: ResealOptions, command: Command) => {
    const api = connect(command, io);
    const totals: ResealTotals = { resealed: 0, scanned: 0, unreadable: 0, pages: 0, complete: true };
    let cursor = opts.cursor;
    for (;;) {
      const body = readObject(
        await api.post(apiPath('keys', 'reseal'), {
          ...(cursor === undefined ? {} : { cursor }),
          ...(opts.limit === undefined ? {} : { limit: opts.limit }),
        }),
        'reseal answer',
      );
      totals.pages++;
      totals.resealed += Number(body.resealed ?? 0);
      totals.scanned += Number(body.scanned ?? 0);
      totals.unreadable += Number(body.unreadable ?? 0);
      if (body.complete === true || typeof body.cursor !== 'string') break;
      cursor = asText(body.cursor);
      // Progress on stderr, with the cursor to resume from should the run be cut off.
      io.stderr(`${totals.scanned} looked at, ${totals.resealed} resealed (resume: --cursor ${cursor})\n`);
    }
    emit(io, command, totals, () => {
      const unreadable =
        totals.unreadable === 0
          ? ''
          : `${totals.unreadable} values are under a key that is not configured: they stay as they are (tokenctl keys status).\n`;
      return `Resealed ${totals.resealed} of ${totals.scanned} stored values in ${totals.pages} requests.\n${unreadable}`;
    });
  });
}
