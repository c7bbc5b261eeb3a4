/**
 * The realm side of rotating values: `rotates` and its companions are validated with 400s naming the
 * field, `${refresh_token}` renders like a credential (and is redacted like one), and an answer's
 * new value is read from the configured path (an unusable one is a permanent failure, never stored).
 */
import { expect } from 'chai';
import { AppError } from '../../../functions/errors';
import { extractToken } from '../../../functions/providers/extract';
import { ProviderFailure } from '../../../functions/providers/failure';
import { presetConfig } from '../../../functions/providers/presets';
import { parseRealmConfig, realmConfigToJson } from '../../../functions/providers/realm-config';
import { redactorFor } from '../../../functions/providers/redact';
import { renderTemplate } from '../../../functions/providers/template';
import type { JsonObject } from '../../../functions/store/types';

function oauthJson(changes: JsonObject = {}): JsonObject {
  const config = presetConfig('oauth2_refresh_token');
  if (config === undefined) throw new Error('no preset');
  return { ...realmConfigToJson(config), url: 'https://auth.example.com/token', ...changes };
}

function fieldsOf(json: JsonObject): string[] {
  try {
    parseRealmConfig(json);
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    expect((err as AppError).status).to.equal(400);
    return ((err as AppError).details?.issues as Array<{ field: string }>).map((i) => i.field);
  }
  throw new Error('expected a 400');
}

describe('realm config: rotates', () => {
  it('accepts the presets, and names each bad field', () => {
    expect(parseRealmConfig(oauthJson()).rotates).to.deep.equal({ refresh_token: 'refresh_token' });
    expect(fieldsOf(oauthJson({ rotates: { refresh_token: 'key_1' } }))).to.deep.equal([
      'config.rotates.refresh_token',
    ]);
    expect(fieldsOf(oauthJson({ rotates: { 'a..b': 'refresh_token' } }))).to.deep.equal([
      'config.rotates.a..b',
    ]);
    const unreferenced = oauthJson({
      arguments: [{ name: 'grant_type', place: 'body', value: 'refresh_token' }],
    });
    expect(fieldsOf(unreferenced)).to.deep.equal(['config.rotates.refresh_token']);
    const { rotates: _r, ...without } = oauthJson();
    expect(fieldsOf({ ...without, rotation_recovery: 'wechat_authorizer_list' })).to.include.members([
      'config.rotation_rejected_values',
      'config.rotation_recovery',
    ]);
    expect(fieldsOf(oauthJson({ rotation_recovery: 'somewhere_else' }))).to.deep.equal([
      'config.rotation_recovery',
    ]);
  });

  it('${refresh_token} renders the value, is refused when missing, and is redacted like a credential', () => {
    expect(
      renderTemplate('${refresh_token}', { refresh_token: 'rt-value-1234567' }, 'refresh_token'),
    ).to.equal('rt-value-1234567');
    try {
      renderTemplate('${refresh_token}', {}, 'refresh_token');
      expect.fail('expected a refusal');
    } catch (err) {
      expect((err as AppError).details?.field).to.equal('refresh_token');
    }
    const redact = redactorFor(parseRealmConfig(oauthJson()), {
      key_1: 'client-id-1',
      refresh_token: 'rt-value-1234567',
    });
    expect(redact('echoed rt-value-1234567 back')).to.not.include('rt-value');
  });

  it('reads the new value from the answer; absent is no rotation; unusable is a permanent failure', () => {
    const config = parseRealmConfig(oauthJson());
    const body = (extra: JsonObject): string =>
      JSON.stringify({ access_token: 'at-1', expires_in: 60, ...extra });
    expect(extractToken(config, 200, body({ refresh_token: 'rt-2' })).rotated).to.deep.equal({
      refresh_token: 'rt-2',
    });
    expect(extractToken(config, 200, body({})).rotated).to.deep.equal({});
    expect(() => extractToken(config, 200, body({ refresh_token: 42 }))).to.throw(ProviderFailure);
    expect(() => extractToken(config, 200, body({ refresh_token: 'a\nb' }))).to.throw(ProviderFailure);
    // invalid_grant is the preset's rejection, answered as the provider's code.
    try {
      extractToken(config, 400, JSON.stringify({ error: 'invalid_grant' }));
      expect.fail('expected a failure');
    } catch (err) {
      expect((err as ProviderFailure).providerCode).to.equal('invalid_grant');
    }
  });
});
