/**
 * Rotating values through the engine in one process (memory store, a manual clock), against fakes
 * that speak the providers' formats and rotate refresh tokens by a chosen reading
 * (test/fakes/refresh-ledger.ts):
 * - OAuth2 (preset oauth2_refresh_token), strict reading: four lifetimes, each refresh presents the
 *   value the previous answer brought, 0 invalid_grant;
 * - OAuth2, strict reading, the refresh token rotated behind the broker's back (an answer lost for
 *   good, and nothing left to recover it from): every value tried once, then 409
 *   NEEDS_REAUTHORIZATION, remembered with no further upstream call, cleared by re-saving the secret;
 * - OAuth2, grace reading (the old value valid a while after it rotated): the same loss is harmless;
 * - WeChat authorizer (preset wechat_authorizer), strict reading: the broker's call times out while
 *   the fake rotates (the answer is held, as if lost): the next attempt gets 61023, the broker finds
 *   the current value in api_get_authorizer_list, stores it and retries: the app gets a token.
 */
import { expect } from 'chai';
import { ManualClock } from '../../../functions/clock';
import { TokenEngine } from '../../../functions/engine/engine';
import { presetConfig } from '../../../functions/providers/presets';
import { realmConfigToJson } from '../../../functions/providers/realm-config';
import type { MemoryStore } from '../../../functions/store/memory/memory-store';
import { fetchToken } from '../../../functions/providers/upstream';
import type { JsonObject } from '../../../functions/store/types';
import { freshState } from '../../../functions/token/decide';
import { startOAuth2RotatingFake, type OAuth2RotatingFake } from '../../fakes/oauth2-rotating';
import { startWechatAuthorizersFake, type WechatAuthorizersFake } from '../../fakes/wechat-authorizers';
import { engineWith, newStore, rejection } from './engine-harness';

const clock = new ManualClock(Date.UTC(2026, 11, 6, 12, 0, 0));
const HOUR = 3_600_000;

function presetOn(name: string, url: string, extra: JsonObject = {}): JsonObject {
  const config = presetConfig(name);
  if (config === undefined) throw new Error(`no preset ${name}`);
  return { ...realmConfigToJson(config), url, ...extra };
}

async function put(
  store: MemoryStore,
  realm: string,
  key: string,
  config: JsonObject,
  values: Record<string, string>,
  parent?: string,
): Promise<void> {
  const now = clock.now();
  if ((await store.getRealm(realm)) === null) {
    await store.putRealm({ id: realm, comment: '', config, createdAt: now, updatedAt: now });
  }
  const rev = `rev-${now}-${Math.random()}`;
  await store.putSecret(
    { realm, key, values, ...(parent === undefined ? {} : { parent }), rev, createdAt: now, updatedAt: now },
    (cur) => freshState(realm, key, rev, cur),
  );
}

/** The engine over the store, calling the fakes for real (fetchToken). */
function engineOn(store: MemoryStore): TokenEngine {
  return engineWith(store, clock, fetchToken, { instanceId: 'rotating-test' });
}

