/**
 * The token document's rules for rotating values (token/rotation.ts), as pure functions on states
 * at fixed store times: which value an attempt presents, what a token write keeps, what a refused
 * write keeps, the order of candidates after a rejection, a recovered value under the lease or not;
 * and that the values travel sealed inside the token's field (store/rotating-codec.ts, codec.ts).
 */
import { expect } from 'chai';
import { decodeTokenState, decodeTokenSummary, encodeTokenState } from '../../../functions/store/codec';
import { Sealer } from '../../../functions/store/seal';
import { writeToken } from '../../../functions/token/mutators';
import {
  candidatesAfterRejection,
  keepReceived,
  MAX_ORPHANS,
  NEEDS_REAUTHORIZATION,
  presentedValues,
  rotatingAfterFetch,
  storeRecovered,
} from '../../../functions/token/rotation';
import type { TokenState } from '../../../functions/token/types';
import { tokenEvents } from '../../../functions/ops/webhooks/events';

const T0 = Date.UTC(2026, 11, 6, 12);
const lease = { id: 'lease-1', owner: 'i1', until: T0 + 15_000, baseGeneration: 3 };
const base: TokenState = { realm: 'r', key: 'k', secretRev: 'rev1', generation: 3 };
const secretValues = { key_1: 'client', refresh_token: 'R0-from-the-secret' };

