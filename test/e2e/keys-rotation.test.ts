/**
 * Master-key rotation across real tokenServer processes on one Firestore: values sealed under the
 * single key of before; two processes with the list "k2:new,old" serve token requests (plain and
 * flushes) while two reseals run at once, one through each process; then a process with the new key
 * alone serves every token and secret, and GET /api/keys counts nothing under the old key.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { realmFor, startFakeProvider, type FakeProvider } from '../fakes/providers';
import { clearEmulator } from '../helpers/emulator';
import { request } from '../helpers/http';
import { registerSecret } from '../helpers/leak-registry';
import { startFunction, testEnv, type FunctionProcess } from '../helpers/processes';

const SECRETS = 8;

describe('master-key rotation (real processes)', function () {
  this.timeout(180_000);
  let fake: FakeProvider;
  const procs: FunctionProcess[] = [];

  before(async () => {
    // Counts are of the whole database: start from an empty one.
    const { projectId, emulatorHost } = testEnv();
    if (emulatorHost !== undefined) await clearEmulator(emulatorHost, projectId);
    fake = await startFakeProvider();
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await fake.close();
    // What is left is sealed under this file's keys, not the run's (testEnv: runMasterKey).
    const { projectId, emulatorHost } = testEnv();
    if (emulatorHost !== undefined) await clearEmulator(emulatorHost, projectId);
  });

  async function start(env: NodeJS.ProcessEnv): Promise<FunctionProcess> {
    const p = await startFunction({ target: 'tokenServer', env });
    procs.push(p);
    return p;
  }

  /** Follows the reseal's cursor to complete through one process; answers the pages' sum. */
  async function resealAll(url: string, adminKey: string): Promise<number> {
    let cursor: string | undefined;
    let resealed = 0;
    for (;;) {
      const page = await request<{ resealed: number; complete: boolean; cursor?: string }>(
        `${url}/api/keys/reseal`,
        { method: 'POST', bearer: adminKey, body: { limit: 3, ...(cursor === undefined ? {} : { cursor }) } },
      );
      expect(page.status, page.text).to.equal(200);
      resealed += page.body.resealed;
      if (page.body.complete) return resealed;
      cursor = page.body.cursor;
    }
  }

  it('reseals twice at once under traffic, then serves everything with the old key removed', async () => {
    const before = testEnv();
    const realm = `rot${Date.now()}`;
    const old = await start(before.env);
    const admin = before.adminKey;
    const created = await request(`${old.url}/api/realm`, {
      method: 'POST',
      bearer: admin,
      body: { id: realm, comment: 'rotation', config: realmFor('wechat_offiaccount', fake.url) },
    });
    expect(created.status, created.text).to.equal(200);
    const values = fake.credentials('wechat_offiaccount');
    for (let i = 0; i < SECRETS; i++) {
      const put = await request(`${old.url}/api/secret`, {
        method: 'POST',
        bearer: admin,
        body: { realm, key: `k${i}`, ...values },
      });
      expect(put.status, put.text).to.equal(200);
      const token = await request(`${old.url}/api/token?realm=${realm}&key=k${i}`, { bearer: admin });
      expect(token.status, token.text).to.equal(200);
    }
    // The audit log's HMAC of a credential set above (the audit key is stored on first use).
    const hashOf = async (url: string): Promise<string | undefined> =>
      (
        await request<{ hash: string }>(`${url}/api/audit/hash`, {
          method: 'POST',
          bearer: admin,
          body: { value: values.key_2 },
        })
      ).body.hash;
    const hashBefore = await hashOf(old.url);
    await old.stop();

    const newKey = randomBytes(32).toString('base64');
    registerSecret(newKey, 'master key', 'keys-rotation');
    const rotated = { ...before.env, TOKEN_SERVER_MASTER_KEY: `k2:${newKey},${before.masterKey}` };
    const [b, c] = await Promise.all([start(rotated), start(rotated)]);
    const counted = await request<{ counts: Record<string, number> }>(`${b.url}/api/keys`, { bearer: admin });
    expect(counted.status, counted.text).to.equal(200);
    // Each secret and its token, and the audit HMAC key.
    expect(counted.body.counts).to.deep.include({ default: 2 * SECRETS + 1, k2: 0 });

    // Traffic on both processes while both reseals run.
    let running = true;
    const failures: string[] = [];
    let served = 0;
    const traffic = async (url: string): Promise<void> => {
      for (let n = 0; running || n < SECRETS; n++) {
        const key = `k${n % SECRETS}`;
        const res =
          n % 4 === 0
            ? await request(`${url}/api/token`, {
                method: 'POST',
                bearer: admin,
                body: { realm, key, flush: true },
              })
            : await request(`${url}/api/token?realm=${realm}&key=${key}`, { bearer: admin });
        if (res.status === 200) served++;
        else failures.push(`${res.status} ${res.text.slice(0, 200)}`);
      }
    };
    const load = Promise.all([traffic(b.url), traffic(c.url)]);
    const [rb, rc] = await Promise.all([resealAll(b.url, admin), resealAll(c.url, admin)]);
    running = false;
    await load;
    expect(failures).to.deep.equal([]);
    expect(served).to.be.at.least(2 * SECRETS);
    expect(rb + rc).to.be.at.most(2 * SECRETS);
    const after = await request<{ counts: Record<string, number> }>(`${c.url}/api/keys`, { bearer: admin });
    expect(after.body.counts).to.deep.equal({ k2: 2 * SECRETS + 1, default: 0 });
    await Promise.all([b.stop(), c.stop()]);

    // The old key removed: everything is still served.
    const only = await start({ ...before.env, TOKEN_SERVER_MASTER_KEY: `k2:${newKey}` });
    for (let i = 0; i < SECRETS; i++) {
      const token = await request<{ source: string }>(`${only.url}/api/token?realm=${realm}&key=k${i}`, {
        bearer: admin,
      });
      expect(token.status, token.text).to.equal(200);
      expect(token.body.source).to.equal('database'); // the stored token, opened with k2
      const secret = await request(`${only.url}/api/secret/${realm}/k${i}`, { bearer: admin });
      expect(secret.status, secret.text).to.equal(200);
    }
    const final = await request<{ counts: Record<string, number> }>(`${only.url}/api/keys`, {
      bearer: admin,
    });
    expect(final.body.counts).to.deep.equal({ k2: 2 * SECRETS + 1 });
    // The audit hash of a value is the same after the old key is gone, and finds the old records.
    const hashAfter = await hashOf(only.url);
    expect(hashAfter).to.be.a('string').and.equal(hashBefore);
    const found = await request<{ data: { list: { action: string }[] } }>(
      `${only.url}/api/audit?hash=${encodeURIComponent(hashAfter ?? '')}&limit=100`,
      { bearer: admin },
    );
    expect(found.body.data.list.filter((r) => r.action === 'secret.put')).to.have.length(SECRETS);
  });
});
