/**
 * The admin API over real HTTP: a `tokenServer` process (stock Functions Framework) on the Firestore
 * emulator, a fake WeChat provider on loopback, and firebase-admin reading the raw documents to
 * prove that no credential value or token is stored in plain text.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import type { JsonObject } from '../../functions/store/types';
import { startFakeProvider, type FakeProvider } from '../fakes/providers';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { request, type JsonResponse } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess, type TestEnv } from '../helpers/processes';
import { SEED_REALM } from '../fakes/seed-realm';
import { SPEC_PRESET_NAMES } from '../fakes/spec-presets';

interface Envelope<T> {
  data: T;
  success: 'ok';
}
interface ErrorBody {
  error: { code: string; message: string; details?: { field?: string } };
}
interface TokenBody {
  token: string;
  expires_in: number;
  source: string;
}

/** A single resource: answered bare (SPEC §4), not in the list envelope. */
function resource<T>(res: JsonResponse): T {
  expect(res.status, res.text).to.be.within(200, 299);
  expect(res.body, res.text).to.not.have.any.keys('success', 'data');
  return res.body as T;
}

function data<T>(res: JsonResponse): T {
  expect((res.body as Envelope<T>).success, res.text).to.equal('ok');
  return (res.body as Envelope<T>).data;
}

/** Every string anywhere in a Firestore document (map keys included). */
function stringsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out);
  else if (value !== null && typeof value === 'object') {
    if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('latin1'));
    else
      for (const [k, v] of Object.entries(value)) {
        out.push(k);
        stringsIn(v, out);
      }
  }
  return out;
}