describe('token/rotation: rotating values in the token document', () => {
  it('an attempt presents the document value, else the secret value', () => {
    expect(presentedValues(null, secretValues, ['refresh_token'])).to.deep.equal({
      refresh_token: 'R0-from-the-secret',
    });
    const state = { ...base, rotating: { refresh_token: { current: 'R5' } } };
    expect(presentedValues(state, secretValues, ['refresh_token'])).to.deep.equal({ refresh_token: 'R5' });
    expect(presentedValues(null, {}, ['refresh_token'])).to.deep.equal({});
  });

  it('a token write stores the new value with the token, the presented one as previous', () => {
    const current: TokenState = {
      ...base,
      lease,
      rotating: { refresh_token: { current: 'R1', previous: 'R0' } },
    };
    const m = writeToken(
      current,
      T0,
      lease,
      {
        token: 'T2',
        lifetimeMs: 7_200_000,
        startedAt: T0,
        presented: { refresh_token: 'R1' },
        rotated: { refresh_token: 'R2' },
      },
      { secretRev: 'rev1', renewalToleranceMs: 5_000, random: 0.5, attemptMs: 5_000 },
    );
    expect(m.result.written).to.equal(true);
    expect(m.next?.token).to.equal('T2');
    expect(m.next?.rotating).to.deep.equal({ refresh_token: { current: 'R2', previous: 'R1' } });
  });

  it('an answer without a new value (the "does not rotate" reading) keeps the presented one alone', () => {
    expect(
      rotatingAfterFetch({ refresh_token: { current: 'R1', previous: 'R0' } }, { refresh_token: 'R1' }, {}),
    ).to.deep.equal({
      refresh_token: { current: 'R1' },
    });
    // The same value handed back is no rotation either.
    expect(rotatingAfterFetch(undefined, { refresh_token: 'R1' }, { refresh_token: 'R1' })).to.deep.equal({
      refresh_token: { current: 'R1' },
    });
    // A realm without rotating values writes none.
    expect(rotatingAfterFetch(undefined, {}, undefined)).to.equal(undefined);
  });

  it('a refused write keeps the new value: as current when nobody moved on, else as an orphan', () => {
    const state: TokenState = { ...base, rotating: { refresh_token: { current: 'R1' } } };
    const moved = keepReceived(state, 'rev1', { refresh_token: 'R1' }, { refresh_token: 'R2' });
    expect(moved.next?.rotating).to.deep.equal({ refresh_token: { current: 'R2', previous: 'R1' } });
    const sibling: TokenState = { ...base, rotating: { refresh_token: { current: 'R3', previous: 'R1' } } };
    const orphan = keepReceived(sibling, 'rev1', { refresh_token: 'R1' }, { refresh_token: 'R2' });
    expect(orphan.next?.rotating?.refresh_token).to.deep.equal({
      current: 'R3',
      previous: 'R1',
      orphans: ['R2'],
    });
    // Known already, or credentials replaced meanwhile, or the document gone: nothing written.
    expect(keepReceived(sibling, 'rev1', { refresh_token: 'R1' }, { refresh_token: 'R3' }).next).to.equal(
      undefined,
    );
    expect(keepReceived(state, 'rev2', { refresh_token: 'R1' }, { refresh_token: 'R2' }).next).to.equal(
      undefined,
    );
    expect(keepReceived(null, 'rev1', { refresh_token: 'R1' }, { refresh_token: 'R2' }).next).to.equal(
      undefined,
    );
  });

  it('orphans are bounded, newest first', () => {
    let state: TokenState = { ...base, rotating: { refresh_token: { current: 'C' } } };
    for (const v of ['A', 'B', 'D', 'E']) {
      state = keepReceived(state, 'rev1', { refresh_token: 'X' }, { refresh_token: v }).next ?? state;
    }
    expect(state.rotating?.refresh_token?.orphans).to.deep.equal(['E', 'D', 'B'].slice(0, MAX_ORPHANS));
  });

  it('a value arriving for a secret that gave up unblocks it', () => {
    const gaveUp: TokenState = {
      ...base,
      rotating: { refresh_token: { current: 'R1' } },
      lastError: { at: T0, code: NEEDS_REAUTHORIZATION, message: 'x', permanent: true },
      blockedUntil: T0 + 1e12,
    };
    const m = keepReceived(gaveUp, 'rev1', { refresh_token: 'R1' }, { refresh_token: 'R2' });
    expect(m.next?.lastError).to.equal(undefined);
    expect(m.next?.blockedUntil).to.equal(undefined);
  });

  it('after a rejection: a sibling current, the orphans, then the previous value, each once', () => {
    const state: TokenState = {
      ...base,
      rotating: { refresh_token: { current: 'R3', previous: 'R1', orphans: ['R2'] } },
    };
    expect(candidatesAfterRejection(state, 'refresh_token', ['R0'])).to.deep.equal(['R3', 'R2', 'R1']);
    expect(candidatesAfterRejection(state, 'refresh_token', ['R3'])).to.deep.equal(['R2', 'R1']);
    expect(candidatesAfterRejection(state, 'refresh_token', ['R3', 'R2', 'R1'])).to.deep.equal([]);
    expect(candidatesAfterRejection(null, 'refresh_token', ['R0'])).to.deep.equal([]);
  });

  it('a recovered value becomes current under the lease, an orphan without it', () => {
    const held: TokenState = { ...base, lease, rotating: { refresh_token: { current: 'R1' } } };
    const ours = storeRecovered(held, lease, 'refresh_token', 'R9');
    expect(ours.result).to.equal(true);
    expect(ours.next?.rotating?.refresh_token).to.deep.equal({ current: 'R9', previous: 'R1' });
    const lost = storeRecovered({ ...held, lease: { ...lease, id: 'other' } }, lease, 'refresh_token', 'R9');
    expect(lost.result).to.equal(false);
    expect(lost.next?.rotating?.refresh_token?.orphans).to.deep.equal(['R9']);
  });

  it('rotating values are sealed inside the token field: no document or summary shows them', () => {
    const sealer = new Sealer(Buffer.alloc(32, 7));
    const state: TokenState = {
      ...base,
      token: 'the-token-value',
      rotating: { refresh_token: { current: 'rotating-current-value', previous: 'rotating-previous-value' } },
    };
    const doc = encodeTokenState(state, sealer);
    const text = JSON.stringify(doc);
    for (const v of ['the-token-value', 'rotating-current-value', 'rotating-previous-value', 'refresh_token'])
      expect(text).to.not.include(v);
    expect(decodeTokenState(doc, sealer)).to.deep.include({
      token: 'the-token-value',
      rotating: state.rotating,
    });
    expect(JSON.stringify(decodeTokenSummary(doc))).to.not.include('rotating-current-value');
    // Without rotating values the field is the token as before.
    const plain = decodeTokenState(encodeTokenState({ ...base, token: 'just-a-token' }, sealer), sealer);
    expect(plain.token).to.equal('just-a-token');
    expect(plain.rotating).to.equal(undefined);
  });

  it('giving up sends credential.needs_reauthorization once, without any value', () => {
    const failed: TokenState = {
      ...base,
      rotating: { refresh_token: { current: 'R1-secret-value' } },
      lastError: { at: T0, code: NEEDS_REAUTHORIZATION, message: 'rejected', permanent: true },
    };
    const first = tokenEvents({ ...base }, failed, T0);
    expect(first.map((e) => e.type)).to.include('credential.needs_reauthorization');
    expect(JSON.stringify(first)).to.not.include('R1-secret-value');
    expect(tokenEvents(failed, { ...failed, generation: 4 }, T0).map((e) => e.type)).to.not.include(
      'credential.needs_reauthorization',
    );
  });
});
