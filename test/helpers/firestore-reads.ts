/**
 * Counts the document reads this process makes through the Firestore client, as Firestore bills
 * them, below the store (so a store that scanned more than it returned would be caught): every
 * document fetched by id is 1 read (a missing one too), a query is 1 per document returned (at least
 * 1), a count() aggregation 1 per 1,000 entries counted (at least 1). It wraps the client's internal
 * read paths (DocumentReader, Query and AggregateQuery `_get`), which every get, getAll,
 * transaction read and query goes through.
 */
import type { Firestore } from 'firebase-admin/firestore';
import { Query } from 'firebase-admin/firestore';

type AsyncMethod = (this: unknown, ...args: unknown[]) => Promise<unknown>;

export interface ReadCounter {
  readonly reads: number;
  reset(): void;
  /** Puts the client's methods back. */
  restore(): void;
}

function wrap(
  proto: Record<string, unknown>,
  name: string,
  cost: (result: unknown) => number,
  add: (n: number) => void,
) {
  const original = proto[name] as AsyncMethod;
  proto[name] = async function (this: unknown, ...args: unknown[]) {
    const response = await original.apply(this, args);
    add(cost((response as { result?: unknown }).result));
    return response;
  };
  return () => {
    proto[name] = original;
  };
}

export function countFirestoreReads(db: Firestore): ReadCounter {
  let reads = 0;
  const add = (n: number) => {
    reads += n;
  };
  // The client's internal classes, reached through objects it makes.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DocumentReader } = require('@google-cloud/firestore/build/src/document-reader') as {
    DocumentReader: { prototype: Record<string, unknown> };
  };
  const aggregateProto = Object.getPrototypeOf(db.collection('x').count()) as Record<string, unknown>;
  const restores = [
    wrap(DocumentReader.prototype, '_get', (docs) => (docs as unknown[]).length, add),
    wrap(
      Query.prototype as unknown as Record<string, unknown>,
      '_get',
      (snap) => Math.max(1, (snap as { size: number }).size),
      add,
    ),
    wrap(
      aggregateProto,
      '_get',
      (snap) =>
        Math.max(1, Math.ceil(Number((snap as { data(): { count?: number } }).data().count ?? 0) / 1000)),
      add,
    ),
  ];
  return {
    get reads() {
      return reads;
    },
    reset() {
      reads = 0;
    },
    restore() {
      for (const restore of restores) restore();
    },
  };
}
