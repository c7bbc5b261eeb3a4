import { expect } from 'chai';
import { getPreset, PRESET_NAMES, presetConfig, presetList } from '../../../functions/providers/presets';
import { parseRealmConfig } from '../../../functions/providers/realm-config';
import {
  referencedKeys,
  requiredKeys,
  usesParent,
  usesParentToken,
} from '../../../functions/providers/realm-facts';
import { ProviderFailure } from '../../../functions/providers/failure';
import { extractToken } from '../../../functions/providers/extract';
import { SPEC_PRESET_NAMES } from '../../fakes/spec-presets';

describe('providers/presets', () => {
  it('has every preset SPEC §6 asks for', () => {
    expect(PRESET_NAMES).to.include.members([...SPEC_PRESET_NAMES]);
    expect(presetList().map((p) => p.name)).to.deep.equal([...PRESET_NAMES]);
  });

  it('each preset is a valid realm config whose keys are documented', () => {
    for (const preset of presetList()) {
      const config = parseRealmConfig(preset.config, `presets.${preset.name}`);
      expect(Object.keys(preset.keys), preset.name).to.deep.equal(referencedKeys(config));
      // A refresh-token secret may be a public client's (no client_secret); an authorizer's key_1 is its appid.
      const rotates = config.rotates !== undefined;
      if (preset.parent === undefined) {
        expect(requiredKeys(config), preset.name).to.include.members(
          rotates ? ['key_1'] : ['key_1', 'key_2'],
        );
        expect(usesParentToken(config), preset.name).to.equal(false);
      } else {
        // A ticket preset has no keys of its own; a tenant preset (wecom_suite_corp) has its own.
        expect(requiredKeys(config), preset.name).to.deep.equal(Object.keys(preset.keys));
        expect(usesParent(config), preset.name).to.equal(true);
      }
      expect(preset.comment, preset.name).to.not.equal('');
      expect(config.url.startsWith('https://'), preset.name).to.equal(true);
    }
  });

  it('carries the known refresh behaviour', () => {
    const wechat = presetConfig('wechat_offiaccount');
    expect(wechat?.invalidates_previous).to.equal(true);
    expect(wechat?.overlap_ms).to.equal(300_000);
    expect(wechat?.transient_error_values).to.deep.equal([-1]);
    expect(presetConfig('feishu_tenant')?.reissue_window_ms).to.equal(1_800_000);
    expect(presetConfig('wechat_stable')?.invalidates_previous).to.equal(false);
    expect(presetConfig('oauth2_client_credentials')?.default_expires_in).to.equal(3600);
    expect(presetConfig('oauth2_client_credentials_basic')?.content_type).to.equal('form');
    const stable = getPreset('wechat_stable');
    const force = (stable?.config.arguments as Array<{ name: string; value: unknown }>).find(
      (a) => a.name === 'force_refresh',
    );
    expect(force?.value).to.equal(false);
  });

  it('maps every IP allow-list code to the VPC connector + Cloud NAT hint', () => {
    const wechat = presetConfig('wechat_offiaccount');
    const wecom = presetConfig('wecom');
    if (wechat === undefined || wecom === undefined) return expect.fail('missing presets');
    for (const code of [40164, 89501, 89503, 89506, 89507]) {
      try {
        extractToken(wechat, 200, JSON.stringify({ errcode: code, errmsg: 'ip' }));
        expect.fail('expected a failure');
      } catch (err) {
        expect(err).to.be.instanceOf(ProviderFailure);
        expect((err as ProviderFailure).hint, String(code))
          .to.include('VPC')
          .and.include('Cloud NAT');
      }
    }
    expect(wecom.error_hints['60020']).to.include('Cloud NAT');
  });

  it('hands out copies', () => {
    const a = getPreset('wecom');
    if (a === undefined) return expect.fail('missing preset');
    a.config.url = 'https://changed.example.com/';
    expect(getPreset('wecom')?.config.url).to.equal('https://qyapi.weixin.qq.com/cgi-bin/gettoken');
    expect(getPreset('nope')).to.equal(undefined);
    expect(presetConfig('nope')).to.equal(undefined);
  });
});
