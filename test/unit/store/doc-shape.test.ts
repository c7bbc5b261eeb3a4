/** store/doc-shape.ts: the read-time check of our own documents, by zod's rules for the same schema. */
import { expect } from 'chai';
import { mismatch, type Shape } from '../../../functions/store/doc-shape';

const shape: Shape = {
  name: 'string',
  count: 'integer',
  'at?': 'number',
  'done?': 'boolean',
  'config?': 'record',
  'tags?': { array: 'string' },
  'recent?': { array: { object: { id: 'string', at: 'number' } } },
};

describe('store/doc-shape: mismatch(shape, doc)', () => {
  it('passes a fitting document, optional fields absent or undefined, and fields it does not name', () => {
    expect(mismatch(shape, { name: 'n', count: 2 })).to.equal(undefined);
    expect(mismatch(shape, { name: 'n', count: 0, at: undefined, extra: { any: 1 } })).to.equal(undefined);
    expect(
      mismatch(shape, {
        name: '',
        count: -4,
        at: 1.5,
        done: false,
        config: {},
        tags: [],
        recent: [{ id: 'a', at: 1, more: true }],
      }),
    ).to.equal(undefined);
  });

  it('names the first field that does not fit, as a dotted path', () => {
    expect(mismatch(shape, { count: 1 })).to.equal('name');
    expect(mismatch(shape, { name: 'n', count: '1' })).to.equal('count');
    expect(mismatch(shape, { name: 'n', count: 1.5 })).to.equal('count');
    expect(mismatch(shape, { name: 'n', count: 2 ** 60 })).to.equal('count');
    expect(mismatch(shape, { name: 'n', count: 1, at: Number.NaN })).to.equal('at');
    expect(mismatch(shape, { name: 'n', count: 1, at: Infinity })).to.equal('at');
    expect(mismatch(shape, { name: 'n', count: 1, at: null })).to.equal('at');
    expect(mismatch(shape, { name: 'n', count: 1, done: 'true' })).to.equal('done');
    expect(mismatch(shape, { name: 'n', count: 1, config: [] })).to.equal('config');
    expect(mismatch(shape, { name: 'n', count: 1, tags: ['a', 2] })).to.equal('tags.1');
    expect(mismatch(shape, { name: 'n', count: 1, recent: [{ id: 'a', at: 1 }, { id: 'b' }] })).to.equal(
      'recent.1.at',
    );
    expect(mismatch(shape, { name: 'n', count: 1, recent: [null] })).to.equal('recent.0');
  });
});
