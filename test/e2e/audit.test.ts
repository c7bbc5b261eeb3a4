/**
 * The audit log over a real function process on the Firestore emulator: every admin route's change
 * is found in GET /api/audit with its request id, actor and target; a refused change (4xx) has no
 * record; a client's flush and invalid_token report are recorded under the client; secret values
 * appear only as HMACs (POST /api/audit/hash finds them); the raw documents hold no credential.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { realmFor, startFakeProvider, type FakeProvider } from '../fakes/providers';
import { snapshotDatabase } from '../helpers/db-snapshot';
import { request } from '../helpers/http';
import { registerSecret } from '../helpers/leak-registry';
import { tokenctl } from '../helpers/tokenctl';
import { startFunction, testEnv, type FunctionProcess } from '../helpers/processes';

interface AuditView {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  request_id: string;
  outcome: string;
  hashes: string[];
}
interface AuditList {
  data: { list: AuditView[]; total: number };
  next_cursor?: string;
}

describe('audit log (tokenServer on the emulator)', function () {
  this.timeout(120_000);
  const env = testEnv({ store: 'firestore' });
  const admin = { bearer: env.adminKey };
  let fake: FakeProvider;
  let fn: FunctionProcess;

  before(async function () {
    if (env.emulatorHost === undefined) this.skip();
    fake = await startFakeProvider();
    fn = await startFunction({ target: 'tokenServer', env: env.env });
  });
  after(async () => {
    await fn?.stop();
    await fake?.close();
  });

  /** An admin call with a request id of its own. */
  async function call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; id: string; body: unknown }> {
    const id = `req-${randomUUID()}`;
    const res = await request(`${fn.url}${path}`, {
      method,
      ...admin,
      headers: { 'x-request-id': id },
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.status, id, body: res.body };
  }

  async function audit(query: string): Promise<AuditList> {
    const res = await request<AuditList>(`${fn.url}/api/audit?${query}`, admin);
    expect(res.status, res.text).to.equal(200);
    return res.body;
  }

  async function recordOf(requestId: string, target: string): Promise<AuditView[]> {
    const page = await audit(`target=${encodeURIComponent(target)}&limit=100`);
    return page.data.list.filter((r) => r.request_id === requestId);
  }

  it('records every admin change in its commit, and no refused one', async () => {
    const realm = `au${Date.now()}`;
    const creds = fake.credentials('wechat_offiaccount');
    const changes: { action: string; target: string; status: number; id: string }[] = [];
    const done = async (action: string, target: string, method: string, path: string, body?: unknown) => {
      const r = await call(method, path, body);
      changes.push({ action, target, status: r.status, id: r.id });
      return r;
    };
    const config = { ...realmFor('wechat_offiaccount', fake.url), flush_min_interval_ms: 0 };
    expect((await done('realm.put', realm, 'POST', '/api/realm', { id: realm, config })).status).to.equal(
      200,
    );
    expect(
      (await done('secret.put', `${realm}/k`, 'POST', '/api/secret', { realm, key: 'k', ...creds })).status,
    ).to.equal(200);
    const client = await done('client.create', '', 'POST', '/api/client', {
      name: 'app',
      scopes: [{ realm, key: '*' }],
    });
    expect(client.status).to.equal(201);
    const { id: clientId, client_key: clientKey } = client.body as { id: string; client_key: string };
    changes[changes.length - 1]!.target = clientId;
    const hook = await done('webhook.create', '', 'POST', '/api/webhook', {
      url: `${fake.url}/hook`,
      events: ['token.recovered'],
    });
    expect(hook.status).to.equal(201);
    const hookId = (hook.body as { id: string }).id;
    changes[changes.length - 1]!.target = hookId;

    // Refused changes: recorded as nothing.
    const refused = [
      await call('DELETE', `/api/realm/${realm}`), // 409: a secret uses it
      await call('POST', '/api/secret', { realm: `${realm}-none`, key: 'k', ...creds }), // 404
      await call('POST', '/api/realm', { id: realm, config: { url: 'not a url' } }), // 400
      await call('DELETE', `/api/client/${randomUUID()}`), // 404
    ];
    expect(refused.map((r) => r.status)).to.deep.equal([409, 404, 400, 404]);

    // A client's flush and report: the changes they cause are recorded under the client.
    const tokenPath = `/api/token?realm=${realm}&key=k`;
    const first = await request<{ token: string }>(`${fn.url}${tokenPath}`, { bearer: clientKey });
    expect(first.status).to.equal(200);
    const reportId = `req-${randomUUID()}`;
    const report = await request<{ outcome: string }>(
      `${fn.url}${tokenPath}&invalid_token=${encodeURIComponent(first.body.token)}`,
      { bearer: clientKey, headers: { 'x-request-id': reportId } },
    );
    expect(report.body.outcome).to.equal('refreshed');

    expect((await done('webhook.delete', hookId, 'DELETE', `/api/webhook/${hookId}`)).status).to.equal(200);
    expect((await done('client.revoke', clientId, 'DELETE', `/api/client/${clientId}`)).status).to.equal(200);
    expect((await done('secret.delete', `${realm}/k`, 'DELETE', `/api/secret/${realm}/k`)).status).to.equal(
      200,
    );
    expect((await done('realm.delete', realm, 'DELETE', `/api/realm/${realm}`)).status).to.equal(200);

    for (const change of changes) {
      const found = await recordOf(change.id, change.target);
      expect(found, `${change.action} ${change.target}`).to.have.length(1);
      expect(found[0]).to.include({
        action: change.action,
        actor: 'admin',
        outcome: 'ok',
        target: change.target,
      });
    }
    for (const r of refused) {
      const all = await audit('limit=1000');
      expect(all.data.list.filter((x) => x.request_id === r.id)).to.deep.equal([]);
    }
    const reported = await recordOf(reportId, `${realm}/k`);
    expect(reported).to.have.length(1);
    expect(reported[0]).to.include({ action: 'token.report', actor: `client:${clientId}` });

    // Values only as HMACs: the hash route names the records that set a value, and the reported token.
    const hashOf = async (value: string) =>
      (
        await request<{ hash: string }>(`${fn.url}/api/audit/hash`, {
          method: 'POST',
          ...admin,
          body: { value },
        })
      ).body.hash;
    const credHash = await hashOf(creds.key_2 as string);
    // (This secret's records: other files sharing the emulator project may store the same fake credentials.)
    const byHash = await audit(`hash=${credHash}&target=${realm}/k`);
    expect(byHash.data.list.map((r) => r.action)).to.deep.equal(['secret.put']);
    expect(reported[0]!.hashes).to.deep.equal([await hashOf(first.body.token)]);
    const created = (await audit(`action=client.create&target=${clientId}`)).data.list[0];
    expect(created?.hashes).to.deep.equal([await hashOf(clientKey)]);

    // Raw documents: no credential, client key or token (the run-wide leak check looks at this snapshot too).
    const docs = JSON.stringify(
      Object.entries(await snapshotDatabase()).filter(([path]) => path.startsWith('audit/')),
    );
    for (const value of [creds.key_1, creds.key_2, clientKey, first.body.token]) {
      expect(docs).to.not.include(String(value));
    }
  });

  it('pages newest first by cursor and filters by action and since', async () => {
    const realm = `ap${Date.now()}`;
    const since = new Date().toISOString();
    for (let i = 0; i < 5; i++) {
      expect(
        (
          await call('POST', '/api/realm', {
            id: realm,
            comment: `v${i}`,
            config: realmFor('wecom', fake.url),
          })
        ).status,
      ).to.equal(200);
    }
    const seen: AuditView[] = [];
    let cursor: string | undefined;
    do {
      const page = await audit(
        `target=${realm}&action=realm.put&since=${since}&limit=2${cursor === undefined ? '' : `&cursor=${cursor}`}`,
      );
      expect(page.data.total).to.equal(5);
      seen.push(...page.data.list);
      cursor = page.next_cursor;
    } while (cursor !== undefined);
    expect(seen).to.have.length(5);
    const times = seen.map((r) => r.at);
    expect([...times].sort().reverse()).to.deep.equal(times);
    expect(new Set(seen.map((r) => r.id)).size).to.equal(5);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await audit(`target=${realm}&since=${future}`)).data.total).to.equal(0);
    const bad = await request<{ error: { message: string } }>(`${fn.url}/api/audit?action=realm.nope`, admin);
    expect(bad.status).to.equal(400);
    expect(bad.body.error.message).to.include('action');
  });

  it('tokenctl: webhook add, list and delete, audit and audit hash', async () => {
    const cli = { TOKENCTL_URL: fn.url, TOKENCTL_ADMIN_KEY: env.adminKey };
    const added = await tokenctl(
      ['webhook', 'add', '--url', `${fake.url}/h`, '--event', 'token.refresh_failed', '--json'],
      cli,
    );
    expect(added.code, added.stderr).to.equal(0);
    const hook = JSON.parse(added.stdout) as { id: string; secret: string };
    registerSecret(hook.secret, 'webhook secret', 'tokenctl webhook add');
    const listed = await tokenctl(['webhook', 'list'], cli);
    expect(listed.stdout).to.include(hook.id);
    expect(listed.stdout).to.not.include(hook.secret);
    const bad = await tokenctl(['webhook', 'add', '--url', 'ftp://x', '--event', 'token.recovered'], cli);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include('url');
    expect((await tokenctl(['webhook', 'delete', hook.id], cli)).code).to.equal(0);

    const log = await tokenctl(['audit', '--target', hook.id, '--json'], cli);
    expect(log.code, log.stderr).to.equal(0);
    const actions = (JSON.parse(log.stdout) as AuditList).data.list.map((r) => r.action);
    expect(actions).to.deep.equal(['webhook.delete', 'webhook.create']);
    const table = await tokenctl(['audit', '--action', 'webhook.create'], cli);
    expect(table.stdout).to.include(hook.id);
    const hashed = await tokenctl(['audit', 'hash', '-'], cli, `${hook.secret}\n`);
    expect(hashed.code, hashed.stderr).to.equal(0);
    const found = await tokenctl(['audit', '--hash', hashed.stdout.trim(), '--json'], cli);
    expect((JSON.parse(found.stdout) as AuditList).data.list.map((r) => r.target)).to.deep.equal([hook.id]);
  });
});
