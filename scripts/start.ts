/**
 * `npm start`: the whole service on this machine, offline. Starts the Firestore emulator (or falls
 * back to the memory store, saying so), a fake WeChat-style provider (tokens, tickets and a few API
 * calls that check the token: test/fakes/providers.ts), and both functions on fixed ports; prints
 * their URLs, the admin key and the exports curl and tokenctl use; stops everything on Ctrl-C.
 * `npm start` runs scripts/preflight.mjs first, so that a port in use is said before the build.
 *
 * Before it starts anything it checks what would make it fail: the configuration (parsed as the
 * functions will parse it) and the ports. A problem is said once, naming the variable to change,
 * and npm start exits 1.
 */
import { createServer } from 'node:net';
import { parseConfig } from '../functions/config';
import { generateAdminKey, generateMasterKey } from '../functions/keys/keys';
import { startFakeProvider } from '../test/fakes/providers';
import { startEmulator, type FirestoreEmulator } from '../test/helpers/emulator';
import { startFunction, stopAllChildren, type FunctionProcess } from '../test/helpers/processes';

const DEMO = { id: 'wx-demo-appid', secret: 'wx-demo-secret' };
const DEMO_WECOM = { id: 'ww-demo-corpid', secret: 'ww-demo-corpsecret' };

/** A mistake the user can fix by changing one variable: printed alone, then exit 1. */
class StartProblem extends Error {}

/** Whether a port can be listened on (all interfaces, as the Functions Framework does). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

async function checkPorts(ports: Record<string, number>): Promise<void> {
  for (const [variable, port] of Object.entries(ports)) {
    if (!(await portFree(port))) {
      throw new StartProblem(
        `Port ${port} is already in use (is another npm start running?): stop it, or set ${variable} to a free port, e.g. ${variable}=${port + 100} npm start`,
      );
    }
  }
}

/** The configuration the functions will get, parsed as they will parse it. */
function checkConfig(childEnv: NodeJS.ProcessEnv): void {
  try {
    parseConfig(childEnv);
  } catch (err) {
    const message = err instanceof Error ? err.message.replace(/^Invalid configuration: /, '') : String(err);
    throw new StartProblem(
      `npm start: invalid configuration: ${message}. Fix or unset it (npm start generates keys when none is set).`,
    );
  }
}

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new StartProblem(`${name} must be a port number (1-65535)`);
  return n;
}

