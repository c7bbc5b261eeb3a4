/**
 * Issue 28: what a fresh tokenServerCache process loads to serve its first token. Its first request
 * is an app's (a client key) for a token already in Firestore: the process must answer it from the
 * database without loading zod (README "Cold start": zod is loaded on first use, by a request that
 * needs a schema). gRPC is not checked here: the instance loads it in the background at its first
 * idle moment, for a first miss's listener, by design (test/unit/entries.test.ts). Every module the
 * process loads is recorded as it is loaded (test/helpers/module-record.ts); a second request that
 * does need a schema shows that the record would have seen zod.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { request } from '../helpers/http';
import { repoRoot, startFunction } from '../helpers/processes';
import { scenarioHooks } from '../helpers/realworld';

const params = { realm: 'cold_mods', key: 'main' };

describe('cold start: what a fresh tokenServerCache loads for its first token (issue 28)', function () {
  this.timeout(120_000);
  const open = scenarioHooks();
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'module-record-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves a database hit with a client key without loading zod; a request needing a schema loads zod', async () => {
    const world = await open({ fake: { mode: 'mint', lifetimeMs: 600_000, killAfterMs: null } });
    const [server] = await world.start([{ target: 'tokenServer', name: 'server' }]);
    await world.seed(server!, params, 'wechat');
    await world.tokenOk(server!, params);
    const created = await request<{ client_key?: string }>(`${server!.url}/api/client`, {
      method: 'POST',
      bearer: world.env.adminKey,
      body: { name: 'cold-app', scopes: [{ realm: params.realm, key: params.key }] },
    });
    const clientKey = created.body.client_key;
    expect(clientKey, created.text).to.be.a('string');

    const record = join(dir, 'modules.txt');
    const edge = await startFunction({
      target: 'tokenServerCache',
      env: {
        ...world.env.env,
        NODE_OPTIONS: `--require ${join(repoRoot(), 'lib', 'test', 'helpers', 'module-record.js')}`,
        MODULE_RECORD_FILE: record,
      },
    });
    try {
      const loaded = () => readFileSync(record, 'utf8').split('\n').filter(Boolean);
      const zod = () => loaded().filter((f) => f.includes('/node_modules/zod/'));
      const atStart = loaded().length;

      const hit = await request<{ token?: string; source?: string }>(
        `${edge.url}/api/token?realm=${params.realm}&key=${params.key}`,
        { bearer: clientKey },
      );
      expect(hit.status, hit.text).to.equal(200);
      expect(hit.body.source, hit.text).to.equal('database');
      const afterHit = loaded();
      // The record works: the first read loaded Firestore's REST client as it happened.
      expect(afterHit.length).to.be.greaterThan(atStart);
      expect(afterHit.some((f) => f.includes('/google-gax/build/src/fallback'))).to.equal(true);
      expect(zod(), 'zod modules loaded by the first token').to.deep.equal([]);

      // A request that needs the token route's schema (a flag) is answered as before, and loads zod.
      const bad = await request<{ error?: { message?: string } }>(
        `${edge.url}/api/token?realm=${params.realm}&key=${params.key}&flush=maybe`,
        { bearer: clientKey },
      );
      expect(bad.status, bad.text).to.equal(400);
      expect(bad.body.error?.message ?? '').to.include('flush');
      expect(zod().length).to.be.greaterThan(0);
      console.log(
        `      [issue 28] modules loaded: ${atStart} at start, ${afterHit.length - atStart} from the first ` +
          `token to its answer and the idle warm-up after it (0 of zod), ${zod().length} of zod by the first request needing a schema`,
      );
    } finally {
      await edge.stop();
    }
  });
});
