/** SPEC §4.6's error-code mapping of the WeChat-compatible routes, error by error. */
import { expect } from 'chai';
import { compatErrorBody, compatErrorOf } from '../../../functions/http/compat-errors';
import { AppError } from '../../../functions/errors';
import { ProviderFailure } from '../../../functions/providers/failure';

describe('compat routes: error codes', () => {
  const map = (err: unknown, dialect: 'wechat' | 'wecom' = 'wechat') => compatErrorOf(err, dialect, 'wx/app');

  it('a wrong client key: 40125 (WeChat) / 40001 (WeCom), saying it is the broker client key', () => {
    const wrong = new AppError('UNAUTHENTICATED', 'The client key is not valid');
    expect(map(wrong).errcode).to.equal(40125);
    expect(map(wrong, 'wecom').errcode).to.equal(40001);
    expect(map(wrong).message).to.match(/client key of the broker/);
  });

  it('out of scope 48001, unknown secret 40013, spent budget 45009', () => {
    expect(map(new AppError('PERMISSION_DENIED', 'no')).errcode).to.equal(48001);
    expect(map(new AppError('NOT_FOUND', 'No secret')).errcode).to.equal(40013);
    expect(map(new AppError('QUOTA_EXHAUSTED', 'budget', { retryAfter: 60 })).errcode).to.equal(45009);
  });

  it("a provider failure: the provider's own code and message", () => {
    const failure = new ProviderFailure({
      kind: 'permanent',
      message: 'The provider refused the credentials',
      providerCode: '40164',
      providerMessage: 'invalid ip 203.0.113.7, not in whitelist',
    });
    const mapped = map(failure);
    expect(mapped.errcode).to.equal(40164);
    expect(mapped.message).to.equal('invalid ip 203.0.113.7, not in whitelist');
  });

  it('503, 504 and failures without a provider code: -1 system busy (SDKs retry)', () => {
    for (const err of [
      new AppError('REFRESH_IN_PROGRESS', 'refreshing', { retryAfter: 1 }),
      new AppError('NOT_READY', 'not ready'),
      new AppError('UPSTREAM_TIMEOUT', 'timed out'),
      new ProviderFailure({ kind: 'transient', message: 'HTTP 500', httpStatus: 500 }),
      new Error('unexpected'),
    ]) {
      expect(map(err).errcode, err.message).to.equal(-1);
      expect(map(err).message).to.equal('system busy');
    }
  });

  it("answers {errcode, errmsg} with WeChat's rid suffix", () => {
    const body = compatErrorBody(map(new AppError('PERMISSION_DENIED', 'no')), 'req-1');
    expect(body).to.deep.equal({
      errcode: 48001,
      errmsg: 'api unauthorized: this broker client key may not use wx/app rid: req-1',
    });
  });
});
