/** `tokenctl status`: every secret's token timing, last refresh and error, and today's upstream calls. */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { formatTime, renderTable, truncate } from '../output';
import { asText, field, isRecord, readList } from '../shapes';

/** `UPSTREAM_ERROR: invalid appid` from {code, message, ...}, a string, or nothing (`-`). */
function formatLastError(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (isRecord(value)) {
    const code = asText(value.code);
    const message = asText(field(value, 'message', 'provider_message'));
    return truncate([code, message].filter((s) => s !== '').join(': ') || asText(value), 60);
  }
  return truncate(asText(value), 60);
}

const STATUS_HEADERS = [
  'REALM',
  'KEY',
  'EXPIRES',
  'REFRESH DUE',
  'LAST REFRESH',
  'LAST ERROR',
  'CALLS TODAY',
];

function statusRows(body: unknown, now: number): string[][] {
  return readList(body)
    .list.filter(isRecord)
    .map((s) => [
      asText(s.realm),
      asText(s.key),
      formatTime(field(s, 'expires_at'), now),
      formatTime(field(s, 'refresh_at'), now),
      formatTime(field(s, 'last_refresh_at'), now),
      formatLastError(field(s, 'last_error')),
      asText(field(s, 'calls_today') ?? 0),
    ]);
}

export function registerStatus(program: Command, io: CliIo): void {
  const cmd = program
    .command('status')
    .description("every secret's token: expiry, next refresh, last error, calls today");
  addConnectionOptions(cmd);
  cmd.addHelpText(
    'after',
    examples('tokenctl status', "tokenctl status --json | jq '.data.list[] | select(.last_error)'"),
  );
  cmd.action(async (_opts: unknown, command: Command) => {
    const api = connect(command, io);
    const body = await api.get(apiPath('status'));
    emit(io, command, body, () => {
      const rows = statusRows(body, io.now());
      return rows.length === 0 ? 'No secrets.\n' : renderTable(STATUS_HEADERS, rows);
    });
  });
}