describe('engine: rotating values (refresh tokens)', function () {
  this.timeout(20_000);

  describe('oauth2_refresh_token', () => {
    let fake: OAuth2RotatingFake;
    let store: MemoryStore;
    let engine: TokenEngine;
    const secretOf = (refreshToken: string): Record<string, string> => ({
      key_1: fake.client.id,
      key_2: fake.client.secret,
      refresh_token: refreshToken,
    });

    afterEach(async () => {
      await store.close();
      await fake.close();
    });

    async function setUp(reading: 'strict' | 'grace'): Promise<void> {
      fake = await startOAuth2RotatingFake(reading);
      store = newStore(clock);
      engine = engineOn(store);
      await put(
        store,
        'oauth',
        'user-1',
        presetOn('oauth2_refresh_token', fake.url),
        secretOf(fake.authorize('g1')),
      );
    }

    it('strict reading: each refresh presents the value the last answer brought (0 invalid_grant)', async () => {
      await setUp('strict');
      const tokens = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const served = await engine.getToken({ realm: 'oauth', key: 'user-1' });
        expect(served.source).to.equal('upstream');
        tokens.add(served.token);
        clock.advance(HOUR);
      }
      expect(tokens.size).to.equal(4);
      expect(fake.ledger.refreshes('g1')).to.equal(4);
      expect(fake.ledger.rejections('g1')).to.equal(0);
    });

    it('strict reading, value rotated away with nothing to recover it: 409 NEEDS_REAUTHORIZATION, remembered', async () => {
      await setUp('strict');
      await engine.getToken({ realm: 'oauth', key: 'user-1' });
      // A refresh the broker never heard the answer of: the fake rotated, the broker's value is dead.
      const held = fake.ledger.current('g1') ?? '';
      fake.ledger.refresh('g1', held);
      clock.advance(HOUR);
      const err = await rejection(engine.getToken({ realm: 'oauth', key: 'user-1' }));
      expect(err.code).to.equal('NEEDS_REAUTHORIZATION');
      expect(err.status).to.equal(409);
      expect(JSON.stringify(err.toBody())).to.not.include(held);
      // Tried: the current value, then the previous one (the one the secret was saved with).
      expect(fake.ledger.rejections('g1')).to.equal(2);
      const calls = fake.calls();
      clock.advance(HOUR);
      expect((await rejection(engine.getToken({ realm: 'oauth', key: 'user-1' }))).code).to.equal(
        'NEEDS_REAUTHORIZATION',
      );
      expect(fake.calls()).to.equal(calls);
      // Authorized again and re-saved: served at once.
      await put(
        store,
        'oauth',
        'user-1',
        presetOn('oauth2_refresh_token', fake.url),
        secretOf(fake.authorize('g1')),
      );
      expect((await engine.getToken({ realm: 'oauth', key: 'user-1' })).source).to.equal('upstream');
    });

    it('grace reading: the same loss is harmless (the value it has still works once)', async () => {
      await setUp('grace');
      await engine.getToken({ realm: 'oauth', key: 'user-1' });
      fake.ledger.refresh('g1', fake.ledger.current('g1') ?? '');
      clock.advance(HOUR);
      expect((await engine.getToken({ realm: 'oauth', key: 'user-1' })).source).to.equal('upstream');
      clock.advance(HOUR);
      expect((await engine.getToken({ realm: 'oauth', key: 'user-1' })).source).to.equal('upstream');
      expect(fake.ledger.rejections('g1')).to.equal(0);
    });
  });

  describe('wechat_authorizer', () => {
    let fake: WechatAuthorizersFake;
    let store: MemoryStore;

    afterEach(async () => {
      await store.close();
      await fake.close();
    });

    it('strict reading, an answer lost mid-rotation: 61023 recovered from api_get_authorizer_list', async () => {
      fake = await startWechatAuthorizersFake({ reading: 'strict' });
      store = newStore(clock);
      const engine = engineOn(store);
      const component = presetOn('wechat_component', `${fake.url}/cgi-bin/component/api_component_token`);
      // The component's pushed ticket is not this test's concern: its realm leaves it out.
      component.arguments = (component.arguments as JsonObject[]).filter(
        (a) => a.name !== 'component_verify_ticket',
      );
      await put(store, 'wx_component', 'comp', component, {
        key_1: fake.component.appid,
        key_2: fake.component.secret,
      });
      const authorizer = fake.authorize();
      await put(
        store,
        'wx_authorizers',
        authorizer.appid,
        presetOn('wechat_authorizer', `${fake.url}/cgi-bin/component/api_authorizer_token`, {
          timeout_ms: 300,
        }),
        { key_1: authorizer.appid, refresh_token: authorizer.refreshToken },
        'wx_component/comp',
      );
      fake.holdAuthorizerCalls(1);
      const served = await engine.getToken({ realm: 'wx_authorizers', key: authorizer.appid });
      expect(served.source).to.equal('upstream');
      expect(fake.issued.has(served.token)).to.equal(true);
      // The first call rotated and timed out; the second got 61023; the list gave the value back.
      expect(fake.heldCount()).to.equal(1);
      expect(fake.ledger.rejections(authorizer.appid)).to.equal(1);
      expect(fake.calls('authorizer_list')).to.equal(1);
      expect(fake.ledger.refreshes(authorizer.appid)).to.equal(2);
      // And the value stored with that token is the current one: the next lifetime needs no recovery.
      clock.advance(3 * HOUR);
      expect((await engine.getToken({ realm: 'wx_authorizers', key: authorizer.appid })).source).to.equal(
        'upstream',
      );
      expect(fake.ledger.rejections(authorizer.appid)).to.equal(1);
      expect(fake.calls('authorizer_list')).to.equal(1);
    });
  });
});
