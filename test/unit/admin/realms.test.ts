import { expect } from 'chai';
import { PRESET_NAMES } from '../../../functions/providers/presets';
import type { JsonObject } from '../../../functions/store/types';
import { SPEC_PRESET_NAMES } from '../../fakes/spec-presets';
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

interface RealmBody {
  id: string;
  comment: string;
  config: JsonObject;
  created_at: string;
  updated_at: string;
}

describe('admin routes: realms and presets', () => {
  let app: AdminApp;
  beforeEach(async () => {
    app = await adminApp();
  });
  afterEach(() => app.close());

  it('accepts the SPEC seed realm unchanged and answers it as stored', async () => {
    const res = await app.call('POST', '/api/realm', SEED_REALM);
    expect(res.status).to.equal(200);
    const { warnings, ...stored } = resourceOf<RealmBody & { warnings: string[] }>(res);
    expect(warnings, 'the seed realm has error rules').to.deep.equal([]);
    expect(stored).to.deep.include({
      id: 'wxgzh',
      comment: 'WeChat Official Account',
      config: SEED_REALM.config,
    });
    expect(stored.created_at).to.equal(new Date(app.clock.now()).toISOString());

    const got = await app.call('GET', '/api/realm/wxgzh');
    expect(got.status).to.equal(200);
    expect(resourceOf<RealmBody>(got)).to.deep.equal(stored);
  });

  it('replaces a realm, keeping its creation time', async () => {
    await app.call('POST', '/api/realm', SEED_REALM);
    const created = resourceOf<RealmBody>(await app.call('GET', '/api/realm/wxgzh'));
    app.clock.advance(60_000);
    const changed = {
      ...SEED_REALM,
      comment: 'changed',
      config: { ...(SEED_REALM.config as JsonObject), timeout_ms: 2000 },
    };
    const res = await app.call('POST', '/api/realm', changed);
    expect(res.status).to.equal(200);
    const replaced = resourceOf<RealmBody>(res);
    expect(replaced.comment).to.equal('changed');
    expect(replaced.config.timeout_ms).to.equal(2000);
    expect(replaced.created_at).to.equal(created.created_at);
    expect(replaced.updated_at).to.not.equal(created.updated_at);
    expect(dataOf<ListBody<RealmBody>>(await app.call('GET', '/api/realm')).total).to.equal(1);
  });

  it('accepts a realm as GET answered it (read-only timestamps are ignored)', async () => {
    const stored = resourceOf<RealmBody>(await app.call('POST', '/api/realm', SEED_REALM));
    const res = await app.call('POST', '/api/realm', { ...stored, created_at: '1999-01-01T00:00:00.000Z' });
    expect(res.status).to.equal(200);
    expect(resourceOf<RealmBody>(res).created_at).to.equal(stored.created_at);
  });

  it('defaults comment to an empty string', async () => {
    const { comment: _comment, ...withoutComment } = SEED_REALM;
    const res = await app.call('POST', '/api/realm', withoutComment);
    expect(res.status).to.equal(200);
    expect(resourceOf<RealmBody>(res).comment).to.equal('');
  });

  it('pages and filters the list by keyword (id or comment, any case), ordered by id', async () => {
    /** realm-00, realm-01, ...: the ids of the realms made here. */
    const realmId = (i: number) => `realm-${String(i).padStart(2, '0')}`;
    const realmIds = (...n: number[]) => n.map(realmId);
    for (let i = 0; i < 25; i++) {
      await postRealms(app, realmWithId(realmId(i), i % 5 === 0 ? 'Billing Account' : 'other'));
    }
    const first = dataOf<ListBody<RealmBody>>(await app.call('GET', '/api/realm'));
    expect(first.total).to.equal(25);
    expect(first.list.map((r) => r.id)).to.deep.equal(realmIds(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));

    const third = dataOf<ListBody<RealmBody>>(await app.call('GET', '/api/realm?page=3&pageSize=10'));
    expect(third.total).to.equal(25);
    expect(third.list.map((r) => r.id)).to.deep.equal(realmIds(20, 21, 22, 23, 24));

    const beyond = dataOf<ListBody<RealmBody>>(await app.call('GET', '/api/realm?page=9&pageSize=10'));
    expect(beyond).to.deep.equal({ list: [], total: 25 });

    const billing = dataOf<ListBody<RealmBody>>(
      await app.call('GET', '/api/realm?keyword=BILLING&pageSize=100'),
    );
    expect(billing.total).to.equal(5);
    expect(billing.list.map((r) => r.id)).to.deep.equal(realmIds(0, 5, 10, 15, 20));

    const byId = dataOf<ListBody<RealmBody>>(
      await app.call('GET', '/api/realm?keyword=realm-1&page=1&pageSize=3'),
    );
    expect(byId.total).to.equal(10);
    expect(byId.list).to.have.length(3);

    const empty = dataOf<ListBody<RealmBody>>(await app.call('GET', '/api/realm?keyword=&page=&pageSize='));
    expect(empty.total).to.equal(25);
  });

  for (const [query, field] of [
    ['page=0', 'page'],
    ['page=-1', 'page'],
    ['page=1.5', 'page'],
    ['page=abc', 'page'],
    ['pageSize=0', 'pageSize'],
    ['pageSize=101', 'pageSize'],
    ['pagesize=10', 'pagesize'],
    ['keyword=' + 'x'.repeat(201), 'keyword'],
  ] as const) {
    it(`answers 400 naming ${field} for ?${query.slice(0, 20)}`, async () => {
      const res = await app.call('GET', `/api/realm?${query}`);
      expect(res.status).to.equal(400);
      expect(errorOf(res).code).to.equal('INVALID_ARGUMENT');
      expect(errorOf(res).details?.field).to.equal(field);
    });
  }

  it('answers 400 naming the field of a bad realm', async () => {
    const config = SEED_REALM.config as { arguments: JsonObject[] };
    const cases: Array<[JsonObject, string]> = [
      [{ ...SEED_REALM, id: 'bad id' }, 'id'],
      [{ ...SEED_REALM, id: '-leading-dash' }, 'id'],
      [{ ...SEED_REALM, id: 'x'.repeat(65) }, 'id'],
      [{ ...SEED_REALM, id: 'has:colon' }, 'id'],
      [{ ...SEED_REALM, comment: 5 }, 'comment'],
      [{ ...SEED_REALM, extra: true }, 'extra'],
      [{ ...SEED_REALM, logic_code: 'https://fn.example.com/token' }, 'logic_code'],
      [{ id: 'x', comment: '', logic_code: 'ftp://fn.example.com/token' }, 'logic_code'],
      [
        {
          ...SEED_REALM,
          config: {
            ...(SEED_REALM.config as JsonObject),
            arguments: [config.arguments[0] ?? {}, { name: 'secret', place: 'cookie', value: '$key_2' }],
          },
        },
        'config.arguments[1].place',
      ],
      [
        { ...SEED_REALM, config: { ...(SEED_REALM.config as JsonObject), expire_in_path: 'x' } },
        'config.expire_in_path',
      ],
    ];
    for (const [body, field] of cases) {
      const res = await app.call('POST', '/api/realm', body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).to.equal(400);
      expect(errorOf(res).code).to.equal('INVALID_ARGUMENT');
      expect(errorOf(res).details?.field).to.equal(field);
      expect(errorOf(res).message).to.include(field);
    }
    expect(dataOf<ListBody<RealmBody>>(await app.call('GET', '/api/realm')).total).to.equal(0);
  });

  it('answers 400 without a body, and 415 for a non-JSON body', async () => {
    const none = await app.call('POST', '/api/realm');
    expect(none.status).to.equal(400);
    const text = await app.call('POST', '/api/realm', 'id=x', { headers: { 'content-type': 'text/plain' } });
    expect(text.status).to.equal(415);
  });

  it('answers 413 for a body over 64 KiB', async () => {
    const big = { ...SEED_REALM, comment: 'x'.repeat(70 * 1024) };
    const res = await app.call('POST', '/api/realm', big);
    expect(res.status).to.equal(413);
    expect(errorOf(res).code).to.equal('PAYLOAD_TOO_LARGE');
  });

  it('answers 404 for an unknown realm, and 400 naming id for a malformed one', async () => {
    const missing = await app.call('GET', '/api/realm/nope');
    expect(missing.status).to.equal(404);
    expect(errorOf(missing).code).to.equal('NOT_FOUND');
    const bad = await app.call('GET', '/api/realm/bad%20id');
    expect(bad.status).to.equal(400);
    expect(errorOf(bad).details?.field).to.equal('id');
    expect((await app.call('DELETE', '/api/realm/nope')).status).to.equal(404);
  });

  it('re-saving a realm clears what its tokens remember of the old config: the blocking error and the backoff', async () => {
    await app.call('POST', '/api/realm', SEED_REALM);
    const secret = { realm: 'wxgzh', key: 's1', key_1: 'appid-12345', key_2: 'secret-12345', key_3: 'x' };
    expect((await app.call('POST', '/api/secret', secret)).status).to.equal(200);
    const now = app.clock.now();
    // As if the old URL had answered 404 (a permanent error, remembered) and then failed again.
    await app.runtime.store.mutateTokenState('wxgzh', 's1', (current) => {
      if (current === null) throw new Error('no token state after the secret was added');
      return {
        result: undefined,
        next: {
          ...current,
          blockedUntil: now + 600_000,
          backoffUntil: now + 60_000,
          failures: 2,
          lastError: { at: now, code: 'UPSTREAM_ERROR', message: 'HTTP 404', permanent: true },
          callsDay: new Date(now).toISOString().slice(0, 10),
          callsToday: 3,
        },
      };
    });
    app.clock.advance(1_000);
    const resaved = await app.call('POST', '/api/realm', {
      ...SEED_REALM,
      config: { ...SEED_REALM.config, url: 'https://api.weixin.qq.com/cgi-bin/token?fixed=1' },
    });
    expect(resaved.status).to.equal(200);
    const state = await app.runtime.store.getTokenState('wxgzh', 's1');
    expect(state?.blockedUntil).to.equal(undefined);
    expect(state?.backoffUntil).to.equal(undefined);
    expect(state?.failures).to.equal(undefined);
    expect(state?.lastError).to.equal(undefined);
    expect(state?.callsToday, 'the daily count stays').to.equal(3);
  });

  it('refuses to delete a realm while secrets use it (409), then deletes it', async () => {
    await app.call('POST', '/api/realm', SEED_REALM);
    const put = await app.call('POST', '/api/secret', {
      realm: 'wxgzh',
      key: 's1',
      key_1: 'appid-12345',
      key_2: 'secret-12345',
      key_3: 'client_credential',
    });
    expect(put.status).to.equal(200);

    const refused = await app.call('DELETE', '/api/realm/wxgzh');
    expect(refused.status).to.equal(409);
    expect(errorOf(refused).code).to.equal('CONFLICT');
    expect(errorOf(refused).message).to.equal('Realm wxgzh still has secrets (wxgzh/s1): delete them first');
    expect(errorOf(refused).details).to.deep.equal({ realm: 'wxgzh', secrets: ['wxgzh/s1'] });
    expect((await app.call('GET', '/api/realm/wxgzh')).status).to.equal(200);

    expect((await app.call('DELETE', '/api/secret/wxgzh/s1')).status).to.equal(200);
    const deleted = await app.call('DELETE', '/api/realm/wxgzh');
    expect(deleted.status).to.equal(200);
    expect(deleted.body).to.deep.equal({ data: { deleted: true }, success: 'ok' });
    expect((await app.call('GET', '/api/realm/wxgzh')).status).to.equal(404);
    expect((await app.call('DELETE', '/api/realm/wxgzh')).status).to.equal(404);
  });

  it('lists the built-in presets, each a config the realm route accepts', async () => {
    const res = await app.call('GET', '/api/preset');
    expect(res.status).to.equal(200);
    const presets = dataOf<
      ListBody<{
        name: string;
        comment: string;
        keys: Record<string, string>;
        parent?: string;
        config: JsonObject;
      }>
    >(res);
    expect(presets.total).to.equal(presets.list.length);
    const names = presets.list.map((p) => p.name);
    expect(names).to.deep.equal([...PRESET_NAMES]);
    for (const required of SPEC_PRESET_NAMES) {
      expect(names).to.include(required);
    }
    for (const preset of presets.list) {
      expect(preset.comment).to.be.a('string').and.not.equal('');
      // Ticket presets have no keys of their own: their secrets name a parent of the preset it says.
      if (preset.parent === undefined) expect(Object.keys(preset.keys).length).to.be.greaterThan(0);
      else expect(PRESET_NAMES).to.include(preset.parent);
      const created = await app.call('POST', '/api/realm', {
        id: `p-${preset.name}`,
        comment: preset.comment,
        config: preset.config,
      });
      expect(created.status, preset.name).to.equal(200);
    }
  });

  it('tells the request log which realm a request was about', async () => {
    await app.call('POST', '/api/realm', SEED_REALM);
    await app.call('GET', '/api/realm/wxgzh');
    const lines = app.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event === 'request');
    expect(lines.map((l) => [l.route, l.realm])).to.deep.include.members([
      ['/api/realm', 'wxgzh'],
      ['/api/realm/:id', 'wxgzh'],
    ]);
  });
});
