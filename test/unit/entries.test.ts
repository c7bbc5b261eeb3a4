/**
 * Each function loads only what it needs: a fresh process that reads one export of
 * lib/functions/index.js (as the Functions Framework does with its --target) and lists the modules
 * of ours it loaded. tokenServerCache loads no admin route, schema or OpenAPI module, and with its
 * runtime built no zod, no Secret Manager client when the keys are in the environment, no gRPC and
 * no listener; tokenServerRefresh no HTTP route at all; tokenServer its token routes, and the admin
 * side (with zod, and of zod's locales English alone) only with its whole route table (so the check
 * can fail).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../helpers/processes';

const LIB = join(repoRoot(), 'lib', 'functions');

/** Our modules (paths under lib/functions, without .js) that loading `target` required. */
function modulesLoadedBy(target: string, then = ''): string[] {
  const script = `const index = require(${JSON.stringify(join(LIB, 'index.js'))});
    if (index[${JSON.stringify(target)}] === undefined) throw new Error('no export ${target}');
    ${then}
    const ours = Object.keys(require.cache).filter((f) => f.startsWith(${JSON.stringify(LIB + '/')}));
    process.stdout.write(JSON.stringify(ours.map((f) => f.slice(${LIB.length + 1}, -3))));`;
  const child = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
  });
  expect(child.status, child.stderr).to.equal(0);
  return JSON.parse(child.stdout) as string[];
}

/**
 * Every file (ours and our dependencies') in the module cache of a fresh process that read the
 * export `target` (and ran `then`) and then built the instance's runtime as a first request does, from keys in the
 * environment and a Firestore store on an emulator address nothing listens on (building it
 * connects to nothing).
 */
function filesLoadedWithRuntime(target: string, then = ''): string[] {
  const script = `const index = require(${JSON.stringify(join(LIB, 'index.js'))});
    if (index[${JSON.stringify(target)}] === undefined) throw new Error('no export ${target}');
    ${then}
    require(${JSON.stringify(join(LIB, 'runtime.js'))}).getRuntime({
      FIRESTORE_EMULATOR_HOST: '127.0.0.1:1',
      TOKEN_SERVER_ADMIN_KEY: 'a'.repeat(40),
      TOKEN_SERVER_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    }).then(() => process.stdout.write(JSON.stringify(Object.keys(require.cache))));`;
  const child = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
  });
  expect(child.status, child.stderr).to.equal(0);
  return JSON.parse(child.stdout) as string[];
}

const ADMIN = [
  'http/routes/clients',
  'http/routes/realms',
  'http/routes/secrets',
  'http/routes/presets',
  'http/routes/operations',
  'http/routes/openapi',
  'http/openapi',
  'http/api-schemas',
  'admin/views',
  'admin/paging',
];

