/**
 * The reseal's vocabulary (store/reseal.ts), apart so that the store interface (store.ts) and the
 * codec (codec.ts) can name it without importing the reseal, which imports them.
 */

/** The collections whose documents hold sealed values (store.ts COLLECTIONS.secrets and .tokens). */
export type SealedCollection = 'secrets' | 'tokens';

/** The field naming the key a document's value is sealed under. */
export const SEALED_WITH = 'sealedWith';

/** Where a reseal continues: a collection, after a document id of it (from its start when absent). */
export interface ResealPosition {
  collection: SealedCollection;
  after?: string;
}

export interface ResealPage {
  /** Documents looked at by this page. */
  scanned: number;
  /** Values opened and sealed again under the current key. */
  resealed: number;
  /** Values under a key that is not configured (they stay as they are, and keep counting). */
  unreadable: number;
  /** Documents written (resealed, or only given their `sealedWith` marker). */
  written: number;
  /** Where the next page starts; absent when every document has been looked at. */
  next?: ResealPosition;
}

/** Sealed values per key id (documents written before key ids count under `default`). */
export type SealedCounts = Record<string, number>;
