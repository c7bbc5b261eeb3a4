/**
 * `tokenctl component sync R K`: creates and recovers the authorizer secrets of component R/K from
 * WeChat's authorizer list, calling POST /api/component/R/K/sync again with the answered cursor
 * until it answers complete, and prints the summed counts.
 */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { asText, readObject } from '../shapes';

export interface SyncTotals {
  seen: number;
  created: number;
  recovered: number;
  unchanged: number;
  requests: number;
  complete: true;
}

const COUNTS = ['seen', 'created', 'recovered', 'unchanged'] as const;

export function registerComponentSync(component: Command, io: CliIo): void {
  const cmd = component
    .command('sync')
    .argument('<realm>', 'the component realm (preset wechat_component)')
    .argument('<key>', 'the component secret')
    .description("create missing authorizer secrets and recover lost refresh tokens from WeChat's list")
    .option('--cursor <cursor>', 'resume where an interrupted run stopped (the cursor it printed last)');
  addConnectionOptions(cmd);
  cmd.addHelpText('after', examples('tokenctl component sync wx_open platform'));
  cmd.action(async (realm: string, key: string, opts: { cursor?: string }, command: Command) => {
    const api = connect(command, io);
    const totals: SyncTotals = {
      seen: 0,
      created: 0,
      recovered: 0,
      unchanged: 0,
      requests: 0,
      complete: true,
    };
    let cursor = opts.cursor;
    for (;;) {
      const body = readObject(
        await api.post(apiPath('component', realm, key, 'sync'), cursor === undefined ? {} : { cursor }),
        'sync answer',
      );
      totals.requests++;
      for (const name of COUNTS) totals[name] += Number(body[name] ?? 0);
      if (body.complete === true || typeof body.cursor !== 'string') break;
      cursor = asText(body.cursor);
      io.stderr(
        `${totals.seen} seen, ${totals.created} created, ${totals.recovered} recovered (resume: --cursor ${cursor})\n`,
      );
    }
    emit(
      io,
      command,
      totals,
      () =>
        `Synced ${totals.seen} authorizers in ${totals.requests} requests: ${totals.created} created, ` +
        `${totals.recovered} recovered, ${totals.unchanged} unchanged.\n`,
    );
  });
}
