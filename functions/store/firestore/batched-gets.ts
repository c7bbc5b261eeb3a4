/**
 * Document gets asked for in one turn of the event loop, sent as one BatchGetDocuments call
 * (Firestore.getAll) instead of one call each. A new instance's first token request asks for its
 * client key's document and, read ahead beside it, the token document (http/app.ts
 * readAheadWhileCold): this makes them one round trip, the same one call a bare get costs (README
 * "Cold start"). Gets asked for apart are sent apart, exactly as DocumentReference.get() would.
 * The Firestore store sends only those two kinds of get through here; every other read is its own.
 *
 * All the documents of one call are read at one readTime; a failed call fails every get in it,
 * as each would have failed alone.
 */
import type { DocumentReference, DocumentSnapshot, Firestore } from 'firebase-admin/firestore';

interface Waiting {
  ref: DocumentReference;
  resolve(snap: DocumentSnapshot): void;
  reject(err: unknown): void;
}

export class BatchedGets {
  private waiting: Waiting[] = [];

  constructor(private readonly db: Firestore) {}

  get(ref: DocumentReference): Promise<DocumentSnapshot> {
    return new Promise<DocumentSnapshot>((resolve, reject) => {
      this.waiting.push({ ref, resolve, reject });
      // The first get of this turn sends them all once the turn's synchronous code has asked.
      if (this.waiting.length === 1) queueMicrotask(() => this.send());
    });
  }

  private send(): void {
    const waiting = this.waiting;
    this.waiting = [];
    const only = waiting.length === 1 ? waiting[0] : undefined;
    if (only !== undefined) {
      only.ref.get().then(
        (snap) => only.resolve(snap),
        (err: unknown) => only.reject(err),
      );
      return;
    }
    // One copy of each document asked for more than once.
    const paths = [...new Set(waiting.map((w) => w.ref.path))];
    const refs = paths.map((p) => waiting.find((w) => w.ref.path === p)?.ref as DocumentReference);
    this.db.getAll(...refs).then(
      (snaps) => {
        const byPath = new Map(snaps.map((s) => [s.ref.path, s]));
        for (const w of waiting) {
          const snap = byPath.get(w.ref.path);
          if (snap === undefined) w.reject(new Error(`getAll answered without ${w.ref.path}`));
          else w.resolve(snap);
        }
      },
      (err: unknown) => {
        for (const w of waiting) w.reject(err);
      },
    );
  }
}
