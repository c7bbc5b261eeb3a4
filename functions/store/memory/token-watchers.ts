/**
 * The memory store's change notifications (Store.watchTokenState): an in-process emitter keyed by
 * document id. Like a Firestore listener it reports once when a watch starts, and every report is
 * delivered in a microtask after the write, never inside it.
 */
export class TokenWatchers {
  private readonly byId = new Map<string, Set<() => void>>();

  watch(id: string, onChange: () => void): () => void {
    // A wrapper of our own, so that one callback watched twice is two watches.
    const entry = () => onChange();
    let set = this.byId.get(id);
    if (set === undefined) {
      set = new Set();
      this.byId.set(id, set);
    }
    set.add(entry);
    queueMicrotask(() => {
      if (set.has(entry)) entry();
    });
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.byId.get(id) === set) this.byId.delete(id);
    };
  }

  /** The document `id` was written or deleted. */
  changed(id: string): void {
    const set = this.byId.get(id);
    if (set === undefined) return;
    for (const entry of set)
      queueMicrotask(() => {
        if (set.has(entry)) entry();
      });
  }

  /** Watches open (tests check that waiters close theirs). */
  get size(): number {
    let n = 0;
    for (const set of this.byId.values()) n += set.size;
    return n;
  }
}
