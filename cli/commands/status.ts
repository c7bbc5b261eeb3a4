/** `tokenctl status`: every secret's token timing, last refresh and error, and today's upstream calls. */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { formatTime, renderTable, truncate } from '../output';
import { idOption } from '../parse';
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

/** ", 12 min old" from a row's ticket_age_ms (nothing when there is no ticket). */
function ticketAge(row: Record<string, unknown>): string {
  const age = field(row, 'ticket_age_ms');
  return typeof age === 'number' ? `, ${Math.round(age / 60_000)} min old` : '';
}

/** "; tenants: 12 authorized, 1 unauthorized, 0 needing re-authorization" from a platform row's counts. */
function tenantsNote(row: Record<string, unknown>): string {
  const t = field(row, 'tenants');
  if (!isRecord(t)) return '';
  return `; tenants: ${asText(t.authorized)} authorized, ${asText(t.unauthorized)} unauthorized, ${asText(t.needs_reauthorization)} needing re-authorization`;
}

/**
 * What to do about a row, below the table: a platform secret's pushed ticket (ok, stale, expired,
 * missing) and its tenants by state, a platform customer ended by the platform, the IP allow-list fix with the refused IP,
 * and another system fetching a WeChat token with the same appid (the status row's foreign_use).
 */
export function statusNotes(body: unknown): string[] {
  const notes: string[] = [];
  for (const s of readList(body).list.filter(isRecord)) {
    const name = `${asText(s.realm)}/${asText(s.key)}`;
    const error = field(s, 'last_error');
    if (isRecord(error) && typeof error.fix === 'string') notes.push(`${name}: ${error.fix}`);
    const ticket = field(s, 'ticket_state');
    if (typeof ticket === 'string')
      notes.push(`${name}: pushed ticket ${ticket}${ticketAge(s)}${tenantsNote(s)}`);
    const tenant = field(s, 'authorizer_state');
    if (tenant === 'unauthorized')
      notes.push(`${name}: unauthorized by the platform (its token route answers 410)`);
    const foreign = field(s, 'foreign_use');
    if (isRecord(foreign)) {
      notes.push(
        `${name}: another system fetches this appid's token (and kills the broker's): WeChat counted ${asText(foreign.wechat_used)} fetches on ${asText(foreign.day)} (UTC+8), the broker made ${asText(foreign.broker_calls)}`,
      );
    }
  }
  return notes;
}

export function registerStatus(program: Command, io: CliIo): void {
  const cmd = program
    .command('status')
    .description("every secret's token: expiry, next refresh, last error, calls today");
  cmd.option('--realm <realm>', 'only the secrets of this realm', idOption);
  addConnectionOptions(cmd);
  cmd.addHelpText(
    'after',
    examples(
      'tokenctl status',
      'tokenctl status --realm wecom_suites',
      "tokenctl status --json | jq '.data.list[] | select(.last_error)'",
    ),
  );
  cmd.action(async (opts: { realm?: string }, command: Command) => {
    const api = connect(command, io);
    const body = await api.get(
      apiPath('status'),
      opts.realm === undefined ? undefined : { realm: opts.realm },
    );
    emit(io, command, body, () => {
      const rows = statusRows(body, io.now());
      if (rows.length === 0) return 'No secrets.\n';
      const notes = statusNotes(body);
      return renderTable(STATUS_HEADERS, rows) + (notes.length === 0 ? '' : `\n${notes.join('\n')}\n`);
    });
  });
}
