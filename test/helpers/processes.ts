/**
 * Child processes for tests: the token-server functions served by the stock Functions Framework,
 * and the bookkeeping that makes sure no child (function process, emulator JVM, mocha) outlives the
 * process that started it, whether it ends normally, is interrupted, or is killed.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from 'node:net';
import { recordLogSource, registerSecret } from './leak-registry';
import { getFreePort, LOOPBACK } from './ports';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child started by spawnTracked: killed on exit or interrupt of this process. */
export interface TrackedChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once the child has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the child is gone. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

// ---------------------------------------------------------------------------------------------
// Repository layout

let cachedRoot: string | undefined;

/** The repository root: the nearest folder above this file whose package.json is token-server's. */
export function repoRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
      if (parsed.name === 'token-server') {
        cachedRoot = dir;
        return dir;
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`repoRoot: no token-server package.json above ${__dirname}`);
    dir = parent;
  }
}

// ---------------------------------------------------------------------------------------------
// Tracking and reaping children

const tracked = new Set<TrackedChild>();
const shutdownHooks = new Set<() => Promise<void>>();
let hooksInstalled = false;
let shuttingDown = false;

const SIGNAL_NUMBERS: Record<'SIGINT' | 'SIGTERM' | 'SIGHUP', number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/**
 * On Linux, children are started through `setpriv --pdeathsig KILL`, which sets the parent-death
 * signal and then execs the real program (same pid): even if this process is SIGKILLed, the kernel
 * kills the child. The exit and signal handlers below cover every other platform and ending.
 */
const SETPRIV =
  process.platform === 'linux' && existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : undefined;

