import { expect } from 'chai';
import { clientView, maskValue, MASK, secretView } from '../../../functions/admin/views';

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
});
