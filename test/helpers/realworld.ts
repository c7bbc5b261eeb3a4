/**
 * The scaffolding of the real-world tests (issue 11): one fake provider (realworld-provider.ts),
 * several function processes (some with shifted clocks) on the one Firestore emulator of the run,
 * realms and secrets put through the admin API, traffic, and every answer checked against the fake:
 * was the token alive when it arrived, and did the lifetime the app was told end before the token
 * really died. Everything a scenario started is stopped after each test, also on failure.
 */
import { expect } from 'chai';
import {
  FAKE_APPID,
  FAKE_SECRET,
  RealworldProvider,
  realworldRealmConfig,
  type RealworldSettings,
} from '../fakes/realworld-provider';
import { clearEmulator, emulatorHostFromEnv } from './emulator';
import { request } from './http';
import { testEnv, type FunctionTarget, type TestEnv } from './processes';
import { observedOffsetSeconds, startSkewedFunction, type SkewedProcess } from './skew';

export interface ProcessSpec {
  target: FunctionTarget;
  /** Clock offset in whole seconds (faketime); default 0. */
  offsetSeconds?: number;
  /** A name for messages (default target@offset). */
  name?: string;
}

export interface Named extends SkewedProcess {
  readonly name: string;
}

/** One answer of the token route, as an app saw it. */
export interface Served {
  via: string;
  /** Real time (this process) the request was sent and the answer arrived. */
  sentAt: number;
  arrivedAt: number;
  /** 0 when the request failed without an HTTP answer. */
  status: number;
  token?: string;
  expiresIn?: number;
  expiresAt?: number;
  source?: string;
  outcome?: string;
  retryAfter?: string;
  errorCode?: string;
  /** The fake accepted the token at the moment the answer arrived. */
  aliveOnArrival?: boolean;
  networkError?: string;
}

export interface TokenParams {
  realm: string;
  key: string;
  flush?: boolean;
  invalidToken?: string;
  timeoutMs?: number;
}

/** One request line of a token route (http/app.ts), as tokenRequestLinesSince reads it. */
export interface RequestLine {
  via: string;
  status: number;
  realm?: string;
  source?: string;
  reason?: string;
}

