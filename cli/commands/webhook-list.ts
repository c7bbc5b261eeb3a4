/** `tokenctl webhook list`: the webhooks (never their secrets). */
import type { Command } from 'commander';
import type { CliIo } from '../io';
import { formatTime } from '../output';
import { asText, field } from '../shapes';
import { registerListCommand } from './list-command';

export function registerWebhookList(webhook: Command, io: CliIo): void {
  registerListCommand(webhook, io, {
    description: 'list webhooks (without their secrets)',
    resource: 'webhook',
    plural: 'webhooks',
    paged: false,
    examples: ['tokenctl webhook list', 'tokenctl webhook list --json'],
    headers: ['ID', 'URL', 'EVENTS', 'CREATED'],
    row: (w, now) => [
      asText(w.id),
      asText(w.url),
      Array.isArray(w.events) ? w.events.map(asText).join(',') : '',
      formatTime(field(w, 'created_at'), now),
    ],
  });
}
