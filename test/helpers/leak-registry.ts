/**
 * The whole test run's leak check (SPEC §4: no response, error or log line ever contains a credential
 * value, a client key after its creation, or the admin or master key; tokens appear only in the token
 * route's response bodies).
 *
 * What is captured, for the whole mocha run:
 * - every log line of every function process started by startFunction, and every in-process log line
 *   that reaches the default sink (mocha-setup's capturedLogLines);
 * - every response body read through test/helpers/http.ts, raw-http.ts and fake-express.ts.
 * What is a secret, registered as it goes by:
 * - the admin and master keys of every testEnv();
 * - every key_N and refresh_token value POSTed to /api/secret through those helpers;
 * - every client_key answered by POST /api/client (allowed in that one response only);
 * - every signing secret answered by POST /api/webhook (allowed in that one response only);
 * - every token answered by /api/token (allowed in token-route responses only);
 * - every ticket a fake platform pushes (test/fakes/wechat-open.ts), as a 'ticket', its message
 *   token and EncodingAESKey as 'message key's, and every refresh token and authorization code of
 *   its authorizers (wechat-open-authorizers.ts);
 * - a Feishu store app's app_ticket, Encrypt Key and Verification Token (test/fakes/feishu-store.ts),
 *   as 'ticket' and 'message key', and its app secret as a 'credential';
 * - whatever a test registers itself (registerSecret).
 * Values shorter than MIN_LENGTH, and values that are part of a built-in preset (public literals
 * such as "client_credential"), are not registered: they would match by coincidence.
 *
 * The rule (SPEC §4): a token must not appear whole outside token-route responses; a credential, a
 * client key (after its creation), the admin or the master key must not appear at all, not even a
 * run of FRAGMENT (8) of its characters: every such run is looked for in every response body, log
 * line and raw Firestore document the run recorded (recordDocuments: db-snapshot.ts records each
 * snapshot a test takes, emulator.ts each database it clears), and every webhook delivery a test
 * receiver got (recordWebhookDelivery: the audit records are documents, so covered as such). Runs that are public text anyway
 * (found in the built-in presets, such as "corpsecret", an argument name) or that repeat a few
 * characters ("vvvvvvvv") are not looked for: they would match by coincidence.
 *
 * mocha-setup's root afterAll hook calls findLeaks() and fails the run on any finding.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { presetList } from '../../functions/providers/presets';

export type SecretKind =
  | 'admin key'
  | 'master key'
  | 'credential'
  | 'client key'
  | 'webhook secret'
  | 'token'
  /** A value a provider pushes (a component_verify_ticket): never in a response, log or document. */
  | 'pushed value'
  /** A pushed ticket (component_verify_ticket, suite_ticket, app_ticket): the same rule. */
  | 'ticket'
  /** A rotating value (a refresh token): the same rule. */
  | 'refresh token'
  /** An EncodingAESKey / aes_key / message token that verifies or decrypts a platform's messages. */
  | 'message key'
  /** A tenant's permanent authorization code (WeCom permanent_code). */
  | 'permanent code'
  /** A one-time code a platform pushes (WeChat's AuthorizationCode): the same rule. */
  | 'authorization code';

export const MIN_LENGTH = 12;
/** The shortest run of a secret's characters that counts as a leak. */
export const FRAGMENT = 8;

interface Registered {
  value: string;
  kind: SecretKind;
  /** Where it came from, for the report. */
  origin: string;
  /** The response that may carry it (a client key's creation), by index into `responses`. */
  allowedIn?: number;
}

interface RecordedResponse {
  method: string;
  url: string;
  status: number;
  text: string;
  /** Which worker saw it, for a merged dump (mergeRegistry). */
  seenBy?: string;
}

interface LogSource {
  name: string;
  lines: readonly string[];
}