export interface ScenarioOptions {
  /** TOKEN_SERVER_* variables for every function process. */
  env?: Record<string, string>;
  fake?: Partial<RealworldSettings>;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class RealworldScenario {
  readonly procs: Named[] = [];
  /** Further fake providers (addFake), each with its own tokens, stopped with the scenario. */
  private readonly moreFakes: RealworldProvider[] = [];

  private constructor(
    readonly env: TestEnv,
    readonly fake: RealworldProvider,
  ) {}

  /** A fresh scenario: the emulator emptied, a new fake provider, no process yet. */
  static async open(options: ScenarioOptions = {}): Promise<RealworldScenario> {
    emulatorHostFromEnv();
    const env = testEnv({ store: 'firestore', overrides: options.env ?? {} });
    await clearEmulator(env.emulatorHost!, env.projectId);
    const fake = await RealworldProvider.start(options.fake ?? {});
    return new RealworldScenario(env, fake);
  }

  /**
   * Another fake provider beside `fake`, for a second realm whose provider behaves differently
   * (seed with its `fake` argument); answers carrying its tokens are checked against it.
   */
  async addFake(settings: Partial<RealworldSettings>): Promise<RealworldProvider> {
    const fake = await RealworldProvider.start(settings);
    this.moreFakes.push(fake);
    return fake;
  }

  /** The fake that issued `token` (the scenario's own when none did). */
  fakeOf(token: string): RealworldProvider {
    return this.moreFakes.find((f) => f.tokenInfo(token) !== undefined) ?? this.fake;
  }

  /** Starts function processes (in parallel) on the shared emulator. */
  async start(specs: ProcessSpec[]): Promise<Named[]> {
    const started = await Promise.all(
      specs.map(async (spec) => {
        const offsetSeconds = spec.offsetSeconds ?? 0;
        const proc = await startSkewedFunction({ target: spec.target, env: this.env.env, offsetSeconds });
        const sign = offsetSeconds >= 0 ? '+' : '';
        const named = Object.assign(proc, { name: spec.name ?? `${spec.target}@${sign}${offsetSeconds}s` });
        this.procs.push(named);
        return named;
      }),
    );
    // Warm each one's Firestore connection (a token request for a secret that does not exist: 404),
    // so that its first real request is not slowed by connecting. Once all have started: a socket
    // left idle while a slower process starts is closed by its process after 5 s, and a request
    // reusing it just then failed with ECONNRESET on a starved machine.
    await Promise.all(started.map((named) => this.token(named, { realm: 'warm-up', key: 'none' })));
    return started;
  }

  private async admin<T>(via: Named, method: string, path: string, body?: unknown): Promise<T> {
    const res = await request<T>(`${via.url}${path}`, {
      method,
      bearer: this.env.adminKey,
      ...(body === undefined ? {} : { body }),
    });
    if (res.status < 200 || res.status > 299) {
      throw new Error(`${method} ${path} on ${via.name} answered ${res.status}: ${res.text}`);
    }
    return res.body;
  }

  /** POST /api/realm. */
  putRealm(via: Named, id: string, config: Record<string, unknown>): Promise<unknown> {
    return this.admin(via, 'POST', '/api/realm', { id, comment: 'issue 11 fake', config });
  }

  /** POST /api/secret with the fake's credentials. */
  putSecret(via: Named, realm: string, key: string): Promise<unknown> {
    return this.admin(via, 'POST', '/api/secret', { realm, key, key_1: FAKE_APPID, key_2: FAKE_SECRET });
  }

  /**
   * The realm of `params` (realworldRealmConfig of this scenario's fake in `shape`, `extra` on top)
   * and its secret with the fake's credentials, both through `via`.
   */
  async seed(
    via: Named,
    params: Pick<TokenParams, 'realm' | 'key'>,
    shape: Parameters<typeof realworldRealmConfig>[1],
    extra: Record<string, unknown> = {},
    fake: RealworldProvider = this.fake,
  ): Promise<void> {
    await this.putRealm(via, params.realm, realworldRealmConfig(fake.url, shape, extra));
    await this.putSecret(via, params.realm, params.key);
  }

  deleteSecret(via: Named, realm: string, key: string): Promise<unknown> {
    return this.admin(via, 'DELETE', `/api/secret/${realm}/${key}`);
  }

  /** GET /api/status: the entry of one secret. */
  async status(via: Named, realm: string, key: string): Promise<Record<string, unknown> | undefined> {
    const body = await this.admin<{ data: { list: Array<Record<string, unknown>> } }>(
      via,
      'GET',
      `/api/status?realm=${encodeURIComponent(realm)}&limit=1000`,
    );
    return body.data.list.find((s) => s.realm === realm && s.key === key);
  }

  /** One token request (admin key), checked alive at the fake the moment its answer arrives. */
  async token(via: Named, params: TokenParams): Promise<Served> {
    let query = `realm=${encodeURIComponent(params.realm)}&key=${encodeURIComponent(params.key)}`;
    if (params.flush === true) query += '&flush=true';
    if (params.invalidToken !== undefined)
      query += `&invalid_token=${encodeURIComponent(params.invalidToken)}`;
    const sentAt = Date.now();
    try {
      const res = await request<Record<string, unknown>>(`${via.url}/api/token?${query}`, {
        bearer: this.env.adminKey,
        timeoutMs: params.timeoutMs ?? 60_000,
      });
      const arrivedAt = Date.now();
      const body = typeof res.body === 'object' && res.body !== null ? res.body : {};
      const served: Served = { via: via.name, sentAt, arrivedAt, status: res.status };
      if (typeof body.token === 'string') {
        served.token = body.token;
        served.aliveOnArrival = this.fakeOf(body.token).isAlive(body.token, arrivedAt);
      }
      if (typeof body.expires_in === 'number') served.expiresIn = body.expires_in;
      if (typeof body.expires_at === 'string') served.expiresAt = Date.parse(body.expires_at);
      if (typeof body.source === 'string') served.source = body.source;
      if (typeof body.outcome === 'string') served.outcome = body.outcome;
      const error = body.error as { code?: unknown } | undefined;
      if (typeof error?.code === 'string') served.errorCode = error.code;
      if (res.headers['retry-after'] !== undefined) served.retryAfter = res.headers['retry-after'];
      return served;
    } catch (err) {
      return { via: via.name, sentAt, arrivedAt: Date.now(), status: 0, networkError: String(err) };
    }
  }

  /** token(), asserting that the answer is a 200 (the answer described if it is not). */
  async tokenOk(via: Named, params: TokenParams): Promise<Served> {
    const served = await this.token(via, params);
    expect(served.status, describeServed(served)).to.equal(200);
    return served;
  }

  /**
   * Steady traffic: one request every intervalMs for durationMs, round robin over `to`, each sent on
   * time whatever the earlier ones are doing. Resolves with every answer once all have arrived.
   */
  async steady(
    to: Named[],
    params: TokenParams,
    intervalMs: number,
    durationMs: number,
    /** Ends the traffic early, `thenMs` after the answers so far first satisfy `done`. */
    stop?: { done: (arrived: readonly Served[]) => boolean; thenMs: number },
  ): Promise<Served[]> {
    const pending: Array<Promise<Served>> = [];
    const arrived: Served[] = [];
    const started = Date.now();
    let end = started + durationMs;
    for (let i = 0; ; i++) {
      const at = started + i * intervalMs;
      if (at >= end) break;
      const wait = at - Date.now();
      if (wait > 0) await sleep(wait);
      if (stop !== undefined && end === started + durationMs && stop.done(arrived)) {
        end = Math.min(end, Date.now() + stop.thenMs);
      }
      pending.push(
        this.token(to[i % to.length]!, params).then((s) => {
          arrived.push(s);
          return s;
        }),
      );
    }
    return Promise.all(pending);
  }

  /** How many lines each process has written so far: a mark for tokenRequestLinesSince. */
  logMark(): Map<Named, number> {
    return new Map(this.procs.map((p) => [p, p.logs.length]));
  }

  /**
   * The token-route request lines (http/app.ts) the processes wrote after `mark`: what each request
   * was served from and why, as the serving process saw it. Hits are counted in the hit summary,
   * not logged one by one, so these are the requests that were not served from a valid copy at once.
   */
  tokenRequestLinesSince(mark: Map<Named, number>): RequestLine[] {
    return this.procs.flatMap((p) =>
      p.logs.slice(mark.get(p) ?? 0).flatMap((line): RequestLine[] => {
        if (!line.startsWith('{')) return [];
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return [];
        }
        if (entry.event !== 'request' || entry.route !== '/api/token') return [];
        return [
          {
            via: p.name,
            status: Number(entry.status),
            ...(typeof entry.realm === 'string' ? { realm: entry.realm } : {}),
            ...(typeof entry.source === 'string' ? { source: entry.source } : {}),
            ...(typeof entry.reason === 'string' ? { reason: entry.reason } : {}),
          },
        ];
      }),
    );
  }

