/** Argument syntax: --arg, --scope, --success-value and credentials from stdin or the environment. */
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { CliError } from '../../../cli/errors';
import {
  credentialsFromEnv,
  parseArgSpec,
  parseCredentialsText,
  parseScalar,
  parseScope,
  positiveInt,
} from '../../../cli/parse';

describe('tokenctl argument parsing', () => {
  it('--arg NAME=PLACE:VALUE: name to the first =, place to the next :, value the rest', () => {
    assert.deepEqual(parseArgSpec('appid=url:$key_1'), { name: 'appid', place: 'url', value: '$key_1' });
    assert.deepEqual(parseArgSpec('Authorization=header:Basic ${key_1}:${key_2}'), {
      name: 'Authorization',
      place: 'header',
      value: 'Basic ${key_1}:${key_2}',
    });
    assert.deepEqual(parseArgSpec('q=body:a=b'), { name: 'q', place: 'body', value: 'a=b' });
    for (const bad of ['appid', '=url:x', 'appid=url', 'appid=cookie:x', 'appid=url:']) {
      assert.throws(() => parseArgSpec(bad), CliError, bad);
    }
    // A literal credential where a place or a value was expected is never repeated.
    for (const bad of ['client_secret=S3cr3tLiteral:x', 'S3cr3tLiteral', 'a b=url:', 'x=S3cr3tLiteral:']) {
      assert.throws(
        () => parseArgSpec(bad),
        (err: unknown) => err instanceof CliError && !err.message.includes('S3cr3tLiteral'),
        bad,
      );
    }
  });

  it('--scope REALM/KEY with * for every key', () => {
    assert.deepEqual(parseScope('wxgzh/main'), { realm: 'wxgzh', key: 'main' });
    assert.deepEqual(parseScope('wxgzh/*'), { realm: 'wxgzh', key: '*' });
    for (const bad of ['wxgzh', 'a/b/c', '/k', 'r/', '*/k', 'r/k*']) {
      assert.throws(() => parseScope(bad), InvalidArgumentError, bad);
    }
  });

  it('--success-value: JSON scalars as such, other text as a string', () => {
    assert.equal(parseScalar('0'), 0);
    assert.equal(parseScalar('"0"'), '0');
    assert.equal(parseScalar('ok'), 'ok');
    assert.equal(parseScalar('true'), true);
    assert.equal(parseScalar('[1]'), '[1]');
  });

  it('positive whole numbers', () => {
    assert.equal(positiveInt('25'), 25);
    for (const bad of ['0', '-1', '1.5', 'ten', ''])
      assert.throws(() => positiveInt(bad), InvalidArgumentError);
  });

  it('credentials from stdin: lines or JSON; errors never contain a value', () => {
    assert.deepEqual(parseCredentialsText('key_1=a=b\nkey_2= spaced \n'), {
      key_1: 'a=b',
      key_2: ' spaced ',
    });
    assert.deepEqual(parseCredentialsText(' {"key_9": "x"}\n'), { key_9: 'x' });
    const secret = 'do-not-print-me';
    for (const text of [
      `key_1 ${secret}`,
      `{"key_1": "${secret}",}`,
      `{"other": "${secret}"}`,
      `key_10=${secret}`,
    ]) {
      assert.throws(
        () => parseCredentialsText(text),
        (err: unknown) => err instanceof CliError && err.exitCode === 2 && !err.message.includes(secret),
        text,
      );
    }
  });

  it('credentials from TOKENCTL_KEY_1..9', () => {
    assert.deepEqual(credentialsFromEnv({ TOKENCTL_KEY_2: 'b', TOKENCTL_KEY_1: 'a', OTHER: 'x' }), {
      key_1: 'a',
      key_2: 'b',
    });
    assert.throws(() => credentialsFromEnv({}), CliError);
  });
});
