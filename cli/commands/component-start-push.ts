/** `tokenctl component start-push R K`: asks WeChat to push the component's ticket now. */
import type { Command } from 'commander';
import { apiPath } from '../api';
import { addConnectionOptions, connect, emit, examples } from '../common';
import type { CliIo } from '../io';
import { readObject } from '../shapes';

export function registerComponentStartPush(component: Command, io: CliIo): void {
  const cmd = component
    .command('start-push')
    .argument('<realm>', 'the component realm (preset wechat_component)')
    .argument('<key>', 'the component secret')
    .description('ask WeChat to push the component_verify_ticket now (api_start_push_ticket)');
  addConnectionOptions(cmd);
  cmd.addHelpText('after', examples('tokenctl component start-push wx_open platform'));
  cmd.action(async (realm: string, key: string, _opts: unknown, command: Command) => {
    const api = connect(command, io);
    const body = readObject(
      await api.post(apiPath('component', realm, key, 'start-push'), {}),
      'start-push answer',
    );
    emit(io, command, body, () =>
      body.start_push === 'recently_sent'
        ? `A push was requested less than 10 minutes ago; nothing sent.\n`
        : `Asked WeChat to push the ticket of ${realm}/${key}.\n`,
    );
  });
}