  /** What the processes said that looks like trouble (for a failed test's report). */
  troubleLines(): string[] {
    return this.procs.flatMap((p) =>
      p.logs.filter((l) => /ERROR|WARNING|unexpected/.test(l)).map((l) => `[${p.name}] ${l}`),
    );
  }

  /** Stops every process and the fake. */
  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop(2_000)));
    this.procs.length = 0;
    await Promise.all([this.fake, ...this.moreFakes.splice(0)].map((f) => f.close()));
  }
}

/**
 * Registers an afterEach that stops every scenario the test opened (printing the processes'
 * trouble lines when it failed); returns the function a test opens its scenario with.
 */
export function scenarioHooks(): (options?: ScenarioOptions) => Promise<RealworldScenario> {
  const open: RealworldScenario[] = [];
  afterEach(async function () {
    const failed = this.currentTest?.state === 'failed';
    for (const scenario of open.splice(0)) {
      if (failed) for (const line of scenario.troubleLines().slice(-40)) process.stderr.write(`${line}\n`);
      await scenario.stop();
    }
  });
  return async (options?: ScenarioOptions) => {
    const scenario = await RealworldScenario.open(options);
    open.push(scenario);
    return scenario;
  };
}

/** Checks that faketime really shifted each process (its Date header), within ±1 s. */
export async function expectClocks(procs: readonly Named[]): Promise<void> {
  for (const p of procs) {
    const seen = await observedOffsetSeconds(p.url);
    expect(Math.abs(seen - p.offsetSeconds), `${p.name}'s Date header is ${seen} s off`).to.be.at.most(1);
  }
}

