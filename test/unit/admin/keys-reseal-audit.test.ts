/**
 * POST /api/keys/reseal is audited once per call (`keys.reseal`, actor admin, the request's id, the
 * page's counts), and a refused call (400) records nothing.
 */
import { expect } from 'chai';
import { masterKeyIds } from '../../../functions/keys/keys';
import { adminApp, postRealms, SEED_REALM, type AdminApp } from './admin-harness';

interface AuditView {
  action: string;
  actor: string;
  target: string;
  request_id: string;
  outcome: string;
  hashes: string[];
  details?: Record<string, unknown>;
}

describe('keys.reseal audit', () => {
  let app: AdminApp;
  beforeEach(async () => {
    app = await adminApp();
    await postRealms(app, SEED_REALM);
  });
  afterEach(() => app.close());

  async function resealRecords(): Promise<AuditView[]> {
    const res = await app.call('GET', '/api/audit?action=keys.reseal&limit=100');
    expect(res.status).to.equal(200);
    return (res.body as { data: { list: AuditView[] } }).data.list;
  }

  it('records each call with its counts and request id; a refused call records nothing', async () => {
    for (const key of ['a', 'b', 'c']) {
      const put = await app.call('POST', '/api/secret', {
        realm: String(SEED_REALM.id),
        key,
        key_1: `appid-${key}`,
        key_2: `secret-value-${key}`,
      });
      expect(put.status).to.equal(200);
    }
    const first = await app.call(
      'POST',
      '/api/keys/reseal',
      { limit: 2 },
      { headers: { 'x-request-id': 'reseal-page-1' } },
    );
    expect(first.status).to.equal(200);
    const answer = first.body as { scanned: number; resealed: number; unreadable: number; complete: boolean };
    expect(answer.scanned).to.equal(2);
    const records = await resealRecords();
    expect(records).to.have.length(1);
    expect(records[0]).to.deep.include({
      actor: 'admin',
      target: `master-key:${masterKeyIds(app.runtime.keys)[0] ?? '?'}`,
      request_id: 'reseal-page-1',
      outcome: 'ok',
      hashes: [],
    });
    expect(records[0]?.details).to.deep.equal({
      collection: 'secrets',
      scanned: answer.scanned,
      resealed: answer.resealed,
      unreadable: answer.unreadable,
      complete: false,
    });

    const refused = await app.call('POST', '/api/keys/reseal', { limit: 0 });
    expect(refused.status).to.equal(400);
    expect(await resealRecords()).to.have.length(1);

    const cursor = (first.body as { cursor: string }).cursor;
    expect((await app.call('POST', '/api/keys/reseal', { cursor, limit: 1000 })).status).to.equal(200);
    expect(await resealRecords()).to.have.length(2);
  });
});
