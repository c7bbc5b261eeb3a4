/**
 * Issue 28: what a fresh tokenServerCache process loads to serve its first token. Its first request
 * is an app's (a client key) for a token already in Firestore: the process must answer it from the
 * database without loading zod (README "Cold start": zod is loaded by a request that needs a schema,
 * or after the answer, at the instance's first idle moment, for a first miss's realm config parse).
 * gRPC is not checked here: the instance loads it in the background at that idle moment too, for a
 * first miss's lease write and listener, by design (test/unit/entries.test.ts). Every module the
 * process loads is recorded as it is loaded, and every response's end where it happens
 * (test/helpers/module-record.ts): what comes before the first token's answer is what it waited for.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { request } from '../helpers/http';
import { RESPONSE_MARK } from '../helpers/module-record';
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
      // No /healthz first: the app's request is the process's first, as after a deploy, and the
      // instance's idle warm-up (which loads zod for a first miss) can only come after its answer.
      waitFor: 'port',
    });
    try {
      const lines = () => readFileSync(record, 'utf8').split('\n').filter(Boolean);
      const loaded = () => lines().filter((f) => !f.startsWith(RESPONSE_MARK));
      const isZod = (f: string) => f.includes('/node_modules/zod/');
      const zod = () => loaded().filter(isZod);
      const atStart = loaded().length;
      expect(
        lines().some((l) => l.startsWith(RESPONSE_MARK)),
        'no request before the app',
      ).to.equal(false);

      const hit = await request<{ token?: string; source?: string }>(
        `${edge.url}/api/token?realm=${params.realm}&key=${params.key}`,
        { bearer: clientKey },
      );
      expect(hit.status, hit.text).to.equal(200);
      expect(hit.body.source, hit.text).to.equal('database');
      // What was loaded before the first token's answer (the idle warm-up comes after it).
      const all = lines();
      const answered = all.findIndex((l) => l.startsWith(RESPONSE_MARK));
      expect(all[answered] ?? '', 'the first answer is the token').to.match(/^> response \/api\/token\?/);
      const beforeAnswer = all.slice(0, answered);
      // The record works: the first read loaded Firestore's REST client as it happened.
      expect(beforeAnswer.length).to.be.greaterThan(atStart);
      expect(beforeAnswer.some((f) => f.includes('/google-gax/build/src/fallback'))).to.equal(true);
      expect(beforeAnswer.filter(isZod), 'zod modules loaded by the first token').to.deep.equal([]);

      // After the answer, the idle instance loads the miss path's realm config parser (zod with it).
      const idleUntil = Date.now() + 30_000;
      while (!loaded().some((f) => f.endsWith('/providers/realm-config.js')) && Date.now() < idleUntil) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(
        loaded().some((f) => f.endsWith('/providers/realm-config.js')),
        'loaded when idle',
      ).to.equal(true);
      expect(zod().length).to.be.greaterThan(0);

      // A request that needs the token route's schema (a flag) is answered as before.
      const bad = await request<{ error?: { message?: string } }>(
        `${edge.url}/api/token?realm=${params.realm}&key=${params.key}&flush=maybe`,
        { bearer: clientKey },
      );
      expect(bad.status, bad.text).to.equal(400);
      expect(bad.body.error?.message ?? '').to.include('flush');
      console.log(
        `      [issue 28] modules loaded: ${atStart} at start, ${beforeAnswer.length - atStart} from the first ` +
          `token to its answer (0 of zod), ${zod().length} of zod by the idle warm-up after it and a request needing a schema`,
      );
    } finally {
      await edge.stop();
    }
  });
});
