/**
 * `tokenctl component authorize-url R K --redirect URL [--auth-type N]`: prints the authorization
 * page URL (with a fresh pre_auth_code) to send an account's admin to.
 */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { asText, readObject } from '../shapes';

export function registerComponentAuthorizeUrl(component: Command, io: CliIo): void {
  const cmd = component
    .command('authorize-url')
    .argument('<realm>', 'the component realm (preset wechat_component)')
    .argument('<key>', 'the component secret')
    .description('the authorization page URL with a fresh pre_auth_code')
    .requiredOption('--redirect <url>', 'where WeChat sends the admin back (on the authorization domain)')
    .option('--auth-type <n>', '1 Official Accounts, 2 Mini Programs, 3 both (default)');
  addConnectionOptions(cmd);
  cmd.addHelpText(
    'after',
    examples('tokenctl component authorize-url wx_open platform --redirect https://example.com/wechat/done'),
  );
  cmd.action(
    async (realm: string, key: string, opts: { redirect: string; authType?: string }, command: Command) => {
      const api = connect(command, io);
      const body = readObject(
        await api.get(apiPath('component', realm, key, 'authorize-url'), {
          redirect_uri: opts.redirect,
          ...(opts.authType === undefined ? {} : { auth_type: opts.authType }),
        }),
        'authorize-url answer',
      );
      emit(io, command, body, () => `${asText(body.url)}\n`);
    },
  );
}
