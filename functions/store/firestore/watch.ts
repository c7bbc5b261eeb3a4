/**
 * Firestore's change notifications (Store.watchTokenState): a snapshot listener on one document.
 * Its first snapshot arrives once the listen stream is up, then one per write, within milliseconds
 * of the commit on every instance; each is handed on (the document as of the snapshot's readTime).
 * A listener that fails is logged and stays silent: the waiter's poll carries on without it. The returned function detaches the listener, which ends its stream
 * (an open listener would keep the process alive).
 */
import type { DocumentReference, DocumentSnapshot } from 'firebase-admin/firestore';
import { log } from '../../log';

export function watchDocument(
  ref: DocumentReference,
  onChange: (snap: DocumentSnapshot) => void,
): () => void {
  let open = true;
  const detach = ref.onSnapshot(
    (snap) => {
      if (open) onChange(snap);
    },
    (err: Error) => {
      log('WARNING', 'token watch failed; waiting by polling', {
        event: 'token_watch_failed',
        errorName: err.name,
        errorMessage: err.message,
      });
    },
  );
  return () => {
    if (!open) return;
    open = false;
    detach();
  };
}