const secrets = new Map<string, Registered>();
/** Realm ids created through POST /api/realm: names, never credentials. */
const realmNames = new Set<string>();
const responses: RecordedResponse[] = [];
const logSources: LogSource[] = [];
/** Raw Firestore documents as recorded (JSON text), with where they were seen. */
const documents: Array<{ name: string; text: string }> = [];
let publicText: string | undefined;

/** Text that is public by definition: the built-in presets (their literals are not credentials). */
function isPublic(value: string): boolean {
  publicText ??= JSON.stringify(presetList());
  return publicText.includes(value);
}

export function registerSecret(value: string, kind: SecretKind, origin: string, allowedIn?: number): void {
  if (value.length < MIN_LENGTH || secrets.has(value) || isPublic(value)) return;
  secrets.set(value, { value, kind, origin, ...(allowedIn === undefined ? {} : { allowedIn }) });
}

/**
 * A registered value that the last recorded response may carry (the component appid, a credential
 * of the component secret, is in the authorization page URL that the broker answers for it).
 */
export function allowInLastResponse(value: string): void {
  const s = secrets.get(value);
  if (s !== undefined) s.allowedIn = responses.length - 1;
}

/** Raw Firestore documents (any JSON-able value) seen at `name`, for the check over stored data. */
export function recordDocuments(name: string, docs: unknown): void {
  documents.push({ name, text: JSON.stringify(docs) });
}

/** A live array of log lines (it may keep growing after this call). */
/** A webhook delivery's body as a receiver got it: checked like a stored document. */
export function recordWebhookDelivery(body: string): void {
  recordDocuments('a webhook delivery', parse(body) ?? body);
}

export function recordLogSource(name: string, lines: readonly string[]): void {
  logSources.push({ name, lines });
}

function pathOf(url: string): string {
  try {
    return new URL(url, 'http://x').pathname;
  } catch {
    return url;
  }
}

function isTokenRoute(url: string): boolean {
  const path = pathOf(url);
  // The token route, and the WeChat-compatible routes of SPEC §4.6, answer tokens.
  return (
    /\/api\/token\/?$/.test(path) ||
    /\/(wechat|wecom)\/[^/]+\/[^/]+\/cgi-bin\/(token|stable_token|gettoken|ticket\/getticket|get_jsapi_ticket)\/?$/.test(
      path,
    ) ||
    /\/wechat-open\/[^/]+\/[^/]+\/cgi-bin\/component\/(api_component_token|api_authorizer_token)\/?$/.test(
      path,
    )
  );
}

