/**
 * The tokenctl program: builds the commander tree with all I/O passed in, and runs it to an exit
 * code. Tests call runCli(argv, fakeIo) and never spawn the binary; index.ts only wires the process.
 */
import { Command, CommanderError } from 'commander';
import { ADMIN_KEY_HELP, JSON_HELP, URL_HELP } from './common';
import { registerAuditHash } from './commands/audit-hash';
import { registerAuditList } from './commands/audit-list';
import { registerClientCreate } from './commands/client-create';
import { registerClientList } from './commands/client-list';
import { registerClientRevoke } from './commands/client-revoke';
import { registerKeysReseal } from './commands/keys-reseal';
import { registerComponentAuthorizeUrl } from './commands/component-authorize-url';
import { registerComponentStartPush } from './commands/component-start-push';
import { registerComponentSync } from './commands/component-sync';
import { registerKeysStatus } from './commands/keys-status';
import { registerRealmCreate } from './commands/realm-create';
import { registerRealmDelete } from './commands/realm-delete';
import { registerRealmGet } from './commands/realm-get';
import { registerRealmList } from './commands/realm-list';
import { registerRealmPresets } from './commands/realm-presets';
import { registerSecretAdd } from './commands/secret-add';
import { registerSecretDelete } from './commands/secret-delete';
import { registerSecretGet } from './commands/secret-get';
import { registerSecretList } from './commands/secret-list';
import { registerStatus } from './commands/status';
import { registerTokenGet } from './commands/token-get';
import { registerWebhookAdd } from './commands/webhook-add';
import { registerWebhookDelete } from './commands/webhook-delete';
import { registerWebhookList } from './commands/webhook-list';
import { CliError, EXIT } from './errors';
import type { CliIo } from './io';
import { formatError } from './output';

export interface ProgramOptions {
  version?: string;
}

const ROOT_HELP = `
Environment:
  TOKENCTL_URL          token-server base URL (instead of --url)
  TOKENCTL_ADMIN_KEY    admin key (instead of --admin-key; keeps it out of argv)
  TOKENCTL_CLIENT_KEY   client key for \`token get\` (instead of --client-key)
  TOKENCTL_KEY_1..9     credential values for \`secret add --from-env\`

Exit codes:
  0  success
  1  the server answered an error
  2  usage or validation error (no request was made)
  3  server unreachable, or authentication failed

Examples:
  $ export TOKENCTL_URL=http://127.0.0.1:8080 TOKENCTL_ADMIN_KEY=...
  $ tokenctl realm create wecom_main --preset wecom
  $ tokenctl secret add --realm wecom_main --key app1 --stdin < wecom-app1.env
  $ TOKEN=$(tokenctl token get --realm wecom_main --key app1)
  $ tokenctl status
`;

/** A group command (`realm`, `secret`, ...) that only holds subcommands. */
function group(program: Command, name: string, description: string): Command {
  return program.command(name).description(description);
}

export function buildProgram(io: CliIo, options: ProgramOptions = {}): Command {
  const program = new Command('tokenctl');
  // Set before any subcommand exists: .command() copies these settings to each subcommand.
  program
    .description('Admin CLI of token-server: realms, secrets, client keys, tokens and status.')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
    })
    .showHelpAfterError('(add --help for usage)')
    .option('--url <url>', URL_HELP)
    .option('--admin-key <key>', ADMIN_KEY_HELP)
    .option('--json', JSON_HELP)
    .addHelpText('after', ROOT_HELP);
  if (options.version !== undefined) program.version(options.version, '-V, --version');

  const realm = group(program, 'realm', 'realms: how to fetch a token from a provider');
  registerRealmCreate(realm, io);
  registerRealmList(realm, io);
  registerRealmGet(realm, io);
  registerRealmDelete(realm, io);
  registerRealmPresets(realm, io);

  const secret = group(program, 'secret', 'secrets: credentials at a provider');
  registerSecretAdd(secret, io);
  registerSecretList(secret, io);
  registerSecretGet(secret, io);
  registerSecretDelete(secret, io);

  const client = group(program, 'client', 'client keys for apps');
  registerClientCreate(client, io);
  registerClientList(client, io);
  registerClientRevoke(client, io);

  const token = group(program, 'token', 'tokens');
  registerTokenGet(token, io);

  const keys = group(program, 'keys', 'master keys: counts per key id, and reseal after a rotation');
  registerKeysStatus(keys, io);
  registerKeysReseal(keys, io);

  const component = group(
    program,
    'component',
    'WeChat Open Platform components: authorizers, ticket pushes',
  );
  registerComponentSync(component, io);
  registerComponentStartPush(component, io);
  registerComponentAuthorizeUrl(component, io);

  const webhook = group(program, 'webhook', 'signed event deliveries');
  registerWebhookAdd(webhook, io);
  registerWebhookList(webhook, io);
  registerWebhookDelete(webhook, io);

  const audit = group(program, 'audit', 'the audit log (alone: the newest records)');
  registerAuditList(audit, io);
  registerAuditHash(audit, io);

  registerStatus(program, io);
  return program;
}

/** Runs one command line (without `node tokenctl`) and answers its exit code; never throws. */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  options: ProgramOptions = {},
): Promise<number> {
  try {
    await buildProgram(io, options).parseAsync([...argv], { from: 'user' });
    return EXIT.OK;
  } catch (err) {
    return reportError(io, err);
  }
}

function reportError(io: CliIo, err: unknown): number {
  // Commander has already printed its message (or the help) through configureOutput.
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  if (err instanceof CliError) {
    io.stderr(formatError(err));
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr(`error: INTERNAL: ${message}\n`);
  return EXIT.SERVER_ERROR;
}
