/**
 * The firebase-based baselines (bench/hello/index.ts loads this module only for their targets): hello
 * world behind firebase-functions' onRequest, and one raw firebase-admin read per request.
 */
import type { Request, Response } from 'express';
import { initializeApp } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { onRequest } from 'firebase-functions/v2/https';
import { hello } from './hello';

/** Hello world as a firebase-functions v2 onRequest function, with the options style of ours. */
export const helloOnRequest = onRequest({ region: 'us-central1', invoker: 'public' }, (req, res) =>
  hello(req, res),
);

let db: Firestore | undefined;

function firestore(): Firestore {
  if (db === undefined) {
    const projectId = process.env.GOOGLE_CLOUD_PROJECT ?? 'demo-token-server';
    db = getFirestore(initializeApp({ projectId }, 'bench-raw-read'));
  }
  return db;
}

/**
 * One raw document read per request (BENCH_READ_DOC, e.g. tokens/realm:key), answered as JSON:
 * what a database hit cannot do cheaper. /healthz answers without a read.
 */
export async function rawRead(req: Request, res: Response): Promise<void> {
  if (req.path === '/healthz') {
    res.status(200).type('application/json').send('{"ok":true}');
    return;
  }
  const path = process.env.BENCH_READ_DOC ?? 'bench/doc';
  try {
    const snap = await firestore().doc(path).get();
    res
      .status(snap.exists ? 200 : 404)
      .type('application/json')
      .send(JSON.stringify(snap.data() ?? null));
  } catch {
    res.status(500).type('application/json').send('{"error":"read failed"}');
  }
}
