import { expect } from 'chai';
import {
  LOGIC_CODE_TIMEOUT_MS,
  logicCodeConfig,
  warmConfigParser,
} from '../../../functions/providers/logic-code';

describe('providers/logic-code', () => {
  it("a logic_code realm's call is a POST of the secret's values as JSON to its token function", () => {
    const config = logicCodeConfig('https://fn.example.com/token', 'wx', 'main');
    expect(config.method).to.equal('POST');
    expect(config.timeout_ms).to.equal(LOGIC_CODE_TIMEOUT_MS);
    expect(config.arguments.map((a) => a.name)).to.include.members(['realm', 'key', 'key_1']);
  });

  it('warmConfigParser parses its config without throwing (engine.ts warmMissPath swallows a failure, so it is checked here)', () => {
    expect(() => warmConfigParser()).to.not.throw();
  });
});
