/**
 * WXBizMsgCrypt both ways against vectors this test builds itself with node:crypto (the layout
 * written out here byte by byte, independently of the module): the module decrypts what the test
 * encrypts, and the test decrypts what the module encrypts. Every tampering is refused.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import {
  aesKeyOf,
  decryptMessage,
  encryptMessage,
  MessageRejected,
  msgSignature,
  verifyAndDecrypt,
} from '../../../functions/platforms/wxbizmsgcrypt';
import { readXmlMessage, XmlRejected } from '../../../functions/platforms/xml-message';

const KEY_BYTES = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff));
/** 43 characters: the base64 of the 32 bytes without its final "=". */
const ENCODING_AES_KEY = KEY_BYTES.toString('base64').slice(0, 43);
const APPID = 'wxcomponent0001';

/** The test's own encryption: 16 random bytes, uint32 BE length, message, receiver, PKCS#7 to 32. */
function testEncrypt(message: string, receiver: string, random = randomBytes(16), padBlock = 32): string {
  const msg = Buffer.from(message, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(msg.length);
  const plain = Buffer.concat([random, len, msg, Buffer.from(receiver, 'utf8')]);
  const pad = padBlock - (plain.length % padBlock);
  const c = createCipheriv('aes-256-cbc', KEY_BYTES, KEY_BYTES.subarray(0, 16));
  c.setAutoPadding(false);
  return Buffer.concat([c.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), c.final()]).toString(
    'base64',
  );
}

function testDecrypt(encrypt: string): { random: Buffer; message: string; receiver: string; pad: number } {
  const d = createDecipheriv('aes-256-cbc', KEY_BYTES, KEY_BYTES.subarray(0, 16));
  d.setAutoPadding(false);
  const plain = Buffer.concat([d.update(Buffer.from(encrypt, 'base64')), d.final()]);
  const pad = plain[plain.length - 1] ?? 0;
  const body = plain.subarray(0, plain.length - pad);
  const len = body.readUInt32BE(16);
  return {
    random: body.subarray(0, 16),
    message: body.subarray(20, 20 + len).toString('utf8'),
    receiver: body.subarray(20 + len).toString('utf8'),
    pad,
  };
}

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof MessageRejected) return err.reason;
    throw err;
  }
  return 'accepted';
}

