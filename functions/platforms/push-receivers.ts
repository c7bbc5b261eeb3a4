/**
 * Who may receive pushes at /events/{realm}/{key}: a secret whose realm references a pushed ticket
 * (`${ticket}`, engine/pushed-fetcher.ts) and that has the values the message format needs (key_1
 * the receiver id, key_3 the message token, key_4 the EncodingAESKey), and in which format: DingTalk
 * ISV suites' JSON (platforms/dingtalk-message.ts), else WXBizMsgCrypt's XML (WeChat, WeCom). The event route is open to
 * the internet, so what it reads to find the keys is cached per instance: a realm and a secret are
 * read at most once a minute however often they are pushed to, an unknown realm or key at most
 * once per NEGATIVE_MS, and the cache is bounded (cleared when full). A changed message token or
 * EncodingAESKey is thus used within POSITIVE_MS on every instance.
 */
import { parseRealmConfig, realmIdSchema } from '../providers/realm-config';
import { usesPushedTicket } from '../engine/pushed-fetcher';
import type { Store } from '../store/store';
import { secretDocId } from '../store/store';
import { freshnessOf } from './ticket-freshness';
import { aesKeyOf } from './wxbizmsgcrypt';

/** The message format of a platform: WeChat's XML (also WeCom's), or DingTalk's JSON. */
export type MessageFormat = 'wxbizmsgcrypt' | 'dingtalk_json';

export interface PushReceiver {
  format: MessageFormat;
  /** The receiver id messages must carry (WeChat: the component appid). */
  receiverId: string;
  token: string;
  encodingAesKey: string;
}

const POSITIVE_MS = 60_000;
const NEGATIVE_MS = 10_000;
const MAX_ENTRIES = 2_000;

interface Entry {
  receiver: PushReceiver | null;
  until: number;
}

export class PushReceivers {
  private readonly secrets = new Map<string, Entry>();
  /** Realms that do not take pushes (or do not exist): true while cached. */
  private readonly realms = new Map<string, Entry>();

  /**
   * The keys of realm/key's messages, or null when it takes no pushes (or does not exist). `t`: the
   * instance's clock (cache ages only).
   */
  async get(store: Store, realm: string, key: string, t: number): Promise<PushReceiver | null> {
    if (!realmIdSchema.safeParse(realm).success || !realmIdSchema.safeParse(key).success) return null;
    let realmEntry = this.realms.get(realm);
    if (realmEntry !== undefined && realmEntry.until > t && realmEntry.receiver === null) return null;
    const id = secretDocId(realm, key);
    const cached = this.secrets.get(id);
    if (cached !== undefined && cached.until > t) return cached.receiver;
    if (realmEntry === undefined || realmEntry.until <= t) {
      const format = await this.realmFormat(store, realm);
      realmEntry = this.put(this.realms, realm, format === null ? null : { ...PLACEHOLDER, format }, t);
      if (format === null) return null;
    }
    const format = realmEntry.receiver?.format ?? 'wxbizmsgcrypt';
    const secret = await store.getSecret(realm, key);
    const v = secret?.values ?? {};
    const receiver =
      v.key_1 !== undefined &&
      v.key_3 !== undefined &&
      v.key_4 !== undefined &&
      aesKeyOf(v.key_4) !== undefined
        ? { format, receiverId: v.key_1, token: v.key_3, encodingAesKey: v.key_4 }
        : null;
    this.put(this.secrets, id, receiver, t);
    return receiver;
  }

  /** The realm's message format, or null when it takes no pushes. */
  private async realmFormat(store: Store, realm: string): Promise<MessageFormat | null> {
    const record = await store.getRealm(realm);
    if (record?.config === undefined) return null;
    try {
      const config = parseRealmConfig(record.config);
      if (!usesPushedTicket(config)) return null;
      return freshnessOf(config).preset === 'dingtalk_isv_suite' ? 'dingtalk_json' : 'wxbizmsgcrypt';
    } catch {
      return null;
    }
  }

  private put(map: Map<string, Entry>, id: string, receiver: PushReceiver | null, t: number): Entry {
    if (map.size >= MAX_ENTRIES) map.clear();
    const entry = { receiver, until: t + (receiver === null ? NEGATIVE_MS : POSITIVE_MS) };
    map.set(id, entry);
    return entry;
  }
}

/** A realm entry's "takes pushes" marker (realm entries carry no keys). */
const PLACEHOLDER: PushReceiver = { format: 'wxbizmsgcrypt', receiverId: '', token: '', encodingAesKey: '' };
