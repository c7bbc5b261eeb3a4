/**
 * The token document in its plain (domain) form: one secret's token, lease, attempts, errors, backoff
 * and budget counters, and the shape of a compare-and-set over it. The rules that read and write
 * these fields are the other files of token/; the store (store/) keeps the document, the engine
 * (engine/) orchestrates. Pure types: nothing here does I/O.
 */

export interface TokenLease {
  id: string;
  /** Which instance holds it (for status and logs). */
  owner: string;
  /** Store time (epoch ms) after which anyone may take the lease over. */
  until: number;
  /** The generation the holder started from; its write is accepted only if it is still current. */
  baseGeneration: number;
  /** Taken for a flush or invalid_token report while a valid token existed: its calls count in flushCallsToday. */
  flush?: boolean;
}

/** The newest provider attempt, recorded (compare-and-set on the lease) before it was sent. */
export interface TokenAttempt {
  /** Store time (ms) of the record, before the request left: the attempt started no earlier. */
  startedAt: number;
  leaseId: string;
}

export interface TokenError {
  at: number;
  /** AppError code: UPSTREAM_ERROR, UPSTREAM_TIMEOUT, ... */
  code: string;
  message: string;
  /** Provider's HTTP status, error code and message, when it answered. */
  httpStatus?: number;
  providerCode?: string;
  providerMessage?: string;
  /** The realm's hint for the provider's code (e.g. the IP allow-list one), kept for repeated answers. */
  hint?: string;
  permanent: boolean;
  /** The lease during which it happened, so that waiters for that lease can report it. */
  leaseId?: string;
}

/** A replaced token, as its SHA-256 digest (hex), and the store time it is alive until. */
export interface PreviousToken {
  digest: string;
  until: number;
}

/** WeChat's quota/get count of /cgi-bin/token calls against the broker's own, for one UTC+8 day. */
export interface QuotaCheck {
  /** Store time of the check (claimed before WeChat was asked: at most one check an hour). */
  at: number;
  /** The UTC+8 day both counts are of. */
  day?: string;
  wechatUsed?: number;
  dailyLimit?: number;
  /** The broker's attempts that day (absent: not known exactly, e.g. counting began that day). */
  brokerCalls?: number;
  /** WeChat counted more calls than the broker made: something else fetches this appid's token. */
  foreign?: boolean;
  /**
   * The last UTC+8 day whose foreign use was reported (the `quota_foreign_use` log line and the
   * `quota.foreign_use` webhook event), carried from check to check: reported once per day and secret.
   */
  foreignReported?: string;
  /** Why the check gave no counts (WeChat's errcode, or the failure), for status. */
  error?: string;
}

/** One rotating value's slot in a token document (token/rotation.ts). All of it is sealed. */
export interface RotatingSlot {
  /** The newest value the provider handed out with a stored token: what the next attempt presents. */
  current: string;
  /** The value `current` replaced: a fallback after a rejection (dropped once `current` worked). */
  previous?: string;
  /** New values whose token write was refused (a lapsed lease), newest first: tried after a rejection. */
  orphans?: string[];
}

/** Rotating values by the secret value they replace (realm config `rotates`). */
export type RotatingState = Partial<Record<'refresh_token', RotatingSlot>>;

/**
 * Every time below is store time (epoch ms by Firestore's read times, or the memory store's clock),
 * never an instance's clock.
 */
export interface TokenState {
  realm: string;
  key: string;
  /** The SecretRecord.rev this state belongs to. */
  secretRev: string;
  /** Increments with every accepted token write; never goes back. */
  generation: number;
  /** The token (sealed at rest). */
  token?: string;
  /** When the attempt that fetched the token started (its recorded TokenAttempt.startedAt). */
  fetchedAt?: number;
  /** When the provider said it expires (fetch start + lifetime): never later than it really does. */
  expiresAt?: number;
  /** When a refresh falls due (before expiresAt, with jitter). */
  refreshAt?: number;
  /**
   * Set after the provider handed back the stored token (same-token providers): until then it would
   * hand it back again (the end of the token's life at the latest), so no attempt is sent earlier.
   */
  reissueAt?: number;
  /** Same-token answers during this token's life (after the first, one late try before its end). */
  sameTokenAnswers?: number;
  /** Learned: this provider hands a token back until its very end (no halfway attempts). */
  reissuesAtEnd?: boolean;
  /** For providers that kill the previous token this long after a new fetch: the serving cap. */
  overlapMs?: number;
  lease?: TokenLease;
  /** The newest provider attempt (recorded before it was sent). */
  lastAttempt?: TokenAttempt;
  /**
   * Start of the earliest attempt since this token was fetched whose outcome is unknown (still in
   * flight, timed out, answer lost, holder died): it may have minted a new token, so for overlapMs
   * providers this token dies by attemptSince + overlapMs. Cleared by a token write, and by a
   * provider's error answer to that same attempt (an answered error mints nothing).
   */
  attemptSince?: number;
  lastError?: TokenError;
  /** Negative cache: no upstream call before this time after a permanent error. */
  blockedUntil?: number;
  /** No provider call for this secret before this time: set after a failed round (transient errors). */
  backoffUntil?: number;
  /** Failed rounds in a row (reset by a success): the backoff grows with it. */
  failures?: number;
  /** UTC day (YYYY-MM-DD, of store time) that callsToday and flushCallsToday count. */
  callsDay?: string;
  /** Provider attempts that day, retries included (the daily budget). */
  callsToday?: number;
  /** Of those, attempts made for flushes and invalid_token reports (at most half the budget). */
  flushCallsToday?: number;
  /** WeChat's quota day (UTC+8) that quotaCalls counts ("+partial": counting began that day). */
  quotaDay?: string;
  /** Provider attempts that UTC+8 day, as WeChat's quota/get counts them (token/quota-day-count.ts). */
  quotaCalls?: number;
  /** The last quota check of a WeChat token (quota/check.ts), by the store's clock. */
  quotaCheck?: QuotaCheck;
  /** When the last token write was stored (flush_min_interval counts from it). */
  lastRefreshAt?: number;
  /** When the realm's probe (README "Probes: tokens killed from outside") last checked this token, by the store's clock. */
  probedAt?: number;
  /** The token the last write replaced (token/previous-token.ts): the ticket compat routes accept it. */
  previousToken?: PreviousToken;
  /** Rotating values (token/rotation.ts), sealed with the token in the same field (store/codec.ts). */
  rotating?: RotatingState;
}

/**
 * A token state without the token: what listings (status, the scheduled refresh) need. Reading it
 * opens nothing, so one document sealed under another master key cannot break a listing.
 */
export type TokenSummary = Omit<TokenState, 'token' | 'rotating'> & { hasToken: boolean };

/** What a mutator decides: write `next` (null deletes, undefined leaves as is) and return `result`. */
export interface Mutation<R> {
  next?: TokenState | null;
  result: R;
  /**
   * When given and `next` was written, the answer is stamp(the write's commit time): a store time
   * no earlier than the read the mutator saw, and no later than the moment the caller resumes.
   */
  stamp?: (committedAt: number) => R;
}

/**
 * A pure function of the current state and of the store's time of that read (`now`, epoch ms: the
 * Firestore read time, or the memory store's clock). It may run more than once (the compare-and-set
 * decides again when another instance wrote in between), so it must not have side effects.
 */
export type TokenMutator<R> = (current: TokenState | null, now: number) => Mutation<R>;
