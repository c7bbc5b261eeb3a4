/**
 * The Firestore emulator for tests: the gcloud emulator's JVM started directly (not through
 * `gcloud emulators firestore start`, whose wrapper leaves the JVM running when killed), stopped by
 * its own pid, and killed with the process that started it. See TOOLCHAIN.md.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { getFreePort, LOOPBACK } from './ports';
import { readLines, spawnTracked, type TrackedChild } from './processes';

const JAR_IN_SDK = join('platform', 'cloud-firestore-emulator', 'cloud-firestore-emulator.jar');
const DEFAULT_SDK_ROOT = '/usr/lib/google-cloud-sdk';
const MAIN_CLASS = 'com.google.cloud.datastore.emulator.firestore.CloudFirestore';
const READY_LINE = 'Dev App Server is now running';
const OUTPUT_LINES_KEPT = 200;
const JAVA_HINT =
  'Install Java 17 or newer (apt-get install -y openjdk-17-jre-headless), set JAVA_HOME, ' +
  'or set FIRESTORE_EMULATOR_HOST to a running emulator.';

export interface EmulatorOptions {
  /** Default: a free port (the same one again on every restart). */
  port?: number;
  /** Default: findEmulatorJar(). */
  jar?: string;
  /** Default: $JAVA_HOME/bin/java when JAVA_HOME is set, else `java` from PATH. */
  java?: string;
  /** How long to wait for the emulator to say it is running. Default 60 s. */
  timeoutMs?: number;
  /** The JVM's environment (e.g. libfaketime's, to move the store's clock). Default: this process's. */
  env?: NodeJS.ProcessEnv;
}

/** A Firestore emulator: one this process started (owned) or one named by FIRESTORE_EMULATOR_HOST. */
export class FirestoreEmulator {
  private proc: TrackedChild | undefined;
  private readonly lines: string[] = [];

  private constructor(
    /** 127.0.0.1:PORT, the value for FIRESTORE_EMULATOR_HOST. */
    readonly host: string,
    readonly port: number,
    /** False when the emulator came from FIRESTORE_EMULATOR_HOST: start() and stop() then refuse. */
    readonly owned: boolean,
    private readonly options: Required<Pick<EmulatorOptions, 'timeoutMs'>> & EmulatorOptions,
  ) {}

  /** Starts a new emulator JVM on options.port or a free port; resolves once it is serving. */
  static async start(options: EmulatorOptions = {}): Promise<FirestoreEmulator> {
    const port = options.port ?? (await getFreePort());
    const emulator = new FirestoreEmulator(`${LOOPBACK}:${port}`, port, true, {
      timeoutMs: 60_000,
      ...options,
    });
    await emulator.start();
    return emulator;
  }

  /** An emulator somebody else runs (start/stop are not ours to call). */
  static external(host: string): FirestoreEmulator {
    const port = Number(host.slice(host.lastIndexOf(':') + 1));
    return new FirestoreEmulator(host, port, false, { timeoutMs: 0 });
  }

  /** The JVM's pid while it runs. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  /** The emulator's recent output (last 200 lines), for error messages. */
  output(): string {
    return this.lines.join('\n');
  }

  /**
   * Starts the JVM on this emulator's port (again, after stop(): a fault test can take the database
   * away and bring it back at the same address; the data is gone, as with a real restart).
   */
  async start(): Promise<void> {
    this.requireOwned('start');
    if (this.proc !== undefined) return;
    // A port just released by the previous JVM is normally free at once; retry briefly if not.
    for (let attempt = 1; ; attempt++) {
      try {
        this.proc = await this.launch();
        return;
      } catch (err) {
        const busy = /BindException|already in use/i.test(this.output());
        if (!busy || attempt >= 5) throw err;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  }

  /** SIGTERM to the JVM's own pid, SIGKILL after graceMs; resolves once it has exited. */
  async stop(graceMs = 5000): Promise<void> {
    this.requireOwned('stop');
    const proc = this.proc;
    this.proc = undefined;
    if (proc !== undefined) await proc.stop(graceMs);
  }

  /** Deletes every document of projectId in this emulator. */
  clear(projectId: string): Promise<void> {
    return clearEmulator(this.host, projectId);
  }

  private requireOwned(action: string): void {
    if (!this.owned) {
      throw new Error(
        `Cannot ${action} the Firestore emulator at ${this.host}: it was given by FIRESTORE_EMULATOR_HOST`,
      );
    }
  }

  private async launch(): Promise<TrackedChild> {
    const jar = this.options.jar ?? findEmulatorJar();
    const java = this.options.java ?? defaultJava();
    if (java === 'java' && onPath('java', process.env) === undefined) {
      throw new Error(`The Firestore emulator needs Java, and there is no java on PATH. ${JAVA_HINT}`);
    }
    this.lines.length = 0;
    const proc = spawnTracked(
      java,
      ['-Duser.language=en', '-cp', jar, MAIN_CLASS, 'start', `--host=${LOOPBACK}`, `--port=${this.port}`],
      // The output is read continuously: a JVM blocked on a full pipe would stop answering.
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(this.options.env === undefined ? {} : { env: this.options.env }),
      },
    );
    let spawnError: Error | undefined;
    proc.child.once('error', (err) => (spawnError = err));

    const timeoutMs = this.options.timeoutMs;
    const ready = await new Promise<boolean | 'exited'>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      readLines(proc.child, (line) => {
        this.lines.push(line);
        if (this.lines.length > OUTPUT_LINES_KEPT) this.lines.shift();
        if (line.includes(READY_LINE)) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      void proc.exited.then(() => {
        clearTimeout(timer);
        resolve('exited');
      });
    });
    if (ready === true) return proc;

    await proc.stop(1000);
    // Let the last lines of output arrive before quoting them ('close' follows the end of stdio).
    await Promise.race([
      once(proc.child, 'close').catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 1000)),
    ]);
    const why =
      ready === 'exited'
        ? 'exited before it was ready'
        : `did not print "${READY_LINE}" within ${timeoutMs} ms`;
    const hint =
      spawnError || /failed to execute/.test(this.output())
        ? `\nCould not run ${java}${spawnError ? `: ${spawnError.message}` : ''}. ${JAVA_HINT}`
        : '';
    throw new Error(
      `The Firestore emulator (${java} -cp ${jar}) on port ${this.port} ${why}.${hint}\n` +
        `--- its output ---\n${this.output() || '(none)'}`,
    );
  }
}

