/**
 * The skeleton of the `list` commands (`realm list`, `secret list`, `client list`): their options,
 * the connection options, examples in --help, one GET, and the page printed as a table with a
 * footer (or the answer as is with --json).
 */
import type { Command } from 'commander';
import { apiPath, type Query } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { renderTable } from '../output';
import { positiveInt } from '../parse';
import { pageFooter } from '../render';
import { isRecord, readList } from '../shapes';

/** The options every paged list takes, and those of its own. */
export interface ListOptions {
  page?: number;
  pageSize?: number;
  [name: string]: unknown;
}

export interface ListCommandSpec {
  description: string;
  /** The resource, as in GET /api/RESOURCE. */
  resource: 'realm' | 'secret' | 'client' | 'webhook' | 'audit';
  /** Plural, for the footer and --page-size's help: "realms". */
  plural: string;
  /** Whether the route pages (--page, --page-size). */
  paged: boolean;
  /** The subcommand run when its group is given alone (`tokenctl audit`). */
  isDefault?: boolean;
  /** Options of its own, added before the paging options. */
  options?: (cmd: Command) => void;
  /** The query string of the request, from the options (undefined values are left out). */
  query?: (opts: ListOptions) => Query;
  examples: readonly string[];
  headers: readonly string[];
  /** One table row of one list entry; `now` (ms) for relative times. */
  row: (entry: Record<string, unknown>, now: number) => string[];
}

export function registerListCommand(parent: Command, io: CliIo, spec: ListCommandSpec): void {
  const cmd = parent.command('list', { isDefault: spec.isDefault === true }).description(spec.description);
  spec.options?.(cmd);
  if (spec.paged) {
    cmd
      .option('--page <n>', 'page number, from 1', positiveInt)
      .option('--page-size <n>', `${spec.plural} per page`, positiveInt);
  }
  addConnectionOptions(cmd);
  cmd.addHelpText('after', examples(...spec.examples));
  cmd.action(async (_opts: unknown, command: Command) => {
    const opts = command.opts<ListOptions>();
    const api = connect(command, io);
    const query: Query = {
      ...spec.query?.(opts),
      ...(spec.paged ? { page: opts.page, pageSize: opts.pageSize } : {}),
    };
    const body = await api.get(apiPath(spec.resource), query);
    emit(io, command, body, () => {
      const { list, total } = readList(body);
      const now = io.now();
      const rows = list.filter(isRecord).map((entry) => spec.row(entry, now));
      const table = rows.length === 0 ? '' : renderTable([...spec.headers], rows);
      return table + pageFooter(rows.length, total, opts.page ?? 1, opts.pageSize, spec.plural);
    });
  });
}
