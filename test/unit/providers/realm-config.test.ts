import { expect } from 'chai';
import { AppError } from '../../../functions/errors';
import {
  parseRealm,
  parseRealmConfig,
  realmConfigToJson,
  realmIdSchema,
} from '../../../functions/providers/realm-config';
import { referencedKeys, requiredKeys } from '../../../functions/providers/realm-facts';
import type { JsonObject } from '../../../functions/store/types';
import { SEED_REALM } from '../../fakes/seed-realm';

const BASE = SEED_REALM.config as JsonObject;

function with_(changes: JsonObject): JsonObject {
  return { ...BASE, ...changes };
}

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    const appError = err as AppError;
    expect(appError.code).to.equal('INVALID_ARGUMENT');
    expect(appError.status).to.equal(400);
    const issues = (appError.details?.issues ?? []) as Array<{ field: string }>;
    return issues.map((i) => i.field);
  }
  expect.fail('expected a validation error');
}

describe('providers/realm-config', () => {
  it('accepts the seed realm of SPEC §4 unchanged', () => {
    const realm = parseRealm(SEED_REALM);
    expect(realm.id).to.equal('wxgzh');
    expect(realm.comment).to.equal('WeChat Official Account');
    const config = realm.config;
    if (config === undefined) return expect.fail('a config realm');
    expect(config.url).to.equal('https://api.weixin.qq.com/cgi-bin/token');
    expect(config.arguments).to.deep.equal((SEED_REALM.config as JsonObject).arguments);
    expect(config.invalidates_previous).to.equal(true);
    expect(config.overlap_ms).to.equal(300000);
    expect(config.success_values).to.deep.equal([0]);
  });

  it('fills in the defaults', () => {
    const config = parseRealmConfig({
      url: 'https://example.com/token',
      method: 'GET',
      token_path: 'access_token',
      expires_in_path: 'expires_in',
    });
    expect(config).to.deep.include({
      arguments: [],
      content_type: 'json',
      expires_in_unit: 's',
      timeout_ms: 5000,
      invalidates_previous: false,
      overlap_ms: 0,
      transient_error_values: [],
      daily_budget: 1000,
      flush_min_interval_ms: 10000,
      negative_cache_ms: 60000,
      error_hints: {},
      success_values: [],
    });
    expect(config.default_expires_in).to.equal(undefined);
    expect(config.reissue_window_ms).to.equal(undefined);
  });

  it('defaults success_values to [0] only when error_path is set, and keeps an explicit []', () => {
    expect(
      parseRealmConfig(with_({ success_values: undefined as unknown as number })).success_values,
    ).to.deep.equal([0]);
    expect(parseRealmConfig(with_({ success_values: [] })).success_values).to.deep.equal([]);
    expect(parseRealmConfig(with_({ success_values: ['ok', 0, true] })).success_values).to.deep.equal([
      'ok',
      0,
      true,
    ]);
  });

  it('normalises the method to upper case', () => {
    expect(parseRealmConfig(with_({ method: 'post', arguments: [] })).method).to.equal('POST');
  });

  it('gives the same result when its own output is parsed again', () => {
    const once = parseRealmConfig(BASE);
    const json = realmConfigToJson(once);
    expect(parseRealmConfig(json)).to.deep.equal(once);
  });

  it('names every bad field by its path', () => {
    const cases: Array<[JsonObject, string]> = [
      [with_({ url: 'ftp://example.com/x' }), 'config.url'],
      [with_({ url: 'not a url' }), 'config.url'],
      [with_({ url: 'https://user:pw@example.com/token' }), 'config.url'],
      [with_({ method: 'PUT' }), 'config.method'],
      [with_({ arguments: [{ name: 'a', place: 'cookie', value: 'x' }] }), 'config.arguments[0].place'],
      [with_({ arguments: [{ name: '', place: 'url', value: 'x' }] }), 'config.arguments[0].name'],
      [with_({ arguments: [{ name: 'a', place: 'url', value: { x: 1 } }] }), 'config.arguments[0].value'],
      [
        with_({
          arguments: [
            { name: 'a', place: 'url', value: 'x' },
            { name: 'b', place: 'url', value: '$key_10' },
          ],
        }),
        'config.arguments[1].value',
      ],
      [with_({ arguments: [{ name: 'a', place: 'url', value: '$key_0' }] }), 'config.arguments[0].value'],
      [with_({ arguments: [{ name: 'a', place: 'url', value: '${key_12}' }] }), 'config.arguments[0].value'],
      [with_({ arguments: [{ name: 'a', place: 'url', value: '${nope}' }] }), 'config.arguments[0].value'],
      [
        with_({ arguments: [{ name: 'X-A', place: 'header', value: 'a\r\nInjected: 1' }] }),
        'config.arguments[0].value',
      ],
      [with_({ arguments: [{ name: 'X-A', place: 'header', value: 'a\nb' }] }), 'config.arguments[0].value'],
      [with_({ arguments: [{ name: 'X-A\r\nB', place: 'header', value: 'v' }] }), 'config.arguments[0].name'],
      [with_({ arguments: [{ name: 'Bad Name', place: 'header', value: 'v' }] }), 'config.arguments[0].name'],
      [with_({ arguments: [{ name: 'Host', place: 'header', value: 'evil' }] }), 'config.arguments[0].name'],
      [with_({ arguments: [{ name: 'a', place: 'body', value: 'x' }] }), 'config.arguments[0].place'],
      [
        with_({
          method: 'POST',
          arguments: [
            { name: 'a', place: 'body', value: 'x' },
            { name: 'a', place: 'body', value: 'y' },
          ],
        }),
        'config.arguments[1].name',
      ],
      [
        with_({ arguments: [{ name: 'a', place: 'url', value: 'x', extra: true }] }),
        'config.arguments[0].extra',
      ],
      [with_({ token_path: '__proto__.polluted' }), 'config.token_path'],
      [with_({ token_path: 'data.constructor' }), 'config.token_path'],
      [with_({ expires_in_path: 'a.prototype.b' }), 'config.expires_in_path'],
      [with_({ error_path: 'a..b' }), 'config.error_path'],
      [with_({ error_message_path: '' }), 'config.error_message_path'],
      [with_({ content_type: 'xml' }), 'config.content_type'],
      [with_({ expires_in_unit: 'min' }), 'config.expires_in_unit'],
      [with_({ timeout_ms: 50 }), 'config.timeout_ms'],
      [with_({ timeout_ms: 60001 }), 'config.timeout_ms'],
      [with_({ timeout_ms: 1000.5 }), 'config.timeout_ms'],
      [with_({ invalidates_previous: 'yes' }), 'config.invalidates_previous'],
      [with_({ overlap_ms: -1 }), 'config.overlap_ms'],
      [with_({ default_expires_in: 0 }), 'config.default_expires_in'],
      [with_({ transient_error_values: [{}] }), 'config.transient_error_values[0]'],
      [with_({ success_values: 0 }), 'config.success_values'],
      [with_({ daily_budget: 0 }), 'config.daily_budget'],
      [with_({ negative_cache_ms: -5 }), 'config.negative_cache_ms'],
      [with_({ flush_min_interval_ms: 'soon' }), 'config.flush_min_interval_ms'],
      [with_({ reissue_window_ms: -1 }), 'config.reissue_window_ms'],
      [with_({ error_hints: { '40164': 5 } }), 'config.error_hints.40164'],
      [with_({ error_hints: { 'not a code': 'x' } }), 'config.error_hints.not a code'],
      [with_({ expire_in_path: 'expires_in' }), 'config.expire_in_path'],
      [with_({ error_path: undefined as unknown as string, success_values: [0] }), 'config.success_values'],
      [with_({ expires_in_path: undefined as unknown as string }), 'config.expires_in_path'],
    ];
    for (const [config, field] of cases) {
      const json = JSON.parse(JSON.stringify(config)) as JsonObject;
      expect(
        fieldsOf(() => parseRealmConfig(json)),
        field,
      ).to.include(field);
    }
  });

  it('rejects unknown fields at every level, each by name, together with other issues', () => {
    const fields = fieldsOf(() =>
      parseRealm({ id: 'ok', config: { ...BASE, method: 'PUT', colour: 'red' }, owner: 'me' }),
    );
    expect(fields).to.include.members(['owner', 'config.colour', 'config.method']);
  });

  it('rejects a __proto__ key in JSON input instead of following it', () => {
    const json = JSON.parse('{"__proto__": {"polluted": true}}') as JsonObject;
    const fields = fieldsOf(() => parseRealmConfig({ ...BASE, ...json }));
    expect(fields).to.include('config.__proto__');
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });

  it('accepts default_expires_in instead of expires_in_path', () => {
    const config = parseRealmConfig(
      with_({ expires_in_path: undefined as unknown as string, default_expires_in: 3600 }),
    );
    expect(config.default_expires_in).to.equal(3600);
  });

  it('uses the prefix it is given in field names', () => {
    expect(fieldsOf(() => parseRealmConfig(with_({ method: 'PUT' }), 'presets.x'))).to.deep.equal([
      'presets.x.method',
    ]);
  });

  it('checks realm ids and secret keys', () => {
    for (const ok of ['a', 'wxgzh', 'A1', '9lives', 'a.b-c_d', 'x'.repeat(64)]) {
      expect(realmIdSchema.safeParse(ok).success, ok).to.equal(true);
    }
    for (const bad of ['', '-a', '.a', '_a', 'a b', 'a/b', 'x'.repeat(65), 'ü', '*']) {
      expect(realmIdSchema.safeParse(bad).success, bad).to.equal(false);
    }
    expect(fieldsOf(() => parseRealm({ id: '../x', config: BASE }))).to.deep.equal(['id']);
  });

  it('defaults a realm comment to the empty string', () => {
    expect(parseRealm({ id: 'r', config: BASE }).comment).to.equal('');
  });

  it('lists referenced and required keys in key order', () => {
    const config = parseRealmConfig({
      url: 'https://example.com/token',
      method: 'POST',
      content_type: 'form',
      arguments: [
        { name: 'Authorization', place: 'header', value: 'Basic ${basic:key_2:key_1}' },
        { name: 'scope', place: 'body', value: '$key_3', optional: true },
        { name: 'n', place: 'body', value: 5 },
        { name: 'x', place: 'url', value: 'prefix-${key_1}-$key_2' },
      ],
      token_path: 'access_token',
      default_expires_in: 3600,
    });
    expect(referencedKeys(config)).to.deep.equal(['key_1', 'key_2', 'key_3']);
    expect(requiredKeys(config)).to.deep.equal(['key_1', 'key_2']);
    expect(referencedKeys(parseRealmConfig(BASE))).to.deep.equal(['key_1', 'key_2', 'key_3']);
  });
});
