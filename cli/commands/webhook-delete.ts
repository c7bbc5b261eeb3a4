/** `tokenctl webhook delete <id>` (DELETE /api/webhook/:id). */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { emit } from '../common';
import { usageError } from '../errors';
import type { CliIo } from '../io';
import { registerIdCommand } from './id-command';

function webhookId(value: string): string {
  const id = value.trim();
  if (!/^wh_[A-Za-z0-9_-]{22}$/.test(id))
    throw usageError(`Not a webhook id: ${id} (see \`tokenctl webhook list\`).`);
  return id;
}

export function registerWebhookDelete(webhook: Command, io: CliIo): void {
  registerIdCommand(webhook, io, {
    name: 'delete',
    description: 'delete a webhook (no more deliveries to it)',
    args: [{ name: 'id', help: 'webhook id (see `tokenctl webhook list`)', check: webhookId }],
    examples: ['tokenctl webhook delete wh_0123456789abcdefABCDEF'],
    run: async (api, [id = ''], command) => {
      const body = await api.delete(apiPath('webhook', id));
      emit(io, command, body ?? { ok: true }, () => `Deleted webhook ${id}.\n`);
    },
  });
}