function parse(text: string | Buffer | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(Buffer.isBuffer(text) ? text.toString('utf8') : text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * One request and its answer, as a test helper saw it: records the response body, and registers the
 * secrets that the exchange shows (credentials sent, client keys and tokens answered).
 */
export function recordExchange(exchange: {
  method: string;
  url: string;
  requestBody?: string | Buffer | undefined;
  status: number;
  text: string;
}): void {
  // The console's bundle is a file of the build, the same bytes for everyone: no secret can be in
  // it, but its words ("client-k…") can match the fixed prefix of a test credential.
  if (isConsoleFile(exchange.text)) return;
  const method = exchange.method.toUpperCase();
  const path = pathOf(exchange.url);
  const index =
    responses.push({ method, url: exchange.url, status: exchange.status, text: exchange.text }) - 1;
  const where = `${method} ${path}`;
  if (method === 'POST' && /\/api\/realm\/?$/.test(path)) {
    const id = (parse(exchange.requestBody) as { id?: unknown } | null)?.id;
    if (typeof id === 'string') realmNames.add(id);
  }
  if (method === 'POST' && /\/api\/secret\/?$/.test(path)) {
    const body = parse(exchange.requestBody);
    if (body !== null && typeof body === 'object') {
      const own = (body as { key?: unknown }).key;
      for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
        // A tenant's id is its secret's key (a WeCom corpid), and a platform names its tenants'
        // realm (key_5): public names, not credentials.
        const isName = value === own || (typeof value === 'string' && realmNames.has(value));
        if (/^key_\d+$/.test(name) && typeof value === 'string' && !isName)
          registerSecret(value, 'credential', where);
        // A fixed-token realm's secret carries a token: it may appear in token answers only.
        if (name === 'token' && typeof value === 'string') registerSecret(value, 'token', where);
        // A rotating value (README "Rotating values (refresh tokens)"): a credential.
        if (name === 'refresh_token' && typeof value === 'string')
          registerSecret(value, 'refresh token', where);
      }
    }
  }
  if (exchange.status < 200 || exchange.status > 299) return;
  const answer = parse(exchange.text) as
    { data?: { client_key?: unknown }; client_key?: unknown; token?: unknown } | undefined;
  if (method === 'POST' && /\/api\/client\/?$/.test(path)) {
    // Answered bare (SPEC §4); an envelope is still recognised, so that no key escapes the check.
    const key = answer?.client_key ?? answer?.data?.client_key;
    if (typeof key === 'string') registerSecret(key, 'client key', where, index);
  }
  if (method === 'POST' && /\/api\/webhook\/?$/.test(path)) {
    const secret = (answer as { secret?: unknown } | undefined)?.secret;
    if (typeof secret === 'string') registerSecret(secret, 'webhook secret', where, index);
  }
  if (isTokenRoute(exchange.url) && typeof answer?.token === 'string') {
    registerSecret(answer.token, 'token', where);
  }
}

/**
 * The runs of FRAGMENT characters of each secret (tokens excepted) worth looking for, by run and by
 * a rolling hash of it, so that a text is scanned without making a string per position.
 */
interface FragmentIndex {
  runs: Map<string, Registered>;
  hashes: Set<number>;
}

/** Polynomial hash of FRAGMENT UTF-16 units in 32-bit integer arithmetic (wrapping). */
const BASE = 65_599;
const TOP = (() => {
  let p = 1;
  for (let i = 1; i < FRAGMENT; i++) p = Math.imul(p, BASE);
  return p;
})();

function hashAt(text: string, at: number): number {
  let h = 0;
  for (let i = at; i < at + FRAGMENT; i++) h = (Math.imul(h, BASE) + text.charCodeAt(i)) | 0;
  return h;
}

/**
 * The fixed prefixes the broker gives secrets it generates (routes/webhooks.ts, keys/keys.ts), so
 * public: a fragment must hold at least 6 characters past them.
 */
const PUBLIC_PREFIXES = ['whsec_', 'tsk_'];

function fragmentIndex(): FragmentIndex {
  publicText ??= JSON.stringify(presetList());
  // Every run of the public text, looked up in a set: `includes` per run was most of the check's time.
  const publicRuns = new Set<string>();
  for (let i = 0; i + FRAGMENT <= publicText.length; i++) publicRuns.add(publicText.slice(i, i + FRAGMENT));
  const runs = new Map<string, Registered>();
  const hashes = new Set<number>();
  for (const s of secrets.values()) {
    if (s.kind === 'token') continue;
    // A run is a leak when most of it is the secret: one that is mostly a public prefix
    // ("whsec_" and two random characters) is shared by 1 in 4,096 pairs of secrets by chance.
    const prefix = PUBLIC_PREFIXES.find((p) => s.value.startsWith(p))?.length ?? 0;
    for (let i = Math.max(0, prefix - 2); i + FRAGMENT <= s.value.length; i++) {
      const run = s.value.slice(i, i + FRAGMENT);
      if (runs.has(run) || publicRuns.has(run) || new Set(run).size < 4) continue;
      runs.set(run, s);
      hashes.add(hashAt(run, 0));
    }
  }
  return { runs, hashes };
}

/** The offsets in `text` whose FRAGMENT characters hash to one of `hashes` (a rolling hash). */
function* hashHits(text: string, hashes: ReadonlySet<number>): Generator<number> {
  if (text.length < FRAGMENT) return;
  let h = hashAt(text, 0);
  for (let i = 0; ; i++) {
    if (hashes.has(h)) yield i;
    if (i + FRAGMENT >= text.length) return;
    const out = Math.imul(text.charCodeAt(i), TOP);
    h = (Math.imul((h - out) | 0, BASE) + text.charCodeAt(i + FRAGMENT)) | 0;
  }
}

/** The first indexed run in `text` (at its offset), with the secret it belongs to. */
function firstFragment(
  text: string,
  index: FragmentIndex,
  allowed: (s: Registered) => boolean = () => false,
): { run: string; secret: Registered; at: number } | undefined {
  for (const at of hashHits(text, index.hashes)) {
    const run = text.slice(at, at + FRAGMENT);
    const secret = index.runs.get(run);
    if (secret !== undefined && !allowed(secret)) return { run, secret, at };
  }
  return undefined;
}

interface WholeIndex {
  /** Registered values by their first FRAGMENT characters. */
  byPrefix: Map<string, Registered[]>;
  hashes: Set<number>;
  /** Values shorter than FRAGMENT, looked for one by one. */
  short: Registered[];
}

function wholeIndex(): WholeIndex {
  const byPrefix = new Map<string, Registered[]>();
  const hashes = new Set<number>();
  const short: Registered[] = [];
  for (const s of secrets.values()) {
    if (s.value.length < FRAGMENT) {
      short.push(s);
      continue;
    }
    const prefix = s.value.slice(0, FRAGMENT);
    const list = byPrefix.get(prefix);
    if (list === undefined) byPrefix.set(prefix, [s]);
    else list.push(s);
    hashes.add(hashAt(prefix, 0));
  }
  return { byPrefix, hashes, short };
}

/**
 * Every registered value that appears whole in `text`, each once with its first offset: one rolling
 * hash over the text, each value's prefix looked up, and the whole value compared only there.
 */
function wholeValuesIn(text: string, index: WholeIndex): Array<{ secret: Registered; at: number }> {
  const found = new Map<Registered, number>();
  for (const s of index.short) {
    const at = text.indexOf(s.value);
    if (at >= 0) found.set(s, at);
  }
  for (const i of hashHits(text, index.hashes)) {
    for (const s of index.byPrefix.get(text.slice(i, i + FRAGMENT)) ?? []) {
      if (!found.has(s) && text.startsWith(s.value, i)) found.set(s, i);
    }
  }
  return [...found].map(([secret, at]) => ({ secret, at }));
}

function responseName(r: RecordedResponse): string {
  const by = r.seenBy === undefined ? '' : ` (${r.seenBy})`;
  return `the response to ${r.method} ${r.url.slice(0, 120)} (${r.status})${by}`;
}

/** Every place a registered secret shows up where it must not; empty when there is none. */
export function findLeaks(): string[] {
  const found: string[] = [];
  const report = (s: Registered, where: string, run?: string) =>
    found.push(
      `the ${s.kind} registered by ${s.origin} (${s.value.slice(0, 4)}…) appears in ${where}` +
        (run === undefined
          ? ''
          : ` (a run of ${FRAGMENT} of its characters, ${JSON.stringify(run.slice(0, 3))}…)`),
    );
  const logs = logSources.map((source) => ({ name: source.name, text: source.lines.join('\n') }));
  // Whole values (tokens too, which only the token routes may answer): one pass over each text.
  const whole = wholeIndex();
  for (const log of logs) {
    for (const { secret, at } of wholeValuesIn(log.text, whole)) {
      const line = log.text.slice(0, at).split('\n').length;
      report(secret, `the log of ${log.name}, line ${line}`);
    }
  }
  responses.forEach((r, i) => {
    for (const { secret } of wholeValuesIn(r.text, whole)) {
      if (i === secret.allowedIn) continue;
      if (secret.kind === 'token' && isTokenRoute(r.url)) continue;
      report(secret, responseName(r));
    }
  });
  // The 8-character rule, over responses, log lines and stored documents, one pass over each text.
  const index = fragmentIndex();
  if (index.runs.size === 0) return found;
  for (const log of logs) {
    const hit = firstFragment(log.text, index);
    if (hit === undefined) continue;
    const line = log.text.slice(0, hit.at).split('\n').length;
    report(hit.secret, `the log of ${log.name}, line ${line}`, hit.run);
  }
  responses.forEach((r, i) => {
    const hit = firstFragment(r.text, index, (s) => s.allowedIn === i);
    if (hit !== undefined) report(hit.secret, responseName(r), hit.run);
  });
  for (const d of documents) {
    const hit = firstFragment(d.text, index);
    if (hit !== undefined) report(hit.secret, `the stored documents (${d.name})`, hit.run);
  }
  return found;
}

/**
 * Everything the registry holds, as JSON-able data. With several mocha workers (run-tests.ts), each
 * writes its dump at the end (mocha-setup.ts, TEST_LEAK_DUMP) and run-tests merges them all into one
 * registry and runs findLeaks() once more: a secret registered by any worker is looked for in every
 * worker's responses, log lines and documents.
 */
export interface RegistryDump {
  secrets: Registered[];
  responses: RecordedResponse[];
  logs: Array<{ name: string; lines: string[] }>;
  documents: Array<{ name: string; text: string }>;
}

export function dumpRegistry(): RegistryDump {
  return {
    secrets: [...secrets.values()],
    responses: [...responses],
    logs: logSources.map((source) => ({ name: source.name, lines: [...source.lines] })),
    documents: [...documents],
  };
}

/** Adds a dump to this registry, its sources named `label: …` (a worker's responses keep their allowances). */
export function mergeRegistry(dump: RegistryDump, label: string): void {
  const offset = responses.length;
  for (const r of dump.responses) responses.push({ ...r, seenBy: label });
  for (const s of dump.secrets) {
    // A value registered twice keeps its first registration (random secrets are not shared).
    if (secrets.has(s.value)) continue;
    secrets.set(s.value, {
      value: s.value,
      kind: s.kind,
      origin: `${label}: ${s.origin}`,
      ...(s.allowedIn === undefined ? {} : { allowedIn: s.allowedIn + offset }),
    });
  }
  for (const log of dump.logs) logSources.push({ name: `${label}: ${log.name}`, lines: log.lines });
  for (const d of dump.documents) documents.push({ name: `${label}: ${d.name}`, text: d.text });
}

/** How much the registry holds (the leak test asserts it saw the run). */
export function registryCounts(): {
  secrets: Record<SecretKind, number>;
  responses: number;
  logLines: number;
  documents: number;
} {
  const counts: Record<SecretKind, number> = {
    'admin key': 0,
    'master key': 0,
    credential: 0,
    'client key': 0,
    'webhook secret': 0,
    token: 0,
    'pushed value': 0,
    ticket: 0,
    'refresh token': 0,
    'message key': 0,
    'permanent code': 0,
    'authorization code': 0,
  };
  for (const s of secrets.values()) counts[s.kind]++;
  return {
    secrets: counts,
    responses: responses.length,
    logLines: logSources.reduce((n, s) => n + s.lines.length, 0),
    documents: documents.length,
  };
}

let consoleFiles: Set<string> | undefined;

/** Whether a response body is byte for byte one of the built console's files (lib/console). */
function isConsoleFile(text: string): boolean {
  if (consoleFiles === undefined) {
    // lib/test/helpers → lib/console
    const dir = join(__dirname, '..', '..', 'console');
    consoleFiles = new Set(
      existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => f.endsWith('.js') || f.endsWith('.css'))
            .map((f) => readFileSync(join(dir, f), 'utf8'))
        : [],
    );
  }
  return consoleFiles.has(text);
}
