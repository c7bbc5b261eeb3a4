/**
 * A platform secret's realm of customers (platforms/authorizer-realm.ts): `authorizer_realm`, or a
 * WeCom/DingTalk suite's older key_5, and the errors that name the value when it is missing.
 */
import { expect } from 'chai';
import {
  authorizerRealmOf,
  requireAuthorizerRealm,
  requireTenantRealm,
} from '../../../functions/platforms/authorizer-realm';
import type { SecretRecord } from '../../../functions/store/types';

function secret(values: Record<string, string>): SecretRecord {
  return { realm: 'platform', key: 'main', values, rev: 'r1', createdAt: 0, updatedAt: 0 };
}

describe('platform realm of customers (authorizer-realm.ts)', () => {
  it('reads authorizer_realm; key_5 only as a suite’s older spelling', () => {
    expect(authorizerRealmOf(secret({ authorizer_realm: 'auths' }))).to.equal('auths');
    expect(authorizerRealmOf(secret({ key_5: 'corps' }))).to.equal(undefined);
    expect(authorizerRealmOf(secret({ key_5: 'corps' }), true)).to.equal('corps');
    expect(authorizerRealmOf(secret({ authorizer_realm: 'auths', key_5: 'corps' }), true)).to.equal('auths');
  });

  it('a WeChat component without a usable authorizer_realm is a 400 naming it', () => {
    expect(requireAuthorizerRealm(secret({ authorizer_realm: 'auths' }))).to.equal('auths');
    const missing: Array<Record<string, string>> = [
      {},
      { authorizer_realm: 'not a realm id' },
      { key_5: 'corps' },
    ];
    for (const values of missing) {
      expect(() => requireAuthorizerRealm(secret(values)))
        .to.throw(/has no authorizer_realm/)
        .with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('a suite without a usable realm of companies is NOT_READY naming key_5', () => {
    expect(requireTenantRealm(secret({ key_5: 'corps' }))).to.equal('corps');
    expect(requireTenantRealm(secret({ authorizer_realm: 'corps2' }))).to.equal('corps2');
    expect(() => requireTenantRealm(secret({ key_5: 'bad id!' })))
      .to.throw(/names no authorizer realm \(key_5\)/)
      .with.property('code', 'NOT_READY');
  });
});
