/**
 * DingTalk's JSON callback format, both ways against node:crypto directly: the module reads what the
 * test encrypts and signs by hand, and the test decrypts the module's encrypted `success`. Every
 * tampering is refused; a refused-ticket answer is recognised as TICKET_STALE material.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import {
  dingtalkEncrypt,
  dingtalkQuery,
  dingtalkSuccess,
  DingtalkRejected,
  readDingtalkMessage,
} from '../../../functions/platforms/dingtalk-message';
import { MessageRejected } from '../../../functions/platforms/wxbizmsgcrypt';
import { namesStaleTicket } from '../../../functions/engine/parent-ticket';
import { ProviderFailure } from '../../../functions/providers/failure';

const aesKey = randomBytes(32).toString('base64').slice(0, 43);
const key = Buffer.from(`${aesKey}=`, 'base64');
const keys = { token: 'callback-token-1', encodingAesKey: aesKey, receiverId: 'suitekey123' };

function sha1(parts: string[]): string {
  return createHash('sha1')
    .update([...parts].sort().join(''))
    .digest('hex');
}

/** DingTalk's encryption, written out: random(16) ‖ len ‖ msg ‖ receiver, PKCS#7 to 32, AES-256-CBC. */
function encryptByHand(msg: string, receiver: string): string {
  const body = Buffer.from(msg);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const plain = Buffer.concat([randomBytes(16), len, body, Buffer.from(receiver)]);
  const pad = 32 - (plain.length % 32);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([
    cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])),
    cipher.final(),
  ]).toString('base64');
}

function decryptByHand(encrypt: string): { msg: string; receiver: string } {
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(encrypt, 'base64')), decipher.final()]);
  const content = plain.subarray(0, plain.length - (plain[plain.length - 1] ?? 0));
  const len = content.readUInt32BE(16);
  return {
    msg: content.subarray(20, 20 + len).toString(),
    receiver: content.subarray(20 + len).toString(),
  };
}

describe('DingTalk callback messages', () => {
  const event = {
    EventType: 'suite_ticket',
    SuiteKey: 'suitekey123',
    SuiteTicket: 'tkt-abc',
    TimeStamp: 1800000000123,
  };
  const encrypt = encryptByHand(JSON.stringify(event), keys.receiverId);
  const timestamp = '1800000000456';
  const nonce = 'n0nce';
  const query = { signature: sha1([keys.token, timestamp, nonce, encrypt]), timestamp, nonce };

  it('reads a message signed and encrypted by hand: EventType as InfoType, numbers as text', () => {
    const q = dingtalkQuery(query);
    expect(q.timestampMs).to.equal(1800000000456);
    expect(dingtalkQuery({ ...query, timestamp: '1800000000' }).timestampMs).to.equal(1800000000000);
    const fields = readDingtalkMessage(keys, q, dingtalkEncrypt(JSON.stringify({ encrypt })));
    expect(fields.InfoType).to.equal('suite_ticket');
    expect(fields.SuiteTicket).to.equal('tkt-abc');
    expect(fields.TimeStamp).to.equal('1800000000123');
  });

  it('refuses a forged signature, another receiver, a changed query and bodies that are not its JSON', () => {
    const q = dingtalkQuery(query);
    expect(() => readDingtalkMessage({ ...keys, token: 'other' }, q, encrypt)).to.throw(MessageRejected);
    expect(() => readDingtalkMessage({ ...keys, receiverId: 'suiteother' }, q, encrypt)).to.throw(
      MessageRejected,
    );
    expect(() => readDingtalkMessage(keys, dingtalkQuery({ ...query, nonce: 'x' }), encrypt)).to.throw(
      MessageRejected,
    );
    expect(() => dingtalkEncrypt('<xml/>')).to.throw(DingtalkRejected);
    expect(() => dingtalkEncrypt('{"encrypt": 5}')).to.throw(DingtalkRejected);
    expect(() => dingtalkQuery({ ...query, signature: 'zz' })).to.throw(DingtalkRejected);
  });

  it('answers an encrypted success that node:crypto decrypts, signed with the token', () => {
    const reply = dingtalkSuccess(keys, 1800000000789);
    expect(reply.timeStamp).to.equal('1800000000789');
    expect(reply.msg_signature).to.equal(sha1([keys.token, reply.timeStamp, reply.nonce, reply.encrypt]));
    expect(decryptByHand(reply.encrypt)).to.deep.equal({ msg: 'success', receiver: keys.receiverId });
  });

  it('counts an answer that names the ticket (or a known code) as a stale ticket, nothing else', () => {
    const failure = (providerCode: string, providerMessage?: string): ProviderFailure =>
      new ProviderFailure({
        kind: 'permanent',
        message: 'refused',
        providerCode,
        ...(providerMessage === undefined ? {} : { providerMessage }),
      });
    expect(namesStaleTicket(failure('InvalidSuiteTicket'))).to.equal(true);
    expect(namesStaleTicket(failure('400', 'suiteTicket is invalid'))).to.equal(true);
    expect(namesStaleTicket(failure('40085'))).to.equal(true);
    expect(namesStaleTicket(failure('InvalidAuthCorpId', 'the corp has not authorized'))).to.equal(false);
    expect(namesStaleTicket(new Error('ticket'))).to.equal(false);
  });
});