describe('WXBizMsgCrypt', () => {
  const message =
    '<xml><AppId><![CDATA[wxcomponent0001]]></AppId><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@票据]]></ComponentVerifyTicket></xml>';

  it('derives the key as base64(EncodingAESKey + "=") and refuses other lengths', () => {
    expect(aesKeyOf(ENCODING_AES_KEY)?.equals(KEY_BYTES)).to.equal(true);
    expect(aesKeyOf(ENCODING_AES_KEY.slice(1))).to.equal(undefined);
    expect(aesKeyOf(`${ENCODING_AES_KEY.slice(1)}!`)).to.equal(undefined);
  });

  it('decrypts what the test encrypts (several lengths, multi-byte text)', () => {
    for (const m of ['', 'a', message, 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(1000)]) {
      expect(decryptMessage(ENCODING_AES_KEY, testEncrypt(m, APPID), APPID)).to.equal(m);
    }
  });

  it('encrypts what the test decrypts: layout, random prefix, 32-byte padding', () => {
    const random = Buffer.alloc(16, 9);
    const out = testDecrypt(encryptMessage(ENCODING_AES_KEY, message, APPID, random));
    expect(out.message).to.equal(message);
    expect(out.receiver).to.equal(APPID);
    expect(out.random.equals(random)).to.equal(true);
    expect(out.pad).to.be.within(1, 32);
    // Same inputs with the same random prefix give the test's own bytes exactly.
    expect(encryptMessage(ENCODING_AES_KEY, message, APPID, random)).to.equal(
      testEncrypt(message, APPID, random),
    );
  });

  it('signs the sorted, concatenated four strings with SHA-1', () => {
    const parts = ['tok', '1700000000', 'nonce1', 'ENC'];
    const want = createHash('sha1')
      .update([...parts].sort().join(''))
      .digest('hex');
    expect(msgSignature('tok', '1700000000', 'nonce1', 'ENC')).to.equal(want);
  });

  it('verifies the signature before decrypting, and refuses every tampering', () => {
    const creds = { token: 'msgtoken', encodingAesKey: ENCODING_AES_KEY, receiverId: APPID };
    const encrypt = testEncrypt(message, APPID);
    const q = {
      timestamp: '1700000000',
      nonce: 'n1',
      msgSignature: msgSignature('msgtoken', '1700000000', 'n1', encrypt),
    };
    expect(verifyAndDecrypt(creds, q, encrypt)).to.equal(message);
    expect(verifyAndDecrypt(creds, { ...q, msgSignature: q.msgSignature.toUpperCase() }, encrypt)).to.equal(
      message,
    );
    expect(reason(() => verifyAndDecrypt(creds, { ...q, nonce: 'n2' }, encrypt))).to.equal('signature');
    expect(reason(() => verifyAndDecrypt({ ...creds, token: 'other' }, q, encrypt))).to.equal('signature');
    expect(reason(() => verifyAndDecrypt(creds, { ...q, msgSignature: '' }, encrypt))).to.equal('signature');
    // Another receiver id (a message for another platform, correctly signed).
    const other = testEncrypt(message, 'wxother');
    const qo = { ...q, msgSignature: msgSignature('msgtoken', q.timestamp, q.nonce, other) };
    expect(reason(() => verifyAndDecrypt(creds, qo, other))).to.equal('receiver');
    // Bad padding (a 16-byte PKCS#7 block where 32 is required still decrypts only if the pad byte fits).
    const bytes = Buffer.from(encrypt, 'base64');
    expect(
      reason(() =>
        decryptMessage(ENCODING_AES_KEY, bytes.subarray(0, bytes.length - 1).toString('base64'), APPID),
      ),
    ).to.equal('ciphertext');
    expect(reason(() => decryptMessage(ENCODING_AES_KEY, '', APPID))).to.equal('ciphertext');
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 0xff;
    expect(reason(() => decryptMessage(ENCODING_AES_KEY, flipped.toString('base64'), APPID))).to.be.oneOf([
      'padding',
      'length',
      'receiver',
    ]);
    expect(reason(() => decryptMessage('short', encrypt, APPID))).to.equal('key');
  });
});

describe('readXmlMessage', () => {
  it('reads the root text fields, CDATA or not', () => {
    const f = readXmlMessage(
      '<xml><AppId><![CDATA[wx1]]></AppId><CreateTime>1700000000</CreateTime><Encrypt><![CDATA[a+b/c=]]></Encrypt></xml>',
      4096,
    );
    expect({ ...f }).to.deep.equal({ AppId: 'wx1', CreateTime: '1700000000', Encrypt: 'a+b/c=' });
  });

  it('refuses DOCTYPE and entity declarations, leaves entities unexpanded, and caps size and depth', () => {
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><xml><E>&b;</E></xml>';
    expect(() => readXmlMessage(bomb, 4096)).to.throw(XmlRejected, /DOCTYPE/);
    expect(readXmlMessage('<xml><E>&amp;lt;</E></xml>', 4096).E).to.equal('&amp;lt;');
    expect(() => readXmlMessage(`<xml><E>${'a'.repeat(5000)}</E></xml>`, 4096)).to.throw(
      XmlRejected,
      /too large/,
    );
    expect(() => readXmlMessage(`${'<a>'.repeat(50)}${'</a>'.repeat(50)}`, 4096)).to.throw(XmlRejected);
    expect(() => readXmlMessage('<xml><E>unclosed</xml>', 4096)).to.throw(XmlRejected);
    expect(() => readXmlMessage('<other><E>x</E></other>', 4096)).to.throw(XmlRejected, /root/);
  });

  it('leaves out nested and repeated fields, so a field is a string or absent', () => {
    const f = readXmlMessage('<xml><A><B>x</B></A><C>1</C><C>2</C><D>ok</D></xml>', 4096);
    expect(f.A).to.equal(undefined);
    expect(f.C).to.equal(undefined);
    expect(f.D).to.equal('ok');
  });
});