// ---------------------------------------------------------------------------------------------
// checks against the fake

export function describeServed(s: Served, fake?: RealworldProvider): string {
  const info = s.token === undefined ? undefined : fake?.tokenInfo(s.token);
  const margin = info === undefined ? 0 : info.diesAt - s.arrivedAt;
  const died =
    info === undefined
      ? ''
      : margin < 0
        ? `, arrived ${-margin} ms after the token died`
        : `, the token dies ${margin} ms after arrival`;
  return (
    `${s.via} sent +${s.sentAt % 100_000} status ${s.status}` +
    (s.token === undefined ? '' : ` ${s.token.slice(0, 10)}… expires_in ${s.expiresIn} source ${s.source}`) +
    (s.errorCode === undefined ? '' : ` ${s.errorCode}`) +
    died
  );
}

/** Answers whose token the fake no longer accepted when the answer arrived. */
export function servedDead(served: readonly Served[]): Served[] {
  return served.filter((s) => s.token !== undefined && s.aliveOnArrival !== true);
}

/** How long past the token's real death each answer was (ms), for the report: only positive ones. */
export function msServedPastDeath(fake: RealworldProvider, served: readonly Served[]): number[] {
  return served
    .filter((s) => s.token !== undefined && s.aliveOnArrival !== true)
    .map((s) => s.arrivedAt - (fake.deathOf(s.token!) ?? s.arrivedAt));
}

/**
 * Answers that told the app it could use the token past its real death: the request was sent at
 * sentAt (before the server computed expires_in), so sentAt + expires_in must not pass the death.
 * `expires_at` is checked too unless checkExpiresAt is false (a process whose clock is fast states
 * its own time there). toleranceMs (default 250) covers rounding and the store-time estimate.
 */
export function servedTooLong(
  fake: RealworldProvider,
  served: readonly Served[],
  options: { toleranceMs?: number; checkExpiresAt?: boolean } = {},
): Array<Served & { pastDeathMs: number }> {
  const tolerance = options.toleranceMs ?? 250;
  const out: Array<Served & { pastDeathMs: number }> = [];
  for (const s of served) {
    if (s.token === undefined || s.expiresIn === undefined) continue;
    const death = fake.deathOf(s.token);
    if (death === undefined) {
      out.push({ ...s, pastDeathMs: Number.POSITIVE_INFINITY });
      continue;
    }
    const byExpiresIn = s.sentAt + s.expiresIn - death;
    const byExpiresAt =
      options.checkExpiresAt === false || s.expiresAt === undefined ? -Infinity : s.expiresAt - death;
    const past = Math.max(byExpiresIn, byExpiresAt);
    if (past > tolerance) out.push({ ...s, pastDeathMs: past });
  }
  return out;
}

/** How often each value occurs: {"200": 140, "503": 3}. */
export function countBy(values: ReadonlyArray<string | number | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}

/** A list for an assertion message: the first few entries, and how many more there are. */
export function firstFew(lines: readonly string[], n = 5): string {
  if (lines.length === 0) return '(none)';
  const more = lines.length > n ? `\n  … and ${lines.length - n} more` : '';
  return `\n  ${lines.slice(0, n).join('\n  ')}${more}`;
}
