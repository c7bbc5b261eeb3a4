/**
 * `firebase deploy`, offline: the firebase-functions discovery that firebase-tools runs on the built
 * package (spawn the SDK's `firebase-functions` binary in the source folder with PORT and
 * FUNCTIONS_CONTROL_API=true, GET /__/functions.yaml, then /__/quitquitquit), with the environment a
 * deploy machine has (no token-server keys). The manifest must list the three functions with their
 * options, and firebase-tools' own parser and validator must accept it. Then what the upload would
 * hold, listed by firebase-tools' own walker with firebase.json's ignore list.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { getFreePort, LOOPBACK } from '../helpers/ports';
import { readLines, repoRoot, spawnTracked } from '../helpers/processes';

const PROJECT = 'demo-token-server';
const REGION = 'us-central1';
const ADMIN_KEY = 'TOKEN_SERVER_ADMIN_KEY';
const MASTER_KEY = 'TOKEN_SERVER_MASTER_KEY';

interface ManifestEndpoint {
  platform: string;
  region: string[];
  entryPoint: string;
  availableMemoryMb: number | null;
  cpu?: number | string;
  concurrency: number | null;
  maxInstances: number | null;
  timeoutSeconds: number | null;
  secretEnvironmentVariables?: Array<{ key: string }>;
  httpsTrigger?: { invoker?: string[] };
  scheduleTrigger?: { schedule: string; retryConfig?: { retryCount?: number } };
}

interface Manifest {
  specVersion: string;
  endpoints: Record<string, ManifestEndpoint>;
  params?: Array<{ type: string; name: string }>;
  requiredAPIs?: Array<{ api: string }>;
}

interface BackendEndpoint {
  id: string;
  region: string;
  runtime: string;
  cpu: number;
  concurrency: number;
  availableMemoryMb: number;
}

/** The parts of firebase-tools (no type declarations) that `firebase deploy` runs on the manifest. */
interface FirebaseTools {
  discovery: { yamlToBuild(yaml: unknown, project: string, region: string, runtime: string): unknown };
  build: { toBackend(build: unknown, paramValues: Record<string, unknown>): unknown };
  prepare: { resolveCpuAndConcurrency(backend: unknown): void };
  validate: { endpointsAreValid(backend: unknown): void };
  backend: { allEndpoints(backend: unknown): BackendEndpoint[] };
  runtimes: {
    getRuntimeChoice(sourceDir: string, runtime: string): string;
  };
  supported: { RUNTIMES: Record<string, { status: string } | undefined> };
  fsAsync: {
    readdirRecursive(options: { path: string; ignoreStrings: string[] }): Promise<Array<{ name: string }>>;
  };
}

function firebaseTools(root: string): FirebaseTools {
  const load = createRequire(join(root, 'package.json'));
  const lib = (path: string): unknown => load(`firebase-tools/lib/${path}`);
  return {
    discovery: lib('deploy/functions/runtimes/discovery') as FirebaseTools['discovery'],
    build: lib('deploy/functions/build') as FirebaseTools['build'],
    prepare: lib('deploy/functions/prepare') as FirebaseTools['prepare'],
    validate: lib('deploy/functions/validate') as FirebaseTools['validate'],
    backend: lib('deploy/functions/backend') as FirebaseTools['backend'],
    runtimes: lib('deploy/functions/runtimes/node/parseRuntimeAndValidateSDK') as FirebaseTools['runtimes'],
    supported: lib('deploy/functions/runtimes/supported') as FirebaseTools['supported'],
    fsAsync: lib('fsAsync') as FirebaseTools['fsAsync'],
  };
}

