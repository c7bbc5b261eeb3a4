import { expect } from 'chai';
import { hashClientKey } from '../../../functions/keys/keys';
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

interface CreatedClient {
  id: string;
  name: string;
  scopes: Array<{ realm: string; key: string }>;
  client_key: string;
  created_at: string;
}

describe('admin routes: clients', () => {
  let app: AdminApp;
  beforeEach(async () => {
    app = await adminApp();
    await postRealms(app, SEED_REALM, realmWithId('other'));
  });
  afterEach(() => app.close());

  async function create(body: unknown): Promise<CreatedClient> {
    const res = await app.call('POST', '/api/client', body);
    expect(res.status, res.text).to.equal(201);
    return resourceOf<CreatedClient>(res);
  }

  it('creates a client and shows its key once; only the hash is stored', async () => {
    const created = await create({ name: 'billing-app', scopes: [{ realm: 'wxgzh', key: 'wxgzh_secret' }] });
    expect(Object.keys(created)).to.deep.equal(['id', 'name', 'scopes', 'client_key', 'created_at']);
    expect(created).to.include({ name: 'billing-app', created_at: new Date(app.clock.now()).toISOString() });
    expect(created.scopes).to.deep.equal([{ realm: 'wxgzh', key: 'wxgzh_secret' }]);
    expect(created.client_key).to.match(/^tsk_[A-Za-z0-9_-]{43}$/);

    const stored = await app.runtime.store.getClient(created.id);
    expect(stored?.keyHash).to.equal(hashClientKey(created.client_key));
    expect(JSON.stringify(stored)).to.not.include(created.client_key);
    for (const line of app.logs) expect(line).to.not.include(created.client_key);
  });

  it('lists clients without keys or hashes', async () => {
    const a = await create({ name: 'a', scopes: [{ realm: 'wxgzh', key: '*' }] });
    app.clock.advance(1000);
    const b = await create({
      name: 'b',
      scopes: [
        { realm: 'other', key: 'k1' },
        { realm: 'wxgzh', key: 'k2' },
      ],
    });
    const res = await app.call('GET', '/api/client');
    expect(res.status).to.equal(200);
    const list = dataOf<ListBody<Record<string, unknown>>>(res);
    expect(list.total).to.equal(2);
    expect(list.list.map((c) => c.id)).to.deep.equal([a.id, b.id]);
    for (const c of list.list) expect(Object.keys(c)).to.deep.equal(['id', 'name', 'scopes', 'created_at']);
    for (const secret of [
      a.client_key,
      b.client_key,
      hashClientKey(a.client_key),
      hashClientKey(b.client_key),
    ]) {
      expect(res.text).to.not.include(secret);
    }
    const page2 = dataOf<ListBody<Record<string, unknown>>>(
      await app.call('GET', '/api/client?page=2&pageSize=1'),
    );
    expect(page2).to.deep.equal({ list: [list.list[1]], total: 2 });
  });

  it('removes repeated scopes', async () => {
    const created = await create({
      name: 'dup',
      scopes: [
        { realm: 'wxgzh', key: '*' },
        { realm: 'wxgzh', key: '*' },
        { realm: 'wxgzh', key: 's1' },
      ],
    });
    expect(created.scopes).to.deep.equal([
      { realm: 'wxgzh', key: '*' },
      { realm: 'wxgzh', key: 's1' },
    ]);
  });

  it('answers 404 naming the scope whose realm does not exist', async () => {
    const res = await app.call('POST', '/api/client', {
      name: 'x',
      scopes: [
        { realm: 'wxgzh', key: '*' },
        { realm: 'missing', key: '*' },
      ],
    });
    expect(res.status).to.equal(404);
    expect(errorOf(res).code).to.equal('NOT_FOUND');
    expect(errorOf(res).details?.field).to.equal('scopes[1].realm');
    expect(dataOf<ListBody<unknown>>(await app.call('GET', '/api/client')).total).to.equal(0);
  });

  it('answers 400 naming the field of a bad client', async () => {
    const scope = { realm: 'wxgzh', key: '*' };
    const cases: Array<[unknown, string]> = [
      [{ scopes: [scope] }, 'name'],
      [{ name: '', scopes: [scope] }, 'name'],
      [{ name: '   ', scopes: [scope] }, 'name'],
      [{ name: 'x'.repeat(101), scopes: [scope] }, 'name'],
      [{ name: 'a\nb', scopes: [scope] }, 'name'],
      [{ name: 'x' }, 'scopes'],
      [{ name: 'x', scopes: [] }, 'scopes'],
      [{ name: 'x', scopes: Array.from({ length: 101 }, () => scope) }, 'scopes'],
      [{ name: 'x', scopes: [{ realm: 'wxgzh', key: 'a b' }] }, 'scopes[0].key'],
      [{ name: 'x', scopes: [scope, { realm: 'bad realm', key: '*' }] }, 'scopes[1].realm'],
      [{ name: 'x', scopes: [{ realm: 'wxgzh', key: '*', extra: 1 }] }, 'scopes[0].extra'],
      [{ name: 'x', scopes: [scope], client_key: 'chosen-by-me' }, 'client_key'],
    ];
    for (const [body, field] of cases) {
      const res = await app.call('POST', '/api/client', body);
      expect(res.status, field).to.equal(400);
      expect(errorOf(res).code).to.equal('INVALID_ARGUMENT');
      expect(errorOf(res).details?.field, JSON.stringify(errorOf(res))).to.equal(field);
    }
  });

  it('a client key works on the token route within its scope only, and stops at once when revoked', async () => {
    const created = await create({ name: 'app', scopes: [{ realm: 'wxgzh', key: '*' }] });
    const asClient = (url: string) => app.call('GET', url, undefined, { bearer: created.client_key });

    // In scope: authenticated and authorised; the secret does not exist, so the engine says 404.
    const inScope = await asClient('/api/token?realm=wxgzh&key=s1');
    expect(inScope.status, inScope.text).to.equal(404);
    const outOfScope = await asClient('/api/token?realm=other&key=s1');
    expect(outOfScope.status).to.equal(403);

    const revoked = await app.call('DELETE', `/api/client/${created.id}`);
    expect(revoked.status).to.equal(200);
    expect(revoked.body).to.deep.equal({ data: { deleted: true }, success: 'ok' });
    // This instance forgets the cached lookup at once.
    const after = await asClient('/api/token?realm=wxgzh&key=s1');
    expect(after.status).to.equal(401);
    expect(dataOf<ListBody<unknown>>(await app.call('GET', '/api/client')).total).to.equal(0);
  });

  it('answers 404 when revoking an unknown client, and 400 for a malformed id', async () => {
    const missing = await app.call('DELETE', '/api/client/00000000-0000-0000-0000-000000000000');
    expect(missing.status).to.equal(404);
    expect(errorOf(missing).code).to.equal('NOT_FOUND');
    const bad = await app.call('DELETE', '/api/client/a%2Fb');
    expect(bad.status).to.equal(400);
    expect(errorOf(bad).details?.field).to.equal('id');
  });
});
