/**
 * A fake token provider that behaves like the real ones where it hurts (issue 11), for black-box
 * tests with several function processes. It speaks WeChat's wire format at `GET /cgi-bin/token`
 * (`grant_type=client_credential&appid=&secret=` → `{"access_token","expires_in"}` or
 * `{"errcode","errmsg"}`), and WeCom's at `GET /cgi-bin/gettoken` (`corpid`, `corpsecret`).
 *
 * Everything is configured at run time through the JS handle (the fake runs in the test process):
 * - `mint` mode: every call issues a new token and kills the previous one `killAfterMs` after the new
 *   call ARRIVED (WeChat: 5 minutes; null: the previous one lives out its lifetime, as OAuth2);
 * - `same` mode: the current token with its remaining lifetime, until less than `reissueWindowMs` of
 *   it remains; then a new one, the old one living out its life (WeCom, Feishu, DingTalk, stable_token);
 * - `latencyMs`: the answer is sent that long after arrival, the token being issued (and the previous
 *   one sentenced) at arrival — so a broker whose timeout is shorter sees nothing, yet the kill happens;
 * - `hold()`: calls are answered only on `release()` (a holder can be killed mid-call);
 * - outages: `down(kind)` / `up()`, or `downBetween(from, to, kind)` (errcode -1, HTTP 500, reset).
 *
 * It records every call with its arrival time and what it issued, every token's issue time and real
 * death (natural expiry or kill), and answers whether a token is alive at a moment (`isAlive`, also
 * `GET /cgi-bin/alive?access_token=`). Times are this (test) process's clock, which is real time.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ERRCODE_ANSWER } from '../../functions/providers/presets';

export type TokenMode = 'mint' | 'same';
export type OutageKind = 'errcode' | 'http500' | 'reset';

export const WECHAT_PATH = '/cgi-bin/token';
export const WECOM_PATH = '/cgi-bin/gettoken';
export const ALIVE_PATH = '/cgi-bin/alive';

export const FAKE_APPID = 'rw-appid-0001';
export const FAKE_SECRET = 'rw-secret-0123456789';

export interface RealworldSettings {
  mode: TokenMode;
  /** Lifetime of a newly issued token, ms (answered in whole seconds, so use whole seconds). */
  lifetimeMs: number;
  /** mint mode: the previous token dies this long after a newer call arrives; null = never early. */
  killAfterMs: number | null;
  /** same mode: a new token is issued once less than this remains of the current one. */
  reissueWindowMs: number;
  /** Delay between a call's arrival (when the token is issued) and its answer. */
  latencyMs: number;
}

export interface IssuedToken {
  token: string;
  issuedAt: number;
  /** When its lifetime ends. */
  expiresAt: number;
  /** When it really stops working: its expiry, or earlier when a newer call killed it. */
  diesAt: number;
  /** Set when a newer call sentenced it. */
  killedBy?: number;
}

export interface RecordedCall {
  /** 1-based, in arrival order. */
  n: number;
  path: string;
  arrivedAt: number;
  outcome: 'issued' | 'same' | 'outage' | 'bad_credentials';
  token?: string;
  /** Lifetime answered, seconds. */
  expiresIn?: number;
  /** When the answer went out (undefined while held, or never for a reset or a dropped socket). */
  answeredAt?: number;
}

const DEFAULTS: RealworldSettings = {
  mode: 'mint',
  lifetimeMs: 30_000,
  killAfterMs: 3_000,
  reissueWindowMs: 5_000,
  latencyMs: 0,
};

interface Outage {
  from: number;
  to: number;
  kind: OutageKind;
}

