import { expect } from 'chai';
import { clientView, maskValue, MASK, secretView, toStatus } from '../../../functions/admin/views';
import type { TokenSummary } from '../../../functions/store/types';

describe('admin views', () => {
  describe('maskValue', () => {
    const cases: Array<[string, string]> = [
      ['wx1234567890abcdef', 'wx12****'],
      ['client_credential', 'clie****'],
      ['12345678', '1234****'],
      // Shorter than 8: nothing shown, so that no more than half of a value ever is.
      ['1234567', MASK],
      ['abcde', MASK],
      ['abcd', MASK],
      ['a', MASK],
      // Code points, not UTF-16 units: a mask never splits a surrogate pair.
      ['😀😀😀😀😀😀😀😀', '😀😀😀😀****'],
      ['密钥密钥密钥密钥密钥', '密钥密钥****'],
    ];
    for (const [value, masked] of cases) {
      it(`masks ${JSON.stringify(value)} as ${masked}`, () => {
        expect(maskValue(value)).to.equal(masked);
      });
    }

    it('never answers the whole value', () => {
      for (let n = 1; n <= 40; n++) {
        const value = 'x'.repeat(n);
        expect(maskValue(value)).to.not.equal(value);
        expect(maskValue(value).replace(MASK, '').length).to.be.at.most(Math.floor(n / 2));
      }
    });
  });

  it('secretView masks every key_N and keeps their order', () => {
    const view = secretView({
      realm: 'r',
      key: 'k',
      values: { key_3: 'third-value', key_1: 'first-value', key_9: 'short' },
      rev: 'rev-1',
      createdAt: Date.UTC(2026, 0, 1),
      updatedAt: Date.UTC(2026, 0, 2),
    });
    expect(view).to.deep.equal({
      realm: 'r',
      key: 'k',
      key_1: 'firs****',
      key_3: 'thir****',
      key_9: '****',
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-02T00:00:00.000Z',
    });
    expect(Object.keys(view)).to.deep.equal([
      'realm',
      'key',
      'key_1',
      'key_3',
      'key_9',
      'created_at',
      'updated_at',
    ]);
    expect(JSON.stringify(view)).to.not.include('rev-1');
  });

  it('clientView leaves out the key hash', () => {
    const view = clientView({
      id: 'c1',
      name: 'app',
      scopes: [{ realm: 'r', key: '*' }],
      keyHash: 'f'.repeat(64),
      createdAt: 0,
    });
    expect(view).to.deep.equal({
      id: 'c1',
      name: 'app',
      scopes: [{ realm: 'r', key: '*' }],
      created_at: '1970-01-01T00:00:00.000Z',
    });
  });

  describe('toStatus', () => {
    const now = Date.UTC(2026, 10, 24);
    const base: TokenSummary = { realm: 'r', key: 'k', secretRev: 'x', generation: 1, hasToken: false };
    const valid = { ...base, hasToken: true, expiresAt: now + 7_200_000, refreshAt: now + 6_600_000 };

    it('says ok, due or error, and when the schedule looks at it next', () => {
      expect(toStatus(valid, now)).to.include({
        state: 'ok',
        has_token: true,
        due_at: new Date(now + 6_600_000).toISOString(),
      });
      expect(toStatus({ ...valid, refreshAt: now - 1 }, now).state).to.equal('due');
      expect(toStatus(base, now)).to.include({
        state: 'due',
        has_token: false,
        due_at: new Date(0).toISOString(),
      });
      const failed = {
        ...base,
        lastError: { at: now, code: 'UPSTREAM_ERROR', message: 'm', permanent: true },
      };
      expect(toStatus(failed, now)).to.include({ state: 'error', due_at: null });
    });

    it('shows backoff_until and blocked_until while they are ahead, never the token', () => {
      const backingOff = {
        ...base,
        lastError: { at: now, code: 'UPSTREAM_TIMEOUT', message: 'm', permanent: false },
        backoffUntil: now + 30_000,
        blockedUntil: now - 1,
      };
      const view = toStatus(backingOff, now);
      expect(view).to.include({
        state: 'error',
        backoff_until: new Date(now + 30_000).toISOString(),
        blocked_until: null,
        due_at: new Date(now + 30_000).toISOString(),
      });
      expect(toStatus(backingOff, now + 30_000).backoff_until).to.equal(null);
      expect(Object.keys(view)).to.not.include('token');
    });
  });
});
