/**
 * The skeleton of the commands that name one resource by its id (`realm get|delete`, `secret
 * get|delete`, `client revoke`): positional ids checked before any request, the connection
 * options, examples in --help, one request, the answer printed.
 */
import type { Command } from 'commander';
import type { ApiClient } from '../api';
import { addConnectionOptions, connect, examples } from '../common';
import type { CliIo } from '../io';
import { checkId } from '../parse';

export interface IdArgument {
  name: string;
  help: string;
  /** Turns the typed value into an id, or throws a usage error (exit 2). */
  check: (value: string) => string;
}

export interface IdCommandSpec {
  name: string;
  description: string;
  args: readonly IdArgument[];
  examples: readonly string[];
  /** Sends the request and prints its answer. */
  run: (api: ApiClient, ids: string[], command: Command) => Promise<void>;
}

/** The usual id rule (that of realm ids and secret keys), named in the error as `what`. */
export function idArgument(name: string, help: string, what: string): IdArgument {
  return { name, help, check: (value) => checkId(value, what) };
}

export function registerIdCommand(parent: Command, io: CliIo, spec: IdCommandSpec): void {
  const cmd = parent.command(spec.name).description(spec.description);
  for (const arg of spec.args) cmd.argument(`<${arg.name}>`, arg.help);
  addConnectionOptions(cmd);
  cmd.addHelpText('after', examples(...spec.examples));
  cmd.action(async (...params: unknown[]) => {
    // commander passes the positional values, then the options, then the command itself.
    const command = params[params.length - 1] as Command;
    const ids = spec.args.map((arg, i) => arg.check(String(params[i])));
    await spec.run(connect(command, io), ids, command);
  });
}