describe('function entries load only their own modules', function () {
  this.timeout(120_000);

  it('tokenServer loads its token routes, and the admin routes, their schemas, the OpenAPI document and the console only with its whole route table', () => {
    const loaded = modulesLoadedBy('tokenServer');
    expect(loaded).to.include.members(['http/routes/token', 'http/app', 'runtime', 'entries/token-server']);
    for (const module of [
      ...ADMIN,
      'http/routes/console',
      'entries/token-server-cache',
      'entries/token-server-refresh',
    ]) {
      expect(loaded, module).to.not.include(module);
    }
    // What the first request outside the token routes loads (HandlerOptions.lazyRoutes).
    const whole = modulesLoadedBy(
      'tokenServer',
      `require(${JSON.stringify(join(LIB, 'http', 'routes', 'index.js'))}).fullRoutes();`,
    );
    expect(whole).to.include.members(ADMIN);
  });

  it('tokenServerCache loads the token route and no admin code', () => {
    const loaded = modulesLoadedBy('tokenServerCache');
    expect(loaded).to.include.members(['http/routes/token', 'http/routes/health', 'http/app', 'runtime']);
    for (const module of [...ADMIN, 'entries/token-server', 'entries/token-server-refresh', 'scheduled']) {
      expect(loaded, module).to.not.include(module);
    }
  });

  it('tokenServerCache with its runtime built loads no zod (the locale index is a stand-in), no Secret Manager (keys from the environment), no gRPC and no listener machinery', () => {
    const files = filesLoadedWithRuntime('tokenServerCache');
    // zod-locales.ts puts a stand-in for zod's locale index in the module cache; nothing else of zod.
    expect(files.filter((f) => f.includes('/node_modules/zod/'))).to.deep.equal([
      require.resolve('zod/v4/locales'),
    ]);
    for (const part of [
      '/@google-cloud/secret-manager/',
      '/google-gax/',
      '/@grpc/grpc-js/',
      '/protobufjs/',
      '/@google-cloud/firestore/build/src/watch.js',
    ]) {
      expect(
        files.filter((f) => f.includes(part)),
        part,
      ).to.deep.equal([]);
    }
    // It did build a Firestore store (the check would pass trivially otherwise).
    expect(files.some((f) => f.endsWith('/@google-cloud/firestore/build/src/index.js'))).to.equal(true);
  });

  it("tokenServerCache loads no miss path; warmMissPath (an idle instance's, a first miss's) loads it, the realm config parser with zod, and the upstream call", () => {
    const MISS = ['engine/miss-path', 'providers/realm-config', 'providers/upstream'];
    const loaded = modulesLoadedBy('tokenServerCache');
    expect(loaded).to.include('engine/engine');
    for (const module of MISS) expect(loaded, module).to.not.include(module);
    const warmed = modulesLoadedBy(
      'tokenServerCache',
      `require(${JSON.stringify(join(LIB, 'engine', 'engine.js'))}).warmMissPath();
       if (!Object.keys(require.cache).some((f) => f.includes('/node_modules/zod/'))) throw new Error('no zod');`,
    );
    expect(warmed).to.include.members(MISS);
  });

  it('tokenServerCache over REST: Store.warm loads the REST client and no gRPC; the first miss (Store.warmMiss) loads gRPC', () => {
    // Nothing listens on the emulator address: the reads fail (and are retried) in the background;
    // what is checked is which modules the two warm-ups loaded, polled for up to 30 s each.
    const script = `const index = require(${JSON.stringify(join(LIB, 'index.js'))});
      if (index.tokenServerCache === undefined) throw new Error('no export tokenServerCache');
      const has = (part) => Object.keys(require.cache).some((f) => f.includes(part));
      const until = async (part) => {
        for (let i = 0; i < 3000 && !has(part); i++) await new Promise((r) => setTimeout(r, 10));
        return has(part);
      };
      require(${JSON.stringify(join(LIB, 'runtime.js'))}).getRuntime({
        FIRESTORE_EMULATOR_HOST: '127.0.0.1:1',
        TOKEN_SERVER_ADMIN_KEY: 'a'.repeat(40),
        TOKEN_SERVER_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      }).then(async (runtime) => {
        const out = { built: { rest: has('/google-gax/build/src/fallback'), grpc: has('/@grpc/grpc-js/') } };
        void runtime.store.warm();
        out.warm = { rest: await until('/google-gax/build/src/fallback'), grpc: has('/@grpc/grpc-js/') };
        runtime.store.warmMiss();
        out.warmMiss = { grpc: await until('/@grpc/grpc-js/') };
        process.stdout.write(JSON.stringify(out));
        process.exit(0);
      });`;
    const child = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 90_000,
      env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
    });
    expect(child.status, child.stderr).to.equal(0);
    expect(JSON.parse(child.stdout)).to.deep.equal({
      built: { rest: false, grpc: false },
      warm: { rest: true, grpc: false },
      warmMiss: { grpc: true },
    });
  });

  it('tokenServer with its whole route table (zod and the admin schemas) loads no zod locale but English', () => {
    const files = filesLoadedWithRuntime(
      'tokenServer',
      `require(${JSON.stringify(join(LIB, 'http', 'routes', 'index.js'))}).fullRoutes();`,
    );
    expect(files.some((f) => f.endsWith('/node_modules/zod/index.cjs'))).to.equal(true);
    const locales = files.filter((f) => f.includes('/zod/v4/locales/')).map((f) => f.replace(/.*\//, ''));
    expect(locales.sort()).to.deep.equal(['en.cjs', 'index.cjs']);
  });

  it('tokenServerRefresh loads no HTTP route and no OpenAPI', () => {
    const loaded = modulesLoadedBy('tokenServerRefresh');
    expect(loaded).to.include.members(['scheduled', 'runtime', 'engine/engine']);
    const http = loaded.filter(
      (m) => m.startsWith('http/routes/') || m === 'http/app' || m === 'http/openapi',
    );
    expect(http).to.deep.equal([]);
    expect(loaded).to.not.include.members(['entries/token-server', 'entries/token-server-cache']);
  });

  it('an HTTP function loads firebase-functions/v2/https only when its manifest entry is read (deploy)', () => {
    const script = `const index = require(${JSON.stringify(join(LIB, 'index.js'))});
      const https = () => Object.keys(require.cache).some((f) => f.includes('firebase-functions/lib/v2/providers/https'));
      const out = {};
      for (const name of ['tokenServer', 'tokenServerCache']) {
        const fn = index[name];
        out[name] = { callable: typeof fn === 'function', loadedToServe: https() };
      }
      const endpoint = index.tokenServerCache.__endpoint;
      out.loadedForManifest = https();
      out.trigger = endpoint.httpsTrigger;
      out.platform = endpoint.platform;
      process.stdout.write(JSON.stringify(out));`;
    const child = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
    });
    expect(child.status, child.stderr).to.equal(0);
    const out = JSON.parse(child.stdout) as Record<string, unknown>;
    expect(out.tokenServer).to.deep.equal({ callable: true, loadedToServe: false });
    expect(out.tokenServerCache).to.deep.equal({ callable: true, loadedToServe: false });
    expect(out.loadedForManifest).to.equal(true);
    expect(out.platform).to.equal('gcfv2');
    expect(out.trigger).to.deep.equal({ invoker: ['public'] });
  });
});