describe('admin API over HTTP (tokenServer on the Firestore emulator)', function () {
  this.timeout(60_000);

  let host: string;
  let env: TestEnv;
  let fn: FunctionProcess | undefined;
  let fake: FakeProvider;
  let adminApp: App;
  let db: Firestore;

  const admin = (method: string, path: string, body?: unknown) =>
    request(`${fn?.url ?? ''}${path}`, {
      method,
      bearer: env.adminKey,
      ...(body === undefined ? {} : { body }),
    });

  before(async function () {
    host = emulatorHostFromEnv();
    env = testEnv({ store: 'firestore' });
    await clearEmulator(host, env.projectId);
    fake = await startFakeProvider();
    fn = await startFunction({ target: 'tokenServer', env: env.env });
    adminApp = initializeApp(
      { projectId: env.projectId },
      `admin-api-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    db = getFirestore(adminApp);
  });

  after(async function () {
    await fn?.stop();
    await fake?.close();
    if (adminApp !== undefined) await deleteApp(adminApp);
  });

  beforeEach(async function () {
    await clearEmulator(host, env.projectId);
    fake.reset();
  });

  /** The seed realm pointed at the fake provider, and credentials only the fake knows. */
  async function seedLocal(): Promise<{ appid: string; appsecret: string }> {
    const appid = `wx${randomBytes(8).toString('hex')}`;
    const appsecret = randomBytes(16).toString('hex');
    fake.setCredentials('wechat_offiaccount', { id: appid, secret: appsecret });
    const realm = { ...SEED_REALM, config: { ...SEED_REALM.config, url: `${fake.url}/cgi-bin/token` } };
    expect((await admin('POST', '/api/realm', realm)).status).to.equal(200);
    return { appid, appsecret };
  }

  it('accepts the SPEC seed realm unchanged, answers it as stored, and lists it', async function () {
    const res = await admin('POST', '/api/realm', SEED_REALM);
    expect(res.status, res.text).to.equal(200);
    expect(resource<JsonObject>(res)).to.deep.include(SEED_REALM);
    const got = await admin('GET', '/api/realm/wxgzh');
    expect(got.status).to.equal(200);
    expect(resource<JsonObject>(got)).to.deep.include(SEED_REALM);
    const list = data<{ list: JsonObject[]; total: number }>(
      await admin('GET', '/api/realm?page=1&pageSize=10&keyword=wechat'),
    );
    expect(list.total).to.equal(1);
    expect(list.list[0]).to.deep.include(SEED_REALM);
  });

  it('stores no credential value or token in plain text in any Firestore document', async function () {
    const { appid, appsecret } = await seedLocal();
    const put = await admin('POST', '/api/secret', {
      realm: 'wxgzh',
      key: 'wxgzh_secret',
      key_1: appid,
      key_2: appsecret,
      key_3: 'client_credential',
    });
    expect(put.status, put.text).to.equal(200);
    expect(resource<JsonObject>(put)).to.include({
      key_1: appid.slice(0, 4) + '****',
      key_2: appsecret.slice(0, 4) + '****',
    });
    expect(put.text).to.not.include(appid);
    expect(put.text).to.not.include(appsecret);

    const token = await admin('GET', '/api/token?realm=wxgzh&key=wxgzh_secret');
    expect(token.status, token.text).to.equal(200);
    const served = (token.body as TokenBody).token;
    expect(served).to.be.a('string').and.not.equal('');

    const collections = await db.listCollections();
    const strings: string[] = [];
    let documents = 0;
    for (const collection of collections) {
      for (const doc of (await collection.get()).docs) {
        documents++;
        strings.push(doc.ref.path, ...stringsIn(doc.data()));
      }
    }
    expect(documents).to.be.at.least(3); // realm, secret, token state
    for (const secret of [appid, appsecret, 'client_credential', served]) {
      const found = strings.filter((s) => s.includes(secret));
      expect(found, `plain text found in Firestore`).to.deep.equal([]);
    }
    // The function process's own log lines carry no credential or token either.
    const logs = fn?.logs.join('\n') ?? '';
    for (const secret of [appid, appsecret, served]) expect(logs).to.not.include(secret);
  });

  it('runs the main admin flow: secrets, warnings, clients, revocation, deletes', async function () {
    const { appid, appsecret } = await seedLocal();

    // A secret without key_3 is stored, with a warning.
    const partial = await admin('POST', '/api/secret', {
      realm: 'wxgzh',
      key: 'partial',
      key_1: appid,
      key_2: appsecret,
    });
    expect(partial.status).to.equal(200);
    expect(resource<{ warnings: string[] }>(partial).warnings).to.have.length(1);
    expect(resource<{ warnings: string[] }>(partial).warnings[0]).to.include('key_3');

    const full = {
      realm: 'wxgzh',
      key: 'wxgzh_secret',
      key_1: appid,
      key_2: appsecret,
      key_3: 'client_credential',
    };
    expect((await admin('POST', '/api/secret', full)).status).to.equal(200);
    const listed = await admin('GET', '/api/secret?realm=wxgzh&page=1&pageSize=10');
    expect(data<{ total: number }>(listed).total).to.equal(2);
    expect(listed.text).to.not.include(appsecret);
    const one = await admin('GET', '/api/secret/wxgzh/wxgzh_secret');
    expect(resource<JsonObject>(one)).to.include({ realm: 'wxgzh', key: 'wxgzh_secret', key_3: 'clie****' });

    const unknownRealm = await admin('POST', '/api/secret', { ...full, realm: 'nope' });
    expect(unknownRealm.status).to.equal(404);
    const badField = await admin('POST', '/api/secret', { ...full, key_10: 'x' });
    expect(badField.status).to.equal(400);
    expect((badField.body as ErrorBody).error.details?.field).to.equal('key_10');

    // A client: its key is shown once and works on the token route, within its scope.
    const created = await admin('POST', '/api/client', {
      name: 'billing-app',
      scopes: [{ realm: 'wxgzh', key: 'wxgzh_secret' }],
    });
    expect(created.status, created.text).to.equal(201);
    const client = resource<{ id: string; client_key: string }>(created);
    const clients = await admin('GET', '/api/client');
    expect(data<{ total: number }>(clients).total).to.equal(1);
    expect(clients.text).to.not.include(client.client_key);

    const url = `${fn?.url ?? ''}/api/token?realm=wxgzh&key=wxgzh_secret`;
    const first = await request<TokenBody>(url, { bearer: client.client_key });
    expect(first.status, first.text).to.equal(200);
    expect(first.body.token).to.equal(fake.currentToken('wechat_offiaccount', appid));
    const outOfScope = await request(`${fn?.url ?? ''}/api/token?realm=wxgzh&key=partial`, {
      bearer: client.client_key,
    });
    expect(outOfScope.status).to.equal(403);

    // Replacing the secret discards its token: the next request fetches a new one.
    const callsBefore = fake.calls('wechat_offiaccount');
    expect((await admin('POST', '/api/secret', full)).status).to.equal(200);
    const second = await request<TokenBody>(url, { bearer: client.client_key });
    expect(second.status).to.equal(200);
    expect(second.body.source).to.equal('upstream');
    expect(second.body.token).to.not.equal(first.body.token);
    expect(fake.calls('wechat_offiaccount')).to.equal(callsBefore + 1);

    // Revocation: this instance stops accepting the key at once.
    expect((await admin('DELETE', `/api/client/${client.id}`)).status).to.equal(200);
    expect((await request(url, { bearer: client.client_key })).status).to.equal(401);
    expect((await admin('DELETE', `/api/client/${client.id}`)).status).to.equal(404);

    // Deletes: the realm is refused while secrets use it.
    expect((await admin('DELETE', '/api/realm/wxgzh')).status).to.equal(409);
    expect((await admin('DELETE', '/api/secret/wxgzh/partial')).status).to.equal(200);
    expect((await admin('DELETE', '/api/secret/wxgzh/wxgzh_secret')).status).to.equal(200);
    expect((await db.collection('tokens').get()).size).to.equal(0);
    expect((await admin('GET', '/api/secret/wxgzh/wxgzh_secret')).status).to.equal(404);
    expect((await admin('DELETE', '/api/realm/wxgzh')).status).to.equal(200);
    expect((await admin('GET', '/api/realm/wxgzh')).status).to.equal(404);
  });

  it('answers 401 without the admin key and 413 for a body over 64 KiB', async function () {
    const noKey = await request(`${fn?.url ?? ''}/api/realm`);
    expect(noKey.status).to.equal(401);
    expect((noKey.body as ErrorBody).error.code).to.equal('UNAUTHENTICATED');

    const big = await admin('POST', '/api/realm', { ...SEED_REALM, comment: 'x'.repeat(65 * 1024) });
    expect(big.status).to.equal(413);
    expect((big.body as ErrorBody).error.code).to.equal('PAYLOAD_TOO_LARGE');
    expect((await admin('GET', '/api/realm/wxgzh')).status).to.equal(404);
  });

  it('lists the presets', async function () {
    const res = await admin('GET', '/api/preset');
    expect(res.status).to.equal(200);
    const names = data<{ list: Array<{ name: string }> }>(res).list.map((p) => p.name);
    expect(names).to.include.members([...SPEC_PRESET_NAMES]);
  });
});
