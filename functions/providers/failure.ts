/**
 * What went wrong when asking a provider for a token, classified so that the engine knows whether a
 * retry can help (transient) or would only burn quota (permanent). Messages and details never carry a
 * credential value, a token, or the response body.
 */
import { AppError } from '../errors';

export type FailureKind = 'transient' | 'permanent';

/** Longest provider code or message kept (after redaction: providers/redact.ts). */
export const MAX_PROVIDER_TEXT = 300;

/** A machine-readable reason; `details.reason` in the HTTP error body. */
export type FailureReason =
  | 'timeout'
  | 'aborted'
  | 'network'
  | 'redirect'
  | 'http_status'
  | 'provider_error'
  | 'not_json'
  | 'not_object'
  | 'too_large'
  | 'no_token'
  | 'bad_token'
  | 'no_lifetime'
  | 'bad_lifetime'
  /** A dependent secret's parent could not give a token (README "JS-SDK"). */
  | 'parent_token';

export interface ProviderFailureInit {
  /** UPSTREAM_ERROR (502, the default) or UPSTREAM_TIMEOUT (504). */
  code?: 'UPSTREAM_ERROR' | 'UPSTREAM_TIMEOUT';
  kind: FailureKind;
  /** Defaults to 'timeout' for UPSTREAM_TIMEOUT, 'provider_error' with a providerCode, else 'http_status'. */
  reason?: FailureReason;
  message: string;
  httpStatus?: number;
  providerCode?: string;
  providerMessage?: string;
  hint?: string;
}

/** Cloud Functions call out from changing addresses; these provider codes say the caller IP is refused. */
export const IP_ALLOWLIST_HINT =
  "The provider refused this server's IP address (caller IP allow-list). Cloud Functions have no fixed " +
  'egress IP: route the function through a Serverless VPC Access connector (egress: all traffic) and ' +
  "Cloud NAT with a reserved static IP address, then add that address to the provider's allow-list.";

export class ProviderFailure extends AppError {
  readonly kind: FailureKind;
  readonly reason: FailureReason;
  readonly httpStatus: number | undefined;
  readonly providerCode: string | undefined;
  readonly providerMessage: string | undefined;
  readonly hint: string | undefined;

  constructor(init: ProviderFailureInit) {
    const code = init.code ?? 'UPSTREAM_ERROR';
    const reason =
      init.reason ??
      (code === 'UPSTREAM_TIMEOUT'
        ? 'timeout'
        : init.providerCode !== undefined
          ? 'provider_error'
          : 'http_status');
    const details: Record<string, unknown> = { reason, transient: init.kind === 'transient' };
    if (init.httpStatus !== undefined) details.httpStatus = init.httpStatus;
    if (init.providerCode !== undefined) details.providerCode = init.providerCode;
    if (init.providerMessage !== undefined) details.providerMessage = init.providerMessage;
    if (init.hint !== undefined) details.hint = init.hint;
    super(code, init.message, { details });
    this.name = 'ProviderFailure';
    this.kind = init.kind;
    this.reason = reason;
    this.httpStatus = init.httpStatus;
    this.providerCode = init.providerCode;
    this.providerMessage = init.providerMessage;
    this.hint = init.hint;
  }

  get transient(): boolean {
    return this.kind === 'transient';
  }

  /**
   * The same failure with its provider text made safe to keep and show: `clean` redacts credentials
   * from the raw text first, then normalises and shortens it (providers/redact.ts
   * cleanProviderText). The message quotes the provider's code and message as they came; the clean
   * copies take their place before the message itself is cleaned.
   */
  redacted(clean: (text: string, maxLength?: number) => string): ProviderFailure {
    const providerCode = this.providerCode === undefined ? undefined : clean(this.providerCode);
    const providerMessage = this.providerMessage === undefined ? undefined : clean(this.providerMessage);
    let message = this.message;
    for (const [raw, safe] of [
      [this.providerMessage, providerMessage],
      [this.providerCode, providerCode],
    ] as const) {
      if (raw !== undefined && safe !== undefined && raw !== '') message = message.split(raw).join(safe);
    }
    const copy = new ProviderFailure({
      kind: this.kind,
      reason: this.reason,
      message: clean(message, 3 * MAX_PROVIDER_TEXT),
      code: this.code === 'UPSTREAM_TIMEOUT' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_ERROR',
      httpStatus: this.httpStatus,
      providerCode,
      providerMessage,
      hint: this.hint,
    });
    copy.stack = this.stack;
    return copy;
  }
}

/** HTTP statuses after which a later attempt may well succeed. */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}
