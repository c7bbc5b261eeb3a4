import { expect } from 'chai';
import { ProviderFailure } from '../../../functions/providers/failure';
import {
  cleanProviderText,
  credentialMaterial,
  MIN_FRAGMENT,
  redactorOf,
} from '../../../functions/providers/redact';
import { parseRealmConfig } from '../../../functions/providers/realm-config';

const SECRET = 'Sx9"q\\w\tE/rT+y%U&é=io-PLMnb';

function runs(value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + MIN_FRAGMENT <= value.length; i++) out.push(value.slice(i, i + MIN_FRAGMENT));
  return out;
}

describe('providers/redact', () => {
  const redact = redactorOf([SECRET]);

  it('blanks a credential in every spelling a request carries it', () => {
    const json = JSON.stringify(SECRET).slice(1, -1);
    const spellings = [
      SECRET,
      encodeURIComponent(SECRET),
      encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
      new URLSearchParams({ v: SECRET }).toString().slice(2),
      json,
      json.replace(/\//g, '\\/'),
      json.replace(/é/g, '\\u00e9'),
      json.replace(/é/g, '\\u00E9'),
    ];
    for (const s of spellings) {
      const out = redact(`before ${s} after`);
      expect(out, s).to.equal('before **** after');
    }
  });

  it('blanks any run of 8 of its characters, alone or cut off, and leaves 7 alone', () => {
    for (const run of runs(SECRET)) expect(redact(`x ${run} y`), run).to.equal('x **** y');
    expect(redact(`cut ${SECRET.slice(0, 8)}`)).to.equal('cut ****');
    expect(redact(`seven ${SECRET.slice(2, 9)} ok`)).to.equal(`seven ${SECRET.slice(2, 9)} ok`);
  });

  it('redacts before cutting to 300 characters: a secret across the cut leaves no run behind', () => {
    const text = `${'e'.repeat(290)} ${SECRET}`;
    const clean = cleanProviderText(text, redact);
    for (const run of runs(SECRET)) expect(clean).to.not.include(run);
    expect(clean.startsWith('e'.repeat(290))).to.equal(true);
  });

  it('redacts before folding control characters (a TAB in a credential), and after', () => {
    const clean = cleanProviderText(`bad ${SECRET}\r\n`, redact);
    expect(clean).to.equal('bad ****');
    // Folding the TAB of an echo into a space must not rebuild a credential with a space in it.
    const spaced = redactorOf(['abcd efgh ijkl']);
    expect(cleanProviderText('x abcd\tefgh\nijkl y', spaced)).to.equal('x **** y');
  });

  it('cleans a failure once: code, message and the message that quotes them', () => {
    const f = new ProviderFailure({
      kind: 'permanent',
      message: `Upstream answered error code E-${SECRET} (bad ${SECRET}${'z'.repeat(400)})`,
      providerCode: `E-${SECRET}`,
      providerMessage: `bad ${SECRET}${'z'.repeat(400)}`,
    }).redacted((t, max) => cleanProviderText(t, redact, max));
    expect(f.providerCode).to.equal('E-****');
    expect(f.providerMessage?.startsWith('bad ****zzz')).to.equal(true);
    expect(f.providerMessage?.length).to.equal(301);
    expect(f.message).to.match(/^Upstream answered error code E-\*\*\*\* \(bad \*\*\*\*z+…\)$/);
    expect(JSON.stringify(f.toBody())).to.not.include(SECRET.slice(10, 18));
  });

  it("takes the realm's derived credentials (HTTP Basic blobs), and not public preset literals", () => {
    const config = parseRealmConfig({
      url: 'https://example.com/token',
      method: 'POST',
      content_type: 'form',
      arguments: [
        { name: 'Authorization', place: 'header', value: 'Basic ${basic:key_1:key_2}' },
        { name: 'grant_type', place: 'body', value: '$key_3' },
      ],
      token_path: 'access_token',
      expires_in_path: 'expires_in',
    });
    const material = credentialMaterial(config, {
      key_1: 'client-7',
      key_2: 'pass-word-9',
      key_3: 'client_credential',
    });
    expect(material).to.include(Buffer.from('client-7:pass-word-9').toString('base64'));
    expect(material).to.not.include('client_credential');
    expect(redactorOf(material)('invalid credential')).to.equal('invalid credential');
  });

  it('blanks short values only where they appear whole', () => {
    const short = redactorOf(['ab12x']);
    expect(short('id ab12x, ab12')).to.equal('id ****, ab12');
  });
});
