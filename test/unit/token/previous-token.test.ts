/**
 * The replaced token's memory (token/previous-token.ts) as the token write leaves it
 * (engine/round.ts writeToken): a digest, never the token; alive until the old token's end by what
 * the store knows (its expiry, or the replacing attempt's start plus the overlap).
 */
import { expect } from 'chai';
import { isCurrentOrPrevious, tokenDigest } from '../../../functions/token/previous-token';
import { writeToken, type WriteOptions } from '../../../functions/token/mutators';
import type { TokenLease, TokenState } from '../../../functions/token/types';

const lease: TokenLease = { id: 'lease-1', owner: 'test', until: 1_000_000, baseGeneration: 3 };
const options: WriteOptions = {
  secretRev: 'rev-1',
  renewalToleranceMs: 1_000,
  random: 0.5,
  attemptMs: 5_000,
};

function stateWith(extra: Partial<TokenState>): TokenState {
  return {
    realm: 'r',
    key: 'k',
    secretRev: 'rev-1',
    generation: 3,
    token: 'old-token-value-0123456789',
    fetchedAt: 0,
    expiresAt: 7_200_000,
    lease,
    ...extra,
  };
}

function written(current: TokenState, token: string, now: number): TokenState {
  const m = writeToken(current, now, lease, { token, lifetimeMs: 7_200_000, startedAt: now }, options);
  if (m.next === undefined || m.next === null) throw new Error('not written');
  return m.next;
}

describe('previous token (token/previous-token.ts through writeToken)', () => {
  it('a replaced token is remembered as its digest until the overlap after the replacing attempt', () => {
    const next = written(
      stateWith({ overlapMs: 300_000, attemptSince: 100_000 }),
      'new-token-value-9876543210',
      100_500,
    );
    expect(next.previousToken).to.deep.equal({
      digest: tokenDigest('old-token-value-0123456789'),
      until: 400_000,
    });
    expect(JSON.stringify(next)).to.not.include('old-token-value');
    expect(isCurrentOrPrevious(next, 'old-token-value-0123456789', 399_999)).to.equal(true);
    expect(isCurrentOrPrevious(next, 'old-token-value-0123456789', 400_000)).to.equal(false);
    expect(isCurrentOrPrevious(next, 'new-token-value-9876543210', 400_000)).to.equal(true);
    expect(isCurrentOrPrevious(next, 'someone-else', 100_600)).to.equal(false);
  });

  it('without an overlap the replaced token is remembered until its expiry; a dead one is not', () => {
    const next = written(stateWith({ attemptSince: 100_000 }), 'new-token', 100_500);
    expect(next.previousToken?.until).to.equal(7_200_000);
    const late = written(
      stateWith({ expiresAt: 50_000, previousToken: { digest: 'ab', until: 1 } }),
      'new',
      60_000,
    );
    expect(late.previousToken).to.equal(undefined);
  });

  it('the same token handed back keeps the earlier memory', () => {
    const previous = { digest: tokenDigest('older'), until: 500_000 };
    const next = written(stateWith({ previousToken: previous }), 'old-token-value-0123456789', 100_000);
    expect(next.previousToken).to.deep.equal(previous);
  });
});