async function main(): Promise<void> {
  const env = process.env;
  const ports = {
    server: port(env.TOKEN_SERVER_PORT, 8080, 'TOKEN_SERVER_PORT'),
    cache: port(env.TOKEN_SERVER_CACHE_PORT, 8081, 'TOKEN_SERVER_CACHE_PORT'),
    fake: port(env.FAKE_PROVIDER_PORT, 8099, 'FAKE_PROVIDER_PORT'),
  };
  const adminKey = env.TOKEN_SERVER_ADMIN_KEY || generateAdminKey();
  const masterKey = env.TOKEN_SERVER_MASTER_KEY || generateMasterKey();
  const projectId = env.GOOGLE_CLOUD_PROJECT || 'demo-token-server';
  // What the functions get from npm start (the user's other TOKEN_SERVER_* variables are not passed on).
  const serverVars = {
    TOKEN_SERVER_ADMIN_KEY: adminKey,
    TOKEN_SERVER_MASTER_KEY: masterKey,
    TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true',
    TOKEN_SERVER_LOG_LEVEL: env.TOKEN_SERVER_LOG_LEVEL || 'info',
  };
  checkConfig({ ...serverVars, TOKEN_SERVER_STORE: 'memory' });
  await checkPorts({
    TOKEN_SERVER_PORT: ports.server,
    TOKEN_SERVER_CACHE_PORT: ports.cache,
    FAKE_PROVIDER_PORT: ports.fake,
  });

  let emulator: FirestoreEmulator | undefined;
  let emulatorHost = env.FIRESTORE_EMULATOR_HOST || undefined;
  let store: 'firestore' | 'memory' = env.TOKEN_SERVER_STORE === 'memory' ? 'memory' : 'firestore';
  let storeNote: string;
  if (store === 'memory') {
    storeNote = 'memory store (TOKEN_SERVER_STORE=memory)';
  } else if (emulatorHost !== undefined) {
    storeNote = `Firestore emulator at ${emulatorHost} (FIRESTORE_EMULATOR_HOST)`;
  } else {
    try {
      process.stdout.write('Starting the Firestore emulator...\n');
      emulator = await startEmulator();
      emulatorHost = emulator.host;
      storeNote = `Firestore emulator at ${emulatorHost} (started here; data is lost on exit)`;
    } catch (err) {
      store = 'memory';
      storeNote =
        'memory store: the Firestore emulator could not be started, so each function keeps its own data ' +
        '(use tokenServer for the quick start)';
      process.stderr.write(`${(err as Error).message.split('\n')[0]}\n`);
    }
  }

  const fake = await startFakeProvider({ port: ports.fake });
  fake.setCredentials('wechat_offiaccount', DEMO);
  fake.setCredentials('wecom', DEMO_WECOM);

  const childEnv: NodeJS.ProcessEnv = { ...env };
  for (const name of Object.keys(childEnv)) if (name.startsWith('TOKEN_SERVER_')) delete childEnv[name];
  Object.assign(childEnv, {
    GOOGLE_CLOUD_PROJECT: projectId,
    GCLOUD_PROJECT: projectId,
    METADATA_SERVER_DETECTION: 'none',
    TOKEN_SERVER_STORE: store,
    ...serverVars,
  });
  if (store === 'firestore' && emulatorHost !== undefined) childEnv.FIRESTORE_EMULATOR_HOST = emulatorHost;
  else delete childEnv.FIRESTORE_EMULATOR_HOST;

  // Function logs (structured JSON) go to stderr with a prefix, as the test harness does.
  process.env.TEST_ECHO_LOGS = '1';
  let functions: FunctionProcess[];
  try {
    functions = await Promise.all([
      startFunction({ target: 'tokenServer', env: childEnv, port: ports.server }),
      startFunction({ target: 'tokenServerCache', env: childEnv, port: ports.cache }),
    ]);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    await shutdown(fake.close.bind(fake), emulator, 1);
    return;
  }
  const [server, cache] = functions as [FunctionProcess, FunctionProcess];
  // As a shell word: the variable (double quotes expand it) or the generated key (URL-safe characters).
  const shownKey = env.TOKEN_SERVER_ADMIN_KEY ? '"$TOKEN_SERVER_ADMIN_KEY"' : `'${adminKey}'`;

  process.stdout.write(
    [
      '',
      'token-server is running:',
      `  tokenServer       ${server.url}`,
      `  tokenServerCache  ${cache.url}`,
      `  console           ${server.url}/console   (asks for the admin key)`,
      `  fake provider     ${fake.url}   (WeChat /cgi-bin/token: appid ${DEMO.id}, secret ${DEMO.secret};`,
      `                                          WeCom /cgi-bin/gettoken: corpid ${DEMO_WECOM.id}, corpsecret ${DEMO_WECOM.secret};`,
      `                                          tickets and /cgi-bin/user/info, which check the token)`,
      `  store             ${storeNote}`,
      `  admin key         ${env.TOKEN_SERVER_ADMIN_KEY ? '(from TOKEN_SERVER_ADMIN_KEY)' : adminKey}`,
      '',
      '  In another shell (curl, the README quick start; tokenctl reads the last two):',
      `  export ADMIN=${shownKey}`,
      `  export TOKENCTL_URL=${server.url} TOKENCTL_ADMIN_KEY=${shownKey}`,
      `  curl -s ${server.url}/healthz; echo`,
      '  (README "Quick start" creates a realm, adds a secret and gets a token with curl; for the',
      `   tokenctl script: WECHAT_URL=${fake.url}/cgi-bin/token WX_APPID=${DEMO.id} WX_APPSECRET=${DEMO.secret})`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );

  const stop = (): void => {
    process.stdout.write('\nStopping...\n');
    void shutdown(fake.close.bind(fake), emulator, 0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function shutdown(
  closeFake: () => Promise<void>,
  emulator: FirestoreEmulator | undefined,
  code: number,
): Promise<void> {
  await stopAllChildren();
  await closeFake().catch(() => undefined);
  if (emulator?.owned === true) await emulator.stop().catch(() => undefined);
  process.exit(code);
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(err instanceof StartProblem ? `${message}\n` : `npm start failed: ${message}\n`);
  void stopAllChildren().then(() => process.exit(1));
});
