/**
 * The baselines of the hit-throughput and cold-start benchmarks, served by the same Functions
 * Framework as token-server (`--source=lib/bench/hello`): the cheapest possible HTTP function, the
 * same behind firebase-functions' onRequest wrapper (as every function `firebase deploy` deploys,
 * ours too), and a function that does exactly one firebase-admin document read per request and
 * nothing else. The last two load firebase only when they are the target (as lib/functions/index.js
 * does), each only what it uses, so that hello world's cold start is the framework's alone and the
 * raw read's is the framework's and firebase-admin's.
 */
import type * as Firebase from './firebase';
import type * as RawRead from './raw-read';

export { hello } from './hello';
export declare const helloOnRequest: typeof Firebase.helloOnRequest;
export declare const rawRead: typeof RawRead.rawRead;

/* eslint-disable @typescript-eslint/no-require-imports -- each loaded for its target only */
Object.defineProperty(exports, 'helloOnRequest', {
  enumerable: true,
  get: () => (require('./firebase') as typeof Firebase).helloOnRequest,
});
Object.defineProperty(exports, 'rawRead', {
  enumerable: true,
  get: () => (require('./raw-read') as typeof RawRead).rawRead,
});
/* eslint-enable @typescript-eslint/no-require-imports */
