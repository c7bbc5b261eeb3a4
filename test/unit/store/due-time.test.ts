/**
 * The due time of a token document, case by case (token/due-time.ts), and that the codec writes it
 * with every token-state write whoever writes, and never hands it back as part of the state.
 */
import { expect } from 'chai';
import { decodeTokenState, decodeTokenSummary, encodeTokenState } from '../../../functions/store/codec';
import { dueAtOf, dueAtOfState, NEVER_DUE, type DueInputs } from '../../../functions/token/due-time';
import { MemoryStore } from '../../../functions/store/memory/memory-store';
import { Sealer } from '../../../functions/store/seal';
import type { TokenState } from '../../../functions/store/types';

const T0 = Date.UTC(2026, 10, 24);
const transient = { permanent: false };
const permanent = { permanent: true };

describe('due time (dueAt)', () => {
  const cases: Array<[string, DueInputs, number]> = [
    ['no token (new or replaced credentials): now', { hasToken: false }, 0],
    [
      'a token: its refresh time',
      { hasToken: true, expiresAt: T0 + 7_200_000, refreshAt: T0 + 6_500_000 },
      T0 + 6_500_000,
    ],
    [
      'a token without a refresh time: its expiry',
      { hasToken: true, expiresAt: T0 + 7_200_000 },
      T0 + 7_200_000,
    ],
    ['transient error, no token, no backoff: now', { hasToken: false, lastError: transient }, 0],
    [
      'transient error, no token: the end of its backoff',
      { hasToken: false, lastError: transient, backoffUntil: T0 + 30_000 },
      T0 + 30_000,
    ],
    [
      'transient error with a token: its refresh time when the backoff ends first',
      {
        hasToken: true,
        expiresAt: T0 + 7_200_000,
        refreshAt: T0 + 6_500_000,
        lastError: transient,
        backoffUntil: T0 + 30_000,
      },
      T0 + 6_500_000,
    ],
    [
      'transient error with a due token: the end of its backoff',
      {
        hasToken: true,
        expiresAt: T0 + 7_200_000,
        refreshAt: T0,
        lastError: transient,
        backoffUntil: T0 + 30_000,
      },
      T0 + 30_000,
    ],
    [
      'permanent error, no token: never (a wrong secret is not retried every minute)',
      { hasToken: false, lastError: permanent, blockedUntil: T0 + 60_000 },
      NEVER_DUE,
    ],
    [
      'permanent error with a token: the end of the block when it ends before expiry',
      {
        hasToken: true,
        expiresAt: T0 + 7_200_000,
        refreshAt: T0,
        lastError: permanent,
        blockedUntil: T0 + 60_000,
      },
      T0 + 60_000,
    ],
    [
      'permanent error with a token: its refresh time when that is later than the block',
      {
        hasToken: true,
        expiresAt: T0 + 7_200_000,
        refreshAt: T0 + 6_500_000,
        lastError: permanent,
        blockedUntil: T0 + 60_000,
      },
      T0 + 6_500_000,
    ],
    [
      'permanent error with a token that expires before the block ends: never',
      {
        hasToken: true,
        expiresAt: T0 + 30_000,
        refreshAt: T0,
        lastError: permanent,
        blockedUntil: T0 + 60_000,
      },
      NEVER_DUE,
    ],
    [
      'a lease is held: not before it ends (a holder that died is taken over then)',
      { hasToken: false, lease: { until: T0 + 15_000 } },
      T0 + 15_000,
    ],
    [
      'a lease that ends before the refresh time: the refresh time',
      { hasToken: true, expiresAt: T0 + 7_200_000, refreshAt: T0 + 6_500_000, lease: { until: T0 + 15_000 } },
      T0 + 6_500_000,
    ],
  ];
  for (const [name, inputs, expected] of cases) {
    it(name, () => {
      expect(dueAtOf(inputs)).to.equal(expected);
    });
  }

  it('NEVER_DUE is still a valid time', () => {
    expect(new Date(NEVER_DUE).toISOString()).to.equal('+275760-09-13T00:00:00.000Z');
  });

  const sealer = new Sealer(Buffer.alloc(32, 9));
  const state: TokenState = {
    realm: 'wx',
    key: 'main',
    secretRev: 'r',
    generation: 2,
    token: 'TOKEN-VALUE',
    fetchedAt: T0,
    expiresAt: T0 + 7_200_000,
    refreshAt: T0 + 6_600_000,
  };

  it('is written with every encoded token state, from the state being written', () => {
    expect(encodeTokenState(state, sealer).dueAt).to.equal(T0 + 6_600_000);
    // A state carrying a stale dueAt (decoded elsewhere, spread, changed) gets the right one.
    const stale = { ...state, dueAt: 1, refreshAt: T0 + 100 } as TokenState;
    expect(encodeTokenState(stale, sealer).dueAt).to.equal(T0 + 100);
    const leased = { ...state, lease: { id: 'l', owner: 'o', until: T0 + 9e6, baseGeneration: 2 } };
    expect(encodeTokenState(leased, sealer).dueAt).to.equal(T0 + 9e6);
  });

  it('is not part of the decoded state or summary', () => {
    const doc = encodeTokenState(state, sealer);
    expect(decodeTokenState(doc, sealer)).to.deep.equal(state);
    expect(decodeTokenSummary(doc)).to.not.have.property('dueAt');
    expect(dueAtOfState(state)).to.equal(T0 + 6_600_000);
  });

  it('follows every write through the store: the due query sees exactly the due documents', async () => {
    const store = new MemoryStore(sealer);
    await store.mutateTokenState('wx', 'a', () => ({ next: { ...state, key: 'a' }, result: null }));
    await store.mutateTokenState('wx', 'b', () => ({
      next: { realm: 'wx', key: 'b', secretRev: 'r', generation: 1 },
      result: null,
    }));
    const due = async (now: number) => (await store.listDueTokens({ now, limit: 10 })).list.map((e) => e.key);
    expect(await due(T0)).to.deep.equal(['b']);
    expect(await due(T0 + 6_600_000)).to.deep.equal(['b', 'a']);
    // Writing a token for b makes it not due; a permanent error without a token: never due.
    await store.mutateTokenState('wx', 'b', (cur) => ({
      next: { ...cur!, token: 'T2', expiresAt: T0 + 7_200_000, refreshAt: T0 + 7_000_000 },
      result: null,
    }));
    await store.mutateTokenState('wx', 'a', (cur) => {
      const { token: _t, ...rest } = cur!;
      return {
        next: { ...rest, lastError: { at: T0, code: 'UPSTREAM_ERROR', message: 'm', permanent: true } },
        result: null,
      };
    });
    expect(await due(T0 + 6_600_000)).to.deep.equal([]);
    expect(await due(T0 + 7_000_000)).to.deep.equal(['b']);
  });
});
