/**
 * Feishu/Lark event callbacks, both ways with node:crypto: what the fake encrypts the reader
 * decrypts, and what the module encrypts a plain AES-256-CBC (key SHA-256(Encrypt Key), IV the first
 * 16 bytes) decrypts; the signature header, the verification token (schema 1.0 and 2.0), the app_id,
 * and the refusal of a plain body when an Encrypt Key is set.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { expect } from 'chai';
import {
  decryptEvent,
  encryptEvent,
  eventSignature,
  FeishuRejected,
} from '../../../functions/platforms/feishu/crypto';
import { readFeishuMessage, type FeishuReceiverKeys } from '../../../functions/platforms/feishu/message';

const KEYS: FeishuReceiverKeys = {
  appId: 'cli_unit',
  verificationToken: 'verify-unit',
  encryptKey: 'encrypt-unit',
};

function signed(
  body: string,
  timestamp = '1700000000',
  nonce = 'n1',
  key = KEYS.encryptKey!,
): Record<string, string> {
  return {
    'x-lark-request-timestamp': timestamp,
    'x-lark-request-nonce': nonce,
    'x-lark-signature': eventSignature(timestamp, nonce, key, body),
  };
}

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof FeishuRejected) return err.reason;
    throw err;
  }
  return '(accepted)';
}

describe('Feishu event format', () => {
  it('encrypts as Feishu does: a plain AES-256-CBC with SHA-256(key) and the leading IV decrypts it', () => {
    const text = JSON.stringify({ hello: 'world' });
    const data = Buffer.from(encryptEvent('k', text), 'base64');
    const key = createHash('sha256').update('k').digest();
    const decipher = createDecipheriv('aes-256-cbc', key, data.subarray(0, 16));
    expect(Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]).toString()).to.equal(text);
    expect(decryptEvent('k', encryptEvent('k', text))).to.equal(text);
    expect(reason(() => decryptEvent('other', encryptEvent('k', text)))).to.be.oneOf([
      'ciphertext',
      '(accepted)',
    ]);
  });

  it('reads a signed, encrypted app_ticket (schema 1.0) and its time', () => {
    const event = {
      ts: '1700000000.5',
      uuid: 'u1',
      token: KEYS.verificationToken,
      type: 'event_callback',
      event: { app_id: 'cli_unit', type: 'app_ticket', app_ticket: 'T1' },
    };
    const body = JSON.stringify({ encrypt: encryptEvent(KEYS.encryptKey!, JSON.stringify(event)) });
    const m = readFeishuMessage(KEYS, body, signed(body));
    expect(m).to.deep.equal({
      kind: 'event',
      type: 'app_ticket',
      id: 'u1',
      timeMs: 1_700_000_000_000,
      appTicket: 'T1',
      tenantKey: undefined,
    });
  });

  it('reads schema 2.0 (header.token, header.event_type, create_time in ms) in plain JSON', () => {
    const keys = { ...KEYS, encryptKey: undefined };
    const body = JSON.stringify({
      schema: '2.0',
      header: {
        event_id: 'e2',
        token: KEYS.verificationToken,
        create_time: '1700000000123',
        event_type: 'app_open',
        app_id: 'cli_unit',
        tenant_key: 'tk1',
      },
      event: {},
    });
    const m = readFeishuMessage(keys, body, {});
    expect(m).to.deep.include({
      kind: 'event',
      type: 'app_open',
      id: 'e2',
      timeMs: 1_700_000_000_123,
      tenantKey: 'tk1',
    });
  });

  it('answers url_verification (encrypted, unsigned) only with the right token', () => {
    const challenge = JSON.stringify({
      challenge: 'c1',
      token: KEYS.verificationToken,
      type: 'url_verification',
    });
    const body = JSON.stringify({ encrypt: encryptEvent(KEYS.encryptKey!, challenge) });
    expect(readFeishuMessage(KEYS, body, {})).to.deep.equal({ kind: 'challenge', challenge: 'c1' });
    const wrong = JSON.stringify({
      encrypt: encryptEvent(KEYS.encryptKey!, challenge.replace(KEYS.verificationToken, 'nope')),
    });
    expect(reason(() => readFeishuMessage(KEYS, wrong, {}))).to.equal('token');
  });

  it('refuses a bad signature, a missing one, another app, a plain body with a key, and garbage', () => {
    const event = {
      ts: '1700000000',
      uuid: 'u3',
      token: KEYS.verificationToken,
      type: 'event_callback',
      event: { app_id: 'cli_unit', type: 'app_ticket', app_ticket: 'T' },
    };
    const body = JSON.stringify({ encrypt: encryptEvent(KEYS.encryptKey!, JSON.stringify(event)) });
    expect(reason(() => readFeishuMessage(KEYS, body, signed(body, '1700000000', 'n1', 'forged')))).to.equal(
      'signature',
    );
    expect(reason(() => readFeishuMessage(KEYS, body, {}))).to.equal('signature');
    expect(reason(() => readFeishuMessage(KEYS, `${body} `, signed(body)))).to.equal('signature');
    const other = JSON.stringify({
      encrypt: encryptEvent(
        KEYS.encryptKey!,
        JSON.stringify({ ...event, event: { ...event.event, app_id: 'cli_other' } }),
      ),
    });
    expect(reason(() => readFeishuMessage(KEYS, other, signed(other)))).to.equal('app_id');
    expect(reason(() => readFeishuMessage(KEYS, JSON.stringify(event), {}))).to.equal(
      'plain body with an Encrypt Key',
    );
    expect(reason(() => readFeishuMessage(KEYS, '[1]', {}))).to.equal('body');
    expect(reason(() => readFeishuMessage(KEYS, '{"encrypt":"!!"}', {}))).to.equal('ciphertext');
  });
});
