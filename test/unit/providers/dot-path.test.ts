import { expect } from 'chai';
import { dotPathProblem, getByPath, parseDotPath } from '../../../functions/providers/dot-path';

describe('providers/dot-path', () => {
  const body = JSON.parse(
    '{"access_token":"t","data":{"token":"nested","n":0,"f":false,"nil":null},"list":[{"a":1},{"a":2}],"__proto__":{"x":"own"}}',
  ) as unknown;

  it('reads top-level and nested values, including falsy ones', () => {
    expect(getByPath(body, 'access_token')).to.equal('t');
    expect(getByPath(body, 'data.token')).to.equal('nested');
    expect(getByPath(body, 'data.n')).to.equal(0);
    expect(getByPath(body, 'data.f')).to.equal(false);
    expect(getByPath(body, 'data.nil')).to.equal(null);
  });

  it('indexes arrays by decimal segments only', () => {
    expect(getByPath(body, 'list.1.a')).to.equal(2);
    expect(getByPath(body, 'list.2.a')).to.equal(undefined);
    expect(getByPath(body, 'list.01.a')).to.equal(undefined);
    expect(getByPath(body, 'list.-1')).to.equal(undefined);
  });

  it('answers undefined for missing steps and for steps through scalars', () => {
    expect(getByPath(body, 'missing')).to.equal(undefined);
    expect(getByPath(body, 'data.token.length')).to.equal(undefined);
    expect(getByPath(body, 'data.nil.x')).to.equal(undefined);
    expect(getByPath('string', 'length')).to.equal(undefined);
    expect(getByPath(null, 'a')).to.equal(undefined);
  });

  it('never walks into __proto__, constructor or prototype, even when they are own JSON keys', () => {
    expect(getByPath(body, '__proto__.x')).to.equal(undefined);
    expect(getByPath(body, '__proto__')).to.equal(undefined);
    expect(getByPath({}, 'constructor')).to.equal(undefined);
    expect(getByPath({}, 'constructor.prototype')).to.equal(undefined);
    expect(getByPath(() => 1, 'prototype')).to.equal(undefined);
    for (const bad of [
      '__proto__',
      'a.__proto__',
      'constructor',
      'a.constructor.b',
      'prototype',
      'x.prototype',
    ]) {
      expect(dotPathProblem(bad), bad).to.be.a('string');
      expect(() => parseDotPath(bad), bad).to.throw();
    }
  });

  it('reads own properties only', () => {
    const inherited = Object.create({ token: 'inherited' }) as object;
    expect(getByPath(inherited, 'token')).to.equal(undefined);
    expect(getByPath({}, 'toString')).to.equal(undefined);
    expect(getByPath({}, 'hasOwnProperty')).to.equal(undefined);
  });

  it('refuses malformed paths', () => {
    for (const bad of ['', '.a', 'a.', 'a..b', 'a\nb', 'x'.repeat(257), new Array(18).fill('a').join('.')]) {
      expect(dotPathProblem(bad), JSON.stringify(bad)).to.be.a('string');
      expect(getByPath({ a: { b: 1 } }, bad)).to.equal(undefined);
    }
    expect(parseDotPath('data.access_token')).to.deep.equal(['data', 'access_token']);
  });
});
