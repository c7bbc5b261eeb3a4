/**
 * The realm: how to ask one kind of provider for a token (README "Realms"), as zod schemas. Every realm is
 * parsed here on every write and read, so everything downstream (templating, request building,
 * extraction, the engine's refresh policy) works on a checked config with every default filled in.
 *
 * Unknown fields are rejected (a typo such as `expire_in_path` must not silently do nothing), and every
 * issue names its field: `config.arguments[1].place`.
 */
import { z } from 'zod';
import { parseOrThrow, CONTROL_CHARS } from '../validation';
import type { JsonObject } from '../store/types';
import { dotPathProblem } from './dot-path';
import { DAY_MS, ID_PATTERN, MAX_LIFETIME_MS } from './realm-facts';
import { ROTATING_NAMES, templateProblem, templateRotating } from './template';

// ---------------------------------------------------------------------------------------------------
// building blocks

/**
 * zod silently drops an own "__proto__" key (JSON.parse makes one) from objects and records, while the
 * input object, with the key, is what gets stored: a preprocess step that refuses it instead.
 */
function refuseProtoKey(message: string) {
  return (input: unknown, ctx: z.RefinementCtx): unknown => {
    if (
      input !== null &&
      typeof input === 'object' &&
      Object.prototype.hasOwnProperty.call(input, '__proto__')
    ) {
      ctx.addIssue({ code: 'custom', message, path: ['__proto__'] });
    }
    return input;
  };
}

/**
 * A strict object (each unknown field reported by name with the other issues: validation.ts) that
 * also refuses `__proto__` and friends as keys before zod sees them.
 */
function strictObject<T extends z.ZodRawShape>(shape: T) {
  return z.preprocess(refuseProtoKey('Unknown field'), z.strictObject(shape));
}

/** Realm ids and secret keys: 1–64 of A-Z a-z 0-9 _ . -, starting with a letter or digit. */
export const realmIdSchema = z
  .string()
  .regex(ID_PATTERN, 'must be 1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit');

const dotPathSchema = z.string().superRefine((value, ctx) => {
  const problem = dotPathProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `Dot path ${problem}` });
});

// eslint-disable-next-line no-control-regex
const HEADER_VALUE_FORBIDDEN = /[\r\n\u0000]/;
/** RFC 9110 token characters: what a header name may consist of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers that frame or route the request: set by the HTTP client, never by a realm. */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-connection',
]);

function urlProblem(raw: string): string | undefined {
  if (/\s/.test(raw) || CONTROL_CHARS.test(raw)) return 'must not contain spaces or control characters';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https:// (or http://) URL';
  if (url.username !== '' || url.password !== '') {
    return 'must not carry credentials (use a header or body argument with $key_N)';
  }
  if (url.hostname === '') return 'must name a host';
  return undefined;
}

/** Provider codes, compared loosely ("0" matches 0). */
const codeValueSchema = z.union([z.string().max(128), z.number(), z.boolean()]);
export type CodeValue = z.output<typeof codeValueSchema>;

/** Firestore reserves field names of the form __name__, and a stored realm keeps hint keys as field names. */
const RESERVED_FIELD_NAME = /^__.*__$/;
const RESERVED_HINT_KEY = 'must not be of the form __name__ (reserved)';

const hintKeySchema = z
  .string()
  .regex(/^-?[A-Za-z0-9_.]{1,64}$/, 'must be a provider code (letters, digits, _ . and a leading -)')
  .refine((key) => !RESERVED_FIELD_NAME.test(key), RESERVED_HINT_KEY);

export const ARGUMENT_PLACES = ['url', 'body', 'header'] as const;
export type ArgumentPlace = (typeof ARGUMENT_PLACES)[number];

const argumentSchema = strictObject({
  name: z.string().min(1).max(128),
  place: z.enum(ARGUMENT_PLACES),
  /** A literal; strings may reference credentials ($key_N). JSON bodies keep numbers and booleans. */
  value: z.union([z.string().max(4096), z.number(), z.boolean()]),
  /** Our extension: when a referenced credential is missing, leave this argument out (e.g. OAuth2 scope). */
  optional: z.boolean().optional(),
}).superRefine((arg, ctx) => {
  if (CONTROL_CHARS.test(arg.name)) {
    ctx.addIssue({ code: 'custom', message: 'must not contain control characters', path: ['name'] });
  }
  if (typeof arg.value === 'string') {
    const problem = templateProblem(arg.value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path: ['value'] });
  }
  if (arg.place === 'header') {
    if (!HEADER_NAME.test(arg.name)) {
      ctx.addIssue({ code: 'custom', message: 'is not a valid header name', path: ['name'] });
    } else if (RESERVED_HEADERS.has(arg.name.toLowerCase())) {
      ctx.addIssue({ code: 'custom', message: 'is set by the HTTP client, not by a realm', path: ['name'] });
    }
    if (typeof arg.value === 'string' && HEADER_VALUE_FORBIDDEN.test(arg.value)) {
      ctx.addIssue({ code: 'custom', message: 'must not contain CR, LF or NUL', path: ['value'] });
    }
  }
});
export type RealmArgument = z.output<typeof argumentSchema>;

