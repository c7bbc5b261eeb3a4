/** Stored documents are checked when read: one written by another version fails loudly, naming the field. */
import { expect } from 'chai';
import { AppError } from '../../../functions/errors';
import {
  decodeClient,
  decodeRealm,
  decodeTokenState,
  decodeTokenSummary,
  encodeTokenState,
} from '../../../functions/store/codec';
import { Sealer } from '../../../functions/store/seal';

const sealer = new Sealer(Buffer.alloc(32, 3));

function failure(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    return err as AppError;
  }
  return expect.fail('no error');
}

describe('store/codec: documents checked on read', () => {
  it('round-trips a token state, extra fields of a newer version kept', () => {
    const doc = encodeTokenState(
      { realm: 'r', key: 'k', secretRev: 'v1', generation: 3, token: 'tok-1', expiresAt: 10, refreshAt: 5 },
      sealer,
    );
    const state = decodeTokenState({ ...doc, futureField: 1 }, sealer);
    expect(state).to.include({ realm: 'r', key: 'k', generation: 3, token: 'tok-1', expiresAt: 10 });
    expect((state as unknown as { futureField: number }).futureField).to.equal(1);
    expect(decodeTokenSummary(doc).hasToken).to.equal(true);
  });

  it('refuses a token document without its generation or with a text generation, naming the field', () => {
    const missing = failure(() => decodeTokenState({ realm: 'r', key: 'k', secretRev: 'v1' }, sealer));
    expect(missing.code).to.equal('INTERNAL');
    expect(missing.details).to.deep.equal({ field: 'generation' });
    const text = failure(() =>
      decodeTokenSummary({ realm: 'r', key: 'k', secretRev: 'v1', generation: '3' }),
    );
    expect(text.message).to.include('(generation)');
  });

  it('refuses realm and client documents that lack what every one carries', () => {
    expect(failure(() => decodeRealm({ id: 'r', createdAt: 1, updatedAt: 1 })).details).to.deep.equal({
      field: 'comment',
    });
    expect(
      decodeRealm({ id: 'r', comment: '', config: { url: 'x' }, createdAt: 1, updatedAt: 2 }).updatedAt,
    ).to.equal(2);
    expect(
      failure(() =>
        decodeClient({ id: 'c', name: 'n', scopes: [{ realm: 'r' }], keyHash: 'h', createdAt: 1 }),
      ).details,
    ).to.deep.equal({ field: 'scopes.0.key' });
  });
});