function killQuietly(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

/** Stops every tracked child still running (SIGTERM, SIGKILL after graceMs). */
export async function stopAllChildren(graceMs = 3000): Promise<void> {
  await Promise.all([...tracked].map((t) => t.stop(graceMs)));
}

/** The number of tracked children still running (a test can assert it cleaned up). */
export function runningChildren(): number {
  return tracked.size;
}

/**
 * Registers async cleanup to run (before this process exits) when it is interrupted by
 * SIGINT/SIGTERM/SIGHUP. Returns a function that removes the hook.
 */
export function addShutdownHook(hook: () => Promise<void>): () => void {
  installExitHooks();
  shutdownHooks.add(hook);
  return () => shutdownHooks.delete(hook);
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' handlers must be synchronous: whatever is still running gets SIGKILL.
  process.on('exit', () => {
    for (const t of tracked) killQuietly(t.child, 'SIGKILL');
  });
  for (const signal of Object.keys(SIGNAL_NUMBERS) as (keyof typeof SIGNAL_NUMBERS)[]) {
    process.on(signal, () => {
      const code = 128 + SIGNAL_NUMBERS[signal];
      if (shuttingDown) {
        // A second interrupt: stop waiting for anyone.
        process.exit(code);
      }
      shuttingDown = true;
      const deadline = setTimeout(() => process.exit(code), 10_000);
      deadline.unref();
      const hooks = [...shutdownHooks].map((hook) => hook().catch(() => undefined));
      void Promise.all([...hooks, stopAllChildren()]).finally(() => process.exit(code));
    });
  }
}

/**
 * spawn() whose child is tracked: stopped on SIGINT/SIGTERM/SIGHUP of this process, SIGKILLed on
 * its exit, and (Linux) killed by the kernel if this process dies without running any handler.
 */
export function spawnTracked(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): TrackedChild {
  installExitHooks();
  const child = SETPRIV
    ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args], options)
    : spawn(command, [...args], options);
  // A failed spawn (ENOENT) has no pid; report it as an exit with code 127 like a shell would.
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => {
      if (child.pid === undefined) resolve({ code: 127, signal: null });
    });
  });
  const stop = async (graceMs = 5000): Promise<ExitInfo> => {
    killQuietly(child, 'SIGTERM');
    const timer = setTimeout(() => killQuietly(child, 'SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  const entry: TrackedChild = { child, pid: child.pid ?? -1, exited, stop };
  tracked.add(entry);
  void exited.then(() => tracked.delete(entry));
  return entry;
}

/** Calls onLine for every line the child writes to stdout or stderr. */
export function readLines(
  child: ChildProcess,
  onLine: (line: string, stream: 'stdout' | 'stderr') => void,
): void {
  for (const stream of ['stdout', 'stderr'] as const) {
    const readable = child[stream];
    if (readable === null) continue;
    createInterface({ input: readable, crlfDelay: Infinity }).on('line', (line) => onLine(line, stream));
  }
}

// ---------------------------------------------------------------------------------------------
// Function processes

export type FunctionTarget = 'tokenServer' | 'tokenServerCache';

export interface StartFunctionOptions {
  /** An export of the module package.json `main` names in `source` (any name when source is given). */
  target: FunctionTarget | (string & Record<never, never>);
  /** The folder holding the package.json to serve. Default: the repository root (after a build). */
  source?: string;
  /** The complete environment of the process (see testEnv()). */
  env: NodeJS.ProcessEnv;
  /** Defaults to a free port. */
  port?: number;
  /**
   * How long to wait for GET /healthz to answer 200. Default 60 s: a function process took more
   * than 30 s to start on a starved machine.
   */
  timeoutMs?: number;
  /**
   * 'listening': any HTTP answer to /healthz will do (for processes expected to be unhealthy).
   * 'port': the port accepts a connection, and no request is sent (the test's own is the first).
   */
  waitFor?: 'healthy' | 'listening' | 'port';
}

export interface FunctionProcess {
  readonly target: string;
  /** http://127.0.0.1:PORT (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Every line the process wrote to stdout and stderr so far, in order. */
  readonly logs: string[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after graceMs (default 5 s); resolves when the process is gone. */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** Sends a signal and returns at once (e.g. 'SIGKILL' to simulate a crashed instance). */
  kill(signal?: NodeJS.Signals): void;
}

/** The Functions Framework's entry point, relative to the repository root. */
export const FUNCTIONS_FRAMEWORK = join(
  'node_modules',
  '@google-cloud',
  'functions-framework',
  'build',
  'src',
  'main.js',
);

/** Whether a TCP connection to the URL's host and port is accepted (closed at once, no request). */
function accepts(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Serves one export of lib/functions/index.js (so: after a build) with the stock Functions
 * Framework on 127.0.0.1 and waits until GET /healthz answers 200. Set TEST_ECHO_LOGS=1 to copy
 * the process's output to stderr as it happens.
 */
export async function startFunction(options: StartFunctionOptions): Promise<FunctionProcess> {
  const root = repoRoot();
  const source = options.source ?? root;
  const port = options.port ?? (await getFreePort());
  const timeoutMs = options.timeoutMs ?? 60_000;
  const url = `http://${LOOPBACK}:${port}`;
  const logs: string[] = [];
  const echo = process.env.TEST_ECHO_LOGS === '1';

  const tracked = spawnTracked(
    process.execPath,
    [
      '--enable-source-maps',
      join(root, FUNCTIONS_FRAMEWORK),
      `--target=${options.target}`,
      `--port=${port}`,
      `--source=${source}`,
    ],
    { cwd: source, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let spawnError: Error | undefined;
  tracked.child.once('error', (err) => (spawnError = err));
  // Every line any function process writes is part of the run-wide leak check.
  recordLogSource(`${options.target} on port ${port}`, logs);
  readLines(tracked.child, (line) => {
    logs.push(line);
    if (echo) process.stderr.write(`[${options.target}:${port}] ${line}\n`);
  });

  const describe = (problem: string): Error =>
    new Error(
      `${options.target} on port ${port} ${problem}.\n--- its output ---\n${logs.join('\n') || '(none)'}` +
        (spawnError ? `\n--- spawn error ---\n${spawnError.message}` : ''),
    );

  let exitInfo: ExitInfo | undefined;
  void tracked.exited.then((info) => (exitInfo = info));
  const started = Date.now();
  for (;;) {
    if (exitInfo !== undefined) {
      throw describe(`exited before it was ready (code ${exitInfo.code}, signal ${exitInfo.signal})`);
    }
    if (await isHealthy(url, options.waitFor ?? 'healthy')) break;
    if (Date.now() - started > timeoutMs) {
      await tracked.stop(1000);
      throw describe(`did not answer GET /healthz with 200 within ${timeoutMs} ms`);
    }
    await delay(100);
  }

  return {
    target: options.target,
    url,
    port,
    pid: tracked.pid,
    logs,
    exited: tracked.exited,
    stop: (graceMs?: number) => tracked.stop(graceMs),
    kill: (signal: NodeJS.Signals = 'SIGTERM') => killQuietly(tracked.child, signal),
  };
}

async function isHealthy(url: string, waitFor: 'healthy' | 'listening' | 'port'): Promise<boolean> {
  if (waitFor === 'port') return accepts(new URL(url));
  try {
    // Connection: close leaves no idle socket in fetch's pool: the process closes an idle one after
    // 5 s, and a test's first request reusing it just then (a starved machine, other processes still
    // starting) failed with ECONNRESET before it reached the process.
    const res = await fetch(`${url}/healthz`, {
      headers: { connection: 'close' },
      signal: AbortSignal.timeout(2000),
    });
    await res.arrayBuffer();
    return waitFor === 'listening' || res.status === 200;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// Environment for function processes

export interface TestEnvOptions {
  /** Default: 'firestore' when FIRESTORE_EMULATOR_HOST is set, else 'memory'. */
  store?: 'firestore' | 'memory';
  /** Extra variables (e.g. TOKEN_SERVER_LEASE_MS); undefined removes a variable. */
  overrides?: Record<string, string | undefined>;
}

export interface TestEnv {
  /** The complete environment to pass to startFunction (PATH etc. inherited, TOKEN_SERVER_* fresh). */
  env: NodeJS.ProcessEnv;
  /** TOKEN_SERVER_ADMIN_KEY (43 characters). */
  adminKey: string;
  /** TOKEN_SERVER_MASTER_KEY (base64 of 32 random bytes). */
  masterKey: string;
  projectId: string;
  emulatorHost: string | undefined;
}

/** The project every test uses: a `demo-` project never reaches real Google Cloud. */
export const TEST_PROJECT_ID = 'demo-token-server';

/**
 * The project of this mocha process: GOOGLE_CLOUD_PROJECT, which run-tests.ts sets per worker
 * (`demo-token-server-w2`, … : the emulator keeps projects apart), else TEST_PROJECT_ID.
 */
export function testProjectId(): string {
  return process.env.GOOGLE_CLOUD_PROJECT || TEST_PROJECT_ID;
}

let masterKeyOfRun: string | undefined;

/**
 * One master key for every testEnv() of this mocha process: files share the worker's emulator
 * project, and a document sealed once for the whole database (the audit key, ops/audit) must open
 * in every file. Tests of other keys set their own and clear the project when they are done.
 */
function runMasterKey(): string {
  if (masterKeyOfRun === undefined) {
    masterKeyOfRun = randomBytes(32).toString('base64');
    registerSecret(masterKeyOfRun, 'master key', 'testEnv()');
  }
  return masterKeyOfRun;
}

/**
 * A fresh, complete environment for function processes, with a newly generated admin key and the
 * run's master key (runMasterKey). Processes that must share data (several instances on one Firestore) must share one
 * TestEnv: call this once per test and pass `env` to every startFunction.
 */
export function testEnv(options: TestEnvOptions = {}): TestEnv {
  const emulatorHost = process.env.FIRESTORE_EMULATOR_HOST || undefined;
  const projectId = testProjectId();
  const adminKey = randomBytes(32).toString('base64url');
  const masterKey = runMasterKey();
  registerSecret(adminKey, 'admin key', 'testEnv()');
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('TOKEN_SERVER_') || name === 'FIRESTORE_EMULATOR_HOST') continue;
    env[name] = value;
  }
  Object.assign(env, {
    GOOGLE_CLOUD_PROJECT: projectId,
    GCLOUD_PROJECT: projectId,
    METADATA_SERVER_DETECTION: 'none',
    TOKEN_SERVER_STORE: options.store ?? (emulatorHost ? 'firestore' : 'memory'),
    TOKEN_SERVER_ADMIN_KEY: adminKey,
    TOKEN_SERVER_MASTER_KEY: masterKey,
    TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true',
    // A fresh emulator project's first writes, on a machine running two test workers (and perhaps
    // other jobs), can take longer than production's 10 s bound; tests that measure that bound set
    // their own.
    TOKEN_SERVER_STORE_TIMEOUT_MS: '30000',
  });
  if (emulatorHost !== undefined) env.FIRESTORE_EMULATOR_HOST = emulatorHost;
  for (const [name, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return { env, adminKey, masterKey, projectId, emulatorHost };
}
