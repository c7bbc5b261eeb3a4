/**
 * Who may receive pushes at /events/{realm}/{key}: a secret whose realm references a pushed ticket
 * (`${ticket}`, engine/pushed-fetcher.ts) and that has the values the message format needs (key_1
 * the receiver id, key_3 the message token, key_4 the EncodingAESKey; for Feishu store apps the
 * app_id, the verification token and the optional Encrypt Key), and in which format: Feishu's JSON
 * (platforms/feishu/), DingTalk ISV suites' JSON (platforms/dingtalk-message.ts), else WXBizMsgCrypt's
 * XML (WeChat, WeCom). The event route is open to
 * the internet, so what it reads to find the keys is cached per instance: a realm and a secret are
 * read at most once a minute however often they are pushed to, an unknown realm or key at most
 * once per NEGATIVE_MS, and the cache is bounded (cleared when full). A changed message token or
 * EncodingAESKey is thus used within POSITIVE_MS on every instance.
 */
import { parseRealmConfig, realmIdSchema } from '../providers/realm-config';
import { usesPushedTicket } from '../engine/pushed-fetcher';
import type { Store } from '../store/store';
import { secretDocId } from '../store/store';
import { isFeishuStore } from './feishu/realm';
import { freshnessOf } from './freshness-table';
import { aesKeyOf } from './wxbizmsgcrypt';

/** The message format a realm's pushes come in (Feishu store apps: platforms/feishu/). */
export type PushFormat = 'wxbizmsgcrypt' | 'feishu' | 'dingtalk_json';
export type MessageFormat = PushFormat;

export interface PushReceiver {
  format: PushFormat;
  /** The receiver id messages must carry (WeChat: the component appid). */
  receiverId: string;
  token: string;
  /** WXBizMsgCrypt's EncodingAESKey, or Feishu's Encrypt Key ('' when the app sends plain JSON). */
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
    const realmEntry = this.realms.get(realm);
    if (realmEntry !== undefined && realmEntry.until > t && realmEntry.receiver === null) return null;
    const id = secretDocId(realm, key);
    const cached = this.secrets.get(id);
    if (cached !== undefined && cached.until > t) return cached.receiver;
    let format = realmEntry?.receiver?.format;
    if (realmEntry === undefined || realmEntry.until <= t) {
      format = await this.realmTakesPushes(store, realm);
      this.put(this.realms, realm, format === undefined ? null : { ...PLACEHOLDER, format }, t);
    }
    if (format === undefined) return null;
    const secret = await store.getSecret(realm, key);
    const v = secret?.values ?? {};
    const receiver =
      v.key_1 === undefined || v.key_3 === undefined
        ? null
        : format === 'feishu'
          ? { format, receiverId: v.key_1, token: v.key_3, encodingAesKey: v.key_4 ?? '' }
          : v.key_4 !== undefined && aesKeyOf(v.key_4) !== undefined
            ? { format, receiverId: v.key_1, token: v.key_3, encodingAesKey: v.key_4 }
            : null;
    this.put(this.secrets, id, receiver, t);
    return receiver;
  }

  /** The format of the realm's pushes, or undefined when it takes none. */
  private async realmTakesPushes(store: Store, realm: string): Promise<PushFormat | undefined> {
    const record = await store.getRealm(realm);
    if (record?.config === undefined) return undefined;
    try {
      const config = parseRealmConfig(record.config);
      if (!usesPushedTicket(config)) return undefined;
      if (isFeishuStore(config)) return 'feishu';
      return freshnessOf(config).preset === 'dingtalk_isv_suite' ? 'dingtalk_json' : 'wxbizmsgcrypt';
    } catch {
      return undefined;
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
