import { expect } from 'chai';
import type { JsonObject } from '../../../functions/store/types';
import {
  adminApp,
  dataOf,
  resourceOf,
  errorOf,
  postRealms,
  realmWithId,
  SEED_REALM,
  type AdminApp,
  type ListBody,
} from './admin-harness';

const APPID = 'wx8f3a9c2b71d04e55';
const APPSECRET = '3f9c0e8a7b6d5c4e3f2a1b0c9d8e7f6a';

interface SecretBody {
  realm: string;
  key: string;
  created_at: string;
  updated_at: string;
  warnings?: string[];
  [name: string]: unknown;
}

describe('admin routes: secrets', () => {
  let app: AdminApp;
  beforeEach(async () => {
    app = await adminApp();
    await postRealms(app, SEED_REALM);
  });
  afterEach(() => {
    app.close();
    // Whatever a test did, no credential value ever reached a log line.
    for (const line of app.logs) {
      expect(line).to.not.include(APPID);
      expect(line).to.not.include(APPSECRET);
    }
  });

  const full = {
    realm: 'wxgzh',
    key: 'wxgzh_secret',
    key_1: APPID,
    key_2: APPSECRET,
    key_3: 'client_credential',
  };

  it('creates a secret and answers it masked, without warnings when it has every referenced key', async () => {
    const res = await app.call('POST', '/api/secret', full);
    expect(res.status).to.equal(200);
    expect(resourceOf<SecretBody>(res)).to.deep.equal({
      realm: 'wxgzh',
      key: 'wxgzh_secret',
      key_1: 'wx8f****',
      key_2: '3f9c****',
      key_3: 'clie****',
      created_at: new Date(app.clock.now()).toISOString(),
      updated_at: new Date(app.clock.now()).toISOString(),
      warnings: [],
    });
    expect(res.text).to.not.include(APPID);
    expect(res.text).to.not.include(APPSECRET);
    expect(res.text).to.not.include('client_credential');
  });

  it('takes a refresh_token (a rotating value): stored whole, answered masked, never echoed', async () => {
    const refreshToken = 'rt-9f2c4e1a7b3d5e60-migrated';
    const res = await app.call('POST', '/api/secret', { ...full, refresh_token: refreshToken });
    expect(resourceOf<SecretBody>(res).refresh_token).to.equal('rt-9****');
    expect(res.text).to.not.include(refreshToken);
    const stored = await app.runtime.store.getSecret('wxgzh', 'wxgzh_secret');
    expect(stored?.values.refresh_token).to.equal(refreshToken);
    const read = await app.call('GET', '/api/secret/wxgzh/wxgzh_secret');
    expect(read.text).to.not.include(refreshToken);
    expect(
      errorOf(await app.call('POST', '/api/secret', { ...full, refresh_token: '' })).details,
    ).to.deep.include({
      field: 'refresh_token',
    });
  });

  it('stores the values sealed and whole (only the answer is masked)', async () => {
    await app.call('POST', '/api/secret', full);
    const stored = await app.runtime.store.getSecret('wxgzh', 'wxgzh_secret');
    expect(stored?.values).to.deep.equal({ key_1: APPID, key_2: APPSECRET, key_3: 'client_credential' });
  });

  it('warns about every key_N the realm needs that the secret lacks', async () => {
    const res = await app.call('POST', '/api/secret', { realm: 'wxgzh', key: 's2', key_1: APPID });
    expect(res.status).to.equal(200);
    const { warnings } = resourceOf<SecretBody>(res);
    expect(warnings).to.have.length(2);
    expect(warnings?.[0]).to.include('key_2');
    expect(warnings?.[1]).to.include('key_3');
  });

  it('does not warn about keys that only optional arguments reference', async () => {
    const config = SEED_REALM.config as JsonObject & { arguments: JsonObject[] };
    const realm = {
      ...realmWithId('opt'),
      config: {
        ...config,
        arguments: [...config.arguments, { name: 'scope', place: 'url', value: '$key_4', optional: true }],
      },
    };
    await postRealms(app, realm);
    const res = await app.call('POST', '/api/secret', { ...full, realm: 'opt' });
    expect(resourceOf<SecretBody>(res).warnings).to.deep.equal([]);
  });

  it('answers 404 for an unknown realm and stores nothing', async () => {
    const res = await app.call('POST', '/api/secret', { ...full, realm: 'nope' });
    expect(res.status).to.equal(404);
    expect(errorOf(res).code).to.equal('NOT_FOUND');
    expect(errorOf(res).details?.field).to.equal('realm');
    expect(dataOf<ListBody<SecretBody>>(await app.call('GET', '/api/secret')).total).to.equal(0);
  });

  it('answers 400 naming the field, and never echoes a value', async () => {
    const long = 'L'.repeat(4097);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...full, key_10: APPSECRET }, 'key_10'],
      [{ ...full, key_0: APPSECRET }, 'key_0'],
      [{ ...full, secret: APPSECRET }, 'secret'],
      [{ ...full, key_1: '' }, 'key_1'],
      [{ ...full, key_2: long }, 'key_2'],
      [{ ...full, key_2: 12345 }, 'key_2'],
      [{ ...full, key: 'bad key' }, 'key'],
      [{ ...full, key: 'a:b' }, 'key'],
      [{ ...full, realm: '' }, 'realm'],
      [{ key_1: APPID }, 'realm'],
    ];
    for (const [body, field] of cases) {
      const res = await app.call('POST', '/api/secret', body);
      expect(res.status, field).to.equal(400);
      expect(errorOf(res).code).to.equal('INVALID_ARGUMENT');
      expect(errorOf(res).details?.field, JSON.stringify(errorOf(res))).to.equal(field);
      expect(res.text).to.not.include(APPSECRET);
      expect(res.text).to.not.include(APPID);
      expect(res.text).to.not.include(long);
    }
    expect((await app.call('POST', '/api/secret', [full])).status).to.equal(400);
    expect((await app.call('POST', '/api/secret')).status).to.equal(400);
  });

  it('accepts a value of exactly 4096 characters', async () => {
    const res = await app.call('POST', '/api/secret', { ...full, key_2: 'v'.repeat(4096) });
    expect(res.status).to.equal(200);
    expect(resourceOf<SecretBody>(res).key_2).to.equal('vvvv****');
  });

  it('gets one secret masked, and 404 for an unknown one', async () => {
    await app.call('POST', '/api/secret', full);
    const res = await app.call('GET', '/api/secret/wxgzh/wxgzh_secret');
    expect(res.status).to.equal(200);
    const body = resourceOf<SecretBody>(res);
    expect(body).to.include({ realm: 'wxgzh', key: 'wxgzh_secret', key_1: 'wx8f****', key_2: '3f9c****' });
    expect(body).to.not.have.property('warnings');
    expect(res.text).to.not.include(APPSECRET);

    const missing = await app.call('GET', '/api/secret/wxgzh/other');
    expect(missing.status).to.equal(404);
    expect(errorOf(missing).code).to.equal('NOT_FOUND');
    const bad = await app.call('GET', '/api/secret/wxgzh/bad%20key');
    expect(bad.status).to.equal(400);
    expect(errorOf(bad).details?.field).to.equal('key');
  });

  it('lists secrets masked, paged and filtered by realm', async () => {
    await postRealms(app, realmWithId('other'));
    for (let i = 0; i < 12; i++) {
      const key = `k${String(i).padStart(2, '0')}`;
      expect((await app.call('POST', '/api/secret', { ...full, key })).status).to.equal(200);
    }
    expect((await app.call('POST', '/api/secret', { ...full, realm: 'other', key: 'o1' })).status).to.equal(
      200,
    );

    const all = dataOf<ListBody<SecretBody>>(await app.call('GET', '/api/secret'));
    expect(all.total).to.equal(13);
    expect(all.list).to.have.length(10);

    const page2 = dataOf<ListBody<SecretBody>>(
      await app.call('GET', '/api/secret?realm=wxgzh&page=2&pageSize=5'),
    );
    expect(page2.total).to.equal(12);
    expect(page2.list.map((s) => s.key)).to.deep.equal(['k05', 'k06', 'k07', 'k08', 'k09']);
    for (const s of page2.list)
      expect(s).to.include({ realm: 'wxgzh', key_1: 'wx8f****', key_2: '3f9c****' });

    const other = dataOf<ListBody<SecretBody>>(await app.call('GET', '/api/secret?realm=other'));
    expect(other.list.map((s) => `${s.realm}/${s.key}`)).to.deep.equal(['other/o1']);

    const listed = await app.call('GET', '/api/secret?pageSize=100');
    expect(listed.text).to.not.include(APPID);
    expect(listed.text).to.not.include(APPSECRET);

    const bad = await app.call('GET', '/api/secret?realm=bad%20realm');
    expect(bad.status).to.equal(400);
    expect(errorOf(bad).details?.field).to.equal('realm');
    const unknown = await app.call('GET', '/api/secret?key=x');
    expect(unknown.status).to.equal(400);
    expect(errorOf(unknown).details?.field).to.equal('key');
  });

  it('replacing a secret discards its token state but keeps the daily call count', async () => {
    const first = await app.call('POST', '/api/secret', full);
    expect(first.status).to.equal(200);
    const before = await app.runtime.store.getSecret('wxgzh', 'wxgzh_secret');
    // As if the engine had fetched a token and then remembered a permanent error.
    const now = app.clock.now();
    await app.runtime.store.mutateTokenState('wxgzh', 'wxgzh_secret', (current) => {
      if (current === null) throw new Error('no token state after the secret was added');
      return {
        result: undefined,
        next: {
          ...current,
          generation: current.generation + 1,
          token: 'old-token-value',
          fetchedAt: now,
          expiresAt: now + 7_200_000,
          refreshAt: now + 6_000_000,
          blockedUntil: now + 60_000,
          lastError: { at: now, code: 'UPSTREAM_ERROR', message: 'invalid appsecret', permanent: true },
          callsDay: new Date(now).toISOString().slice(0, 10),
          callsToday: 7,
        },
      };
    });
    const held = await app.runtime.store.getTokenState('wxgzh', 'wxgzh_secret');
    const forgotten: string[] = [];
    // An instance that also serves from memory (both route sets on one runtime, as `npm start` does).
    const edgeCache = app.runtime.edgeCache();
    const forget = edgeCache.forget.bind(edgeCache);
    edgeCache.forget = (realm, key) => {
      forgotten.push(`${realm}/${key}`);
      forget(realm, key);
    };

    app.clock.advance(1_000);
    const replaced = await app.call('POST', '/api/secret', { ...full, key_2: 'a-brand-new-app-secret' });
    expect(replaced.status).to.equal(200);
    const body = resourceOf<SecretBody>(replaced);
    expect(body.key_2).to.equal('a-br****');
    expect(body.created_at).to.equal(resourceOf<SecretBody>(first).created_at);
    expect(body.updated_at).to.not.equal(body.created_at);

    const after = await app.runtime.store.getSecret('wxgzh', 'wxgzh_secret');
    expect(after?.rev).to.be.a('string').and.not.equal(before?.rev);
    const state = await app.runtime.store.getTokenState('wxgzh', 'wxgzh_secret');
    expect(state?.generation).to.equal((held?.generation ?? 0) + 1);
    expect(state?.secretRev).to.equal(after?.rev);
    expect(state?.token).to.equal(undefined);
    expect(state?.expiresAt).to.equal(undefined);
    expect(state?.blockedUntil).to.equal(undefined);
    expect(state?.lastError).to.equal(undefined);
    expect(state?.callsToday).to.equal(7);
    expect(forgotten).to.deep.equal(['wxgzh/wxgzh_secret']);
  });

  it('an instance that serves nothing from memory has no edge cache, and admin changes create none', async () => {
    expect((await app.call('POST', '/api/secret', full)).status).to.equal(200);
    expect((await app.call('DELETE', '/api/secret/wxgzh/wxgzh_secret')).status).to.equal(200);
    expect(app.runtime.existingEdgeCache()).to.equal(undefined);
  });

  it('deletes a secret with its token state, then answers 404', async () => {
    await app.call('POST', '/api/secret', full);
    expect(await app.runtime.store.getTokenState('wxgzh', 'wxgzh_secret')).to.not.equal(null);
    const res = await app.call('DELETE', '/api/secret/wxgzh/wxgzh_secret');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ data: { deleted: true }, success: 'ok' });
    expect(await app.runtime.store.getTokenState('wxgzh', 'wxgzh_secret')).to.equal(null);
    expect((await app.call('GET', '/api/secret/wxgzh/wxgzh_secret')).status).to.equal(404);
    expect((await app.call('DELETE', '/api/secret/wxgzh/wxgzh_secret')).status).to.equal(404);
  });

  it('tells the request log the realm and key, never a value', async () => {
    await app.call('POST', '/api/secret', full);
    const line = app.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.event === 'request' && l.route === '/api/secret');
    expect(line).to.include({ realm: 'wxgzh', key: 'wxgzh_secret', status: 200 });
  });
});