interface FunctionsConfig {
  source: string;
  runtime: string;
  predeploy?: string[];
  ignore?: string[];
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Runs the discovery as firebase-tools does (runtimes/node/index.ts serveAdmin + detectFromPort). */
async function discover(root: string): Promise<Manifest> {
  const port = await getFreePort();
  const output: string[] = [];
  const child = spawnTracked(
    process.execPath,
    [join(root, 'node_modules', 'firebase-functions', 'lib', 'bin', 'firebase-functions.js'), root],
    {
      cwd: root,
      // What firebase-tools passes: its own few variables and the project's Firebase ones. No
      // TOKEN_SERVER_* keys: loading the functions must not need them.
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(port),
        FUNCTIONS_CONTROL_API: 'true',
        GCLOUD_PROJECT: PROJECT,
        FIREBASE_CONFIG: JSON.stringify({ projectId: PROJECT }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  readLines(child.child, (line) => output.push(line));
  const base = `http://${LOOPBACK}:${port}`;
  const deadline = Date.now() + 20_000;
  try {
    for (;;) {
      try {
        const res = await fetch(`${base}/__/functions.yaml`, { signal: AbortSignal.timeout(5000) });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`discovery answered ${res.status}: ${text}`);
        return JSON.parse(text) as Manifest;
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if (code !== 'ECONNREFUSED' || Date.now() > deadline) {
          throw new Error(`discovery failed: ${String(err)}\n--- its output ---\n${output.join('\n')}`, {
            cause: err,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await fetch(`${base}/__/quitquitquit`).catch(() => undefined);
    await child.stop(5000);
  }
}

function secretKeys(endpoint: ManifestEndpoint | undefined): string[] {
  return (endpoint?.secretEnvironmentVariables ?? []).map((s) => s.key).sort();
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

describe('firebase deploy (offline): discovery and upload of the built package', function () {
  this.timeout(60_000);
  const root = repoRoot();
  const tools = firebaseTools(root);
  const functionsConfig = readJson<{ functions: FunctionsConfig[] }>(join(root, 'firebase.json'))
    .functions[0];
  let manifest: Manifest;

  before(async () => {
    manifest = await discover(root);
  });

  it('is configured for runtime nodejs22, built before deploy and not rebuilt by Cloud Build', () => {
    const pkg = readJson<{ main: string; scripts: Record<string, string> }>(join(root, 'package.json'));
    expect(functionsConfig?.source).to.equal('.');
    expect(functionsConfig?.runtime).to.equal('nodejs22');
    expect(tools.runtimes.getRuntimeChoice(root, 'nodejs22')).to.equal('nodejs22');
    expect(tools.supported.RUNTIMES.nodejs22?.status).to.equal('GA');
    // A clean build, so that no compiled file of a deleted source is uploaded.
    expect(functionsConfig?.predeploy).to.include('npm run build:clean');
    expect(pkg.main).to.equal('lib/functions/index.js');
    expect(pkg.scripts['gcp-build']).to.equal('');
  });

  it('lists tokenServer and tokenServerCache as public HTTPS functions with their options and secrets', () => {
    expect(manifest.specVersion).to.equal('v1alpha1');
    expect(Object.keys(manifest.endpoints).sort()).to.deep.equal([
      'tokenServer',
      'tokenServerCache',
      'tokenServerRefresh',
    ]);
    // What differs between the two: memory, concurrency and instances.
    const sizes = [
      { name: 'tokenServer', availableMemoryMb: 512, concurrency: 80, maxInstances: 10 },
      { name: 'tokenServerCache', availableMemoryMb: 256, concurrency: 250, maxInstances: 20 },
    ];
    for (const { name, ...size } of sizes) {
      const endpoint = manifest.endpoints[name];
      expect(endpoint, name).to.deep.include({
        platform: 'gcfv2',
        entryPoint: name,
        region: [REGION],
        cpu: 1,
        ...size,
        timeoutSeconds: 60,
        httpsTrigger: { invoker: ['public'] },
      });
      expect(secretKeys(endpoint), name).to.deep.equal([ADMIN_KEY, MASTER_KEY]);
    }
  });

  it('lists tokenServerRefresh as a private function scheduled every minute, with the master key only', () => {
    const refresh = manifest.endpoints.tokenServerRefresh;
    expect(refresh).to.deep.include({
      platform: 'gcfv2',
      entryPoint: 'tokenServerRefresh',
      region: [REGION],
      availableMemoryMb: 256,
      cpu: 1,
      concurrency: 4,
      maxInstances: 1,
      timeoutSeconds: 300,
    });
    expect(refresh?.httpsTrigger).to.equal(undefined);
    expect(refresh?.scheduleTrigger).to.deep.include({
      schedule: 'every 1 minutes',
      retryConfig: { retryCount: 0 },
    });
    expect(secretKeys(refresh)).to.deep.equal([MASTER_KEY]);
    expect(manifest.requiredAPIs?.map((a) => a.api)).to.include('cloudscheduler.googleapis.com');
  });

  it('declares the two keys as Secret Manager secrets (firebase deploy checks that they exist)', () => {
    expect(manifest.params).to.deep.equal([
      { type: 'secret', name: ADMIN_KEY },
      { type: 'secret', name: MASTER_KEY },
    ]);
  });

  it('passes firebase-tools’ own parsing and validation of the manifest', () => {
    const build = tools.discovery.yamlToBuild(manifest, PROJECT, REGION, functionsConfig?.runtime ?? '');
    const backend = tools.build.toBackend(build, {});
    tools.prepare.resolveCpuAndConcurrency(backend);
    expect(() => tools.validate.endpointsAreValid(backend)).to.not.throw();
    const endpoints = tools.backend.allEndpoints(backend);
    expect(
      endpoints.map((e) => `${e.id} ${e.region} ${e.runtime} cpu=${e.cpu} c=${e.concurrency}`).sort(),
    ).to.deep.equal([
      `tokenServer ${REGION} nodejs22 cpu=1 c=80`,
      `tokenServerCache ${REGION} nodejs22 cpu=1 c=250`,
      `tokenServerRefresh ${REGION} nodejs22 cpu=1 c=4`,
    ]);
  });

  it('uploads the built functions and the package files, without tests, benchmarks, scripts or source maps', async () => {
    // firebase-tools adds these to the ignore list itself (prepareFunctionsUpload.ts).
    const ignore = [
      ...(functionsConfig?.ignore ?? []),
      'firebase-debug.log',
      'firebase-debug.*.log',
      '.runtimeconfig.json',
    ];
    const files = (await tools.fsAsync.readdirRecursive({ path: root, ignoreStrings: ignore })).map((f) =>
      relative(root, f.name).split(sep).join('/'),
    );
    const builtFunctions = filesUnder(join(root, 'lib', 'functions'))
      .map((f) => relative(root, f).split(sep).join('/'))
      .filter((f) => f.endsWith('.js'));
    expect(files).to.include.members([
      'package.json',
      'package-lock.json',
      'lib/functions/index.js',
      ...builtFunctions,
    ]);
    const unwanted = files.filter(
      (f) =>
        /^(lib\/)?(test|bench|scripts)\//.test(f) ||
        /(^|\/)(node_modules|\.git)\//.test(f) ||
        /\.(map|md|log)$/.test(f) ||
        /^firebase-debug/.test(f),
    );
    expect(unwanted).to.deep.equal([]);
    const bytes = files.reduce((sum, f) => sum + statSync(join(root, f)).size, 0);
    expect(bytes, `${files.length} files`).to.be.below(2 * 1024 * 1024);
  });
});