export class RealworldProvider {
  private settings: RealworldSettings;
  private readonly recorded: RecordedCall[] = [];
  private readonly tokens = new Map<string, IssuedToken>();
  private current: IssuedToken | undefined;
  private outages: Outage[] = [];
  private holding = false;
  private readonly held: Array<() => void> = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    settings: RealworldSettings,
  ) {
    this.settings = settings;
  }

  /** Starts the fake on 127.0.0.1 (a free port). */
  static async start(settings: Partial<RealworldSettings> = {}): Promise<RealworldProvider> {
    const holder: { fake?: RealworldProvider } = {};
    const server = http.createServer((req, res) => holder.fake?.handle(req, res));
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const fake = new RealworldProvider(server, `http://127.0.0.1:${port}`, { ...DEFAULTS, ...settings });
    holder.fake = fake;
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.once('close', () => fake.sockets.delete(socket));
    });
    return fake;
  }

  // ------------------------------------------------------------------------------------------
  // configuration

  set(settings: Partial<RealworldSettings>): void {
    this.settings = { ...this.settings, ...settings };
  }

  get config(): Readonly<RealworldSettings> {
    return this.settings;
  }

  /** Fails every call from now until up(). */
  down(kind: OutageKind = 'errcode'): void {
    this.outages.push({ from: Date.now(), to: Number.POSITIVE_INFINITY, kind });
  }

  /** Ends every outage now. */
  up(): void {
    const now = Date.now();
    this.outages = this.outages.map((o) => (o.to > now ? { ...o, to: now } : o));
  }

  /** Fails calls arriving in [from, to). */
  downBetween(from: number, to: number, kind: OutageKind = 'errcode'): void {
    this.outages.push({ from, to, kind });
  }

  /** From now on calls are answered only when release() is called (tokens are still issued at arrival). */
  hold(): void {
    this.holding = true;
  }

  /** Answers every held call (each after its latency) and stops holding. */
  release(): void {
    this.holding = false;
    for (const answer of this.held.splice(0)) answer();
  }

  // ------------------------------------------------------------------------------------------
  // what happened

  /** Every call, in arrival order. */
  calls(): readonly RecordedCall[] {
    return this.recorded;
  }

  /** Calls that arrived in [from, to). */
  callsBetween(from: number, to: number = Number.POSITIVE_INFINITY): RecordedCall[] {
    return this.recorded.filter((c) => c.arrivedAt >= from && c.arrivedAt < to);
  }

  get callCount(): number {
    return this.recorded.length;
  }

  /** Resolves once `count` calls have arrived (rejects after timeoutMs). */
  async waitForCalls(count: number, timeoutMs = 20_000): Promise<RecordedCall> {
    const started = Date.now();
    while (this.recorded.length < count) {
      if (Date.now() - started > timeoutMs) {
        throw new Error(
          `the fake provider saw ${this.recorded.length} calls, not ${count}, in ${timeoutMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.recorded[count - 1]!;
  }

  /** What the fake knows of a token it issued (undefined for a token it never issued). */
  tokenInfo(token: string): IssuedToken | undefined {
    const info = this.tokens.get(token);
    return info === undefined ? undefined : { ...info };
  }

  /** Every token issued, in issue order. */
  issued(): IssuedToken[] {
    return [...this.tokens.values()].map((t) => ({ ...t }));
  }

  /** The newest token issued (alive or not). */
  newest(): IssuedToken | undefined {
    return this.current === undefined ? undefined : { ...this.current };
  }

  /** Whether the provider accepts this token at `at` (default now). A token it never issued is dead. */
  isAlive(token: string, at: number = Date.now()): boolean {
    const info = this.tokens.get(token);
    return info !== undefined && at >= info.issuedAt && at < info.diesAt;
  }

  /** When the token really stops working (as known now: a later call may still bring it forward). */
  deathOf(token: string): number | undefined {
    return this.tokens.get(token)?.diesAt;
  }

  /** Forget every call and token (settings and outages are kept). */
  reset(): void {
    this.recorded.length = 0;
    this.tokens.clear();
    this.current = undefined;
    this.outages = [];
    this.release();
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.held.length = 0;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ------------------------------------------------------------------------------------------
  // serving

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const arrivedAt = Date.now();
    const url = new URL(req.url ?? '/', 'http://fake');
    req.resume();
    if (url.pathname === ALIVE_PATH) {
      const token = url.searchParams.get('access_token') ?? '';
      const info = this.tokens.get(token);
      sendJson(res, 200, {
        alive: this.isAlive(token, arrivedAt),
        dies_at: info === undefined ? null : new Date(info.diesAt).toISOString(),
      });
      return;
    }
    if (url.pathname !== WECHAT_PATH && url.pathname !== WECOM_PATH) {
      sendJson(res, 404, { errcode: 404, errmsg: 'no such path' });
      return;
    }
    const wecom = url.pathname === WECOM_PATH;
    const call: RecordedCall = {
      n: this.recorded.length + 1,
      path: url.pathname,
      arrivedAt,
      outcome: 'outage',
    };
    this.recorded.push(call);

    const outage = this.outages.find((o) => arrivedAt >= o.from && arrivedAt < o.to);
    let status = 200;
    let body: Record<string, unknown>;
    if (outage !== undefined) {
      if (outage.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      status = outage.kind === 'http500' ? 500 : 200;
      body = { errcode: -1, errmsg: 'system error' };
    } else if (!this.credentialsOk(url, wecom)) {
      call.outcome = 'bad_credentials';
      body = wecom
        ? { errcode: 40001, errmsg: 'invalid credential' }
        : { errcode: 40125, errmsg: 'invalid appsecret' };
    } else {
      const { token, fresh } = this.tokenFor(arrivedAt);
      call.outcome = fresh ? 'issued' : 'same';
      call.token = token.token;
      call.expiresIn = Math.floor((token.expiresAt - arrivedAt) / 1000);
      body = { access_token: token.token, expires_in: call.expiresIn };
      if (wecom) body = { errcode: 0, errmsg: 'ok', ...body };
    }

    const answer = () => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (res.destroyed || req.socket.destroyed) return;
        call.answeredAt = Date.now();
        sendJson(res, status, body);
      }, this.settings.latencyMs);
      this.timers.add(timer);
    };
    if (this.holding) this.held.push(answer);
    else answer();
  }

  private credentialsOk(url: URL, wecom: boolean): boolean {
    const id = url.searchParams.get(wecom ? 'corpid' : 'appid');
    const secret = url.searchParams.get(wecom ? 'corpsecret' : 'secret');
    const grantOk = wecom || url.searchParams.get('grant_type') === 'client_credential';
    return grantOk && id === FAKE_APPID && secret === FAKE_SECRET;
  }

  /** The token a successful call at `now` answers, issuing (and sentencing the previous) as the mode says. */
  private tokenFor(now: number): { token: IssuedToken; fresh: boolean } {
    const cur = this.current;
    const { mode, lifetimeMs, killAfterMs, reissueWindowMs } = this.settings;
    if (mode === 'same' && cur !== undefined && now < cur.diesAt && cur.expiresAt - now >= reissueWindowMs) {
      return { token: cur, fresh: false };
    }
    const token: IssuedToken = {
      token: `rw_${randomBytes(12).toString('hex')}`,
      issuedAt: now,
      expiresAt: now + lifetimeMs,
      diesAt: now + lifetimeMs,
    };
    if (mode === 'mint' && killAfterMs !== null) {
      // WeChat: every token still alive dies killAfterMs after this call (never later than it would).
      for (const old of this.tokens.values()) {
        if (old.diesAt > now + killAfterMs) {
          old.diesAt = now + killAfterMs;
          old.killedBy = this.recorded.length;
        }
      }
    }
    this.tokens.set(token.token, token);
    this.current = token;
    return { token, fresh: true };
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * A realm config (admin API) for this fake: WeChat's shape at /cgi-bin/token, or WeCom's at
 * /cgi-bin/gettoken, with errcode rules; `extra` adds or overrides fields (overlap_ms, daily_budget...).
 */
export function realworldRealmConfig(
  fakeUrl: string,
  shape: 'wechat' | 'wecom',
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const args =
    shape === 'wechat'
      ? [
          { name: 'grant_type', place: 'url', value: 'client_credential' },
          { name: 'appid', place: 'url', value: '$key_1' },
          { name: 'secret', place: 'url', value: '$key_2' },
        ]
      : [
          { name: 'corpid', place: 'url', value: '$key_1' },
          { name: 'corpsecret', place: 'url', value: '$key_2' },
        ];
  return {
    url: `${fakeUrl}${shape === 'wechat' ? WECHAT_PATH : WECOM_PATH}`,
    method: 'GET',
    arguments: args,
    ...ERRCODE_ANSWER,
    ...extra,
  };
}
