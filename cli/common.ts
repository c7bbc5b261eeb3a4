/**
 * What every command shares: the connection options (--url, --admin-key, --json, given before or
 * after the subcommand), turning them and the environment into an ApiClient, and printing a result as
 * JSON or as text.
 */
import type { Command } from 'commander';
import { ApiClient } from './api';
import { usageError } from './errors';
import type { CliIo } from './io';
import { printJson } from './output';
import { readObject, type JsonRecord } from './shapes';

interface ConnectionFlags {
  url?: string;
  adminKey?: string;
  clientKey?: string;
  json?: boolean;
}

export interface ConnectionOptionSet {
  /** false for `realm create`, whose --url is the provider's URL (the server URL comes from before the subcommand or TOKENCTL_URL). */
  serverUrl?: boolean;
  /** `token get` also accepts a client key. */
  clientKey?: boolean;
}

export const URL_HELP = 'token-server base URL (default: $TOKENCTL_URL)';
export const ADMIN_KEY_HELP = 'admin key (default: $TOKENCTL_ADMIN_KEY, which keeps it out of argv)';
export const JSON_HELP = "print the server's JSON answer on stdout, and nothing else there";

/** Adds --url, --admin-key (and --client-key) and --json to a command. */
export function addConnectionOptions(cmd: Command, set: ConnectionOptionSet = {}): Command {
  if (set.serverUrl !== false) cmd.option('--url <url>', URL_HELP);
  cmd.option('--admin-key <key>', ADMIN_KEY_HELP);
  if (set.clientKey === true) {
    cmd.option('--client-key <key>', 'client key instead of the admin key (default: $TOKENCTL_CLIENT_KEY)');
  }
  cmd.option('--json', JSON_HELP);
  return cmd;
}

function rootOf(cmd: Command): Command {
  let root = cmd;
  while (root.parent !== null) root = root.parent;
  return root;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** --json after the subcommand or before it. */
function isJson(cmd: Command): boolean {
  return cmd.opts<ConnectionFlags>().json === true || rootOf(cmd).opts<ConnectionFlags>().json === true;
}

/**
 * The API client for a command. Flags win over the environment, and flags after the subcommand over
 * flags before it. A missing URL or key is a usage error (exit 2): no request is made.
 */
export function connect(cmd: Command, io: CliIo, set: ConnectionOptionSet = {}): ApiClient {
  const leaf = cmd.opts<ConnectionFlags>();
  const root = rootOf(cmd).opts<ConnectionFlags>();
  const url =
    nonEmpty(set.serverUrl === false ? undefined : leaf.url) ??
    nonEmpty(root.url) ??
    nonEmpty(io.env.TOKENCTL_URL);
  if (url === undefined) {
    throw usageError(
      set.serverUrl === false
        ? 'No server URL: set TOKENCTL_URL, or pass --url before the subcommand (tokenctl --url URL realm create ...).'
        : 'No server URL: pass --url URL or set TOKENCTL_URL.',
    );
  }
  const adminFlag = nonEmpty(leaf.adminKey) ?? nonEmpty(root.adminKey);
  const clientFlag = set.clientKey === true ? nonEmpty(leaf.clientKey) : undefined;
  if (adminFlag !== undefined && clientFlag !== undefined) {
    throw usageError('Pass either --admin-key or --client-key, not both.');
  }
  const bearer =
    clientFlag ??
    adminFlag ??
    (set.clientKey === true ? nonEmpty(io.env.TOKENCTL_CLIENT_KEY) : undefined) ??
    nonEmpty(io.env.TOKENCTL_ADMIN_KEY);
  if (bearer === undefined) {
    throw usageError(
      set.clientKey === true
        ? 'No key: set TOKENCTL_CLIENT_KEY or TOKENCTL_ADMIN_KEY (or pass --client-key / --admin-key).'
        : 'No admin key: set TOKENCTL_ADMIN_KEY (or pass --admin-key).',
    );
  }
  return new ApiClient({ baseUrl: url, bearer, fetch: io.fetch });
}

/** The result of a command: the server's JSON with --json, else the text that `human` renders. */
export function emit(io: CliIo, cmd: Command, body: unknown, human: () => string): void {
  if (isJson(cmd)) printJson(io, body);
  else io.stdout(human());
}

/** `\nExamples:\n  $ tokenctl ...` for addHelpText('after', ...). */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/**
 * The result of a command about one resource (a realm, a secret, a client): with --json the resource
 * itself (unwrapped, should an older server still answer `{"data": ..., "success": "ok"}`), else the
 * text that `human` renders from it.
 */
export function emitResource(
  io: CliIo,
  cmd: Command,
  body: unknown,
  what: string,
  human: (resource: JsonRecord) => string,
): void {
  const resource = readObject(body, what);
  emit(io, cmd, resource, () => human(resource));
}
