/**
 * Hello world behind firebase-functions' onRequest (bench/hello/index.ts loads this module only for
 * its target).
 */
import { onRequest } from 'firebase-functions/v2/https';
import { hello } from './hello';

/** Hello world as a firebase-functions v2 onRequest function, with the options style of ours. */
export const helloOnRequest = onRequest({ region: 'us-central1', invoker: 'public' }, (req, res) =>
  hello(req, res),
);
