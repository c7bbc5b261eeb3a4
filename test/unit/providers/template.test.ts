import { expect } from 'chai';
import { AppError } from '../../../functions/errors';
import {
  missingKeys,
  parseTemplate,
  renderTemplate,
  templateKeys,
  templateProblem,
  templateUsesToken,
  PARENT_TOKEN,
} from '../../../functions/providers/template';

const VALUES = { key_1: 'wx-appid', key_2: 's3cr3t-value', key_3: 'client_credential' };

function appErrorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    return err as AppError;
  }
  return expect.fail('expected an AppError');
}

describe('providers/template', () => {
  it('substitutes $key_N and ${key_N}', () => {
    expect(renderTemplate('$key_1', VALUES, 'appid')).to.equal('wx-appid');
    expect(renderTemplate('Bearer ${key_2}', VALUES, 'Authorization')).to.equal('Bearer s3cr3t-value');
    expect(renderTemplate('${key_1}x$key_2/$key_3', VALUES, 'a')).to.equal(
      'wx-appidxs3cr3t-value/client_credential',
    );
    expect(renderTemplate('$key_1abc', VALUES, 'a')).to.equal('wx-appidabc');
  });

  it('substitutes $token and ${token} with the parent token given as PARENT_TOKEN, and needs it', () => {
    const withToken = { ...VALUES, [PARENT_TOKEN]: 'parent-access-token' };
    expect(renderTemplate('$token', withToken, 'access_token')).to.equal('parent-access-token');
    expect(renderTemplate('x${token}y&$key_1', withToken, 'a')).to.equal('xparent-access-tokeny&wx-appid');
    expect(templateUsesToken('${token}')).to.equal(true);
    expect(templateUsesToken('$key_1')).to.equal(false);
    expect(templateKeys('$token $key_2')).to.deep.equal(['key_2']);
    const err = appErrorOf(() => renderTemplate('$token', VALUES, 'access_token'));
    expect(err.code).to.equal('INVALID_ARGUMENT');
    expect(err.details).to.deep.equal({ field: 'parent', argument: 'access_token' });
    expect(templateProblem('$tokens')).to.include('${token}');
    expect(templateProblem('${tokens}')).to.include('unknown reference');
  });

  it('leaves literals and lone dollars alone', () => {
    expect(renderTemplate('client_credential', VALUES, 'a')).to.equal('client_credential');
    expect(renderTemplate('cost: $5 and $ and $KEY_1 and $key', VALUES, 'a')).to.equal(
      'cost: $5 and $ and $KEY_1 and $key',
    );
    expect(renderTemplate('', VALUES, 'a')).to.equal('');
  });

  it('renders ${basic:key_A:key_B} as base64 of "A:B"', () => {
    const rendered = renderTemplate('Basic ${basic:key_1:key_2}', VALUES, 'Authorization');
    expect(rendered).to.equal(`Basic ${Buffer.from('wx-appid:s3cr3t-value').toString('base64')}`);
    const unicode = renderTemplate('${basic:key_1:key_2}', { key_1: 'ü', key_2: 'p:w' }, 'a');
    expect(Buffer.from(unicode, 'base64').toString('utf8')).to.equal('ü:p:w');
  });

  it('refuses a Basic user name containing ":"', () => {
    const err = appErrorOf(() =>
      renderTemplate('${basic:key_1:key_2}', { key_1: 'a:b', key_2: 'pw' }, 'Authorization'),
    );
    expect(err.code).to.equal('INVALID_ARGUMENT');
    expect(err.message).to.include('key_1').and.not.include('a:b');
  });

  it('reports a missing value naming the argument and the key, never a value', () => {
    const err = appErrorOf(() => renderTemplate('$key_1-$key_4', VALUES, 'secret'));
    expect(err.code).to.equal('INVALID_ARGUMENT');
    expect(err.status).to.equal(400);
    expect(err.message).to.include('"secret"').and.include('key_4');
    expect(err.message).to.not.include('wx-appid');
    expect(err.details).to.deep.include({ argument: 'secret', key: 'key_4' });
  });

  it('treats an empty value as missing', () => {
    expect(appErrorOf(() => renderTemplate('$key_2', { key_2: '' }, 'b')).message).to.include('key_2');
    expect(missingKeys('$key_1 ${key_2} ${basic:key_3:key_1}', { key_1: 'x', key_2: '' })).to.deep.equal([
      'key_2',
      'key_3',
    ]);
  });

  it('does not read inherited properties as values', () => {
    const values = Object.create({ key_1: 'inherited' }) as Record<string, string>;
    expect(appErrorOf(() => renderTemplate('$key_1', values, 'a')).message).to.include('key_1');
  });

  it('reports malformed references', () => {
    for (const bad of [
      '$key_0',
      '$key_10',
      '$key_',
      '$key_x',
      '${key_10}',
      '${key_1',
      '${foo}',
      '${basic:key_1}',
      '${ key_1 }',
    ]) {
      expect(templateProblem(bad), bad).to.be.a('string');
      expect(() => parseTemplate(bad), bad).to.throw();
      expect(appErrorOf(() => renderTemplate(bad, VALUES, 'arg')).code, bad).to.equal('INVALID_ARGUMENT');
    }
    for (const good of [
      '$key_1',
      '${key_9}',
      'x$key_9y',
      '${basic:key_1:key_9}',
      '$',
      '$$',
      '${}x'.slice(3),
    ]) {
      expect(templateProblem(good), good).to.equal(undefined);
    }
  });

  it('lists referenced keys once, in order of appearance', () => {
    expect(templateKeys('$key_3 ${key_1} $key_3 ${basic:key_2:key_1}')).to.deep.equal([
      'key_3',
      'key_1',
      'key_2',
    ]);
    expect(templateKeys('literal')).to.deep.equal([]);
  });
});
