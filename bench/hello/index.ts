/**
 * The baselines of the hit-throughput benchmark, served by the same Functions Framework as
 * token-server (`--source=lib/bench/hello`): the cheapest possible HTTP function, the same behind
 * firebase-functions' onRequest wrapper (as every function `firebase deploy` deploys, ours too), and
 * a function that does exactly one firebase-admin document read per request and nothing else.
 */
import type { Request, Response } from 'express';
import { initializeApp } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { onRequest } from 'firebase-functions/v2/https';

/** Hello world: what the Functions Framework itself costs per request. */
export function hello(_req: Request, res: Response): void {
  res.status(200).type('application/json').send('{"hello":"world"}');
}

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
