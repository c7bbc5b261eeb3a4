/** `tokenctl webhook add` (alias `create`): a signed webhook (POST /api/webhook); its secret is shown once. */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emitResource, examples } from '../common';
import type { CliIo } from '../io';
import { renderFields } from '../output';
import { repeatable } from '../parse';
import { asText } from '../shapes';

interface Options {
  url: string;
  event: string[];
  comment?: string;
}

export function registerWebhookAdd(webhook: Command, io: CliIo): void {
  const cmd = webhook
    .command('add')
    .alias('create')
    .description('send signed events to a URL (the signing secret is shown once)')
    .requiredOption('--url <url>', 'where events are POSTed (https; the same guard as provider URLs)')
    .requiredOption(
      '--event <type>',
      'an event type, repeatable: token.refresh_failed, token.recovered, ...',
      repeatable((v) => v.trim()),
    )
    .option('--comment <text>', 'what it is for, for people');
  // --url is the webhook's: the server URL comes from TOKENCTL_URL or --url before the subcommand.
  addConnectionOptions(cmd, { serverUrl: false });
  cmd.addHelpText(
    'after',
    examples(
      'tokenctl webhook add --url https://ops.example.com/hooks/token --event token.refresh_failed --event token.recovered',
      'tokenctl webhook add --url https://ops.example.com/h --event token.recovered --json | jq -r .secret',
    ),
  );
  cmd.action(async (_opts: unknown, command: Command) => {
    const opts = command.opts<Options>();
    const body = await connect(command, io, { serverUrl: false }).post(apiPath('webhook'), {
      url: opts.url,
      events: opts.event,
      ...(opts.comment === undefined ? {} : { comment: opts.comment }),
    });
    emitResource(io, command, body, 'a webhook', (w) => {
      return (
        renderFields([
          ['id', asText(w.id)],
          ['url', asText(w.url)],
          ['events', Array.isArray(w.events) ? w.events.map(asText) : []],
          ['secret', asText(w.secret)],
        ]) +
        '\nThis signing secret is shown only once: store it now. Verify Token-Server-Signature with it.\n'
      );
    });
  });
}
