/**
 * The WeChat-compatible routes' errors (README "SDKs that only take a base URL"): every outcome in the provider's own format
 * (HTTP 200, errcode/errmsg), so that an SDK reacts to it as it would to WeChat or WeCom: a wrong
 * client key is WeChat's "invalid appsecret" (40125) or WeCom's "invalid credential" (40001), out of
 * scope is 48001, a wrong appid/corpid 40013, a provider failure the provider's own code and message,
 * anything transient -1 "system busy" (SDKs retry those), a spent budget 45009.
 */
import { AppError } from '../errors';

export type Dialect = 'wechat' | 'wecom';

/** An outcome to be answered as {errcode, errmsg}. */
export class CompatError extends Error {
  constructor(
    readonly errcode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CompatError';
  }
}

const BUSY = 'system busy';

function providerCodeOf(details: Record<string, unknown> | undefined): number | undefined {
  const code = details?.providerCode;
  if (typeof code === 'number' && Number.isInteger(code)) return code;
  if (typeof code === 'string' && /^-?\d{1,9}$/.test(code)) return Number(code);
  return undefined;
}

/** Any error of a compat route as {errcode, errmsg} (messages never carry a credential or key). */
export function compatErrorOf(err: unknown, dialect: Dialect, where: string): CompatError {
  if (err instanceof CompatError) return err;
  if (!(err instanceof AppError)) return new CompatError(-1, BUSY);
  switch (err.code) {
    case 'UNAUTHENTICATED':
      return new CompatError(
        dialect === 'wechat' ? 40125 : 40001,
        `invalid ${dialect === 'wechat' ? 'appsecret' : 'corpsecret'}: this is the token broker ` +
          `(token-server), where the ${dialect === 'wechat' ? 'secret' : 'corpsecret'} must be a ` +
          `client key of the broker, and the one given is not valid`,
      );
    case 'PERMISSION_DENIED':
      return new CompatError(48001, `api unauthorized: this broker client key may not use ${where}`);
    case 'NOT_FOUND':
      return new CompatError(40013, `invalid appid: the broker has no secret ${where}`);
    case 'QUOTA_EXHAUSTED':
      return new CompatError(
        45009,
        `reach max api daily quota limit: the broker's daily budget for ${where}`,
      );
    case 'UPSTREAM_ERROR': {
      const code = providerCodeOf(err.details);
      if (code === undefined) return new CompatError(-1, BUSY);
      const message = err.details?.providerMessage;
      return new CompatError(code, typeof message === 'string' ? message : err.message);
    }
    case 'INVALID_ARGUMENT': {
      const field = err.details?.field;
      return new CompatError(40097, `invalid args: ${typeof field === 'string' ? field : err.message}`);
    }
    default:
      // 503/504 (not ready, refreshing, provider timed out) and everything else: transient.
      return new CompatError(-1, BUSY);
  }
}

/** The error body, with WeChat's request id suffix so that a report can be matched to our log. */
export function compatErrorBody(err: CompatError, requestId: string): { errcode: number; errmsg: string } {
  return { errcode: err.errcode, errmsg: `${err.message} rid: ${requestId}` };
}