/**
 * The emulator tests should use: the one named by FIRESTORE_EMULATOR_HOST (as `npm test` sets it)
 * when set, else a new one this process owns. Stop it with `if (e.owned) await e.stop()`.
 */
export async function useEmulator(options: EmulatorOptions = {}): Promise<FirestoreEmulator> {
  const host = process.env.FIRESTORE_EMULATOR_HOST;
  if (host) return FirestoreEmulator.external(host);
  return FirestoreEmulator.start(options);
}

/** Starts an emulator JVM this process owns (always a new one): for tests that stop/restart it. */
export function startEmulator(options: EmulatorOptions = {}): Promise<FirestoreEmulator> {
  return FirestoreEmulator.start(options);
}

/** FIRESTORE_EMULATOR_HOST, or a clear error for tests run outside `npm test`. */
export function emulatorHostFromEnv(): string {
  const host = process.env.FIRESTORE_EMULATOR_HOST;
  if (!host) {
    throw new Error(
      'FIRESTORE_EMULATOR_HOST is not set: run these tests with `npm test` (node lib/test/helpers/run-tests.js), ' +
        'which starts the Firestore emulator, or point FIRESTORE_EMULATOR_HOST at a running one',
    );
  }
  return host;
}

/**
 * Deletes every document of projectId in the emulator at host (host:port). Bounded by 60 s, not
 * less: a freshly started emulator's first request took more than 10 s on a starved machine.
 */
export async function clearEmulator(host: string, projectId: string): Promise<void> {
  const url = `http://${host}/emulator/v1/projects/${encodeURIComponent(projectId)}/databases/(default)/documents`;
  const res = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  if (res.status !== 200) {
    throw new Error(
      `Clearing the Firestore emulator at ${host} (project ${projectId}) failed: ${res.status} ${text}`,
    );
  }
}

let cachedJar: string | undefined;

/**
 * The emulator jar: $FIRESTORE_EMULATOR_JAR, else under the Cloud SDK root that
 * `gcloud info` names, else two folders above the real path of `gcloud`, else /usr/lib/google-cloud-sdk.
 */
export function findEmulatorJar(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FIRESTORE_EMULATOR_JAR) {
    if (!existsSync(env.FIRESTORE_EMULATOR_JAR)) {
      throw new Error(`FIRESTORE_EMULATOR_JAR names ${env.FIRESTORE_EMULATOR_JAR}, which does not exist`);
    }
    return env.FIRESTORE_EMULATOR_JAR;
  }
  if (cachedJar !== undefined) return cachedJar;
  const tried: string[] = [];
  for (const root of sdkRoots(env)) {
    const jar = join(root, JAR_IN_SDK);
    if (existsSync(jar)) {
      cachedJar = jar;
      return jar;
    }
    tried.push(jar);
  }
  throw new Error(
    'The Firestore emulator jar was not found. Install it with `gcloud components install cloud-firestore-emulator` ' +
      '(or apt-get install google-cloud-cli-firestore-emulator), set FIRESTORE_EMULATOR_JAR to its path, ' +
      `or set FIRESTORE_EMULATOR_HOST to a running emulator. Looked at: ${tried.join(', ') || '(nothing)'}`,
  );
}

function* sdkRoots(env: NodeJS.ProcessEnv): Generator<string> {
  const gcloud = onPath('gcloud', env);
  if (gcloud !== undefined) {
    try {
      const root = execFileSync(gcloud, ['info', '--format=value(installation.sdk_root)'], {
        encoding: 'utf8',
        timeout: 20_000,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      if (root) yield root;
    } catch {
      // fall through to the other guesses
    }
    yield dirname(dirname(realpathSync(gcloud)));
  }
  yield DEFAULT_SDK_ROOT;
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function defaultJava(): string {
  const home = process.env.JAVA_HOME;
  if (home && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  return 'java';
}