const methodSchema = z.preprocess(
  (value) => (typeof value === 'string' ? value.toUpperCase() : value),
  z.enum(['GET', 'POST']),
);

const upstreamUrlSchema = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    const problem = urlProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * A cheap GET that tells whether the realm's current token is still alive (README "Probes: tokens killed from outside"):
 * its arguments reference the token as ${token}; an answer whose error_path value is one of
 * dead_values means the token is dead. Probed at most every interval_ms per secret.
 */
const probeSchema = strictObject({
  url: upstreamUrlSchema,
  arguments: z
    .array(argumentSchema)
    .max(16)
    .default([])
    .superRefine((args, ctx) => {
      args.forEach((arg, index) => {
        if (arg.place === 'body') {
          ctx.addIssue({
            code: 'custom',
            message: 'a probe is a GET: url or header only',
            path: [index, 'place'],
          });
        }
      });
    }),
  error_path: dotPathSchema.default('errcode'),
  dead_values: z.array(codeValueSchema).min(1).max(32),
  interval_ms: z.number().int().min(60_000).max(DAY_MS).default(300_000),
});
export type RealmProbe = z.output<typeof probeSchema>;

const realmConfigShape = {
  url: upstreamUrlSchema,
  method: methodSchema,
  arguments: z.array(argumentSchema).max(32).default([]),
  token_path: dotPathSchema,
  content_type: z.enum(['json', 'form']).default('json'),
  expires_in_path: dotPathSchema.optional(),
  expires_in_unit: z.enum(['s', 'ms']).default('s'),
  error_path: dotPathSchema.optional(),
  success_values: z.array(codeValueSchema).max(32).optional(),
  error_message_path: dotPathSchema.optional(),
  timeout_ms: z.number().int().min(100).max(60_000).default(5000),
  invalidates_previous: z.boolean().default(false),
  overlap_ms: z.number().int().min(0).max(DAY_MS).default(0),
  /** Seconds; the lifetime when the response carries none (OAuth2 without expires_in). */
  default_expires_in: z
    .number()
    .int()
    .min(1)
    .max(MAX_LIFETIME_MS / 1000)
    .optional(),
  transient_error_values: z.array(codeValueSchema).max(32).default([]),
  daily_budget: z.number().int().min(1).max(1_000_000).default(1000),
  flush_min_interval_ms: z.number().int().min(0).max(3_600_000).default(10_000),
  negative_cache_ms: z.number().int().min(0).max(DAY_MS).default(60_000),
  reissue_window_ms: z.number().int().min(0).max(MAX_LIFETIME_MS).optional(),
  error_hints: z
    .preprocess(refuseProtoKey(RESERVED_HINT_KEY), z.record(hintKeySchema, z.string().min(1).max(1000)))
    .default({}),
  probe: probeSchema.optional(),
  /**
   * Rotating values (README "Rotating values (refresh tokens)"): a response path → the secret value
   * it replaces, e.g. {"refresh_token": "refresh_token"}; stored sealed with the token it came with.
   */
  rotates: z
    .preprocess(refuseProtoKey('Unknown field'), z.record(z.string().max(256), z.enum(ROTATING_NAMES)))
    .optional(),
  /** Provider codes that mean "this rotating value is rejected" (WeChat 61023, OAuth2 invalid_grant). */
  rotation_rejected_values: z.array(codeValueSchema).min(1).max(32).optional(),
  /** How the broker recovers a rejected rotating value itself before giving up (WeChat authorizers). */
  rotation_recovery: z.enum(['wechat_authorizer_list']).optional(),
};

type RealmConfigInput = z.output<ReturnType<typeof z.strictObject<typeof realmConfigShape>>>;

/** `rotates`: dot paths to values the arguments reference; the rotation fields need it. */
function rotatesProblems(config: RealmConfigInput, ctx: z.RefinementCtx): void {
  const referenced = new Set(
    config.arguments.flatMap((arg) =>
      typeof arg.value === 'string' && templateProblem(arg.value) === undefined
        ? templateRotating(arg.value)
        : [],
    ),
  );
  const entries = Object.entries(config.rotates ?? {});
  if (entries.length > ROTATING_NAMES.length) {
    ctx.addIssue({ code: 'custom', message: `at most ${ROTATING_NAMES.length} entries`, path: ['rotates'] });
  }
  for (const [path, name] of entries) {
    const problem = dotPathProblem(path);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: `Dot path ${problem}`, path: ['rotates', path] });
    }
    if (!referenced.has(name)) {
      ctx.addIssue({
        code: 'custom',
        message: `${name} is not referenced by any argument (\${${name}})`,
        path: ['rotates', path],
      });
    }
  }
  for (const field of ['rotation_rejected_values', 'rotation_recovery'] as const) {
    if (config[field] !== undefined && entries.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'needs rotates', path: [field] });
    }
  }
}

