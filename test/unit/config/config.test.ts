import { expect } from 'chai';
import { parseConfig, type Config } from '../../../functions/config';
import { AppError } from '../../../functions/errors';

const ADMIN = 'a'.repeat(40);
const MASTER = Buffer.alloc(32, 9).toString('base64');
const SECRET = 'projects/p/secrets/s/versions/1';

function fails(env: NodeJS.ProcessEnv): AppError {
  try {
    parseConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected parseConfig to throw');
}

describe('parseConfig(env)', () => {
  it('has safe defaults for an empty environment: no keys, Firestore, https-only upstreams', () => {
    const c = parseConfig({});
    expect(c).to.deep.include({
      projectId: 'demo-token-server',
      emulatorHost: undefined,
      store: 'firestore',
      adminKey: { kind: 'none' },
      masterKey: { kind: 'none' },
      allowPrivateUpstreams: false,
      leaseMs: 15_000,
      waitMs: 20_000,
      clientCacheMs: 30_000,
      storeTimeoutMs: 10_000,
      firestoreTransport: 'rest',
      logLevel: 'info',
      webhookRetryMinMs: 30_000,
      webhookLeaseMs: 15_000,
    });
  });

  const good: Array<[string, NodeJS.ProcessEnv, Partial<Config>]> = [
    ['project from GOOGLE_CLOUD_PROJECT', { GOOGLE_CLOUD_PROJECT: 'p1' }, { projectId: 'p1' }],
    ['project from GCLOUD_PROJECT', { GCLOUD_PROJECT: 'p2' }, { projectId: 'p2' }],
    ['emulator host', { FIRESTORE_EMULATOR_HOST: '127.0.0.1:8085' }, { emulatorHost: '127.0.0.1:8085' }],
    ['memory store', { TOKEN_SERVER_STORE: 'memory' }, { store: 'memory' }],
    ['admin key value', { TOKEN_SERVER_ADMIN_KEY: ADMIN }, { adminKey: { kind: 'value', value: ADMIN } }],
    [
      'admin key with a trailing newline',
      { TOKEN_SERVER_ADMIN_KEY: `${ADMIN}\n` },
      { adminKey: { kind: 'value', value: ADMIN } },
    ],
    [
      'admin key from Secret Manager',
      { TOKEN_SERVER_ADMIN_KEY_SECRET: SECRET },
      { adminKey: { kind: 'secret', name: SECRET } },
    ],
    [
      'master key value',
      { TOKEN_SERVER_MASTER_KEY: MASTER },
      { masterKey: { kind: 'value', value: MASTER } },
    ],
    [
      'master key with CRLF',
      { TOKEN_SERVER_MASTER_KEY: `${MASTER}\r\n` },
      { masterKey: { kind: 'value', value: MASTER } },
    ],
    [
      'master key from Secret Manager',
      { TOKEN_SERVER_MASTER_KEY_SECRET: SECRET },
      { masterKey: { kind: 'secret', name: SECRET } },
    ],
    ['private upstreams', { TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true' }, { allowPrivateUpstreams: true }],
    [
      'private upstreams off',
      { TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'false' },
      { allowPrivateUpstreams: false },
    ],
    [
      'lease and wait',
      { TOKEN_SERVER_LEASE_MS: '3000', TOKEN_SERVER_WAIT_MS: '0' },
      { leaseMs: 3000, waitMs: 0 },
    ],
    ['log level', { TOKEN_SERVER_LOG_LEVEL: 'debug' }, { logLevel: 'debug' }],
    [
      'webhook retry and delivery lease',
      { TOKEN_SERVER_WEBHOOK_RETRY_MIN_MS: '1000', TOKEN_SERVER_WEBHOOK_LEASE_MS: '2000' },
      { webhookRetryMinMs: 1000, webhookLeaseMs: 2000 },
    ],
    ['store timeout', { TOKEN_SERVER_STORE_TIMEOUT_MS: '2500' }, { storeTimeoutMs: 2500 }],
    ['Firestore over gRPC', { TOKEN_SERVER_FIRESTORE_TRANSPORT: 'grpc' }, { firestoreTransport: 'grpc' }],
    ['Firestore over REST', { TOKEN_SERVER_FIRESTORE_TRANSPORT: 'rest' }, { firestoreTransport: 'rest' }],
  ];
  for (const [name, env, want] of good) {
    it(`accepts ${name}`, () => {
      expect(parseConfig(env)).to.deep.include(want);
    });
  }

  const bad: Array<[string, NodeJS.ProcessEnv, string, string?]> = [
    ['a short admin key', { TOKEN_SERVER_ADMIN_KEY: 'short-key' }, 'TOKEN_SERVER_ADMIN_KEY', 'short-key'],
    [
      'a webhook retry of 0 ms',
      { TOKEN_SERVER_WEBHOOK_RETRY_MIN_MS: '0' },
      'TOKEN_SERVER_WEBHOOK_RETRY_MIN_MS',
    ],
    [
      'a master key of 16 bytes',
      { TOKEN_SERVER_MASTER_KEY: Buffer.alloc(16).toString('base64') },
      'TOKEN_SERVER_MASTER_KEY',
    ],
    [
      'a master key that is not base64',
      { TOKEN_SERVER_MASTER_KEY: 'not base64 at all!' },
      'TOKEN_SERVER_MASTER_KEY',
      'not base64 at all!',
    ],
    [
      'a malformed secret name',
      { TOKEN_SERVER_ADMIN_KEY_SECRET: 'my-secret' },
      'TOKEN_SERVER_ADMIN_KEY_SECRET',
    ],
    [
      'both admin key forms',
      { TOKEN_SERVER_ADMIN_KEY: ADMIN, TOKEN_SERVER_ADMIN_KEY_SECRET: SECRET },
      'TOKEN_SERVER_ADMIN_KEY_SECRET',
    ],
    [
      'both master key forms',
      { TOKEN_SERVER_MASTER_KEY: MASTER, TOKEN_SERVER_MASTER_KEY_SECRET: SECRET },
      'TOKEN_SERVER_MASTER_KEY_SECRET',
    ],
    ['an unknown store', { TOKEN_SERVER_STORE: 'redis' }, 'TOKEN_SERVER_STORE'],
    [
      'a non-boolean flag',
      { TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'maybe' },
      'TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS',
    ],
    ['a lease that is too short', { TOKEN_SERVER_LEASE_MS: '10' }, 'TOKEN_SERVER_LEASE_MS'],
    ['a fractional wait', { TOKEN_SERVER_WAIT_MS: '1.5' }, 'TOKEN_SERVER_WAIT_MS'],
    [
      'a client cache over 60 s (revocation promise)',
      { TOKEN_SERVER_CLIENT_CACHE_MS: '120000' },
      'TOKEN_SERVER_CLIENT_CACHE_MS',
    ],
    ['an unknown log level', { TOKEN_SERVER_LOG_LEVEL: 'trace' }, 'TOKEN_SERVER_LOG_LEVEL'],
    [
      'an unknown Firestore transport',
      { TOKEN_SERVER_FIRESTORE_TRANSPORT: 'http2' },
      'TOKEN_SERVER_FIRESTORE_TRANSPORT',
    ],
    [
      'a store timeout under 100 ms',
      { TOKEN_SERVER_STORE_TIMEOUT_MS: '50' },
      'TOKEN_SERVER_STORE_TIMEOUT_MS',
    ],
  ];
  for (const [name, env, variable, value] of bad) {
    it(`refuses ${name}, naming ${variable} and never its value`, () => {
      const err = fails(env);
      expect(err.code).to.equal('NOT_READY');
      expect(err.message).to.include(variable);
      if (value !== undefined) expect(err.message).to.not.include(value);
      expect((err.details as { variables: string[] }).variables).to.include(variable);
    });
  }
});
