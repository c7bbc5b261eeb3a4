/** The master key list of TOKEN_SERVER_MASTER_KEY: one bare key, or id:key entries, the first current. */
import assert from 'node:assert/strict';
import { parseConfig } from '../../../functions/config';
import { resolveKeys } from '../../../functions/keys/keys';
import { parseMasterKeys } from '../../../functions/keys/master-keys';

const K1 = Buffer.alloc(32, 1);
const K2 = Buffer.alloc(32, 2);
const b64 = (k: Buffer): string => k.toString('base64');

describe('master key list', () => {
  it('reads a bare key (the single-key form) as the key default', () => {
    assert.deepEqual(parseMasterKeys(b64(K1)), { keys: [{ id: 'default', key: K1 }] });
  });

  it('reads id:key entries separated by commas, the first current, spaces around entries allowed', () => {
    assert.deepEqual(parseMasterKeys(`k2:${b64(K2)} , k1:${b64(K1)}`), {
      keys: [
        { id: 'k2', key: K2 },
        { id: 'k1', key: K1 },
      ],
    });
  });

  it('names a bare key in a list default, so the old key is kept by prepending the new one', () => {
    assert.deepEqual(parseMasterKeys(`k2:${b64(K2)},${b64(K1)}`), {
      keys: [
        { id: 'k2', key: K2 },
        { id: 'default', key: K1 },
      ],
    });
  });

  it('refuses bad ids, short keys and duplicate ids by entry, never quoting a key', () => {
    const short = Buffer.alloc(16, 3).toString('base64');
    const cases: Array<[string, RegExp]> = [
      [`k.2:${b64(K2)},k1:${b64(K1)}`, /^entry 1 of the key list: the id must be/],
      [
        `k2:${b64(K2)},k1:${short}`,
        /^entry 2 of the key list \(id k1\): the key must be the base64 encoding of exactly 32 bytes/,
      ],
      [`k1:${b64(K2)},k1:${b64(K1)}`, /^entry 2 of the key list: the id k1 is given twice/],
      [`${b64(K2)},${b64(K1)}`, /^entry 2 of the key list: the id default is given twice/],
      [`k2:${b64(K2)},`, /^entry 2 of the key list \(id default\): the key must be/],
      [short, /^must be the base64 encoding of exactly 32 bytes/],
    ];
    for (const [text, expected] of cases) {
      const problem = parseMasterKeys(text).problem ?? '';
      assert.match(problem, expected, text);
      assert.ok(!problem.includes(b64(K1)) && !problem.includes(b64(K2)) && !problem.includes(short));
    }
  });

  it('is what TOKEN_SERVER_MASTER_KEY accepts, and resolveKeys answers the list with the current key', async () => {
    const env = { TOKEN_SERVER_MASTER_KEY: `new:${b64(K2)},default:${b64(K1)}` };
    const keys = await resolveKeys(parseConfig(env), {
      readSecret: () => Promise.reject(new Error('not called')),
    });
    assert.deepEqual(keys.masterKey, K2);
    assert.deepEqual(
      keys.masterKeys?.map((k) => k.id),
      ['new', 'default'],
    );
    assert.throws(
      () => parseConfig({ TOKEN_SERVER_MASTER_KEY: `new:${b64(K2)},new:${b64(K1)}` }),
      /TOKEN_SERVER_MASTER_KEY: entry 2 of the key list: the id new is given twice/,
    );
  });
});