export const realmConfigSchema = strictObject(realmConfigShape)
  .superRefine((config, ctx) => {
    const jsonBodyNames = new Set<string>();
    config.arguments.forEach((arg, index) => {
      if (arg.place !== 'body') return;
      if (config.method === 'GET') {
        ctx.addIssue({
          code: 'custom',
          message: 'body arguments need method POST',
          path: ['arguments', index, 'place'],
        });
      }
      if (config.content_type === 'json') {
        if (jsonBodyNames.has(arg.name)) {
          ctx.addIssue({
            code: 'custom',
            message: 'appears twice in a JSON body',
            path: ['arguments', index, 'name'],
          });
        }
        jsonBodyNames.add(arg.name);
      }
    });
    if (config.expires_in_path === undefined && config.default_expires_in === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'is required unless default_expires_in is set',
        path: ['expires_in_path'],
      });
    }
    rotatesProblems(config, ctx);
    if (
      config.error_path === undefined &&
      config.success_values !== undefined &&
      config.success_values.length
    ) {
      ctx.addIssue({ code: 'custom', message: 'needs error_path', path: ['success_values'] });
    }
  })
  .transform((config) => ({
    ...config,
    /** [0] when error_path is set and success_values is not; [] (unused) without error_path. */
    success_values: config.success_values ?? (config.error_path === undefined ? [] : [0]),
  }));

export type RealmConfig = z.output<typeof realmConfigSchema>;

/** A logic_code realm's custom token function: an absolute http(s) URL, like a provider's. */
const logicCodeSchema = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    const problem = urlProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * A realm of one of the original design's three kinds: `config` (the broker calls the provider),
 * `logic_code` (the broker calls a custom token function, providers/logic-code.ts), or neither (a
 * fixed-token realm, whose secrets carry the token: engine/fixed-token.ts).
 */
export const realmSchema = strictObject({
  id: realmIdSchema,
  comment: z.string().max(1000).default(''),
  config: realmConfigSchema.optional(),
  logic_code: logicCodeSchema.optional(),
}).superRefine((realm, ctx) => {
  if (realm.config !== undefined && realm.logic_code !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message:
        'give either config (the broker calls the provider) or logic_code (a token function URL), not both',
      path: ['logic_code'],
    });
  }
});
export type Realm = z.output<typeof realmSchema>;

/**
 * What a careful user would want to know when saving a realm, said in the answer's `warnings`: a
 * config without error rules (its errors are read from the common fields, which may miss a
 * provider's own), and a provider URL that is this broker's own (`selfHost`, the request's Host).
 */
export function realmWarnings(realm: Realm, selfHost: string | undefined): string[] {
  const warnings: string[] = [];
  const url = realm.config?.url ?? realm.logic_code;
  if (realm.config !== undefined && realm.config.error_path === undefined) {
    warnings.push(
      'This realm has no error rules (error_path, success_values, error_message_path) and is not a preset: ' +
        "a provider's error is read from the common fields (errcode/errmsg, code/msg/message, " +
        'error/error_description), errcode -1, HTTP 429 and 5xx count as transient. Set error_path (or start ' +
        'from a preset, GET /api/preset) if the provider reports errors another way.',
    );
  }
  if (url !== undefined && selfHost !== undefined && sameHost(url, selfHost)) {
    warnings.push(
      `The ${realm.config === undefined ? 'logic_code' : 'provider'} URL points at this token-server itself ` +
        `(${selfHost}): token requests would call the broker, not the provider.`,
    );
  }
  return warnings;
}

function sameHost(url: string, host: string): boolean {
  try {
    return new URL(url).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

/** A realm config from JSON (a request body, a stored document); a 400 naming each bad field. */
export function parseRealmConfig(json: unknown, prefix = 'config'): RealmConfig {
  return parseOrThrow(realmConfigSchema, json, prefix);
}

/** A whole realm ({id, comment, config}); a 400 naming each bad field. */
export function parseRealm(json: unknown, prefix = ''): Realm {
  return parseOrThrow(realmSchema, json, prefix);
}

/** A parsed config as the JSON object it is (for storing it, or answering it). */
export function realmConfigToJson(config: RealmConfig): JsonObject {
  return JSON.parse(JSON.stringify(config)) as JsonObject;
}
